public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
public import ServiceLifecycle
public import SriovAPI
public import SriovRender

/// Watch caches of everything the webhooks read, kept by reflectors (list once, then watch): Nodes,
/// NodeStates, policies and the operator config for the validator; NetworkAttachmentDefinitions for the
/// injector; ConfigMaps of the operator namespace for `supported-nic-ids` and `nri-control-switches`.
///
/// Admission reads are synchronous and never touch the API server, except one live GET when a pod names
/// a NAD the cache does not (yet) hold, so a NAD created a moment before its pod is not refused.
public final class WebhookCaches: ClusterView, Service {
    /// Node status is dropped: no rule reads it, and without it a kubelet heartbeat is not a change (see
    /// ``Store/generation``), so it does not cost the next policy review a rebuilt validator.
    public let nodes = Store<Node>(trim: { $0.status = nil })
    public let nodeStates = Store<SriovNetworkNodeState>()
    public let policies = Store<SriovNetworkNodePolicy>()
    public let operatorConfigs = Store<SriovOperatorConfig>()
    public let networkAttachments = Store<NetworkAttachmentDefinition>()
    public let configMaps = Store<ConfigMap>()

    let client: KubeClient
    let namespace: String
    let logger: Logger
    let memo = ValidatorMemo<Generation>()

    public init(client: KubeClient, operatorNamespace: String, logger: Logger) {
        self.client = client
        self.namespace = operatorNamespace
        self.logger = logger
    }

    /// True once every reflector has stored its first list (the webhook's readiness).
    public var hasSynced: Bool {
        self.nodes.hasSynced && self.nodeStates.hasSynced && self.policies.hasSynced
            && self.operatorConfigs.hasSynced && self.networkAttachments.hasSynced && self.configMaps.hasSynced
    }

    /// Runs the reflectors until cancelled or shut down gracefully.
    public func run() async throws {
        let client = self.client
        let ns = self.namespace
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await Reflector(api: client.api(Node.self), store: self.nodes, logger: logger).run() }
                group.addTask {
                    await Reflector(
                        api: client.api(SriovNetworkNodeState.self, namespace: ns),
                        store: self.nodeStates,
                        logger: logger
                    ).run()
                }
                // Only the operator namespace's policies are compared against (upstream lists that namespace only),
                // and the webhook's Role covers that namespace only.
                group.addTask {
                    await Reflector(
                        api: client.api(SriovNetworkNodePolicy.self, namespace: ns),
                        store: self.policies,
                        logger: logger
                    )
                    .run()
                }
                group.addTask {
                    await Reflector(
                        api: client.api(SriovOperatorConfig.self, namespace: ns),
                        store: self.operatorConfigs,
                        logger: logger
                    ).run()
                }
                group.addTask {
                    await Reflector(
                        api: client.api(NetworkAttachmentDefinition.self),
                        store: self.networkAttachments,
                        logger: logger
                    ).run()
                }
                group.addTask {
                    await Reflector(
                        api: client.api(ConfigMap.self, namespace: ns),
                        store: self.configMaps,
                        logger: logger
                    )
                    .run()
                }
            }
        }
    }

    /// What the validator is built from, by change count: when any of these caches changes (or the settings
    /// do), the next review builds a new validator; until then every review reuses it.
    public struct Generation: Sendable, Hashable {
        public var nodes: UInt64
        public var nodeStates: UInt64
        public var policies: UInt64
        public var operatorConfigs: UInt64
        public var configMaps: UInt64
        public var settings: WebhookSettings
    }

    /// The caches' current ``Generation`` for `settings`.
    public func generation(settings: WebhookSettings) -> Generation {
        Generation(
            nodes: self.nodes.generation,
            nodeStates: self.nodeStates.generation,
            policies: self.policies.generation,
            operatorConfigs: self.operatorConfigs.generation,
            configMaps: self.configMaps.generation,
            settings: settings
        )
    }

    /// The validator over the current caches, rebuilt only when a cache has changed since the last one.
    ///
    /// The generations are read before the caches are listed, so the validator remembered under a
    /// generation holds that generation's content or newer, never older: a review after a change always
    /// sees it.
    public func validator(settings: WebhookSettings) -> AdmissionValidator {
        self.memo.validator(for: self.generation(settings: settings)) { self.buildValidator(settings: settings) }
    }

    func buildValidator(settings: WebhookSettings) -> AdmissionValidator {
        let ns = settings.operatorNamespace
        return AdmissionValidator(
            operatorNamespace: ns,
            supportedNICs: SnapshotClusterView.supportedNICs(self.configMaps.list(), namespace: ns),
            devMode: settings.devMode,
            nodes: self.nodes.list(),
            nodeStates: self.nodeStates.list(),
            policies: self.policies.list().filter { $0.metadata.namespace == ns }.map { policy in
                var copy = policy
                copy.applyAdmissionDefaults()
                return copy
            },
            operatorConfig: self.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName)
        )
    }

    public func networkAttachment(namespace: String, name: String) async throws -> NetworkAttachmentDefinition? {
        if let cached = self.networkAttachments.get(namespace: namespace, name: name) { return cached }
        return try await self.client.api(NetworkAttachmentDefinition.self, namespace: namespace).getIfPresent(name)
    }

    public func injectorSwitches(initial: InjectorSwitches) -> InjectorSwitches {
        guard let map = self.configMaps.get(namespace: self.namespace, name: InjectorSwitches.configMapName) else {
            return initial
        }
        return initial.applying(map)
    }
}
