/// One device the plugin can put into a pool, as read from sysfs: a PCI function (VF, PF, accelerator) or an
/// auxiliary device (a Mellanox sub-function).
public struct HostDevice: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case pci
        case auxiliary
    }

    /// The ID the kubelet sees: the PCI address, or the auxiliary device name (`mlx5_core.sf.2`).
    public var id: String
    public var kind: Kind = .pci
    /// The PCI address (for an auxiliary device, of its parent function).
    public var pciAddress: String
    /// The PCI class byte (`0x02` network, `0x12` processing accelerator).
    public var classCode: Int = 0
    /// 4-digit lower-case hex, as in modalias.
    public var vendor: String = ""
    public var device: String = ""
    /// nil: no driver bound.
    public var driver: String?
    public var acpiIndex: String?
    /// The PF netdev (first entry of `physfn/net/`), nil for non-VFs.
    public var pfName: String?
    /// The PF PCI address (`physfn`), nil for non-VFs.
    public var pfAddress: String?
    /// The VF index (or SF number for an auxiliary device); -1 when the device is not a function of a PF.
    public var functionIndex: Int = -1
    /// The device's own netdev (first entry of `net/`).
    public var netdev: String?
    /// `ether`, `infiniband`, … (of the device's netdev, else of its PF's).
    public var linkType: String = ""
    /// -1: no NUMA information.
    public var numaNode: Int = -1
    public var iommuGroup: String?
    /// The IOMMU group is a `vfio-noiommu` one (no-IOMMU mode in a VM).
    public var noIOMMU: Bool = false
    /// `uio0` for a device bound to uio/igb_uio.
    public var uioDevice: String?
    /// RDMA device names (`mlx5_3`).
    public var rdmaDevices: [String] = []
    /// RDMA character devices, host paths in upstream's order (ucm, issm, umad, uverbs) per RDMA device.
    public var rdmaCharDevices: [(key: String, path: String)] = []
    public var vdpa: VDPA?
    /// An SR-IOV capable PF (`sriov_totalvfs` exists).
    public var isSriovPF: Bool = false
    public var numVfs: Int = 0
    /// One of its netdevs carries the IPv4 default route.
    public var hasDefaultRoute: Bool = false
    /// The auxiliary device type (`sf`).
    public var auxType: String?
    public var ddpProfile: String?
    /// IB partition key at index 0 (`0x7fff`), for infiniband link types.
    public var pKey: String?

    public struct VDPA: Sendable, Hashable {
        /// `vdpa0`
        public var name: String
        /// `vhost` or `virtio`
        public var type: String
        /// `/dev/vhost-vdpa-0` for the vhost type.
        public var path: String?
    }

    public init(id: String, pciAddress: String) {
        self.id = id
        self.pciAddress = pciAddress
    }

    public static func == (a: HostDevice, b: HostDevice) -> Bool {
        a.id == b.id && a.kind == b.kind && a.pciAddress == b.pciAddress && a.classCode == b.classCode
            && a.vendor == b.vendor && a.device == b.device && a.driver == b.driver && a.acpiIndex == b.acpiIndex
            && a.pfName == b.pfName && a.pfAddress == b.pfAddress && a.functionIndex == b.functionIndex
            && a.netdev == b.netdev && a.linkType == b.linkType && a.numaNode == b.numaNode
            && a.iommuGroup == b.iommuGroup && a.noIOMMU == b.noIOMMU && a.uioDevice == b.uioDevice
            && a.rdmaDevices == b.rdmaDevices && a.rdmaCharDevices.map(\.path) == b.rdmaCharDevices.map(\.path)
            && a.vdpa == b.vdpa && a.isSriovPF == b.isSriovPF && a.numVfs == b.numVfs
            && a.hasDefaultRoute == b.hasDefaultRoute && a.auxType == b.auxType && a.ddpProfile == b.ddpProfile
            && a.pKey == b.pKey
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.id)
        hasher.combine(self.driver)
        hasher.combine(self.numaNode)
    }
}

/// What a scan of the host found, plus the PF link states health checks need.
public struct HostSnapshot: Sendable, Equatable {
    public var devices: [HostDevice]
    /// PF netdev name → whether it has carrier.
    public var pfCarrier: [String: Bool]

    public init(devices: [HostDevice], pfCarrier: [String: Bool] = [:]) {
        self.devices = devices
        self.pfCarrier = pfCarrier
    }
}
