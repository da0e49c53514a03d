public import KubeCore
public import SriovAPI

/// Everything about the operator's environment that rendering depends on.
public struct RenderOptions: Sendable {
    /// The operator namespace (env `NAMESPACE`); only policies and configs here count.
    public var namespace: String
    /// Prefix of device-plugin resource names (env `RESOURCE_PREFIX`), e.g. `openshift.io`.
    public var resourcePrefix: String
    /// The `default` SriovOperatorConfig.
    public var operatorConfig: SriovOperatorConfig
    public var supportedNICs: SupportedNICs
    /// The current time as RFC 3339, for condition timestamps and `keep-state-until`.
    public var now: String
    /// `STALE_NODE_STATE_CLEANUP_DELAY_MINUTES` (default 30; 0 deletes at once).
    public var staleNodeStateDelayMinutes: Int

    public init(
        namespace: String = "sriov-network-operator",
        resourcePrefix: String = "openshift.io",
        operatorConfig: SriovOperatorConfig? = nil,
        supportedNICs: SupportedNICs = .upstreamDefault,
        now: String = "1970-01-01T00:00:00Z",
        staleNodeStateDelayMinutes: Int = 30
    ) {
        self.namespace = namespace
        self.resourcePrefix = resourcePrefix
        self.operatorConfig =
            operatorConfig
            ?? SriovOperatorConfig(metadata: ObjectMeta(name: SriovOperatorConfig.defaultName, namespace: namespace))
        self.supportedNICs = supportedNICs
        self.now = now
        self.staleNodeStateDelayMinutes = staleNodeStateDelayMinutes
    }

    /// Nodes the operator manages: `configDaemonNodeSelector`, or workers running Linux.
    public var managedNodeSelector: [String: String] {
        let selector = self.operatorConfig.spec.configDaemonNodeSelector
        if !selector.isEmpty { return selector }
        return ["node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux"]
    }

    public func isManaged(_ node: Node) -> Bool {
        Self.selects(self.managedNodeSelectorPairs, node.metadata.labels)
    }

    /// ``managedNodeSelector`` as a flat list of pairs: a render checks it for every node, and the computed
    /// dictionary would be built (allocated and hashed) once per node.
    var managedNodeSelectorPairs: [(key: String, value: String)] {
        self.managedNodeSelector.map { (key: $0.key, value: $0.value) }
    }

    /// Plain label equality of every pair.
    static func selects(_ pairs: [(key: String, value: String)], _ labels: [String: String]) -> Bool {
        for pair in pairs where labels[pair.key] != pair.value { return false }
        return true
    }

    /// The controller owner reference to the `default` SriovOperatorConfig that NodeStates and the
    /// device-plugin ConfigMap carry.
    public var operatorConfigOwnerReference: OwnerReference {
        OwnerReference(
            apiVersion: SriovOperatorConfig.apiVersion,
            kind: SriovOperatorConfig.kind,
            name: self.operatorConfig.metadata.name,
            uid: self.operatorConfig.metadata.uid,
            controller: true,
            blockOwnerDeletion: true
        )
    }
}

/// Well-known names the operator writes.
public enum OperatorNames {
    public static let devicePluginConfigMap = "device-plugin-config"
    public static let devicePluginLabel = "sriovnetwork.openshift.io/device-plugin"
    public static let devicePluginEnabled = "Enabled"
    public static let devicePluginDisabled = "Disabled"
}
