import Foundation
import KubeCore
import Logging
import SriovTestKit
import Synchronization
import Testing

@testable import KubeClient
@testable import KubeRuntime

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let base = ContinuousClock.now
    let offset = Mutex(Duration.zero)
    func advance(_ by: Duration) { self.offset.withLock { $0 += by } }
    var now: ContinuousClock.Instant { self.base + self.offset.withLock { $0 } }
    var elapsed: Duration { self.offset.withLock { $0 } }
}

/// Records the pauses a component asked for instead of sleeping.
final class SleepRecorder: Sendable {
    let pauses = Mutex<[Duration]>([])
    func record(_ pause: Duration) { self.pauses.withLock { $0.append(pause) } }
    var values: [Duration] { self.pauses.withLock { $0 } }
}

@Suite("Client under load: rate limits, Retry-After, timeouts, decode failures")
struct ClientResilienceTests {
    @Test("token bucket: a burst passes at once, then requests are spaced 1/qps apart; qps 0 is off")
    func tokenBucket() {
        let clock = ManualClock()
        let bucket = TokenBucket(qps: 2, burst: 3, now: { clock.elapsed })
        #expect((0..<3).map { _ in bucket.reserve() } == [.zero, .zero, .zero])
        #expect(bucket.reserve() == .milliseconds(500))
        #expect(bucket.reserve() == .seconds(1))
        clock.advance(.seconds(10))
        // Refilled to the burst, not beyond.
        #expect((0..<3).map { _ in bucket.reserve() } == [.zero, .zero, .zero])
        #expect(bucket.reserve() == .milliseconds(500))
        #expect(TokenBucket(qps: 0, burst: 1).reserve() == .zero)
        #expect(KubeClient(transport: NoTransport(), rateLimiter: TokenBucket(qps: 0, burst: 5)).rateLimiter == nil)
    }

    @Test("429 and 503 with Retry-After are retried after exactly that long; without the header the error returns")
    func retryAfter() async throws {
        try await withFakeAPIServer { server in
            let sleeps = SleepRecorder()
            let client = try KubeClient(
                config: KubeConfig(server: server.url),
                retry: RetryPolicy(maxRetries: 5, sleep: { sleeps.record($0) })
            )
            defer { Task { try? await client.shutdown() } }
            let api = client.api(ConfigMap.self, namespace: "default")
            server.faults.failNext(2, method: "POST", pathContains: "configmaps", status: 429, retryAfterSeconds: 3)
            server.faults.failNext(1, method: "POST", pathContains: "configmaps", status: 503, retryAfterSeconds: 1)
            _ = try await api.create(ConfigMap(metadata: ObjectMeta(name: "after-retries", namespace: "default")))
            #expect(sleeps.values == [.seconds(3), .seconds(3), .seconds(1)])
            #expect(client.metrics.total("kube_client_retries_total") == 3)

            server.faults.failNext(1, method: "POST", pathContains: "configmaps", status: 500)
            let error = await #expect(throws: KubeError.self) {
                _ = try await api.create(ConfigMap(metadata: ObjectMeta(name: "no-header", namespace: "default")))
            }
            #expect(error?.status == 500)
            #expect(sleeps.values.count == 3)
        }
    }

    @Test("a Retry-After beyond the policy's limit or after the last retry fails instead of waiting")
    func retryLimits() {
        let policy = RetryPolicy(maxRetries: 2, maxWait: .seconds(30))
        #expect(policy.wait(status: 429, retryAfter: 2, attempt: 0) == .seconds(2))
        #expect(policy.wait(status: 429, retryAfter: 2, attempt: 2) == nil)
        #expect(policy.wait(status: 429, retryAfter: 600, attempt: 0) == nil)
        #expect(policy.wait(status: 409, retryAfter: 1, attempt: 0) == nil)
        #expect(policy.wait(status: 502, retryAfter: 0, attempt: 0) == .milliseconds(100))
    }

    @Test("a decode failure is not transient; transport and 5xx failures are")
    func decodeNotTransient() {
        #expect(!KubeError(status: 0, reason: "Decode", message: "x", verb: "get", resource: "r").isTransient)
        #expect(KubeError(status: 0, reason: "", message: "reset", verb: "get", resource: "r").isTransient)
        #expect(KubeError(status: 503, reason: "", message: "", verb: "get", resource: "r").isTransient)
    }

    @Test("a stalled answer fails at the request deadline instead of hanging")
    func bodyDeadline() async throws {
        try await withFakeAPIServer { server in
            var configured = try KubeClient(config: KubeConfig(server: server.url), retry: .none)
            configured.requestTimeout = .milliseconds(300)
            let client = configured
            defer { Task { try? await client.shutdown() } }
            // The answer comes after 10 s; the 300 ms deadline must end the call long before (a loaded 2-core
            // machine has taken 4.8 s to get there, so the bound is generous; the reason proves the deadline fired).
            server.faults.delay(.seconds(10), method: "GET", pathContains: "configmaps/slow", count: 1)
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeError.self) {
                _ = try await client.api(ConfigMap.self, namespace: "default").get("slow")
            }
            #expect(error?.reason == "Timeout")
            #expect(ContinuousClock.now - started < .seconds(9))
        }
    }

    @Test("watch lines are split across chunks; an over-long line fails the stream instead of growing a buffer")
    func lineSplitter() throws {
        var splitter = LineSplitter.Splitter(maxLineBytes: 8, verb: "watch", resource: "r")
        #expect(try splitter.feed(Array("ab\ncd".utf8)) == [Array("ab".utf8)])
        #expect(try splitter.feed(Array("e\n\nf".utf8)) == [Array("cde".utf8)])
        #expect(splitter.finish() == Array("f".utf8))
        var small = LineSplitter.Splitter(maxLineBytes: 4, verb: "watch", resource: "r")
        #expect(throws: KubeError.self) { _ = try small.feed(Array("123456".utf8)) }
    }
}

