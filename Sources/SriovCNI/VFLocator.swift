public import SriovHost

/// Where a VF is, found from its PCI address through sysfs as upstream finds it.
public struct VFLocation: Sendable, Hashable {
    public var deviceID: String
    /// The PF netdev name: the first entry of `/sys/bus/pci/devices/<vf>/physfn/net/`.
    public var pf: String
    /// `n` such that `/sys/class/net/<pf>/device/virtfn<n>` (n < `sriov_numvfs`) points at the VF.
    public var vfIndex: Int
    /// The VF netdev in the host namespace (first entry of `/sys/bus/pci/devices/<vf>/net/`); `nil` when none.
    public var netdev: String?
    /// The bound driver's name; `nil` when unbound.
    public var driver: String?

    /// Drivers whose devices have no netdev (upstream's `UserspaceDrivers`).
    public static let userspaceDrivers: Set<String> = ["vfio-pci", "uio_pci_generic", "igb_uio"]

    public var isDPDK: Bool { self.netdev == nil && self.driver.map(Self.userspaceDrivers.contains) == true }
}

enum VFLocator {
    /// `dddd:bb:dd.f`, hex digits, as the kernel names PCI functions (also keeps the ID safe in file names).
    static func isPCIAddress(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 12, b[4] == 0x3A, b[7] == 0x3A, b[10] == 0x2E else { return false }
        func hex(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
        }
        return [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { hex(b[$0]) } && (0x30...0x37).contains(b[11])
    }

    /// Resolves PF, VF index, netdev and driver; errors are worded as upstream's (Go's `os.Lstat` text).
    static func locate(_ deviceID: String, sysfs: any SysFS) throws(HostError) -> VFLocation {
        let physfnNet = "/sys/bus/pci/devices/\(deviceID)/physfn/net"
        guard sysfs.exists(physfnNet) else {
            throw HostError(code: .notFound, message: "lstat \(physfnNet): no such file or directory")
        }
        guard let pf = try sysfs.list(physfnNet).first else {
            throw HostError(code: .notFound, message: "PF network device not found")
        }
        let vfIndex = try Self.vfIndex(deviceID, pf: pf, sysfs: sysfs)
        let netdev = (try? sysfs.list("/sys/bus/pci/devices/\(deviceID)/net"))?.first
        let driver = try? sysfs.linkBasename("/sys/bus/pci/devices/\(deviceID)/driver")
        return VFLocation(deviceID: deviceID, pf: pf, vfIndex: vfIndex, netdev: netdev, driver: driver)
    }

    /// The VF's index on its PF: `n` such that the PF's `virtfn<n>` (n < `sriov_numvfs`) points at the VF. The PF
    /// device is found through the VF's `physfn` link (the same directory as upstream's
    /// `/sys/class/net/<pf>/device`).
    static func vfIndex(_ deviceID: String, pf: String, sysfs: any SysFS) throws(HostError) -> Int {
        let numvfsName = "/sys/class/net/\(pf)/device/sriov_numvfs"
        guard let pfDevice = try? sysfs.linkBasename("/sys/bus/pci/devices/\(deviceID)/physfn"),
            let text = sysfs.readIfPresent("/sys/bus/pci/devices/\(pfDevice)/sriov_numvfs")
        else {
            throw HostError(
                code: .notFound,
                message:
                    "failed to open the sriov_numfs of device \"\(pf)\": lstat \(numvfsName): no such file or directory"
            )
        }
        let count = Int(text.trimmingWhitespaceCNI) ?? 0
        for n in 0..<max(count, 0) {
            if (try? sysfs.linkBasename("/sys/bus/pci/devices/\(pfDevice)/virtfn\(n)")) == deviceID { return n }
        }
        throw HostError(code: .notFound, message: "unable to get VF ID with PF: \(pf) and VF pci address \(deviceID)")
    }
}

extension String {
    var trimmingWhitespaceCNI: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
