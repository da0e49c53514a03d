import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

typealias IF = SriovNetworkNodeState.Interface
typealias Group = SriovNetworkNodeState.VfGroup

private let n0: [SriovNetworkNodeState.InterfaceExt] = [.n0A, .n0B, .n0C]

private func group(
    _ res: String,
    _ range: String,
    _ type: String = "netdevice",
    policy: String,
    vdpa: String = ""
) -> Group {
    Group(resourceName: res, deviceType: type, vfRange: range, policyName: policy, vdpaType: vdpa)
}

private let p1 = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f1").rootDevices("0000:86:00.1").vendor("8086")
    .numVfs(2).resourceName("p1res")

/// Upstream: api/v1/helper_test.go TestSriovNetworkNodePolicyApply — cases 1–13 of the reference.
@Suite("Policy Apply and mergeConfigs (upstream cases)")
struct PolicyApplyTests {
    func apply(
        _ policy: SriovNetworkNodePolicy,
        to existing: [IF],
        equalPriority: Bool
    ) throws -> [IF] {
        var spec = SriovNetworkNodeState.Spec(interfaces: existing)
        try policy.apply(to: &spec, status: n0, equalPriority: equalPriority)
        return spec.interfaces
    }

    @Test("1: a policy on an empty spec adds the selected PF with one group")
    func startsFromEmpty() throws {
        let result = try self.apply(p1, to: [], equalPriority: false)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 2,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1")]
                )
            ]
        )
    }

    @Test("2: other PFs already in the spec are preserved, in order")
    func preservesOtherPFs() throws {
        let existing = IF(
            pciAddress: "0000:86:00.0",
            numVfs: 2,
            name: "ens803f0",
            vfGroups: [group("prevres", "0-1", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: false)
        #expect(result.map(\.pciAddress) == ["0000:86:00.0", "0000:86:00.1"])
        #expect(result[0] == existing)
        #expect(result[1].vfGroups == [group("p1res", "0-1", policy: "p1")])
    }

    @Test("3: different priority and overlapping range: the new policy defines the PF alone")
    func differentPriorityOverlapReplaces() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 3,
            name: "ens803f1",
            vfGroups: [group("vfiores", "0-1", "vfio-pci", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: false)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 2,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1")]
                )
            ]
        )
    }

    @Test("4: equal priority and overlapping: groups replaced, numVfs and mtu take the maximum")
    func equalPriorityOverlapTakesMax() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 3,
            mtu: 2000,
            name: "ens803f1",
            vfGroups: [group("vfiores", "0-1", "vfio-pci", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: true)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 3,
                    mtu: 2000,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1")]
                )
            ]
        )
    }

    @Test("5: equal priority, partitioned PF: new group first, old group kept")
    func equalPriorityPartition() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 5,
            name: "ens803f1",
            vfGroups: [group("vfiores", "2-4", "vfio-pci", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: true)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 5,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1"), group("vfiores", "2-4", "vfio-pci", policy: "p2")]
                )
            ]
        )
    }

    @Test("6: vDPA partition of one PF between virtio and vhost")
    func vdpaPartition() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 4,
            name: "ens803f1",
            vfGroups: [group("vhostvdpa", "0-1", policy: "p2", vdpa: "vhost")]
        )
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f1#2-3").numVfs(4).resourceName("virtiovdpa")
            .vdpaType("virtio")
        let result = try self.apply(policy, to: [existing], equalPriority: true)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 4,
                    name: "ens803f1",
                    vfGroups: [
                        group("virtiovdpa", "2-3", policy: "p1", vdpa: "virtio"),
                        group("vhostvdpa", "0-1", policy: "p2", vdpa: "vhost"),
                    ]
                )
            ]
        )
    }

    @Test("7: a range overlapping two old groups drops both")
    func overlapDropsAll() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 2,
            name: "ens803f1",
            vfGroups: [group("vfiores1", "0-0", policy: "p2"), group("vfiores2", "1-1", policy: "p3")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: true)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 2,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1")]
                )
            ]
        )
    }

    @Test("8: a group with the same resource name is dropped even without overlap; numVfs is the max")
    func sameResourceNameDropped() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 4,
            name: "ens803f1",
            vfGroups: [group("p1res", "2-3", "vfio-pci", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: true)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 4,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1")]
                )
            ]
        )
    }

    @Test("9: different priority without overlap: a kept group turns on the max-merge")
    func keptGroupMaxMerges() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 4,
            name: "ens803f1",
            vfGroups: [group("p2res", "2-3", "vfio-pci", policy: "p2")]
        )
        let result = try self.apply(p1, to: [existing], equalPriority: false)
        #expect(
            result == [
                IF(
                    pciAddress: "0000:86:00.1",
                    numVfs: 4,
                    name: "ens803f1",
                    vfGroups: [group("p1res", "0-1", policy: "p1"), group("p2res", "2-3", "vfio-pci", policy: "p2")]
                )
            ]
        )
    }

    @Test("10: an empty nicSelector selects nothing")
    func emptySelector() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").numVfs(2)
        #expect(try self.apply(policy, to: [], equalPriority: false).isEmpty)
    }

    @Test("11: a malformed pfNames range fails Apply and leaves the spec empty")
    func malformedRange() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f0#a-c").numVfs(2)
        var spec = SriovNetworkNodeState.Spec()
        #expect(throws: PolicyApplyError.self) { try policy.apply(to: &spec, status: n0, equalPriority: false) }
        #expect(spec.interfaces.isEmpty)
    }

    @Test("12: a single virtio-vdpa policy with a range")
    func virtioVdpa() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f1#2-3").numVfs(4).resourceName("virtiovdpa")
            .vdpaType("virtio")
        #expect(
            try self.apply(policy, to: [], equalPriority: false)
                == [
                    IF(
                        pciAddress: "0000:86:00.1",
                        numVfs: 4,
                        name: "ens803f1",
                        vfGroups: [group("virtiovdpa", "2-3", policy: "p1", vdpa: "virtio")]
                    )
                ]
        )
    }

    @Test("13: a vhost-vdpa policy without range gets 0-(numVfs-1)")
    func vhostVdpa() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f1").numVfs(2).resourceName("vhostvdpa")
            .vdpaType("vhost")
        #expect(
            try self.apply(policy, to: [], equalPriority: false)
                == [
                    IF(
                        pciAddress: "0000:86:00.1",
                        numVfs: 2,
                        name: "ens803f1",
                        vfGroups: [group("vhostvdpa", "0-1", policy: "p1", vdpa: "vhost")]
                    )
                ]
        )
    }

    @Test("numVfs 0 contributes nothing, even when the PF is selected")
    func zeroVfs() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("ens803f1").numVfs(0)
        #expect(try self.apply(policy, to: [], equalPriority: false).isEmpty)
    }

    @Test("quirk: an altname with a range selects the PF but the range becomes the full range")
    func altnameRangeIsLost() throws {
        var status = n0
        status[1].altNames = ["enp134s0f1"]
        let policy = SriovNetworkNodePolicy.fixture("p1").pfNames("enp134s0f1#2-3").numVfs(4)
        var spec = SriovNetworkNodeState.Spec()
        try policy.apply(to: &spec, status: status, equalPriority: false)
        #expect(spec.interfaces.map(\.name) == ["ens803f1"])
        #expect(spec.interfaces.first?.vfGroups.first?.vfRange == "0-3")
    }

    @Test("selectors are ANDed: vendor 8086 with deviceID 1015 selects only ens803f2")
    func selectorsAreAnded() throws {
        let policy = SriovNetworkNodePolicy.fixture("p1").vendor("8086").deviceID("1015").numVfs(3)
        #expect(try self.apply(policy, to: [], equalPriority: false).map(\.name) == ["ens803f2"])
        let none = SriovNetworkNodePolicy.fixture("p1").vendor("15b3").rootDevices("0000:86:00.2").numVfs(3)
        #expect(try self.apply(none, to: [], equalPriority: false).isEmpty)
    }

    @Test("PF-level fields (linkType, eSwitchMode, externallyManaged) come from the later policy")
    func pfFieldsFromLater() throws {
        let existing = IF(
            pciAddress: "0000:86:00.1",
            numVfs: 4,
            name: "ens803f1",
            linkType: "ib",
            eSwitchMode: "switchdev",
            vfGroups: [group("other", "2-3", policy: "p2")],
            externallyManaged: true
        )
        let result = try self.apply(p1, to: [existing], equalPriority: true)
        #expect(result.first?.linkType == "")
        #expect(result.first?.eSwitchMode == "")
        #expect(result.first?.externallyManaged == false)
        #expect(result.first?.numVfs == 4)
    }

    @Test("an unparsable old range counts as no overlap, so the old group survives")
    func unparsableRangeNoOverlap() {
        #expect(VfRange.overlaps("0-1", "x-y") == false)
        #expect(VfRange.overlaps("0-3", "3-5"))
        #expect(VfRange.overlaps("0-2", "3-5") == false)
    }
}

