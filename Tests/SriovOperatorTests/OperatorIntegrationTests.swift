import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import Testing

@testable import SriovOperator

/// A running API server for one test: the fake on loopback, or (when built on this machine) a real
/// kube-apiserver with etcd. The same test bodies run against both.
struct TestCluster {
    let client: KubeClient
    let fake: FakeAPIServer?
    let stop: @Sendable () async -> Void

    static func start(_ backend: Backend, fake: FakeAPIServer.Configuration = .init()) async throws -> TestCluster {
        switch backend {
        case .fake:
            let server = try await FakeAPIServer.start(fake)
            let client = try KubeClient(config: KubeConfig(server: server.url))
            return TestCluster(client: client, fake: server) {
                try? await client.shutdown()
                await server.stop()
            }
        case .real:
            // A fresh server per test (≈ 5 s): tests then need no cleanup between them.
            let server = try RealAPIServer.start()
            let config = try KubeConfig.load(path: server.kubeconfigPath)
            let client = try KubeClient(config: config)
            let seeder = ClusterSeeder(client: client)
            try await seeder.installCRDs(CustomResourceDefinitions.all)
            try await seeder.installCRDs([ClusterSeeder.networkAttachmentDefinitionCRD])
            return TestCluster(client: client, fake: nil) {
                try? await client.shutdown()
                server.stop()
            }
        }
    }

}

enum Backend: Sendable, CustomTestStringConvertible {
    case fake
    case real
    var testDescription: String { self == .fake ? "fake API server" : "real kube-apiserver" }
    static let available: [Backend] = RealAPIServer.isAvailable ? [.fake, .real] : [.fake]
}

private let examplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

@Suite("Operator end to end against an API server", .serialized)
struct OperatorIntegrationTests {
    func examplesSnapshot() throws -> ClusterSnapshot {
        var (snapshot, errors) = ClusterSnapshot.decode(try ManifestReader.read(paths: [examplesDirectory]))
        #expect(errors.isEmpty)
        // Cluster-scoped and namespace objects the examples assume.
        if !snapshot.namespaces.contains(where: { $0.metadata.name == "sriov-network-operator" }) {
            snapshot.namespaces.append(Namespace(name: "sriov-network-operator"))
        }
        return snapshot
    }

    func settings() -> OperatorSettings {
        OperatorSettings(resyncPeriod: .seconds(2), policyDebounce: .milliseconds(50))
    }

    @Test(
        "applying the examples: every NodeState, the ConfigMap, the NADs and the node labels are written as planned",
        arguments: Backend.available
    )
    func examples(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        let snapshot = try self.examplesSnapshot()
        try await ClusterSeeder(client: cluster.client).seed(snapshot)

        // What `sriov plan` says the operator writes, computed from the same input.
        let expected = OperatorPlan.make(snapshot: snapshot, options: RenderOptions(now: "2026-01-01T00:00:00Z"))
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: Logger(label: "test"))
        let running = Task { await op.run() }
        defer { running.cancel() }

