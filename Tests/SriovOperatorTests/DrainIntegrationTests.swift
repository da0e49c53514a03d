import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovAPI
import SriovTestKit
import Synchronization
import Testing

@testable import SriovOperator

/// A clock the test moves by hand (drain timeouts).
final class TestClock: Sendable {
    let base = ContinuousClock.now
    let offset = Mutex(Duration.zero)
    func advance(_ by: Duration) { self.offset.withLock { $0 += by } }
    var now: ContinuousClock.Instant { self.base + self.offset.withLock { $0 } }
}

/// One drain scenario: nodes with NodeStates, pods, and an operator running against `cluster`.
struct DrainScenario {
    let cluster: TestCluster
    let op: SriovOperator
    let running: Task<Void, Never>
    let ns = "sriov-network-operator"

    var nodes: Api<Node> { self.cluster.client.api(Node.self) }
    var states: Api<SriovNetworkNodeState> { self.cluster.client.api(SriovNetworkNodeState.self, namespace: self.ns) }
    var pods: Api<Pod> { self.cluster.client.api(Pod.self, namespace: "default") }

    static func pod(
        _ name: String,
        node: String,
        resource: String?,
        labels: [String: String] = [:],
        finalizers: [String] = []
    ) -> Pod {
        var resources: Pod.Resources?
        if let resource { resources = .init(requests: [resource: "1"], limits: [resource: "1"]) }
        var metadata = ObjectMeta(name: name, namespace: "default", labels: labels)
        metadata.finalizers = finalizers
        return Pod(
            metadata: metadata,
            spec: .init(
                nodeName: node,
                containers: [.init(name: "c", image: "busybox", resources: resources)],
                automountServiceAccountToken: false
            )
        )
    }

