import Foundation
public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
import SriovAPI
import SriovRender
import Synchronization

/// `v1` Pod, only what draining reads.
public struct Pod: Resource, LenientDecodable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Pod"
    public static let plural = "pods"
    public static let scope = ResourceScope.namespaced

    public struct Resources: Codable, Sendable, Hashable, LenientDecodable {
        public var requests: [String: JSONValue]?
        public var limits: [String: JSONValue]?
        public init(requests: [String: JSONValue]? = nil, limits: [String: JSONValue]? = nil) {
            self.requests = requests
            self.limits = limits
        }
    }

    public struct Container: Codable, Sendable, Hashable, LenientDecodable {
        public var name: String
        public var image: String?
        public var resources: Resources?
        public init(name: String, image: String? = nil, resources: Resources? = nil) {
            self.name = name
            self.image = image
            self.resources = resources
        }
    }

    public struct Spec: Codable, Sendable, Hashable, LenientDecodable {
        public var nodeName: String?
        public var containers: [Container]
        public var automountServiceAccountToken: Bool?
        public init(nodeName: String? = nil, containers: [Container], automountServiceAccountToken: Bool? = nil) {
            self.nodeName = nodeName
            self.containers = containers
            self.automountServiceAccountToken = automountServiceAccountToken
        }
    }

    public var apiVersion: String = Pod.apiVersion
    public var kind: String = Pod.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// Drain states of the annotation handshake between the config daemon and the operator (reference §4.5).
public enum DrainState {
    public static let idle = "Idle"
    public static let drainRequired = "Drain_Required"
    public static let rebootRequired = "Reboot_Required"
    public static let draining = "Draining"
    public static let drainComplete = "DrainComplete"
    /// Node annotation the daemon writes.
    public static let nodeAnnotation = "sriovnetwork.openshift.io/state"
}

/// The drain coordinator: grants drains within each pool's `maxUnavailable`, cordons, evicts, and uncordons.
///
/// The daemon asks by setting `Drain_Required` or `Reboot_Required` (node annotation `…/state` and NodeState
/// `desired-state`); the controller answers in NodeState `current-state`: `Draining` once the pool has room
/// (a node in no pool is in a default pool of 1; a nil `maxUnavailable` is unlimited; percentages round
/// down), then `DrainComplete` once the pods are gone. `Drain_Required` evicts only pods that request a
/// resource under the resource prefix; `Reboot_Required` evicts all but DaemonSet pods. Eviction goes
/// through the Eviction API, so PodDisruptionBudgets are honoured (a refusal retries in 5 s); when the
/// daemon goes back to `Idle` the node is uncordoned and `current-state` returns to `Idle`.
/// With `disableDrain`, requests are granted at once without cordon or eviction.
/// Upstream: controllers/drain_controller.go, pkg/drain.
public struct DrainController: Sendable {
    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    /// Nodes this process has granted a drain and not yet seen back at Idle. Workers reconcile nodes in
    /// parallel; the room check and the grant happen under this lock so two nodes of a pool of one cannot
    /// both be granted before either write reaches the cache (upstream takes a lock for the same reason).
    let granted = GrantedDrains()

