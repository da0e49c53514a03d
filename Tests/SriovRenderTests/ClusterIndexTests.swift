import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

/// The dynamic policy checks with the per-node index (``ClusterIndex``) answer exactly as the plain walk over
/// every node and every other policy did, on a cluster mixing what the index shortcuts: label groups, NodeStates
/// missing or with other NICs, altnames, PCI addresses, virtual providers, policies outside the namespace.
@Suite("the validator's cluster index")
struct ClusterIndexTests {
    static let namespace = "sriov-network-operator"

    /// The dynamic checks as they were before the index: every node, every other policy, in order.
    static func reference(_ validator: AdmissionValidator, _ policy: SriovNetworkNodePolicy) -> [Finding] {
        var findings: [Finding] = []
        func add(_ new: [Finding]) {
            for finding in new where !findings.contains(finding) { findings.append(finding) }
        }
        let others = validator.policies.filter { other in
            other.metadata.namespace == validator.operatorNamespace
                && !(other.metadata.name == policy.metadata.name
                    && other.metadata.namespace == policy.metadata.namespace)
        }
        var nodeSelected = false
        var interfaceSelected = false
        let ownNames = policy.spec.nicSelector.pfNames.map { String(PfNameSelector.name(of: $0)) }
        for node in validator.nodes {
            let labels = node.metadata.labels
            guard policy.spec.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            nodeSelected = true
            let state = validator.nodeState(of: node)
            if let state {
                let result = validator.nicFindings(policy, state: state, node: node)
                interfaceSelected = interfaceSelected || result.selected
                add(result.findings)
            }
            for other in others where other.spec.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) {
                let otherNames = other.spec.nicSelector.pfNames.map { String(PfNameSelector.name(of: $0)) }
                let resolves =
                    ownNames.contains { AdmissionValidator.isAltName($0, state: state) }
                    || otherNames.contains { AdmissionValidator.isAltName($0, state: state) }
                add(AdmissionValidator.conflictFindings(policy, other, state: resolves ? state : nil))
            }
        }
        if !nodeSelected {
            add([
                policy.finding(
                    .error,
                    "spec.nodeSelector",
                    "no matched node is selected by the nodeSelector in CR \(policy.metadata.name)"
                )
            ])
        } else if !interfaceSelected {
            add([
                policy.finding(
                    .error,
                    "spec.nicSelector",
                    "no supported NIC is selected by the nicSelector in CR \(policy.metadata.name)"
                )
            ])
        }
        return findings
    }

    static func nic(
        _ name: String,
        pci: String,
        vendor: String = "8086",
        device: String = "158b",
        totalvfs: Int = 64,
        altNames: [String] = [],
        netFilter: String = ""
    ) -> SriovNetworkNodeState.InterfaceExt {
        .init(
            name: name,
            pciAddress: pci,
            vendor: vendor,
            deviceID: device,
            netFilter: netFilter,
            mtu: 1500,
            numVfs: 4,
            linkType: "ETH",
            totalvfs: totalvfs,
            altNames: altNames
        )
    }

    /// 60 nodes in three groups; every seventh has no NodeState, every fifth names its first PF through an
    /// altname, every eleventh has fewer VFs, PCI buses differ by node parity, every thirteenth is on OpenStack.
    static var cluster: ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        for i in 0..<60 {
            let name = "node-\(i)"
            let provider = i % 13 == 0 ? "openstack:///\(i)" : ""
            snapshot.nodes.append(
                .worker(name, labels: ["group": "g\(i % 3)", "rack": "r\(i % 2)"], providerID: provider)
            )
            guard i % 7 != 0 else { continue }
            let bus = i % 2 == 0 ? "3b" : "5e"
            var interfaces = [
                Self.nic(
                    i % 5 == 0 ? "enp59s0f0" : "ens1f0",
                    pci: "0000:\(bus):00.0",
                    totalvfs: i % 11 == 0 ? 8 : 64,
                    altNames: i % 5 == 0 ? ["ens1f0"] : []
                ),
                Self.nic("ens1f1", pci: "0000:\(bus):00.1"),
                Self.nic("ens2f0", pci: "0000:\(bus):01.0", vendor: "15b3", device: "101d"),
            ]
            if i % 13 == 0 {
                interfaces.append(
                    Self.nic("eth9", pci: "0000:00:09.0", device: "154c", netFilter: "openstack/NetworkID:abc")
                )
            }
            snapshot.nodeStates.append(.fixture(name, interfaces: interfaces, namespace: Self.namespace))
        }
        snapshot.policies = [
            .fixture("g0-low").nodeSelector(["group": "g0"]).pfNames("ens1f0#0-7").numVfs(16),
            .fixture("g0-high").nodeSelector(["group": "g0"]).pfNames("ens1f0#8-15").numVfs(16),
            .fixture("all-f1").pfNames("ens1f1").numVfs(8),
            .fixture("rack0-root").nodeSelector(["rack": "r0"]).rootDevices("0000:3b:00.1").numVfs(8),
            .fixture("mlx").vendor("15b3").numVfs(16).resourceName("mlx").excludeTopology(true),
            .fixture("mlx-2").nodeSelector(["group": "g2"]).vendor("15b3").numVfs(4).resourceName("mlx"),
            .fixture("alt").nodeSelector(["group": "g1"]).pfNames("enp59s0f0#0-3").numVfs(32),
            .fixture("vf").netFilter("openstack/NetworkID:abc").numVfs(1),
            .fixture("elsewhere", namespace: "other").pfNames("ens1f1").numVfs(8),
        ]
        return snapshot
    }

    static var candidates: [SriovNetworkNodePolicy] {
        Self.cluster.policies + [
            .fixture("new-overlap").nodeSelector(["group": "g0"]).pfNames("ens1f0#4-9").numVfs(16),
            .fixture("new-too-many").pfNames("ens1f0").numVfs(32),
            .fixture("new-root").rootDevices("0000:3b:00.1", "0000:5e:00.1").numVfs(8),
            .fixture("new-nowhere").nodeSelector(["group": "g9"]).pfNames("ens1f0").numVfs(8),
            .fixture("new-no-nic").nodeSelector(["group": "g1", "rack": "r1"]).pfNames("ens9").numVfs(8),
            .fixture("new-alt").nodeSelector(["rack": "r1"]).pfNames("ens1f0#0-1").numVfs(8),
            .fixture("new-two-pairs").nodeSelector(["group": "g2", "rack": "r0"]).vendor("8086").numVfs(70),
            .fixture("new-mlx").vendor("15b3").numVfs(200).resourceName("mlx"),
            .fixture("g0-low").nodeSelector(["group": "g0"]).pfNames("ens1f0#0-9").numVfs(16),
        ]
    }

    @Test("every candidate policy gets the same findings, in the same order, as from the plain walk")
    func sameFindings() throws {
        let validator = AdmissionValidator(
            operatorNamespace: Self.namespace,
            supportedNICs: .upstreamDefault,
            snapshot: Self.cluster
        )
        var errors = 0
        for candidate in Self.candidates {
            var policy = candidate
            policy.applyAdmissionDefaults()
            let expected = Self.reference(validator, policy)
            #expect(validator.dynamicFindings(policy) == expected, "\(policy.metadata.name)")
            errors += expected.filter(\.isError).count
        }
        // The cluster is built to exercise the checks: several candidates are refused.
        #expect(errors >= 6)
    }

    @Test("setting nodes, NodeStates, policies or the namespace rebuilds the index")
    func rebuiltOnChange() throws {
        var validator = AdmissionValidator(
            operatorNamespace: Self.namespace,
            supportedNICs: .upstreamDefault,
            snapshot: Self.cluster
        )
        let policy = SriovNetworkNodePolicy.fixture("probe").nodeSelector(["group": "g9"]).pfNames("ens1f9").numVfs(4)
        #expect(validator.dynamicFindings(policy).first?.message.hasPrefix("no matched node") == true)
        validator.nodes.append(.worker("node-new", labels: ["group": "g9"]))
        #expect(validator.dynamicFindings(policy).first?.message.hasPrefix("no supported NIC") == true)
        validator.nodeStates.append(
            .fixture("node-new", interfaces: [Self.nic("ens1f9", pci: "0000:3b:00.1")], namespace: Self.namespace)
        )
        #expect(validator.dynamicFindings(policy) == [])
        validator.policies.append(
            .fixture("taken").nodeSelector(["group": "g9"]).pfNames("ens1f9").numVfs(4)
        )
        #expect(validator.dynamicFindings(policy) == Self.reference(validator, policy))
        #expect(validator.dynamicFindings(policy).count == 1)
        validator.operatorNamespace = "elsewhere"
        #expect(validator.dynamicFindings(policy) == Self.reference(validator, policy))
    }
}
