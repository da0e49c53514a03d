public import KubeClient
import KubeCore
import KubeRuntime
public import Logging
import SriovAPI
import SriovRender

/// The operator: reflectors for every watched kind, the policy and network controllers, and the
/// operator-config controller, wired by which change enqueues which key.
///
/// ``run()`` runs until cancelled. Leader election (``OperatorService``) decides whether it runs at all.
public struct SriovOperator: Sendable {
    public let client: KubeClient
    public let settings: OperatorSettings
    public let caches: OperatorCaches
    public let writes: WriteCounter
    public let logger: Logger
    let policyQueue = WorkQueue<String>()
    let networkQueue = WorkQueue<NetworkKey>()
    let configQueue = WorkQueue<String>()
    let drainQueue = WorkQueue<String>()

    public init(
        client: KubeClient,
        settings: OperatorSettings,
        logger: Logger,
        caches: OperatorCaches = OperatorCaches(),
        writes: WriteCounter = WriteCounter()
    ) {
        self.client = client
        self.settings = settings
        self.caches = caches
        self.writes = writes
        self.logger = logger
    }

    public func run() async {
        let ns = self.settings.namespace
        let events = EventRecorder(client: self.client, component: "sriov-network-operator", logger: self.logger)
        let policy = PolicyController(
            client: self.client,
            caches: self.caches,
            settings: self.settings,
            writes: self.writes,
            events: events
        )
        let network = NetworkController(
            client: self.client,
            caches: self.caches,
            settings: self.settings,
            writes: self.writes,
            events: events
        )
        let config = OperatorConfigController(
            client: self.client,
            caches: self.caches,
            settings: self.settings,
            writes: self.writes
        )
        let policyQueue = self.policyQueue
        let networkQueue = self.networkQueue
        let configQueue = self.configQueue
        let drainQueue = self.drainQueue
        let drain = DrainController(
            client: self.client,
            caches: self.caches,
            settings: self.settings,
            writes: self.writes
        )
        let debounce = self.settings.policyDebounce
        let caches = self.caches

        @Sendable func policyChanged() async { await policyQueue.add(PolicyController.key, after: debounce) }
        @Sendable func networksFor(nad: NetworkAttachmentDefinition) async {
            // A deleted or edited NAD regenerates the network of the same name (same namespace, or the
            // operator namespace for networks that target another namespace).
            for namespace in Set([nad.metadata.namespace, ns]) {
                for kind in [SriovNetwork.kind, SriovIBNetwork.kind, OVSNetwork.kind] {
                    let key = NetworkKey(kind: kind, key: ObjectKey(namespace: namespace, name: nad.metadata.name))
                    await networkQueue.add(key)
                }
            }
        }
        @Sendable func allNetworks() async {
            for n in caches.networks.list() { await networkQueue.add(NetworkKey(kind: SriovNetwork.kind, key: n.key)) }
            for n in caches.ibNetworks.list() {
                await networkQueue.add(NetworkKey(kind: SriovIBNetwork.kind, key: n.key))
            }
            for n in caches.ovsNetworks.list() { await networkQueue.add(NetworkKey(kind: OVSNetwork.kind, key: n.key)) }
        }

        let log = self.logger
        await withDiscardingTaskGroup { group in
            func reflect<R: Resource>(
                _ type: R.Type,
                _ store: Store<R>,
                namespace: String?,
                onChange: @escaping @Sendable (ResourceChange<R>) async -> Void
            ) {
                let reflector = Reflector(
                    api: self.client.api(type, namespace: namespace),
                    store: store,
                    logger: log,
                    onChange: onChange
                )
                group.addTask { await reflector.run() }
            }
            // Every change that can alter the render enqueues the single policy key (debounced); the render
            // writes only differences, so spurious triggers cost a render, never a write.
            reflect(Node.self, caches.nodes, namespace: nil) { change in
                await policyChanged()
                switch change {
                case .applied(let node): await drainQueue.add(node.metadata.name)
                case .restarted(let nodes): for node in nodes { await drainQueue.add(node.metadata.name) }
                case .deleted: break
                }
            }
            reflect(Namespace.self, caches.namespaces, namespace: nil) { _ in await allNetworks() }
            reflect(SriovNetworkNodePolicy.self, caches.policies, namespace: ns) { _ in await policyChanged() }
            reflect(SriovNetworkPoolConfig.self, caches.poolConfigs, namespace: ns) { _ in await policyChanged() }
            reflect(SriovNetworkNodeState.self, caches.nodeStates, namespace: ns) { change in
                await policyChanged()
                switch change {
                case .applied(let state): await drainQueue.add(state.metadata.name)
                case .restarted(let states): for state in states { await drainQueue.add(state.metadata.name) }
                case .deleted: break
                }
                // A node finishing its drain may make room for another one in its pool.
                if case .applied = change {
                    for node in caches.nodes.list() { await drainQueue.add(node.metadata.name) }
                }
            }
            reflect(ConfigMap.self, caches.configMaps, namespace: ns) { _ in await policyChanged() }
            reflect(SriovOperatorConfig.self, caches.operatorConfigs, namespace: ns) { _ in
                await policyChanged()
                await configQueue.add("config")
            }
            reflect(SriovNetwork.self, caches.networks, namespace: nil) { change in
                if case .applied(let n) = change {
                    await networkQueue.add(NetworkKey(kind: SriovNetwork.kind, key: n.key))
                }
                if case .restarted = change { await allNetworks() }
            }
            reflect(SriovIBNetwork.self, caches.ibNetworks, namespace: nil) { change in
                if case .applied(let n) = change {
                    await networkQueue.add(NetworkKey(kind: SriovIBNetwork.kind, key: n.key))
                }
                if case .restarted = change { await allNetworks() }
            }
            reflect(OVSNetwork.self, caches.ovsNetworks, namespace: nil) { change in
                if case .applied(let n) = change {
                    await networkQueue.add(NetworkKey(kind: OVSNetwork.kind, key: n.key))
                }
                if case .restarted = change { await allNetworks() }
            }
            reflect(NetworkAttachmentDefinition.self, caches.networkAttachments, namespace: nil) { change in
                switch change {
                case .applied(let nad), .deleted(let nad): await networksFor(nad: nad)
                case .restarted: await allNetworks()
                }
            }

            group.addTask {
                // Controllers start once every cache has listed, so the first render sees the whole cluster.
                while !caches.hasSynced && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
                guard !Task.isCancelled else { return }
                await policyQueue.add(PolicyController.key)
                await configQueue.add("config")
                await allNetworks()
                await withDiscardingTaskGroup { controllers in
                    controllers.addTask {
                        await Controller(name: "policy", queue: policyQueue, logger: log) { _, logger in
                            try await policy.reconcile(logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(name: "network", queue: networkQueue, workers: 2, logger: log) { key, logger in
                            try await network.reconcile(key, logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(name: "operator-config", queue: configQueue, logger: log) { _, logger in
                            try await config.reconcile(logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(name: "drain", queue: drainQueue, workers: 4, logger: log) { node, logger in
                            try await drain.reconcile(node: node, logger: logger)
                        }.run()
                    }
                }
            }
        }
    }
}
