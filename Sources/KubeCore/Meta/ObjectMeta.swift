/// `metav1.ObjectMeta`: the metadata every Kubernetes object carries.
public struct ObjectMeta: Codable, Sendable, Hashable {
    @OmitEmpty public var name: String
    @OmitEmpty public var generateName: String
    @OmitEmpty public var namespace: String
    @OmitEmpty public var selfLink: String
    @OmitEmpty public var uid: String
    @OmitEmpty public var resourceVersion: String
    @OmitEmpty public var generation: Int
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int?
    @OmitEmpty public var labels: [String: String]
    @OmitEmpty public var annotations: [String: String]
    @OmitEmpty public var ownerReferences: [OwnerReference]
    @OmitEmpty public var finalizers: [String]
    /// Kept verbatim: written by the API server, never interpreted here.
    public var managedFields: JSONValue?

    public init(
        name: String = "",
        namespace: String = "",
        labels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// `metav1.OwnerReference`.
public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(
        apiVersion: String,
        kind: String,
        name: String,
        uid: String,
        controller: Bool? = nil,
        blockOwnerDeletion: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// `metav1.Condition`.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    @OmitEmpty public var observedGeneration: Int
    public var lastTransitionTime: String
    public var reason: String
    public var message: String

    public init(
        type: String,
        status: String,
        observedGeneration: Int = 0,
        lastTransitionTime: String = "",
        reason: String,
        message: String
    ) {
        self.type = type
        self.status = status
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// Identifies an object: namespace (empty for cluster-scoped kinds) and name.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String = "", name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { self.namespace.isEmpty ? self.name : "\(self.namespace)/\(self.name)" }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        (a.namespace, a.name) < (b.namespace, b.name)
    }
}
