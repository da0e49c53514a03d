import Foundation
import KubeCore
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import SriovWebhook
import Testing

/// The webhooks' decisions on AdmissionReviews, in process, over a fixed cluster.
enum Fixture {
    static let namespace = "sriov-network-operator"

    /// One worker with upstream's test node N0's interfaces in its NodeState status.
    static var cluster: ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.nodes = [.worker("worker-0")]
        snapshot.nodeStates = [.fixture("worker-0", interfaces: [.n0A, .n0B, .n0C], namespace: Self.namespace)]
        return snapshot
    }

    static func policyJSON(_ policy: SriovNetworkNodePolicy) throws -> JSONValue {
        var copy = policy
        copy.setTypeMeta()
        return try ValueEncoder().encode(copy)
    }

    static func review(
        kind: String,
        operation: String = "CREATE",
        namespace: String = Self.namespace,
        object: JSONValue?,
        oldObject: JSONValue? = nil,
        apiVersion: String = "admission.k8s.io/v1",
        uid: String = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    ) -> String {
        var request: JSONObject = [
            "uid": .string(uid), "kind": ["group": "", "version": "v1", "kind": .string(kind)],
            "operation": .string(operation), "namespace": .string(namespace),
        ]
        if let object { request["object"] = object }
        if let oldObject { request["oldObject"] = oldObject }
        return GoJSON.encode([
            "apiVersion": .string(apiVersion), "kind": "AdmissionReview", "request": .object(request),
        ])
    }

    static func nad(
        _ name: String,
        namespace: String,
        resource: String?,
        nodeSelector: String? = nil
    )
        -> NetworkAttachmentDefinition
    {
        var meta = ObjectMeta(name: name, namespace: namespace)
        if let resource { meta.annotations[NetworkAttachmentDefinition.resourceNameAnnotation] = resource }
        if let nodeSelector { meta.annotations["k8s.v1.cni.cncf.io/nodeSelector"] = nodeSelector }
        return NetworkAttachmentDefinition(metadata: meta, spec: .init(config: "{\"type\":\"sriov\"}"))
    }

    static func pod(
        annotations: [String: String],
        containers: [JSONValue] = [["name": "app", "image": "busybox"]]
    )
        -> JSONValue
    {
        var meta: JSONObject = ["name": "p1", "namespace": "apps"]
        meta["annotations"] = .object(
            JSONObject(annotations.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.string($0.value)) })
        )
        return [
            "apiVersion": "v1", "kind": "Pod", "metadata": .object(meta), "spec": ["containers": .array(containers)],
        ]
    }
}

/// A decoded answer.
struct Answer {
    var apiVersion: String
    var uid: String
    var allowed: Bool
    var message: String
    var warnings: [String]
    var patch: [JSONValue]?

    init(_ text: String) throws {
        let value = try JSONParser.parse(text)
        self.apiVersion = value["apiVersion"]?.stringValue ?? ""
        let response = value["response"]
        self.uid = response?["uid"]?.stringValue ?? ""
        self.allowed = response?["allowed"] == .bool(true)
        self.message = response?["status"]?["message"]?.stringValue ?? ""
        self.warnings = response?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let encoded = response?["patch"]?.stringValue, let data = Data(base64Encoded: encoded) {
            self.patch = try JSONParser.parse(Array(data)).arrayValue
        }
    }

    func patchValue(at path: String) -> JSONValue? {
        self.patch?.first { $0["path"]?.stringValue == path }?["value"]
    }
}

@Suite("operator and injector admission")
struct AdmissionTests {
    let settings = WebhookSettings(operatorNamespace: Fixture.namespace)

    func handler(_ snapshot: ClusterSnapshot = Fixture.cluster) -> WebhookHandler {
        WebhookHandler(settings: self.settings, cluster: SnapshotClusterView(snapshot), logger: .init(label: "test"))
    }

    func post(_ path: String, _ body: String, snapshot: ClusterSnapshot = Fixture.cluster) async throws -> Answer {
        let answer = await self.handler(snapshot).respond(
            method: "POST",
            path: path,
            contentType: "application/json",
            body: Array(body.utf8)
        )
        #expect(answer.status == 200, "\(answer.body)")
        return try Answer(answer.body)
    }

