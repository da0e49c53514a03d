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
    public let nodes = Store<Node>()
    public let nodeStates = Store<SriovNetworkNodeState>()
    public let policies = Store<SriovNetworkNodePolicy>()
    public let operatorConfigs = Store<SriovOperatorConfig>()
    public let networkAttachments = Store<NetworkAttachmentDefinition>()
    public let configMaps = Store<ConfigMap>()

    let client: KubeClient
    let namespace: String
    let logger: Logger

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
                group.addTask {
                    await Reflector(api: client.api(SriovNetworkNodePolicy.self), store: self.policies, logger: logger)
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

    public func validator(settings: WebhookSettings) -> AdmissionValidator {
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
