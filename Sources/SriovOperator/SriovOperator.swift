public import KubeClient
import KubeCore
import KubeRuntime
public import Logging
import SriovAPI
import SriovRender

/// The operator: reflectors for every watched kind, the policy, network, drain and operator-config
/// controllers, wired by which change enqueues which key.
///
/// ``run()`` is one leadership term and runs until cancelled. Each term starts from nothing: the caches
/// are emptied and listed again, and the work queues and controllers are new, so a replica that loses the
/// lease and wins it back works exactly like a fresh one (a queue shut down at the end of a term is never
/// reused). Leader election (``OperatorService``) decides whether it runs at all.
///
/// Fan-out is O(changes): a NodeState or Node event enqueues that node for the drain controller, and only
/// changes of the fields the render reads (Node labels and providerID; NodeState spec, status and the
/// keep-until annotation; the device-plugin ConfigMap) trigger the policy render. Node status heartbeats
/// trigger nothing (Node status is not even cached).
public struct SriovOperator: Sendable {
    public let client: KubeClient
    public let settings: OperatorSettings
    public let caches: OperatorCaches
    public let writes: WriteCounter
    public let logger: Logger
    public let logLevel: LogLevel

    public init(
        client: KubeClient,
        settings: OperatorSettings,
        logger: Logger,
        caches: OperatorCaches = OperatorCaches(),
        writes: WriteCounter? = nil
    ) {
        self.client = client
        self.settings = settings
        self.caches = caches
        self.writes = writes ?? WriteCounter(metrics: client.metrics)
        self.logger = logger
        self.logLevel = LogLevel(logger.logLevel)
    }

    public var metrics: Metrics { self.client.metrics }

    /// The fields of a Node the render reads.
    struct NodeRenderFields: Equatable {
        var labels: [String: String]
        var providerID: String
        init(_ node: Node) {
            self.labels = node.metadata.labels
            self.providerID = node.spec?.providerID ?? ""
        }
    }

    /// The fields of a Node the drain controller reads.
    struct NodeDrainFields: Equatable {
        var state: String?
        var unschedulable: Bool
        init(_ node: Node) {
            self.state = node.metadata.annotations[DrainState.nodeAnnotation]
            self.unschedulable = node.spec?.unschedulable ?? false
        }
    }

    static func renderRelevant(_ state: SriovNetworkNodeState, _ previous: SriovNetworkNodeState) -> Bool {
        let keep = SriovNetworkNodeState.Annotation.keepStateUntil
        return state.spec != previous.spec || state.status != previous.status
            || state.metadata.annotations[keep] != previous.metadata.annotations[keep]
            || state.metadata.ownerReferences != previous.metadata.ownerReferences
    }

    static func drainRelevant(_ state: SriovNetworkNodeState, _ previous: SriovNetworkNodeState) -> Bool {
        let desired = SriovNetworkNodeState.Annotation.desiredState
        let current = SriovNetworkNodeState.Annotation.currentState
        return state.metadata.annotations[desired] != previous.metadata.annotations[desired]
            || state.metadata.annotations[current] != previous.metadata.annotations[current]
    }

