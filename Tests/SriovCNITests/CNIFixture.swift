import Foundation
import KubeCore
import SriovAPI
import SriovCNI
import SriovHost
import Testing

/// One SR-IOV host for a CNI test, as real as this machine allows:
/// - a simulated sysfs tree (``SimulatedHost``) with PF `<pf>` (MTU 9000) and two VFs, so PF/VF resolution from a
///   `deviceID` runs the real code; the PF-side VF attributes live in ``SimulatedVFControl``'s state beside it;
/// - a real network namespace standing in for the host (`hostNS`), holding a veth `<pf>v<n>` per kernel VF (the VF
///   netdev), and a real pod namespace (`podNS`);
/// - its own state directory and host-local data directory.
/// Every name is unique, and ``tearDown()`` removes everything.
final class CNIFixture {
    let id: String
    let root: String
    let stateDir: String
    let ipamDir: String
    let pf: String
    let hostNS: String
    var podNS: String
    static let pfAddress = "0000:3b:00.0"

    static func vfAddress(_ n: Int) -> String { "0000:3b:01.\(n)" }
    func vfNetdev(_ n: Int) -> String { "\(self.pf)v\(n)" }
    static func path(_ ns: String) -> String { "/var/run/netns/\(ns)" }

    init(kernelVFs: [Int] = [1]) throws {
        self.id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        self.root = NSTemporaryDirectory() + "sriov-cni-\(self.id)"
        self.stateDir = self.root + "-state"
        self.ipamDir = self.root + "-ipam"
        self.pf = "t" + String(self.id.prefix(6))
        self.hostNS = "cnih-\(self.id)"
        self.podNS = "cnip-\(self.id)"
        var port = HostProfile.Port(pciAddress: Self.pfAddress, name: self.pf, numVfs: 2)
        port.mtu = 9000
        let nic = HostProfile.NIC(
            vendor: "8086",
            device: "1592",
            vfDevice: "1889",
            driver: "ice",
            vfDriver: "iavf",
            totalVfs: 8,
            ports: [port]
        )
        try SimulatedHost.create(profile: HostProfile(name: "cni-\(self.id)", nics: [nic]), at: self.root)
        try Self.ip(["netns", "add", self.hostNS])
        try Self.ip(["netns", "add", self.podNS])
        for n in kernelVFs {
            try self.ipHost(["link", "add", self.vfNetdev(n), "type", "veth", "peer", "name", "\(self.pf)p\(n)"])
            try self.ipHost(["link", "set", self.vfNetdev(n), "address", "7e:11:22:33:44:5\(n)"])
        }
    }

