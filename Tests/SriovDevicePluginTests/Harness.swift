import DevicePluginAPI
import Logging
import ServiceLifecycle
import SriovAPI
import SriovHost
import SriovTestKit

@testable import SriovDevicePlugin

#if canImport(Glibc)
import Glibc
#endif

/// The host of reference §3.6: PF `ens785f0` (8086:1572, i40e) with 4 iavf VFs (8086:154c, NUMA 0), a second
/// SR-IOV port `ens2f1` without VFs, the on-board `eno1` carrying the default route, and a ConnectX-6 Dx PF
/// `ens8f0` on NUMA 1 with 2 mlx5 VFs (RDMA devices `mlx5_100`, `mlx5_101`).
enum Fixture {
    static let pf = "0000:3b:00.0"
    static let pf2 = "0000:3b:00.1"
    static let vfs = ["0000:3b:01.0", "0000:3b:01.1", "0000:3b:01.2", "0000:3b:01.3"]
    static let mlxPF = "0000:d8:00.0"
    static let mlxVFs = ["0000:d8:01.0", "0000:d8:01.1"]

    static var profile: HostProfile {
        var intel = HostProfile.NIC(
            vendor: "8086",
            device: "1572",
            vfDevice: "154c",
            driver: "i40e",
            vfDriver: "iavf",
            totalVfs: 8,
            ports: [
                HostProfile.Port(pciAddress: Self.pf, name: "ens785f0", numVfs: 4),
                HostProfile.Port(pciAddress: Self.pf2, name: "ens2f1"),
            ]
        )
        intel.numa = 0
        var onboard = HostProfile.NIC(
            vendor: "8086",
            device: "1521",
            driver: "igb",
            ports: [HostProfile.Port(pciAddress: "0000:01:00.0", name: "eno1")]
        )
        onboard.numa = 0
        var mlx = HostProfile.NIC(
            vendor: "15b3",
            device: "101d",
            vfDevice: "101e",
            driver: "mlx5_core",
            vfDriver: "mlx5_core",
            totalVfs: 4,
            ports: [HostProfile.Port(pciAddress: Self.mlxPF, name: "ens8f0", numVfs: 2)]
        )
        mlx.numa = 1
        return HostProfile(name: "dp-fixture", nics: [intel, onboard, mlx])
    }

    /// Builds the host under a new temp directory; adds the default route, `/dev` nodes and RDMA char devices.
    static func host() throws -> (root: String, sysfs: SimulatedSysFS) {
        let root = try TempDir.make("dp-host")
        try SimulatedHost.create(profile: self.profile, at: root)
        let sysfs = try SimulatedSysFS(root: root)
        try sysfs.createFile(
            "/proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                + "eno1\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
                + "eno1\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
        )
        for node in ["/dev/vhost-net", "/dev/net/tun", "/dev/infiniband/rdma_cm"] {
            try sysfs.createFile(node, "")
        }
        for (i, rdma) in ["mlx5_100", "mlx5_101"].enumerated() {
            try sysfs.createFile("/sys/class/infiniband_verbs/uverbs\(i)/ibdev", rdma + "\n")
            try sysfs.createFile("/sys/class/infiniband_mad/umad\(i)/ibdev", rdma + "\n")
        }
        return (root, sysfs)
    }

    static func rebind(_ sysfs: SimulatedSysFS, _ vf: String, from old: String, to driver: String) throws {
        try sysfs.write("/sys/bus/pci/devices/\(vf)/driver_override", driver)
        try sysfs.write("/sys/bus/pci/drivers/\(old)/unbind", vf)
        try sysfs.write("/sys/bus/pci/drivers_probe", vf)
    }
}

enum TempDir {
    static func make(_ name: String) throws -> String {
        var template = Array("/tmp/\(name)-XXXXXX".utf8CString)
        let path: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base).map { String(cString: $0) }
        }
        guard let path else { throw FakeKubeletError(message: "mkdtemp failed: errno \(errno)") }
        return path
    }

    static func remove(_ path: String) {
        try? LinuxSysFS(root: "/").remove(path)
    }
}

/// A ConfigMap-style mount: `config.json -> ..data/config.json`, `..data -> ..<n>`; updates swap `..data`
/// atomically with a rename, as the kubelet does.
struct ConfigMapDir {
    let directory: String
    var file: String { self.directory + "/config.json" }

    init(directory: String) { self.directory = directory }