@Suite("pfNames entries")
struct PfNameSelectorTests {
    @Test("name with and without a range")
    func parses() throws {
        #expect(try PfNameSelector(parsing: "ens1f0") == PfNameSelector(name: "ens1f0"))
        #expect(try PfNameSelector(parsing: "ens1f0#2-7") == PfNameSelector(name: "ens1f0", range: 2...7))
    }

    @Test(
        "malformed entries are rejected with upstream's wording",
        arguments: [
            ("ens1f0#1-2#3", "incorrect separator"),
            ("ens1f0#4", "incorrect range"),
            ("ens1f0#a-c", "start/end range is incorrect"),
            ("ens1f0#5-2", "end range shall not be smaller than start range"),
        ]
    )
    func rejects(entry: String, message: String) {
        #expect {
            try PfNameSelector(parsing: entry)
        } throws: { error in
            "\(error)".hasSuffix(message) && "\(error)".contains(entry)
        }
    }
}

@Suite("netFilter matching")
struct NetFilterTests {
    @Test("key and value must both match, case-sensitively, whitespace around them ignored")
    func matches() {
        let uuid = "openstack/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"
        #expect(NetFilter.matches(uuid, " openstack/NetworkID : 3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"))
        #expect(!NetFilter.matches(uuid, "openstack/NetworkID:3C1E9A52-8f7d-4b1e-9a26-6f0d2c4e7b90"))
        #expect(!NetFilter.matches(uuid, "aws/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"))
        #expect(!NetFilter.matches(uuid, ""))
        #expect(!NetFilter.matches("garbage", "garbage"))
    }
}
