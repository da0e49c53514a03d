import KubeCore

#if canImport(Glibc)
import Glibc
#endif

/// ``VFControl`` for a simulated host: the PF's per-VF attributes live in
/// `<root>/.sriov-simulator/vf/<pf>.json`, next to the sysfs tree ``SimulatedHost`` builds, so every process that
/// opens the same root (the CNI binary, a test, `sriov simulate`) sees the same VF state.
///
/// It refuses what the kernel and common drivers (ixgbe, i40e, ice, igb) refuse, with the same errno: an unknown PF
/// (`ENODEV`), a VF index at or above `sriov_numvfs` (`EINVAL`), a multicast admin MAC (`EINVAL`), a maximum TX
/// rate below a non-zero minimum (`EINVAL`); malformed values are refused before "the kernel" is asked, exactly as
/// ``RTNetlink`` refuses them. Faults can be injected per attribute with `<root>/.sriov-simulator/vf/faults`, lines of
/// `<attribute> <errno>` (`mac`, `vlan`, `rate`, `spoofchk`, `trust`, `state`), to test rollback paths.
///
/// Read-modify-write cycles hold an exclusive `flock` on `<pf>.lock`, so concurrent processes never lose updates.
public struct SimulatedVFControl: VFControl {
    public let files: LinuxSysFS

    public init(root: String) {
        self.files = LinuxSysFS(root: root)
    }

    static let directory = SimulatedHost.stateDirectory + "/vf"

    func statePath(_ pf: String) -> String { "\(Self.directory)/\(pf).json" }

    func checkPF(_ pf: String, operation: String) throws(HostError) -> Int {
        guard !pf.isEmpty, !pf.contains("/"), self.files.exists("/sys/class/net/\(pf)") else {
            throw HostError(code: .notFound, message: "\(operation): no link named \"\(pf)\"", errno: ENODEV)
        }
        // The simulated netdev has no `device` link: find the PCI device whose net/ directory holds it.
        for device in (try? self.files.list("/sys/bus/pci/devices")) ?? []
        where self.files.exists("/sys/bus/pci/devices/\(device)/net/\(pf)") {
            return (try? self.files.readInt("/sys/bus/pci/devices/\(device)/sriov_numvfs")) ?? 0
        }
        return 0
    }

    public func vf(_ vf: Int, pf: String) throws(HostError) -> VFInfo {
        let operation = "get link \(pf)"
        let count = try self.checkPF(pf, operation: operation)
        guard vf >= 0, vf < count else {
            throw HostError(code: .notFound, message: "PF \(pf) reports no VF \(vf) (it has \(count) VFs)")
        }
        return try self.withState(pf) { states in states[vf] ?? Self.pristine(vf) }
    }

    public func mtu(pf: String) throws(HostError) -> Int {
        _ = try self.checkPF(pf, operation: "get link \(pf)")
        return (try? self.files.readInt("/sys/class/net/\(pf)/mtu")) ?? 1500
    }

    public func setVF(pf: String, _ config: VFConfig) throws(HostError) {
        let operation = "set VF \(config.vf) on link \(pf)"
        do throws(HostError) {
            _ = try NetlinkMessage.setVF(ifindex: 0, seq: 0, config: config)
        } catch {
            throw error.prefixed(operation)
        }
        let count = try self.checkPF(pf, operation: operation)
        func refuse(_ errno: Int32) -> HostError { HostError.netlink(operation, errno: errno, kernelMessage: nil) }
        guard config.vf < count else { throw refuse(EINVAL) }
        let faults = self.faults()
        try self.withState(pf) { (states: inout [Int: VFInfo]) throws(HostError) in
            var state = states[config.vf] ?? Self.pristine(config.vf)
            // The kernel's order (do_setvfinfo): MAC, VLAN, rate, spoof checking, link state, trust; it stops at the
            // first attribute the driver refuses, keeping what it already applied.
            defer { states[config.vf] = state }
            if let mac = config.mac {
                if let e = faults["mac"] { throw refuse(e) }
                let first = UInt8(mac.prefix(2), radix: 16) ?? 0
                if first & 1 == 1 { throw refuse(EINVAL) }
                state.mac = mac.lowercased()
            }
            if let vlan = config.vlan {
                if let e = faults["vlan"] { throw refuse(e) }
                state.vlan = vlan
                state.qos = config.qos ?? 0
                state.vlanProto = Int(config.vlanProto ?? VFConfig.vlanProto8021Q)
            }
            if config.minTxRate != nil || config.maxTxRate != nil {
                if let e = faults["rate"] { throw refuse(e) }
                let minRate = config.minTxRate ?? 0
                let maxRate = config.maxTxRate ?? 0
                if maxRate != 0 && minRate > maxRate { throw refuse(EINVAL) }
                state.minTxRate = minRate
                state.maxTxRate = maxRate
            }
            if let spoof = config.spoofCheck {
                if let e = faults["spoofchk"] { throw refuse(e) }
                state.spoofCheck = spoof
            }
            if let linkState = config.linkState {
                if let e = faults["state"] { throw refuse(e) }
                state.linkState = linkState
            }
            if let trust = config.trust {
                if let e = faults["trust"] { throw refuse(e) }
                state.trust = trust
            }
        }
    }

