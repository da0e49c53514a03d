import Foundation
public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
import SriovAPI
import SriovRender
import Synchronization

/// `v1` Pod, only what draining reads (status and every unmodelled field are dropped on decode).
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
    // No `status`: nothing the drain decides reads it (terminated pods are gone or marked for deletion).

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
/// down), then `DrainComplete` once the evicted pods are *gone* from the API server (deleted, after the
/// kubelet confirmed their termination), never merely when evictions were accepted. `Drain_Required`
/// evicts only pods that request a resource under the resource prefix; `Reboot_Required` evicts all but
/// DaemonSet pods. Pods are listed with `fieldSelector=spec.nodeName=<node>`.
///
/// Eviction goes through the Eviction API, so PodDisruptionBudgets are always honoured: a refusal (429) is
/// retried with backoff (5 s doubling to 60 s) and reported with an `EvictionRefused` Event. Only when the
/// server has no Eviction subresource at all (404 for the subresource itself, not for the pod) does it fall
/// back to a plain DELETE. A drain that has not finished within `drainTimeout` (upstream: 90 s) is reported
/// with a `DrainFailed` Warning Event and retried with a fresh timeout; the node stays `Draining`.
/// When the daemon goes back to `Idle` the node is uncordoned and `current-state` returns to `Idle`, and
/// nodes waiting for room in a pool are woken (only those: O(waiting), not every node).
/// With `disableDrain`, requests are granted at once without cordon or eviction.
/// Upstream: controllers/drain_controller.go, pkg/drain.
public struct DrainController: Sendable {
    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    let events: EventRecorder?
    /// The queue of this term, to wake nodes waiting for room when a drain ends.
    let queue: WorkQueue<String>?
    /// Nodes this process has granted a drain and not yet seen back at Idle. Workers reconcile nodes in
    /// parallel; the room check and the grant happen under this lock so two nodes of a pool of one cannot
    /// both be granted before either write reaches the cache (upstream takes a lock for the same reason).
    let granted = GrantedDrains()
    let progress = DrainProgress()
    let eviction = EvictionMode()

