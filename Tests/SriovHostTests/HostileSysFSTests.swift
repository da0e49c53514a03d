import Foundation
import Logging
import SriovAPI
import Synchronization
import Testing

@testable import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// A temp directory holding a host root and a sibling `outside` directory that hostile links point to;
/// everything under `outside` is snapshotted so a test can prove nothing there changed.
final class HostileTree {
    let base: String
    let root: String
    let outside: String

    init() throws {
        self.base =
            FileManager.default.temporaryDirectory.appendingPathComponent("sriov-hostile-\(UUID().uuidString)")
            .path
        self.root = self.base + "/root"
        self.outside = self.base + "/outside"
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: self.outside + "/etc", withIntermediateDirectories: true)
        for name in ["sriov_numvfs", "mtu", "driver_override", "bind", "unbind", "secret"] {
            try "original \(name)\n".write(toFile: self.outside + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: self.base) }

    /// Every path under `outside` with its type and content (or link target).
    func snapshotOutside() -> [String: String] {
        var result: [String: String] = [:]
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: self.outside) else { return result }
        for case let relative as String in enumerator {
            let full = self.outside + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFLNK: result[relative] = "link " + ((try? fm.destinationOfSymbolicLink(atPath: full)) ?? "?")
            case S_IFDIR: result[relative] = "dir"
            default: result[relative] = "file " + ((try? String(contentsOfFile: full, encoding: .utf8)) ?? "?")
            }
        }
        return result
    }

    func link(_ path: String, to target: String) throws {
        let full = self.root + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try? FileManager.default.removeItem(atPath: full)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    func file(_ path: String, _ content: String) throws {
        let full = self.root + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        unlink(full)
        try content.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func fifo(_ path: String) throws {
        let full = self.root + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        unlink(full)
        #expect(mkfifo(full, 0o644) == 0)
    }
}

@Suite("Hostile sysfs trees: every path stays inside the root, nothing blocks, values are parsed strictly")
struct HostileSysFSTests {
    @Test("a relative link climbing out of the root is refused with the path named; nothing outside is written")
    func relativeEscape() throws {
        let tree = try HostileTree()
        let before = tree.snapshotOutside()
        try tree.link("/sys/bus/pci/devices/0000:3b:00.0", to: "../../../../../outside")
        let fs = LinuxSysFS(root: tree.root)
        #expect {
            try fs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "8")
        } throws: { error in
            let error = error as? HostError
            return error?.path == "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
                && "\(error!)".contains("escapes the root")
        }
        #expect(throws: HostError.self) { try fs.read("/sys/bus/pci/devices/0000:3b:00.0/secret") }
        #expect(throws: HostError.self) { try fs.createFile("/sys/bus/pci/devices/0000:3b:00.0/new", "x") }
        #expect(throws: HostError.self) { try fs.remove("/sys/bus/pci/devices/0000:3b:00.0/secret") }
        #expect(!fs.exists("/sys/bus/pci/devices/0000:3b:00.0/secret"))
        #expect(tree.snapshotOutside() == before)
    }

    @Test("an absolute link resolves against the root (the host's / at /host), not the process's /")
    func absoluteLinkStaysInside() throws {
        let tree = try HostileTree()
        let before = tree.snapshotOutside()
        try tree.file("/etc/real/sriov_numvfs", "0\n")
        try tree.link("/sys/class/net/ens1f0", to: "/etc/real")
        try tree.link("/etc/udev/rules.d", to: tree.outside + "/etc")
        let fs = LinuxSysFS(root: tree.root)
        try fs.write("/sys/class/net/ens1f0/sriov_numvfs", "4")
        #expect(try String(contentsOfFile: tree.root + "/etc/real/sriov_numvfs", encoding: .utf8).hasPrefix("4"))
        // The link's absolute target is taken inside the root: the rule lands in <root><outside>/etc.
        try fs.createFile("/etc/udev/rules.d/10-test.rules", "rule\n")
        #expect(FileManager.default.fileExists(atPath: tree.root + tree.outside + "/etc/10-test.rules"))
        #expect(tree.snapshotOutside() == before)
        #expect(try fs.canonicalPath("/sys/class/net/ens1f0") == "/etc/real")
    }

    @Test("link loops end with ELOOP instead of spinning")
    func linkLoop() throws {
        let tree = try HostileTree()
        try tree.link("/sys/a", to: "b")
        try tree.link("/sys/b", to: "a")
        let fs = LinuxSysFS(root: tree.root)
        #expect {
            _ = try fs.read("/sys/a/x")
        } throws: { ($0 as? HostError)?.errno == ELOOP }
    }

    @Test("a FIFO or device node where an attribute is expected is refused at once, never waited on")
    func fifoIsRefused() throws {
        let tree = try HostileTree()
        try tree.fifo("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs")
        try tree.link("/sys/bus/pci/devices/0000:3b:00.0/null", to: "/dev/null")
        let fs = LinuxSysFS(root: tree.root)
        #expect {
            _ = try fs.read("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs")
        } throws: { "\($0)".contains("a FIFO where a regular file is expected") }
        #expect(throws: HostError.self) { try fs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "1") }
        // /dev/null inside the root does not exist; the process's /dev/null is never opened.
        #expect(throws: HostError.self) { _ = try fs.read("/sys/bus/pci/devices/0000:3b:00.0/null") }
    }

    @Test(
        "VF counts are parsed strictly with the kernel's range; the error names the file and the bytes",
        arguments: [
            "-3", "9223372036854775807", "abc", "", "257", "1e3", "0x", " 12 34", String(repeating: "9", count: 500),
        ]
    )
    func strictVFCount(text: String) throws {
        #expect {
            _ = try SysFSAttribute.integer(text, in: 0...256, path: "/sys/x/sriov_totalvfs", what: "a VF count")
        } throws: { error in
            guard let error = error as? HostError else { return false }
            let description = "\(error)"
            return error.path == "/sys/x/sriov_totalvfs" && description.contains("read ")
                && description.count < 400
        }
    }

    @Test("valid attribute values parse", arguments: [("0", 0), ("64\n", 64), (" 256 ", 256), ("0x10", 16)])
    func validVFCount(text: String, value: Int) throws {
        #expect(try SysFSAttribute.integer(text, in: 0...256, path: "/p", what: "a VF count") == value)
    }

    @Test("fuzz: no attribute text crashes the parser or escapes its range", arguments: 0..<4)
    func fuzzAttributes(seed: Int) {
        var generator = HostSplitMix(seed: UInt64(seed) &+ 0x5EED)
        let alphabet = Array("0123456789-+x abcdefABCDEF\n\t\0.eE")
        for _ in 0..<500 {
            let length = Int(generator.next() % 30)
            let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            if let value = try? SysFSAttribute.integer(text, in: 0...256, path: "/p", what: "a VF count") {
                #expect((0...256).contains(value))
            }
        }
    }

    @Test("fuzz: random link trees never let a write land outside the root", arguments: 0..<3)
    func fuzzLinkTrees(seed: Int) throws {
        let tree = try HostileTree()
        let before = tree.snapshotOutside()
        var generator = HostSplitMix(seed: UInt64(seed) &+ 77)
        let dirs = ["/sys", "/sys/bus", "/sys/bus/pci", "/sys/bus/pci/devices", "/etc", "/etc/udev"]
        let targets = [
            "..", "../..", "../../..", "../../../..", "../../../../..", "/", "/sys", tree.outside, "../outside",
            "../../outside", "../../../outside", "/../../outside", "x/../../..", ".",
        ]
        for dir in dirs {
            try FileManager.default.createDirectory(atPath: tree.root + dir, withIntermediateDirectories: true)
        }
        for i in 0..<30 {
            let dir = dirs[Int(generator.next() % UInt64(dirs.count))]
            let target = targets[Int(generator.next() % UInt64(targets.count))]
            try tree.link("\(dir)/l\(i)", to: target)
        }
        let fs = LinuxSysFS(root: tree.root)
        let names = ["sriov_numvfs", "mtu", "secret", "new", "etc/x"]
        for _ in 0..<300 {
            var path = ""
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                path +=
                    "/"
                    + (generator.next() % 2 == 0
                        ? "l\(generator.next() % 30)" : ["sys", "bus", "..", "etc"][Int(generator.next() % 4)])
            }
            path += "/" + names[Int(generator.next() % UInt64(names.count))]
            switch generator.next() % 4 {
            case 0: try? fs.write(path, "1")
            case 1: try? fs.createFile(path, "x")
            case 2: try? fs.remove(path)
            default: _ = try? fs.read(path)
            }
        }
        #expect(tree.snapshotOutside() == before)
    }
}

