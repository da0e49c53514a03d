import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovOperator
import SriovRender
import SriovTestKit

/// The operator against the fake API server on loopback: a synthetic cluster is seeded directly into the
/// server's store; then the clock runs from operator start until every NodeState has its rendered spec, the
/// ConfigMap and every node label are written, and the writes of the following idle resyncs are counted.
///
/// Reported per run: API writes (target ≤ 2 per node + the ConfigMap), process CPU seconds (operator and the
/// in-process fake server together), wall time, RSS growth from operator start to caches full (the caches and
/// the operator's working set; the fake server's store is already full before), and writes during idle.
enum OperatorBenchmark {
    struct Result {
        var nodes: Int
        var limited: Bool
        var writes: Int
        var cpuSeconds: Double
        var wallSeconds: Double
        var rssGrowthMB: Double
        var idleWrites: Int
    }

    /// Every node count with the rate limiter off, then at its defaults; a table at the end.
    static func matrix(nodeCounts: [Int], policies: Int) async {
        var results: [Result] = []
        for limited in [false, true] {
            for nodes in nodeCounts {
                do {
                    results.append(try await self.measure(nodes: nodes, policies: policies, limited: limited))
                } catch {
                    print("operator benchmark (\(nodes) nodes) failed: \(error)")
                }
            }
        }
        print("")
        print("operator, \(policies) policies, fake API server (HTTP/1.1 on loopback)")
        print(
            "nodes  rate limiter          API writes  writes/node  CPU s (op+fake)  wall s   RSS growth MB  idle writes"
        )
        for r in results {
            let limiter = r.limited ? "\(Int(TokenBucket.defaultQPS)) qps/\(TokenBucket.defaultBurst) burst" : "off"
            print(
                String(
                    format: "%5d  %-20@  %10d  %11.2f  %15.1f  %6.1f  %13.0f  %11d",
                    r.nodes,
                    limiter as NSString,
                    r.writes,
                    Double(r.writes - 1) / Double(r.nodes),
                    r.cpuSeconds,
                    r.wallSeconds,
                    r.rssGrowthMB,
                    r.idleWrites
                )
            )
        }
        if let small = results.first(where: { !$0.limited && $0.nodes == nodeCounts.min() }),
            let large = results.first(where: { !$0.limited && $0.nodes == nodeCounts.max() }),
            small.nodes != large.nodes
        {
            print(
                String(
                    format: "CPU ratio %d/%d nodes: %.2f× (linear would be %.1f×)",
                    large.nodes,
                    small.nodes,
                    large.cpuSeconds / small.cpuSeconds,
                    Double(large.nodes) / Double(small.nodes)
                )
            )
        }
    }

    /// The single run the default benchmark does (no rate limit).
    static func run(nodes nodeCount: Int, policies policyCount: Int) async throws {
        let r = try await self.measure(nodes: nodeCount, policies: policyCount, limited: false)
        print("")
        print("operator: \(nodeCount) nodes × 4 PFs, \(policyCount) policies, fake API server on loopback")
        print(
            String(
                format: "start → all written: %.1f s wall, %.1f s CPU, %d API writes, RSS +%.0f MB, idle writes %d",
                r.wallSeconds,
                r.cpuSeconds,
                r.writes,
                r.rssGrowthMB,
                r.idleWrites
            )
        )
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Resident set size in MB (`VmRSS` of /proc/self/status).
    static func rssMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kb / 1024
    }

    static func measure(nodes nodeCount: Int, policies policyCount: Int, limited: Bool) async throws -> Result {
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

        let limiter = limited ? TokenBucket(qps: TokenBucket.defaultQPS, burst: TokenBucket.defaultBurst) : nil
        let client = try KubeClient(config: KubeConfig(server: server.url), rateLimiter: limiter)
        let settings = OperatorSettings(namespace: ns, resyncPeriod: .seconds(3), policyDebounce: .milliseconds(10))
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let op = SriovOperator(client: client, settings: settings, logger: logger)
        server.clearRequests()
        let rssBefore = self.rssMB()
        let cpuBefore = self.cpuSeconds()
        let start = ContinuousClock.now
        let running = Task { await op.run() }
        var done = false
        while ContinuousClock.now - start < .seconds(900), !done {
            try await Task.sleep(for: .milliseconds(200))
            // The full check decodes every NodeState: done every 200 ms for the whole run it cost more CPU than the
            // operator (in this process, so counted as the operator's) and grew with nodes × wall time — the
            // "non-linear CPU at 50 qps" of earlier runs. Count writes first (a NodeState and a label per node,
            // the ConfigMap), and verify only once they are all in.
            guard server.writeCount >= 2 * nodeCount + 1 else { continue }
            var written = 0
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
            let configMap = server.object(path: "/api/v1/namespaces/\(ns)/configmaps/device-plugin-config")
            let labelled = server.objects(path: "/api/v1/nodes").filter {
                $0["metadata"]?["labels"]?["sriovnetwork.openshift.io/device-plugin"] != nil
            }.count
            done =
                written == nodeCount && (configMap?["data"]?.objectValue?.count ?? 0) == nodeCount
                && labelled == nodeCount
        }
        let elapsed = ContinuousClock.now - start
        let cpu = self.cpuSeconds() - cpuBefore
        let rss = self.rssMB() - rssBefore
        let writes = server.writeCount
        // Idle: let the operator settle, then count writes over two resync periods.
        try await Task.sleep(for: .seconds(2))
        server.clearRequests()
        try await Task.sleep(for: .seconds(7))
        let idle = server.writeCount
        running.cancel()
        _ = await running.value
        try? await client.shutdown()
        await server.stop()
        return Result(
            nodes: nodeCount,
            limited: limited,
            writes: writes,
            cpuSeconds: cpu,
            wallSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            rssGrowthMB: rss,
            idleWrites: idle
        )
    }
}
