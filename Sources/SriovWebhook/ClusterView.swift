import KubeCore
public import SriovAPI
public import SriovRender

/// The cluster state admission decisions read: the objects the validator compares a policy against, the
/// NetworkAttachmentDefinitions the injector resolves, and the injector's runtime switches.
///
/// ``WebhookCaches`` implements it over watch caches (a list per request would put the API server's
/// latency, and a 5,000-node list, into every admission); ``SnapshotClusterView`` over fixed objects, for
/// tests and benchmarks.
public protocol ClusterView: Sendable {
    /// A validator over the current nodes, NodeStates, policies and `default` operator config.
    func validator(settings: WebhookSettings) -> AdmissionValidator
    /// The NAD `namespace/name`, or nil when it does not exist.
    /// - Throws: when it cannot be looked up (not when it is missing).
    func networkAttachment(namespace: String, name: String) async throws -> NetworkAttachmentDefinition?
    /// The injector's features after the `nri-control-switches` ConfigMap, if there is one.
    func injectorSwitches(initial: InjectorSwitches) -> InjectorSwitches
}

/// How the webhook server behaves; the CLI fills it from flags and the environment.
public struct WebhookSettings: Sendable, Hashable {
    /// Env `NAMESPACE`: policies, pools and the operator config count only there; `supported-nic-ids` and
    /// `nri-control-switches` are read from there.
    public var operatorNamespace: String
    /// Env `DEV_MODE=TRUE`: admit NIC models missing from `supported-nic-ids`, as upstream.
    public var devMode: Bool
    /// NAD annotations naming the device-plugin resource (upstream's `--network-resource-name-keys`).
    public var resourceNameKeys: [String]
    /// The injector's features before (and without) `nri-control-switches`.
    public var injectorSwitches: InjectorSwitches
    /// The largest request body answered; bigger ones get a 400 without being read further.
    public var maxBodyBytes: Int

    public init(
        operatorNamespace: String,
        devMode: Bool = false,
        resourceNameKeys: [String] = [NetworkAttachmentDefinition.resourceNameAnnotation],
        injectorSwitches: InjectorSwitches = InjectorSwitches(),
        maxBodyBytes: Int = 8 << 20
    ) {
        self.operatorNamespace = operatorNamespace
        self.devMode = devMode
        self.resourceNameKeys = resourceNameKeys
        self.injectorSwitches = injectorSwitches
        self.maxBodyBytes = maxBodyBytes
    }
}

/// A ``ClusterView`` over fixed objects. The validator is built once per settings and snapshot.
public struct SnapshotClusterView: ClusterView {
    public var snapshot: ClusterSnapshot {
        didSet { self.memo = ValidatorMemo() }
    }
    private var memo = ValidatorMemo<WebhookSettings>()

    public init(_ snapshot: ClusterSnapshot) { self.snapshot = snapshot }

    public func validator(settings: WebhookSettings) -> AdmissionValidator {
        self.memo.validator(for: settings) {
            AdmissionValidator(
                operatorNamespace: settings.operatorNamespace,
                supportedNICs: Self.supportedNICs(self.snapshot.configMaps, namespace: settings.operatorNamespace),
                devMode: settings.devMode,
                snapshot: self.snapshot
            )
        }
    }

    public func networkAttachment(namespace: String, name: String) async throws -> NetworkAttachmentDefinition? {
        self.snapshot.networkAttachments.first { $0.metadata.namespace == namespace && $0.metadata.name == name }
    }

    public func injectorSwitches(initial: InjectorSwitches) -> InjectorSwitches {
        let map = self.snapshot.configMaps.first { $0.metadata.name == InjectorSwitches.configMapName }
        return map.map { initial.applying($0) } ?? initial
    }

    /// `supported-nic-ids` from the operator namespace when present, else upstream's built-in table.
    static func supportedNICs(_ maps: [ConfigMap], namespace: String) -> SupportedNICs {
        let map = maps.first { $0.metadata.name == SupportedNICs.configMapName && $0.metadata.namespace == namespace }
        return map.map { SupportedNICs(configMap: $0) } ?? .upstreamDefault
    }
}
