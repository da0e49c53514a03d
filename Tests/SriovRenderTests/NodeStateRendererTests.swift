import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

@Suite("NodeState rendering across policies (the policy reconciler)")
struct NodeStateRendererTests {
    let node = Node.worker("worker-0")

    func render(
        _ policies: [SriovNetworkNodePolicy],
        status: [SriovNetworkNodeState.InterfaceExt] = [.n0A, .n0B, .n0C],
        pools: [SriovNetworkPoolConfig] = [],
        config: SriovOperatorConfig? = nil
    ) -> NodeStateResult {
        let renderer = NodeStateRenderer(
            options: RenderOptions(operatorConfig: config),
            policies: policies,
            poolConfigs: pools
        )
        return renderer.render(node: self.node, existing: .fixture("worker-0", interfaces: status))
    }

    @Test("policies apply by priority descending then name, so the lowest number wins the PF")
    func lowestPriorityNumberWins() {
        let high = SriovNetworkNodePolicy.fixture("a-high", priority: 10).pfNames("ens803f0").numVfs(2).resourceName(
            "high"
        )
        let low = SriovNetworkNodePolicy.fixture("b-low", priority: 20).pfNames("ens803f0").numVfs(4).resourceName(
            "low"
        )
        let result = self.render([high, low])
        #expect(result.state.spec.interfaces.count == 1)
        #expect(result.state.spec.interfaces[0].vfGroups.map(\.resourceName) == ["high"])
        #expect(result.state.spec.interfaces[0].numVfs == 2)
    }

    @Test("equal priority: later name wins the overlap, numVfs takes the max")
    func equalPriorityNameOrder() {
        let a = SriovNetworkNodePolicy.fixture("a", priority: 5).pfNames("ens803f0").numVfs(4).resourceName("ares")
        let b = SriovNetworkNodePolicy.fixture("b", priority: 5).pfNames("ens803f0").numVfs(2).resourceName("bres")
        let result = self.render([b, a])
        #expect(result.state.spec.interfaces[0].vfGroups.map(\.resourceName) == ["bres"])
        #expect(result.state.spec.interfaces[0].numVfs == 4)
    }

    @Test("equalPriority compares with the previous node-matching policy, whatever PF it touched")
    func equalPriorityTracksPreviousPolicy() {
        // p-a (prio 5) on ens803f0, then p-b (prio 5) on ens803f1 (eqP true there), then p-c (prio 5) on ens803f0:
        // p-c sees eqP = true (previous policy p-b had priority 5) → max-merge with p-a's 4 VFs.
        let a = SriovNetworkNodePolicy.fixture("p-a", priority: 5).pfNames("ens803f0").numVfs(4).resourceName("ra")
        let b = SriovNetworkNodePolicy.fixture("p-b", priority: 5).pfNames("ens803f1").numVfs(2).resourceName("rb")
        let c = SriovNetworkNodePolicy.fixture("p-c", priority: 5).pfNames("ens803f0").numVfs(2).resourceName("rc")
        let result = self.render([c, b, a])
        let f0 = result.state.spec.interfaces.first { $0.name == "ens803f0" }
        #expect(f0?.numVfs == 4)
        #expect(f0?.vfGroups.map(\.resourceName) == ["rc"])
    }

    @Test("a policy named default is ignored (deprecated upstream)")
    func defaultPolicyIgnored() {
        let policy = SriovNetworkNodePolicy.fixture("default").pfNames("ens803f0").numVfs(2)
        #expect(self.render([policy]).state.spec.interfaces.isEmpty)
    }

    @Test("nodeSelector is label equality; a non-matching node gets nothing")
    func nodeSelector() {
        let policy = SriovNetworkNodePolicy.fixture("p").pfNames("ens803f0").numVfs(2).nodeSelector(["gpu": "true"])
        #expect(self.render([policy]).state.spec.interfaces.isEmpty)
        let matching = policy.nodeSelector(["kubernetes.io/hostname": "worker-0"])
        #expect(self.render([matching]).state.spec.interfaces.count == 1)
    }

