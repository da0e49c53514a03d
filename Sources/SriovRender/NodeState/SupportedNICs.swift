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

    public var models: [Model] {
        didSet { self.index = Index(self.models) }
    }

    /// Lookup sets, rebuilt when ``models`` changes: admission checks ask per NIC of every selected node.
    private var index: Index

    private struct Index: Sendable, Hashable {
        var vendors: Set<String> = []
        var pfModels: Set<String> = []
        var vfModels: Set<String> = []
        var pfDevices: Set<String> = []
        var vfOfPF: [String: String] = [:]

        init(_ models: [Model]) {
            for model in models {
                self.vendors.insert(model.vendor)
                self.pfModels.insert(model.vendor + " " + model.pfDeviceID)
                self.vfModels.insert(model.vendor + " " + model.vfDeviceID)
                self.pfDevices.insert(model.pfDeviceID)
                // The first entry for a PF device id wins, as upstream's GetVfDeviceID loop.
                if self.vfOfPF[model.pfDeviceID] == nil { self.vfOfPF[model.pfDeviceID] = model.vfDeviceID }
            }
        }
    }

    public init(models: [Model]) {
        self.models = models
        self.index = Index(models)
    }

    public static func == (a: SupportedNICs, b: SupportedNICs) -> Bool { a.models == b.models }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.models) }

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
        self.index = Index(models)
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
    public func vfDeviceID(ofPF deviceID: String) -> String? { self.index.vfOfPF[deviceID] }

    public func isSupported(vendor: String) -> Bool { self.index.vendors.contains(vendor) }

    public func isSupported(vendor: String, pfDeviceID: String) -> Bool {
        self.index.pfModels.contains(vendor + " " + pfDeviceID)
    }

    public func isSupported(vendor: String, vfDeviceID: String) -> Bool {
        self.index.vfModels.contains(vendor + " " + vfDeviceID)
    }

    public func isSupported(pfDeviceID: String) -> Bool { self.index.pfDevices.contains(pfDeviceID) }

    /// The list upstream's Helm chart ships in the `supported-nic-ids` ConfigMap, in the chart's order.
    /// Upstream: deployment/sriov-network-operator-chart/templates/configmap.yaml at commit
    /// 32f7fe1233c8dcbd31bfd3bbded41fe0e5ea53ee (45 models, with E810-XXV backplane, E823L, E825-C, E830,
    /// the XXV710 N3000 and the Amazon ENA).
    public static let upstreamDefault = SupportedNICs(
        models: Self.chartEntries.map { Model(name: $0.0, vendor: $0.1, pfDeviceID: $0.2, vfDeviceID: $0.3) }
    )

    static let chartEntries: [(String, String, String, String)] = [
        ("Intel_i40e_XXV710", "8086", "158a", "154c"),
        ("Intel_i40e_25G_SFP28", "8086", "158b", "154c"),
        ("Intel_i40e_10G_X710_SFP", "8086", "1572", "154c"),
        ("Intel_ixgbe_10G_X550", "8086", "1563", "1565"),
        ("Intel_ixgbe_82576", "8086", "10c9", "10ca"),
        ("Intel_i40e_X710_X557_AT_10G", "8086", "1589", "154c"),
        ("Intel_i40e_10G_X710_BACKPLANE", "8086", "1581", "154c"),
        ("Intel_i40e_10G_X710_BASE_T", "8086", "15ff", "154c"),
        ("Intel_i40e_XXV710_N3000", "8086", "0d58", "154c"),
        ("Intel_i40e_40G_XL710_QSFP", "8086", "1583", "154c"),
        ("Intel_ice_Columbiaville_E810-CQDA2_2CQDA2", "8086", "1592", "1889"),
        ("Intel_ice_Columbiaville_E810-XXVDA4", "8086", "1593", "1889"),
        ("Intel_ice_Columbiaville_E810-XXVDA2", "8086", "159b", "1889"),
        ("Intel_ice_Columbiaville_E810-XXV_BACKPLANE", "8086", "1599", "1889"),
        ("Intel_ice_Columbiaville_E810", "8086", "1591", "1889"),
        ("Intel_ice_Columbiapark_E823C", "8086", "188a", "1889"),
        ("Intel_ice_Columbiapark_E823L_SFP", "8086", "124d", "1889"),
        ("Intel_ice_Columbiapark_E823L_BACKPLANE", "8086", "124c", "1889"),
        ("Intel_ice_Columbiapark_E825C_BACKPLANE", "8086", "579c", "1889"),
        ("Intel_ice_Columbiapark_E825C_QSFP", "8086", "579d", "1889"),
        ("Intel_ice_Columbiapark_E825C_SFP", "8086", "579e", "1889"),
        ("Intel_ice_Connorsville_E830_QSFP", "8086", "12d2", "1889"),
        ("Intel_ice_Connorsville_E830_SFP", "8086", "12d3", "1889"),
        ("Nvidia_mlx5_ConnectX-4", "15b3", "1013", "1014"),
        ("Nvidia_mlx5_ConnectX-4LX", "15b3", "1015", "1016"),
        ("Nvidia_mlx5_ConnectX-5", "15b3", "1017", "1018"),
        ("Nvidia_mlx5_ConnectX-5_Ex", "15b3", "1019", "101a"),
        ("Nvidia_mlx5_ConnectX-6", "15b3", "101b", "101c"),
        ("Nvidia_mlx5_ConnectX-6_Dx", "15b3", "101d", "101e"),
        ("Nvidia_mlx5_ConnectX-6_Lx", "15b3", "101f", "101e"),
        ("Nvidia_mlx5_ConnectX-7", "15b3", "1021", "101e"),
        ("Nvidia_mlx5_ConnectX-8", "15b3", "1023", "101e"),
        ("Nvidia_mlx5_MT42822_BlueField-2_integrated_ConnectX-6_Dx", "15b3", "a2d6", "101e"),
        ("Nvidia_mlx5_MT43244_BlueField-3_integrated_ConnectX-7_Dx", "15b3", "a2dc", "101e"),
        ("Broadcom_bnxt_BCM57414_2x25G", "14e4", "16d7", "16dc"),
        ("Broadcom_bnxt_BCM75508_2x100G", "14e4", "1750", "1806"),
        ("Qlogic_qede_QL45000_50G", "1077", "1654", "1664"),
        ("Red_Hat_Virtio_network_device", "1af4", "1000", "1000"),
        ("Red_Hat_Virtio_1_0_network_device", "1af4", "1041", "1041"),
        ("Marvell_OCTEON_TX2_CN96XX", "177d", "b200", "b203"),
        ("Marvell_OCTEON_TX2_CN98XX", "177d", "b100", "b103"),
        ("Marvell_OCTEON_Fusion_CNF95XX", "177d", "b600", "b603"),
        ("Marvell_OCTEON10_CN10XXX", "177d", "b900", "b903"),
        ("Marvell_OCTEON_Fusion_CNF105XX", "177d", "ba00", "ba03"),
        ("Amazon_Elastic_Network_Adapter", "1d0f", "ec20", "ec20"),
    ]
}
