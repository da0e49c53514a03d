import Foundation
import KubeCore
import Testing

@testable import SriovAPI

private func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
}

@Suite("Custom resources: decoding upstream manifests and round-trips")
struct CRDRoundTripTests {
    func snapshot(_ name: String) throws -> ClusterSnapshot {
        let (snapshot, errors) = ClusterSnapshot.decode(try ManifestReader.read(file: fixture(name)))
        #expect(errors.isEmpty, "\(errors)")
        return snapshot
    }

    @Test("a full upstream policy decodes field by field")
    func policy() throws {
        let policy = try #require(try self.snapshot("upstream-policy.yaml").policies.first)
        #expect(policy.spec.resourceName == "intelnics")
        #expect(policy.spec.priority == 90)
        #expect(policy.spec.numVfs == 4)
        #expect(policy.spec.nicSelector.pfNames == ["ens803f0#0-3"])
        #expect(policy.spec.nicSelector.rootDevices == ["0000:86:00.0"])
        #expect(policy.spec.deviceType == "vfio-pci")
        #expect(policy.spec.needVhostNet)
        #expect(policy.spec.excludeTopology)
        #expect(policy.spec.isRdma == false)
    }

    @Test("the CRD default deviceType netdevice is applied when absent")
    func deviceTypeDefault() throws {
        let docs = try ManifestReader.parse(
            """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata: {name: p, namespace: sriov-network-operator}
            spec: {resourceName: r, nodeSelector: {}, numVfs: 1, nicSelector: {vendor: "8086"}}
            """,
            file: "p.yaml"
        )
        var snapshot = ClusterSnapshot()
        try snapshot.add(docs[0])
        #expect(snapshot.policies.first?.spec.deviceType == "netdevice")
        #expect(snapshot.policies.first?.spec.priority == nil)
    }

    @Test("a NodeState from kubectl decodes, including Vfs, totalvfs, Vlan and vfID")
    func nodeState() throws {
        let state = try #require(try self.snapshot("upstream-nodestate.yaml").nodeStates.first)
        let iface = try #require(state.status.interfaces.first)
        #expect(iface.totalvfs == 64)
        #expect(iface.Vfs.map(\.vfID) == [0, 1])
        #expect(iface.Vfs[1].Vlan == 100)
        #expect(state.spec.interfaces.first?.vfGroups.first?.vfRange == "0-1")
        #expect(state.metadata.ownerReferences.first?.uid == "6f1b8f1e-2c55-4a77-9d3f-0c1b2a3d4e5f")
    }

    @Test("NodeState JSON uses upstream's odd keys and always writes vfID, even 0")
    func nodeStateKeys() throws {
        let state = try #require(try self.snapshot("upstream-nodestate.yaml").nodeStates.first)
        let json = GoJSON.encode(try ValueEncoder().encode(state))
        #expect(json.contains(#""totalvfs":64"#))
        #expect(json.contains(#""Vfs":[{"#))
        #expect(json.contains(#""vfID":0"#))
        #expect(json.contains(#""Vlan":100"#))
        #expect(!json.contains(#""Vlan":0"#))
    }

    @Test("networks, operator config and pool config decode; SriovNetwork gets logLevel info")
    func others() throws {
        let snapshot = try self.snapshot("upstream-networks.yaml")
        #expect(snapshot.networks.first?.spec.logLevel == "info")
        #expect(snapshot.networks.first?.spec.minTxRate == 100)
        #expect(snapshot.networks.first?.status?.conditions.first?.reason == "NetworkReady")
        #expect(snapshot.ibNetworks.first?.spec.capabilities == #"{"infinibandGUID": true}"#)
        #expect(snapshot.ovsNetworks.first?.spec.trunk == [.init(id: 120), .init(minID: 500, maxID: 550)])
        #expect(snapshot.operatorConfigs.first?.spec.isEnabled(.parallelNicConfig) == true)
        #expect(snapshot.operatorConfigs.first?.spec.isEnabled(.blockDevicePluginUntilConfigured) == true)
        #expect(snapshot.poolConfigs.first?.spec.maxUnavailable == .int(2))
        #expect(snapshot.poolConfigs.first?.spec.nodeSelector?.matches(["node-role.kubernetes.io/worker": ""]) == true)
    }