    static func start(
        _ backend: Backend,
        nodes names: [String],
        pools: [SriovNetworkPoolConfig] = [],
        fake: FakeAPIServer.Configuration = .init(),
        configure: (inout OperatorSettings) -> Void = { _ in }
    ) async throws -> DrainScenario {
        let cluster = try await TestCluster.start(backend, fake: fake)
        var snapshot = ClusterSnapshot()
        snapshot.namespaces = [Namespace(name: "sriov-network-operator")]
        snapshot.nodes = names.map { Node.worker($0) }
        snapshot.poolConfigs = pools
        snapshot.operatorConfigs = [
            SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"))
        ]
        snapshot.nodeStates = names.map { name in
            var state = SriovNetworkNodeState.fixture(name, interfaces: [.n0A])
            state.metadata.annotations = [
                SriovNetworkNodeState.Annotation.desiredState: DrainState.idle,
                SriovNetworkNodeState.Annotation.currentState: DrainState.idle,
            ]
            return state
        }
        try await ClusterSeeder(client: cluster.client).seed(snapshot)
        if backend == .real {
            // No controller-manager in the test server: create the ServiceAccount pods need.
            _ = try? await cluster.client.perform(
                KubeRequest(
                    method: "POST",
                    path: "/api/v1/namespaces/default/serviceaccounts",
                    body: Array(#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}"#.utf8),
                    verb: "create",
                    resource: "serviceaccounts default/default"
                )
            )
        }
        var settings = OperatorSettings(resyncPeriod: .seconds(30), policyDebounce: .milliseconds(50))
        settings.drainPollInterval = .milliseconds(100)
        configure(&settings)
        var logger = Logger(label: "drain-test")
        logger.logLevel = .warning
        let op = SriovOperator(client: cluster.client, settings: settings, logger: logger)
        let running = Task { await op.run() }
        return DrainScenario(cluster: cluster, op: op, running: running)
    }

    func stop() async {
        self.running.cancel()
        await self.running.value
        await self.cluster.stop()
    }

    func request(_ node: String, _ state: String = DrainState.drainRequired) async throws {
        _ = try await self.nodes.mergePatch(
            node,
            ["metadata": ["annotations": [DrainState.nodeAnnotation: .string(state)]]]
        )
    }

    func current(_ node: String) async throws -> String? {
        try await self.states.get(node).metadata.annotations[SriovNetworkNodeState.Annotation.currentState]
    }

    /// What the kubelet does for a terminating pod: removes finalizers it was told to, then deletes it for
    /// good (grace period 0). The fake deletes a pod without finalizers at once; the real server keeps a
    /// bound pod until its kubelet confirms.
    func confirmTermination(_ name: String) async throws {
        if let pod = try await self.pods.getIfPresent(name), !pod.metadata.finalizers.isEmpty {
            _ = try await self.pods.mergePatch(name, ["metadata": ["finalizers": .null]])
        }
        do {
            _ = try await self.cluster.client.perform(
                KubeRequest(
                    method: "DELETE",
                    path: self.pods.path(name),
                    body: Array(#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}"#.utf8),
                    verb: "delete",
                    resource: "pods default/\(name)"
                )
            )
        } catch let error as KubeError where error.isNotFound {}
    }

    /// Events the operator recorded about `node`'s NodeState.
    func events(for node: String, reason: String) async throws -> [Event] {
        try await self.cluster.client.api(Event.self, namespace: self.ns).list().items.filter {
            $0.involvedObject.name == node && $0.reason == reason
        }
    }
}

@Suite("Drain coordination", .serialized)
struct DrainIntegrationTests {
    @Test(
        "Drain_Required: cordon, evict only SR-IOV pods, DrainComplete only once they are gone; the pool's next node waits",
        arguments: Backend.available
    )
    func drain(_ backend: Backend) async throws {
        let s = try await DrainScenario.start(backend, nodes: ["w1", "w2"])
        do {
            // The SR-IOV pod holds a finalizer: evicting it leaves it Terminating until "the kubelet" confirms.
            _ = try await s.pods.create(
                DrainScenario.pod(
                    "dpdk-app",
                    node: "w1",
                    resource: "openshift.io/intel_dpdk",
                    finalizers: ["test/hold"]
                )
            )
            _ = try await s.pods.create(DrainScenario.pod("web", node: "w1", resource: nil))
            try await eventually("annotations initialised") {
                try await s.nodes.get("w1").metadata.annotations[DrainState.nodeAnnotation] == DrainState.idle
            }
            try await s.request("w1")
            try await eventually("w1 granted") { try await s.current("w1") == DrainState.draining }
            try await eventually("w1 cordoned") { try await s.nodes.get("w1").spec?.unschedulable == true }
            try await eventually("SR-IOV pod evicted") {
                try await s.pods.get("dpdk-app").metadata.deletionTimestamp != nil
            }
            #expect(try await s.pods.get("web").metadata.deletionTimestamp == nil)
            // w2 asks while w1 drains: the default pool allows one node at a time.
            try await s.request("w2")
            // Several polls pass with the evicted pod still terminating: no DrainComplete, w2 still waits.
            try await Task.sleep(for: .milliseconds(800))
            #expect(try await s.current("w1") == DrainState.draining)
            #expect(try await s.current("w2") == DrainState.idle)
            try await s.confirmTermination("dpdk-app")
            try await eventually("w1 DrainComplete after the pod is gone") {
                try await s.current("w1") == DrainState.drainComplete
            }
            #expect(try await s.pods.getIfPresent("dpdk-app") == nil)
            #expect(try await s.current("w2") == DrainState.idle)
            // The daemon on w1 is done: uncordon, Idle, and w2 gets its turn.
            try await s.request("w1", DrainState.idle)
            try await eventually("w1 uncordoned") { try await s.nodes.get("w1").spec?.unschedulable != true }
            try await eventually("w1 Idle") { try await s.current("w1") == DrainState.idle }
            try await eventually("w2 drained") { try await s.current("w2") == DrainState.drainComplete }
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    @Test(
        "a PodDisruptionBudget refusal (429) is never overridden: retried with backoff, reported, then honoured",
        arguments: RealAPIServer.hasControllerManager ? [Backend.fake, .real] : [.fake]
    )
    func podDisruptionBudget(_ backend: Backend) async throws {
        let s = try await DrainScenario.start(backend, nodes: ["w1"])
        do {
            _ = try await s.pods.create(
                DrainScenario.pod("guarded", node: "w1", resource: nil, labels: ["app": "guarded"])
            )
            if backend == .real {
                // A Pending pod is not protected by a PDB; make it Running, as its kubelet would.
                _ = try await s.pods.mergePatch(
                    "guarded",
                    [
                        "status": [
                            "phase": "Running",
                            "conditions": [["type": "Ready", "status": "True"]],
                        ]
                    ],
                    subresource: "status"
                )
            }
            let budgets = s.cluster.client.api(PodDisruptionBudget.self, namespace: "default")
            _ = try await budgets.create(
                PodDisruptionBudget(
                    metadata: ObjectMeta(name: "guard", namespace: "default"),
                    spec: ["minAvailable": 1, "selector": ["matchLabels": ["app": "guarded"]]]
                )
            )
            // The one healthy pod is the minimum: no disruption allowed. On the real server kube-controller-
            // manager's disruption controller computes that; on the fake the test writes what it would.
            if backend == .fake { try await Self.setBudget(budgets, allowed: 0) }
            try await eventually("budget computed", timeout: .seconds(30)) {
                try await budgets.get("guard").status?["observedGeneration"] != nil
            }
            try await s.request("w1", DrainState.rebootRequired)
            try await eventually("refusal reported") {
                try await !s.events(for: "w1", reason: "EvictionRefused").isEmpty
            }
            #expect(try await s.pods.get("guarded").metadata.deletionTimestamp == nil)
            #expect(try await s.current("w1") == DrainState.draining)
            #expect(s.op.metrics.total("sriov_operator_evictions_refused_total") >= 1)
            // The budget is relaxed (minAvailable 0): one disruption allowed; the next retry evicts.
            _ = try await budgets.mergePatch("guard", ["spec": ["minAvailable": 0]])
            if backend == .fake { try await Self.setBudget(budgets, allowed: 1) }
            try await eventually("evicted once allowed", timeout: .seconds(60)) {
                let pod = try await s.pods.getIfPresent("guarded")
                return pod == nil || pod?.metadata.deletionTimestamp != nil
            }
            try await s.confirmTermination("guarded")
            try await eventually("DrainComplete") { try await s.current("w1") == DrainState.drainComplete }
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    static func setBudget(_ budgets: Api<PodDisruptionBudget>, allowed: Int) async throws {
        let budget = try await budgets.get("guard")
        _ = try await budgets.mergePatch(
            "guard",
            [
                "status": [
                    "observedGeneration": .int(budget.metadata.generation), "disruptionsAllowed": .int(allowed),
                    "currentHealthy": .int(1), "desiredHealthy": .int(1 - allowed + 1), "expectedPods": 1,
                ]
            ],
            subresource: "status"
        )
    }

    @Test("USE_EXTERNAL_DRAINER: a NodeState marked use-external-drainer is left alone and does not hold its pool")
    func externalDrainer() async throws {
        let s = try await DrainScenario.start(.fake, nodes: ["w1", "w2"]) { $0.useExternalDrainer = true }
        do {
            _ = try await s.states.mergePatch(
                "w1",
                ["metadata": ["annotations": [SriovNetworkNodeState.Annotation.useExternalDrainer: "true"]]]
            )
            _ = try await s.pods.create(DrainScenario.pod("app", node: "w1", resource: "openshift.io/x"))
            try await s.request("w1")
            // w2 asks too: with w1 external, the default pool (one node at a time) has room for it.
            try await s.request("w2")
            try await eventually("w2 DrainComplete") { try await s.current("w2") == DrainState.drainComplete }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await s.current("w1") == DrainState.idle)
            #expect(try await s.nodes.get("w1").spec?.unschedulable != true)
            #expect(try await s.pods.get("app").metadata.deletionTimestamp == nil)
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()

        // Without the setting the mark is ignored and the operator drains as usual.
        let t = try await DrainScenario.start(.fake, nodes: ["w1"])
        do {
            _ = try await t.states.mergePatch(
                "w1",
                ["metadata": ["annotations": [SriovNetworkNodeState.Annotation.useExternalDrainer: "true"]]]
            )
            try await t.request("w1")
            try await eventually("w1 DrainComplete") { try await t.current("w1") == DrainState.drainComplete }
            #expect(try await t.nodes.get("w1").spec?.unschedulable == true)
        } catch {
            await t.stop()
            throw error
        }
        await t.stop()
    }

    @Test("pods are listed with fieldSelector=spec.nodeName, never cluster-wide")
    func fieldSelector() async throws {
        let s = try await DrainScenario.start(.fake, nodes: ["w1"])
        do {
            let fake = try #require(s.cluster.fake)
            _ = try await s.pods.create(DrainScenario.pod("app", node: "w1", resource: "openshift.io/x"))
            try await eventually("synced") { try await s.current("w1") == DrainState.idle }
            try await s.request("w1")
            try await eventually("DrainComplete") { try await s.current("w1") == DrainState.drainComplete }
            let podLists = fake.requests.filter { $0.method == "GET" && $0.path == "/api/v1/pods" }
            #expect(!podLists.isEmpty)
            #expect(podLists.allSatisfy { $0.query["fieldSelector"] == "spec.nodeName=w1" })
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    @Test("without the Eviction subresource (404 for the path) the drain deletes; a 405 or 400 never becomes a delete")
    func evictionFallback() async throws {
        var noEviction = FakeAPIServer.Configuration()
        noEviction.servesEviction = false
        let s = try await DrainScenario.start(.fake, nodes: ["w1"], fake: noEviction)
        do {
            _ = try await s.pods.create(DrainScenario.pod("app", node: "w1", resource: "openshift.io/x"))
            try await eventually("synced") { try await s.current("w1") == DrainState.idle }
            try await s.request("w1")
            try await eventually("DrainComplete by delete") { try await s.current("w1") == DrainState.drainComplete }
            let fake = try #require(s.cluster.fake)
            #expect(fake.requests.contains { $0.method == "DELETE" && $0.path.hasSuffix("/pods/app") })
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()

        let t = try await DrainScenario.start(.fake, nodes: ["w1"])
        do {
            let fake = try #require(t.cluster.fake)
            _ = try await t.pods.create(DrainScenario.pod("app", node: "w1", resource: "openshift.io/x"))
            try await eventually("synced") { try await t.current("w1") == DrainState.idle }
            fake.faults.failNext(1000, method: "POST", pathContains: "/eviction", status: 405)
            try await t.request("w1")
            try await eventually("eviction attempted") { fake.requests.contains { $0.path.hasSuffix("/eviction") } }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await t.pods.get("app").metadata.deletionTimestamp == nil)
            #expect(!fake.requests.contains { $0.method == "DELETE" && $0.path.hasSuffix("/pods/app") })
            #expect(try await t.current("w1") == DrainState.draining)
        } catch {
            await t.stop()
            throw error
        }
        await t.stop()
    }

    @Test("a drain still waiting for its pods after the 90 s timeout is reported (DrainFailed) and retried")
    func drainTimeout() async throws {
        let clock = TestClock()
        let s = try await DrainScenario.start(.fake, nodes: ["w1"]) { $0.now = { clock.now } }
        do {
            _ = try await s.pods.create(
                DrainScenario.pod("stuck", node: "w1", resource: "openshift.io/x", finalizers: ["test/hold"])
            )
            try await eventually("synced") { try await s.current("w1") == DrainState.idle }
            try await s.request("w1")
            try await eventually("evicted") { try await s.pods.get("stuck").metadata.deletionTimestamp != nil }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await s.events(for: "w1", reason: "DrainFailed").isEmpty)
            clock.advance(.seconds(91))
            try await eventually("DrainFailed event") { try await !s.events(for: "w1", reason: "DrainFailed").isEmpty }
            let event = try #require(try await s.events(for: "w1", reason: "DrainFailed").first)
            #expect(event.type == "Warning")
            #expect(event.message?.contains("default/stuck") == true)
            // Retried, not given up: still Draining, and completes once the pod goes.
            #expect(try await s.current("w1") == DrainState.draining)
            try await s.confirmTermination("stuck")
            try await eventually("DrainComplete") { try await s.current("w1") == DrainState.drainComplete }
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    @Test("a NodeState change enqueues that node only (O(changes)); Node status heartbeats render nothing")
    func fanOut() async throws {
        let names = (0..<20).map { "n\($0)" }
        let s = try await DrainScenario.start(.fake, nodes: names)
        do {
            try await eventually("synced") { try await s.current("n0") == DrainState.idle }
            let metrics = s.op.metrics
            // Settled: no policy reconcile and no drain enqueue for a whole second.
            var last = (-1.0, -1.0)
            try await eventually("settled", timeout: .seconds(30)) {
                let now = (
                    Self.policyReconciles(metrics),
                    metrics.value("workqueue_adds_total", labels: [("name", "drain")]) ?? 0
                )
                defer { last = now }
                try await Task.sleep(for: .seconds(1))
                return now == last
            }
            let drainAdds = metrics.value("workqueue_adds_total", labels: [("name", "drain")]) ?? 0
            let renders = Self.policyReconciles(metrics)
            _ = try await s.states.mergePatch("n3", ["metadata": ["annotations": ["unrelated": "x"]]])
            _ = try await s.states.mergePatch(
                "n5",
                ["metadata": ["annotations": [SriovNetworkNodeState.Annotation.desiredState: "Drain_Required"]]]
            )
            for i in 0..<5 {
                _ = try await s.nodes.mergePatch(
                    "n7",
                    ["status": ["conditions": [["type": "Ready", "status": "True", "reason": .string("beat-\(i)")]]]]
                )
            }
            try await Task.sleep(for: .milliseconds(800))
            #expect((metrics.value("workqueue_adds_total", labels: [("name", "drain")]) ?? 0) - drainAdds <= 2)
            #expect(Self.policyReconciles(metrics) == renders)
            #expect(s.op.caches.nodes.get(name: "n7")?.status == nil)
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    static func policyReconciles(_ metrics: Metrics) -> Double {
        ["success", "error", "requeue_after"].reduce(0) {
            $0
                + (metrics.value(
                    "controller_runtime_reconcile_total",
                    labels: [("controller", "policy"), ("result", $1)]
                ) ?? 0)
        }
    }
}

/// `policy/v1beta1` PodDisruptionBudget (the test server is 1.20, before policy/v1), as far as tests write it.
struct PodDisruptionBudget: Resource {
    static let group = "policy"
    static let version = "v1beta1"
    static let kind = "PodDisruptionBudget"
    static let plural = "poddisruptionbudgets"
    static let scope = ResourceScope.namespaced
    var apiVersion: String = PodDisruptionBudget.apiVersion
    var kind: String = PodDisruptionBudget.kind
    var metadata: ObjectMeta
    var spec: JSONValue
    var status: JSONValue?

    init(metadata: ObjectMeta, spec: JSONValue) {
        self.metadata = metadata
        self.spec = spec
    }
}
