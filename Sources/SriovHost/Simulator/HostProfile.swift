public import KubeCore

/// A description of a host's NICs from which the kernel simulator builds a sysfs tree.
///
/// ```yaml
/// name: intel-e810
/// cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt"
/// nics:
/// - model: Intel E810-XXVDA2
///   vendor: "8086"
///   device: "159b"
///   vfDevice: "1889"
///   driver: ice
///   vfDriver: iavf
///   totalVfs: 64
///   ports:
///   - {pciAddress: "0000:3b:00.0", name: ens1f0, mac: "b4:96:91:a5:c7:20", altNames: [enp59s0f0]}
/// ```
public struct HostProfile: Codable, Sendable, Hashable {
    public var name: String
    @OmitEmpty public var description: String
    /// `/proc/cmdline`.
    @OmitEmpty public var cmdline: String
    /// `baremetal` (default) or `openstack`.
    @OmitEmpty public var platform: String
    public var nics: [NIC]
    /// OpenStack metadata written as a config drive under `<root>/config-drive/openstack/2018-08-27/`.
    public var openstack: OpenStackData?

    public init(name: String, nics: [NIC], cmdline: String = "", platform: String = "") {
        self.name = name
        self.nics = nics
        self.cmdline = cmdline
        self.platform = platform
    }

    public struct NIC: Codable, Sendable, Hashable {
        @OmitEmpty public var model: String
        public var vendor: String
        public var device: String
        /// VF device id (the PF's own id for a NIC without SR-IOV).
        @OmitEmpty public var vfDevice: String
        public var driver: String
        @OmitEmpty public var vfDriver: String
        /// 0: no SR-IOV capability (no `sriov_totalvfs` file).
        @OmitEmpty public var totalVfs: Int
        @OmitEmpty public var numa: Int
        /// Whether devices get an IOMMU group (vfio-pci needs one). Default true.
        public var iommu: Bool?
        /// `ETH` (default) or `IB`.
        @OmitEmpty public var linkType: String
        /// Mb/s; default 25000.
        @OmitEmpty public var speed: Int
        /// Whether the NIC supports switchdev (devlink eswitch).
        @OmitEmpty public var switchdev: Bool
        /// `sriov_drivers_autoprobe`: false creates VFs without a driver.
        public var autoprobe: Bool?
        public var ports: [Port]

        public init(
            vendor: String,
            device: String,
            vfDevice: String = "",
            driver: String,
            vfDriver: String = "",
            totalVfs: Int = 0,
            iommu: Bool? = nil,
            linkType: String = "",
            switchdev: Bool = false,
            autoprobe: Bool? = nil,
            ports: [Port]
        ) {
            self.vendor = vendor
            self.device = device
            self.vfDevice = vfDevice
            self.driver = driver
            self.vfDriver = vfDriver
            self.totalVfs = totalVfs
            self.iommu = iommu
            self.linkType = linkType
            self.switchdev = switchdev
            self.autoprobe = autoprobe
            self.ports = ports
        }
    }

    public struct Port: Codable, Sendable, Hashable {
        public var pciAddress: String
        /// Empty: the PF has no netdev (e.g. bound to a DPDK driver).
        @OmitEmpty public var name: String
        @OmitEmpty public var mac: String
        @OmitEmpty public var altNames: [String]
        @OmitEmpty public var mtu: Int
        /// VFs that exist when the tree is created.
        @OmitEmpty public var numVfs: Int

        public init(pciAddress: String, name: String = "", mac: String = "", altNames: [String] = [], numVfs: Int = 0) {
            self.pciAddress = pciAddress
            self.name = name
            self.mac = mac
            self.altNames = altNames
            self.numVfs = numVfs
        }
    }

    public struct OpenStackData: Codable, Sendable, Hashable {
        /// The JSON documents, verbatim.
        public var metaData: JSONValue
        public var networkData: JSONValue
    }
}
