import KubeCore
import SriovAPI

/// One object of every kind with **every** field set to a non-zero value, so that its encoding contains every
/// key the Swift type can write. The CRD tests check these against the schemas in both directions.
enum FullyPopulated {
    static let condition = Condition(
        type: "Ready",
        status: "True",
        observedGeneration: 3,
        lastTransitionTime: "2026-05-01T10:00:00Z",
        reason: "NetworkAttachmentDefinitionCreated",
        message: "NetworkAttachmentDefinition is created"
    )

    static let bridgeConfig = OVSBridgeConfig(
        datapathType: "netdev",
        externalIDs: ["owner": "sriov"],
        otherConfig: ["hw-offload": "true"],
        failMode: "secure"
    )

    static let interfaceConfig = OVSInterfaceConfig(
        type: "dpdk",
        options: ["dpdk-devargs": "0000:86:00.0"],
        externalIDs: ["uplink": "true"],
        otherConfig: ["pmd-rxq-affinity": "0:1"],
        mtuRequest: 9000
    )

    static var policy: SriovNetworkNodePolicy {
        var policy = SriovNetworkNodePolicy(
            metadata: ObjectMeta(name: "intel", namespace: "sriov-network-operator"),
            spec: .init(
                resourceName: "intelnics",
                nodeSelector: ["feature.node.kubernetes.io/network-sriov.capable": "true"],
                priority: 10,
                mtu: 9000,
                numVfs: 8,
                nicSelector: .init(
                    vendor: "8086",
                    deviceID: "158b",
                    rootDevices: ["0000:86:00.0"],
                    pfNames: ["ens1f0#0-3"],
                    netFilter: "openstack/NetworkID:ada9ec67-2c97-467c-b674-c47200e2f5da"
                ),
                deviceType: "vfio-pci",
                isRdma: true,
                needVhostNet: true,
                linkType: "eth",
                eSwitchMode: "switchdev",
                vdpaType: "virtio",
                excludeTopology: true,
                externallyManaged: true,
                bridge: .init(ovs: .init(bridge: Self.bridgeConfig, uplink: .init(interface: Self.interfaceConfig)))
            )
        )
        policy.status = .object(JSONObject())
        return policy
    }

    static var nodeState: SriovNetworkNodeState {
        let bridges = SriovNetworkNodeState.Bridges(ovs: [
            .init(
                name: "br-0000_86_00.0",
                bridge: Self.bridgeConfig,
                uplinks: [.init(pciAddress: "0000:86:00.0", name: "ens1f0", interface: Self.interfaceConfig)]
            )
        ])
        let system = SriovNetworkNodeState.System(rdmaMode: "exclusive")
        let vf = SriovNetworkNodeState.VirtualFunction(
            name: "ens1f0v0",
            mac: "52:54:00:12:34:56",
            assigned: "ens1f0v0",
            driver: "iavf",
            pciAddress: "0000:86:02.0",
            vendor: "8086",
            deviceID: "154c",
            Vlan: 100,
            mtu: 1500,
            vfID: 1,
            vdpaType: "virtio",
            representorName: "ens1f0_0",
            guid: "00:11:22:33:44:55:66:77"
        )
        let discovered = SriovNetworkNodeState.InterfaceExt(
            name: "ens1f0",
            mac: "3c:fd:fe:00:00:01",
            driver: "i40e",
            pciAddress: "0000:86:00.0",
            vendor: "8086",
            deviceID: "158b",
            netFilter: "openstack/NetworkID:ada9ec67-2c97-467c-b674-c47200e2f5da",
            mtu: 9000,
            numVfs: 8,
            linkSpeed: "25000 Mb/s",
            linkType: "ETH",
            linkAdminState: "up",
            eSwitchMode: "switchdev",
            externallyManaged: true,
            totalvfs: 64,
            Vfs: [vf],
            altNames: ["enp134s0f0"]
        )
        let desired = SriovNetworkNodeState.Interface(
            pciAddress: "0000:86:00.0",
            numVfs: 8,
            mtu: 9000,
            name: "ens1f0",
            linkType: "eth",
            eSwitchMode: "switchdev",
            vfGroups: [
                .init(
                    resourceName: "intelnics",
                    deviceType: "netdevice",
                    vfRange: "0-7",
                    policyName: "intel",
                    mtu: 9000,
                    isRdma: true,
                    vdpaType: "vhost"
                )
            ],
            externallyManaged: true
        )
        return SriovNetworkNodeState(
            metadata: ObjectMeta(
                name: "worker-0",
                namespace: "sriov-network-operator",
                annotations: [SriovNetworkNodeState.Annotation.desiredState: "Idle"]
            ),
            spec: .init(interfaces: [desired], bridges: bridges, system: system),
            status: .init(
                interfaces: [discovered],
                bridges: bridges,
                system: system,
                syncStatus: "Failed",
                lastSyncError: "writing sriov_numvfs: device or resource busy"
            )
        )
    }