    @Test("the spec is rebuilt from scratch: a removed policy's PF disappears")
    func rebuiltFromScratch() {
        var existing = SriovNetworkNodeState.fixture("worker-0", interfaces: [.n0A])
        existing.spec.interfaces = [
            IF(
                pciAddress: "0000:86:00.0",
                numVfs: 4,
                name: "ens803f0",
                vfGroups: [Group(resourceName: "old", vfRange: "0-3")]
            )
        ]
        let renderer = NodeStateRenderer(options: RenderOptions(), policies: [], poolConfigs: [])
        let result = renderer.render(node: self.node, existing: existing)
        #expect(result.action == .update)
        #expect(result.state.spec.interfaces.isEmpty)
    }

    @Test("no NodeState yet: it is created with only system.rdmaMode from the pool")
    func createsNodeState() {
        let pool = SriovNetworkPoolConfig(
            metadata: ObjectMeta(name: "pool", namespace: "sriov-network-operator"),
            spec: .init(
                nodeSelector: LabelSelector(matchLabels: ["kubernetes.io/hostname": "worker-0"]),
                rdmaMode: "exclusive"
            )
        )
        let policy = SriovNetworkNodePolicy.fixture("p").pfNames("ens803f0").numVfs(2)
        let renderer = NodeStateRenderer(options: RenderOptions(), policies: [policy], poolConfigs: [pool])
        let result = renderer.render(node: self.node, existing: nil)
        #expect(result.action == .create)
        #expect(result.state.spec.interfaces.isEmpty)
        #expect(result.state.spec.system?.rdmaMode == "exclusive")
        #expect(result.state.metadata.ownerReferences.first?.kind == "SriovOperatorConfig")
    }

    @Test("empty status: the spec is left alone until the daemon reports")
    func waitsForStatus() {
        var existing = SriovNetworkNodeState.fixture("worker-0", interfaces: [])
        existing.spec.interfaces = [IF(pciAddress: "0000:86:00.0", numVfs: 4)]
        let policy = SriovNetworkNodePolicy.fixture("p").pfNames("ens803f0").numVfs(2)
        let renderer = NodeStateRenderer(options: RenderOptions(), policies: [policy], poolConfigs: [])
        let result = renderer.render(node: self.node, existing: existing)
        #expect(result.action == .waitingForStatus)
        #expect(result.state.spec == existing.spec)
    }

    @Test("the keep-state-until annotation is cleared when the node is managed again")
    func clearsKeepUntil() {
        var existing = SriovNetworkNodeState.fixture("worker-0", interfaces: [])
        existing.metadata.annotations[SriovNetworkNodeState.Annotation.keepStateUntil] = "2026-01-01T00:00:00Z"
        let renderer = NodeStateRenderer(options: RenderOptions(), policies: [], poolConfigs: [])
        let result = renderer.render(node: self.node, existing: existing)
        #expect(result.action == .update)
        #expect(result.state.metadata.annotations.isEmpty)
    }

