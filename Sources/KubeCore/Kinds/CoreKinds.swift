/// `v1/Node`: only what the operator reads (labels, provider ID) is modelled; the rest is kept verbatim.
public struct Node: Resource, LenientDecodable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Node"
    public static let plural = "nodes"
    public static let scope = ResourceScope.cluster

    public struct Spec: Codable, Sendable, Hashable, LenientDecodable {
        @OmitEmpty public var providerID: String
        public var unschedulable: Bool?
        public var taints: JSONValue?
        public init(providerID: String = "") { self.providerID = providerID }
    }

    public var apiVersion: String = Node.apiVersion
    public var kind: String = Node.kind
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: JSONValue?

    public init(name: String, labels: [String: String] = [:], providerID: String = "") {
        self.metadata = ObjectMeta(name: name, labels: labels)
        self.spec = providerID.isEmpty ? nil : Spec(providerID: providerID)
    }
}

/// `v1/Namespace`.
public struct Namespace: Resource, LenientDecodable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Namespace"
    public static let plural = "namespaces"
    public static let scope = ResourceScope.cluster

    public var apiVersion: String = Namespace.apiVersion
    public var kind: String = Namespace.kind
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: JSONValue?

    public init(name: String) { self.metadata = ObjectMeta(name: name) }
}

/// `v1/ConfigMap`. `data` keeps its keys sorted when encoded, as the API server returns them.
public struct ConfigMap: Resource {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "ConfigMap"
    public static let plural = "configmaps"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = ConfigMap.apiVersion
    public var kind: String = ConfigMap.kind
    public var metadata: ObjectMeta
    @OmitEmpty public var data: [String: String]
    @OmitEmpty public var binaryData: [String: String]
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String] = [:]) {
        self.metadata = metadata
        self.data = data
    }
}
