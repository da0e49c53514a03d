import KubeCore
import SriovAPI

// Upstream: api/v1/{sriovnetwork,sriovibnetwork,ovsnetwork}_types.go and the matching
// config/crd/bases/sriovnetwork.openshift.io_*networks.yaml.
extension CustomResourceDefinitions {
    static let sriovNetwork = Definition(
        kind: SriovNetwork.kind,
        plural: SriovNetwork.plural,
        printerColumns: [Self.readyColumn, .age],
        schema: Self.root(
            kind: SriovNetwork.kind,
            plural: SriovNetwork.plural,
            spec: .object(
                "SriovNetworkSpec defines the desired state of SriovNetwork",
                required: ["resourceName"],
                [
                    "networkNamespace": Self.networkNamespace,
                    "resourceName": .string("SRIOV Network device plugin endpoint resource name"),
                    "capabilities": .string(
                        #"Capabilities to be configured for this network. Capabilities supported: (mac|ips), e.g. "#
                            + #"'{"mac": true}'"#
                    ),
                    "ipam": Self.ipam,
                    "vlan": .integer("VLAN ID to assign for the VF. Defaults to 0.", minimum: 0, maximum: 4094),
                    "vlanQoS": .integer("VLAN QoS ID to assign for the VF. Defaults to 0.", minimum: 0, maximum: 7),
                    "spoofChk": OpenAPISchema.string("VF spoof check, (on|off)").enumerated(["on", "off"]),
                    "trust": OpenAPISchema.string("VF trust mode (on|off)").enumerated(["on", "off"]),
                    "linkState": Self.linkState,
                    "minTxRate": .integer(
                        "Minimum tx rate, in Mbps, for the VF. Defaults to 0 (no rate limiting). "
                            + "min_tx_rate should be <= max_tx_rate.",
                        minimum: 0
                    ),
                    "maxTxRate": .integer(
                        "Maximum tx rate, in Mbps, for the VF. Defaults to 0 (no rate limiting)",
                        minimum: 0
                    ),
                    "vlanProto": OpenAPISchema.string("VLAN proto to assign for the VF. Defaults to 802.1q.")
                        .enumerated(["802.1q", "802.1Q", "802.1ad", "802.1AD"]),
                    "metaPlugins": Self.metaPlugins,
                    "logLevel": OpenAPISchema.string(
                        """
                        LogLevel sets the log level of the SRIOV CNI plugin - either of panic, error, warning, info, \
                        debug. Defaults
                        to info if left blank.
                        """
                    ).enumerated(["panic", "error", "warning", "info", "debug", ""]).defaulted(.string("info")),
                    "logFile": .string(
                        "LogFile sets the log file of the SRIOV CNI plugin logs. If unset (default), this will log "
                            + "to stderr and thus to multus and container runtime logs."
                    ),
                ]
            ),
            status: Self.networkStatus("SriovNetwork")
        )
    )

    static let sriovIBNetwork = Definition(
        kind: SriovIBNetwork.kind,
        plural: SriovIBNetwork.plural,
        printerColumns: [Self.readyColumn, .age],
        schema: Self.root(
            kind: SriovIBNetwork.kind,
            plural: SriovIBNetwork.plural,
            spec: .object(
                "SriovIBNetworkSpec defines the desired state of SriovIBNetwork",
                required: ["resourceName"],
                [
                    "networkNamespace": Self.networkNamespace,
                    "resourceName": .string("SRIOV Network device plugin endpoint resource name"),
                    "capabilities": .string(
                        #"Capabilities to be configured for this network. Capabilities supported: "#
                            + #"(infinibandGUID), e.g. '{"infinibandGUID": true}'"#
                    ),
                    "ipam": Self.ipam,
                    "linkState": Self.linkState,
                    "metaPlugins": Self.metaPlugins,
                ]
            ),
            status: Self.networkStatus("SriovIBNetwork")
        )
    )

    static let ovsNetwork = Definition(
        kind: OVSNetwork.kind,
        plural: OVSNetwork.plural,
        printerColumns: [Self.readyColumn, .age],
        schema: Self.root(
            kind: OVSNetwork.kind,
            plural: OVSNetwork.plural,
            spec: .object(
                "OVSNetworkSpec defines the desired state of OVSNetwork",
                required: ["resourceName"],
                [
                    "networkNamespace": Self.networkNamespace,
                    "resourceName": .string("OVS Network device plugin endpoint resource name"),
                    "capabilities": .string(
                        #"Capabilities to be configured for this network. Capabilities supported: (mac|ips), e.g. "#
                            + #"'{"mac": true}'"#
                    ),
                    "ipam": Self.ipam,
                    "metaPlugins": Self.metaPlugins,
                    "bridge": .string(
                        "name of the OVS bridge, if not set OVS will automatically select bridge based on VF PCI "
                            + "address"
                    ),
                    "vlan": .integer("vlan to assign for the OVS port", minimum: 0, maximum: 4095),
                    "mtu": .integer("Mtu for the OVS port"),
                    "trunk": .array(
                        "Trunk configuration for the OVS port",
                        of: .object(
                            "TrunkConfig contains configuration for bridge trunk",
                            [
                                "minID": .integer(minimum: 0, maximum: 4095),
                                "maxID": .integer(minimum: 0, maximum: 4095),
                                "id": .integer(minimum: 0, maximum: 4095),
                            ]
                        )
                    ),
                    "interfaceType": .string("The type of interface on ovs."),
                ]
            ),
            status: Self.networkStatus("OVSNetwork")
        )
    )

    private static let networkNamespace = OpenAPISchema.string(
        "Namespace of the NetworkAttachmentDefinition custom resource"
    )

    private static let ipam = OpenAPISchema.string("IPAM configuration to be used for this network.")

    private static let linkState = OpenAPISchema.string("VF link state (enable|disable|auto)")
        .enumerated(["auto", "enable", "disable"])

    private static let metaPlugins = OpenAPISchema.string(
        "MetaPluginsConfig configuration to be used in order to chain metaplugins to the sriov interface returned "
            + "by the operator."
    )

    /// `NetworkStatus`: only conditions.
    private static func networkStatus(_ kind: String) -> OpenAPISchema {
        .object(
            "\(kind)Status defines the observed state of \(kind)",
            ["conditions": Self.conditions(kind)]
        )
    }
}
