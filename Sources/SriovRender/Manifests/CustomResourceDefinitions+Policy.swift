import KubeCore
import SriovAPI

// Upstream: api/v1/sriovnetworknodepolicy_types.go and
// config/crd/bases/sriovnetwork.openshift.io_sriovnetworknodepolicies.yaml.
extension CustomResourceDefinitions {
    static let sriovNetworkNodePolicy = Definition(
        kind: SriovNetworkNodePolicy.kind,
        plural: SriovNetworkNodePolicy.plural,
        printerColumns: [],
        schema: Self.root(
            kind: SriovNetworkNodePolicy.kind,
            plural: SriovNetworkNodePolicy.plural,
            spec: Self.policySpec,
            status: .object("SriovNetworkNodePolicyStatus defines the observed state of SriovNetworkNodePolicy")
        )
    )

    private static let policySpec = OpenAPISchema.object(
        "SriovNetworkNodePolicySpec defines the desired state of SriovNetworkNodePolicy",
        required: ["nicSelector", "nodeSelector", "numVfs", "resourceName"],
        [
            "resourceName": .string("SRIOV Network device plugin endpoint resource name"),
            "nodeSelector": Self.stringMap("NodeSelector selects the nodes to be configured"),
            "priority": .integer(
                "Priority of the policy, higher priority policies can override lower ones.",
                minimum: 0,
                maximum: 99
            ),
            "mtu": .integer("MTU of VF", minimum: 1),
            "numVfs": .integer("Number of VFs for each PF", minimum: 0),
            "nicSelector": Self.nicSelector,
            "deviceType": OpenAPISchema.string(
                #"The driver type for configured VFs. Allowed value "netdevice", "vfio-pci". Defaults to netdevice."#
            ).enumerated(["netdevice", "vfio-pci"]).defaulted(.string("netdevice")),
            "isRdma": .boolean("RDMA mode. Defaults to false."),
            "needVhostNet": .boolean("mount vhost-net device. Defaults to false."),
            "linkType": OpenAPISchema.string(#"NIC Link Type. Allowed value "eth", "ETH", "ib", and "IB"."#)
                .enumerated(["eth", "ETH", "ib", "IB"]),
            "eSwitchMode": OpenAPISchema.string(#"NIC Device Mode. Allowed value "legacy","switchdev"."#)
                .enumerated(["legacy", "switchdev"]),
            "vdpaType": OpenAPISchema.string(#"VDPA device type. Allowed value "virtio", "vhost""#)
                .enumerated(["virtio", "vhost"]),
            "excludeTopology": .boolean(
                "Exclude device's NUMA node when advertising this resource by SRIOV network device plugin. "
                    + "Default to false."
            ),
            "externallyManaged": .boolean(
                "don't create the virtual function only allocated them to the device plugin. Defaults to false."
            ),
            "bridge": .object(
                "contains bridge configuration for matching PFs, valid only for eSwitchMode==switchdev",
                [
                    "ovs": .object(
                        "contains configuration for the OVS bridge,",
                        [
                            "bridge": Self.ovsBridgeConfig("contains bridge level settings"),
                            "uplink": .object(
                                "contains settings for uplink (PF)",
                                [
                                    "interface": Self.ovsInterfaceConfig(
                                        "contains settings for PF interface in the OVS bridge"
                                    )
                                ]
                            ),
                        ]
                    )
                ]
            ),
        ]
    )

    private static let nicSelector = OpenAPISchema.object(
        "NicSelector selects the NICs to be configured",
        [
            "vendor": .string(#"The vendor hex code of SR-IoV device. Allowed value "8086", "15b3"."#),
            "deviceID": .string(
                #"The device hex code of SR-IoV device. Allowed value "0d58", "1572", "158b", "1013", "1015", "1017", "#
                    + #""101b"."#
            ),
            "rootDevices": .array("PCI address of SR-IoV PF.", of: .string()),
            "pfNames": .array("Name of SR-IoV PF.", of: .string()),
            "netFilter": .string(
                #"Infrastructure Networking selection filter. Allowed value "#
                    + #""openstack/NetworkID:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx""#
            ),
        ]
    )

    /// `OVSBridgeConfig`, shared by the policy and the NodeState's `bridges.ovs[].bridge`.
    static func ovsBridgeConfig(_ description: String) -> OpenAPISchema {
        .object(
            description,
            [
                "datapathType": .string("configure datapath_type field in the Bridge table in OVSDB"),
                "externalIDs": Self.stringMap("IDs to inject to external_ids field in the Bridge table in OVSDB"),
                "otherConfig": Self.stringMap(
                    "additional options to inject to other_config field in the bridge table in OVSDB"
                ),
                "failMode": OpenAPISchema.string("configure fail_mode field in the Bridge table in OVSDB")
                    .enumerated(["secure", "standalone"]),
            ]
        )
    }

    /// `OVSInterfaceConfig`, shared by the policy's uplink and the NodeState's `bridges.ovs[].uplinks[].interface`.
    static func ovsInterfaceConfig(_ description: String) -> OpenAPISchema {
        .object(
            description,
            [
                "type": .string("type field in the Interface table in OVSDB"),
                "options": Self.stringMap("options field in the Interface table in OVSDB"),
                "externalIDs": Self.stringMap("external_ids field in the Interface table in OVSDB"),
                "otherConfig": Self.stringMap("other_config field in the Interface table in OVSDB"),
                "mtuRequest": .integer("mtu_request field in the Interface table in OVSDB"),
            ]
        )
    }
}
