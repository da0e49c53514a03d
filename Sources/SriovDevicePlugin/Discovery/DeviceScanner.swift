public import SriovHost

/// Reads every candidate device from a ``SysFS`` (rooted anywhere: `/`, `/host`, a simulated tree).
///
/// Upstream: pkg/resources/pciNetDevice.go, pkg/utils/utils.go (ghw enumeration, modalias class/vendor/device,
/// `physfn`/`virtfnN`, `iommu_group`, `uio/`, `infiniband/`), pkg/netdevice/netDeviceProvider.go (default-route
/// and PF-with-VFs exclusion happen in ``PoolBuilder``; the scanner only records the facts).
public struct DeviceScanner: Sendable {
    public let sysfs: any SysFS

    public init(sysfs: any SysFS) {
        self.sysfs = sysfs
    }

    /// A full scan. Devices whose directories vanish mid-scan are skipped.
    public func scan() -> HostSnapshot {
        let fs = self.sysfs
        let defaultRouteIfaces = self.defaultRouteInterfaces()
        var devices: [HostDevice] = []
        var carrier: [String: Bool] = [:]
        let addresses = (try? fs.list("/sys/bus/pci/devices")) ?? []
        for address in addresses {
            guard let device = self.pciDevice(address, defaultRouteIfaces: defaultRouteIfaces) else { continue }
            if let pf = device.pfName, carrier[pf] == nil { carrier[pf] = self.hasCarrier(pf) }
            devices.append(device)
        }
        devices.append(contentsOf: self.auxiliaryDevices(parents: devices))
        for device in devices where device.kind == .auxiliary {
            if let pf = device.pfName, carrier[pf] == nil { carrier[pf] = self.hasCarrier(pf) }
        }
        return HostSnapshot(devices: devices, pfCarrier: carrier)
    }

    /// A cheap summary of what a full scan depends on: the PCI device list and their driver links, the
    /// auxiliary device list, `sriov_numvfs` and carrier of the PFs of the last scan, the default route.
    /// About two syscalls per device, so it can run every 50 ms; a difference triggers a full ``scan()``.
    public func fingerprint(previous: HostSnapshot?) -> [String] {
        let fs = self.sysfs
        var out: [String] = []
        let addresses = (try? fs.list("/sys/bus/pci/devices")) ?? []
        out.reserveCapacity(addresses.count + 8)
        for address in addresses {
            let driver = (try? fs.readLink("/sys/bus/pci/devices/\(address)/driver")) ?? "-"
            out.append(address + "=" + driver)
        }
        out.append("aux=" + ((try? fs.list("/sys/bus/auxiliary/devices")) ?? []).joined(separator: ","))
        out.append("route=" + self.defaultRouteInterfaces().sorted().joined(separator: ","))
        if let previous {
            for device in previous.devices where device.isSriovPF {
                out.append(
                    device.pciAddress + "#"
                        + (fs.readIfPresent("/sys/bus/pci/devices/\(device.pciAddress)/sriov_numvfs") ?? "")
                )
            }
            for pf in previous.pfCarrier.keys.sorted() {
                out.append(pf + (self.hasCarrier(pf) ? "+" : "-"))
            }
        }
        return out
    }