/// A custom kind whose `spec.count` must be an integer, to feed the reflector objects that do not decode.
struct Widget: Resource {
    static let group = "example.com"
    static let version = "v1"
    static let kind = "Widget"
    static let plural = "widgets"
    static let scope = ResourceScope.namespaced
    struct Spec: Codable, Sendable, Hashable { var count: Int }
    var apiVersion: String = Widget.apiVersion
    var kind: String = Widget.kind
    var metadata: ObjectMeta
    var spec: Spec
}

@Suite("Reflector and work queue backoff (injected clock)", .serialized)
struct BackoffTests {
    @Test("work queue backoff: 1 s floor doubling per failure, ±20 % jitter, capped; a key is not out before its time")
    func queueBackoff() async {
        let clock = ManualClock()
        let random = Mutex(0.5)
        let queue = WorkQueue<String>(
            baseDelay: .seconds(1),
            maxDelay: .seconds(8),
            now: { clock.now },
            random: { random.withLock { $0 } }
        )
        #expect(await queue.addRateLimited("k") == .seconds(1))
        await queue.promoteDue()
        #expect(await queue.readyCount == 0)
        clock.advance(.milliseconds(999))
        await queue.promoteDue()
        #expect(await queue.readyCount == 0)
        clock.advance(.milliseconds(1))
        await queue.promoteDue()
        #expect(await queue.readyCount == 1)
        #expect(await queue.next() == "k")
        await queue.done("k")
        #expect(await queue.addRateLimited("k") == .seconds(2))
        #expect(await queue.addRateLimited("k") == .seconds(4))
        #expect(await queue.addRateLimited("k") == .seconds(8))
        #expect(await queue.addRateLimited("k") == .seconds(8))
        random.withLock { $0 = 0 }
        #expect(await queue.backoff(failures: 1) == .milliseconds(800))
        random.withLock { $0 = 0.999_999 }
        let high = await queue.backoff(failures: 2)
        #expect(high > .milliseconds(2399) && high <= .milliseconds(2400))
        await queue.forget("k")
        #expect(await queue.failureCount("k") == 0)
    }

    @Test("a queue shut down hands out nothing and accepts nothing (a term never reuses one)")
    func shutDownQueue() async {
        let queue = WorkQueue<String>()
        await queue.shutDown()
        await queue.add("a")
        await queue.add("b", after: .zero)
        #expect(await queue.pendingCount == 0)
        #expect(await queue.next() == nil)
    }

    @Test("reflector: a 410 relists (counted) after a jittered backoff; a closed watch re-watches")
    func relistOn410() async throws {
        try await withFakeAPIServer { server in
            let client = try KubeClient(config: KubeConfig(server: server.url))
            defer { Task { try? await client.shutdown() } }
            let api = client.api(ConfigMap.self, namespace: "default")
            let store = Store<ConfigMap>()
            let sleeps = SleepRecorder()
            let restarts = Mutex(0)
            var reflector = Reflector(api: api, store: store, logger: Logger(label: "test")) { change in
                if case .restarted = change { restarts.withLock { $0 += 1 } }
            }
            reflector.sleep = { sleeps.record($0) }
            reflector.random = { 0.5 }
            var state = await reflector.step(.empty)
            #expect(restarts.withLock { $0 } == 1)
            guard case .watching(let version) = state else {
                Issue.record("expected watching, got \(state)")
                return
            }
            // History compacted past the list's version: the watch answers 410.
            for i in 0..<3 {
                _ = try await api.create(ConfigMap(metadata: ObjectMeta(name: "c\(i)", namespace: "default")))
            }
            server.compact()
            state = await reflector.step(.watching(resourceVersion: version))
            #expect(state == .backingOff(failures: 1, next: .empty))
            state = await reflector.step(state)
            #expect(sleeps.values == [.milliseconds(800)])
            #expect(restarts.withLock { $0 } == 2)
            #expect(client.metrics.value("kube_reflector_lists_total", labels: [("kind", "ConfigMap")]) == 2)
            #expect(store.count == 3)
            guard case .watching = state else {
                Issue.record("expected watching after the relist, got \(state)")
                return
            }
        }
    }