    @Test("a pfNames range beyond numVfs is refused with upstream's message")
    func badRange() async throws {
        let policy = SriovNetworkNodePolicy.fixture("bad-range").numVfs(4).pfNames("ens803f0#0-7")
        let answer = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(policy))
        )
        #expect(!answer.allowed)
        #expect(
            answer.message == "failed to parse ens803f0#0-7 PF name nicSelector, end range exceeds the maximum VF index"
        )
        #expect(answer.uid == "0f1e2d3c-aaaa-bbbb-cccc-000000000001")
    }

    @Test("a policy that selects no node is refused")
    func noNode() async throws {
        let policy = SriovNetworkNodePolicy.fixture("nowhere").numVfs(4).pfNames("ens803f0")
            .nodeSelector(["no-such-label": "x"])
        let answer = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(policy))
        )
        #expect(!answer.allowed)
        #expect(answer.message == "no matched node is selected by the nodeSelector in CR nowhere")
    }

    @Test("a valid policy is admitted; outside the operator namespace with upstream's warning")
    func admitted() async throws {
        let policy = SriovNetworkNodePolicy.fixture("good").numVfs(4).pfNames("ens803f0")
        let answer = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(policy))
        )
        #expect(answer.allowed, "\(answer.message)")
        var elsewhere = policy
        elsewhere.metadata.namespace = "other"
        let warned = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(elsewhere))
        )
        #expect(
            warned.warnings
                == [
                    "good is created or updated but not used. Only policy in sriov-network-operator namespace is respected."
                ]
        )
    }

    @Test("deleting any policy is allowed, even one that would not validate")
    func deletion() async throws {
        let policy = SriovNetworkNodePolicy.fixture("bad-range").numVfs(4).pfNames("ens803f0#0-7")
        let answer = try await self.post(
            "/validating-custom-resource",
            Fixture.review(
                kind: SriovNetworkNodePolicy.kind,
                operation: "DELETE",
                object: nil,
                oldObject: try Fixture.policyJSON(policy)
            )
        )
        #expect(answer.allowed)
    }

    @Test("an operator config not named default is refused; disableDrain warns")
    func operatorConfig() async throws {
        var config = SriovOperatorConfig(metadata: ObjectMeta(name: "other", namespace: Fixture.namespace))
        config.setTypeMeta()
        let refused = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovOperatorConfig.kind, object: try ValueEncoder().encode(config))
        )
        #expect(!refused.allowed)
        #expect(refused.message == "only default SriovOperatorConfig in sriov-network-operator namespace is used")
        config.metadata.name = "default"
        config.spec.disableDrain = true
        let warned = try await self.post(
            "/validating-custom-resource",
            Fixture.review(kind: SriovOperatorConfig.kind, object: try ValueEncoder().encode(config))
        )
        #expect(warned.allowed)
        #expect(warned.warnings.first?.hasPrefix("Node draining is disabled") == true)
    }

    @Test("the mutating webhook patches absent priority and isRdma, in a v1beta1 review answered as v1beta1")
    func defaults() async throws {
        let object: JSONValue = [
            "apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy",
            "metadata": ["name": "ib", "namespace": .string(Fixture.namespace)],
            "spec": ["resourceName": "ib", "numVfs": 4, "linkType": "IB", "nicSelector": ["pfNames": ["ib0"]]],
        ]
        let answer = try await self.post(
            "/mutating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: object, apiVersion: "admission.k8s.io/v1beta1")
        )
        #expect(answer.apiVersion == "admission.k8s.io/v1beta1")
        #expect(answer.allowed)
        #expect(
            answer.patch == [
                ["op": "add", "path": "/spec/priority", "value": 99],
                ["op": "add", "path": "/spec/isRdma", "value": false],
                ["op": "add", "path": "/spec/isRdma", "value": true],
            ]
        )
        let named: JSONValue = ["metadata": ["name": "default"], "spec": ["numVfs": 1]]
        let skipped = try await self.post(
            "/mutating-custom-resource",
            Fixture.review(kind: SriovNetworkNodePolicy.kind, object: named)
        )
        #expect(skipped.patch == nil)
    }

    // MARK: Injector

    func injectorCluster() -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.networkAttachments = [
            Fixture.nad("net-a", namespace: "apps", resource: "openshift.io/intel_netdev"),
            Fixture.nad("net-b", namespace: "infra", resource: "openshift.io/mlx", nodeSelector: "sriov=true"),
            Fixture.nad("plain", namespace: "apps", resource: nil),
        ]
        return snapshot
    }

    @Test(
        "requests and limits are injected from the NADs, in both annotation syntaxes",
        arguments: [
            "net-a, infra/net-b@eth2, net-a",
            #"[{"name":"net-a"},{"name":"net-b","namespace":"infra","interface":"eth2"},{"name":"net-a"}]"#,
        ]
    )
    func injects(annotation: String) async throws {
        let pod = Fixture.pod(annotations: [ResourceInjector.networksAnnotation: annotation])
        let answer = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: pod),
            snapshot: self.injectorCluster()
        )
        #expect(answer.allowed)
        #expect(answer.patchValue(at: "/spec/containers/0/resources/requests/openshift.io~1intel_netdev") == "2")
        #expect(answer.patchValue(at: "/spec/containers/0/resources/limits/openshift.io~1intel_netdev") == "2")
        #expect(answer.patchValue(at: "/spec/containers/0/resources/requests/openshift.io~1mlx") == "1")
        #expect(answer.patchValue(at: "/spec/nodeSelector") == ["sriov": "true"])
        let volume = answer.patchValue(at: "/spec/volumes")?.arrayValue?.first
        #expect(volume?["name"] == "podnetinfo")
        #expect(volume?["downwardAPI"]?["items"]?.arrayValue?.count == 2)
        #expect(
            answer.patchValue(at: "/spec/containers/0/volumeMounts")
                == [["name": "podnetinfo", "readOnly": true, "mountPath": "/etc/podnetinfo"]]
        )
    }

    @Test("a pod naming a NAD that does not exist is refused, naming it")
    func missingNAD() async throws {
        let pod = Fixture.pod(annotations: [ResourceInjector.networksAnnotation: "net-a,ghost"])
        let answer = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: pod),
            snapshot: self.injectorCluster()
        )
        #expect(!answer.allowed)
        #expect(answer.message.hasPrefix("could not find network attachment definition 'apps/ghost'"))
    }

    @Test("the container named by the annotation receives the resources; an unknown name is refused")
    func chosenContainer() async throws {
        let containers: [JSONValue] = [["name": "sidecar"], ["name": "dpdk", "resources": ["requests": ["cpu": "1"]]]]
        let pod = Fixture.pod(
            annotations: [ResourceInjector.networksAnnotation: "net-a", ResourceInjector.containerAnnotation: "dpdk"],
            containers: containers
        )
        let answer = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: pod),
            snapshot: self.injectorCluster()
        )
        #expect(answer.patchValue(at: "/spec/containers/1/resources/requests/openshift.io~1intel_netdev") == "1")
        #expect(
            answer.patch?.contains { $0["path"]?.stringValue?.hasPrefix("/spec/containers/0/resources") == true }
                == false
        )
        #expect(answer.patchValue(at: "/spec/containers/1/resources/requests") == nil, "existing requests are kept")
        let wrong = Fixture.pod(
            annotations: [ResourceInjector.networksAnnotation: "net-a", ResourceInjector.containerAnnotation: "nope"],
            containers: containers
        )
        let refused = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: wrong),
            snapshot: self.injectorCluster()
        )
        #expect(!refused.allowed)
        #expect(refused.message.contains("\"nope\""))
    }

    @Test("nri-control-switches turns on the hugepage Downward API and honouring existing requests")
    func controlSwitches() async throws {
        var snapshot = self.injectorCluster()
        let switches = ConfigMap(
            metadata: ObjectMeta(name: "nri-control-switches", namespace: Fixture.namespace),
            data: ["config.json": #"{"features":{"enableHugePageDownApi":true,"enableHonorExistingResources":true}}"#]
        )
        snapshot.configMaps = [switches]
        let containers: [JSONValue] = [
            [
                "name": "app",
                "resources": [
                    "requests": ["hugepages-1Gi": "2Gi", "openshift.io/intel_netdev": "1"],
                    "limits": ["hugepages-1Gi": "2Gi", "openshift.io/intel_netdev": "1"],
                ],
            ]
        ]
        let pod = Fixture.pod(annotations: [ResourceInjector.networksAnnotation: "net-a"], containers: containers)
        let answer = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: pod),
            snapshot: snapshot
        )
        #expect(answer.patchValue(at: "/spec/containers/0/resources/requests/openshift.io~1intel_netdev") == "2")
        #expect(answer.patchValue(at: "/spec/containers/0/env") == [["name": "CONTAINER_NAME", "value": "app"]])
        let items = answer.patchValue(at: "/spec/volumes")?.arrayValue?.first?["downwardAPI"]?["items"]?.arrayValue
        #expect(items?.map { $0["path"]?.stringValue ?? "" }.contains("hugepages_1G_request_app") == true)
        #expect(items?.map { $0["path"]?.stringValue ?? "" }.contains("hugepages_1G_limit_app") == true)
    }

    @Test("a pod without network annotations is admitted unchanged")
    func noAnnotation() async throws {
        let answer = try await self.post(
            "/mutate",
            Fixture.review(kind: "Pod", namespace: "apps", object: Fixture.pod(annotations: [:])),
            snapshot: self.injectorCluster()
        )
        #expect(answer.allowed)
        #expect(answer.patch == nil)
        #expect(answer.message == "Pod spec doesn't have network annotations. Skipping...")
    }
}
