import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovDaemon
import SriovHost
import SriovOperator
import SriovRender
import SriovTestKit
import Synchronization
import Testing

/// The API server of one test: the fake on loopback, or (when built on this machine) a real
/// kube-apiserver with etcd. The same test bodies run against both.
struct TestCluster {
    let client: KubeClient
    let fake: FakeAPIServer?
    let stop: @Sendable () async -> Void

    static func start(_ backend: Backend) async throws -> TestCluster {
        switch backend {
        case .fake:
            let server = try await FakeAPIServer.start()
            let client = try KubeClient(config: KubeConfig(server: server.url))
            return TestCluster(client: client, fake: server) {
                try? await client.shutdown()
                await server.stop()
            }
        case .real:
            let server = try RealAPIServer.start()
            let client = try KubeClient(config: try KubeConfig.load(path: server.kubeconfigPath))
            do {
                try await ClusterSeeder(client: client).installCRDs(
                    CustomResourceDefinitions.all + [ClusterSeeder.networkAttachmentDefinitionCRD]
                )
            } catch {
                try? await client.shutdown()
                server.stop()
                throw error
            }
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

let namespace = "sriov-network-operator"

/// A simulated worker: a host tree in a temp directory with one dual-port Intel NIC (8 VFs per port).
struct SimulatedNode: Sendable {
    static let pf0 = "0000:3b:00.0"
    static let pf1 = "0000:3b:00.1"

    let name: String
    let root: String

    static func make(
        _ name: String,
        cmdline: String = "BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt"
    ) throws
        -> SimulatedNode
    {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-daemon-\(name)-\(UUID().uuidString.prefix(8))"
        ).path
        let nic = HostProfile.NIC(
            vendor: "8086",
            device: "159b",
            vfDevice: "1889",
            driver: "ice",
            vfDriver: "iavf",
            totalVfs: 8,
            ports: [
                .init(pciAddress: Self.pf0, name: "ens1f0", mac: "b4:96:91:a5:c7:20"),
                .init(pciAddress: Self.pf1, name: "ens1f1", mac: "b4:96:91:a5:c7:21"),
            ]
        )
        try SimulatedHost.create(profile: HostProfile(name: name, nics: [nic], cmdline: cmdline), at: root)
        return SimulatedNode(name: name, root: root)
    }

    var host: NodeHost { get throws { try NodeHost.open(root: self.root) } }
    var sysfs: SimulatedSysFS { get throws { try SimulatedSysFS(root: self.root) } }

    func numVfs(_ pf: String) -> Int {
        (try? LinuxSysFS(root: self.root).readInt("/sys/bus/pci/devices/\(pf)/sriov_numvfs")) ?? -1
    }

    /// The driver of each VF of `pf`, by VF index ("" when unbound).
    func vfDrivers(_ pf: String) -> [String] {
        let fs = LinuxSysFS(root: self.root)
        return (0..<self.numVfs(pf)).map { index in
            guard let vf = try? fs.linkBasename("/sys/bus/pci/devices/\(pf)/virtfn\(index)") else { return "?" }
            return (try? fs.linkBasename("/sys/bus/pci/devices/\(vf)/driver")) ?? ""
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: self.root) }
}

/// The operator and the daemons of one test, each a cancellable task.
final class TestDeployment: Sendable {
    let cluster: TestCluster
    let operatorTask = Mutex<Task<Void, Never>?>(nil)
    let daemons = Mutex<[String: Task<Void, Never>]>([:])

    init(cluster: TestCluster) { self.cluster = cluster }

    static func start(
        _ backend: Backend,
        nodes: [SimulatedNode],
        pools: [SriovNetworkPoolConfig] = []
    ) async throws
        -> TestDeployment
    {
        let cluster = try await TestCluster.start(backend)
        var snapshot = ClusterSnapshot()
        snapshot.namespaces = [Namespace(name: namespace)]
        snapshot.nodes = nodes.map { Node.worker($0.name) }
        snapshot.operatorConfigs = [
            SriovOperatorConfig(metadata: ObjectMeta(name: SriovOperatorConfig.defaultName, namespace: namespace))
        ]
        snapshot.poolConfigs = pools
        do {
            try await ClusterSeeder(client: cluster.client).seed(snapshot)
        } catch {
            await cluster.stop()
            throw error
        }
        let deployment = TestDeployment(cluster: cluster)
        let op = SriovOperator(
            client: cluster.client,
            settings: OperatorSettings(resyncPeriod: .seconds(2), policyDebounce: .milliseconds(50)),
            logger: Logger(label: "test.operator")
        )
        deployment.operatorTask.withLock { $0 = Task { await op.run() } }
        return deployment
    }

    static func settings(_ node: SimulatedNode) -> DaemonSettings {
        DaemonSettings(
            nodeName: node.name,
            namespace: namespace,
            hostRoot: node.root,
            resync: .seconds(30),
            waitPoll: .milliseconds(500),
            backoffBase: .milliseconds(200),
            backoffMax: .seconds(2),
            driverRetries: 1
        )
    }

    /// Starts (or restarts) the daemon of `node`.
    func startDaemon(
        _ node: SimulatedNode,
        settings: DaemonSettings? = nil,
        clock: any Clock<Duration> = ContinuousClock()
    ) throws {
        let source = KubernetesNodeStateSource(
            client: self.cluster.client,
            namespace: namespace,
            nodeName: node.name,
            logger: Logger(label: "test.daemon.\(node.name)")
        )
        let daemon = SriovDaemon(
            settings: settings ?? Self.settings(node),
            source: source,
            host: try node.host,
            clock: clock,
            logger: Logger(label: "test.daemon.\(node.name)")
        )
        let task = Task { await daemon.runUntilCancelled() }
        self.daemons.withLock { $0[node.name] = task }
    }

    /// Stops the daemon of `node` and waits until it has stopped.
    func stopDaemon(_ name: String) async {
        guard let task = self.daemons.withLock({ $0.removeValue(forKey: name) }) else { return }
        task.cancel()
        await task.value
    }

    func stop() async {
        for name in self.daemons.withLock({ Array($0.keys) }) { await self.stopDaemon(name) }
        if let task = self.operatorTask.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        await self.cluster.stop()
    }

    var states: Api<SriovNetworkNodeState> { self.cluster.client.api(SriovNetworkNodeState.self, namespace: namespace) }
    var policies: Api<SriovNetworkNodePolicy> {
        self.cluster.client.api(SriovNetworkNodePolicy.self, namespace: namespace)
    }

    func state(_ node: String) async throws -> SriovNetworkNodeState { try await self.states.get(node) }

    /// Waits until the node reports Succeeded for its current generation with `check` holding on the host.
    func waitSucceeded(
        _ node: SimulatedNode,
        _ what: String,
        timeout: Duration = .seconds(90),
        _ check: @escaping (SimulatedNode, SriovNetworkNodeState) -> Bool = { _, _ in true }
    ) async throws {
        try await eventually("\(node.name): \(what)", timeout: timeout) {
            let state = try await self.state(node.name)
            return state.status.syncStatus == SyncStatus.succeeded && !state.spec.interfaces.isEmpty
                && check(node, state)
        }
    }
}