    public init(
        client: KubeClient,
        caches: OperatorCaches,
        settings: OperatorSettings,
        writes: WriteCounter,
        events: EventRecorder? = nil,
        queue: WorkQueue<String>? = nil
    ) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
        self.events = events
        self.queue = queue
    }

    public func reconcile(node name: String, logger: Logger) async throws -> ReconcileAction {
        let ns = self.settings.namespace
        guard let node = self.caches.nodes.get(name: name),
            let state = self.caches.nodeStates.get(namespace: ns, name: name)
        else {
            if self.granted.release(name) { await self.wakeWaiting() }
            self.progress.finish(name)
            return .done
        }
        if self.settings.useExternalDrainer,
            state.metadata.annotations[SriovNetworkNodeState.Annotation.useExternalDrainer] == "true"
        {
            // An external drainer drives this node's annotations; it does not count against its pool either.
            if self.granted.release(name) { await self.wakeWaiting() }
            self.progress.finish(name)
            self.progress.stopWaiting(name)
            return .done
        }
        let states = self.client.api(SriovNetworkNodeState.self, namespace: ns)
        let desiredKey = SriovNetworkNodeState.Annotation.desiredState
        let currentKey = SriovNetworkNodeState.Annotation.currentState
        // Initialise the NodeState annotations to Idle (upstream does this before anything else). The policy
        // controller creates and updates NodeStates with them, so a NodeState missing them is first given one
        // pass of the policy controller (5 s); only then does this write (NodeStates made elsewhere).
        if state.metadata.annotations[desiredKey] == nil || state.metadata.annotations[currentKey] == nil {
            if self.progress.firstSeenUninitialised(name) { return .requeueAfter(.seconds(5)) }
            var annotations = JSONObject()
            if state.metadata.annotations[desiredKey] == nil { annotations[desiredKey] = .string(DrainState.idle) }
            if state.metadata.annotations[currentKey] == nil { annotations[currentKey] = .string(DrainState.idle) }
            self.caches.nodeStates.recordWrite(
                try await states.mergePatch(name, ["metadata": ["annotations": .object(annotations)]])
            )
            self.writes.record("patch", "SriovNetworkNodeState")
        }
        let fresh = self.caches.nodeStates.get(namespace: ns, name: name) ?? state
        // A node without the `…/state` annotation is Idle (the policy controller sets it with its label).
        let desired =
            node.metadata.annotations[DrainState.nodeAnnotation] ?? fresh.metadata.annotations[desiredKey]
            ?? DrainState.idle
        let current = fresh.metadata.annotations[currentKey] ?? DrainState.idle
        let wantsDrain = desired == DrainState.drainRequired || desired == DrainState.rebootRequired
        let config = self.caches.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName)
        let drainDisabled = config?.spec.disableDrain == true

        if wantsDrain, current == DrainState.idle {
            if drainDisabled {
                try await self.setCurrent(name, DrainState.drainComplete, logger: logger)
                return .done
            }
            guard self.granted.grant(name, if: { others in self.poolHasRoom(for: node, alsoBusy: others) }) else {
                self.progress.wait(name)
                logger.info("drain waits for room in its pool", metadata: ["k8s.name": "\(name)"])
                return .requeueAfter(.seconds(5))
            }
            self.progress.stopWaiting(name)
            do {
                try await self.setCurrent(name, DrainState.draining, logger: logger)
            } catch {
                self.granted.release(name)
                throw error
            }
            self.progress.start(name, at: self.settings.now())
            return .requeueAfter(.milliseconds(10))
        }
        if wantsDrain, current == DrainState.draining {
            // A drain granted by an earlier leader is adopted: it counts against the pool, and its timeout
            // starts now.
            _ = self.granted.grant(name, if: { _ in true })
            if drainDisabled {
                try await self.setCurrent(name, DrainState.drainComplete, logger: logger)
                self.progress.finish(name)
                return .done
            }
            try await self.cordon(name, true)
            let outcome = try await self.evict(
                node: name,
                onlySriov: desired == DrainState.drainRequired,
                logger: logger
            )
            guard !outcome.remaining.isEmpty else {
                try await self.setCurrent(name, DrainState.drainComplete, logger: logger)
                self.progress.finish(name)
                return .done
            }
            let now = self.settings.now()
            let started = self.progress.started(name) ?? self.progress.start(name, at: now)
            if now - started >= self.settings.drainTimeout {
                let message =
                    "drain of node \(name) did not finish within \(self.settings.drainTimeout): "
                    + "\(outcome.remaining.count) pod(s) still present (\(outcome.remaining.prefix(5).joined(separator: ", ")))"
                    + (outcome.refused.isEmpty
                        ? ""
                        : "; evictions refused by a PodDisruptionBudget: \(outcome.refused.prefix(5).joined(separator: ", "))")
                    + "; retrying"
                logger.error("drain failed", metadata: ["k8s.name": "\(name)", "message": "\(message)"])
                self.client.metrics.increment(
                    "sriov_operator_drain_failures_total",
                    help: "Drains that did not finish within the drain timeout"
                )
                await self.events?.record(fresh, type: "Warning", reason: "DrainFailed", message: message)
                self.progress.start(name, at: now)
                return .requeueAfter(.seconds(5))
            }
            if !outcome.refused.isEmpty {
                let refusals = self.progress.refused(name)
                if refusals == 1 {
                    await self.events?.record(
                        fresh,
                        type: "Warning",
                        reason: "EvictionRefused",
                        message: "eviction refused by a PodDisruptionBudget: "
                            + outcome.refused.prefix(5).joined(separator: ", ") + "; retrying with backoff"
                    )
                }
                return .requeueAfter(Self.refusalBackoff(refusals))
            }
            // Evictions accepted: poll until the pods are gone (pods are not watched).
            return .requeueAfter(self.settings.drainPollInterval)
        }
        if desired == DrainState.idle, current == DrainState.draining || current == DrainState.drainComplete {
            try await self.cordon(name, false)
            try await self.setCurrent(name, DrainState.idle, logger: logger)
            self.granted.release(name)
            self.progress.finish(name)
            await self.wakeWaiting()
        }
        return .done
    }

    /// 5 s, 10 s, 20 s, 40 s, then 60 s.
    static func refusalBackoff(_ refusals: Int) -> Duration {
        min(Duration.seconds(5) * (1 << min(max(refusals - 1, 0), 4)), Duration.seconds(60))
    }

    func wakeWaiting() async {
        guard let queue = self.queue else { return }
        for node in self.progress.waiting() { await queue.add(node) }
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

    /// What one pass over a node's pods found.
    struct Outcome: Sendable {
        /// `namespace/name` of pods to drain that still exist (terminating or not).
        var remaining: [String] = []
        /// Those whose eviction a PodDisruptionBudget refused in this pass.
        var refused: [String] = []
    }

    /// Evicts the node's pods (all but DaemonSet pods, or only those using SR-IOV resources); reports which
    /// are still there. A pod already terminating is not evicted again but counts until it is gone.
    func evict(node: String, onlySriov: Bool, logger: Logger) async throws -> Outcome {
        let pods = try await self.client.api(Pod.self).list(fieldSelector: "spec.nodeName=\(node)").items
        let prefix = self.settings.resourcePrefix + "/"
        var outcome = Outcome()
        for pod in pods where pod.spec.nodeName == node {
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
            let id = "\(pod.metadata.namespace)/\(pod.metadata.name)"
            if pod.metadata.deletionTimestamp != nil {
                outcome.remaining.append(id)
                continue
            }
            switch try await self.evict(pod) {
            case .accepted:
                self.writes.record("evict", "Pod")
                logger.info(
                    "pod evicted",
                    metadata: ["k8s.namespace": "\(pod.metadata.namespace)", "k8s.name": "\(pod.metadata.name)"]
                )
                outcome.remaining.append(id)
            case .refused(let message):
                logger.warning(
                    "eviction refused by a PodDisruptionBudget",
                    metadata: ["k8s.name": "\(id)", "message": "\(message)"]
                )
                self.client.metrics.increment(
                    "sriov_operator_evictions_refused_total",
                    help: "Evictions a PodDisruptionBudget refused (429)"
                )
                outcome.remaining.append(id)
                outcome.refused.append(id)
            case .gone:
                break
            }
        }
        return outcome
    }

    enum EvictResult: Sendable, Equatable {
        case accepted
        case refused(String)
        case gone
    }

    /// POST `pods/<name>/eviction` in the version the server's discovery names for `pods/eviction`
    /// (`policy/v1` from 1.22, `policy/v1beta1` before; kubectl's `CheckEvictionSupport`). Only a server
    /// without that subresource (absent from discovery, or a 404 for the path rather than for the pod) gets
    /// a plain DELETE. Any other error (400, 405, 5xx) is thrown and retried, never turned into a delete.
    func evict(_ pod: Pod) async throws -> EvictResult {
        let path = "/api/v1/namespaces/\(pod.metadata.namespace)/pods/\(pod.metadata.name)/eviction"
        if let version = try await self.eviction.version(self.client) {
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
                return .accepted
            } catch let error as KubeError where error.status == 429 {
                return .refused(error.message)
            } catch let error as KubeError where error.isNotFound {
                if Self.isPodNotFound(error, pod: pod.metadata.name) { return .gone }
                // The subresource itself is missing (discovery was wrong or stale): delete from now on.
                self.eviction.markMissing()
            }
        }
        do {
            try await self.client.api(Pod.self, namespace: pod.metadata.namespace).delete(pod.metadata.name)
            return .accepted
        } catch let error as KubeError where error.isNotFound {
            return .gone
        }
    }

    /// A 404 about the pod itself (`pods "x" not found`, details.kind `pods`) rather than about the path.
    static func isPodNotFound(_ error: KubeError, pod: String) -> Bool {
        error.message.contains("pods \"\(pod)\" not found")
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

    /// Returns whether the node held a grant.
    @discardableResult
    func release(_ node: String) -> Bool { self.nodes.withLock { $0.remove(node) != nil } }
}

