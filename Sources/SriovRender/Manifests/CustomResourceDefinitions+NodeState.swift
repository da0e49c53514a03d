import KubeCore
import SriovAPI

// Upstream: api/v1/sriovnetworknodestate_types.go and
// config/crd/bases/sriovnetwork.openshift.io_sriovnetworknodestates.yaml.
extension CustomResourceDefinitions {
    static let sriovNetworkNodeState = Definition(
        kind: SriovNetworkNodeState.kind,
        plural: SriovNetworkNodeState.plural,
        printerColumns: [
            PrinterColumn(name: "Sync Status", type: "string", jsonPath: ".status.syncStatus"),
            PrinterColumn(
                name: "Desired Sync State",
                type: "string",
                jsonPath: #".metadata.annotations.sriovnetwork\.openshift\.io/desired-state"#
            ),
            PrinterColumn(
                name: "Current Sync State",
                type: "string",
                jsonPath: #".metadata.annotations.sriovnetwork\.openshift\.io/current-state"#
            ),
            .age,
        ],
        schema: Self.root(
            kind: SriovNetworkNodeState.kind,
            plural: SriovNetworkNodeState.plural,
            spec: .object(
                "SriovNetworkNodeStateSpec defines the desired state of SriovNetworkNodeState",
                [
                    "interfaces": .array(
                        "Interfaces is the desired configuration of each PF",
                        of: Self.nodeStateInterface
                    ),
                    "bridges": Self.bridges,
                    "system": Self.system.described("System is the node-wide configuration"),
                ]
            ),
            status: .object(
                "SriovNetworkNodeStateStatus defines the observed state of SriovNetworkNodeState",
                [
                    "interfaces": .array(of: Self.interfaceExt),
                    "bridges": Self.bridges,
                    "system": Self.system,
                    "syncStatus": .string(),
                    "lastSyncError": .string(),
                ]
            )
        )
    )

    /// `spec.interfaces[]`
    private static let nodeStateInterface = OpenAPISchema.object(
        required: ["pciAddress"],
        [
            "pciAddress": .string(),
            "numVfs": .integer(),
            "mtu": .integer(),
            "name": .string(),
            "linkType": .string(),
            "eSwitchMode": .string(),
            "vfGroups": .array(
                of: .object([
                    "resourceName": .string(),
                    "deviceType": .string(),
                    "vfRange": .string(),
                    "policyName": .string(),
                    "mtu": .integer(),
                    "isRdma": .boolean(),
                    "vdpaType": .string(),
                ])
            ),
            "externallyManaged": .boolean(),
        ]
    )

    /// `status.interfaces[]`
    private static let interfaceExt = OpenAPISchema.object(
        required: ["pciAddress"],
        [
            "name": .string(),
            "mac": .string(),
            "driver": .string(),
            "pciAddress": .string(),
            "vendor": .string(),
            "deviceID": .string(),
            "netFilter": .string(),
            "mtu": .integer(),
            "numVfs": .integer(),
            "linkSpeed": .string(),
            "linkType": .string(),
            "linkAdminState": .string(),
            "eSwitchMode": .string(),
            "externallyManaged": .boolean(),
            "totalvfs": .integer(),
            "Vfs": .array(of: Self.virtualFunction),
            "altNames": .array(of: .string()),
        ]
    )

    /// `status.interfaces[].Vfs[]`
    private static let virtualFunction = OpenAPISchema.object(
        required: ["pciAddress", "vfID"],
        [
            "name": .string(),
            "mac": .string(),
            "assigned": .string(),
            "driver": .string(),
            "pciAddress": .string(),
            "vendor": .string(),
            "deviceID": .string(),
            "Vlan": .integer(),
            "mtu": .integer(),
            "vfID": .integer(),
            "vdpaType": .string(),
            "representorName": .string(),
            "guid": .string(),
        ]
    )

    /// `bridges`, the same in spec and status.
    private static let bridges = OpenAPISchema.object(
        "Bridges contains list of bridges",
        [
            "ovs": .array(
                of: .object(
                    "OVSConfigExt contains configuration for the concrete OVS bridge",
                    required: ["name"],
                    [
                        "name": .string("name of the bridge"),
                        "bridge": Self.ovsBridgeConfig("bridge-level configuration for the bridge"),
                        "uplinks": .array(
                            "uplink-level bridge configuration for each uplink(PF). currently must contain only one "
                                + "element",
                            of: .object(
                                "OVSUplinkConfigExt contains configuration for the concrete uplink(PF) interface",
                                required: ["pciAddress"],
                                [
                                    "pciAddress": .string("pci address of the PF"),
                                    "name": .string("name of the PF interface"),
                                    "interface": Self.ovsInterfaceConfig(
                                        "configuration from the Interface OVS table for the PF"
                                    ),
                                ]
                            )
                        ),
                    ]
                )
            )
        ]
    )

    /// `system`, the same in spec and status.
    private static let system = OpenAPISchema.object([
        "rdmaMode": OpenAPISchema.string(#"RDMA subsystem. Allowed value "shared", "exclusive"."#)
            .enumerated(["shared", "exclusive"])
    ])
}
