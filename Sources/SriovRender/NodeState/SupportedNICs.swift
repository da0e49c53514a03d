public import KubeCore

/// The NIC models the operator supports: vendor, PF device id and VF device id.
///
/// Upstream ships the list in the `supported-nic-ids` ConfigMap; users extend it by editing the
/// ConfigMap. ``init(configMap:)`` reads that ConfigMap; ``upstreamDefault`` is the chart's list.
public struct SupportedNICs: Sendable, Hashable {
    public struct Model: Sendable, Hashable {
        public var name: String
        public var vendor: String
        public var pfDeviceID: String
        public var vfDeviceID: String

        public init(name: String, vendor: String, pfDeviceID: String, vfDeviceID: String) {
            self.name = name
            self.vendor = vendor
            self.pfDeviceID = pfDeviceID
            self.vfDeviceID = vfDeviceID
        }
    }

    public var models: [Model]

    public init(models: [Model]) { self.models = models }

    /// The name of the ConfigMap that overrides the table.
    public static let configMapName = "supported-nic-ids"

    /// Reads a `supported-nic-ids` ConfigMap: each value is `"<vendor> <pf> <vf>"`. Entries that do not
    /// have three fields are returned as errors (and skipped).
    public init(configMap: ConfigMap) {
        var models: [Model] = []
        for key in configMap.data.keys.sorted() {
            guard let value = configMap.data[key] else { continue }
            let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 3 else { continue }
            models.append(
                Model(
                    name: key,
                    vendor: String(fields[0]),
                    pfDeviceID: String(fields[1]),
                    vfDeviceID: String(fields[2])
                )
            )
        }
        self.models = models
    }

    /// Malformed entries of a `supported-nic-ids` ConfigMap, as messages.
    public static func problems(in configMap: ConfigMap) -> [String] {
        configMap.data.keys.sorted().compactMap { key in
            guard let value = configMap.data[key] else { return nil }
            let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count == 3 { return nil }
            return "data.\(key): \(GoJSON.quote(value)) is not \"<vendor> <pf device id> <vf device id>\""
        }
    }

    /// The VF device id of a PF device id, or nil. Only the device id is compared, as upstream does
    /// (api/v1/helper.go GetVfDeviceID).
    public func vfDeviceID(ofPF deviceID: String) -> String? {
        self.models.first(where: { $0.pfDeviceID == deviceID })?.vfDeviceID
    }

    public func isSupported(vendor: String) -> Bool { self.models.contains { $0.vendor == vendor } }

    public func isSupported(vendor: String, pfDeviceID: String) -> Bool {
        self.models.contains { $0.vendor == vendor && $0.pfDeviceID == pfDeviceID }
    }

    public func isSupported(vendor: String, vfDeviceID: String) -> Bool {
        self.models.contains { $0.vendor == vendor && $0.vfDeviceID == vfDeviceID }
    }

    public func isSupported(pfDeviceID: String) -> Bool { self.models.contains { $0.pfDeviceID == pfDeviceID } }

