#if canImport(Glibc)
import Glibc
#endif

/// ``LinkControl`` over a simulated tree: link state in the netdev's sysfs files (`mtu`, `address`,
/// `flags`, `operstate`, `type`), altnames in a simulator file, the eswitch mode in the simulator's state
/// directory, with the kernel's rules (ice changes mode only without VFs; mlx5 only with no VF bound).
public struct SimulatedLinkControl: LinkControl {
    public static let altNamesFile = "sim_altnames"
    let sysfs: SimulatedSysFS

    public init(sysfs: SimulatedSysFS) { self.sysfs = sysfs }

    static func eswitchPath(_ device: PCIAddress) -> String {
        SimulatedHost.stateDirectory + "/eswitch/\(device.rawValue)"
    }

    public func state(of link: InterfaceName) throws(HostError) -> LinkState {
        let dir = link.sysfsPath
        guard self.sysfs.exists(dir) else {
            throw HostError(code: .notFound, message: "link \(link) not found", path: dir)
        }
        let flags = (try? self.sysfs.readInt(dir + "/flags")) ?? 0
        let type = (try? self.sysfs.readInt(dir + "/type")) ?? 1
        let altNames = (self.sysfs.readIfPresent(dir + "/" + Self.altNamesFile) ?? "")
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        return LinkState(
            mtu: try self.sysfs.readInt(dir + "/mtu", in: 0...65535, what: "an MTU"),
            mac: try self.sysfs.read(dir + "/address"),
            isUp: flags & 1 == 1,
            altNames: altNames,
            linkType: type == 32 ? "IB" : "ETH"
        )
    }

    public func setMTU(_ mtu: Int, link: InterfaceName) throws(HostError) {
        guard self.sysfs.exists(link.sysfsPath) else {
            throw HostError(code: .notFound, message: "link \(link) not found", path: link.sysfsPath)
        }
        try self.sysfs.write(link.sysfsPath + "/mtu", "\(mtu)")
    }

    public func setUp(_ up: Bool, link: InterfaceName) throws(HostError) {
        guard self.sysfs.exists(link.sysfsPath) else {
            throw HostError(code: .notFound, message: "link \(link) not found", path: link.sysfsPath)
        }
        try self.sysfs.createFile(link.sysfsPath + "/flags", up ? "0x1003\n" : "0x1002\n")
        try self.sysfs.createFile(link.sysfsPath + "/operstate", up ? "up\n" : "down\n")
    }

    public func eswitchMode(of device: PCIAddress) throws(HostError) -> String {
        guard self.sysfs.exists(device.sysfsPath) else {
            throw HostError(code: .notFound, message: "no such PCI device", path: device.sysfsPath)
        }
        guard self.sysfs.nic(of: device)?.nic.switchdev == true else {
            throw HostError(
                code: .unsupported,
                message: "devlink eswitch not supported by \(device)",
                errno: EOPNOTSUPP
            )
        }
        return self.sysfs.readIfPresent(Self.eswitchPath(device)) ?? "legacy"
    }

    public func setEswitchMode(_ mode: String, of device: PCIAddress) throws(HostError) {
        guard mode == "legacy" || mode == "switchdev" else {
            throw HostError(
                code: .invalidArgument,
                message: "eswitch mode \(mode.debugDescription) is not legacy or switchdev"
            )
        }
        let current = try self.eswitchMode(of: device)
        if current == mode { return }
        guard let (_, _, nic) = self.sysfs.nic(of: device) else {
            throw HostError(code: .notFound, message: "no such PCI device", path: device.sysfsPath)
        }
        let numVfs = try self.sysfs.readVFCount(device.sysfsPath + "/sriov_numvfs")
        let step = "devlink dev eswitch set pci/\(device) mode \(mode)"
        if nic.driver == "ice", numVfs > 0 {
            throw HostError.system("VFs exist; remove them first", errno: EBUSY, step: step)
        }
        if numVfs > 0 {
            for vf in 0..<numVfs {
                if let address = try? PCIAddress(try self.sysfs.linkBasename(device.sysfsPath + "/virtfn\(vf)")),
                    self.sysfs.currentDriver(address) != nil
                {
                    throw HostError.system(
                        "VF \(address) is bound to a driver; unbind VFs first",
                        errno: EBUSY,
                        step: step
                    )
                }
            }
        }
        try self.sysfs.createFile(Self.eswitchPath(device), mode)
        if mode == "switchdev" {
            try self.sysfs.createRepresentors(of: device)
        } else {
            try self.sysfs.removeRepresentors(of: device)
        }
    }

    public func setVFMAC(_ mac: String, vf: Int, link: InterfaceName) throws(HostError) {
        guard self.sysfs.exists(link.sysfsPath) else {
            throw HostError(code: .notFound, message: "link \(link) not found", path: link.sysfsPath)
        }
        try self.sysfs.createFile(SimulatedHost.stateDirectory + "/vf-mac/\(link)/\(vf)", mac)
    }
}
