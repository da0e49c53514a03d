import KubeCore

#if canImport(Glibc)
import Glibc
#endif

/// A sysfs tree that reacts to writes the way the kernel does, for tests and for trying the CLI without
/// SR-IOV hardware.
///
/// Behaviour on the writes the node side makes:
/// - `sriov_numvfs`: `N` creates VFs `0…N-1` (PCI device directories with `physfn`, `virtfnN` links on the
///   PF, probed by the VF driver unless `sriov_drivers_autoprobe` is 0); `0` removes them; non-zero →
///   non-zero fails with `EBUSY`, above `sriov_totalvfs` with `ERANGE`, garbage with `EINVAL`.
/// - `driver_override`, `/sys/bus/pci/drivers_probe`, `drivers/<d>/bind|unbind` move the `driver` link;
///   binding a kernel network driver creates the VF netdev, unbinding removes it; binding an already bound
///   device fails with `EBUSY`, unbinding from the wrong driver with `ENODEV`, vfio-pci without an IOMMU
///   group with `EINVAL`.
/// - `/sys/class/net/<if>/mtu` accepts 68…9702 (`EINVAL` otherwise).
/// Everything else is a plain file write.
public struct SimulatedSysFS: SysFS {
    let files: LinuxSysFS
    let profile: HostProfile
    public var root: String { self.files.root }

    public init(root: String, profile: HostProfile) {
        self.files = LinuxSysFS(root: root)
        self.profile = profile
    }

    /// Opens a simulated root created by ``SimulatedHost/create(profile:at:)``.
    public init(root: String) throws(HostError) {
        self.init(root: root, profile: try SimulatedHost.profile(root: root))
    }

    public func read(_ path: String) throws(HostError) -> String { try self.files.read(path) }
    public func readLink(_ path: String) throws(HostError) -> String { try self.files.readLink(path) }
    public func list(_ path: String) throws(HostError) -> [String] { try self.files.list(path) }
    public func exists(_ path: String) -> Bool { self.files.exists(path) }
    public func canonicalPath(_ path: String) throws(HostError) -> String { try self.files.canonicalPath(path) }
    public func createFile(_ path: String, _ value: String) throws(HostError) { try self.files.createFile(path, value) }
    public func remove(_ path: String) throws(HostError) { try self.files.remove(path) }

    public func write(_ path: String, _ value: String) throws(HostError) {
        guard self.files.exists(path) else {
            throw HostError.system("cannot open for writing", path: path, errno: ENOENT)
        }
        try self.checkFault(path, value: value)
        let parts = path.split(separator: "/").map(String.init)
        let text = value.trimmingWhitespace
        switch (parts.count, parts.last) {
        case (6, "sriov_numvfs") where parts.starts(with: ["sys", "bus", "pci", "devices"]):
            try self.setNumVfs(try PCIAddress(parts[4]), text, path: path)
        case (6, "driver_override") where parts.starts(with: ["sys", "bus", "pci", "devices"]):
            let cleared = text.isEmpty || text == "\0"
            try self.files.createFile(path, cleared ? "(null)\n" : text + "\n")
        case (4, "drivers_probe") where parts.starts(with: ["sys", "bus", "pci"]):
            try self.probe(try self.address(text, path: path), path: path)
        case (6, "bind") where parts.starts(with: ["sys", "bus", "pci", "drivers"]):
            try self.bind(try self.address(text, path: path), driver: parts[4], path: path)
        case (6, "unbind") where parts.starts(with: ["sys", "bus", "pci", "drivers"]):
            try self.unbind(try self.address(text, path: path), driver: parts[4], path: path)
        case (5, "mtu") where parts.starts(with: ["sys", "class", "net"]):
            guard let mtu = Int(text), (68...9702).contains(mtu) else {
                throw HostError.system("write \(value.debugDescription) failed", path: path, errno: EINVAL)
            }
            try self.files.createFile(path, "\(mtu)\n")
        default:
            try self.files.write(path, value)
        }
    }

    func address(_ text: String, path: String) throws(HostError) -> PCIAddress {
        do {
            return try PCIAddress(text.replacingNUL)
        } catch {
            throw HostError.system("write \(text.debugDescription) failed", path: path, errno: ENODEV)
        }
    }

    // MARK: - VFs

    func nic(of pf: PCIAddress) -> (nicIndex: Int, portIndex: Int, nic: HostProfile.NIC)? {
        for (i, nic) in self.profile.nics.enumerated() {
            if let p = nic.ports.firstIndex(where: { $0.pciAddress == pf.rawValue }) { return (i, p, nic) }
        }
        return nil
    }

