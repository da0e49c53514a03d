public import KubeCore
public import SriovAPI

/// A generated cluster for benchmarks and scale tests: `nodeCount` workers in 10 label groups, each with
/// two Intel E810 and two Mellanox ConnectX-6 Dx ports in its NodeState status, and `policyCount`
/// policies that partition those PFs per group (pfNames ranges, vendor/device selectors, vfio-pci and
/// netdevice pools, a few RDMA and switchdev ones).
public struct SyntheticCluster: Sendable {
    public var snapshot: ClusterSnapshot

    public init(nodeCount: Int, policyCount: Int, namespace: String = "sriov-network-operator") {
        var snapshot = ClusterSnapshot()
        for i in 0..<nodeCount {
            let name = "worker-\(i)"
            snapshot.nodes.append(.worker(name, labels: ["sriov.example.com/group": "g\(i % 10)"]))
            var state = SriovNetworkNodeState.fixture(name, interfaces: Self.interfaces(node: i), namespace: namespace)
            state.metadata.annotations = [
                SriovNetworkNodeState.Annotation.currentState: "Idle",
                SriovNetworkNodeState.Annotation.desiredState: "Idle",
            ]
            snapshot.nodeStates.append(state)
        }
        for p in 0..<policyCount {
            snapshot.policies.append(Self.policy(p, namespace: namespace))
        }
        var config = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: namespace))
        config.metadata.uid = "00000000-0000-0000-0000-000000000001"
        snapshot.operatorConfigs = [config]
        self.snapshot = snapshot
    }

    static func interfaces(node: Int) -> [SriovNetworkNodeState.InterfaceExt] {
        let bus = String(0x3b + node % 64, radix: 16)
        return [
            .init(
                name: "ens1f0",
                driver: "ice",
                pciAddress: "0000:\(bus):00.0",
                vendor: "8086",
                deviceID: "159b",
                mtu: 1500,
                linkType: "ETH",
                linkAdminState: "up",
                eSwitchMode: "legacy",
                totalvfs: 64,
                altNames: ["enp\(node)s0f0"]
            ),
            .init(
                name: "ens1f1",
                driver: "ice",
                pciAddress: "0000:\(bus):00.1",
                vendor: "8086",
                deviceID: "159b",
                mtu: 1500,
                linkType: "ETH",
                linkAdminState: "up",
                eSwitchMode: "legacy",
                totalvfs: 64,
                altNames: ["enp\(node)s0f1"]
            ),
            .init(
                name: "ens2f0np0",
                driver: "mlx5_core",
                pciAddress: "0000:\(bus):01.0",
                vendor: "15b3",
                deviceID: "101d",
                mtu: 1500,
                linkType: "ETH",
                linkAdminState: "up",
                eSwitchMode: "legacy",
                totalvfs: 16
            ),
            .init(
                name: "ens2f1np1",
                driver: "mlx5_core",
                pciAddress: "0000:\(bus):01.1",
                vendor: "15b3",
                deviceID: "101d",
                mtu: 1500,
                linkType: "ETH",
                linkAdminState: "up",
                eSwitchMode: "legacy",
                totalvfs: 16
            ),
        ]
    }

    static func policy(_ p: Int, namespace: String) -> SriovNetworkNodePolicy {
        let group = "g\(p % 10)"
        var policy = SriovNetworkNodePolicy.fixture("policy-\(p)", priority: 10 + p % 5, namespace: namespace)
            .nodeSelector(["sriov.example.com/group": group])
            .resourceName("res_\(p)")
        switch (p / 10) % 5 {
        case 0:
            policy = policy.vendor("8086").pfNames("ens1f0#0-7").numVfs(16).deviceType("vfio-pci")
        case 1:
            policy = policy.vendor("8086").pfNames("ens1f0#8-15").numVfs(16).mtu(9000)
        case 2:
            policy = policy.vendor("8086").deviceID("159b").pfNames("ens1f1").numVfs(32)
        case 3:
            policy = policy.vendor("15b3").pfNames("ens2f0np0").numVfs(16).isRdma(true).eSwitchMode("switchdev")
        default:
            policy = policy.vendor("15b3").pfNames("ens2f1np1#0-3").numVfs(8).vdpaType("vhost").eSwitchMode("switchdev")
        }
        return policy
    }
}