    /// One leadership term.
    public func run() async {
        let ns = self.settings.namespace
        let caches = self.caches
        caches.reset()
        let metrics = self.metrics
        let events = EventRecorder(client: self.client, component: "sriov-network-operator", logger: self.logger)
        let policyQueue = WorkQueue<String>(name: "policy", metrics: metrics)
        let networkQueue = WorkQueue<NetworkKey>(name: "network", metrics: metrics)
        let configQueue = WorkQueue<String>(name: "operator-config", metrics: metrics)
        let drainQueue = WorkQueue<String>(name: "drain", metrics: metrics)
        let policy = PolicyController(
            client: self.client,
            caches: caches,
            settings: self.settings,
            writes: self.writes,
            events: events
        )
        let network = NetworkController(
            client: self.client,
            caches: caches,
            settings: self.settings,
            writes: self.writes,
            events: events
        )
        let config = OperatorConfigController(
            client: self.client,
            caches: caches,
            settings: self.settings,
            writes: self.writes,
            logLevel: self.logLevel
        )
        let drain = DrainController(
            client: self.client,
            caches: caches,
            settings: self.settings,
            writes: self.writes,
            events: events,
            queue: drainQueue
        )
        let debounce = self.settings.policyDebounce
        let ownDaemonSets: Set<String> = [DaemonSetRenderer.configDaemonName, DaemonSetRenderer.devicePluginName]

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
        @Sendable func networks(targeting namespace: String?) async {
            func targets<N: NetworkResource>(_ n: N) -> Bool {
                guard let namespace else { return true }
                return (n.networkNamespace.isEmpty ? n.metadata.namespace : n.networkNamespace) == namespace
            }
            for n in caches.networks.list() where targets(n) {
                await networkQueue.add(NetworkKey(kind: SriovNetwork.kind, key: n.key))
            }
            for n in caches.ibNetworks.list() where targets(n) {
                await networkQueue.add(NetworkKey(kind: SriovIBNetwork.kind, key: n.key))
            }
            for n in caches.ovsNetworks.list() where targets(n) {
                await networkQueue.add(NetworkKey(kind: OVSNetwork.kind, key: n.key))
            }
        }

        let log = self.logger
        let logLevel = self.logLevel
        await withDiscardingTaskGroup { group in
            func reflect<R: Resource>(
                _ type: R.Type,
                _ store: Store<R>,
                namespace: String?,
                onChange: @escaping @Sendable (ResourceDelta<R>) async -> Void
            ) {
                var reflector = Reflector(
                    api: self.client.api(type, namespace: namespace),
                    store: store,
                    logger: log
                )
                reflector.onDelta = onChange
                group.addTask { await reflector.run() }
            }
            reflect(Node.self, caches.nodes, namespace: nil) { change in
                switch change {
                case .restarted(let nodes):
                    await policyChanged()
                    for node in nodes { await drainQueue.add(node.metadata.name) }
                case .applied(let node, let previous):
                    if previous.map({ NodeRenderFields($0) != NodeRenderFields(node) }) ?? true {
                        await policyChanged()
                    }
                    if previous.map({ NodeDrainFields($0) != NodeDrainFields(node) }) ?? true {
                        await drainQueue.add(node.metadata.name)
                    }
                case .deleted(let node):
                    await policyChanged()
                    await drainQueue.add(node.metadata.name)
                }
            }
            reflect(Namespace.self, caches.namespaces, namespace: nil) { change in
                switch change {
                case .restarted: await networks(targeting: nil)
                case .applied(let namespace, let previous):
                    // Only a namespace that appears (or starts terminating) changes what a network renders.
                    if previous == nil || previous?.metadata.deletionTimestamp != namespace.metadata.deletionTimestamp {
                        await networks(targeting: namespace.metadata.name)
                    }
                case .deleted(let namespace): await networks(targeting: namespace.metadata.name)
                }
            }
            reflect(SriovNetworkNodePolicy.self, caches.policies, namespace: ns) { _ in await policyChanged() }
            reflect(SriovNetworkPoolConfig.self, caches.poolConfigs, namespace: ns) { _ in
                await policyChanged()
                // Pool limits changed: nodes waiting for room may fit now.
                for node in drain.progress.waiting() { await drainQueue.add(node) }
            }
            reflect(SriovNetworkNodeState.self, caches.nodeStates, namespace: ns) { change in
                switch change {
                case .restarted(let states):
                    await policyChanged()
                    for state in states { await drainQueue.add(state.metadata.name) }
                case .applied(let state, let previous):
                    if previous.map({ Self.renderRelevant(state, $0) }) ?? true { await policyChanged() }
                    if previous.map({ Self.drainRelevant(state, $0) }) ?? true {
                        await drainQueue.add(state.metadata.name)
                    }
                case .deleted(let state):
                    await policyChanged()
                    await drainQueue.add(state.metadata.name)
                }
            }
            reflect(ConfigMap.self, caches.configMaps, namespace: ns) { change in
                switch change {
                case .restarted: await policyChanged()
                case .applied(let map, _), .deleted(let map):
                    if map.metadata.name == OperatorNames.devicePluginConfigMap { await policyChanged() }
                }
            }
            reflect(DaemonSet.self, caches.daemonSets, namespace: ns) { change in
                switch change {
                case .restarted: await configQueue.add("config")
                case .applied(let ds, _), .deleted(let ds):
                    if ownDaemonSets.contains(ds.metadata.name) { await configQueue.add("config") }
                }
            }
            reflect(SriovOperatorConfig.self, caches.operatorConfigs, namespace: ns) { _ in
                await policyChanged()
                await configQueue.add("config")
            }
            reflect(SriovNetwork.self, caches.networks, namespace: nil) { change in
                switch change {
                case .applied(let n, _): await networkQueue.add(NetworkKey(kind: SriovNetwork.kind, key: n.key))
                case .restarted: await networks(targeting: nil)
                case .deleted: break
                }
            }
            reflect(SriovIBNetwork.self, caches.ibNetworks, namespace: nil) { change in
                switch change {
                case .applied(let n, _): await networkQueue.add(NetworkKey(kind: SriovIBNetwork.kind, key: n.key))
                case .restarted: await networks(targeting: nil)
                case .deleted: break
                }
            }
            reflect(OVSNetwork.self, caches.ovsNetworks, namespace: nil) { change in
                switch change {
                case .applied(let n, _): await networkQueue.add(NetworkKey(kind: OVSNetwork.kind, key: n.key))
                case .restarted: await networks(targeting: nil)
                case .deleted: break
                }
            }
            reflect(NetworkAttachmentDefinition.self, caches.networkAttachments, namespace: nil) { change in
                switch change {
                case .applied(let nad, _), .deleted(let nad): await networksFor(nad: nad)
                case .restarted: await networks(targeting: nil)
                }
            }

            group.addTask {
                // Controllers start once every cache has listed, so the first render sees the whole cluster.
                while !caches.hasSynced && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
                guard !Task.isCancelled else { return }
                log.notice("caches synced, controllers starting", metadata: ["k8s.namespace": "\(ns)"])
                await policyQueue.add(PolicyController.key)
                await configQueue.add("config")
                await networks(targeting: nil)
                let level: @Sendable () -> Logger.Level = { logLevel.current }
                await withDiscardingTaskGroup { controllers in
                    controllers.addTask {
                        await Controller(
                            name: "policy",
                            queue: policyQueue,
                            logger: log,
                            metrics: metrics,
                            logLevel: level
                        ) { _, logger in
                            try await policy.reconcile(logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(
                            name: "network",
                            queue: networkQueue,
                            workers: 2,
                            logger: log,
                            metrics: metrics,
                            logLevel: level
                        ) { key, logger in
                            try await network.reconcile(key, logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(
                            name: "operator-config",
                            queue: configQueue,
                            logger: log,
                            metrics: metrics,
                            logLevel: level
                        ) { _, logger in
                            try await config.reconcile(logger: logger)
                        }.run()
                    }
                    controllers.addTask {
                        await Controller(
                            name: "drain",
                            queue: drainQueue,
                            workers: self.settings.drainWorkers,
                            logger: log,
                            metrics: metrics,
                            logLevel: level
                        ) { node, logger in
                            try await drain.reconcile(node: node, logger: logger)
                        }.run()
                    }
                }
            }
        }
        // The term is over: nothing of it is reused.
        await policyQueue.shutDown()
        await networkQueue.shutDown()
        await configQueue.shutDown()
        await drainQueue.shutDown()
    }
}
