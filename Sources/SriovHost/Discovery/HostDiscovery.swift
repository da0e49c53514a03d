import KubeCore
public import SriovAPI

/// Discovers the host's SR-IOV capable NICs into `SriovNetworkNodeState.status.interfaces`.
///
/// Upstream: pkg/host/internal/sriov DiscoverSriovDevices. For every PCI device of class 0x02 that is not
/// a VF: driver from the `driver` link, the netdev (the one with a `phys_switch_id` and a `p<N>` port name
/// when a switchdev PF also has representors), link state from ``LinkControl``, speed from sysfs, VF
/// counts and eswitch mode when the device has `sriov_totalvfs`, every VF through `virtfnN` with its
/// driver, netdev, MAC, MTU, vDPA device, representor and RDMA GUID, and `externallyManaged` from the
/// applied-state file. Devices without a netdev and unsupported models (unless `devMode`) are skipped, as
/// upstream does.
public struct HostDiscovery: Sendable {
    public var sysfs: any SysFS
    public var links: any LinkControl
    public var supportedModels: [(vendor: String, device: String)]?
    public var devMode: Bool
    /// How often to re-read a VF's empty driver link (upstream: 5 × 200 ms), and the pause between.
    public var driverRetries: Int
    public var retryPause: Duration

    /// - Parameter supportedModels: vendor/PF device pairs to keep; nil keeps every NIC.
    public init(
        sysfs: any SysFS,
        links: any LinkControl,
        supportedModels: [(vendor: String, device: String)]? = nil,
        devMode: Bool = false,
        driverRetries: Int = 5,
        retryPause: Duration = .milliseconds(200)
    ) {
        self.sysfs = sysfs
        self.links = links
        self.supportedModels = supportedModels
        self.devMode = devMode
        self.driverRetries = driverRetries
        self.retryPause = retryPause
    }

    /// What was skipped and why, for `sriov discover` to show.
    public struct Skipped: Sendable, Hashable {
        public var pciAddress: String
        public var reason: String
    }

    public struct Result: Sendable {
        public var interfaces: [SriovNetworkNodeState.InterfaceExt]
        public var skipped: [Skipped]
    }

    public func discover() throws(HostError) -> Result {
        var interfaces: [SriovNetworkNodeState.InterfaceExt] = []
        var skipped: [Skipped] = []
        for name in try self.sysfs.list("/sys/bus/pci/devices") {
            guard let address = try? PCIAddress(name) else { continue }
            let dir = address.sysfsPath
            if (try? self.sysfs.list(dir)) == nil {
                skipped.append(Skipped(pciAddress: name, reason: "\(dir) is not a device directory; ignored"))
                continue
            }
            guard let pciClass = self.sysfs.readIfPresent(dir + "/class"), pciClass.hasPrefix("0x02") else { continue }
            if self.sysfs.exists(dir + "/physfn") { continue }
            let vendor = Self.hexID(self.sysfs.readIfPresent(dir + "/vendor"))
            let device = Self.hexID(self.sysfs.readIfPresent(dir + "/device"))
            if !self.devMode, let models = self.supportedModels,
                !models.contains(where: { $0.vendor == vendor && $0.device == device })
            {
                skipped.append(Skipped(pciAddress: name, reason: "unsupported model \(vendor):\(device)"))
                continue
            }
            guard let netdev = self.primaryNetdev(of: address) else {
                skipped.append(Skipped(pciAddress: name, reason: "no network interface"))
                continue
            }
            interfaces.append(
                try self.interface(address, netdev: netdev, vendor: vendor, device: device, skipped: &skipped)
            )
        }
        return Result(interfaces: interfaces, skipped: skipped)
    }

    static func hexID(_ text: String?) -> String {
        guard var text = text?.trimmingWhitespace else { return "" }
        if text.hasPrefix("0x") { text.removeFirst(2) }
        return text.lowercased()
    }

