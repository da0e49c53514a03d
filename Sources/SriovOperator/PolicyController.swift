public import KubeClient
import KubeCore
public import KubeRuntime
public import Logging
import SriovAPI
import SriovRender

/// The policy controller: policies, pool configs and nodes → every SriovNetworkNodeState spec, the
/// `device-plugin-config` ConfigMap and the nodes' device-plugin label, with stale-NodeState handling.
///
/// Level-based on one synthetic key (upstream: `node-policy-sync-event`): every trigger enqueues the same
/// key, so bursts collapse into one render. Writes happen only where the desired object differs from the
/// cached one; a resync of a settled cluster writes nothing.
/// Upstream: controllers/sriovnetworknodepolicy_controller.go.
public struct PolicyController: Sendable {
    public static let key = "node-policy-sync-event"

    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    let events: EventRecorder?

    public init(
        client: KubeClient,
        caches: OperatorCaches,
        settings: OperatorSettings,
        writes: WriteCounter,
        events: EventRecorder? = nil
    ) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
        self.events = events
    }

    public func reconcile(logger: Logger) async throws -> ReconcileAction {
        let ns = self.settings.namespace
        guard self.caches.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName) != nil else {
            logger.info("waiting for SriovOperatorConfig default", metadata: ["k8s.namespace": "\(ns)"])
            return .requeueAfter(.seconds(5))
        }
        let now = Time.nowRFC3339()
        let options = RenderOptions(
            namespace: ns,
            resourcePrefix: self.settings.resourcePrefix,
            now: now,
            staleNodeStateDelayMinutes: self.settings.staleNodeStateDelayMinutes
        )
        let plan = OperatorPlan.make(snapshot: self.caches.snapshot(), options: options, estimatingDisruptions: false)
        let states = self.client.api(SriovNetworkNodeState.self, namespace: ns)
        var firstError: (any Error)?

        for result in plan.nodeStates {
            var log = logger
            log[metadataKey: "k8s.name"] = "\(result.node)"
            do {
                switch result.action {
                case .create:
                    // Created with the drain annotations at Idle, so the drain controller need not patch it.
                    var fresh = result.state
                    for key in [
                        SriovNetworkNodeState.Annotation.desiredState, SriovNetworkNodeState.Annotation.currentState,
                    ] where fresh.metadata.annotations[key] == nil {
                        fresh.metadata.annotations[key] = DrainState.idle
                    }
                    do {
                        self.caches.nodeStates.recordWrite(try await states.create(fresh))
                        self.writes.record("create", "SriovNetworkNodeState")
                        log.info("node state created")
                    } catch let error as KubeError where error.isAlreadyExists {
                        // The cache was behind; the next pass sees it.
                    }
                case .update:
                    var updated = result.state
                    for key in [
                        SriovNetworkNodeState.Annotation.desiredState, SriovNetworkNodeState.Annotation.currentState,
                    ] where updated.metadata.annotations[key] == nil {
                        updated.metadata.annotations[key] = DrainState.idle
                    }
                    self.caches.nodeStates.recordWrite(try await states.update(updated))
                    self.writes.record("update", "SriovNetworkNodeState")
                    log.info("node state spec updated")
                case .stale(let deleteAfter):
                    try await self.handleStale(result, deleteAfter: deleteAfter, now: now, logger: log)
                case .delete:
                    do {
                        try await states.delete(result.node)
                        self.writes.record("delete", "SriovNetworkNodeState")
                        log.info("stale node state deleted")
                    } catch let error as KubeError where error.isNotFound {}
                case .failed:
                    log.warning("node state not rendered", metadata: ["error": "\(result.error.map { "\($0)" } ?? "")"])
                case .unchanged, .waitingForStatus:
                    break
                }
            } catch {
                log.warning("node state write failed", metadata: ["error": "\(error)"])
                firstError = firstError ?? error
            }
        }

        // Upstream's syncDevicePluginConfigMap returns at the first node it cannot render: no ConfigMap is
        // written and later nodes keep their labels (plan.labels only holds the nodes before the failure).
        if plan.writesDevicePluginConfigMap {
            do {
                try await self.syncConfigMap(plan.devicePluginConfigMap, logger: logger)
            } catch {
                firstError = firstError ?? error
            }
        } else if let error = plan.devicePluginConfigError {
            logger.warning("device plugin config not rendered", metadata: ["error": "\(error)"])
            firstError = firstError ?? error
        }
        for change in plan.labels {
            // The node's drain annotation (`…/state: Idle`) rides along with its label: one write per node.
            let cached = self.caches.nodes.get(name: change.node)
            let needsAnnotation = change.value != nil && cached?.metadata.annotations[DrainState.nodeAnnotation] == nil
            guard change.changes || needsAnnotation else { continue }
            var metadata: JSONObject = [:]
            if change.changes { metadata["labels"] = [change.key: change.value.map { .string($0) } ?? .null] }
            if needsAnnotation {
                metadata["annotations"] = [DrainState.nodeAnnotation: .string(DrainState.idle)]
                // Only on the node as cached: were the daemon's first drain request (`…/state: Drain_Required`)
                // written since, an unconditional patch would overwrite it with Idle and the request would be
                // lost. With the resourceVersion the server answers 409 instead, and the next pass sees the request.
                if let version = cached?.metadata.resourceVersion, !version.isEmpty {
                    metadata["resourceVersion"] = .string(version)
                }
            }
            do {
                let node = try await self.client.api(Node.self).mergePatch(change.node, ["metadata": .object(metadata)])
                self.caches.nodes.recordWrite(node)
                self.writes.record("patch", "Node")
                logger.info(
                    "node label set",
                    metadata: ["k8s.name": "\(change.node)", "label": "\(change.key)=\(change.value ?? "-")"]
                )
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return .requeueAfter(self.settings.resyncPeriod)
    }

    func handleStale(
        _ result: NodeStateResult,
        deleteAfter: String,
        now: String,
        logger: Logger
    ) async throws {
        let states = self.client.api(SriovNetworkNodeState.self, namespace: self.settings.namespace)
        let key = SriovNetworkNodeState.Annotation.keepStateUntil
        // A missing or unparsable deadline is replaced by a new one (the rendered state carries it).
        if let previous = result.previous, previous.metadata.annotations[key] != result.state.metadata.annotations[key]
        {
            self.caches.nodeStates.recordWrite(try await states.update(result.state))
            self.writes.record("update", "SriovNetworkNodeState")
            logger.info("stale node state kept until", metadata: ["until": "\(deleteAfter)"])
        }
        // A deadline that has passed is rendered as `.delete`, not here.
    }

    func syncConfigMap(_ desired: ConfigMap, logger: Logger) async throws {
        let api = self.client.api(ConfigMap.self, namespace: self.settings.namespace)
        guard var current = self.caches.configMaps.get(namespace: self.settings.namespace, name: desired.metadata.name)
        else {
            do {
                self.caches.configMaps.recordWrite(try await api.create(desired))
                self.writes.record("create", "ConfigMap")
                logger.info("device plugin config created")
            } catch let error as KubeError where error.isAlreadyExists {}
            return
        }
        guard current.data != desired.data || current.metadata.ownerReferences != desired.metadata.ownerReferences
        else {
            return
        }
        current.data = desired.data
        current.metadata.ownerReferences = desired.metadata.ownerReferences
        self.caches.configMaps.recordWrite(try await api.update(current))
        self.writes.record("update", "ConfigMap")
        logger.info("device plugin config updated", metadata: ["nodes": "\(desired.data.count)"])
    }
}
