import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovOperator
import SriovRender
import SriovTestKit

/// The operator against the fake API server on loopback: a synthetic cluster is seeded directly into the
/// server's store; then the clock runs from operator start until every NodeState has its rendered spec,
/// and the writes of the following idle resyncs are counted.
enum OperatorBenchmark {
    static func run(nodes nodeCount: Int, policies policyCount: Int) async throws {
        print("")
        print("operator: \(nodeCount) nodes × 4 PFs, \(policyCount) policies, fake API server on loopback (HTTP/1.1)")
        let server = try await FakeAPIServer.start(.init(requiresNamespaces: false))
        let cluster = SyntheticCluster(nodeCount: nodeCount, policyCount: policyCount)
        let encoder = ValueEncoder()
        let ns = "sriov-network-operator"
        try server.put(
            ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]],
            path: "/api/v1/namespaces"
        )
        for node in cluster.snapshot.nodes {
            try server.put(try encoder.encode(node), path: "/api/v1/nodes")
        }
        for state in cluster.snapshot.nodeStates {
            try server.put(
                try encoder.encode(state),
                path: "/apis/sriovnetwork.openshift.io/v1/namespaces/\(ns)/sriovnetworknodestates"
            )
        }
        for policy in cluster.snapshot.policies {
            var p = policy
            p.applyAdmissionDefaults()
            try server.put(
                try encoder.encode(p),
                path: "/apis/sriovnetwork.openshift.io/v1/namespaces/\(ns)/sriovnetworknodepolicies"
            )
        }
        for config in cluster.snapshot.operatorConfigs {
            try server.put(
                try encoder.encode(config),
                path: "/apis/sriovnetwork.openshift.io/v1/namespaces/\(ns)/sriovoperatorconfigs"
            )
        }
        let expected = OperatorPlan.make(
            snapshot: cluster.snapshot,
            options: RenderOptions(),
            estimatingDisruptions: false
        )
        let expectedSpecs = Dictionary(uniqueKeysWithValues: expected.nodeStates.map { ($0.node, $0.state.spec) })
        let statePath = "/apis/sriovnetwork.openshift.io/v1/namespaces/\(ns)/sriovnetworknodestates"

        let client = try KubeClient(config: KubeConfig(server: server.url))
        let settings = OperatorSettings(namespace: ns, resyncPeriod: .seconds(3), policyDebounce: .milliseconds(10))
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let op = SriovOperator(client: client, settings: settings, logger: logger)
        server.clearRequests()
        let start = ContinuousClock.now
        let running = Task { await op.run() }
        var written = 0
        while ContinuousClock.now - start < .seconds(600) {
            written = 0
            for object in server.objects(path: statePath) {
                guard let name = object["metadata"]?["name"]?.stringValue, let spec = object["spec"],
                    let decoded = try? ValueDecoder(rejectsUnknownFields: false).decode(
                        SriovNetworkNodeState.Spec.self,
                        from: spec
                    ),
                    decoded == expectedSpecs[name]
                else { continue }
                written += 1
            }
            // Done when every NodeState, the ConfigMap and every node label are as planned.
            let configMap = server.object(path: "/api/v1/namespaces/\(ns)/configmaps/device-plugin-config")
            let labelled = server.objects(path: "/api/v1/nodes").filter {
                $0["metadata"]?["labels"]?["sriovnetwork.openshift.io/device-plugin"] != nil
            }.count
            if written == nodeCount, (configMap?["data"]?.objectValue?.count ?? 0) == nodeCount, labelled == nodeCount {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let elapsed = ContinuousClock.now - start
        let millis = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        let label = "start → all NodeStates, ConfigMap, labels written".padding(
            toLength: 58,
            withPad: " ",
            startingAt: 0
        )
        print("\(label) \(String(format: "%8.0f", millis)) ms  (\(server.writeCount) API writes)")
        // Idle: let two resync periods pass and count writes.
        try await Task.sleep(for: .seconds(1))
        server.clearRequests()
        let before = op.writes.total
        try await Task.sleep(for: .seconds(7))
        let idleLabel = "API writes during 7 s idle (≥ 2 resyncs)".padding(toLength: 58, withPad: " ", startingAt: 0)
        print(
            "\(idleLabel) \(String(format: "%8d", server.writeCount))  (operator counter: \(op.writes.total - before))"
        )
        running.cancel()
        _ = await running.value
        try? await client.shutdown()
        await server.stop()
    }
}