    func pciDevice(_ address: String, defaultRouteIfaces: Set<String>) -> HostDevice? {
        let fs = self.sysfs
        let dir = "/sys/bus/pci/devices/" + address
        guard let ids = self.ids(dir) else { return nil }
        var d = HostDevice(id: address, pciAddress: address)
        d.classCode = ids.classCode
        d.vendor = ids.vendor
        d.device = ids.device
        d.driver = try? fs.linkBasename(dir + "/driver")
        d.acpiIndex = fs.readIfPresent(dir + "/acpi_index").map(Self.trim)
        if let numa = fs.readIfPresent(dir + "/numa_node").flatMap({ Int(Self.trim($0)) }) { d.numaNode = numa }
        if let physfn = try? fs.linkBasename(dir + "/physfn") {
            d.pfAddress = physfn
            d.pfName = ((try? fs.list(dir + "/physfn/net")) ?? []).first
            for name in (try? fs.list(dir + "/physfn")) ?? [] where name.hasPrefix("virtfn") {
                if (try? fs.linkBasename(dir + "/physfn/" + name)) == address, let n = Int(name.dropFirst(6)) {
                    d.functionIndex = n
                    break
                }
            }
        }
        let netdevs = (try? fs.list(dir + "/net")) ?? []
        d.netdev = netdevs.first
        d.hasDefaultRoute = netdevs.contains { defaultRouteIfaces.contains($0) }
        if let netdev = d.netdev {
            d.linkType = self.linkType(dir + "/net/" + netdev)
        } else if let pfName = d.pfName {
            d.linkType = self.linkType(dir + "/physfn/net/" + pfName)
        }
        if fs.exists(dir + "/sriov_totalvfs") {
            d.isSriovPF = true
            d.numVfs = fs.readIfPresent(dir + "/sriov_numvfs").flatMap { Int(Self.trim($0)) } ?? 0
        }
        if let group = try? fs.linkBasename(dir + "/iommu_group") {
            d.iommuGroup = group
            d.noIOMMU = fs.readIfPresent("/sys/kernel/iommu_groups/\(group)/name").map(Self.trim) == "vfio-noiommu"
        }
        if d.driver == "uio" || d.driver == "igb_uio" {
            d.uioDevice = ((try? fs.list(dir + "/uio")) ?? []).first
        }
        d.rdmaDevices = (try? fs.list(dir + "/infiniband")) ?? []
        d.rdmaCharDevices = self.rdmaCharDevices(d.rdmaDevices)
        if d.linkType == "infiniband", let rdma = d.rdmaDevices.first {
            d.pKey =
                fs.readIfPresent("/sys/class/infiniband/\(rdma)/ports/1/pkeys/0").map(Self.trim)
                ?? fs.readIfPresent(dir + "/infiniband/\(rdma)/ports/1/pkeys/0").map(Self.trim)
        }
        d.vdpa = self.vdpa(dir)
        let ddpOwner = d.pfAddress ?? address
        d.ddpProfile = fs.readIfPresent("/sys/bus/pci/devices/\(ddpOwner)/ddp_profile").map(Self.trim)
        return d
    }

    /// Class, vendor and device from modalias (`pci:v00008086d0000154Csv…bc02sc00i00`), or from the
    /// `class`/`vendor`/`device` attributes when modalias is absent; lower-case 4-digit hex as upstream.
    func ids(_ dir: String) -> (classCode: Int, vendor: String, device: String)? {
        if let alias = self.sysfs.readIfPresent(dir + "/modalias"), alias.hasPrefix("pci:") {
            let text = Array(Self.trim(alias).utf8)
            func field(_ tag: UInt8, _ count: Int) -> String? {
                guard let i = text.firstIndex(of: tag), i + count < text.count else { return nil }
                return String(decoding: text[(i + 1)...(i + count)], as: UTF8.self).lowercased()
            }
            if let v = field(UInt8(ascii: "v"), 8), let d = field(UInt8(ascii: "d"), 8),
                let bc = text.firstRange(of: Array("bc".utf8)).map({ $0.upperBound }), bc + 2 <= text.count,
                let cls = Int(String(decoding: text[bc..<(bc + 2)], as: UTF8.self), radix: 16)
            {
                return (cls, String(v.suffix(4)), String(d.suffix(4)))
            }
        }
        guard let vendor = self.sysfs.readIfPresent(dir + "/vendor").map(Self.hex4),
            let device = self.sysfs.readIfPresent(dir + "/device").map(Self.hex4),
            let cls = self.sysfs.readIfPresent(dir + "/class").map(Self.trim)
        else { return nil }
        let digits = cls.hasPrefix("0x") ? String(cls.dropFirst(2)) : cls
        guard let value = Int(digits, radix: 16) else { return nil }
        return (value >> 16, vendor, device)
    }

    static func hex4(_ text: String) -> String {
        var t = Self.trim(text).lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        return t
    }

    static func trim(_ text: String) -> String {
        var s = Substring(text)
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        return String(s)
    }

    /// The netlink encapsulation name of a netdev from its ARPHRD `type`.
    func linkType(_ netdevDir: String) -> String {
        guard let type = self.sysfs.readIfPresent(netdevDir + "/type").flatMap({ Int(Self.trim($0)) }) else {
            return ""
        }
        switch type {
        case 1: return "ether"
        case 32: return "infiniband"
        case 772: return "loopback"
        case 65534: return "none"
        default: return "unknown"
        }
    }

    /// Whether a PF netdev has carrier: `carrier` when readable, else `operstate` (`up`/`unknown`).
    func hasCarrier(_ netdev: String) -> Bool {
        let dir = "/sys/class/net/" + netdev
        if let carrier = self.sysfs.readIfPresent(dir + "/carrier").map(Self.trim), !carrier.isEmpty {
            return carrier == "1"
        }
        guard let state = self.sysfs.readIfPresent(dir + "/operstate").map(Self.trim) else { return true }
        return state == "up" || state == "unknown"
    }

