import Foundation
import KubeClient
import KubeCore
import SriovAPI
import SriovRender
import SriovTestKit
import Testing

@testable import SriovOperator

/// The built `sriov` executable next to the test bundle (`swift build --build-tests` builds it too).
private let sriovBinary: String? = {
    let root = RealAPIServer.repositoryRoot.appendingPathComponent(".build")
    for candidate in ["debug/sriov", "x86_64-unknown-linux-gnu/debug/sriov", "aarch64-unknown-linux-gnu/debug/sriov"] {
        let path = root.appendingPathComponent(candidate).path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}()

private let examplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

/// One `sriov operator` process.
final class Replica {
    let process = Process()
    let name: String
    let healthPort: Int
    let metricsPort: Int

    init(name: String, binary: String, kubeconfig: String, directory: String) throws {
        self.name = name
        self.healthPort = freePort()
        self.metricsPort = freePort()
        self.process.executableURL = URL(fileURLWithPath: binary)
        self.process.arguments = [
            "operator", "--kubeconfig", kubeconfig, "--health-port", String(self.healthPort), "--metrics-port",
            String(self.metricsPort), "--leader-elect-lease-duration", "4", "--leader-elect-renew-deadline", "3",
            "--leader-elect-retry-period", "1", "--resync-seconds", "5",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["POD_NAME"] = name
        environment["SRIOV_LOG_LEVEL"] = "info"
        self.process.environment = environment
        let log = directory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        self.process.standardOutput = handle
        self.process.standardError = handle
        try self.process.run()
    }

    func signal(_ number: Int32) { kill(self.process.processIdentifier, number) }

    func stop() {
        if self.process.isRunning {
            self.signal(SIGCONT)
            self.process.terminate()
            self.process.waitUntilExit()
        }
    }

    func scrape() async throws -> PrometheusText {
        let (code, text) = try await httpGet("http://127.0.0.1:\(self.metricsPort)", path: "/metrics")
        guard code == 200 else {
            throw KubeError(status: code, reason: "", message: text, verb: "get", resource: "/metrics")
        }
        return try PrometheusText.parse(text)
    }

    func leading() async -> Bool {
        (try? await self.scrape().value("leader_election_master_status", ["name": OperatorService.leaseName])) == 1
    }

    func ready() async -> Bool { (try? await httpGet("http://127.0.0.1:\(self.healthPort)", path: "/readyz").0) == 200 }
}

@Suite("Two operator processes on a real kube-apiserver", .serialized)
struct TwoReplicaTests {
    @Test(
        "a frozen leader loses the lease to the standby, stands by when it wakes, and leads again (fresh term) later",
        .enabled(
            if: RealAPIServer.isAvailable && sriovBinary != nil,
            "needs the real kube-apiserver and a built sriov"
        ),
        .timeLimit(.minutes(3))
    )
    func failover() async throws {
        let binary = try #require(sriovBinary)
        let server = try RealAPIServer.start()
        defer { server.stop() }
        let client = try KubeClient(config: try KubeConfig.load(path: server.kubeconfigPath))
        defer { Task { try? await client.shutdown() } }
        let seeder = ClusterSeeder(client: client)
        try await seeder.installCRDs(CustomResourceDefinitions.all)
        try await seeder.installCRDs([ClusterSeeder.networkAttachmentDefinitionCRD])
        var (snapshot, _) = ClusterSnapshot.decode(try ManifestReader.read(paths: [examplesDirectory]))
        if !snapshot.namespaces.contains(where: { $0.metadata.name == "sriov-network-operator" }) {
            snapshot.namespaces.append(Namespace(name: "sriov-network-operator"))
        }
        try await seeder.seed(snapshot)
        let leases = client.api(Lease.self, namespace: "sriov-network-operator")
        func holder() async throws -> String {
            try await leases.get(OperatorService.leaseName).spec.holderIdentity ?? ""
        }

        let a = try Replica(
            name: "replica-a",
            binary: binary,
            kubeconfig: server.kubeconfigPath,
            directory: server.directory
        )
        defer { a.stop() }
        try await eventually("a leads", timeout: .seconds(30)) { try await holder().hasPrefix("replica-a-") }
        let b = try Replica(
            name: "replica-b",
            binary: binary,
            kubeconfig: server.kubeconfigPath,
            directory: server.directory
        )
        defer { b.stop() }
        try await eventually("both ready (b as standby)", timeout: .seconds(30)) {
            let readyA = await a.ready()
            let readyB = await b.ready()
            return readyA && readyB
        }
        #expect(await b.leading() == false)

        a.signal(SIGSTOP)
        try await eventually("b takes over from the frozen a", timeout: .seconds(30)) {
            try await holder().hasPrefix("replica-b-")
        }
        a.signal(SIGCONT)
        try await eventually("a, awake, stands by", timeout: .seconds(20)) {
            let leading = await a.leading()
            return !leading
        }
        #expect(try await holder().hasPrefix("replica-b-"))
        #expect(await a.ready())

        b.stop()
        try await eventually("a leads again", timeout: .seconds(30)) {
            let held = try await holder().hasPrefix("replica-a-")
            let leading = await a.leading()
            return held && leading
        }
        // The new term works: a node added now gets its NodeState.
        _ = try await client.api(Node.self).create(Node.worker("after-failover"))
        let states = client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
        try await eventually("second term renders", timeout: .seconds(30)) {
            try await states.getIfPresent("after-failover") != nil
        }
        try await eventually("a ready as leader") { await a.ready() }
    }
}