    public init(client: KubeClient, caches: OperatorCaches, settings: OperatorSettings, writes: WriteCounter) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
    }

    public func reconcile(node name: String, logger: Logger) async throws -> ReconcileAction {
        let ns = self.settings.namespace
        guard let node = self.caches.nodes.get(name: name),
            let state = self.caches.nodeStates.get(namespace: ns, name: name)
        else { return .done }
        let states = self.client.api(SriovNetworkNodeState.self, namespace: ns)
        let desiredKey = SriovNetworkNodeState.Annotation.desiredState
        let currentKey = SriovNetworkNodeState.Annotation.currentState
        // Initialise the three annotations to Idle (upstream does this before anything else).
        if state.metadata.annotations[desiredKey] == nil || state.metadata.annotations[currentKey] == nil {
            var annotations = JSONObject()
            if state.metadata.annotations[desiredKey] == nil { annotations[desiredKey] = .string(DrainState.idle) }
            if state.metadata.annotations[currentKey] == nil { annotations[currentKey] = .string(DrainState.idle) }
            self.caches.nodeStates.recordWrite(
                try await states.mergePatch(name, ["metadata": ["annotations": .object(annotations)]])
            )
            self.writes.record("patch", "SriovNetworkNodeState")
        }
        if node.metadata.annotations[DrainState.nodeAnnotation] == nil {
            let patched = try await self.client.api(Node.self).mergePatch(
                name,
                ["metadata": ["annotations": [DrainState.nodeAnnotation: .string(DrainState.idle)]]]
            )
            self.caches.nodes.recordWrite(patched)
            self.writes.record("patch", "Node")
        }
        let fresh = self.caches.nodeStates.get(namespace: ns, name: name) ?? state
        let desired =
            node.metadata.annotations[DrainState.nodeAnnotation] ?? fresh.metadata.annotations[desiredKey]
            ?? DrainState.idle
        let current = fresh.metadata.annotations[currentKey] ?? DrainState.idle
        let wantsDrain = desired == DrainState.drainRequired || desired == DrainState.rebootRequired

        if wantsDrain, current == DrainState.idle {
            let config = self.caches.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName)
            if config?.spec.disableDrain == true {
                try await self.setCurrent(name, DrainState.drainComplete, logger: logger)
                return .done
            }
            guard self.granted.grant(name, if: { others in self.poolHasRoom(for: node, alsoBusy: others) }) else {
                logger.info("drain waits for room in its pool", metadata: ["k8s.name": "\(name)"])
                return .requeueAfter(.seconds(5))
            }
            do {
                try await self.setCurrent(name, DrainState.draining, logger: logger)
            } catch {
                self.granted.release(name)
                throw error
            }
            return .requeueAfter(.milliseconds(10))
        }
        if wantsDrain, current == DrainState.draining {
            try await self.cordon(name, true)
            let remaining = try await self.evict(
                node: name,
                onlySriov: desired == DrainState.drainRequired,
                logger: logger
            )
            guard remaining == 0 else { return .requeueAfter(.seconds(5)) }
            try await self.setCurrent(name, DrainState.drainComplete, logger: logger)
            return .done
        }
        if desired == DrainState.idle, current == DrainState.draining || current == DrainState.drainComplete {
            try await self.cordon(name, false)
            try await self.setCurrent(name, DrainState.idle, logger: logger)
            self.granted.release(name)
        }
        return .done
    }

    func setCurrent(_ node: String, _ value: String, logger: Logger) async throws {
        let states = self.client.api(SriovNetworkNodeState.self, namespace: self.settings.namespace)
        let patched = try await states.mergePatch(
            node,
            ["metadata": ["annotations": [SriovNetworkNodeState.Annotation.currentState: .string(value)]]]
        )
        self.caches.nodeStates.recordWrite(patched)
        self.writes.record("patch", "SriovNetworkNodeState")
        logger.info("drain state changed", metadata: ["k8s.name": "\(node)", "state": "\(value)"])
    }

    func cordon(_ node: String, _ unschedulable: Bool) async throws {
        guard let cached = self.caches.nodes.get(name: node), (cached.spec?.unschedulable ?? false) != unschedulable
        else {
            return
        }
        let patched = try await self.client.api(Node.self).mergePatch(
            node,
            ["spec": ["unschedulable": unschedulable ? .bool(true) : .null]]
        )
        self.caches.nodes.recordWrite(patched)
        self.writes.record("patch", "Node")
    }

    /// Nodes of the node's pool currently draining, against the pool's maxUnavailable.
    func poolHasRoom(for node: Node, alsoBusy: Set<String> = []) -> Bool {
        let ns = self.settings.namespace
        let renderer = NodeStateRenderer(
            options: RenderOptions(namespace: ns),
            policies: [],
            poolConfigs: self.caches.poolConfigs.list()
        )
        let pool = renderer.pool(of: node)
        let members = self.caches.nodes.list().filter { renderer.pool(of: $0)?.metadata.name == pool?.metadata.name }
        let busy = members.filter { member in
            let current = self.caches.nodeStates.get(namespace: ns, name: member.metadata.name)?
                .metadata.annotations[SriovNetworkNodeState.Annotation.currentState]
            return current == DrainState.draining || current == DrainState.drainComplete
                || alsoBusy.contains(member.metadata.name)
        }.count
        guard let pool else { return busy < 1 }
        guard let limit = pool.spec.maxUnavailable else { return true }
        switch limit {
        case .int(let n): return busy < n
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()) else { return false }
            return busy < members.count * percent / 100
        }
    }

    /// Evicts the node's pods (all but DaemonSet pods, or only those using SR-IOV resources); returns how
    /// many are still there.
    func evict(node: String, onlySriov: Bool, logger: Logger) async throws -> Int {
        let pods = try await self.client.api(Pod.self).list().items.filter { $0.spec.nodeName == node }
        let prefix = self.settings.resourcePrefix + "/"
        var remaining = 0
        for pod in pods {
            if pod.metadata.ownerReferences.contains(where: { $0.kind == "DaemonSet" }) { continue }
            if onlySriov {
                let uses = pod.spec.containers.contains { container in
                    let names =
                        Array((container.resources?.requests ?? [:]).keys)
                        + Array((container.resources?.limits ?? [:]).keys)
                    return names.contains { $0.hasPrefix(prefix) }
                }
                if !uses { continue }
            }
            if pod.metadata.deletionTimestamp != nil { continue }
            remaining += 1
            do {
                try await self.evict(pod)
                self.writes.record("evict", "Pod")
                logger.info(
                    "pod evicted",
                    metadata: ["k8s.namespace": "\(pod.metadata.namespace)", "k8s.name": "\(pod.metadata.name)"]
                )
                remaining -= 1
            } catch let error as KubeError where error.status == 429 {
                logger.warning(
                    "eviction refused by a PodDisruptionBudget",
                    metadata: ["k8s.name": "\(pod.metadata.name)"]
                )
            } catch let error as KubeError where error.isNotFound {
                remaining -= 1
            }
        }
        return remaining
    }

    /// POST `pods/<name>/eviction` (policy/v1, then policy/v1beta1 for servers before 1.22); a server
    /// without the Eviction API at all gets a plain delete.
    func evict(_ pod: Pod) async throws {
        let path = "/api/v1/namespaces/\(pod.metadata.namespace)/pods/\(pod.metadata.name)/eviction"
        for version in ["policy/v1", "policy/v1beta1"] {
            let body: JSONValue = [
                "apiVersion": .string(version), "kind": "Eviction",
                "metadata": ["name": .string(pod.metadata.name), "namespace": .string(pod.metadata.namespace)],
            ]
            do {
                _ = try await self.client.perform(
                    KubeRequest(
                        method: "POST",
                        path: path,
                        body: Array(GoJSON.encode(body).utf8),
                        verb: "evict",
                        resource: "pods \(pod.metadata.namespace)/\(pod.metadata.name)"
                    )
                )
                return
            } catch let error as KubeError where error.status == 404 || error.status == 400 || error.status == 405 {
                // Not this version (or no Eviction API): try the next form.
                if error.isNotFound, error.message.contains("pods \"\(pod.metadata.name)\" not found") { throw error }
            }
        }
        try await self.client.api(Pod.self, namespace: pod.metadata.namespace).delete(pod.metadata.name)
    }
}

/// The set behind ``DrainController/granted``.
final class GrantedDrains: Sendable {
    let nodes = Mutex<Set<String>>([])

    /// Adds `node` if `check` (given the other granted nodes) allows it; atomically.
    func grant(_ node: String, if check: (Set<String>) -> Bool) -> Bool {
        self.nodes.withLock { nodes in
            if nodes.contains(node) { return true }
            guard check(nodes) else { return false }
            nodes.insert(node)
            return true
        }
    }

    func release(_ node: String) { self.nodes.withLock { _ = $0.remove(node) } }
}