@Suite("Hostile simulated hosts: apply and reset touch only the selected devices, inside the root")
struct HostileApplyTests {
    static let spec = SriovNetworkNodeState.Spec(interfaces: [
        SriovNetworkNodeState.Interface(
            pciAddress: "0000:3b:00.0",
            numVfs: 4,
            mtu: 9000,
            name: "ens1f0",
            vfGroups: [
                SriovNetworkNodeState.VfGroup(
                    resourceName: "intel_dpdk",
                    deviceType: "vfio-pci",
                    vfRange: "0-3",
                    policyName: "dpdk"
                )
            ]
        )
    ])

    /// The simulated E810 host built inside a hostile tree (root + sibling `outside`).
    static func host(_ tree: HostileTree) throws -> (SimulatedSysFS, HostConfigurator) {
        let path = TestHost.repositoryRoot.appendingPathComponent("hosts/profiles/intel-e810.yaml").path
        try SimulatedHost.create(profile: try SimulatedHost.loadProfile(file: path), at: tree.root)
        let sysfs = try SimulatedSysFS(root: tree.root)
        let links = SimulatedLinkControl(sysfs: sysfs)
        let configurator = HostConfigurator(
            sysfs: sysfs,
            links: links,
            modules: SimulatedKernelModules(sysfs: sysfs),
            discovery: HostDiscovery(sysfs: sysfs, links: links, driverRetries: 1, retryPause: .zero),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return (sysfs, configurator)
    }

    /// Driver of every PCI device of the tree.
    static func drivers(_ sysfs: SimulatedSysFS) -> [String: String] {
        var result: [String: String] = [:]
        for name in (try? sysfs.list("/sys/bus/pci/devices")) ?? [] {
            result[name] = (try? sysfs.linkBasename("/sys/bus/pci/devices/\(name)/driver")) ?? ""
        }
        return result
    }

    @Test("links planted toward a sibling directory: apply and reset leave everything outside the root unchanged")
    func applyAndResetStayInside() throws {
        let tree = try HostileTree()
        let (sysfs, configurator) = try Self.host(tree)
        // Hostile links: the udev, applied-state and checkpoint directories point out of the tree.
        try tree.link("/etc/udev/rules.d", to: "../../../outside/etc")
        try tree.link("/etc/sriov-operator", to: "../../outside")
        try tree.link("/tmp", to: "../outside")
        let before = tree.snapshotOutside()
        #expect(throws: HostError.self) { try configurator.apply(spec: Self.spec) }
        #expect(tree.snapshotOutside() == before)
        // Absolute links to the sibling are taken inside the root: apply succeeds, the outside is untouched.
        try tree.link("/etc/udev/rules.d", to: tree.outside + "/etc")
        try tree.link("/etc/sriov-operator", to: tree.outside)
        try FileManager.default.removeItem(atPath: tree.root + "/tmp")
        try FileManager.default.createDirectory(atPath: tree.root + "/tmp", withIntermediateDirectories: true)
        try configurator.apply(spec: Self.spec)
        #expect(try sysfs.read("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs") == "4")
        try configurator.apply(spec: SriovNetworkNodeState.Spec())
        #expect(try sysfs.read("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs") == "0")
        #expect(tree.snapshotOutside() == before)
    }

    @Test("a virtfn link planted toward the management NIC is refused before any write; no driver changes")
    func plantedVirtfnIsRefused() throws {
        let tree = try HostileTree()
        let (sysfs, configurator) = try Self.host(tree)
        try configurator.apply(spec: Self.spec)
        let drivers = Self.drivers(sysfs)
        // Replace VF 0's link by one to the on-board igb NIC.
        try tree.link("/sys/bus/pci/devices/0000:3b:00.0/virtfn0", to: "../0000:01:00.0")
        var changed = Self.spec
        changed.interfaces[0].vfGroups[0].deviceType = "netdevice"
        #expect {
            try configurator.apply(spec: changed)
        } throws: { error in
            let text = "\(error)"
            return text.contains("virtfn0") && text.contains("0000:01:00.0") && text.contains("physfn")
        }
        #expect(Self.drivers(sysfs) == drivers)
        #expect(Self.drivers(sysfs)["0000:01:00.0"] == "igb")
        // Discovery does not report the planted device as a VF, and says why.
        let result = try configurator.discover()
        #expect(
            result.first { $0.pciAddress == "0000:3b:00.0" }?.Vfs.map(\.pciAddress).contains("0000:01:00.0") == false
        )
        // reset: the planted link is refused too, the management NIC keeps its driver.
        #expect(throws: HostError.self) { try configurator.apply(spec: SriovNetworkNodeState.Spec()) }
        #expect(Self.drivers(sysfs)["0000:01:00.0"] == "igb")
    }

    @Test("a device whose physfn leads elsewhere is not treated as a VF of this PF")
    func physfnMismatch() throws {
        let tree = try HostileTree()
        let (sysfs, configurator) = try Self.host(tree)
        try configurator.apply(spec: Self.spec)
        let vf = try sysfs.verifiedVFs(of: try PCIAddress("0000:3b:00.0"))[1].address
        try tree.link(vf.sysfsPath + "/physfn", to: "../0000:3b:00.1")
        #expect {
            _ = try sysfs.verifiedVFs(of: try PCIAddress("0000:3b:00.0"))
        } throws: { "\($0)".contains("physfn leads to") }
    }

    @Test(
        "sriov_numvfs of -3, 2^63-1 or abc is an error naming the file, not a crash or a hang",
        arguments: [
            "-3", "9223372036854775807", "abc",
        ]
    )
    func hostileNumVfs(text: String) throws {
        let tree = try HostileTree()
        let (_, configurator) = try Self.host(tree)
        try tree.file("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", text + "\n")
        #expect {
            try configurator.apply(spec: Self.spec)
        } throws: { error in
            "\(error)".contains("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs") && "\(error)".contains(text)
        }
        try tree.file("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "0\n")
        try tree.file("/sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs", text + "\n")
        #expect {
            _ = try configurator.discover()
        } throws: { "\($0)".contains("sriov_totalvfs") && "\($0)".contains(text) }
    }

    @Test("a FIFO in place of an attribute fails discovery at once (the test would hang otherwise)")
    func fifoAttribute() throws {
        let tree = try HostileTree()
        let (_, configurator) = try Self.host(tree)
        try tree.fifo("/sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs")
        #expect { _ = try configurator.discover() } throws: { "\($0)".contains("FIFO") }
    }

    @Test("a PF directory replaced by a plain file is reported, not silently skipped")
    func pfReplacedByFile() throws {
        let tree = try HostileTree()
        let (sysfs, configurator) = try Self.host(tree)
        try FileManager.default.removeItem(atPath: tree.root + "/sys/bus/pci/devices/0000:3b:00.1")
        try tree.file("/sys/bus/pci/devices/0000:3b:00.1", "not a directory\n")
        let discovery = HostDiscovery(sysfs: sysfs, links: SimulatedLinkControl(sysfs: sysfs))
        let result = try discovery.discover()
        #expect(
            result.skipped.contains { $0.pciAddress == "0000:3b:00.1" && $0.reason.contains("not a device directory") }
        )
        _ = configurator
    }

    @Test("unbound VFs are awaited together: 64 VFs without a driver cost at most driverRetries-1 pauses")
    func parallelDriverWait() throws {
        let tree = try HostileTree()
        var profile = try SimulatedHost.loadProfile(
            file: TestHost.repositoryRoot.appendingPathComponent("hosts/profiles/intel-e810.yaml").path
        )
        profile.nics[0].autoprobe = false
        profile.nics[0].ports[0].numVfs = 64
        try SimulatedHost.create(profile: profile, at: tree.root)
        let sysfs = try SimulatedSysFS(root: tree.root)
        let counter = CountingSysFS(base: sysfs)
        let discovery = HostDiscovery(
            sysfs: counter,
            links: SimulatedLinkControl(sysfs: sysfs),
            driverRetries: 5,
            retryPause: .zero
        )
        let result = try discovery.discover()
        let pf = result.interfaces.first { $0.pciAddress == "0000:3b:00.0" }
        #expect(pf?.Vfs.count == 64)
        #expect(pf?.Vfs.allSatisfy { $0.driver.isEmpty } == true)
        // Each unbound VF's driver link is read once per round, 5 rounds, all VFs per round.
        #expect(counter.driverReads() == 64 * 5)
    }
}

