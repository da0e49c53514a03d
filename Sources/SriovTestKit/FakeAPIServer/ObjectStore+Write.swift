import Foundation
import KubeCore

extension StoreState {
    // MARK: Create

    /// POST: creates an object, as `genericregistry.Store.Create` with the usual strategies.
    mutating func create(_ body: JSONValue, path: ResourcePath) throws(APIStatus) -> JSONValue {
        guard path.name == nil, path.subresource == nil else { throw APIStatus.methodNotAllowed }
        let namespaced = try self.resolveScope(path, method: "POST", record: true)
        guard case .object(var object) = body else {
            throw APIStatus.badRequest("the request body is not a JSON object")
        }
        try self.fillTypeMeta(&object, path: path)
        let kind = object["kind"]?.stringValue ?? ""
        var metadata = object["metadata"]?.objectValue ?? JSONObject()
        let namespace = path.namespace ?? ""
        if namespaced {
            if let bodyNamespace = metadata["namespace"]?.stringValue, !bodyNamespace.isEmpty,
                bodyNamespace != namespace
            {
                throw .badRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            }
            metadata["namespace"] = .string(namespace)
        } else {
            metadata["namespace"] = nil
        }
        var name = metadata["name"]?.stringValue ?? ""
        if name.isEmpty, let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty {
            name = prefix + Self.randomSuffix()
            metadata["name"] = .string(name)
        }
        guard !name.isEmpty else {
            throw .invalid(
                kind: kind,
                path.type,
                name: "",
                field: "metadata.name",
                detail: "Required value: name or generateName is required",
                causeReason: "FieldValueRequired"
            )
        }
        if let problem = Self.nameProblem(name, isLabel: path.type == Self.namespaces) {
            throw .invalid(
                kind: kind,
                path.type,
                name: name,
                field: "metadata.name",
                detail: "Invalid value: \(GoJSON.quote(name)): \(problem)"
            )
        }
        if let version = metadata["resourceVersion"]?.stringValue, !version.isEmpty {
            // Upstream: storage.ErrResourceVersionSetOnCreate, which reaches the client as a reason-less 500.
            throw APIStatus(
                code: 500,
                reason: "",
                message: "resourceVersion should not be set on objects to be created"
            )
        }
        if namespaced, self.configuration.requiresNamespaces,
            self.objects[Self.namespaces]?[ObjectID(namespace: "", name: namespace)] == nil
        {
            throw .notFound(Self.namespaces, name: namespace)
        }
        let id = ObjectID(namespace: namespaced ? namespace : "", name: name)
        if let existing = self.objects[path.type]?[id] {
            var status = APIStatus.alreadyExists(path.type, name: name)
            if Self.meta(existing, "deletionTimestamp") != nil {
                status.message = "object is being deleted: " + status.message
            }
            throw status
        }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(Self.timestamp(self.now()))
        metadata["generation"] = path.type.tracksGeneration ? 1 : nil
        for key in ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] { metadata[key] = nil }
        object["metadata"] = .object(metadata)
        // Status is reset on create wherever it has its own subresource.
        if !path.type.statusOnMainResource { object["status"] = nil }
        if path.type == Self.namespaces {
            if object["spec"] == nil { object["spec"] = ["finalizers": ["kubernetes"]] }
            object["status"] = ["phase": "Active"]
        }
        return self.commit(.added, .object(object), type: path.type, id: id, previous: nil)
    }

    // MARK: Update

    /// PUT (or the update step of a PATCH) of an object or of its `/status`.
    mutating func update(_ body: JSONValue, path: ResourcePath, isPatch: Bool) throws(APIStatus) -> JSONValue {
        guard let name = path.name else { throw APIStatus.methodNotAllowed }
        let (id, namespaced) = try self.locate(path, method: isPatch ? "PATCH" : "PUT")
        let old = try self.get(path, id: id)
        guard case .object(var object) = body else {
            throw APIStatus.badRequest("the request body is not a JSON object")
        }
        try self.fillTypeMeta(&object, path: path)
        let kind = object["kind"]?.stringValue ?? ""
        var metadata = object["metadata"]?.objectValue ?? JSONObject()
        let bodyName = metadata["name"]?.stringValue ?? ""
        if !bodyName.isEmpty, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if namespaced, let bodyNamespace = metadata["namespace"]?.stringValue, !bodyNamespace.isEmpty,
            bodyNamespace != id.namespace
        {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let oldVersion = Self.metaString(old, "resourceVersion")
        let bodyVersion = metadata["resourceVersion"]?.stringValue ?? ""
        if !bodyVersion.isEmpty, bodyVersion != oldVersion { throw .staleResourceVersion(path.type, name: name) }
        if bodyVersion.isEmpty, !isPatch, !path.type.isBuiltIn {
            // Custom resources do not allow unconditional updates.
            throw .invalid(
                kind: kind,
                path.type,
                name: name,
                field: "metadata.resourceVersion",
                detail: "Invalid value: 0x0: must be specified for an update"
            )
        }
        let oldUID = Self.metaString(old, "uid")
        if let uid = metadata["uid"]?.stringValue, !uid.isEmpty, uid != oldUID {
            let prefix = path.type.isBuiltIn ? path.type.plural : "\(path.type.group)/\(path.type.plural)"
            throw .conflict(
                path.type,
                name: name,
                "StorageError: invalid object, Code: 4, Key: /registry/\(prefix)/\(id.storageKey), ResourceVersion: 0, "
                    + "AdditionalErrorMsg: Precondition failed: UID in precondition: \(uid), UID in object meta: \(oldUID)"
            )
        }

        var updated: JSONValue
        if path.isStatus {
            // Only status is taken from a /status update; spec and metadata stay as stored.
            guard case .object(var base) = old else { throw .internalError("stored object is not an object") }
            base["status"] = object["status"]
            updated = .object(base)
        } else {
            let oldMetadata = old["metadata"]?.objectValue ?? JSONObject()
            for key in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
                metadata[key] = oldMetadata[key]
            }
            metadata["name"] = .string(name)
            metadata["namespace"] = namespaced ? .string(id.namespace) : nil
            metadata["resourceVersion"] = .string(oldVersion)
            object["metadata"] = .object(metadata)
            if !path.type.statusOnMainResource { object["status"] = old["status"] }
            updated = .object(object)
        }

        if Self.meta(old, "deletionTimestamp") != nil {
            let oldFinalizers = Self.finalizers(old)
            let added = Self.finalizers(updated).filter { !oldFinalizers.contains($0) }
            if !added.isEmpty {
                throw .invalid(
                    kind: kind,
                    path.type,
                    name: name,
                    field: "metadata.finalizers",
                    detail: "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                        + "finalizers []string{\(added.map(GoJSON.quote).joined(separator: ", "))}",
                    causeReason: "FieldValueForbidden"
                )
            }
        }
        if path.type.tracksGeneration, Self.generationRelevant(updated) != Self.generationRelevant(old) {
            let generation = Self.meta(old, "generation").flatMap { if case .int(let g) = $0 { g } else { nil } } ?? 0
            Self.setMeta(&updated, "generation", .int(generation + 1))
        }
        // A write that changes nothing is not a write: no new resourceVersion, no event.
        if Self.canonical(updated) == Self.canonical(old) { return old }
        let stored = self.commit(.modified, updated, type: path.type, id: id, previous: old)
        if Self.meta(stored, "deletionTimestamp") != nil, Self.finalizers(stored).isEmpty {
            self.commit(.deleted, stored, type: path.type, id: id, previous: stored)
        }
        return stored
    }

    // MARK: Patch

    /// PATCH in any of the four media types; returns the object and whether an apply created it.
    mutating func patch(
        _ text: String,
        contentType: String,
        path: ResourcePath,
        fieldManager: String?
    ) throws(APIStatus) -> (object: JSONValue, created: Bool) {
        guard path.name != nil else { throw APIStatus.methodNotAllowed }
        let mediaType = (contentType.split(separator: ";").first.map(String.init) ?? "").lowercased()
            .filter { $0 != " " }
        let (id, _) = try self.locate(path, method: "PATCH")
        let existing = self.objects[path.type]?[id]
        let patched: JSONValue
        switch mediaType {
        case "application/apply-patch+yaml":
            guard let fieldManager, !fieldManager.isEmpty else {
                throw APIStatus(
                    code: 422,
                    reason: "Invalid",
                    message:
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    details: [
                        "group": "meta.k8s.io", "kind": "PatchOptions",
                        "causes": [
                            [
                                "reason": "FieldValueRequired",
                                "message": "Required value: is required for apply patch", "field": "fieldManager",
                            ]
                        ],
                    ]
                )
            }
            let applied = try Self.parseYAML(text)
            guard let appliedKind = applied["kind"]?.stringValue, !appliedKind.isEmpty else {
                throw APIStatus(
                    code: 500,
                    reason: "",
                    message: "failed to create typed patch object: no corresponding type for "
                        + "\(applied["apiVersion"]?.stringValue ?? ""), Kind="
                )
            }
            guard !Self.metaString(applied, "name").isEmpty else {
                throw APIStatus.badRequest(
                    "the name of the object (\(id.name) based on URL) was undeterminable: name must be provided"
                )
            }
            guard let existing else {
                guard !path.isStatus else { throw .notFound(path.type, name: id.name) }
                var collection = path
                collection.name = nil
                guard Self.metaString(applied, "name") == id.name else {
                    throw .badRequest(
                        "the name of the object (\(Self.metaString(applied, "name"))) does not match the name on the URL (\(id.name))"
                    )
                }
                return (try self.create(applied, path: collection), true)
            }
            // Simplification: server-side apply merges the applied configuration into the object
            // (a merge patch); field ownership, conflicts and removal of no-longer-applied fields are not modelled.
            patched = Patch.merge(existing, applied)
        case "application/merge-patch+json":
            patched = Patch.merge(try self.existing(existing, path, id), try Self.parseJSON(text))
        case "application/strategic-merge-patch+json":
            guard path.type.isBuiltIn else { throw APIStatus.unsupportedMediaType() }
            patched = Patch.strategicMerge(try self.existing(existing, path, id), try Self.parseJSON(text))
        case "application/json-patch+json":
            let document = try self.existing(existing, path, id)
            let operations = try Self.parseJSON(text)
            do throws(Patch.JSONPatchError) {
                patched = try Patch.json(document, operations)
            } catch {
                if error.isMalformed { throw APIStatus.badRequest(error.message) }
                throw APIStatus(
                    code: 422,
                    reason: "Invalid",
                    // The real server drops the patch library's explanation.
                    message: "the server rejected our request due to an error in our request",
                    details: [:]
                )
            }
        default:
            throw APIStatus(
                code: 415,
                reason: "UnsupportedMediaType",
                message: "415: Unsupported Media Type",
                details: [:]
            )
        }
        return (try self.update(patched, path: path, isPatch: true), false)
    }

    private func existing(_ object: JSONValue?, _ path: ResourcePath, _ id: ObjectID) throws(APIStatus) -> JSONValue {
        guard let object else { throw .notFound(path.type, name: id.name) }
        return object
    }

    /// The object a path names, after checking scope and subresource.
    mutating func locate(_ path: ResourcePath, method: String) throws(APIStatus) -> (id: ObjectID, namespaced: Bool) {
        guard let name = path.name else { throw APIStatus.methodNotAllowed }
        let namespaced = try self.resolveScope(path, method: method)
        if let subresource = path.subresource {
            guard subresource == "status", path.type.hasStatusSubresource else { throw APIStatus.pathNotFound }
        }
        return (ObjectID(namespace: namespaced ? path.namespace ?? "" : "", name: name), namespaced)
    }

    static func parseJSON(_ text: String) throws(APIStatus) -> JSONValue {
        do {
            return try JSONText.parse(text)
        } catch {
            throw .badRequest("error decoding patch: \(error)")
        }
    }

    static func parseYAML(_ text: String) throws(APIStatus) -> JSONValue {
        do {
            guard let document = try ManifestReader.parse(text, file: "apply-patch").first else {
                throw APIStatus.badRequest("error decoding YAML: empty apply configuration")
            }
            return document.value
        } catch let status as APIStatus {
            throw status
        } catch {
            throw .badRequest("error decoding YAML: \(error)")
        }
    }

    /// Why a name is not a DNS-1123 subdomain (or, for namespaces, label), in the validator's words.
    static func nameProblem(_ name: String, isLabel: Bool) -> String? {
        func isAlphanumeric(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        let labels = isLabel ? [Substring(name)] : name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            return isAlphanumeric(first) && isAlphanumeric(last) && label.allSatisfy { isAlphanumeric($0) || $0 == "-" }
        }
        if isLabel {
            if name.count > 63 { return "must be no more than 63 characters" }
            if valid { return nil }
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                + "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        }
        if name.count > 253 { return "must be no more than 253 characters" }
        if valid { return nil }
        return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
            + "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    }

    private static func randomSuffix() -> String {
        // Upstream: k8s.io/apiserver/pkg/storage/names — 5 characters from an alphabet without vowels.
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }
}
