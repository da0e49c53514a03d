public import KubeCore

/// Every object of the kinds the operator cares about, decoded from manifests, with CRD defaults
/// applied as the API server would apply them.
///
/// Objects of other kinds are counted in ``ignored`` (a Deployment in the same directory is not an error).
public struct ClusterSnapshot: Sendable {
    public var nodes: [Node] = []
    public var namespaces: [Namespace] = []
    public var configMaps: [ConfigMap] = []
    public var policies: [SriovNetworkNodePolicy] = []
    public var nodeStates: [SriovNetworkNodeState] = []
    public var networks: [SriovNetwork] = []
    public var ibNetworks: [SriovIBNetwork] = []
    public var ovsNetworks: [OVSNetwork] = []
    public var operatorConfigs: [SriovOperatorConfig] = []
    public var poolConfigs: [SriovNetworkPoolConfig] = []
    public var networkAttachments: [NetworkAttachmentDefinition] = []
    /// `kind` → count of objects that were not of a known kind.
    public var ignored: [String: Int] = [:]

    public init() {}

    /// Decodes documents into typed objects.
    ///
    /// - Parameter documents: documents in input order; their order is kept within each kind.
    /// - Returns: the snapshot and one error per document that could not be decoded (the rest is kept).
    public static func decode(_ documents: [ManifestDocument]) -> (snapshot: ClusterSnapshot, errors: [ManifestError]) {
        var snapshot = ClusterSnapshot()
        var errors: [ManifestError] = []
        for document in documents {
            do {
                try snapshot.add(document)
            } catch {
                errors.append(error)
            }
        }
        return (snapshot, errors)
    }

    /// Adds one document, decoded by its `apiVersion` and `kind`.
    public mutating func add(_ document: ManifestDocument) throws(ManifestError) {
        let kind = document.kind
        let apiVersion = document.apiVersion
        if kind.isEmpty {
            throw document.error(at: ["kind"], "kind: required field is missing")
        }
        func check<R: Resource>(_ type: R.Type) throws(ManifestError) {
            guard apiVersion == R.apiVersion else {
                throw document.error(
                    at: ["apiVersion"],
                    "apiVersion: \(GoJSON.quote(apiVersion)) is not served for kind \(kind), expected \(GoJSON.quote(R.apiVersion))"
                )
            }
        }
        switch kind {
        case Node.kind where apiVersion == Node.apiVersion:
            self.nodes.append(try document.decode(Node.self))
        case Namespace.kind where apiVersion == Namespace.apiVersion:
            self.namespaces.append(try document.decode(Namespace.self))
        case ConfigMap.kind where apiVersion == ConfigMap.apiVersion:
            self.configMaps.append(try document.decode(ConfigMap.self))
        case SriovNetworkNodePolicy.kind:
            try check(SriovNetworkNodePolicy.self)
            var policy = try document.decode(SriovNetworkNodePolicy.self)
            policy.applyCRDDefaults()
            self.policies.append(policy)
        case SriovNetworkNodeState.kind:
            try check(SriovNetworkNodeState.self)
            self.nodeStates.append(try document.decode(SriovNetworkNodeState.self))
        case SriovNetwork.kind:
            try check(SriovNetwork.self)
            var network = try document.decode(SriovNetwork.self)
            network.applyCRDDefaults()
            self.networks.append(network)
        case SriovIBNetwork.kind:
            try check(SriovIBNetwork.self)
            self.ibNetworks.append(try document.decode(SriovIBNetwork.self))
        case OVSNetwork.kind:
            try check(OVSNetwork.self)
            self.ovsNetworks.append(try document.decode(OVSNetwork.self))
        case SriovOperatorConfig.kind:
            try check(SriovOperatorConfig.self)
            self.operatorConfigs.append(try document.decode(SriovOperatorConfig.self))
        case SriovNetworkPoolConfig.kind:
            try check(SriovNetworkPoolConfig.self)
            self.poolConfigs.append(try document.decode(SriovNetworkPoolConfig.self))
        case NetworkAttachmentDefinition.kind:
            try check(NetworkAttachmentDefinition.self)
            self.networkAttachments.append(try document.decode(NetworkAttachmentDefinition.self))
        default:
            self.ignored[kind, default: 0] += 1
        }
    }
}

extension SriovNetworkNodePolicy {
    /// The CRD's `default:` values, which the API server applies on admission.
    public mutating func applyCRDDefaults() {
        if self.spec.deviceType.isEmpty { self.spec.deviceType = "netdevice" }
    }
}

extension SriovNetwork {
    /// The CRD's `default:` values, which the API server applies on admission.
    public mutating func applyCRDDefaults() {
        if self.spec.logLevel == nil { self.spec.logLevel = "info" }
    }
}
