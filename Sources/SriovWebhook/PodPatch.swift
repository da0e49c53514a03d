import KubeCore

/// Builds the injector's JSONPatch for one Pod. Paths that may not exist yet (`resources`, `requests`,
/// `volumes`, `volumeMounts`, `env`) are created first, since a JSONPatch `add` needs the parent.
///
/// Upstream: network-resources-injector createResourcePatch, updateResourcePatch, createEnvPatch,
/// createNodeSelectorPatch, createVolPatch.
struct PodPatch {
    let containers: [JSONValue]
    var operations: [JSONValue] = []

    init(containers: [JSONValue]) { self.containers = containers }

    struct Hugepage {
        var resource: String
        var container: String
        var path: String
    }

    /// Adds `requests` to container `index`: `count` units to requests and limits. Without
    /// `honorExisting`, a resource any container already requests or limits is left alone; with it, the count
    /// is added to the container's existing value.
    mutating func addResources(_ requests: [String: Int], to index: Int, honorExisting: Bool) {
        let container = self.containers[index]
        let base = "/spec/containers/\(index)/resources"
        let resources = container["resources"]?.objectValue
        if resources == nil { self.operations.append(addOperation(base, .object(JSONObject()))) }
        let existingRequests = resources?["requests"]?.objectValue ?? JSONObject()
        let existingLimits = resources?["limits"]?.objectValue ?? JSONObject()
        if existingRequests.isEmpty { self.operations.append(addOperation(base + "/requests", .object(JSONObject()))) }
        if existingLimits.isEmpty { self.operations.append(addOperation(base + "/limits", .object(JSONObject()))) }
        for (resource, count) in requests.sorted(by: { $0.key < $1.key }) {
            var request = count
            var limit = count
            if honorExisting {
                request += Self.integerQuantity(existingRequests[resource]) ?? 0
                limit += Self.integerQuantity(existingLimits[resource]) ?? 0
            } else {
                let alreadyAsked = self.containers.contains { other in
                    other["resources"]?["requests"]?[resource] != nil || other["resources"]?["limits"]?[resource] != nil
                }
                if alreadyAsked { continue }
            }
            let key = jsonPointerSegment(resource)
            self.operations.append(addOperation(base + "/requests/" + key, .string(String(request))))
            self.operations.append(addOperation(base + "/limits/" + key, .string(String(limit))))
        }
    }

    /// A quantity the injector can add to: a plain integer, as JSON number or string.
    static func integerQuantity(_ value: JSONValue?) -> Int? {
        switch value {
        case .int(let number): return number
        case .string(let text): return Int(text)
        default: return nil
        }
    }

    /// For each container with non-zero hugepage requests or limits: the Downward API items to add and, when
    /// missing, env `CONTAINER_NAME`.
    mutating func addHugepageEnvironment() -> [Hugepage] {
        var found: [Hugepage] = []
        for (index, container) in self.containers.enumerated() {
            let name = container["name"]?.stringValue ?? ""
            var any = false
            for (section, word) in [("requests", "request"), ("limits", "limit")] {
                for (resource, size) in [("hugepages-1Gi", "1G"), ("hugepages-2Mi", "2M")] {
                    guard let quantity = container["resources"]?[section]?[resource], !Self.isZero(quantity) else {
                        continue
                    }
                    found.append(
                        Hugepage(
                            resource: "\(section).\(resource)",
                            container: name,
                            path: "hugepages_\(size)_\(word)_\(name)"
                        )
                    )
                    any = true
                }
            }
            guard any else { continue }
            let env = container["env"]?.arrayValue ?? []
            if env.contains(where: { $0["name"]?.stringValue == "CONTAINER_NAME" }) { continue }
            let variable: JSONValue = ["name": "CONTAINER_NAME", "value": .string(name)]
            if env.isEmpty {
                self.operations.append(addOperation("/spec/containers/\(index)/env", [variable]))
            } else {
                self.operations.append(addOperation("/spec/containers/\(index)/env/-", variable))
            }
        }
        return found
    }

    static func isZero(_ quantity: JSONValue) -> Bool {
        switch quantity {
        case .int(let number): return number == 0
        case .string(let text): return text.isEmpty || text.allSatisfy { $0 == "0" } || Double(text) == 0
        default: return false
        }
    }

    /// The pod's node selector merged with the NADs' (the NADs win), when there is any.
    mutating func addNodeSelector(existing: JSONObject, desired: [String: String]) {
        guard !desired.isEmpty else { return }
        var merged = existing
        for (key, value) in desired.sorted(by: { $0.key < $1.key }) { merged[key] = .string(value) }
        self.operations.append(addOperation("/spec/nodeSelector", .object(merged)))
    }

    /// The `podnetinfo` Downward API volume and its read-only mount in every container; nothing when the
    /// pod already has a volume of that name (a re-invoked webhook must not add it twice).
    mutating func addPodNetInfoVolume(existingVolumes: [JSONValue]?, hugepages: [Hugepage]) {
        if let existingVolumes,
            existingVolumes.contains(where: { $0["name"]?.stringValue == ResourceInjector.volumeName })
        {
            return
        }
        let mount: JSONValue = [
            "name": .string(ResourceInjector.volumeName), "readOnly": true,
            "mountPath": .string(ResourceInjector.mountPath),
        ]
        for (index, container) in self.containers.enumerated() {
            if container["volumeMounts"]?.arrayValue?.isEmpty == false {
                self.operations.append(addOperation("/spec/containers/\(index)/volumeMounts/-", mount))
            } else {
                self.operations.append(addOperation("/spec/containers/\(index)/volumeMounts", [mount]))
            }
        }
        var items: [JSONValue] = [
            ["path": "labels", "fieldRef": ["fieldPath": "metadata.labels"]],
            ["path": "annotations", "fieldRef": ["fieldPath": "metadata.annotations"]],
        ]
        for page in hugepages {
            items.append([
                "path": .string(page.path),
                "resourceFieldRef": [
                    "containerName": .string(page.container), "resource": .string(page.resource), "divisor": "1Mi",
                ],
            ])
        }
        let volume: JSONValue = ["name": .string(ResourceInjector.volumeName), "downwardAPI": ["items": .array(items)]]
        if existingVolumes?.isEmpty == false {
            self.operations.append(addOperation("/spec/volumes/-", volume))
        } else {
            self.operations.append(addOperation("/spec/volumes", [volume]))
        }
    }
}