    /// The list shipped by upstream's Helm chart (`supportedNicIds`).
    public static let upstreamDefault = SupportedNICs(models: [
        Model(name: "Intel_i40e_XXV710", vendor: "8086", pfDeviceID: "158a", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_25G_SFP28", vendor: "8086", pfDeviceID: "158b", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_10G_X710_SFP", vendor: "8086", pfDeviceID: "1572", vfDeviceID: "154c"),
        Model(name: "Intel_ixgbe_10G_X550", vendor: "8086", pfDeviceID: "1563", vfDeviceID: "1565"),
        Model(name: "Intel_ixgbe_82576", vendor: "8086", pfDeviceID: "10c9", vfDeviceID: "10ca"),
        Model(name: "Intel_i40e_X710_X557_AT_10G", vendor: "8086", pfDeviceID: "1589", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_10G_X710_BACKPLANE", vendor: "8086", pfDeviceID: "1581", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_10G_X710_BASE_T", vendor: "8086", pfDeviceID: "15ff", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_20G_X710_SFP", vendor: "8086", pfDeviceID: "1587", vfDeviceID: "154c"),
        Model(name: "Intel_i40e_40G_XL710_QSFP", vendor: "8086", pfDeviceID: "1583", vfDeviceID: "154c"),
        Model(
            name: "Intel_ice_Columbiaville_E810-CQDA2_2CQDA2",
            vendor: "8086",
            pfDeviceID: "1592",
            vfDeviceID: "1889"
        ),
        Model(name: "Intel_ice_Columbiaville_E810-XXVDA4", vendor: "8086", pfDeviceID: "1593", vfDeviceID: "1889"),
        Model(name: "Intel_ice_Columbiaville_E810-XXVDA2", vendor: "8086", pfDeviceID: "159b", vfDeviceID: "1889"),
        Model(name: "Intel_ice_Columbiaville_E810", vendor: "8086", pfDeviceID: "1591", vfDeviceID: "1889"),
        Model(name: "Intel_ice_Columbiapark_E823C", vendor: "8086", pfDeviceID: "188a", vfDeviceID: "1889"),
        Model(name: "Intel_ice_Columbiapark_E823L_SFP", vendor: "8086", pfDeviceID: "124c", vfDeviceID: "1889"),
        Model(name: "Intel_ice_Columbiapark_E823L_BACKPLANE", vendor: "8086", pfDeviceID: "124d", vfDeviceID: "1889"),
        Model(name: "Nvidia_mlx5_ConnectX-4", vendor: "15b3", pfDeviceID: "1013", vfDeviceID: "1014"),
        Model(name: "Nvidia_mlx5_ConnectX-4LX", vendor: "15b3", pfDeviceID: "1015", vfDeviceID: "1016"),
        Model(name: "Nvidia_mlx5_ConnectX-5", vendor: "15b3", pfDeviceID: "1017", vfDeviceID: "1018"),
        Model(name: "Nvidia_mlx5_ConnectX-5_Ex", vendor: "15b3", pfDeviceID: "1019", vfDeviceID: "101a"),
        Model(name: "Nvidia_mlx5_ConnectX-6", vendor: "15b3", pfDeviceID: "101b", vfDeviceID: "101c"),
        Model(name: "Nvidia_mlx5_ConnectX-6_Dx", vendor: "15b3", pfDeviceID: "101d", vfDeviceID: "101e"),
        Model(name: "Nvidia_mlx5_ConnectX-6_Lx", vendor: "15b3", pfDeviceID: "101f", vfDeviceID: "101e"),
        Model(name: "Nvidia_mlx5_ConnectX-7", vendor: "15b3", pfDeviceID: "1021", vfDeviceID: "101e"),
        Model(name: "Nvidia_mlx5_ConnectX-8", vendor: "15b3", pfDeviceID: "1023", vfDeviceID: "101e"),
        Model(
            name: "Nvidia_mlx5_MT42822_BlueField-2_integrated_ConnectX-6_Dx",
            vendor: "15b3",
            pfDeviceID: "a2d6",
            vfDeviceID: "101e"
        ),
        Model(
            name: "Nvidia_mlx5_MT43244_BlueField-3_integrated_ConnectX-7_Dx",
            vendor: "15b3",
            pfDeviceID: "a2dc",
            vfDeviceID: "101e"
        ),
        Model(name: "Broadcom_bnxt_BCM57414_2x25G", vendor: "14e4", pfDeviceID: "16d7", vfDeviceID: "16dc"),
        Model(name: "Broadcom_bnxt_BCM75508_2x100G", vendor: "14e4", pfDeviceID: "1750", vfDeviceID: "1806"),
        Model(name: "Qlogic_qede_QL45000_50G", vendor: "1077", pfDeviceID: "1654", vfDeviceID: "1664"),
        Model(name: "Red_Hat_Virtio_network_device", vendor: "1af4", pfDeviceID: "1000", vfDeviceID: "1000"),
        Model(name: "Red_Hat_Virtio_1_0_network_device", vendor: "1af4", pfDeviceID: "1041", vfDeviceID: "1041"),
        Model(name: "Marvell_OCTEON_TX2_CN96XX", vendor: "177d", pfDeviceID: "b200", vfDeviceID: "b203"),
        Model(name: "Marvell_OCTEON_TX2_CN98XX", vendor: "177d", pfDeviceID: "b100", vfDeviceID: "b103"),
        Model(name: "Marvell_OCTEON_Fusion_CNF95XX", vendor: "177d", pfDeviceID: "b600", vfDeviceID: "b603"),
        Model(name: "Marvell_OCTEON10_CN10XXX", vendor: "177d", pfDeviceID: "b900", vfDeviceID: "b903"),
        Model(name: "Marvell_OCTEON_Fusion_CNF105XX", vendor: "177d", pfDeviceID: "ba00", vfDeviceID: "ba03"),
    ])
}