    /// Interfaces that carry an IPv4 default route (`/proc/net/route`, destination 0 and mask 0).
    func defaultRouteInterfaces() -> Set<String> {
        guard let table = self.sysfs.readIfPresent("/proc/net/route") else { return [] }
        var out: Set<String> = []
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.count >= 8, f[1] == "00000000", f[7] == "00000000" { out.insert(String(f[0])) }
        }
        return out
    }

    /// `ucmN`, `issmN`, `umadN`, `uverbsN` of each RDMA device (by `ibdev` under the infiniband classes).
    func rdmaCharDevices(_ rdma: [String]) -> [(key: String, path: String)] {
        guard !rdma.isEmpty else { return [] }
        var out: [(key: String, path: String)] = []
        let classes: [(dir: String, prefix: String, key: String)] = [
            ("/sys/class/infiniband_cm", "ucm", "ucm"),
            ("/sys/class/infiniband_mad", "issm", "issm"),
            ("/sys/class/infiniband_mad", "umad", "umad"),
            ("/sys/class/infiniband_verbs", "uverbs", "uverbs"),
        ]
        for device in rdma {
            for cls in classes {
                for name in (try? self.sysfs.list(cls.dir)) ?? [] where name.hasPrefix(cls.prefix) {
                    let ibdev = self.sysfs.readIfPresent("\(cls.dir)/\(name)/ibdev").map(Self.trim)
                    if ibdev == device { out.append((cls.key, "/dev/infiniband/" + name)) }
                }
            }
        }
        return out
    }

    /// A vDPA device created on this function (`<dir>/vdpaN`), its bus driver and vhost char device.
    func vdpa(_ dir: String) -> HostDevice.VDPA? {
        guard let name = ((try? self.sysfs.list(dir)) ?? []).first(where: { $0.hasPrefix("vdpa") }) else { return nil }
        let base = "/sys/bus/vdpa/devices/" + name
        let driver =
            (try? self.sysfs.linkBasename(base + "/driver")) ?? (try? self.sysfs.linkBasename(dir + "/\(name)/driver"))
        let type: String
        switch driver {
        case "vhost_vdpa": type = "vhost"
        case "virtio_vdpa": type = "virtio"
        default: return HostDevice.VDPA(name: name, type: "", path: nil)
        }
        var path: String?
        if type == "vhost" {
            let entries = (try? self.sysfs.list(base)) ?? (try? self.sysfs.list(dir + "/" + name)) ?? []
            path = entries.first { $0.hasPrefix("vhost-vdpa-") }.map { "/dev/" + $0 }
        }
        return HostDevice.VDPA(name: name, type: type, path: path)
    }

    /// Auxiliary devices (`/sys/bus/auxiliary/devices/<driver>.<type>.<id>`) of network PCI functions.
    func auxiliaryDevices(parents: [HostDevice]) -> [HostDevice] {
        let fs = self.sysfs
        let byAddress = Dictionary(parents.map { ($0.pciAddress, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [HostDevice] = []
        for name in (try? fs.list("/sys/bus/auxiliary/devices")) ?? [] {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3 else { continue }
            let path = "/sys/bus/auxiliary/devices/" + name
            guard let target = try? fs.readLink(path) else { continue }
            let components = target.split(separator: "/")
            guard components.count >= 2, let parent = byAddress[String(components[components.count - 2])],
                parent.classCode == 0x02
            else { continue }
            var d = HostDevice(id: name, pciAddress: parent.pciAddress)
            d.kind = .auxiliary
            d.classCode = parent.classCode
            d.vendor = parent.vendor
            d.device = parent.device
            d.driver = parent.driver
            d.numaNode = parent.numaNode
            d.auxType = String(parts[parts.count - 2])
            d.pfName = parent.netdev
            d.pfAddress = parent.pciAddress
            d.functionIndex =
                fs.readIfPresent(path + "/sfnum").flatMap { Int(Self.trim($0)) } ?? Int(parts[parts.count - 1]) ?? -1
            let netdevs = (try? fs.list(path + "/net")) ?? []
            d.netdev = netdevs.first
            d.linkType = d.netdev.map { self.linkType(path + "/net/" + $0) } ?? parent.linkType
            d.rdmaDevices = (try? fs.list(path + "/infiniband")) ?? []
            d.rdmaCharDevices = self.rdmaCharDevices(d.rdmaDevices)
            out.append(d)
        }
        return out
    }
}
