import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import SriovWebhook
import Synchronization
import Testing

/// Where a test's API server comes from: the fake on loopback, or the cached real kube-apiserver.
enum Backend: Sendable, CustomTestStringConvertible {
    case fake
    case real
    var testDescription: String { self == .fake ? "fake API server" : "real kube-apiserver" }
    static let available: [Backend] = RealAPIServer.isAvailable ? [.fake, .real] : [.fake]
}

/// A client of a fresh API server of `backend` (CRDs installed) for the duration of `body`.
func withAPIServer(_ backend: Backend, _ body: (KubeClient) async throws -> Void) async throws {
    switch backend {
    case .fake:
        try await withFakeAPIServer { server in
            let client = try KubeClient(config: KubeConfig(server: server.url))
            defer { Task { try? await client.shutdown() } }
            try await body(client)
        }
    case .real:
        let server = try RealAPIServer.start()
        defer { server.stop() }
        let client = try KubeClient(config: try KubeConfig.load(path: server.kubeconfigPath))
        let seeder = ClusterSeeder(client: client)
        try await seeder.installCRDs(CustomResourceDefinitions.all + [ClusterSeeder.networkAttachmentDefinitionCRD])
        do {
            try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
    }
}

/// The policy validator is remembered between reviews and rebuilt when a watch cache changes: every review
/// after a change sees it, also under concurrent reviews.
@Suite("the policy validator follows the watch caches", .serialized)
struct ValidatorCacheTests {
    static let namespace = Fixture.namespace
    static let settings = WebhookSettings(operatorNamespace: Self.namespace)

    /// A policy for `ens803f0` (upstream's N0 interface) on nodes labelled `zone: b`.
    static func zonePolicy(_ name: String) -> SriovNetworkNodePolicy {
        .fixture(name).nodeSelector(["zone": "b"]).pfNames("ens803f0").numVfs(4)
    }

    /// The answer of `/validating-custom-resource` to a CREATE of `policy`.
    static func review(_ handler: WebhookHandler, _ policy: SriovNetworkNodePolicy) async throws -> Answer {
        let body = Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(policy))
        let answer = await handler.respond(
            method: "POST",
            path: WebhookHandler.Path.validating.rawValue,
            contentType: "application/json",
            body: Array(body.utf8)
        )
        #expect(answer.status == 200, "\(answer.body)")
        return try Answer(answer.body)
    }

    /// Runs the caches against `client` (seeded with ``Fixture/cluster``) for the duration of `body`.
    static func withCaches(
        _ client: KubeClient,
        _ body: (WebhookCaches, WebhookHandler) async throws -> Void
    ) async throws {
        var snapshot = Fixture.cluster
        snapshot.namespaces = [Namespace(name: Self.namespace)]
        try await ClusterSeeder(client: client).seed(snapshot)
        let logger = Logger(label: "validator-cache-test")
        let caches = WebhookCaches(client: client, operatorNamespace: Self.namespace, logger: logger)
        let handler = WebhookHandler(settings: Self.settings, cluster: caches, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await caches.run() }
            defer { tasks.cancelAll() }
            try await eventually("caches synced", poll: .milliseconds(50)) {
                caches.hasSynced && caches.nodeStates.list().first?.status.interfaces.isEmpty == false
            }
            try await body(caches, handler)
        }
    }

    /// Creates the Node `worker-b` labelled `zone: b`, and (when `withState`) its NodeState with N0's NICs.
    static func addZoneNode(_ client: KubeClient, withState: Bool = true) async throws {
        var snapshot = ClusterSnapshot()
        snapshot.nodes = [.worker("worker-b", labels: ["zone": "b"])]
        if withState {
            snapshot.nodeStates = [.fixture("worker-b", interfaces: [.n0A, .n0B, .n0C], namespace: Self.namespace)]
        }
        try await ClusterSeeder(client: client).seed(snapshot)
    }

    @Test(
        "a review after a cache change sees it: new Node, its NodeState, a new policy, a label edit",
        arguments: Backend.available
    )
    func seesEveryChange(_ backend: Backend) async throws {
        try await withAPIServer(backend) { client in
            try await Self.withCaches(client) { caches, handler in
                let policy = Self.zonePolicy("zone-b")
                let nowhere = try await Self.review(handler, policy)
                #expect(!nowhere.allowed)
                #expect(nowhere.message == "no matched node is selected by the nodeSelector in CR zone-b")
                // The same review again (from the remembered validator) answers the same.
                #expect(try await Self.review(handler, policy).message == nowhere.message)

                // A Node with the label: selected, but its NICs are not known yet.
                try await Self.addZoneNode(client, withState: false)
                try await eventually("worker-b cached", poll: .milliseconds(20)) {
                    caches.nodes.get(name: "worker-b") != nil
                }
                let noNIC = try await Self.review(handler, policy)
                #expect(!noNIC.allowed)
                #expect(noNIC.message == "no supported NIC is selected by the nicSelector in CR zone-b")

                // Its NodeState with the discovered NICs: admissible.
                let states = client.api(SriovNetworkNodeState.self, namespace: Self.namespace)
                var state = try await states.create(
                    SriovNetworkNodeState(metadata: ObjectMeta(name: "worker-b", namespace: Self.namespace))
                )
                state.status = .init(interfaces: [.n0A, .n0B, .n0C])
                _ = try await states.updateStatus(state)
                try await eventually("worker-b NodeState status cached", poll: .milliseconds(20)) {
                    caches.nodeStates.get(namespace: Self.namespace, name: "worker-b")?.status.interfaces.isEmpty
                        == false
                }
                let admitted = try await Self.review(handler, policy)
                #expect(admitted.allowed, "\(admitted.message)")

                // The policy stored: a second one on the same PF of the same node now overlaps it.
                let policies = client.api(SriovNetworkNodePolicy.self, namespace: Self.namespace)
                _ = try await policies.create(policy)
                try await eventually("zone-b cached", poll: .milliseconds(20)) {
                    caches.policies.get(namespace: Self.namespace, name: "zone-b") != nil
                }
                let overlap = try await Self.review(handler, Self.zonePolicy("zone-b-2"))
                #expect(!overlap.allowed)
                #expect(overlap.message == "VF index range in ens803f0 is overlapped with existing policy zone-b")

                // The label taken off the node: it no longer selects any.
                _ = try await client.api(Node.self).mergePatch("worker-b", ["metadata": ["labels": ["zone": nil]]])
                try await eventually("label edit cached", poll: .milliseconds(20)) {
                    caches.nodes.get(name: "worker-b")?.metadata.labels["zone"] == nil
                }
                let unlabelled = try await Self.review(handler, Self.zonePolicy("zone-b-2"))
                #expect(unlabelled.message == "no matched node is selected by the nodeSelector in CR zone-b-2")
            }
        }
    }

    @Test("a Node status update (a kubelet heartbeat) does not count as a change of the validator's input")
    func heartbeatIsNoChange() async throws {
        try await withAPIServer(.fake) { client in
            try await Self.withCaches(client) { caches, _ in
                let before = caches.generation(settings: Self.settings)
                let heartbeat: JSONValue = [
                    "status": ["conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady"]]]
                ]
                let patched = try await client.api(Node.self).mergePatch(
                    "worker-0",
                    heartbeat,
                    subresource: "status"
                )
                // A change that does count, made after the heartbeat: once it is cached, so is the heartbeat
                // (one watch stream, in order).
                _ = try await client.api(Node.self).mergePatch("worker-0", ["metadata": ["labels": ["x": "1"]]])
                try await eventually("label cached", poll: .milliseconds(20)) {
                    caches.nodes.get(name: "worker-0")?.metadata.labels["x"] == "1"
                }
                #expect(patched.metadata.resourceVersion != "")
                let after = caches.generation(settings: Self.settings)
                #expect(after.nodes == before.nodes + 1, "only the label edit changed the Node cache")
                #expect(after.nodeStates == before.nodeStates)
            }
        }
    }

    @Test("fifty concurrent reviews while the cluster changes: each sees the cache of its time, never an older one")
    func concurrentReviews() async throws {
        try await withAPIServer(.fake) { client in
            try await Self.withCaches(client) { caches, handler in
                let policy = Self.zonePolicy("zone-b")
                let writerDone = Flag()
                let answers = try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            var seen: [String] = []
                            var loops = 0
                            // Review until the writer is done and the change is visible, at least 20 times.
                            while loops < 20 || !writerDone.isSet || seen.last != "allowed" {
                                let answer = try await Self.review(handler, policy)
                                seen.append(answer.allowed ? "allowed" : answer.message)
                                loops += 1
                                if loops > 100_000 { break }
                                await Task.yield()
                            }
                            return seen
                        }
                    }
                    group.addTask {
                        try await Self.addZoneNode(client)
                        try await eventually("worker-b and its NodeState cached", poll: .milliseconds(10)) {
                            caches.nodes.get(name: "worker-b") != nil
                                && caches.nodeStates.get(namespace: Self.namespace, name: "worker-b")?.status
                                    .interfaces.isEmpty == false
                        }
                        writerDone.set()
                        return []
                    }
                    var all: [[String]] = []
                    for try await seen in group where !seen.isEmpty { all.append(seen) }
                    return all
                }
                #expect(answers.count == 50)
                let expected: Set<String> = [
                    "no matched node is selected by the nodeSelector in CR zone-b",
                    "no supported NIC is selected by the nicSelector in CR zone-b",
                    "allowed",
                ]
                let order = [
                    "no matched node is selected by the nodeSelector in CR zone-b": 0,
                    "no supported NIC is selected by the nicSelector in CR zone-b": 1, "allowed": 2,
                ]
                for seen in answers {
                    #expect(Set(seen).isSubset(of: expected), "\(Set(seen))")
                    #expect(seen.last == "allowed")
                    // The cache only grows here, so no reviewer goes back to an older answer.
                    let ranks = seen.compactMap { order[$0] }
                    #expect(ranks == ranks.sorted(), "a review saw an older cache than the one before it")
                }
            }
        }
    }
}

/// A flag set once by one task and read by others.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { self.value.load(ordering: .acquiring) }
    func set() { self.value.store(true, ordering: .releasing) }
}