    /// The PF's netdev: the only one, or (switchdev: PF and representors share the device) the one with a
    /// switch id and a `p<N>` port name.
    func primaryNetdev(of device: PCIAddress) -> InterfaceName? {
        var names = (try? self.sysfs.list(device.sysfsPath + "/net")) ?? []
        if names.isEmpty {
            // virtio-net: the netdev hangs off the virtio device, `<pci>/virtio<N>/net/<if>`.
            for child in (try? self.sysfs.list(device.sysfsPath)) ?? [] where child.hasPrefix("virtio") {
                names += (try? self.sysfs.list(device.sysfsPath + "/\(child)/net")) ?? []
            }
        }
        if names.count == 1 { return try? InterfaceName(names[0]) }
        for name in names {
            let base = device.sysfsPath + "/net/\(name)"
            guard let switchID = self.sysfs.readIfPresent(base + "/phys_switch_id"), !switchID.isEmpty,
                let port = self.sysfs.readIfPresent(base + "/phys_port_name"), Self.isUplinkPortName(port)
            else { continue }
            return try? InterfaceName(name)
        }
        return names.first.flatMap { try? InterfaceName($0) }
    }

    /// `p0`, `p1`, …
    static func isUplinkPortName(_ name: String) -> Bool {
        name.count > 1 && name.first == "p" && name.dropFirst().allSatisfy(\.isNumber)
    }

    func interface(
        _ address: PCIAddress,
        netdev: InterfaceName,
        vendor: String,
        device: String,
        skipped: inout [Skipped]
    ) throws(HostError) -> SriovNetworkNodeState.InterfaceExt {
        let dir = address.sysfsPath
        var iface = SriovNetworkNodeState.InterfaceExt(pciAddress: address.rawValue)
        iface.name = netdev.rawValue
        iface.vendor = vendor
        iface.deviceID = device
        iface.driver = (try? self.sysfs.linkBasename(dir + "/driver")) ?? ""
        if let link = (try? self.links.state(of: netdev)) ?? self.sysfsLinkState(netdev, device: address) {
            iface.mtu = link.mtu
            iface.mac = link.mac
            iface.linkType = link.linkType
            iface.linkAdminState = link.isUp ? "up" : "down"
            iface.altNames = link.altNames
        }
        if let speed = self.sysfs.readIfPresent(netdev.sysfsPath + "/speed").flatMap({ Int($0.trimmingWhitespace) }),
            speed > 0
        {
            iface.linkSpeed = "\(speed) Mb/s"
        }
        if self.sysfs.exists(dir + "/sriov_totalvfs") {
            iface.totalvfs = try self.sysfs.readVFCount(dir + "/sriov_totalvfs")
            iface.numVfs = try self.sysfs.readVFCount(dir + "/sriov_numvfs")
            let mode = (try? self.links.eswitchMode(of: address)) ?? ""
            iface.eSwitchMode = mode.isEmpty ? "legacy" : mode
            iface.Vfs = try self.virtualFunctions(
                of: address,
                pfNetdev: netdev,
                eswitchMode: iface.eSwitchMode,
                skipped: &skipped
            )
        }
        if let applied = AppliedState(sysfs: self.sysfs).load(address) {
            iface.externallyManaged = applied.externallyManaged
        }
        return iface
    }

    func virtualFunctions(
        of pf: PCIAddress,
        pfNetdev: InterfaceName,
        eswitchMode: String,
        skipped: inout [Skipped]
    ) throws(HostError) -> [SriovNetworkNodeState.VirtualFunction] {
        var vfs: [SriovNetworkNodeState.VirtualFunction] = []
        // Only VFs whose virtfn and physfn links lead to each other are reported (never another device).
        let checked = try self.sysfs.checkedVFs(of: pf)
        for refusal in checked.refused {
            skipped.append(Skipped(pciAddress: pf.rawValue, reason: refusal.description))
        }
        let representors = eswitchMode == "switchdev" ? self.representors(of: pf) : [:]
        // A VF just created may not be bound yet: all unbound VFs are awaited together, under one deadline.
        let drivers = self.driversWithRetry(checked.vfs.map(\.address))
        for (verified, driver) in zip(checked.vfs, drivers) {
            let index = verified.index
            let address = verified.address
            let dir = address.sysfsPath
            var vf = SriovNetworkNodeState.VirtualFunction(pciAddress: address.rawValue, vfID: index)
            vf.vendor = Self.hexID(self.sysfs.readIfPresent(dir + "/vendor"))
            vf.deviceID = Self.hexID(self.sysfs.readIfPresent(dir + "/device"))
            vf.driver = driver
            if let name = ((try? self.sysfs.list(dir + "/net")) ?? []).first, let netdev = try? InterfaceName(name) {
                vf.name = name
                if let link = (try? self.links.state(of: netdev)) ?? self.sysfsLinkState(netdev, device: address) {
                    vf.mtu = link.mtu
                    vf.mac = link.mac
                }
            }
            if let vdpa = self.vdpaType(of: address) { vf.vdpaType = vdpa }
            if let representor = representors[index] { vf.representorName = representor }
            if let rdma = ((try? self.sysfs.list(dir + "/infiniband")) ?? []).first,
                let guid = self.sysfs.readIfPresent(dir + "/infiniband/\(rdma)/node_guid")
            {
                vf.guid = guid.trimmingWhitespace
            }
            vfs.append(vf)
        }
        return vfs
    }

