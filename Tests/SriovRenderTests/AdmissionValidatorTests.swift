import KubeCore
import SriovAPI
import Testing

@testable import SriovRender

// Upstream: pkg/webhook/validate.go and validate_test.go. Messages are asserted verbatim: they are what users
// search for.

private let operatorNamespace = "sriov-network-operator"
private let workerLabels = ["node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux"]

// MARK: - Fixtures

private func makeNode(
    _ name: String = "worker-0",
    labels: [String: String] = workerLabels,
    providerID: String = ""
) -> Node {
    Node(name: name, labels: labels, providerID: providerID)
}

/// Intel E810-XXVDA2 PF (8086/159b), 64 VFs possible.
private func intelE810(
    _ name: String = "ens1f0",
    pci: String = "0000:3b:00.0",
    altNames: [String] = []
) -> SriovNetworkNodeState.InterfaceExt {
    SriovNetworkNodeState.InterfaceExt(
        name: name,
        driver: "ice",
        pciAddress: pci,
        vendor: "8086",
        deviceID: "159b",
        mtu: 1500,
        numVfs: 4,
        linkType: "ETH",
        totalvfs: 64,
        altNames: altNames
    )
}

/// Mellanox ConnectX-6 Dx PF (15b3/101d).
private func mellanoxCX6Dx(
    _ name: String = "ens2f0",
    pci: String = "0000:5e:00.0"
)
    -> SriovNetworkNodeState.InterfaceExt
{
    SriovNetworkNodeState.InterfaceExt(
        name: name,
        driver: "mlx5_core",
        pciAddress: pci,
        vendor: "15b3",
        deviceID: "101d",
        mtu: 1500,
        linkType: "ETH",
        totalvfs: 8
    )
}

/// A ConnectX-6 Dx VF handed to an OpenStack guest, as the virtual plugin reports it.
private func openStackVF(
    netFilter: String = "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2"
)
    -> SriovNetworkNodeState.InterfaceExt
{
    SriovNetworkNodeState.InterfaceExt(
        name: "ens4",
        pciAddress: "0000:04:00.0",
        vendor: "15b3",
        deviceID: "101e",
        netFilter: netFilter,
        mtu: 1500,
        numVfs: 1,
        linkType: "ETH",
        totalvfs: 1
    )
}

private func makeNodeState(
    _ node: String = "worker-0",
    _ interfaces: [SriovNetworkNodeState.InterfaceExt] = [intelE810(), mellanoxCX6Dx()],
    syncStatus: String = "Succeeded"
) -> SriovNetworkNodeState {
    SriovNetworkNodeState(
        metadata: ObjectMeta(name: node, namespace: operatorNamespace),
        status: .init(interfaces: interfaces, syncStatus: syncStatus)
    )
}

/// A policy as stored after the CRD defaults and the mutating webhook.
private func makePolicy(
    _ name: String = "intel",
    namespace: String = operatorNamespace,
    resourceName: String = "intel_nics",
    numVfs: Int = 8,
    nicSelector: SriovNetworkNodePolicy.NicSelector = .init(pfNames: ["ens1f0"]),
    nodeSelector: [String: String] = ["kubernetes.io/os": "linux"],
    configure: (inout SriovNetworkNodePolicy.Spec) -> Void = { _ in }
) -> SriovNetworkNodePolicy {
    var policy = SriovNetworkNodePolicy(
        metadata: ObjectMeta(name: name, namespace: namespace),
        spec: .init(resourceName: resourceName, nodeSelector: nodeSelector, numVfs: numVfs, nicSelector: nicSelector)
    )
    configure(&policy.spec)
    policy.applyCRDDefaults()
    policy.applyAdmissionDefaults()
    return policy
}

private func makeValidator(
    nodes: [Node] = [makeNode()],
    nodeStates: [SriovNetworkNodeState] = [makeNodeState()],
    policies: [SriovNetworkNodePolicy] = [],
    operatorConfig: SriovOperatorConfig? = nil,
    devMode: Bool = false
) -> AdmissionValidator {
    AdmissionValidator(
        operatorNamespace: operatorNamespace,
        supportedNICs: .upstreamDefault,
        devMode: devMode,
        nodes: nodes,
        nodeStates: nodeStates,
        policies: policies,
        operatorConfig: operatorConfig
    )
}

private func errors(_ findings: [Finding]) -> [String] { findings.filter(\.isError).map(\.message) }

// MARK: - Static policy checks