    @Test("a stale NodeState gets keep-state-until = now + delay")
    func staleNodeState() {
        let renderer = NodeStateRenderer(
            options: RenderOptions(now: "2026-11-23T11:50:00Z", staleNodeStateDelayMinutes: 30),
            policies: [],
            poolConfigs: []
        )
        let result = renderer.renderStale(.fixture("gone", interfaces: []))
        #expect(result.action == .stale(deleteAfter: "2026-11-23T12:20:00Z"))
        #expect(
            result.state.metadata.annotations[SriovNetworkNodeState.Annotation.keepStateUntil] == "2026-11-23T12:20:00Z"
        )
    }

    @Test("an unchanged spec is reported unchanged (a resync writes nothing)")
    func unchanged() {
        let policy = SriovNetworkNodePolicy.fixture("p").pfNames("ens803f0").numVfs(2)
        let renderer = NodeStateRenderer(options: RenderOptions(), policies: [policy], poolConfigs: [])
        let first = renderer.render(node: self.node, existing: .fixture("worker-0", interfaces: [.n0A]))
        let second = renderer.render(node: self.node, existing: first.state)
        #expect(first.action == .update)
        #expect(second.action == .unchanged)
    }

    @Test("a malformed range fails the node's render and leaves the NodeState as it was")
    func failedRender() {
        let policy = SriovNetworkNodePolicy.fixture("bad").pfNames("ens803f0#x-y").numVfs(2)
        let result = self.render([policy])
        #expect(result.action == .failed)
        #expect(result.error?.policy == "bad")
    }

    @Test("26: OVS bridges for switchdev PFs, sorted by name; a policy without bridge removes its PF's bridge")
    func bridges() throws {
        var config = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"))
        config.spec.featureGates = ["manageSoftwareBridges": true]
        let withBridge = SriovNetworkNodePolicy.fixture("p1").rootDevices("0000:86:00.2", "0000:86:00.0").numVfs(2)
            .eSwitchMode("switchdev")
            .with {
                $0.bridge = .init(
                    ovs: .init(
                        bridge: OVSBridgeConfig(datapathType: "test"),
                        uplink: .init(interface: OVSInterfaceConfig(type: "test"))
                    )
                )
            }
        let result = self.render([withBridge], config: config)
        let bridges = result.state.spec.bridges?.ovs ?? []
        #expect(bridges.map(\.name) == ["br-0000_86_00.0", "br-0000_86_00.2"])
        #expect(bridges.map { $0.uplinks.map(\.name) } == [["ens803f0"], ["ens803f2"]])
        #expect(bridges[0].bridge?.datapathType == "test")
        #expect(bridges[0].uplinks[0].interface?.type == "test")

        var spec = result.state.spec
        let without = SriovNetworkNodePolicy.fixture("p2").rootDevices("0000:86:00.0").numVfs(2).eSwitchMode(
            "switchdev"
        )
        try without.applyBridgeConfig(to: &spec, status: [.n0A, .n0B, .n0C])
        #expect(spec.bridges?.ovs.map(\.name) == ["br-0000_86_00.2"])
    }

    @Test("a bridge on a legacy-mode PF fails the render")
    func bridgeNeedsSwitchdev() {
        var config = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"))
        config.spec.featureGates = ["manageSoftwareBridges": true]
        let policy = SriovNetworkNodePolicy.fixture("p1").rootDevices("0000:86:00.0").numVfs(2).with {
            $0.bridge = .init(ovs: .init())
        }
        let result = self.render([policy], config: config)
        #expect(result.action == .failed)
        #expect(result.error?.message.contains("switchdev") == true)
    }

    @Test("only policies in the operator namespace count")
    func namespaceFilter() {
        let policy = SriovNetworkNodePolicy.fixture("p", namespace: "elsewhere").pfNames("ens803f0").numVfs(2)
        #expect(self.render([policy]).state.spec.interfaces.isEmpty)
    }
}

@Suite("Admission defaults (mutating webhook)")
struct PolicyMutationTests {
    @Test("absent priority becomes 99 and absent isRdma false; an explicit 0 stays")
    func defaults() {
        var policy = SriovNetworkNodePolicy.fixture("p", priority: nil)
        let patched = policy.applyAdmissionDefaults()
        #expect(policy.spec.priority == 99)
        #expect(policy.spec.isRdma == false)
        #expect(patched == ["/spec/priority", "/spec/isRdma"])
        var zero = SriovNetworkNodePolicy.fixture("p", priority: 0)
        zero.applyAdmissionDefaults()
        #expect(zero.spec.priority == 0)
    }

    @Test("InfiniBand netdevice policies become RDMA; vfio-pci ones do not")
    func infiniband() {
        var ib = SriovNetworkNodePolicy.fixture("p").linkType("IB")
        ib.applyAdmissionDefaults()
        #expect(ib.spec.isRdma == true)
        var vfio = SriovNetworkNodePolicy.fixture("p").linkType("ib").deviceType("vfio-pci")
        vfio.applyAdmissionDefaults()
        #expect(vfio.spec.isRdma == false)
    }

    @Test("the policy named default is not mutated")
    func defaultPolicy() {
        var policy = SriovNetworkNodePolicy.fixture("default", priority: nil)
        #expect(policy.applyAdmissionDefaults().isEmpty)
        #expect(policy.spec.priority == nil)
    }
}
