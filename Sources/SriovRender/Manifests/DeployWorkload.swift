import KubeCore

/// Building blocks shared by the operator Deployment and the two DaemonSets: labels, metadata, env entries,
/// volumes and the container stanza, each with its keys in the order `kubectl get -o yaml` readers expect.
enum Workload {
    /// Labels every workload and its pods carry (upstream's `component: network` pair plus `app`).
    static func labels(app: String) -> JSONValue {
        ["app": .string(app), "component": "network", "openshift.io/component": "network"]
    }

    /// `spec.selector` matching the pods of `app`.
    static func selector(app: String) -> JSONValue {
        ["matchLabels": ["app": .string(app)]]
    }

    /// `metadata` with keys in the order name, namespace, labels, annotations (empty maps are left out).
    static func metadata(
        name: String,
        namespace: String? = nil,
        labels: JSONValue? = nil,
        annotations: JSONObject = [:]
    ) -> JSONValue {
        var object: JSONObject = ["name": .string(name)]
        if let namespace { object["namespace"] = .string(namespace) }
        if let labels { object["labels"] = labels }
        if !annotations.isEmpty { object["annotations"] = .object(annotations) }
        return .object(object)
    }

    /// A map with its keys sorted, so output does not depend on dictionary order.
    static func sortedMap(_ map: [String: String]) -> JSONObject {
        JSONObject(map.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })
    }

    /// An env entry with a literal value.
    static func env(_ name: String, _ value: String) -> JSONValue {
        ["name": .string(name), "value": .string(value)]
    }

    /// An env entry from the downward API (`spec.nodeName`, `metadata.namespace`, `metadata.name`).
    static func env(_ name: String, fieldPath: String) -> JSONValue {
        ["name": .string(name), "valueFrom": ["fieldRef": ["fieldPath": .string(fieldPath)]]]
    }

    static func mount(_ name: String, at path: String, readOnly: Bool = false) -> JSONValue {
        var object: JSONObject = ["name": .string(name), "mountPath": .string(path)]
        if readOnly { object["readOnly"] = true }
        return .object(object)
    }

    /// A `hostPath` volume; `type` is e.g. `DirectoryOrCreate` (nil: no check, the API default).
    static func hostPathVolume(_ name: String, path: String, type: String? = nil) -> JSONValue {
        var hostPath: JSONObject = ["path": .string(path)]
        if let type { hostPath["type"] = .string(type) }
        return ["name": .string(name), "hostPath": .object(hostPath)]
    }

    /// `resources` with requests only: the workloads are small and limits would only risk OOM kills mid-apply.
    static func requests(cpu: String, memory: String) -> JSONValue {
        ["requests": ["cpu": .string(cpu), "memory": .string(memory)]]
    }

    /// Tolerates every taint, as upstream's DaemonSets do: a node-level agent must keep running on a node that is
    /// tainted (including `NoExecute`), or that node's NICs could never be configured or drained back.
    static let tolerateEverything: JSONValue = [["operator": "Exists"]]

    /// Upstream's DaemonSets run as `system-node-critical` so they are the last to be evicted under pressure.
    static let nodeCriticalPriorityClass = "system-node-critical"

    /// A container running `sriov <subcommand>` from `image`, keys in kubectl's usual order.
    static func container(
        name: String,
        image: ImageSettings,
        subcommand: String,
        args: [String] = [],
        env: [JSONValue] = [],
        ports: [JSONValue] = [],
        livenessProbe: JSONValue? = nil,
        readinessProbe: JSONValue? = nil,
        resources: JSONValue? = nil,
        securityContext: JSONValue? = nil,
        volumeMounts: [JSONValue] = []
    ) -> JSONValue {
        var object: JSONObject = [
            "name": .string(name),
            "image": .string(image.image),
            "imagePullPolicy": .string(image.imagePullPolicy.rawValue),
            "command": ["sriov", .string(subcommand)],
        ]
        if !args.isEmpty { object["args"] = .array(args.map { .string($0) }) }
        if !env.isEmpty { object["env"] = .array(env) }
        if !ports.isEmpty { object["ports"] = .array(ports) }
        if let livenessProbe { object["livenessProbe"] = livenessProbe }
        if let readinessProbe { object["readinessProbe"] = readinessProbe }
        if let resources { object["resources"] = resources }
        if let securityContext { object["securityContext"] = securityContext }
        if !volumeMounts.isEmpty { object["volumeMounts"] = .array(volumeMounts) }
        return .object(object)
    }
}
