/// `coordination.k8s.io/v1` Lease, for leader election.
public struct Lease: Resource, LenientDecodable {
    public static let group = "coordination.k8s.io"
    public static let version = "v1"
    public static let kind = "Lease"
    public static let plural = "leases"
    public static let scope = ResourceScope.namespaced

    public struct Spec: Codable, Sendable, Hashable, LenientDecodable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int?
        public var acquireTime: String?
        public var renewTime: String?
        public var leaseTransitions: Int?

        public init(
            holderIdentity: String? = nil,
            leaseDurationSeconds: Int? = nil,
            acquireTime: String? = nil,
            renewTime: String? = nil,
            leaseTransitions: Int? = nil
        ) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }

    public var apiVersion: String = Lease.apiVersion
    public var kind: String = Lease.kind
    public var metadata: ObjectMeta
    public var spec: Spec

    public init(metadata: ObjectMeta, spec: Spec = Spec()) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `v1` Event (the core API every kubectl shows in `describe`).
public struct Event: Resource, LenientDecodable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Event"
    public static let plural = "events"
    public static let scope = ResourceScope.namespaced

    public struct ObjectReference: Codable, Sendable, Hashable, LenientDecodable {
        public var apiVersion: String?
        public var kind: String?
        public var name: String?
        public var namespace: String?
        public var uid: String?

        public init(apiVersion: String?, kind: String?, name: String?, namespace: String?, uid: String?) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.name = name
            self.namespace = namespace
            self.uid = uid
        }
    }

    public struct Source: Codable, Sendable, Hashable, LenientDecodable {
        public var component: String?
        public init(component: String?) { self.component = component }
    }

    public var apiVersion: String = Event.apiVersion
    public var kind: String = Event.kind
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var source: Source?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int?

    public init(metadata: ObjectMeta, involvedObject: ObjectReference) {
        self.metadata = metadata
        self.involvedObject = involvedObject
    }
}