/// Counts VF `driver` link reads, to check the retry rounds without timing anything.
final class CountingSysFS: SysFS {
    let base: SimulatedSysFS
    let count = Mutex(0)
    init(base: SimulatedSysFS) { self.base = base }
    func driverReads() -> Int { self.count.withLock { $0 } }
    var root: String { self.base.root }
    func read(_ path: String) throws(HostError) -> String { try self.base.read(path) }
    func write(_ path: String, _ value: String) throws(HostError) { try self.base.write(path, value) }
    func readLink(_ path: String) throws(HostError) -> String {
        // The simulator puts the E810's 64 VFs at 0000:3b:01.0 … 0000:3b:08.7.
        if path.hasSuffix("/driver"), path.contains("/0000:3b:0"), !path.contains("/0000:3b:00.") {
            self.count.withLock { $0 += 1 }
        }
        return try self.base.readLink(path)
    }
    func list(_ path: String) throws(HostError) -> [String] { try self.base.list(path) }
    func exists(_ path: String) -> Bool { self.base.exists(path) }
    func createFile(_ path: String, _ value: String) throws(HostError) { try self.base.createFile(path, value) }
    func remove(_ path: String) throws(HostError) { try self.base.remove(path) }
    func canonicalPath(_ path: String) throws(HostError) -> String { try self.base.canonicalPath(path) }
}

struct HostSplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49EB_133F_D111
        return z ^ (z >> 31)
    }
}