struct StaticCase: Sendable, CustomTestStringConvertible {
    var label: String
    var nicSelector: SriovNetworkNodePolicy.NicSelector = .init(pfNames: ["ens1f0"])
    var configure: @Sendable (inout SriovNetworkNodePolicy.Spec) -> Void = { _ in }
    var expected: [String]
    var testDescription: String { self.label }
}

@Suite("AdmissionValidator")
struct AdmissionValidatorTests {
    static let staticCases: [StaticCase] = [
        StaticCase(
            label: "1 empty resourceName",
            configure: { $0.resourceName = "" },
            expected: ["resource name must not be empty"]
        ),
        StaticCase(
            label: "1 resourceName over 63 characters",
            configure: { $0.resourceName = String(repeating: "a", count: 64) },
            expected: [
                "resource name \"\(String(repeating: "a", count: 64))\" is too long, "
                    + "the maximum length is 63 characters"
            ]
        ),
        StaticCase(
            label: "1 resourceName with a dot",
            configure: { $0.resourceName = "intel.nics" },
            expected: [
                "resource name \"intel.nics\" contains invalid characters, the accepted syntax of the regular "
                    + "expressions is: \"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$\""
            ]
        ),
        StaticCase(
            label: "1 resourceName ending in a dash",
            configure: { $0.resourceName = "intel-" },
            expected: [
                "resource name \"intel-\" contains invalid characters, the accepted syntax of the regular "
                    + "expressions is: \"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$\""
            ]
        ),
        StaticCase(
            label: "2 empty nicSelector",
            nicSelector: .init(),
            expected: [
                "at least one of these parameters (vendor, deviceID, pfNames, rootDevices or netFilter) has to be "
                    + "defined in nicSelector in CR intel"
            ]
        ),
        StaticCase(
            label: "3 netFilter with vendor",
            nicSelector: .init(vendor: "15b3", netFilter: "openstack/NetworkID:x"),
            expected: ["vendor, deviceID, pfNames and rootDevices are not allowed when netFilter is specified"]
        ),
        StaticCase(
            label: "3 netFilter with eSwitchMode",
            nicSelector: .init(netFilter: "openstack/NetworkID:x"),
            configure: { $0.eSwitchMode = "switchdev" },
            expected: ["eSwitchMode is not supported when netFilter is specified"]
        ),
        StaticCase(
            label: "3 netFilter with bridge",
            nicSelector: .init(netFilter: "openstack/NetworkID:x"),
            configure: { $0.bridge = .init(ovs: .init()) },
            expected: [
                "bridge configuration is not supported when netFilter is specified",
                "software bridge management requires the device to be configured in switchdev mode",
            ]
        ),
        StaticCase(
            label: "3 netFilter with InfiniBand",
            nicSelector: .init(netFilter: "openstack/NetworkID:x"),
            configure: { $0.linkType = "ib" },
            expected: ["linkType \"ib\" is not allowed when netFilter is specified, only \"eth\" is supported"]
        ),
        StaticCase(
            label: "4 unknown vendor",
            nicSelector: .init(vendor: "abcd"),
            expected: ["vendor abcd is not supported"]
        ),
        StaticCase(
            label: "4 known vendor, unknown device",
            nicSelector: .init(vendor: "8086", deviceID: "ffff"),
            expected: ["vendor/device 8086/ffff is not supported"]
        ),
        StaticCase(
            label: "4 unknown device alone",
            nicSelector: .init(deviceID: "ffff"),
            expected: ["device ffff is not supported"]
        ),
        StaticCase(
            label: "5 two separators",
            nicSelector: .init(pfNames: ["ens1f0#0-1#2"]),
            expected: [
                "failed to parse ens1f0#0-1#2 PF name in nicSelector, probably incorrect separator character usage"
            ]
        ),
        StaticCase(
            label: "5 range without dash",
            nicSelector: .init(pfNames: ["ens1f0#3"]),
            expected: ["failed to parse ens1f0#3 PF name nicSelector, probably incorrect range character usage"]
        ),
        StaticCase(
            label: "5 bad start",
            nicSelector: .init(pfNames: ["ens1f0#a-3"]),
            expected: ["failed to parse ens1f0#a-3 PF name nicSelector, start range is incorrect"]
        ),
        StaticCase(
            label: "5 bad end",
            nicSelector: .init(pfNames: ["ens1f0#0-c"]),
            expected: ["failed to parse ens1f0#0-c PF name nicSelector, end range is incorrect"]
        ),
        StaticCase(
            label: "5 end before start",
            nicSelector: .init(pfNames: ["ens1f0#5-3"]),
            expected: [
                "failed to parse ens1f0#5-3 PF name nicSelector, end range shall not be smaller than start range"
            ]
        ),
        StaticCase(
            label: "5 end beyond numVfs",
            nicSelector: .init(pfNames: ["ens1f0#0-8"]),
            expected: ["failed to parse ens1f0#0-8 PF name nicSelector, end range exceeds the maximum VF index"]
        ),
        StaticCase(
            label: "6 vfio-pci with RDMA",
            configure: {
                $0.deviceType = "vfio-pci"
                $0.isRdma = true
            },
            expected: [
                "'deviceType: vfio-pci' conflicts with 'isRdma: true'; Set 'deviceType' to (string)'netdevice' "
                    + "Or Set 'isRdma' to (bool)'false'"
            ]
        ),
        StaticCase(
            label: "7 switchdev on InfiniBand",
            configure: {
                $0.eSwitchMode = "switchdev"
                $0.linkType = "IB"
            },
            expected: ["'eSwitchMode: switchdev' can be used only with ethernet links"]
        ),
        StaticCase(
            label: "8 vDPA with vfio-pci",
            configure: {
                $0.deviceType = "vfio-pci"
                $0.vdpaType = "virtio"
                $0.eSwitchMode = "switchdev"
            },
            expected: [
                "'deviceType: vfio-pci' conflicts with 'virtio'; Set 'deviceType' to (string)'netdevice' "
                    + "Or Remove 'vdpaType'"
            ]
        ),
        StaticCase(
            label: "8 vDPA without switchdev",
            configure: { $0.vdpaType = "vhost" },
            expected: ["vdpa requires the device to be configured in switchdev mode"]
        ),
        StaticCase(
            label: "9 bridge without switchdev",
            configure: { $0.bridge = .init(ovs: .init()) },
            expected: ["software bridge management requires the device to be configured in switchdev mode"]
        ),
        StaticCase(
            label: "9 bridge on an externally managed PF",
            configure: {
                $0.bridge = .init(ovs: .init())
                $0.eSwitchMode = "switchdev"
                $0.externallyManaged = true
            },
            expected: ["software bridge management can't be used when the device externally managed"]
        ),
    ]

