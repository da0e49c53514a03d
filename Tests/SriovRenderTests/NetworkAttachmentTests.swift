import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

private let operatorNamespace = "sriov-network-operator"

private func sriovNetwork(
    _ name: String = "test",
    namespace: String = "ns",
    _ change: (inout SriovNetwork.Spec) -> Void = { _ in }
) -> SriovNetwork {
    var spec = SriovNetwork.Spec(resourceName: "testresource")
    change(&spec)
    return SriovNetwork(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec)
}

private let hostLocal = """
    {
      "type": "host-local",
      "subnet": "10.56.217.0/24",
      "rangeStart": "10.56.217.171",
      "rangeEnd": "10.56.217.181",
      "routes": [{ "dst": "0.0.0.0/0" }],
      "gateway": "10.56.217.1"
    }
    """

/// Upstream: api/v1/helper_test.go TestRenderNetAttDef* (golden files) and the network controller envtests —
/// cases N1–N9 of the reference.
@Suite("NetworkAttachmentDefinition rendering")
struct NetworkAttachmentTests {
    func renderer(prefix: String = "openshift.io") -> NetworkRenderer {
        NetworkRenderer(options: RenderOptions(namespace: operatorNamespace, resourcePrefix: prefix))
    }

    @Test("N1: plain SriovNetwork with an empty prefix: NAD in networkNamespace, both annotations, compact config")
    func n1() throws {
        let network = sriovNetwork { $0.networkNamespace = "testnamespace" }
        let nad = try self.renderer(prefix: "").networkAttachment(for: network)
        #expect(nad.metadata.namespace == "testnamespace")
        #expect(nad.metadata.name == "test")
        #expect(
            nad.metadata.annotations == [
                "k8s.v1.cni.cncf.io/resourceName": "/testresource",
                "sriovnetwork.openshift.io/owner-ref": "SriovNetwork.sriovnetwork.openshift.io/ns/test",
            ]
        )
        #expect(
            try GoJSON.compact(nad.spec.config)
                == #"{"cniVersion":"1.0.0","name":"test","type":"sriov","vlan":0,"vlanQoS":0,"ipam":{}}"#
        )
        // The stored form is Go's json.Indent with four spaces.
        #expect(
            nad.spec.config == """
                {
                    "cniVersion": "1.0.0",
                    "name": "test",
                    "type": "sriov",
                    "vlan": 0,
                    "vlanQoS": 0,
                    "ipam": {}
                }
                """
        )
    }

    @Test("N2: metaPlugins chain the sriov plugin into a plugins list")
    func n2() throws {
        let network = sriovNetwork { $0.metaPlugins = #"{"type":"vrf","vrfname":"blue"}"# }
        #expect(
            try CNIConfig.compact(network)
                == #"{"cniVersion":"1.0.0","name":"test","plugins":[{"type":"sriov","vlan":0,"vlanQoS":0,"ipam":{}},{"type":"vrf","vrfname":"blue"}]}"#
        )
    }

    @Test("N3: vlan, QoS, protocol, logLevel default and whitespace-stripped IPAM")
    func n3() throws {
        var network = sriovNetwork("test-0", namespace: operatorNamespace) {
            $0.resourceName = "resource_1"
            $0.vlan = 100
            $0.vlanQoS = 5
            $0.vlanProto = "802.1ad"
            $0.ipam = hostLocal
        }
        network.applyCRDDefaults()
        let result = self.renderer().render(network)
        let nad = try #require(result.networkAttachment)
        #expect(nad.metadata.annotations["k8s.v1.cni.cncf.io/resourceName"] == "openshift.io/resource_1")
        #expect(
            try GoJSON.compact(nad.spec.config)
                == #"{"cniVersion":"1.0.0","name":"test-0","type":"sriov","vlan":100,"vlanQoS":5,"vlanProto":"802.1ad","logLevel":"info","ipam":{"type":"host-local","subnet":"10.56.217.0/24","rangeStart":"10.56.217.171","rangeEnd":"10.56.217.181","routes":[{"dst":"0.0.0.0/0"}],"gateway":"10.56.217.1"}}"#
        )
        #expect(result.network["metadata"]?["finalizers"] == ["netattdef.finalizers.sriovnetwork.openshift.io"])
        // The NAD lands in the CR's own (the operator's) namespace: upstream's SetOwnerReference applies here too.
        #expect(nad.metadata.ownerReferences.map(\.name) == ["test-0"])
        #expect(result.ready.reason == "NetworkReady")
        #expect(result.ready.status == "True")
    }

    @Test("N4: spoofchk and trust sit between vlan and vlanQoS")
    func n4() throws {
        let spoof = sriovNetwork {
            $0.spoofChk = "on"
            $0.logLevel = "info"
        }
        #expect(
            try CNIConfig.compact(spoof)
                == #"{"cniVersion":"1.0.0","name":"test","type":"sriov","vlan":0,"spoofchk":"on","vlanQoS":0,"logLevel":"info","ipam":{}}"#
        )
        let trust = sriovNetwork {
            $0.trust = "on"
            $0.logLevel = "info"
        }
        #expect(
            try CNIConfig.compact(trust)
                == #"{"cniVersion":"1.0.0","name":"test","type":"sriov","vlan":0,"trust":"on","vlanQoS":0,"logLevel":"info","ipam":{}}"#
        )
    }

    @Test("N5: logLevel and logFile before ipam; rates, capabilities and link_state in upstream order")
    func n5() throws {
        let logs = sriovNetwork {
            $0.logLevel = "debug"
            $0.logFile = "/tmp/tmpfile"
        }
        #expect(
            try CNIConfig.compact(logs)
                == #"{"cniVersion":"1.0.0","name":"test","type":"sriov","vlan":0,"vlanQoS":0,"logLevel":"debug","logFile":"/tmp/tmpfile","ipam":{}}"#
        )
        let all = sriovNetwork {
            $0.minTxRate = 0
            $0.maxTxRate = 1000
            $0.capabilities = #"{"mac": true}"#
            $0.linkState = "enable"
            $0.logLevel = ""
        }
        #expect(
            try CNIConfig.compact(all)
                == #"{"cniVersion":"1.0.0","name":"test","type":"sriov","vlan":0,"vlanQoS":0,"min_tx_rate":0,"max_tx_rate":1000,"capabilities":{"mac": true},"link_state":"enable","ipam":{}}"#
        )
    }

    @Test("N7: SriovIBNetwork; invalid raw capabilities make the pretty form fail with a clear error")
    func n7() throws {
        let ib = SriovIBNetwork(
            metadata: ObjectMeta(name: "test", namespace: "ns"),
            spec: .init(resourceName: "ib", capabilities: "foo")
        )
        #expect(
            try CNIConfig.compact(ib)
                == #"{"cniVersion":"1.0.0","name":"test","type":"ib-sriov","capabilities":foo,"ipam":{}}"#
        )
        #expect(throws: CNIConfigError.self) { try self.renderer().networkAttachment(for: ib) }
        let live = SriovIBNetwork(
            metadata: ObjectMeta(name: "ibn", namespace: operatorNamespace),
            spec: .init(resourceName: "ib", linkState: "auto")
        )
        #expect(
            try CNIConfig.compact(live)
                == #"{"cniVersion":"1.0.0","name":"ibn","type":"ib-sriov","link_state":"auto","ipam":{}}"#
        )
        let result = self.renderer().render(
            SriovIBNetwork(
                metadata: ObjectMeta(name: "bad", namespace: operatorNamespace),
                spec: .init(resourceName: "ib", capabilities: "foo")
            )
        )
        #expect(result.action == .notProvisioned)
        #expect(result.ready.reason == "ProvisioningFailed")
        #expect(result.ready.message.contains("spec.capabilities"))
    }

    @Test("N8: OVSNetwork complex, simple and chained")
    func n8() throws {
        let complex = OVSNetwork(
            metadata: ObjectMeta(name: "test", namespace: "ns"),
            spec: .init(
                resourceName: "r",
                capabilities: #"{"foo": "bar"}"#,
                ipam: #"{"type": "foo"}"#,
                bridge: "test",
                vlan: 100,
                mtu: 1500,
                trunk: [.init(id: 120), .init(minID: 500, maxID: 550)],
                interfaceType: "netdev"
            )
        )
        #expect(
            try CNIConfig.compact(complex)
                == #"{"cniVersion":"1.0.0","name":"test","type":"ovs","capabilities":{"foo": "bar"},"bridge":"test","vlan":100,"mtu":1500,"trunk":[{"id":120},{"minID":500,"maxID":550}],"interface_type":"netdev","ipam":{"type":"foo"}}"#
        )
        let simple = OVSNetwork(metadata: ObjectMeta(name: "test", namespace: "ns"), spec: .init(resourceName: "r"))
        #expect(try CNIConfig.compact(simple) == #"{"cniVersion":"1.0.0","name":"test","type":"ovs","ipam":{}}"#)
        let chained = OVSNetwork(
            metadata: ObjectMeta(name: "test", namespace: "ns"),
            spec: .init(resourceName: "r", metaPlugins: #"{"type":"vrf","vrfname":"blue"}"#, mtu: 1500)
        )
        #expect(
            try CNIConfig.compact(chained)
                == #"{"cniVersion":"1.0.0","name":"test","plugins":[{"type":"ovs","mtu":1500,"ipam":{}},{"type":"vrf","vrfname":"blue"}]}"#
        )
    }

    @Test("N9: a network outside the operator namespace gets a NAD in its own namespace, owned by the CR, no finalizer")
    func n9() throws {
        var network = sriovNetwork("blue-net", namespace: "ns-blue") { $0.resourceName = "resource_x" }
        network.metadata.uid = "1234"
        let result = self.renderer().render(network)
        let nad = try #require(result.networkAttachment)
        #expect(nad.metadata.namespace == "ns-blue")
        #expect(
            nad.metadata.ownerReferences == [
                OwnerReference(
                    apiVersion: "sriovnetwork.openshift.io/v1",
                    kind: "SriovNetwork",
                    name: "blue-net",
                    uid: "1234"
                )
            ]
        )
        #expect(result.network["metadata"]?["finalizers"] == nil)
        network.spec.resourceName = "resource_y"
        let renamed = try #require(self.renderer().render(network).networkAttachment)
        #expect(renamed.metadata.annotations["k8s.v1.cni.cncf.io/resourceName"] == "openshift.io/resource_y")
        #expect(renamed.metadata.ownerReferences == nad.metadata.ownerReferences)
    }

    @Test("networkNamespace on a CR outside the operator namespace: Ready=False, no NAD")
    func networkNamespaceOutsideOperatorNamespace() {
        let network = sriovNetwork(namespace: "ns-blue") { $0.networkNamespace = "other" }
        let result = self.renderer().render(network)
        #expect(result.networkAttachment == nil)
        #expect(result.ready.status == "False")
        #expect(result.ready.reason == "NetworkAttachmentDefinitionInvalid")
    }

    @Test("a missing target namespace: Ready=False NamespaceNotFound")
    func namespaceNotFound() {
        var renderer = self.renderer()
        renderer.namespaces = [operatorNamespace]
        let result = renderer.render(sriovNetwork(namespace: operatorNamespace) { $0.networkNamespace = "nowhere" })
        #expect(result.ready.reason == "NamespaceNotFound")
        #expect(result.ready.message == #"target namespace "nowhere" does not exist"#)
    }

    @Test("an existing NAD owned by another CR is not touched; one without an owner is adopted")
    func ownership() throws {
        let network = sriovNetwork(namespace: operatorNamespace) { $0.networkNamespace = "app" }
        var foreign = NetworkAttachmentDefinition(
            metadata: ObjectMeta(name: "test", namespace: "app"),
            spec: .init(config: "{}")
        )
        foreign.metadata.annotations[NetworkAttachmentDefinition.ownerRefAnnotation] =
            "SriovNetwork.sriovnetwork.openshift.io/other/test"
        var renderer = self.renderer()
        renderer.existing = [ObjectKey(namespace: "app", name: "test"): foreign]
        let blocked = renderer.render(network)
        #expect(blocked.action == .notProvisioned)
        #expect(
            blocked.ready.message.contains(
                "already exists and is owned by SriovNetwork.sriovnetwork.openshift.io/other/test"
            )
        )
        foreign.metadata.annotations = [:]
        renderer.existing = [ObjectKey(namespace: "app", name: "test"): foreign]
        #expect(renderer.render(network).action == .update)
    }

    @Test("an identical existing NAD is unchanged, even if stored compact; a moved network deletes the old NAD")
    func unchangedAndMove() throws {
        var network = sriovNetwork(namespace: operatorNamespace) { $0.networkNamespace = "app" }
        let first = try #require(self.renderer().render(network).networkAttachment)
        var compactCopy = first
        compactCopy.spec.config = try GoJSON.compact(first.spec.config)
        var renderer = self.renderer()
        renderer.existing = [ObjectKey(namespace: "app", name: "test"): compactCopy]
        #expect(renderer.render(network).action == .unchanged)
        network.metadata.annotations[NetworkRenderer.lastNamespaceAnnotation] = "old-app"
        let moved = self.renderer().render(network)
        #expect(moved.deletes == ObjectKey(namespace: "old-app", name: "test"))
        #expect(moved.network["metadata"]?["annotations"]?[NetworkRenderer.lastNamespaceAnnotation] == "app")
    }

    @Test("IPAM whitespace is stripped everywhere, even inside strings (upstream strings.Fields)")
    func ipamStripping() {
        #expect(
            CNIConfig.strippedIPAM(#"{ "type": "static", "addresses": [ { "address": "10.0.0.1 /24" } ] }"#)
                == #"{"type":"static","addresses":[{"address":"10.0.0.1/24"}]}"#
        )
        #expect(CNIConfig.strippedIPAM("") == "{}")
    }
}