    @Test(
        "every fixture round-trips: decode → encode → decode gives the same objects",
        arguments: ["upstream-policy.yaml", "upstream-nodestate.yaml", "upstream-networks.yaml"]
    )
    func roundTrip(_ name: String) throws {
        let documents = try ManifestReader.read(file: fixture(name))
        for document in documents {
            var snapshot = ClusterSnapshot()
            try snapshot.add(document)
            let encoded: JSONValue
            if let p = snapshot.policies.first {
                encoded = try ValueEncoder().encode(p)
            } else if let s = snapshot.nodeStates.first {
                encoded = try ValueEncoder().encode(s)
            } else if let n = snapshot.networks.first {
                encoded = try ValueEncoder().encode(n)
            } else if let n = snapshot.ibNetworks.first {
                encoded = try ValueEncoder().encode(n)
            } else if let n = snapshot.ovsNetworks.first {
                encoded = try ValueEncoder().encode(n)
            } else if let c = snapshot.operatorConfigs.first {
                encoded = try ValueEncoder().encode(c)
            } else if let c = snapshot.poolConfigs.first {
                encoded = try ValueEncoder().encode(c)
            } else {
                Issue.record("nothing decoded from \(name)")
                continue
            }
            var again = ClusterSnapshot()
            try again.add(ManifestDocument(file: "re-encoded", value: encoded))
            let reencoded: JSONValue
            if let p = again.policies.first {
                reencoded = try ValueEncoder().encode(p)
            } else if let s = again.nodeStates.first {
                reencoded = try ValueEncoder().encode(s)
            } else if let n = again.networks.first {
                reencoded = try ValueEncoder().encode(n)
            } else if let n = again.ibNetworks.first {
                reencoded = try ValueEncoder().encode(n)
            } else if let n = again.ovsNetworks.first {
                reencoded = try ValueEncoder().encode(n)
            } else if let c = again.operatorConfigs.first {
                reencoded = try ValueEncoder().encode(c)
            } else if let c = again.poolConfigs.first {
                reencoded = try ValueEncoder().encode(c)
            } else {
                Issue.record("nothing decoded again from \(name)")
                continue
            }
            #expect(encoded == reencoded)
        }
    }

    @Test(
        "bad manifests give one clear error naming file, line, object and field",
        arguments: [
            (
                "spec:\n  resourceName: r\n  nodeSelector: {}\n  numVF: 8\n  nicSelector: {vendor: \"8086\"}\n",
                #"bad.yaml:8: SriovNetworkNodePolicy "p": spec.numVF: unknown field, did you mean numVfs?"#
            ),
            (
                "spec:\n  resourceName: r\n  nodeSelector: {}\n  numVfs: eight\n  nicSelector: {vendor: \"8086\"}\n",
                #"bad.yaml:8: SriovNetworkNodePolicy "p": spec.numVfs: expected integer, got string "eight""#
            ),
            (
                "spec:\n  resourceName: r\n  nodeSelector: {}\n  numVfs: 8\n  nicSelector: {vendor: 8086}\n",
                #"bad.yaml:9: SriovNetworkNodePolicy "p": spec.nicSelector.vendor: expected string, got integer 8086 (quote it: "8086")"#
            ),
            (
                "spec:\n  resourceName: r\n  numVfs: 8\n  nicSelector: {vendor: \"8086\"}\n",
                #"bad.yaml:5: SriovNetworkNodePolicy "p": spec.nodeSelector: required field is missing"#
            ),
        ]
    )
    func badPolicy(body: String, message: String) throws {
        let text =
            "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodePolicy\nmetadata:\n  name: p\n" + body
        let documents = try ManifestReader.parse(text, file: "bad.yaml")
        let (_, errors) = ClusterSnapshot.decode(documents)
        #expect(errors.map(\.description) == [message])
    }

    @Test("a wrong apiVersion for a known kind is an error; unknown kinds are counted, not rejected")
    func apiVersions() throws {
        let documents = try ManifestReader.parse(
            """
            apiVersion: sriovnetwork.openshift.io/v2
            kind: SriovNetwork
            metadata: {name: n}
            spec: {resourceName: r}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: d}
            """,
            file: "mixed.yaml"
        )
        let (snapshot, errors) = ClusterSnapshot.decode(documents)
        #expect(errors.count == 1)
        #expect(errors.first?.description.contains(#"expected "sriovnetwork.openshift.io/v1""#) == true)
        #expect(snapshot.ignored == ["Deployment": 1])
    }
}

@Suite("Device-plugin config JSON")
struct ResourceConfigTests {
    @Test("Go json.Marshal shape: key order, capitalised always-present booleans, SelectorObj null")
    func shape() {
        var selectors = NetDeviceSelectors()
        selectors.vendors = ["8086"]
        selectors.devices = ["154c"]
        selectors.pfNames = ["ens1f0#0-3"]
        selectors.IsRdma = true
        let list = ResourceConfigList(resourceList: [ResourceConfig(resourceName: "intel<&>", selectors: selectors)])
        #expect(
            list.json
                == #"{"resourceList":[{"resourceName":"intel\u003c\u0026\u003e","selectors":{"vendors":["8086"],"devices":["154c"],"pfNames":["ens1f0#0-3"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        #expect(ResourceConfigList(resourceList: nil).json == #"{"resourceList":null}"#)
    }
}