/// Per-node drain bookkeeping of one term: when the current drain attempt started, how many eviction
/// passes a PodDisruptionBudget refused, and which nodes wait for room in their pool.
final class DrainProgress: Sendable {
    struct Entry: Sendable {
        var started: ContinuousClock.Instant
        var refusals = 0
    }
    let state = Mutex<(entries: [String: Entry], waiting: Set<String>)>(([:], []))

    @discardableResult
    func start(_ node: String, at now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        self.state.withLock { $0.entries[node] = Entry(started: now) }
        return now
    }
    func started(_ node: String) -> ContinuousClock.Instant? { self.state.withLock { $0.entries[node]?.started } }
    /// Counts one refused pass; returns the count.
    func refused(_ node: String) -> Int {
        self.state.withLock { state in
            state.entries[node]?.refusals += 1
            return state.entries[node]?.refusals ?? 1
        }
    }
    func finish(_ node: String) { self.state.withLock { _ = $0.entries.removeValue(forKey: node) } }
    func wait(_ node: String) { self.state.withLock { _ = $0.waiting.insert(node) } }
    func stopWaiting(_ node: String) { self.state.withLock { _ = $0.waiting.remove(node) } }
    func waiting() -> [String] { self.state.withLock { $0.waiting.sorted() } }
    let uninitialised = Mutex<Set<String>>([])
    /// True the first time `node` is seen without drain annotations.
    func firstSeenUninitialised(_ node: String) -> Bool { self.uninitialised.withLock { $0.insert(node).inserted } }
}

/// Which Eviction API version the server serves, from `GET /api/v1` (looked up once per term).
final class EvictionMode: Sendable {
    enum Known: Sendable {
        case eviction(String)
        case delete
    }
    let state = Mutex<Known?>(nil)

    /// `policy/v1` or `policy/v1beta1`; nil when the server has no Eviction subresource.
    func version(_ client: KubeClient) async throws -> String? {
        if let known = self.state.withLock({ $0 }) {
            if case .eviction(let version) = known { return version }
            return nil
        }
        let body = try await client.perform(
            KubeRequest(method: "GET", path: "/api/v1", verb: "discover", resource: "core API resources")
        )
        let resources = (try? JSONParser.parse(body))?["resources"]?.arrayValue ?? []
        let known: Known
        if let entry = resources.first(where: { $0["name"]?.stringValue == "pods/eviction" }) {
            let version = entry["version"]?.stringValue ?? ""
            known = .eviction(version == "v1" ? "policy/v1" : "policy/v1beta1")
        } else {
            known = .delete
        }
        self.state.withLock { $0 = known }
        if case .eviction(let version) = known { return version }
        return nil
    }

    func markMissing() { self.state.withLock { $0 = .delete } }
}
