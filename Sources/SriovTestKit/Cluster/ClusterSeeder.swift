public import KubeClient
public import KubeCore
public import SriovAPI

/// Creates objects in an API server the way `kubectl apply` would, for integration tests: Namespaces and
/// Nodes, every SR-IOV kind, NodeStates including their `status` (written through the status
/// subresource, as the config daemon does).
public struct ClusterSeeder: Sendable {
    public let client: KubeClient

    public init(client: KubeClient) { self.client = client }

    /// Multus's NetworkAttachmentDefinition CRD: a real server needs it before NADs exist (the operator stays
    /// unready without it).
    public static let networkAttachmentDefinitionCRD: JSONValue = [
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": ["name": "network-attachment-definitions.k8s.cni.cncf.io"],
        "spec": [
            "group": "k8s.cni.cncf.io", "scope": "Namespaced",
            "names": [
                "plural": "network-attachment-definitions", "singular": "network-attachment-definition",
                "kind": "NetworkAttachmentDefinition", "shortNames": ["net-attach-def"],
            ],
            "versions": [
                [
                    "name": "v1", "served": true, "storage": true,
                    "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]],
                ]
            ],
        ],
    ]

    /// Installs the CRDs (raw `apiextensions.k8s.io/v1` objects) and waits until each is Established.
    public func installCRDs(_ crds: [JSONValue], timeout: Duration = .seconds(60)) async throws {
        for crd in crds {
            let body = Array(GoJSON.encode(crd).utf8)
            do {
                _ = try await self.client.perform(
                    KubeRequest(
                        method: "POST",
                        path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                        body: body,
                        verb: "create",
                        resource: "customresourcedefinitions"
                    )
                )
            } catch let error as KubeError where error.isAlreadyExists {}
        }
        let deadline = ContinuousClock.now + timeout
        for crd in crds {
            let name = crd["metadata"]?["name"]?.stringValue ?? ""
            while true {
                let body = try await self.client.perform(
                    KubeRequest(
                        method: "GET",
                        path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/\(name)",
                        verb: "get",
                        resource: "customresourcedefinitions \(name)"
                    )
                )
                let value = try JSONParser.parse(body)
                let established = (value["status"]?["conditions"]?.arrayValue ?? []).contains {
                    $0["type"] == "Established" && $0["status"] == "True"
                }
                if established { break }
                if ContinuousClock.now > deadline {
                    throw KubeError(
                        status: 0,
                        reason: "Timeout",
                        message: "CRD \(name) not established",
                        verb: "wait",
                        resource: name
                    )
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Creates everything in `snapshot` (namespaces first; NodeState status through `/status`).
    public func seed(_ snapshot: ClusterSnapshot) async throws {
        for namespace in snapshot.namespaces { try await self.create(namespace, namespace: nil) }
        for node in snapshot.nodes { try await self.create(node, namespace: nil) }
        for config in snapshot.operatorConfigs { try await self.create(config, namespace: config.metadata.namespace) }
        for pool in snapshot.poolConfigs { try await self.create(pool, namespace: pool.metadata.namespace) }
        for map in snapshot.configMaps { try await self.create(map, namespace: map.metadata.namespace) }
        for state in snapshot.nodeStates {
            let api = self.client.api(SriovNetworkNodeState.self, namespace: state.metadata.namespace)
            var created = try await api.create(state)
            created.status = state.status
            _ = try await api.updateStatus(created)
        }
        for policy in snapshot.policies { try await self.create(policy, namespace: policy.metadata.namespace) }
        for network in snapshot.networks { try await self.create(network, namespace: network.metadata.namespace) }
        for network in snapshot.ibNetworks { try await self.create(network, namespace: network.metadata.namespace) }
        for network in snapshot.ovsNetworks { try await self.create(network, namespace: network.metadata.namespace) }
    }

    func create<R: Resource>(_ object: R, namespace: String?) async throws {
        var clean = object
        clean.metadata.resourceVersion = ""
        clean.metadata.uid = ""
        do {
            _ = try await self.client.api(R.self, namespace: namespace).create(clean)
        } catch let error as KubeError where error.isAlreadyExists {}
    }
}
