import Foundation
import KubeCore

extension StoreState {
    // MARK: Delete

    /// DELETE with optional `DeleteOptions` (preconditions, propagation policy).
    ///
    /// An object with finalizers (including the `foregroundDeletion`/`orphan` finalizers a propagation
    /// policy adds; there is no garbage collector, as with a bare kube-apiserver) is only marked with
    /// `deletionTimestamp`; it goes when an update removes its last finalizer.
    mutating func delete(
        _ path: ResourcePath,
        options: JSONValue?,
        propagationPolicy: String?
    ) throws(APIStatus) -> JSONValue {
        guard let name = path.name, path.subresource == nil else { throw APIStatus.methodNotAllowed }
        let (id, _) = try self.locate(path, method: "DELETE")
        let old = try self.get(path, id: id)
        let oldUID = Self.metaString(old, "uid")
        let oldVersion = Self.metaString(old, "resourceVersion")
        let kind = old["kind"]?.stringValue ?? self.kind(of: path.type)
        if let uid = options?["preconditions"]?["uid"]?.stringValue, uid != oldUID {
            throw .preconditionFailed(
                kind: kind,
                path.type,
                name: name,
                "the UID in the precondition (\(uid)) does not match the UID in record (\(oldUID)). "
                    + "The object might have been deleted and then recreated"
            )
        }
        if let version = options?["preconditions"]?["resourceVersion"]?.stringValue, version != oldVersion {
            throw .preconditionFailed(
                kind: kind,
                path.type,
                name: name,
                "the ResourceVersion in the precondition (\(version)) does not match the ResourceVersion in record "
                    + "(\(oldVersion)). The object might have been modified"
            )
        }
        var finalizers = Self.finalizers(old)
        let policy = options?["propagationPolicy"]?.stringValue ?? propagationPolicy
        if policy == "Foreground", !finalizers.contains("foregroundDeletion") {
            finalizers.append("foregroundDeletion")
        }
        if policy == "Orphan" || options?["orphanDependents"] == .bool(true), !finalizers.contains("orphan") {
            finalizers.append("orphan")
        }
        if !finalizers.isEmpty {
            var marked = old
            if Self.meta(old, "deletionTimestamp") == nil {
                Self.setMeta(&marked, "deletionTimestamp", .string(Self.timestamp(self.now())))
                Self.setMeta(&marked, "deletionGracePeriodSeconds", 0)
                // Upstream: rest.BeforeDelete bumps a generation it finds when it starts a graceful deletion.
                if case .int(let generation)? = Self.meta(old, "generation"), generation > 0 {
                    Self.setMeta(&marked, "generation", .int(generation + 1))
                }
            }
            Self.setMeta(&marked, "finalizers", .array(finalizers.map(JSONValue.string)))
            if Self.canonical(marked) == Self.canonical(old) { return old }
            return self.commit(.modified, marked, type: path.type, id: id, previous: old)
        }
        let deleted = self.commit(.deleted, old, type: path.type, id: id, previous: old)
        if path.type.returnsDeletedObject { return deleted }
        var details = JSONObject()
        details["name"] = .string(name)
        if !path.type.group.isEmpty { details["group"] = .string(path.type.group) }
        details["kind"] = .string(path.type.plural)
        details["uid"] = .string(oldUID)
        return [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success",
            "details": .object(details),
        ]
    }

    /// DELETE on a collection: deletes every object that matches the selectors; returns them as a list.
    mutating func deleteCollection(
        _ path: ResourcePath,
        labels: LabelSelectorQuery,
        fields: FieldSelectorQuery,
        options: JSONValue?,
        propagationPolicy: String?
    ) throws(APIStatus) -> JSONValue {
        _ = try self.resolveScope(path, method: path.namespace == nil ? "GET" : "DELETE")
        var items: [JSONValue] = []
        for (id, object) in self.sortedObjects(path.type, namespace: path.namespace)
        where labels.matches(Self.labels(object)) && fields.matches(object) {
            var itemPath = path
            itemPath.name = id.name
            itemPath.namespace = id.namespace.isEmpty ? nil : id.namespace
            let result = try self.delete(itemPath, options: options, propagationPolicy: propagationPolicy)
            items.append(result["kind"] == "Status" ? object : result)
        }
        return self.listObject(path, items: items, metadata: ["resourceVersion": .string(String(self.resourceVersion))])
    }

    // MARK: Direct access

    /// Stores an object as given (filling in uid, creationTimestamp and generation when missing),
    /// bypassing validation; the change is visible to watches.
    @discardableResult
    mutating func seed(_ object: JSONValue, type: ResourceType, id: ObjectID, apiVersion: String) -> JSONValue {
        var object = object
        if case .object(var top) = object {
            if top["apiVersion"] == nil { top["apiVersion"] = .string(apiVersion) }
            if top["kind"] == nil {
                top["kind"] = .string(self.kind(of: type))
            } else if let kind = top["kind"]?.stringValue {
                self.kinds[type] = kind
            }
            object = .object(top)
        }
        let previous = self.objects[type]?[id]
        Self.setMeta(&object, "name", .string(id.name))
        Self.setMeta(&object, "namespace", id.namespace.isEmpty ? nil : .string(id.namespace))
        for (key, value) in [
            ("uid", previous.flatMap { Self.meta($0, "uid") } ?? .string(UUID().uuidString.lowercased())),
            (
                "creationTimestamp",
                previous.flatMap { Self.meta($0, "creationTimestamp") } ?? .string(Self.timestamp(self.now()))
            ),
            ("generation", type.tracksGeneration ? previous.flatMap { Self.meta($0, "generation") } ?? 1 : nil),
        ] where Self.meta(object, key) == nil {
            Self.setMeta(&object, key, value)
        }
        if self.scopes[type] == nil, type.knownNamespaced == nil { self.scopes[type] = !id.namespace.isEmpty }
        return self.commit(previous == nil ? .added : .modified, object, type: type, id: id, previous: previous)
    }

    static func labels(_ object: JSONValue) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in object["metadata"]?["labels"]?.objectValue ?? JSONObject() {
            if let s = value.stringValue { labels[key] = s }
        }
        return labels
    }
}
