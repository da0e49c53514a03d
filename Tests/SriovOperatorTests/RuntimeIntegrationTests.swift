import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovTestKit
import Synchronization
import Testing

/// The client and runtime against an API server: the same bodies on the fake and (when built) on a real
/// kube-apiserver; fault injection only where the fake can do what the real one cannot be made to.
@Suite("Client and runtime against an API server", .serialized)
struct RuntimeIntegrationTests {
    static func configMap(_ name: String, _ value: String) -> ConfigMap {
        ConfigMap(metadata: ObjectMeta(name: name, namespace: "default"), data: ["k": value])
    }

    @Test(
        "CRUD, conflicts on a stale resourceVersion, not-found, merge patch, paginated list",
        arguments: Backend.available
    )
    func crud(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        let api = cluster.client.api(ConfigMap.self, namespace: "default")
        let created = try await api.create(Self.configMap("a", "1"))
        #expect(!created.metadata.resourceVersion.isEmpty)
        #expect(
            await #expect(throws: KubeError.self) { _ = try await api.create(Self.configMap("a", "1")) }?
                .isAlreadyExists == true
        )
        var stale = created
        var fresh = created
        fresh.data = ["k": "2"]
        _ = try await api.update(fresh)
        stale.data = ["k": "3"]
        let conflict = await #expect(throws: KubeError.self) { _ = try await api.update(stale) }
        #expect(conflict?.isConflict == true)
        let patched = try await api.mergePatch("a", ["data": ["k": "4", "extra": "x"]])
        #expect(patched.data == ["k": "4", "extra": "x"])
        #expect(await #expect(throws: KubeError.self) { _ = try await api.get("missing") }?.isNotFound == true)
        for i in 0..<7 { _ = try await api.create(Self.configMap("page-\(i)", "\(i)")) }
        let list = try await api.list(labelSelector: nil, pageSize: 3)
        #expect(list.items.filter { $0.metadata.name.hasPrefix("page-") }.count == 7)
        try await api.delete("a", resourceVersion: patched.metadata.resourceVersion)
        #expect(try await api.getIfPresent("a") == nil)
    }

    @Test("the reflector follows creates, updates and deletes through its watch", arguments: Backend.available)
    func reflector(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        let api = cluster.client.api(ConfigMap.self, namespace: "default")
        _ = try await api.create(Self.configMap("before", "0"))
        let store = Store<ConfigMap>()
        let reflector = Reflector(api: api, store: store, logger: Logger(label: "test"))
        let running = Task { await reflector.run() }
        defer { running.cancel() }
        try await eventually("initial list") { store.get(namespace: "default", name: "before") != nil }
        _ = try await api.create(Self.configMap("after", "1"))
        _ = try await api.mergePatch("before", ["data": ["k": "changed"]])
        try await api.delete("after")
        try await eventually("watch events") {
            store.get(namespace: "default", name: "before")?.data["k"] == "changed"
                && store.get(namespace: "default", name: "after") == nil
        }
    }

    @Test("a watch broken mid-stream resumes without losing events; a compacted version relists (410)")
    func watchFaults() async throws {
        let cluster = try await TestCluster.start(.fake)
        defer { Task { await cluster.stop() } }
        let fake = try #require(cluster.fake)
        let api = cluster.client.api(ConfigMap.self, namespace: "default")
        let store = Store<ConfigMap>()
        let restarts = Counter()
        let reflector = Reflector(api: api, store: store, logger: Logger(label: "test")) { change in
            if case .restarted = change { restarts.increment() }
        }
        let running = Task { await reflector.run() }
        defer { running.cancel() }
        try await eventually("synced") { store.hasSynced }
        fake.faults.dropWatches(abruptly: true)
        _ = try await api.create(Self.configMap("during-drop", "1"))
        try await eventually("event after the drop") { store.get(namespace: "default", name: "during-drop") != nil }
        #expect(restarts.value == 1)

        // Compact the history, then break the watch: resuming from the old version gets 410 and relists.
        for i in 0..<5 { _ = try await api.create(Self.configMap("churn-\(i)", "\(i)")) }
        try await eventually("churn seen") { store.count >= 6 }
        fake.compact()
        fake.faults.dropWatches()
        _ = try await api.create(Self.configMap("after-compaction", "1"))
        try await eventually("relisted after 410") {
            restarts.value >= 2 || store.get(namespace: "default", name: "after-compaction") != nil
        }
        try await eventually("object present") { store.get(namespace: "default", name: "after-compaction") != nil }
    }

    @Test("injected 500s and 429s: the controller retries with backoff until the write lands")
    func retries() async throws {
        let cluster = try await TestCluster.start(.fake)
        defer { Task { await cluster.stop() } }
        let fake = try #require(cluster.fake)
        let api = cluster.client.api(ConfigMap.self, namespace: "default")
        fake.faults.failNext(2, method: "POST", pathContains: "configmaps", status: 500, reason: "InternalError")
        fake.faults.failNext(1, method: "POST", pathContains: "configmaps", status: 429, reason: "TooManyRequests")
        let queue = WorkQueue<String>(baseDelay: .milliseconds(10))
        let attempts = Counter()
        let controller = Controller(name: "test", queue: queue, logger: Logger(label: "test")) { key, _ in
            attempts.increment()
            _ = try await api.create(Self.configMap(key, "v"))
            return .done
        }
        await queue.add("retried")
        let running = Task { await controller.run() }
        defer { running.cancel() }
        try await eventually("created after retries") { try await api.getIfPresent("retried") != nil }
        // The two 500s carry no Retry-After: each fails a reconcile, which the controller retries with backoff.
        // The 429 carries `Retry-After: 1`, which the client honours itself within the third reconcile.
        #expect(attempts.value == 3)
    }

    @Test("leader election: one leader at a time; when it stops, the other takes over", arguments: Backend.available)
    func leaderElection(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        let leases = cluster.client.api(Lease.self, namespace: "default")
        func elector(_ id: String) -> LeaderElector {
            var elector = LeaderElector(api: leases, name: "test-lock", identity: id, logger: Logger(label: id))
            elector.retryPeriod = .milliseconds(200)
            elector.renewDeadline = .seconds(2)
            elector.leaseDuration = .seconds(3)
            return elector
        }
        let leading = Counter()
        let a = Task {
            await elector("a").run {
                leading.increment()
                await Self.forever()
                leading.decrement()
            }
        }
        try await eventually("a leads") { leading.value == 1 }
        let b = Task {
            await elector("b").run {
                leading.increment()
                await Self.forever()
                leading.decrement()
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(leading.value == 1)
        #expect(try await leases.get("test-lock").spec.holderIdentity == "a")
        a.cancel()
        try await eventually("b takes over", timeout: .seconds(10)) {
            try await leases.get("test-lock").spec.holderIdentity == "b"
        }
        b.cancel()
    }

    static func forever() async {
        while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
    }
}

/// A thread-safe counter for test assertions.
final class Counter: Sendable {
    let state = Mutex(0)
    func increment() { self.state.withLock { $0 += 1 } }
    func decrement() { self.state.withLock { $0 -= 1 } }
    var value: Int { self.state.withLock { $0 } }
}