    /// VF `n` of a PF: device numbers after the PF's, eight functions per device, next bus when full.
    static func vfAddress(pf: PCIAddress, portIndex: Int, vf: Int) -> String {
        let raw = pf.rawValue
        let domain = raw.prefix(4)
        let bus = Int(raw.dropFirst(5).prefix(2), radix: 16) ?? 0
        let linear = 8 + portIndex * 256 + vf
        func hex2(_ v: Int) -> String {
            let s = String(v & 0xFF, radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return "\(domain):\(hex2(bus + linear / 256)):\(hex2((linear % 256) / 8)).\(linear % 8)"
    }

    func setNumVfs(_ pf: PCIAddress, _ text: String, path: String) throws(HostError) {
        // The kernel's kstrtou16: a decimal without sign; anything else is EINVAL, above totalvfs ERANGE.
        guard text.utf8.count <= 5, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let requested = Int(text)
        else {
            throw HostError.system("write \(QuotedValue.quote(text)) failed", path: path, errno: EINVAL)
        }
        // What the tree holds is read strictly: a planted -3 or 2^63-1 is an error, never a range to walk.
        let current = try self.files.readVFCount(path)
        let total = try self.files.readVFCount(pf.sysfsPath + "/sriov_totalvfs")
        if requested > total {
            throw HostError.system("write \(text.debugDescription) failed", path: path, errno: ERANGE)
        }
        if requested == current { return }
        if requested > 0 && current > 0 {
            throw HostError.system("write \(text.debugDescription) failed", path: path, errno: EBUSY)
        }
        guard let (nicIndex, portIndex, nic) = self.nic(of: pf) else {
            throw HostError.system("write \(text.debugDescription) failed", path: path, errno: ENODEV)
        }
        if requested == 0 {
            for vf in 0..<current {
                let link = pf.sysfsPath + "/virtfn\(vf)"
                // Only a VF whose links lead both ways is removed (a planted link to another device is not).
                if let vfAddress = try? self.files.verifiedVF(pf: pf, index: vf, link: link).address {
                    try self.removeNetdevs(of: vfAddress)
                    try self.files.remove(vfAddress.sysfsPath)
                }
                try self.files.remove(link)
            }
            try self.removeRepresentors(of: pf)
            try self.files.createFile(path, "0\n")
            return
        }
        let autoprobe = (try? self.files.read(pf.sysfsPath + "/sriov_drivers_autoprobe").trimmingWhitespace) != "0"
        for vf in 0..<requested {
            let address = try PCIAddress(Self.vfAddress(pf: pf, portIndex: portIndex, vf: vf))
            let dir = address.sysfsPath
            try self.files.makeDirectory(dir)
            try self.files.createFile(dir + "/vendor", "0x\(nic.vendor)\n")
            try self.files.createFile(dir + "/device", "0x\(nic.vfDevice.isEmpty ? nic.device : nic.vfDevice)\n")
            try self.files.createFile(dir + "/class", "0x020000\n")
            try self.files.createFile(dir + "/numa_node", "\(nic.numa)\n")
            try self.files.createFile(dir + "/driver_override", "(null)\n")
            try self.files.symlink(dir + "/physfn", to: "../\(pf.rawValue)")
            try self.files.symlink(pf.sysfsPath + "/virtfn\(vf)", to: "../\(address.rawValue)")
            if nic.iommu ?? true {
                let group = 1000 + nicIndex * 4096 + portIndex * 512 + vf
                try self.files.makeDirectory("/sys/kernel/iommu_groups/\(group)")
                try self.files.symlink(dir + "/iommu_group", to: "../../../kernel/iommu_groups/\(group)")
            }
            if autoprobe, !nic.vfDriver.isEmpty {
                try self.bind(address, driver: nic.vfDriver, path: "/sys/bus/pci/drivers/\(nic.vfDriver)/bind")
            }
        }
        try self.files.createFile(path, "\(requested)\n")
        if (try? self.files.read(SimulatedLinkControl.eswitchPath(pf))) == "switchdev" {
            try self.createRepresentors(of: pf)
        }
    }

    // MARK: - Drivers

    /// Kernel drivers that create a netdev for the device they bind.
    static func isNetworkDriver(_ driver: String) -> Bool {
        !["vfio-pci", "igb_uio", "uio_pci_generic", "pci-stub"].contains(driver)
    }

    func currentDriver(_ device: PCIAddress) -> String? {
        try? self.files.linkBasename(device.sysfsPath + "/driver")
    }

    func bind(_ device: PCIAddress, driver: String, path: String) throws(HostError) {
        guard self.files.exists(device.sysfsPath) else {
            throw HostError.system("write \(device.rawValue.debugDescription) failed", path: path, errno: ENODEV)
        }
        if self.currentDriver(device) != nil {
            throw HostError.system("write \(device.rawValue.debugDescription) failed", path: path, errno: EBUSY)
        }
        // Without an IOMMU group vfio-pci only binds in no-IOMMU mode (vfio enable_unsafe_noiommu_mode=1).
        let noIOMMU = self.files.readIfPresent("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")
        if driver == "vfio-pci", !self.files.exists(device.sysfsPath + "/iommu_group"), noIOMMU != "1", noIOMMU != "Y" {
            throw HostError.system("write \(device.rawValue.debugDescription) failed", path: path, errno: EINVAL)
        }
        try self.files.symlink(device.sysfsPath + "/driver", to: "../../drivers/\(driver)")
        if Self.isNetworkDriver(driver), let (nicIndex, portIndex, nic) = self.nic(of: device) {
            // A PF (or passthrough device) back on its kernel driver gets its netdev again.
            let port = nic.ports[portIndex]
            if !port.name.isEmpty {
                try self.createNetdev(
                    name: port.name,
                    device: device,
                    mac: port.mac.isEmpty ? SimulatedHost.mac(nic: nicIndex, port: portIndex, vf: nil) : port.mac,
                    mtu: port.mtu > 0 ? port.mtu : 1500,
                    nic: nic,
                    portName: "p\(portIndex)",
                    switchID: nic.switchdev ? SimulatedHost.switchID(nic: nicIndex) : "",
                    altNames: port.altNames,
                    up: true
                )
            }
            return
        }
        guard Self.isNetworkDriver(driver), let physfn = try? self.files.linkBasename(device.sysfsPath + "/physfn"),
            let pf = try? PCIAddress(physfn), let (_, portIndex, nic) = self.nic(of: pf)
        else { return }
        let vf = self.vfIndex(device, of: pf) ?? 0
        let pfName = (try? self.files.list(pf.sysfsPath + "/net").first { !$0.contains("_") }) ?? "pf\(portIndex)"
        let mac = SimulatedHost.mac(nic: self.profile.nics.firstIndex(of: nic) ?? 0, port: portIndex, vf: vf)
        try self.createNetdev(
            name: "\(pfName)v\(vf)",
            device: device,
            mac: mac,
            mtu: nic.linkType.uppercased() == "IB" ? 2044 : 1500,
            nic: nic,
            portName: "",
            switchID: "",
            altNames: [],
            up: false
        )
        if nic.linkType.uppercased() == "IB" || nic.vendor == "15b3" {
            // mlx5 derives a RoCE VF's node GUID from its MAC (EUI-64); IB VFs start without one.
            let rdma = "mlx5_\(100 + vf)"
            let guid = nic.linkType.uppercased() == "IB" ? "0000:0000:0000:0000" : Self.eui64(mac)
            try self.files.createFile(device.sysfsPath + "/infiniband/\(rdma)/node_guid", guid + "\n")
        }
    }

    /// `02:5a:00:00:00:01` → `005a:00ff:fe00:0001`, the GUID form of an EUI-64.
    static func eui64(_ mac: String) -> String {
        var bytes = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { return "0000:0000:0000:0000" }
        bytes[0] ^= 0x02
        let eui = Array(bytes[0..<3]) + [0xFF, 0xFE] + Array(bytes[3..<6])
        func hex(_ b: UInt8) -> String {
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return stride(from: 0, to: 8, by: 2).map { hex(eui[$0]) + hex(eui[$0 + 1]) }.joined(separator: ":")
    }

    func vfIndex(_ device: PCIAddress, of pf: PCIAddress) -> Int? {
        guard let names = try? self.files.list(pf.sysfsPath) else { return nil }
        for name in names where name.hasPrefix("virtfn") {
            if (try? self.files.linkBasename(pf.sysfsPath + "/" + name)) == device.rawValue {
                return Int(name.dropFirst(6))
            }
        }
        return nil
    }

    func unbind(_ device: PCIAddress, driver: String, path: String) throws(HostError) {
        guard self.currentDriver(device) == driver else {
            throw HostError.system("write \(device.rawValue.debugDescription) failed", path: path, errno: ENODEV)
        }
        try self.removeNetdevs(of: device)
        try self.files.remove(device.sysfsPath + "/infiniband")
        try self.files.remove(device.sysfsPath + "/driver")
    }

    func probe(_ device: PCIAddress, path: String) throws(HostError) {
        guard self.files.exists(device.sysfsPath) else {
            throw HostError.system("write \(device.rawValue.debugDescription) failed", path: path, errno: ENODEV)
        }
        if self.currentDriver(device) != nil { return }
        let override = (try? self.files.read(device.sysfsPath + "/driver_override").trimmingWhitespace) ?? ""
        if !override.isEmpty && override != "(null)" {
            try self.bind(device, driver: override, path: "/sys/bus/pci/drivers/\(override)/bind")
            return
        }
        guard let physfn = try? self.files.linkBasename(device.sysfsPath + "/physfn") else {
            // A PF (or a passthrough device in a VM): its own driver.
            if let (_, _, nic) = self.nic(of: device) {
                try self.bind(device, driver: nic.driver, path: "/sys/bus/pci/drivers/\(nic.driver)/bind")
            }
            return
        }
        guard let pf = try? PCIAddress(physfn), let (_, _, nic) = self.nic(of: pf), !nic.vfDriver.isEmpty else {
            return
        }
        try self.bind(device, driver: nic.vfDriver, path: "/sys/bus/pci/drivers/\(nic.vfDriver)/bind")
    }

    // MARK: - Netdevs

    func createNetdev(
        name: String,
        device: PCIAddress,
        mac: String,
        mtu: Int,
        nic: HostProfile.NIC,
        portName: String,
        switchID: String,
        altNames: [String],
        up: Bool
    ) throws(HostError) {
        let dir = device.sysfsPath + "/net/\(name)"
        try self.files.makeDirectory(dir)
        try self.files.createFile(dir + "/address", mac + "\n")
        try self.files.createFile(dir + "/mtu", "\(mtu)\n")
        try self.files.createFile(dir + "/type", nic.linkType.uppercased() == "IB" ? "32\n" : "1\n")
        try self.files.createFile(dir + "/speed", "\(nic.speed > 0 ? nic.speed : 25000)\n")
        try self.files.createFile(dir + "/operstate", up ? "up\n" : "down\n")
        try self.files.createFile(dir + "/flags", up ? "0x1003\n" : "0x1002\n")
        if !portName.isEmpty { try self.files.createFile(dir + "/phys_port_name", portName + "\n") }
        if !switchID.isEmpty { try self.files.createFile(dir + "/phys_switch_id", switchID + "\n") }
        try self.files.createFile(
            dir + "/\(SimulatedLinkControl.altNamesFile)",
            altNames.joined(separator: "\n") + "\n"
        )
        try self.files.symlink("/sys/class/net/\(name)", to: "../../bus/pci/devices/\(device.rawValue)/net/\(name)")
    }

    func removeNetdevs(of device: PCIAddress) throws(HostError) {
        let netDir = device.sysfsPath + "/net"
        for name in (try? self.files.list(netDir)) ?? [] {
            try self.files.remove("/sys/class/net/\(name)")
        }
        try self.files.remove(netDir)
    }

    /// Representors `<pf>_<n>` with `phys_port_name` `pf0vf<n>` and the PF's switch id.
    func createRepresentors(of pf: PCIAddress) throws(HostError) {
        guard let (nicIndex, portIndex, nic) = self.nic(of: pf) else { return }
        let names = (try? self.files.list(pf.sysfsPath + "/net")) ?? []
        guard let pfName = names.first(where: { !$0.contains("_") }) else { return }
        let count = try self.files.readVFCount(pf.sysfsPath + "/sriov_numvfs")
        for vf in 0..<count where !self.files.exists(pf.sysfsPath + "/net/\(pfName)_\(vf)") {
            try self.createNetdev(
                name: "\(pfName)_\(vf)",
                device: pf,
                mac: SimulatedHost.mac(nic: nicIndex, port: portIndex + 0x80, vf: vf),
                mtu: 1500,
                nic: nic,
                portName: "pf\(portIndex)vf\(vf)",
                switchID: SimulatedHost.switchID(nic: nicIndex),
                altNames: [],
                up: true
            )
        }
    }

    func removeRepresentors(of pf: PCIAddress) throws(HostError) {
        for name in (try? self.files.list(pf.sysfsPath + "/net")) ?? [] where name.contains("_") {
            try self.files.remove("/sys/class/net/\(name)")
            try self.files.remove(pf.sysfsPath + "/net/\(name)")
        }
    }
}

extension String {
    var replacingNUL: String { String(self.filter { $0 != "\0" }) }
}
