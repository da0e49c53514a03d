public import KubeCore
public import SriovAPI

extension SriovNetworkNodePolicy {
    /// A policy in the operator namespace with the given basics; chain the builder methods for the rest,
    /// e.g. `.fixture("p1", priority: 99).pfNames("ens803f1").numVfs(2).resourceName("p1res")`.
    public static func fixture(
        _ name: String,
        priority: Int? = 99,
        namespace: String = "sriov-network-operator"
    ) -> SriovNetworkNodePolicy {
        SriovNetworkNodePolicy(
            metadata: ObjectMeta(name: name, namespace: namespace),
            spec: Spec(
                resourceName: "\(name)res",
                nodeSelector: [:],
                priority: priority,
                numVfs: 0,
                nicSelector: NicSelector(),
                deviceType: "netdevice"
            )
        )
    }

    public func with(_ change: (inout Spec) -> Void) -> SriovNetworkNodePolicy {
        var copy = self
        change(&copy.spec)
        return copy
    }

    public func numVfs(_ n: Int) -> Self { self.with { $0.numVfs = n } }
    public func resourceName(_ r: String) -> Self { self.with { $0.resourceName = r } }
    public func pfNames(_ names: String...) -> Self { self.with { $0.nicSelector.pfNames = names } }
    public func rootDevices(_ devices: String...) -> Self { self.with { $0.nicSelector.rootDevices = devices } }
    public func vendor(_ v: String) -> Self { self.with { $0.nicSelector.vendor = v } }
    public func deviceID(_ d: String) -> Self { self.with { $0.nicSelector.deviceID = d } }
    public func netFilter(_ f: String) -> Self { self.with { $0.nicSelector.netFilter = f } }
    public func deviceType(_ t: String) -> Self { self.with { $0.deviceType = t } }
    public func mtu(_ m: Int) -> Self { self.with { $0.mtu = m } }
    public func vdpaType(_ t: String) -> Self { self.with { $0.vdpaType = t } }
    public func isRdma(_ r: Bool) -> Self { self.with { $0.isRdma = r } }
    public func linkType(_ t: String) -> Self { self.with { $0.linkType = t } }
    public func eSwitchMode(_ m: String) -> Self { self.with { $0.eSwitchMode = m } }
    public func excludeTopology(_ e: Bool) -> Self { self.with { $0.excludeTopology = e } }
    public func needVhostNet(_ v: Bool) -> Self { self.with { $0.needVhostNet = v } }
    public func externallyManaged(_ v: Bool) -> Self { self.with { $0.externallyManaged = v } }
    public func nodeSelector(_ labels: [String: String]) -> Self { self.with { $0.nodeSelector = labels } }
}

extension SriovNetworkNodeState.InterfaceExt {
    /// Interfaces of upstream's test node N0 (api/v1/helper_test.go).
    public static let n0A = Self(
        name: "ens803f0",
        pciAddress: "0000:86:00.0",
        vendor: "8086",
        deviceID: "158b",
        mtu: 1500,
        numVfs: 4,
        totalvfs: 64
    )
    public static let n0B = Self(
        name: "ens803f1",
        pciAddress: "0000:86:00.1",
        vendor: "8086",
        deviceID: "158b",
        mtu: 1500,
        numVfs: 4,
        totalvfs: 64
    )
    public static let n0C = Self(
        name: "ens803f2",
        pciAddress: "0000:86:00.2",
        vendor: "8086",
        deviceID: "1015",
        mtu: 1500,
        numVfs: 4,
        totalvfs: 64
    )
}

extension Node {
    /// A worker node that the operator manages by default.
    public static func worker(_ name: String, labels: [String: String] = [:], providerID: String = "") -> Node {
        var all = ["node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name]
        all.merge(labels) { _, new in new }
        return Node(name: name, labels: all, providerID: providerID)
    }
}

extension SriovNetworkNodeState {
    /// A NodeState in the operator namespace with the given discovered interfaces.
    public static func fixture(
        _ node: String,
        interfaces: [InterfaceExt],
        namespace: String = "sriov-network-operator"
    ) -> SriovNetworkNodeState {
        SriovNetworkNodeState(
            metadata: ObjectMeta(name: node, namespace: namespace),
            status: Status(interfaces: interfaces)
        )
    }
}