    static var network: SriovNetwork {
        var network = SriovNetwork(
            metadata: ObjectMeta(name: "net1", namespace: "sriov-network-operator"),
            spec: .init(
                networkNamespace: "default",
                resourceName: "intelnics",
                capabilities: #"{"mac": true, "ips": true}"#,
                ipam: #"{"type": "host-local", "subnet": "10.56.217.0/24"}"#,
                vlan: 100,
                vlanQoS: 5,
                spoofChk: "on",
                trust: "off",
                linkState: "enable",
                minTxRate: 100,
                maxTxRate: 1000,
                vlanProto: "802.1ad",
                metaPlugins: #"{"type": "tuning", "sysctl": {"net.ipv4.conf.IFNAME.accept_redirects": "1"}}"#,
                logLevel: "debug",
                logFile: "/var/log/sriov-cni.log"
            )
        )
        network.status = NetworkStatus(conditions: [Self.condition])
        return network
    }

    static var ibNetwork: SriovIBNetwork {
        var network = SriovIBNetwork(
            metadata: ObjectMeta(name: "ib1", namespace: "sriov-network-operator"),
            spec: .init(
                networkNamespace: "default",
                resourceName: "mlxib",
                capabilities: #"{"infinibandGUID": true}"#,
                ipam: #"{"type": "whereabouts", "range": "192.168.2.0/24"}"#,
                linkState: "auto",
                metaPlugins: #"{"type": "tuning"}"#
            )
        )
        network.status = NetworkStatus(conditions: [Self.condition])
        return network
    }

    static var ovsNetwork: OVSNetwork {
        var network = OVSNetwork(
            metadata: ObjectMeta(name: "ovs1", namespace: "sriov-network-operator"),
            spec: .init(
                networkNamespace: "default",
                resourceName: "switchdevnics",
                capabilities: #"{"mac": true}"#,
                ipam: #"{"type": "host-local", "subnet": "10.56.218.0/24"}"#,
                metaPlugins: #"{"type": "tuning"}"#,
                bridge: "br-0000_86_00.0",
                vlan: 200,
                mtu: 1500,
                trunk: [.init(minID: 10, maxID: 20, id: 30)],
                interfaceType: "netdev"
            )
        )
        network.status = NetworkStatus(conditions: [Self.condition])
        return network
    }

    static var operatorConfig: SriovOperatorConfig {
        get throws {
            var config = SriovOperatorConfig(
                metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"),
                spec: .init(
                    configDaemonNodeSelector: ["node-role.kubernetes.io/worker": ""],
                    enableInjector: true,
                    enableOperatorWebhook: true,
                    logLevel: 2,
                    disableDrain: true,
                    configurationMode: "systemd",
                    featureGates: ["parallelNicConfig": true]
                )
            )
            config.spec.enableOvsOffload = true
            config.spec.useCDI = true
            config.spec.disablePlugins = ["mellanox"]
            config.spec.configDaemonEnvVars = ["SRIOV_DEBUG": "1"]
            // `Status` has no public memberwise initializer, so it is decoded as the API server would serve it.
            var status = JSONObject()
            status["conditions"] = try ValueEncoder().encode([Self.condition])
            status["injector"] = .string("Running")
            status["operatorWebhook"] = .string("Running")
            config.status = try ValueDecoder().decode(SriovOperatorConfig.Status.self, from: .object(status))
            return config
        }
    }

    static var poolConfig: SriovNetworkPoolConfig {
        var pool = SriovNetworkPoolConfig(
            metadata: ObjectMeta(name: "workers", namespace: "sriov-network-operator"),
            spec: .init(
                ovsHardwareOffloadConfig: .init(name: "worker-offload"),
                nodeSelector: LabelSelector(
                    matchLabels: ["node-role.kubernetes.io/worker": ""],
                    matchExpressions: [.init(key: "zone", operator: "In", values: ["a", "b"])]
                ),
                maxUnavailable: .string("30%"),
                rdmaMode: "shared"
            )
        )
        pool.status = .object(JSONObject())
        return pool
    }

    /// Every kind's fixture, encoded as the API server would receive it.
    static func encodedByKind() throws -> [(kind: String, json: JSONValue)] {
        let encoder = ValueEncoder()
        return [
            (SriovNetworkNodePolicy.kind, try encoder.encode(Self.policy)),
            (SriovNetworkNodeState.kind, try encoder.encode(Self.nodeState)),
            (SriovNetwork.kind, try encoder.encode(Self.network)),
            (SriovIBNetwork.kind, try encoder.encode(Self.ibNetwork)),
            (OVSNetwork.kind, try encoder.encode(Self.ovsNetwork)),
            (SriovOperatorConfig.kind, try encoder.encode(try Self.operatorConfig)),
            (SriovNetworkPoolConfig.kind, try encoder.encode(Self.poolConfig)),
        ]
    }
}
