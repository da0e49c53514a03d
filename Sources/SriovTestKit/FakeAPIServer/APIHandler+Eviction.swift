import Hummingbird
import KubeCore
import NIOCore
import Synchronization

extension APIHandler {
    static let podsType = ResourceType(group: "", plural: "pods")
    static let budgetsType = ResourceType(group: "policy", plural: "poddisruptionbudgets")

    /// `GET /api/v1`: the core group's resource list, with `pods/eviction` (group `policy`, version `v1`)
    /// when the server serves the Eviction subresource; clients find out from it whether to evict or delete.
    func coreDiscovery() -> Response {
        var resources: [JSONValue] = [
            [
                "name": "pods", "namespaced": true, "kind": "Pod",
                "verbs": ["create", "delete", "get", "list", "watch"],
            ],
            ["name": "nodes", "namespaced": false, "kind": "Node", "verbs": ["get", "list", "watch", "patch"]],
            ["name": "configmaps", "namespaced": true, "kind": "ConfigMap", "verbs": ["get", "list", "watch"]],
        ]
        if self.configuration.servesEviction {
            resources.append([
                "name": "pods/eviction", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction",
                "verbs": ["create"],
            ])
        }
        return Self.json([
            "kind": "APIResourceList", "groupVersion": "v1", "resources": .array(resources),
        ])
    }

    /// `POST pods/<name>/eviction`, as the real server's eviction REST does without a controller-manager
    /// running: a PodDisruptionBudget selecting the pod whose `status.disruptionsAllowed` is below 1 refuses
    /// with 429 TooManyRequests; otherwise the budget's allowance goes down by one and the pod is deleted
    /// (gracefully: a pod with finalizers stays, marked with `deletionTimestamp`).
    func evict(_ path: ResourcePath) throws(APIStatus) -> Response {
        guard self.configuration.servesEviction else { throw APIStatus.pathNotFound }
        guard let name = path.name, let namespace = path.namespace else { throw APIStatus.methodNotAllowed }
        var podPath = path
        podPath.subresource = nil
        try self.store.state.withLock { state throws(APIStatus) in
            let (id, _) = try state.locate(podPath, method: "DELETE")
            let pod = try state.get(podPath, id: id)
            if StoreState.meta(pod, "deletionTimestamp") != nil { return }
            let labels = StoreState.labels(pod)
            for (_, budget) in state.sortedObjects(Self.budgetsType, namespace: namespace) {
                let selector = budget["spec"]?["selector"]?["matchLabels"]?.objectValue ?? JSONObject()
                guard !selector.isEmpty else { continue }
                let matches = selector.allSatisfy { key, value in labels[key] == value.stringValue }
                guard matches else { continue }
                let allowed: Int = {
                    if case .int(let n) = budget["status"]?["disruptionsAllowed"] { return n }
                    return 0
                }()
                guard allowed >= 1 else {
                    throw APIStatus(
                        code: 429,
                        reason: "TooManyRequests",
                        message: "Cannot evict pod as it would violate the pod's disruption budget.",
                        details: [
                            "causes": [
                                [
                                    "reason": "DisruptionBudget",
                                    "message":
                                        .string(
                                            "The disruption budget \(StoreState.metaString(budget, "name")) needs "
                                                + "\(allowed == 0 ? "more healthy pods" : "recomputing")"
                                        ),
                                ]
                            ]
                        ]
                    )
                }
                var updated = budget
                if case .object(var top) = updated, case .object(var status)? = top["status"] {
                    status["disruptionsAllowed"] = .int(allowed - 1)
                    top["status"] = .object(status)
                    updated = .object(top)
                }
                let apiVersion = budget["apiVersion"]?.stringValue ?? "policy/v1"
                guard
                    let budgetPath = ResourcePath(
                        "/apis/\(apiVersion)/namespaces/\(namespace)/poddisruptionbudgets/"
                            + "\(StoreState.metaString(budget, "name"))/status"
                    )
                else { continue }
                _ = try state.update(updated, path: budgetPath, isPatch: false)
            }
            _ = try state.delete(podPath, options: nil, propagationPolicy: nil)
        }
        _ = name
        return Self.json(
            ["kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success", "code": 201],
            status: 201
        )
    }
}
