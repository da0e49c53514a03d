import Foundation
import KubeCore
import Testing

private let manifests = """
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovOperatorConfig
    metadata: {name: default, namespace: sriov-network-operator}
    spec: {enableOperatorWebhook: false}
    ---
    apiVersion: v1
    kind: Node
    metadata:
      name: w1
      labels: {node-role.kubernetes.io/worker: "", kubernetes.io/os: linux, kubernetes.io/hostname: w1}
    ---
    apiVersion: v1
    kind: Node
    metadata:
      name: w2
      labels: {node-role.kubernetes.io/worker: "", kubernetes.io/os: linux, kubernetes.io/hostname: w2}
    ---
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodeState
    metadata: {name: w1, namespace: sriov-network-operator}
    status:
      interfaces:
      - {name: ens1f0, pciAddress: "0000:3b:00.0", vendor: "8086", deviceID: "159b", mtu: 1500, totalvfs: 64}
    ---
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodeState
    metadata:
      name: gone
      namespace: sriov-network-operator
      annotations: {sriovnetwork.openshift.io/keep-state-until: "2000-01-01T00:00:00.5+01:00"}
    ---
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodePolicy
    metadata: {name: intel, namespace: sriov-network-operator}
    spec:
      resourceName: intel
      nodeSelector: {kubernetes.io/hostname: w1}
      numVfs: 4
      nicSelector: {pfNames: [ens1f0]}
    ---
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodePolicy
    metadata: {name: openstack, namespace: sriov-network-operator}
    spec:
      resourceName: osnet
      nodeSelector: {kubernetes.io/hostname: w2}
      numVfs: 1
      nicSelector: {netFilter: "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2"}
    ---
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetwork
    metadata: {name: net, namespace: sriov-network-operator, uid: 11111111-2222-3333-4444-555555555555}
    spec: {resourceName: intel, logFile: "/var/log/a&b.log"}
    """

/// `sriov plan -o json` on a cluster that exercises issue 8's error paths. Upstream functions:
/// syncDevicePluginConfigMap / createDevicePluginResource (10), handleStaleNodeState (5),
/// generic_network_controller Reconcile SetOwnerReference (1), text/template insertion (3), mutate.go (13).
@Suite("sriov plan -o json follows upstream's error paths")
struct PlanFidelityTests {
    @Test("no ConfigMap, w2 unlabelled, the expired stale NodeState absent, a plain NAD owner reference")
    func planJSON() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try manifests.write(to: directory.appendingPathComponent("cluster.yaml"), atomically: true, encoding: .utf8)

        let result = try SriovBinary.run(["plan", "-o", "json", directory.path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("node state w2 doesn't contain interfaces data"))
        let items = try ManifestReader.parse(result.stdout, file: "plan.json")
        #expect(!items.contains { $0.kind == "ConfigMap" })
        #expect(items.filter { $0.kind == "SriovNetworkNodeState" }.map(\.name) == ["w1", "w2"])
        // w1 is labelled before the failing node; w2 is not labelled in this pass.
        #expect(items.filter { $0.kind == "Node" }.map(\.name) == ["w1"])
        let nad = try #require(items.first { $0.kind == "NetworkAttachmentDefinition" }?.value)
        #expect(
            nad["metadata"]?["ownerReferences"]
                == [
                    [
                        "apiVersion": "sriovnetwork.openshift.io/v1",
                        "kind": "SriovNetwork",
                        "name": "net",
                        "uid": "11111111-2222-3333-4444-555555555555",
                    ]
                ]
        )
        #expect(nad["spec"]?["config"]?.stringValue?.contains(#""logFile": "/var/log/a&b.log""#) == true)
        let w1 = try #require(items.first { $0.kind == "SriovNetworkNodeState" && $0.name == "w1" }?.value)
        // Without the webhook the policy keeps no priority; the group is still rendered.
        #expect(w1["spec"]?["interfaces"]?.arrayValue?.first?["vfGroups"]?.arrayValue?.count == 1)

        let text = try SriovBinary.run(["plan", directory.path])
        #expect(text.stdout.contains("enableOperatorWebhook is false"))
        #expect(text.stdout.contains("the device-plugin ConfigMap is NOT written in this pass"))
        #expect(
            text.stdout.contains(
                "Node gone  — not managed any more: device-plugin label removed, NodeState deleted now"
            )
        )
    }
}