    func write(_ text: String, generation: Int) throws {
        let fs = LinuxSysFS(root: "/")
        let dataDir = "..\(generation)"
        try fs.createFile(self.directory + "/" + dataDir + "/config.json", text)
        let temp = self.directory + "/..data_tmp"
        unlink(temp)
        guard symlink(dataDir, temp) == 0, rename(temp, self.directory + "/..data") == 0 else {
            throw FakeKubeletError(message: "cannot swap ..data: errno \(errno)")
        }
        if !fs.exists(self.file) {
            guard symlink("..data/config.json", self.file) == 0 else {
                throw FakeKubeletError(message: "cannot link config.json: errno \(errno)")
            }
        }
    }
}

/// A running plugin on a simulated host with a fake kubelet.
struct PluginEnv: Sendable {
    let root: String
    let sysfs: SimulatedSysFS
    let kubelet: FakeKubelet
    let plugin: DevicePlugin
    let config: ConfigMapDir
    let devinfoDir: String
    let cdiDir: String
    let group: ServiceGroup

    /// Waits for the resource's latest list to satisfy `condition`.
    /// How many times the kubelet accepted a Register for `resource`. Tests compare counts before and after an
    /// event instead of asserting 1: on a heavily loaded machine a Register that timed out on the plugin's side
    /// may still have reached the kubelet, and the plugin's retry is then a second (harmless) registration.
    /// The count is taken once the plugin itself saw its Register succeed, so no retry is still pending.
    func registrations(_ resource: String) async throws -> Int {
        try await self.kubelet.wait("\(resource) registered on the plugin's side") { _ in
            self.plugin.servers[resource]?.isRegistered == true
        }
        return self.kubelet.registrations.filter { $0.resourceName == resource }.count
    }

    func waitForList(
        _ resource: String,
        _ what: String,
        _ condition: @escaping @Sendable ([FakeKubeletDevice]) -> Bool
    ) async throws {
        try await self.kubelet.wait(what) { k in
            guard let devices = k.resource(resource)?.devices else { return false }
            return condition(
                devices.map {
                    FakeKubeletDevice(
                        id: $0.id,
                        health: $0.health,
                        numa: $0.hasTopology ? $0.topology.nodes.map(\.id) : nil
                    )
                }
            )
        }
    }
}

struct FakeKubeletDevice: Sendable, Equatable {
    var id: String
    var health: String
    var numa: [Int64]?
}

extension Logger {
    static let test: Logger = {
        var logger = Logger(label: "test.device-plugin")
        logger.logLevel = getenv("SRIOV_TEST_LOG") != nil ? .debug : .critical
        return logger
    }()
}

/// Runs a plugin with `config` against the fixture host and a fake kubelet, then shuts the plugin down
/// gracefully and removes the temp directories.
func withPlugin(
    config: String,
    mode: FakeKubelet.Mode = .legacy,
    useCDI: Bool = false,
    prefix: String = "intel.com",
    prepare: @Sendable (SimulatedSysFS) throws -> Void = { _ in },
    configureKubelet: @Sendable (FakeKubelet) -> Void = { _ in },
    _ body: @Sendable (PluginEnv) async throws -> Void
) async throws {
    let (root, sysfs) = try Fixture.host()
    try prepare(sysfs)
    let work = try TempDir.make("dp")
    defer {
        TempDir.remove(root)
        TempDir.remove(work)
    }
    let configMap = ConfigMapDir(directory: work + "/pcidp")
    try configMap.write(config, generation: 1)
    var options = DevicePlugin.Options()
    options.configFile = configMap.file
    options.resourcePrefix = prefix
    options.useCDI = useCDI
    options.hostRoot = root
    options.kubeletDir = work + "/kubelet"
    options.deviceInfoDir = work + "/devinfo"
    options.cdiDir = work + "/cdi"
    options.mode = mode == .legacy ? .legacy : .watcher
    options.timing.poll = .milliseconds(20)
    options.timing.rescan = .seconds(1)
    options.timing.socketCheck = .milliseconds(50)
    options.timing.registrationRetry = .milliseconds(100)
    let plugin = DevicePlugin(options: options, sysfs: sysfs, logger: .test)
    let devinfoDir = options.deviceInfoDir
    let cdiDir = options.cdiDir
    try await withFakeKubelet(directory: work + "/kubelet", mode: mode) { kubelet in
        configureKubelet(kubelet)
        let group = ServiceGroup(services: [plugin], logger: .test)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let env = PluginEnv(
                root: root,
                sysfs: sysfs,
                kubelet: kubelet,
                plugin: plugin,
                config: configMap,
                devinfoDir: devinfoDir,
                cdiDir: cdiDir,
                group: group
            )
            do {
                try await body(env)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