    @Test("reflector backoff grows per failure with jitter and is capped at 30 s")
    func reflectorBackoff() throws {
        let client = KubeClient(transport: NoTransport())
        var reflector = Reflector(api: client.api(ConfigMap.self), store: Store(), logger: Logger(label: "t"))
        reflector.random = { 0.5 }
        #expect(reflector.backoff(failures: 1) == .milliseconds(800))
        #expect(reflector.backoff(failures: 3) == .milliseconds(3200))
        #expect(reflector.backoff(failures: 20) == .seconds(30))
        reflector.random = { 0 }
        #expect(reflector.backoff(failures: 1) == .milliseconds(400))
    }

    @Test("one undecodable object is skipped with a metric; the kind's list and watch go on")
    func undecodable() async throws {
        try await withFakeAPIServer { server in
            let client = try KubeClient(config: KubeConfig(server: server.url))
            defer { Task { try? await client.shutdown() } }
            let path = "/apis/example.com/v1/namespaces/default/widgets"
            _ = try server.put(
                [
                    "apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "bad"],
                    "spec": ["count": "x"],
                ],
                path: path
            )
            _ = try server.put(
                ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "good"], "spec": ["count": 1]],
                path: path
            )
            let store = Store<Widget>()
            let reflector = Reflector(
                api: client.api(Widget.self, namespace: "default"),
                store: store,
                logger: Logger(label: "test")
            )
            let running = Task { await reflector.run() }
            defer { running.cancel() }
            // Generous bounds (a loaded 2-core CI machine took 15 s here with one 10 s deadline for both waits).
            try await eventually("the reflector synced", timeout: .seconds(60)) { store.hasSynced }
            #expect(store.list().map(\.metadata.name) == ["good"])
            _ = try server.put(
                [
                    "apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "bad2"],
                    "spec": ["count": []],
                ],
                path: path
            )
            _ = try server.put(
                [
                    "apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "later"],
                    "spec": ["count": 2],
                ],
                path: path
            )
            try await eventually("the object after the undecodable one arrived", timeout: .seconds(60)) {
                store.get(namespace: "default", name: "later") != nil
            }
            #expect(store.get(namespace: "default", name: "later")?.spec.count == 2)
            #expect(client.metrics.value("kube_reflector_decode_failures_total", labels: [("kind", "Widget")]) == 2)
        }
    }

    @Test("caches drop managedFields and whatever the store's trim drops")
    func trimming() {
        var node = Node(name: "n1")
        node.metadata.managedFields = ["manager": "kubelet"]
        node.status = ["conditions": []]
        let store = Store<Node>(trim: { $0.status = nil })
        store.replace([node])
        #expect(store.get(name: "n1")?.metadata.managedFields == nil)
        #expect(store.get(name: "n1")?.status == nil)
    }
}

@Suite("Prometheus text format")
struct MetricsFormatTests {
    @Test("counters, gauges and histograms render as parseable exposition text")
    func render() throws {
        let metrics = Metrics()
        metrics.increment("api_writes_total", help: "writes", labels: [("verb", "create"), ("kind", "Pod\"x\\")])
        metrics.set("queue_depth", help: "depth", labels: [("name", "q")], to: 3)
        metrics.observe("reconcile_seconds", help: "time", labels: [("controller", "c")], seconds: 0.015625)
        metrics.observe("reconcile_seconds", help: "time", labels: [("controller", "c")], seconds: 100)
        let samples = try PrometheusText.parse(metrics.render())
        #expect(samples.types["api_writes_total"] == "counter")
        #expect(samples.value("api_writes_total", ["verb": "create", "kind": "Pod\"x\\"]) == 1)
        #expect(samples.value("queue_depth", ["name": "q"]) == 3)
        #expect(samples.types["reconcile_seconds"] == "histogram")
        #expect(samples.value("reconcile_seconds_bucket", ["controller": "c", "le": "0.025"]) == 1)
        #expect(samples.value("reconcile_seconds_bucket", ["controller": "c", "le": "+Inf"]) == 2)
        #expect(samples.value("reconcile_seconds_count", ["controller": "c"]) == 2)
        #expect(samples.value("reconcile_seconds_sum", ["controller": "c"]) == 100.015625)
    }
}