    func tearDown() {
        _ = try? Self.ip(["netns", "delete", self.hostNS])
        _ = try? Self.ip(["netns", "delete", self.podNS])
        for dir in [self.root, self.stateDir, self.ipamDir] { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Binds VF `n` to vfio-pci in the simulated tree (a DPDK VF: no netdev).
    func bindToVFIO(_ n: Int) throws {
        let sysfs = try SimulatedSysFS(root: self.root)
        let address = Self.vfAddress(n)
        try sysfs.write("/sys/bus/pci/drivers/iavf/unbind", address)
        try sysfs.write("/sys/bus/pci/devices/\(address)/driver_override", "vfio-pci")
        try sysfs.write("/sys/bus/pci/drivers_probe", address)
    }

    var vfControl: SimulatedVFControl { SimulatedVFControl(root: self.root) }

    func vf(_ n: Int) throws -> VFInfo { try self.vfControl.vf(n, pf: self.pf) }

    func plugin(hangAt: String = "") -> SriovCNIPlugin {
        SriovCNIPlugin(
            stateDirectory: self.stateDir,
            sysfs: LinuxSysFS(root: self.root),
            vfControl: self.vfControl,
            lockTimeout: .seconds(20),
            hangAt: hangAt
        )
    }

    /// A NetConf for VF `n` with `extra` keys merged in; `ipam: true` adds host-local on 10.56.217.0/24.
    func conf(vf n: Int = 1, ipam: Bool = false, version: String = "1.0.0", _ extra: String = "") -> String {
        var text = #"{"cniVersion":"\#(version)","name":"sriov-net","type":"sriov","deviceID":"\#(Self.vfAddress(n))""#
        if ipam {
            text +=
                #","ipam":{"type":"host-local","subnet":"10.56.217.0/24","gateway":"10.56.217.1","#
                + #""routes":[{"dst":"0.0.0.0/0"}],"dataDir":"\#(self.ipamDir)"}"#
        }
        if !extra.isEmpty { text += "," + extra }
        return text + "}"
    }

    func environment(
        _ command: String,
        containerID: String = "c1",
        ifName: String = "net1",
        netns: String? = nil,
        args: String = ""
    ) -> [String: String] {
        var env: [String: String] = [
            "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": netns ?? Self.path(self.podNS),
            "CNI_IFNAME": ifName, "CNI_PATH": "/usr/lib/cni", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        if !args.isEmpty { env["CNI_ARGS"] = args }
        return env
    }

    /// Runs the library inside the host namespace.
    func run(
        _ command: String,
        _ stdin: String,
        containerID: String = "c1",
        ifName: String = "net1",
        netns: String? = nil,
        args: String = "",
        plugin: SriovCNIPlugin? = nil
    ) throws -> SriovCNIPlugin.Output {
        let request = CNIRequest(
            environment: self.environment(command, containerID: containerID, ifName: ifName, netns: netns, args: args),
            stdin: Array(stdin.utf8)
        )
        let plugin = plugin ?? self.plugin()
        return try NetlinkNamespace.run(inNamespaceAt: Self.path(self.hostNS)) { plugin.run(request) }
    }

    struct Exec {
        var status: Int32
        var stdout: String
        var stderr: String
        var error: CNIError? { CNIError.parse(Array(self.stdout.utf8)) }
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(self.stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// The built `sriov-cni` binary.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sriov-cni").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sriov-cni").path
    }

    /// Starts the binary in the host namespace (`ip netns exec`), with the CNI environment and stdin.
    func start(
        _ command: String,
        _ stdin: String,
        containerID: String = "c1",
        ifName: String = "net1",
        netns: String? = nil,
        args: String = "",
        extraEnv: [String: String] = [:],
        binary: String = CNIFixture.binary
    ) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ipBinary)
        process.arguments = ["netns", "exec", self.hostNS, binary]
        var env = self.environment(command, containerID: containerID, ifName: ifName, netns: netns, args: args)
        env["SRIOV_CNI_STATE_DIR"] = self.stateDir
        env["SRIOV_CNI_SYSFS_ROOT"] = self.root
        env.merge(extraEnv) { $1 }
        process.environment = env
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        return (process, output, errors)
    }

    func exec(
        _ command: String,
        _ stdin: String,
        containerID: String = "c1",
        ifName: String = "net1",
        netns: String? = nil,
        args: String = "",
        extraEnv: [String: String] = [:],
        binary: String = CNIFixture.binary
    ) throws -> Exec {
        let (process, output, errors) = try self.start(
            command,
            stdin,
            containerID: containerID,
            ifName: ifName,
            netns: netns,
            args: args,
            extraEnv: extraEnv,
            binary: binary
        )
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Exec(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }

    // MARK: - reading back with ip(8)

    func ipHost(_ arguments: [String]) throws { try Self.ip(["-n", self.hostNS] + arguments) }

    /// `ip -j -n NS link show DEV`, or nil when there is no such link.
    func link(_ device: String, in ns: String) -> [String: Any]? {
        guard let text = try? Self.ip(["-j", "-n", ns, "link", "show", device]),
            let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        else { return nil }
        return list.first
    }

    func addresses(_ device: String, in ns: String) throws -> [String] {
        let text = try Self.ip(["-j", "-n", ns, "addr", "show", device])
        let list = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
        let infos = list.first?["addr_info"] as? [[String: Any]] ?? []
        return infos.compactMap { info in
            guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
            return "\(local)/\(len)"
        }
    }

    func routes(in ns: String) throws -> [[String: Any]] {
        let text = try Self.ip(["-j", "-n", ns, "route", "show"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    static let ipBinary =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.ipBinary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure(
                "ip \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))"
            )
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Root, `ip netns`, the built binary and Debian's host-local (`apt-get install containernetworking-plugins`).
    static let isAvailable: Bool = {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/host-local") else {
            return false
        }
        let name = "cnicheck-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        guard (try? CNIFixture.ip(["netns", "add", name])) != nil else { return false }
        _ = try? CNIFixture.ip(["netns", "delete", name])
        return true
    }()
}

extension Tag {
    /// Tests that need root and network namespaces.
    @Tag static var netns: Self
}
