import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovOperator

@Suite("Drain coordination", .serialized)
struct DrainIntegrationTests {
    func pod(_ name: String, node: String, resource: String?) -> Pod {
        var resources: Pod.Resources?
        if let resource { resources = .init(requests: [resource: "1"], limits: [resource: "1"]) }
        return Pod(
            metadata: ObjectMeta(name: name, namespace: "default"),
            spec: .init(
                nodeName: node,
                containers: [.init(name: "c", image: "busybox", resources: resources)],
                automountServiceAccountToken: false
            )
        )
    }

    @Test(
        "Drain_Required: one node of the default pool at a time, cordon, evict only SR-IOV pods, uncordon on Idle",
        arguments: Backend.available
    )
    func drain(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        defer { Task { await cluster.stop() } }
        var snapshot = ClusterSnapshot()
        snapshot.namespaces = [Namespace(name: "sriov-network-operator")]
        snapshot.nodes = [Node.worker("w1"), Node.worker("w2")]
        snapshot.operatorConfigs = [
            SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"))
        ]
        snapshot.nodeStates = ["w1", "w2"].map { name in
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
            _ = try await cluster.client.perform(
                KubeRequest(
                    method: "POST",
                    path: "/api/v1/namespaces/default/serviceaccounts",
                    body: Array(#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}"#.utf8),
                    verb: "create",
                    resource: "serviceaccounts default/default"
                )
            )
        }
        let pods = cluster.client.api(Pod.self, namespace: "default")
        _ = try await pods.create(self.pod("dpdk-app", node: "w1", resource: "openshift.io/intel_dpdk"))
        _ = try await pods.create(self.pod("web", node: "w1", resource: nil))
        let op = SriovOperator(
            client: cluster.client,
            settings: OperatorSettings(resyncPeriod: .seconds(2), policyDebounce: .milliseconds(50)),
            logger: Logger(label: "test")
        )
        let running = Task { await op.run() }
        defer { running.cancel() }
        let nodes = cluster.client.api(Node.self)
        let states = cluster.client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
        try await eventually("annotations initialised") {
            try await nodes.get("w1").metadata.annotations[DrainState.nodeAnnotation] == DrainState.idle
        }
        // Both daemons ask for a drain; the default pool allows one at a time.
        for name in ["w1", "w2"] {
            _ = try await nodes.mergePatch(
                name,
                ["metadata": ["annotations": [DrainState.nodeAnnotation: .string(DrainState.drainRequired)]]]
            )
        }
        func current(_ name: String) async throws -> String? {
            try await states.get(name).metadata.annotations[SriovNetworkNodeState.Annotation.currentState]
        }
        try await eventually("one node drained") {
            let a = try await current("w1")
            let b = try await current("w2")
            return (a == DrainState.drainComplete) != (b == DrainState.drainComplete)
        }
        let first = try await current("w1") == DrainState.drainComplete ? "w1" : "w2"
        let second = first == "w1" ? "w2" : "w1"
        #expect(try await current(second) == DrainState.idle)
        #expect(try await nodes.get(first).spec?.unschedulable == true)
        if first == "w1" {
            try await eventually("SR-IOV pod evicted") {
                let pod = try await pods.getIfPresent("dpdk-app")
                return pod == nil || pod?.metadata.deletionTimestamp != nil
            }
            #expect(try await pods.get("web").metadata.deletionTimestamp == nil)
        }
        // The first daemon finishes: uncordon, Idle, and the second node gets its turn.
        _ = try await nodes.mergePatch(
            first,
            ["metadata": ["annotations": [DrainState.nodeAnnotation: .string(DrainState.idle)]]]
        )
        try await eventually("first uncordoned") {
            let node = try await nodes.get(first)
            return node.spec?.unschedulable != true
        }
        try await eventually("first back to Idle") { try await current(first) == DrainState.idle }
        try await eventually("second drained") { try await current(second) == DrainState.drainComplete }
    }
}