    /// A link's state from sysfs, for links rtnetlink does not know: a host root seen from another network
    /// namespace (a sysfs copy, a container without host networking). `/sys/class/net/<if>/{mtu,address}`,
    /// falling back to the device's own `net/<if>` directory when the class link is missing from a copy;
    /// admin state from `flags` (IFF_UP) or else `operstate`; `type` 32 is InfiniBand. nil without an MTU.
    func sysfsLinkState(_ netdev: InterfaceName, device: PCIAddress) -> LinkState? {
        for base in [netdev.sysfsPath, device.sysfsPath + "/net/\(netdev.rawValue)"] {
            guard let mtu = self.sysfs.readIfPresent(base + "/mtu").flatMap({ Int($0.trimmingWhitespace) }) else {
                continue
            }
            let mac = self.sysfs.readIfPresent(base + "/address")?.trimmingWhitespace ?? ""
            var isUp = self.sysfs.readIfPresent(base + "/operstate")?.trimmingWhitespace == "up"
            if let flags = self.sysfs.readIfPresent(base + "/flags")?.trimmingWhitespace,
                let value = Int(flags.hasPrefix("0x") ? String(flags.dropFirst(2)) : flags, radix: 16)
            {
                isUp = value & 0x1 != 0
            }
            let type = self.sysfs.readIfPresent(base + "/type")?.trimmingWhitespace
            return LinkState(mtu: mtu, mac: mac, isUp: isUp, linkType: type == "32" ? "IB" : "ETH")
        }
        return nil
    }

    /// The VFs' drivers; a freshly created VF may not be bound yet, so unbound ones are re-read, all
    /// together: at most `driverRetries - 1` pauses in total, however many VFs wait (upstream reads VFs in
    /// parallel; 64 unbound VFs cost 0.8 s, not 51 s).
    func driversWithRetry(_ devices: [PCIAddress]) -> [String] {
        func read(_ device: PCIAddress) -> String? { try? self.sysfs.linkBasename(device.sysfsPath + "/driver") }
        var drivers = devices.map(read)
        var attempt = 1
        while attempt < self.driverRetries, drivers.contains(nil) {
            Self.sleep(self.retryPause)
            for i in drivers.indices where drivers[i] == nil { drivers[i] = read(devices[i]) }
            attempt += 1
        }
        return drivers.map { $0 ?? "" }
    }

    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var spec = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        _ = nanosleep(&spec, nil)
    }

    /// VF index → representor netdev, from the PF device's netdevs with `pf<P>vf<N>` port names.
    func representors(of pf: PCIAddress) -> [Int: String] {
        var result: [Int: String] = [:]
        for name in (try? self.sysfs.list(pf.sysfsPath + "/net")) ?? [] {
            guard let port = self.sysfs.readIfPresent(pf.sysfsPath + "/net/\(name)/phys_port_name"),
                let vfRange = port.firstRange(of: "vf"), port.hasPrefix("pf"), let vf = Int(port[vfRange.upperBound...])
            else { continue }
            result[vf] = name
        }
        return result
    }

    /// `virtio` or `vhost` when the VF has a vDPA device bound to virtio_vdpa or vhost_vdpa.
    func vdpaType(of vf: PCIAddress) -> String? {
        let path = "/sys/bus/vdpa/devices/vdpa:\(vf.rawValue)/driver"
        guard let driver = try? self.sysfs.linkBasename(path) else { return nil }
        switch driver {
        case "virtio_vdpa": return "virtio"
        case "vhost_vdpa": return "vhost"
        default: return nil
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
