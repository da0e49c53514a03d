import KubeCore
public import SriovAPI

/// Builds and describes a simulated host: a directory laid out like `/sys` (and `/proc/cmdline`,
/// `/etc`) from a ``HostProfile``, which ``SimulatedSysFS`` and ``SimulatedLinkControl`` then make behave
/// like the kernel.
public enum SimulatedHost {
    /// Marker directory: its presence makes a root a simulated host; it holds the profile.
    public static let stateDirectory = "/.sriov-simulator"

    public static func isSimulated(root: String) -> Bool {
        LinuxSysFS(root: root).exists(self.stateDirectory + "/profile.json")
    }

    /// Loads the profile a simulated root was created from.
    public static func profile(root: String) throws(HostError) -> HostProfile {
        let fs = LinuxSysFS(root: root)
        let text = try fs.read(self.stateDirectory + "/profile.json")
        do {
            let documents = try ManifestReader.parse(text, file: root + self.stateDirectory + "/profile.json")
            guard let value = documents.first?.value else {
                throw HostError(code: .io, message: "empty simulator profile", path: self.stateDirectory)
            }
            let profile = try ValueDecoder().decode(HostProfile.self, from: value)
            // The state file lives in the tree: it is input like any other.
            try profile.validate(file: root + self.stateDirectory + "/profile.json")
            return profile
        } catch let error as HostError {
            throw error
        } catch {
            throw HostError(code: .io, message: "\(error)", path: self.stateDirectory + "/profile.json")
        }
    }

    /// Reads a profile YAML file.
    public static func loadProfile(file: String) throws -> HostProfile {
        let documents = try ManifestReader.read(file: file)
        guard let document = documents.first else {
            throw HostError(code: .invalidArgument, message: "empty host profile", path: file)
        }
        let profile = try document.decode(HostProfile.self)
        try profile.validate(file: file)
        return profile
    }

    /// Creates the tree for `profile` under `root` (which must be empty or absent).
    /// A relative `root` is taken from the working directory; every name in the profile is validated first.
    public static func create(profile: HostProfile, at root: String) throws(HostError) {
        try profile.validate(file: "profile \(QuotedValue.quote(profile.name))")
        let root = LinuxSysFS.absolute(root)
        try LinuxSysFS(root: "/").makeDirectory(root)
        let fs = LinuxSysFS(root: root)
        if fs.exists("/sys") {
            throw HostError(
                code: .invalidArgument,
                message: "already holds a /sys tree; use an empty directory",
                path: root
            )
        }
        try fs.makeDirectory("/sys/bus/pci/devices")
        try fs.makeDirectory("/sys/class/net")
        try fs.makeDirectory("/sys/kernel/iommu_groups")
        try fs.makeDirectory("/proc")
        try fs.makeDirectory("/etc/udev/rules.d")
        try fs.makeDirectory("/tmp")
        try fs.createFile(
            "/proc/cmdline",
            (profile.cmdline.isEmpty ? "BOOT_IMAGE=/vmlinuz root=/dev/sda1" : profile.cmdline) + "\n"
        )
        try fs.createFile("/sys/bus/pci/drivers_probe", "")
        do {
            let json = GoJSON.encode(try ValueEncoder().encode(profile))
            try fs.createFile(self.stateDirectory + "/profile.json", json + "\n")
        } catch let error as HostError {
            throw error
        } catch {
            throw HostError(code: .io, message: "cannot encode profile: \(error)", path: root)
        }
        var drivers: Set<String> = ["vfio-pci"]
        for nic in profile.nics {
            drivers.insert(nic.driver)
            if !nic.vfDriver.isEmpty { drivers.insert(nic.vfDriver) }
        }
        for driver in drivers.sorted() {
            try fs.createFile("/sys/bus/pci/drivers/\(driver)/bind", "")
            try fs.createFile("/sys/bus/pci/drivers/\(driver)/unbind", "")
            try fs.createFile("/sys/bus/pci/drivers/\(driver)/new_id", "")
        }
        let sim = SimulatedSysFS(root: root, profile: profile)
        var iommuGroup = 0
        for (nicIndex, nic) in profile.nics.enumerated() {
            for (portIndex, port) in nic.ports.enumerated() {
                let address = try PCIAddress(port.pciAddress)
                let dir = address.sysfsPath
                try fs.makeDirectory(dir)
                try fs.createFile(dir + "/vendor", "0x\(nic.vendor)\n")
                try fs.createFile(dir + "/device", "0x\(nic.device)\n")
                try fs.createFile(dir + "/class", "0x020000\n")
                try fs.createFile(dir + "/numa_node", "\(nic.numa)\n")
                try fs.createFile(dir + "/driver_override", "(null)\n")
                if nic.iommu ?? true {
                    try fs.makeDirectory("/sys/kernel/iommu_groups/\(iommuGroup)")
                    try fs.symlink(dir + "/iommu_group", to: "../../../kernel/iommu_groups/\(iommuGroup)")
                    iommuGroup += 1
                }
                if nic.totalVfs > 0 {
                    try fs.createFile(dir + "/sriov_totalvfs", "\(nic.totalVfs)\n")
                    try fs.createFile(dir + "/sriov_numvfs", "0\n")
                    try fs.createFile(dir + "/sriov_drivers_autoprobe", (nic.autoprobe ?? true) ? "1\n" : "0\n")
                }
                try fs.symlink(dir + "/driver", to: "../../drivers/\(nic.driver)")
                if !port.name.isEmpty {
                    let mac = port.mac.isEmpty ? Self.mac(nic: nicIndex, port: portIndex, vf: nil) : port.mac
                    try sim.createNetdev(
                        name: port.name,
                        device: address,
                        mac: mac,
                        mtu: port.mtu > 0 ? port.mtu : (nic.linkType.uppercased() == "IB" ? 2044 : 1500),
                        nic: nic,
                        portName: "p\(portIndex)",
                        switchID: nic.switchdev ? Self.switchID(nic: nicIndex) : "",
                        altNames: port.altNames,
                        up: true
                    )
                }
                if port.numVfs > 0 {
                    try sim.write(dir + "/sriov_numvfs", "\(port.numVfs)")
                }
            }
        }
        if let openstack = profile.openstack {
            let base = "/config-drive/openstack/2018-08-27"
            try fs.createFile(base + "/meta_data.json", GoJSON.encode(openstack.metaData) + "\n")
            try fs.createFile(base + "/network_data.json", GoJSON.encode(openstack.networkData) + "\n")
        }
    }

    /// A deterministic locally administered MAC for a port or VF.
    static func mac(nic: Int, port: Int, vf: Int?) -> String {
        let bytes = [0x02, 0x5a, nic & 0xFF, port & 0xFF, ((vf ?? 0xFFF) >> 8) & 0xFF, (vf ?? 0xFFF) & 0xFF]
        return bytes.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }

    static func switchID(nic: Int) -> String {
        "5a\(String(format2: nic))0000c0ffee"
    }
}

extension String {
    fileprivate init(format2 value: Int) {
        let s = String(value & 0xFF, radix: 16)
        self = s.count == 1 ? "0" + s : s
    }
}
