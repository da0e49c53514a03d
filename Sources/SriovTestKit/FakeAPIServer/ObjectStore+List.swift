import Foundation
import KubeCore

extension StoreState {
    /// LIST with selectors and pagination, in storage-key order.
    ///
    /// The `continue` token has the real server's shape (`base64url({"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"})`)
    /// and is rejected with 410 Expired once its resourceVersion is older than the event history.
    /// Simplification: later pages read the current objects (the real server serves a snapshot at
    /// the first page's resourceVersion); the list `resourceVersion` is the first page's, as upstream.
    func list(
        _ path: ResourcePath,
        labels: LabelSelectorQuery,
        fields: FieldSelectorQuery,
        limit: Int?,
        continueToken: String?
    ) throws(APIStatus) -> JSONValue {
        var listVersion = self.resourceVersion
        var startKey: String?
        if let continueToken, !continueToken.isEmpty {
            let (version, start) = try Self.decodeContinue(continueToken)
            if version < self.compactedThrough {
                throw APIStatus.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a "
                        + "new list without the continue parameter, or use the continue token in this response to "
                        + "retrieve the remainder of the results. Continuing with the provided token results in an "
                        + "inconsistent list - objects that were created, modified, or deleted between the time the "
                        + "first chunk was returned and now may show up in the list."
                )
            }
            listVersion = version
            startKey = start
        }
        var matching = self.sortedObjects(path.type, namespace: path.namespace)
            .filter { labels.matches(Self.labels($0.object)) && fields.matches($0.object) }
        // Keys are relative to the listed prefix: `name` within a namespace, `namespace/name` across them.
        func key(_ id: ObjectID) -> String { path.namespace == nil ? id.storageKey : id.name }
        if let startKey {
            matching = matching.filter { !key($0.id).utf8.lexicographicallyPrecedes(startKey.utf8) }
        }
        var metadata: JSONObject = ["resourceVersion": .string(String(listVersion))]
        if let limit, limit > 0, matching.count > limit {
            let last = matching[limit - 1].id
            metadata["continue"] = .string(Self.encodeContinue(version: listVersion, start: key(last) + "\u{0}"))
            if labels.requirements.isEmpty, fields.terms.isEmpty {
                metadata["remainingItemCount"] = .int(matching.count - limit)
            }
            matching = Array(matching.prefix(limit))
        }
        return self.listObject(path, items: matching.map(\.object), metadata: metadata)
    }

    /// A `<Kind>List`. Items of built-in lists carry no `kind`/`apiVersion` (they are typed
    /// structs upstream); items of custom resource lists do.
    func listObject(_ path: ResourcePath, items: [JSONValue], metadata: JSONObject) -> JSONValue {
        let items = items.map { item -> JSONValue in
            guard path.type.isBuiltIn, case .object(var object) = item else { return item }
            object["kind"] = nil
            object["apiVersion"] = nil
            return .object(object)
        }
        let list: JSONValue = [
            "kind": .string(self.kind(of: path.type) + "List"), "apiVersion": .string(path.apiVersion),
            "metadata": .object(metadata), "items": .array(items),
        ]
        if path.type.isBuiltIn { return list }
        // Custom resource lists are maps upstream: sorted keys, and an empty `continue` on the last page.
        var listMetadata = metadata
        if listMetadata["continue"] == nil { listMetadata["continue"] = "" }
        return Self.canonical(Patch.merge(list, ["metadata": .object(listMetadata)]))
    }

    static func encodeContinue(version: Int, start: String) -> String {
        let json = GoJSON.encode(["v": "meta.k8s.io/v1", "rv": .int(version), "start": .string(start)])
        return Data(json.utf8).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    static func decodeContinue(_ token: String) throws(APIStatus) -> (version: Int, start: String) {
        var base64 = token.replacing("-", with: "+").replacing("_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let value = try? JSONText.parse(String(decoding: data, as: UTF8.self)),
            case .int(let version)? = value["rv"], let start = value["start"]?.stringValue
        else {
            throw APIStatus.badRequest("invalid continue token: continue key is not valid: \(GoJSON.quote(token))")
        }
        return (version, start)
    }
}
