import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovDaemon
import SriovHost
import SriovTestKit

/// The config daemon against the fake API server on loopback, on a simulated 4 PF × 64 VF host:
/// spec change → `Succeeded` latency, API requests of an idle daemon, and the resident size of a real
/// `sriov daemon` process at idle (when the `sriov` binary was built next to `sriov-bench`).
enum DaemonBenchmark {
    static let ns = "sriov-network-operator"
    static let statesPath =
        "/apis/sriovnetwork.openshift.io/v1/namespaces/sriov-network-operator/sriovnetworknodestates"

    static func run(profile: HostProfile, spec: SriovNetworkNodeState.Spec) async throws {
        print("")
        print("daemon: simulated 4 PFs × 64 VFs, fake API server on loopback")
        let server = try await FakeAPIServer.start(.init(requiresNamespaces: false))
        defer { Task { await server.stop() } }
        let client = try KubeClient(config: KubeConfig(server: server.url))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-bench-daemon-\(UUID().uuidString)"
        )
        .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SimulatedHost.create(profile: profile, at: root)
        try self.seed(server, node: "bench-node")

        var settings = DaemonSettings(nodeName: "bench-node", hostRoot: root, resync: .seconds(5), driverRetries: 1)
        settings.waitPoll = .milliseconds(200)
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let daemon = SriovDaemon(
            settings: settings,
            source: KubernetesNodeStateSource(
                client: client,
                namespace: self.ns,
                nodeName: "bench-node",
                logger: quiet
            ),
            host: try NodeHost.open(root: root),
            logger: quiet
        )
        let running = Task { await daemon.runUntilCancelled() }
        defer { running.cancel() }
        let states = client.api(SriovNetworkNodeState.self, namespace: self.ns)
        try await self.until(timeout: .seconds(60)) {
            try await states.get("bench-node").status.syncStatus == "Succeeded"
        }

        // Spec change: 0 → 4 × 64 VFs with two driver groups per PF.
        var state = try await states.get("bench-node")
        state.spec = spec
        let start = ContinuousClock.now
        _ = try await states.update(state)
        try await self.until(timeout: .seconds(300)) {
            let current = try await states.get("bench-node")
            return current.status.syncStatus == "Succeeded" && current.status.interfaces.allSatisfy { $0.numVfs == 64 }
        }
        let elapsed = ContinuousClock.now - start
        print(self.line("spec change → Succeeded (0 → 256 VFs, vfio-pci + netdevice)", elapsed))

        // Idle: requests over several resync periods.
        try await Task.sleep(for: .seconds(2))
        server.clearRequests()
        let window = Duration.seconds(15)
        try await Task.sleep(for: window)
        let requests = server.requests
        let passes = 3.0
        let perPass = Double(requests.filter { !$0.isWatch }.count) / passes
        print(
            "idle, resync 5 s, 15 s window: \(requests.count) requests (\(requests.filter(\.isWrite).count) writes); "
                + "\(String(format: "%.1f", perPass)) GETs per pass → \(String(format: "%.0f", perPass * 2)) API calls/min at the 30 s default"
        )
        running.cancel()
        await running.value
        try? await client.shutdown()
        try await self.processRSS(server: server, profile: profile, spec: spec)
    }

    static func seed(_ server: FakeAPIServer, node: String) throws {
        let encoder = ValueEncoder()
        try server.put(
            ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(self.ns)]],
            path: "/api/v1/namespaces"
        )
        try server.put(try encoder.encode(Node(name: node)), path: "/api/v1/nodes")
        var state = SriovNetworkNodeState(metadata: ObjectMeta(name: node, namespace: self.ns))
        state.metadata.annotations = [
            SriovNetworkNodeState.Annotation.desiredState: "Idle",
            SriovNetworkNodeState.Annotation.currentState: "Idle",
        ]
        try server.put(try encoder.encode(state), path: self.statesPath)
    }

    /// RSS of a real `sriov daemon` process, configured and idle.
    static func processRSS(server: FakeAPIServer, profile: HostProfile, spec: SriovNetworkNodeState.Spec) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "sriov"
        )
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            print("daemon RSS: skipped (build the sriov binary too: swift build -c release --product sriov)")
            return
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-bench-rss-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SimulatedHost.create(profile: profile, at: root)
        try self.seed(server, node: "rss-node")
        guard let stored = server.object(path: self.statesPath + "/rss-node") else {
            throw FakeAPIServerError("rss-node NodeState was not stored")
        }
        var state = try ValueDecoder(rejectsUnknownFields: false).decode(SriovNetworkNodeState.self, from: stored)
        state.spec = spec
        _ = try server.put(try ValueEncoder().encode(state), path: self.statesPath)
        let kubeconfig = root + "/kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: fake, cluster: {server: "\(server.url)"}}]
        users: [{name: fake, user: {}}]
        contexts: [{name: fake, context: {cluster: fake, user: fake}}]
        current-context: fake
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["daemon", "--kubeconfig", kubeconfig, "--node-name", "rss-node", "--host-root", root]
        process.environment = ["SRIOV_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let client = try KubeClient(config: KubeConfig(server: server.url))
        defer { Task { try? await client.shutdown() } }
        let states = client.api(SriovNetworkNodeState.self, namespace: self.ns)
        try await self.until(timeout: .seconds(300)) {
            let current = try await states.get("rss-node")
            return current.status.syncStatus == "Succeeded" && current.status.interfaces.allSatisfy { $0.numVfs == 64 }
        }
        try await Task.sleep(for: .seconds(3))
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.map(String.init) ?? "VmRSS: ?"
        print(
            "daemon RSS at idle after configuring 256 VFs (sriov daemon process): \(rss.dropFirst(6).trimmingCharacters(in: .whitespaces)) (target < 30 MB; upstream 60–100 MB)"
        )
    }

    static func until(timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw FakeAPIServerError("benchmark condition not reached within \(timeout)")
    }

    static func line(_ label: String, _ elapsed: Duration) -> String {
        let ms = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        return "\(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%8.2f", ms)) ms"
    }
}