        let states = cluster.client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
        try await eventually("NodeState specs") {
            for result in expected.nodeStates {
                let stored = try await states.get(result.node)
                if stored.spec != result.state.spec { return false }
            }
            return true
        }
        let configMaps = cluster.client.api(ConfigMap.self, namespace: "sriov-network-operator")
        try await eventually("device plugin ConfigMap") {
            try await configMaps.get("device-plugin-config").data == expected.devicePluginConfigMap.data
        }
        try await eventually("node labels") {
            let worker = try await cluster.client.api(Node.self).get("worker-1")
            return worker.metadata.labels["sriovnetwork.openshift.io/device-plugin"] == "Enabled"
        }
        for network in expected.networks {
            guard let nad = network.networkAttachment else { continue }
            try await eventually("NAD \(nad.metadata.namespace)/\(nad.metadata.name)") {
                let stored = try await cluster.client.api(
                    NetworkAttachmentDefinition.self,
                    namespace: nad.metadata.namespace
                )
                .get(nad.metadata.name)
                return stored.spec.config == nad.spec.config
                    && stored.metadata.annotations[NetworkAttachmentDefinition.resourceNameAnnotation]
                        == nad.metadata.annotations[NetworkAttachmentDefinition.resourceNameAnnotation]
            }
        }
        let dpdk = try await cluster.client.api(SriovNetwork.self, namespace: "sriov-network-operator").get("dpdk-net")
        #expect(dpdk.metadata.finalizers == ["netattdef.finalizers.sriovnetwork.openshift.io"])
        try await eventually("Ready condition") {
            let net = try await cluster.client.api(SriovNetwork.self, namespace: "sriov-network-operator").get(
                "dpdk-net"
            )
            return net.status?.conditions.first?.reason == "NetworkReady"
        }
        try await eventually("DaemonSets") {
            let ds = try await cluster.client.api(DaemonSet.self, namespace: "sriov-network-operator").get(
                "sriov-device-plugin"
            )
            return ds.metadata.ownerReferences.first?.kind == "SriovOperatorConfig"
        }
    }

    @Test(
        "a deleted NAD is regenerated; a policy change rewrites only the affected NodeState; an idle resync writes nothing",
        arguments: Backend.available
    )
    func lifecycle(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        let snapshot = try self.examplesSnapshot()
        try await ClusterSeeder(client: cluster.client).seed(snapshot)
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: Logger(label: "test"))
        let running = Task { await op.run() }
        defer { running.cancel() }

        let nads = cluster.client.api(NetworkAttachmentDefinition.self, namespace: "telco-app")
        try await eventually("NAD dpdk-net") { try await nads.getIfPresent("dpdk-net") != nil }
        try await nads.delete("dpdk-net")
        try await eventually("NAD dpdk-net regenerated") { try await nads.getIfPresent("dpdk-net") != nil }

        // Let everything settle, then change one policy that only selects worker-0.
        let states = cluster.client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
        try await eventually("worker-0 rendered") { try await states.get("worker-0").spec.interfaces.count == 2 }
        try await Task.sleep(for: .seconds(1))
        let before1 = try await states.get("worker-1").metadata.resourceVersion
        let policies = cluster.client.api(SriovNetworkNodePolicy.self, namespace: "sriov-network-operator")
        _ = try await policies.mergePatch("intel-ens1f1", ["spec": ["numVfs": 12]])
        try await eventually("worker-0 ens1f1 has 12 VFs") {
            try await states.get("worker-0").spec.interfaces.first { $0.name == "ens1f1" }?.numVfs == 12
        }
        #expect(try await states.get("worker-1").metadata.resourceVersion == before1)

        // Idle: several resync periods (2 s here) pass without a single write.
        try await Task.sleep(for: .seconds(1))
        let writes = op.writes.total
        try await Task.sleep(for: .seconds(5))
        #expect(op.writes.total == writes, "writes during idle resync: \(op.writes.byOperation)")
        if let fake = cluster.fake {
            fake.clearRequests()
            try await Task.sleep(for: .seconds(3))
            #expect(fake.writeCount == 0)
        }
    }

    @Test(
        "deleting a network in the operator namespace deletes its NAD and releases the finalizer",
        arguments: Backend.available
    )
    func networkDeletion(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        try await ClusterSeeder(client: cluster.client).seed(try self.examplesSnapshot())
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: Logger(label: "test"))
        let running = Task { await op.run() }
        defer { running.cancel() }
        let networks = cluster.client.api(SriovNetwork.self, namespace: "sriov-network-operator")
        let nads = cluster.client.api(NetworkAttachmentDefinition.self, namespace: "telco-app")
        try await eventually("finalizer") { try await networks.get("data-net").metadata.finalizers.isEmpty == false }
        try await eventually("NAD") { try await nads.getIfPresent("data-net") != nil }
        try await networks.delete("data-net")
        try await eventually("NAD deleted") { try await nads.getIfPresent("data-net") == nil }
        try await eventually("network gone") { try await networks.getIfPresent("data-net") == nil }
    }
}
