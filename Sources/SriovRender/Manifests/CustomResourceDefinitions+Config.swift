import KubeCore
import SriovAPI

// Upstream: api/v1/{sriovoperatorconfig,sriovnetworkpoolconfig}_types.go and the matching
// config/crd/bases/sriovnetwork.openshift.io_*.yaml.
extension CustomResourceDefinitions {
    static let sriovOperatorConfig = Definition(
        kind: SriovOperatorConfig.kind,
        plural: SriovOperatorConfig.plural,
        printerColumns: [],
        schema: Self.root(
            kind: SriovOperatorConfig.kind,
            plural: SriovOperatorConfig.plural,
            spec: .object(
                "SriovOperatorConfigSpec defines the desired state of SriovOperatorConfig",
                [
                    "configDaemonNodeSelector": Self.stringMap("NodeSelector selects the nodes to be configured"),
                    "enableInjector": .boolean(
                        "Flag to control whether the network resource injector webhook shall be deployed"
                    ),
                    "enableOperatorWebhook": .boolean(
                        "Flag to control whether the operator admission controller webhook shall be deployed"
                    ),
                    "logLevel": .integer(
                        "Flag to control the log verbose level of the operator. Set to '0' to show only the basic "
                            + "logs. And set to '2' to show all the available logs.",
                        minimum: 0,
                        maximum: 2
                    ),
                    "disableDrain": .boolean("Flag to disable nodes drain during debugging"),
                    "enableOvsOffload": .boolean(
                        "Flag to enable OVS hardware offload. Set to 'true' to provision "
                            + "switchdev-configuration.service and enable OpenvSwitch hw-offload on nodes."
                    ),
                    "configurationMode": OpenAPISchema.string(
                        """
                        Flag to enable the sriov-network-config-daemon to use a systemd service to configure \
                        SR-IOV devices on boot
                        Default mode: daemon
                        """
                    ).enumerated(["daemon", "systemd"]),
                    "useCDI": .boolean(
                        "Flag to enable Container Device Interface mode for SR-IOV Network Device Plugin"
                    ),
                    "disablePlugins": .array(
                        "DisablePlugins is a list of sriov-network-config-daemon plugins to disable",
                        of: OpenAPISchema.string("PluginNameValue defines the plugin name").enumerated(["mellanox"])
                    ),
                    "featureGates": .map("FeatureGates to enable experimental features", of: .boolean()),
                    "configDaemonEnvVars": Self.stringMap(
                        "Environment variables to set on the sriov-network-config-daemon"
                    ),
                ]
            ),
            status: .object(
                "SriovOperatorConfigStatus defines the observed state of SriovOperatorConfig",
                [
                    "conditions": Self.conditions("SriovOperatorConfig"),
                    "injector": .string("Show the runtime status of the network resource injector webhook"),
                    "operatorWebhook": .string("Show the runtime status of the operator admission controller webhook"),
                ]
            )
        )
    )

    static let sriovNetworkPoolConfig = Definition(
        kind: SriovNetworkPoolConfig.kind,
        plural: SriovNetworkPoolConfig.plural,
        printerColumns: [],
        schema: Self.root(
            kind: SriovNetworkPoolConfig.kind,
            plural: SriovNetworkPoolConfig.plural,
            spec: .object(
                "SriovNetworkPoolConfigSpec defines the desired state of SriovNetworkPoolConfig",
                [
                    "ovsHardwareOffloadConfig": .object(
                        "OvsHardwareOffloadConfig describes the OVS HWOL configuration for selected Nodes",
                        [
                            "name": .string(
                                """
                                Name is mandatory and must be unique.
                                On Kubernetes:
                                Name is the name of OvsHardwareOffloadConfig
                                On OpenShift:
                                Name is the name of MachineConfigPool to be enabled with OVS hardware offload
                                """
                            )
                        ]
                    ),
                    "nodeSelector": Self.labelSelector("nodeSelector specifies a label selector for Nodes"),
                    "maxUnavailable": .intOrString(
                        """
                        maxUnavailable defines either an integer number or percentage
                        of nodes in the pool that can go Unavailable during an update.

                        A value larger than 1 will mean multiple nodes going unavailable during
                        the update, which may affect your workload stress on the remaining nodes.
                        Drain will respect Pod Disruption Budgets (PDBs) such as etcd quorum guards,
                        even if maxUnavailable is greater than one.
                        """
                    ),
                    "rdmaMode": OpenAPISchema.string(#"RDMA subsystem. Allowed value "shared", "exclusive"."#)
                        .enumerated(["shared", "exclusive"]),
                ]
            ),
            status: .object("SriovNetworkPoolConfigStatus defines the observed state of SriovNetworkPoolConfig")
        )
    )

    /// `metav1.LabelSelector`, as controller-gen writes it.
    private static func labelSelector(_ description: String) -> OpenAPISchema {
        let requirement = OpenAPISchema.object(
            """
            A label selector requirement is a selector that contains values, a key, and an operator that
            relates the key and values.
            """,
            required: ["key", "operator"],
            [
                "key": .string("key is the label key that the selector applies to."),
                "operator": .string(
                    """
                    operator represents a key's relationship to a set of values.
                    Valid operators are In, NotIn, Exists and DoesNotExist.
                    """
                ),
                "values": OpenAPISchema.array(
                    """
                    values is an array of string values. If the operator is In or NotIn,
                    the values array must be non-empty. If the operator is Exists or DoesNotExist,
                    the values array must be empty. This array is replaced during a strategic
                    merge patch.
                    """,
                    of: .string()
                ).listed("atomic"),
            ]
        )
        var selector = OpenAPISchema.object(
            description,
            [
                "matchLabels": Self.stringMap(
                    """
                    matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels
                    map is equivalent to an element of matchExpressions, whose key field is "key", the
                    operator is "In", and the values array contains only "value". The requirements are ANDed.
                    """
                ),
                "matchExpressions": OpenAPISchema.array(
                    "matchExpressions is a list of label selector requirements. The requirements are ANDed.",
                    of: requirement
                ).listed("atomic"),
            ]
        )
        selector.mapType = "atomic"
        return selector
    }
}