    @Test("static policy rules reject with upstream's message", arguments: Self.staticCases)
    func staticRule(_ rule: StaticCase) {
        let policy = makePolicy(nicSelector: rule.nicSelector) { rule.configure(&$0) }
        let findings = makeValidator().validate(policy: policy)
        #expect(findings.map(\.message) == rule.expected)
        #expect(findings.allSatisfy { $0.severity == .error && $0.kind == "SriovNetworkNodePolicy" })
    }

    @Test("resource names that the upstream regex accepts", arguments: ["a", "intel_nics", "intel-nics", "A1_b-2"])
    func validResourceName(_ name: String) {
        #expect(AdmissionValidator.isValidResourceName(name))
        #expect(makeValidator().validate(policy: makePolicy(resourceName: name)).isEmpty)
    }

    @Test("DEV_MODE skips the vendor check but not the model check of discovered NICs")
    func devModeSkipsVendorCheck() {
        let policy = makePolicy(nicSelector: .init(vendor: "abcd"))
        let findings = makeValidator(devMode: true).validate(policy: policy)
        #expect(errors(findings) == ["no supported NIC is selected by the nicSelector in CR intel"])
    }

    @Test("every static error is reported, upstream's first one first")
    func allStaticErrors() {
        let policy = makePolicy(resourceName: "", nicSelector: .init(vendor: "abcd"))
        #expect(
            errors(makeValidator().validate(policy: policy)) == [
                "resource name must not be empty", "vendor abcd is not supported",
            ]
        )
    }

    @Test("a pfNames error names the entry's index in the field path")
    func pfNamesFieldPath() {
        let policy = makePolicy(nicSelector: .init(pfNames: ["ens1f0", "ens1f1#4-2"]))
        let finding = makeValidator().validate(policy: policy).first
        #expect(finding?.field == "spec.nicSelector.pfNames[1]")
    }

    // MARK: - Dynamic policy checks

    @Test("a good Intel policy on a node that has the NIC is admitted")
    func goodIntelPolicy() {
        let policy = makePolicy(nicSelector: .init(vendor: "8086", deviceID: "159b", pfNames: ["ens1f0"]))
        #expect(makeValidator().validate(policy: policy).isEmpty)
    }

    @Test("no node matches the nodeSelector")
    func noMatchedNode() {
        let policy = makePolicy(nodeSelector: ["feature.node.kubernetes.io/sriov": "true"])
        let findings = makeValidator().validate(policy: policy)
        #expect(errors(findings) == ["no matched node is selected by the nodeSelector in CR intel"])
        #expect(findings.first?.field == "spec.nodeSelector")
    }

    @Test(
        "no supported NIC is selected",
        arguments: [
            (SriovNetworkNodePolicy.NicSelector(pfNames: ["ens9f9"]), [makeNodeState()]),
            (SriovNetworkNodePolicy.NicSelector(pfNames: ["ens1f0"]), []),
            (
                SriovNetworkNodePolicy.NicSelector(rootDevices: ["0000:3b:00.0"], netFilter: ""),
                [
                    makeNodeState(
                        "worker-0",
                        [
                            SriovNetworkNodeState.InterfaceExt(
                                name: "ens1f0",
                                pciAddress: "0000:3b:00.0",
                                vendor: "8086",
                                deviceID: "ffff"
                            )
                        ]
                    )
                ]
            ),
        ]
    )
    func noSupportedNIC(_ selector: SriovNetworkNodePolicy.NicSelector, _ states: [SriovNetworkNodeState]) {
        let findings = makeValidator(nodeStates: states).validate(policy: makePolicy(nicSelector: selector))
        #expect(errors(findings) == ["no supported NIC is selected by the nicSelector in CR intel"])
    }

    @Test("numVfs 0 on a selected NIC")
    func zeroVfs() {
        let findings = makeValidator().validate(policy: makePolicy(numVfs: 0))
        #expect(errors(findings) == ["numVfs(0) in CR intel is not allowed"])
        #expect(findings.first?.field == "spec.numVfs")
    }

    @Test("Intel: numVfs above the PF's totalvfs")
    func intelTotalVfs() {
        let findings = makeValidator().validate(policy: makePolicy("intel-dpdk", numVfs: 300))
        #expect(
            errors(findings) == ["numVfs(300) in CR intel-dpdk exceed the maximum allowed value(64) interface(ens1f0)"]
        )
        #expect(
            findings.first?.description
                == "SriovNetworkNodePolicy \"intel-dpdk\": spec.numVfs: numVfs(300) in CR intel-dpdk exceed the "
                + "maximum allowed value(64) interface(ens1f0)"
        )
    }

    @Test("Mellanox: numVfs above 128, whatever totalvfs says")
    func mellanoxMaxVfs() {
        let nics = SriovNetworkNodePolicy.NicSelector(pfNames: ["ens2f0"])
        #expect(makeValidator().validate(policy: makePolicy("mlx", numVfs: 128, nicSelector: nics)).isEmpty)
        let findings = makeValidator().validate(policy: makePolicy("mlx", numVfs: 129, nicSelector: nics))
        #expect(errors(findings) == ["numVfs(129) in CR mlx exceed the maximum allowed value(128) interface(ens2f0)"])
    }

    struct ExternalCase: Sendable, CustomTestStringConvertible {
        var label: String
        var numVfs: Int
        var configure: @Sendable (inout SriovNetworkNodePolicy.Spec) -> Void
        var expected: [String]
        var testDescription: String { self.label }
    }

    static let externalCases: [ExternalCase] = [
        ExternalCase(label: "within what exists", numVfs: 4, configure: { $0.mtu = 1500 }, expected: []),
        ExternalCase(
            label: "more VFs than exist",
            numVfs: 8,
            configure: { _ in },
            expected: [
                "numVfs(8) in CR intel is higher than the virtual functions allocated for the PF externally value(4)"
            ]
        ),
        ExternalCase(
            label: "MTU above the PF's",
            numVfs: 4,
            configure: { $0.mtu = 9000 },
            expected: ["MTU(9000) in CR intel is higher than the MTU for the PF externally value(1500)"]
        ),
        ExternalCase(
            label: "different link type",
            numVfs: 4,
            configure: { $0.linkType = "ib" },
            expected: ["LinkType(ib) in CR intel is not equal to the LinkType for the PF externally value(ETH)"]
        ),
        ExternalCase(label: "same link type, other case", numVfs: 4, configure: { $0.linkType = "eth" }, expected: []),
    ]

    @Test("externally managed PFs: the policy must fit what exists", arguments: Self.externalCases)
    func externallyManaged(_ rule: ExternalCase) {
        let policy = makePolicy(numVfs: rule.numVfs) {
            $0.externallyManaged = true
            rule.configure(&$0)
        }
        #expect(errors(makeValidator().validate(policy: policy)) == rule.expected)
    }

    @Test("vDPA only on Mellanox NICs")
    func vdpaVendor() {
        func vdpa(_ pf: String) -> SriovNetworkNodePolicy {
            makePolicy(numVfs: 4, nicSelector: .init(pfNames: [pf])) {
                $0.vdpaType = "virtio"
                $0.eSwitchMode = "switchdev"
            }
        }
        #expect(
            errors(makeValidator().validate(policy: vdpa("ens1f0"))) == [
                "vendor(8086) in CR intel not supported for vdpa interface(ens1f0)"
            ]
        )
        #expect(makeValidator().validate(policy: vdpa("ens2f0")).isEmpty)
    }

    @Test(
        "netFilter on an OpenStack node selects the VF by its network",
        arguments: ["openstack:///8c5c4e5a", "aws:///us-east-1a/i-0abc"]
    )
    func netFilterOnVirtualNode(_ providerID: String) {
        let filter = "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2"
        let validator = makeValidator(
            nodes: [makeNode(providerID: providerID)],
            nodeStates: [makeNodeState("worker-0", [openStackVF(netFilter: filter)])]
        )
        let policy = makePolicy("openstack", numVfs: 1, nicSelector: .init(netFilter: filter))
        #expect(validator.validate(policy: policy).isEmpty)
    }

    @Test("netFilter: the VF model is only accepted on a virtual platform, for the same network")
    func netFilterElsewhere() {
        let filter = "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2"
        let policy = makePolicy("openstack", numVfs: 1, nicSelector: .init(netFilter: filter))
        let bareMetal = makeValidator(nodeStates: [makeNodeState("worker-0", [openStackVF(netFilter: filter)])])
        #expect(
            errors(bareMetal.validate(policy: policy)) == [
                "no supported NIC is selected by the nicSelector in CR openstack"
            ]
        )
        let otherNetwork = makeValidator(
            nodes: [makeNode(providerID: "openstack:///8c5c4e5a")],
            nodeStates: [makeNodeState("worker-0", [openStackVF(netFilter: "openstack/NetworkID:other")])]
        )
        #expect(
            errors(otherNetwork.validate(policy: policy)) == [
                "no supported NIC is selected by the nicSelector in CR openstack"
            ]
        )
    }

    // MARK: - Cross-policy checks

    @Test("two policies partition one PF by VF ranges")
    func partitioning() {
        let first = makePolicy("low", resourceName: "low", nicSelector: .init(pfNames: ["ens1f0#0-3"]))
        let second = makePolicy("high", resourceName: "high", nicSelector: .init(pfNames: ["ens1f0#4-7"]))
        #expect(makeValidator(policies: [first, second]).validate(policy: second).isEmpty)
        #expect(makeValidator(policies: [first, second]).validate(policy: first).isEmpty)
    }

    struct OverlapCase: Sendable, CustomTestStringConvertible {
        var existing: String
        var new: String
        var expected: [String]
        var testDescription: String { "\(self.existing) vs \(self.new)" }
    }

    static let overlapCases: [OverlapCase] = [
        OverlapCase(
            existing: "ens1f0#0-3",
            new: "ens1f0#2-5",
            expected: ["VF index range in ens1f0#2-5 is overlapped with existing policy a"]
        ),
        OverlapCase(
            existing: "alt1#0-3",
            new: "ens1f0#2-5",
            expected: ["VF index range in ens1f0#2-5 is overlapped with existing policy a"]
        ),
        OverlapCase(
            existing: "ens1f0#0-3",
            new: "alt1#3-5",
            expected: ["VF index range in alt1#3-5 is overlapped with existing policy a"]
        ),
        OverlapCase(
            existing: "ens1f0",
            new: "ens1f0",
            expected: ["VF index range in ens1f0 is overlapped with existing policy a"]
        ),
        // Upstream quirk: a range-less entry counts as -1…-1 and overlaps no ranged entry.
        OverlapCase(existing: "ens1f0", new: "ens1f0#0-3", expected: []),
        OverlapCase(existing: "ens1f0#4-7", new: "alt1", expected: []),
        OverlapCase(existing: "ens1f1#0-3", new: "ens1f0#0-3", expected: []),
    ]

    @Test("overlapping VF ranges on one PF, altnames resolved through the NodeState", arguments: Self.overlapCases)
    func vfRangeOverlap(_ rule: OverlapCase) {
        let state = makeNodeState(
            "worker-0",
            [intelE810(altNames: ["alt1"]), intelE810("ens1f1", pci: "0000:3b:00.1")]
        )
        let existing = makePolicy("a", resourceName: "a", nicSelector: .init(pfNames: [rule.existing]))
        let new = makePolicy("b", resourceName: "b", nicSelector: .init(pfNames: [rule.new]))
        let findings = makeValidator(nodeStates: [state], policies: [existing]).validate(policy: new)
        #expect(errors(findings) == rule.expected)
    }

    @Test("an overlap is only a conflict when the other policy selects the same node")
    func overlapOnOtherNode() {
        let nodes = [makeNode("worker-0", labels: ["pool": "a"]), makeNode("worker-1", labels: ["pool": "b"])]
        let states = [makeNodeState("worker-0"), makeNodeState("worker-1")]
        let existing = makePolicy("a", resourceName: "a", nodeSelector: ["pool": "a"])
        let new = makePolicy("b", resourceName: "b", nodeSelector: ["pool": "b"])
        #expect(makeValidator(nodes: nodes, nodeStates: states, policies: [existing]).validate(policy: new).isEmpty)
    }

    @Test("an update does not conflict with the policy's own stored version")
    func skipsItself() {
        let stored = makePolicy("intel")
        let updated = makePolicy("intel", numVfs: 16)
        #expect(makeValidator(policies: [stored]).validate(policy: updated).isEmpty)
    }

    @Test("policies outside the operator namespace are not compared against")
    func ignoresOtherNamespaces() {
        let elsewhere = makePolicy("a", namespace: "default", resourceName: "a")
        #expect(makeValidator(policies: [elsewhere]).validate(policy: makePolicy("b", resourceName: "b")).isEmpty)
    }

    @Test("externallyManaged must agree between policies on one PF")
    func externallyManagedConsistency() {
        let existing = makePolicy("a", resourceName: "a", numVfs: 4, nicSelector: .init(pfNames: ["ens1f0#0-1"])) {
            $0.externallyManaged = true
        }
        let new = makePolicy("b", resourceName: "b", nicSelector: .init(pfNames: ["ens1f0#2-3"]))
        let findings = makeValidator(policies: [existing]).validate(policy: new)
        #expect(errors(findings) == ["externallyManaged is inconsistent with existing policy a"])
        #expect(findings.first?.field == "spec.externallyManaged")
    }

    @Test("the same rootDevice in two policies")
    func rootDeviceOverlap() {
        let existing = makePolicy("a", resourceName: "a", nicSelector: .init(rootDevices: ["0000:3b:00.0"]))
        let new = makePolicy("b", resourceName: "b", nicSelector: .init(rootDevices: ["0000:5e:00.0", "0000:3b:00.0"]))
        let findings = makeValidator(policies: [existing]).validate(policy: new)
        #expect(errors(findings) == ["root device 0000:3b:00.0 is overlapped with existing policy a"])
    }

    @Test("excludeTopology must agree between policies of one resource")
    func excludeTopologyConflict() {
        let existing = makePolicy("a", resourceName: "shared", nicSelector: .init(pfNames: ["ens2f0"])) {
            $0.excludeTopology = true
        }
        let new = makePolicy("b", resourceName: "shared")
        let findings = makeValidator(policies: [existing]).validate(policy: new)
        #expect(
            errors(findings) == [
                "excludeTopology[false] field conflicts with policy [a].ExcludeTopology[true] as they target the same "
                    + "resource[shared]"
            ]
        )
        let sameSetting = makePolicy("c", resourceName: "shared") { $0.excludeTopology = true }
        #expect(makeValidator(policies: [existing]).validate(policy: sameSetting).isEmpty)
    }

    @Test("the same conflict on many nodes is reported once")
    func deduplicates() {
        let nodes = [makeNode("worker-0"), makeNode("worker-1")]
        let states = [makeNodeState("worker-0"), makeNodeState("worker-1")]
        let existing = makePolicy("a", resourceName: "a")
        let findings = makeValidator(nodes: nodes, nodeStates: states, policies: [existing])
            .validate(policy: makePolicy("b", resourceName: "b"))
        #expect(errors(findings) == ["VF index range in ens1f0 is overlapped with existing policy a"])
    }

    // MARK: - Namespace and the default policy

    @Test("a policy outside the operator namespace is admitted with a warning")
    func otherNamespaceWarning() {
        let findings = makeValidator().validate(policy: makePolicy(namespace: "default"))
        #expect(findings.count == 1)
        #expect(findings.first?.severity == .warning)
        #expect(
            findings.first?.message
                == "intel is created or updated but not used. Only policy in sriov-network-operator namespace is "
                + "respected."
        )
    }

    @Test("the default policy in the operator namespace is not validated")
    func defaultPolicySkipped() {
        let policy = makePolicy("default", resourceName: "", nicSelector: .init())
        #expect(makeValidator().validate(policy: policy).isEmpty)
    }

    // MARK: - SriovOperatorConfig

    @Test(
        "only default in the operator namespace",
        arguments: [("other", operatorNamespace), ("default", "kube-system")]
    )
    func operatorConfigName(_ name: String, _ namespace: String) {
        let config = SriovOperatorConfig(metadata: ObjectMeta(name: name, namespace: namespace))
        #expect(
            errors(makeValidator().validate(operatorConfig: config)) == [
                "only default SriovOperatorConfig in sriov-network-operator namespace is used"
            ]
        )
    }

    @Test("disableDrain gives a warning; turning it on during an update is refused")
    func disableDrain() {
        let warning =
            "Node draining is disabled for applying SriovNetworkNodePolicy, it may result in workload interruption."
        let before = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: operatorNamespace))
        var after = before
        after.spec.disableDrain = true
        let updating = [makeNodeState("worker-0"), makeNodeState("worker-1", syncStatus: "InProgress")]

        let idle = makeValidator(operatorConfig: before).validate(operatorConfig: after)
        #expect(idle.map(\.message) == [warning])
        #expect(idle.first?.severity == .warning)

        let busy = makeValidator(nodeStates: updating, operatorConfig: before).validate(operatorConfig: after)
        #expect(
            busy.map(\.message) == ["can't set Spec.DisableDrain = true while node[worker-1] is updating", warning]
        )

        let alreadyOn = makeValidator(nodeStates: updating, operatorConfig: after).validate(operatorConfig: after)
        #expect(alreadyOn.map(\.message) == [warning])

        #expect(makeValidator(nodeStates: updating, operatorConfig: before).validate(operatorConfig: before).isEmpty)
    }

    // MARK: - SriovNetworkPoolConfig

    @Test(
        "maxUnavailable",
        arguments: [
            (IntOrString.int(0), nil),
            (.int(3), nil),
            (.string("1%"), nil),
            (.string("100%"), nil),
            (.int(-1), "invalid maxUnavailable: negative number is not allowed"),
            (.string("0%"), "invalid maxUnavailable: invalid value: percentage needs to be between 1 and 100"),
            (.string("101%"), "invalid maxUnavailable: invalid value: percentage needs to be between 1 and 100"),
            (.string("2"), "invalid maxUnavailable: invalid type: strings needs to be a percentage"),
            (
                .string("x%"),
                "invalid maxUnavailable: invalid value \"x%\": strconv.Atoi: parsing \"x\": invalid syntax"
            ),
            (
                .string("99999999999999999999%"),
                "invalid maxUnavailable: invalid value \"99999999999999999999%\": strconv.Atoi: parsing "
                    + "\"99999999999999999999\": value out of range"
            ),
        ] as [(IntOrString, String?)]
    )
    func maxUnavailable(_ value: IntOrString, _ expected: String?) {
        let pool = SriovNetworkPoolConfig(
            metadata: ObjectMeta(name: "workers", namespace: operatorNamespace),
            spec: .init(maxUnavailable: value)
        )
        let findings = makeValidator().validate(poolConfig: pool)
        #expect(findings.map(\.message) == (expected.map { [$0] } ?? []))
    }

    @Test("percentages are rounded down", arguments: [("30%", 1, 0), ("50%", 5, 2), ("100%", 3, 3)])
    func scaledMaxUnavailable(_ value: String, _ nodes: Int, _ expected: Int) {
        let scaled = AdmissionValidator.scaledMaxUnavailable(.string(value), nodeCount: nodes)
        #expect((try? scaled.get()) == expected)
    }

    @Test("a pool is either a drain pool or an OVS hardware-offload pool")
    func poolBothKinds() {
        let message = "SriovNetworkPoolConfig can't have both parallel configuration and OvsHardwareOffloadConfig"
        let offload = SriovNetworkPoolConfig.OvsHardwareOffloadConfig(name: "worker")
        func pool(_ spec: SriovNetworkPoolConfig.Spec) -> SriovNetworkPoolConfig {
            SriovNetworkPoolConfig(metadata: ObjectMeta(name: "p", namespace: operatorNamespace), spec: spec)
        }
        let validator = makeValidator()
        #expect(validator.validate(poolConfig: pool(.init(ovsHardwareOffloadConfig: offload))).isEmpty)
        #expect(
            validator.validate(poolConfig: pool(.init(ovsHardwareOffloadConfig: offload, nodeSelector: .init())))
                .map(\.message) == [message]
        )
        #expect(
            validator.validate(poolConfig: pool(.init(ovsHardwareOffloadConfig: offload, maxUnavailable: .int(1))))
                .map(\.message) == [message]
        )
    }

    // MARK: - Networks

    @Test(
        "networkNamespace only from the operator namespace",
        arguments: [("tenant", "tenant-b", true), (operatorNamespace, "tenant-b", false), ("tenant", "", false)]
    )
    func networkNamespace(_ namespace: String, _ networkNamespace: String, _ rejected: Bool) {
        let message =
            ".Spec.NetworkNamespace field can't be specified if the resource is not in the "
            + "sriov-network-operator namespace"
        let expected = rejected ? [message] : []
        let meta = ObjectMeta(name: "net", namespace: namespace)
        let validator = makeValidator()
        let sriov = SriovNetwork(metadata: meta, spec: .init(networkNamespace: networkNamespace, resourceName: "r"))
        let ib = SriovIBNetwork(metadata: meta, spec: .init(networkNamespace: networkNamespace, resourceName: "r"))
        let ovs = OVSNetwork(metadata: meta, spec: .init(networkNamespace: networkNamespace, resourceName: "r"))
        #expect(validator.validate(network: sriov).map(\.message) == expected)
        #expect(validator.validate(network: ib).map(\.message) == expected)
        #expect(validator.validate(network: ovs).map(\.message) == expected)
        #expect(
            validator.validate(network: ovs).allSatisfy {
                $0.kind == "OVSNetwork" && $0.field == "spec.networkNamespace"
            }
        )
    }

    // MARK: - Whole snapshot

    /// A conflicting pair is reported once, by the first policy checked (issue 14, item 13).
    @Test("validateAll checks every object against the rest, defaults applied")
    func validateAll() {
        var snapshot = ClusterSnapshot()
        snapshot.nodes = [makeNode("worker-0", labels: workerLabels.merging(["rack": "1"]) { a, _ in a })]
        snapshot.nodeStates = [makeNodeState("worker-0")]
        var raw = SriovNetworkNodePolicy(
            metadata: ObjectMeta(name: "a", namespace: operatorNamespace),
            spec: .init(resourceName: "a", numVfs: 8, nicSelector: .init(pfNames: ["ens1f0#0-3"]))
        )
        raw.applyCRDDefaults()
        snapshot.policies = [
            raw,
            makePolicy("b", resourceName: "b", nicSelector: .init(pfNames: ["ens1f0#2-5"])),
        ]
        snapshot.operatorConfigs = [
            SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: operatorNamespace))
        ]
        snapshot.poolConfigs = [
            SriovNetworkPoolConfig(metadata: ObjectMeta(name: "all", namespace: operatorNamespace)),
            SriovNetworkPoolConfig(
                metadata: ObjectMeta(name: "rack1", namespace: operatorNamespace),
                spec: .init(nodeSelector: .init(matchLabels: ["rack": "1"]), maxUnavailable: .string("50"))
            ),
        ]
        snapshot.networks = [
            SriovNetwork(
                metadata: ObjectMeta(name: "net", namespace: "tenant"),
                spec: .init(networkNamespace: "other", resourceName: "a")
            )
        ]
        let validator = AdmissionValidator(operatorNamespace: operatorNamespace, supportedNICs: .upstreamDefault)
        let findings = validator.validateAll(snapshot).map(\.description)
        #expect(
            findings == [
                "SriovNetworkNodePolicy \"a\": spec.nicSelector.pfNames: VF index range in ens1f0#0-3 is overlapped "
                    + "with existing policy b",
                "SriovNetworkPoolConfig \"rack1\": spec.maxUnavailable: invalid maxUnavailable: invalid type: strings "
                    + "needs to be a percentage",
                "Node \"worker-0\": node worker-0 belongs to more than one SriovNetworkPoolConfig: all, rack1",
                "SriovNetwork \"net\": spec.networkNamespace: .Spec.NetworkNamespace field can't be specified if the "
                    + "resource is not in the sriov-network-operator namespace",
            ]
        )
        let stored = AdmissionValidator(
            operatorNamespace: operatorNamespace,
            supportedNICs: .upstreamDefault,
            snapshot: snapshot
        )
        #expect(stored.policies.map(\.spec.priority) == [99, 99])
        #expect(stored.operatorConfig?.metadata.name == "default")
    }

    @Test("Finding.description omits an empty field")
    func findingDescription() {
        let finding = Finding(severity: .error, kind: "Node", name: "worker-0", message: "boom")
        #expect(finding.description == "Node \"worker-0\": boom")
    }
}