    /// A VF as a freshly created one looks: zero MAC, untagged, spoof checking on, trust off, link auto, no limits.
    public static func pristine(_ vf: Int) -> VFInfo {
        VFInfo(
            vf: vf,
            mac: "00:00:00:00:00:00",
            vlan: 0,
            qos: 0,
            vlanProto: Int(VFConfig.vlanProto8021Q),
            spoofCheck: true,
            trust: false,
            linkState: .auto,
            minTxRate: 0,
            maxTxRate: 0
        )
    }

    func faults() -> [String: Int32] {
        guard let text = self.files.readIfPresent(Self.directory + "/faults") else { return [:] }
        var out: [String: Int32] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let e = Int32(parts[1]) { out[String(parts[0])] = e }
        }
        return out
    }

    /// Runs `body` on the PF's VF table under the PF's lock, writing it back afterwards (also when `body` throws,
    /// since the kernel keeps the attributes applied before the one that failed).
    func withState<T>(
        _ pf: String,
        _ body: (inout [Int: VFInfo]) throws(HostError) -> T
    ) throws(HostError) -> T {
        try self.files.makeDirectory(Self.directory)
        let lockPath = self.files.hostPath("\(Self.directory)/\(pf).lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system("open VF state lock", path: lockPath, errno: error)
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            let error = errno
            if error != EINTR { throw HostError.system("lock VF state", path: lockPath, errno: error) }
        }
        var states = self.load(pf)
        let before = states
        let outcome: Result<T, HostError>
        do throws(HostError) {
            outcome = .success(try body(&states))
        } catch {
            outcome = .failure(error)
        }
        if states != before {
            try self.files.createFile(self.statePath(pf), Self.encode(states) + "\n")
        }
        return try outcome.get()
    }

    func load(_ pf: String) -> [Int: VFInfo] {
        guard let text = self.files.readIfPresent(self.statePath(pf)),
            let value = try? JSONParser.parse(text), case .object(let object) = value
        else { return [:] }
        var out: [Int: VFInfo] = [:]
        for (key, entry) in object {
            guard let vf = Int(key), let o = entry.objectValue else { continue }
            func int(_ k: String) -> Int? { if case .int(let i)? = o[k] { return i } else { return nil } }
            func bool(_ k: String) -> Bool? { if case .bool(let b)? = o[k] { return b } else { return nil } }
            out[vf] = VFInfo(
                vf: vf,
                mac: o["mac"]?.stringValue ?? "00:00:00:00:00:00",
                vlan: int("vlan") ?? 0,
                qos: int("qos") ?? 0,
                vlanProto: int("vlanProto"),
                spoofCheck: bool("spoofchk"),
                trust: bool("trust"),
                linkState: int("linkState").flatMap { VFLinkState(rawValue: Int32($0)) },
                minTxRate: int("minTxRate"),
                maxTxRate: int("maxTxRate")
            )
        }
        return out
    }

    static func encode(_ states: [Int: VFInfo]) -> String {
        var object = JSONObject()
        for (vf, s) in states.sorted(by: { $0.key < $1.key }) {
            var o: JSONObject = ["mac": .string(s.mac), "vlan": .int(s.vlan), "qos": .int(s.qos)]
            if let p = s.vlanProto { o["vlanProto"] = .int(p) }
            if let b = s.spoofCheck { o["spoofchk"] = .bool(b) }
            if let b = s.trust { o["trust"] = .bool(b) }
            if let l = s.linkState { o["linkState"] = .int(Int(l.rawValue)) }
            if let r = s.minTxRate { o["minTxRate"] = .int(r) }
            if let r = s.maxTxRate { o["maxTxRate"] = .int(r) }
            object[String(vf)] = .object(o)
        }
        return GoJSON.encode(.object(object))
    }
}
