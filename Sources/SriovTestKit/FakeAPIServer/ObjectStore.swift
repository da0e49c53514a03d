import Foundation
import KubeCore
import Synchronization

/// The fake server's storage: every object, the global resourceVersion, the recent event history
/// and the open watches, behind one lock so that a write and its fan-out to watchers are atomic
/// (a watcher never misses or reorders an event).
final class ObjectStore: Sendable {
    let state: Mutex<StoreState>

    init(configuration: FakeAPIServer.Configuration) {
        self.state = Mutex(StoreState(configuration: configuration))
    }
}

/// One stored event, kept for watches that resume from a resourceVersion.
struct EventRecord: Sendable {
    enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    var resourceVersion: Int
    var kind: Kind
    var type: ResourceType
    var id: ObjectID
    /// The object after the change (for `DELETED`, its last state with the deletion's resourceVersion).
    var object: JSONValue
    /// The object before the change, so that watches with selectors can turn a change that enters
    /// or leaves the selection into `ADDED` or `DELETED`, as the real watch cache does.
    var previous: JSONValue?
}

struct StoreState: Sendable {
    let configuration: FakeAPIServer.Configuration
    var resourceVersion = 0
    var objects: [ResourceType: [ObjectID: JSONValue]] = [:]
    /// Learned scope (namespaced or not) of resources not in ``ResourceType/knownNamespaced``.
    var scopes: [ResourceType: Bool] = [:]
    /// Kinds learned from request bodies, used to fill in `kind` and name lists.
    var kinds: [ResourceType: String] = [:]
    var events: [EventRecord] = []
    /// Every event with a resourceVersion up to this one has been dropped from the history.
    var compactedThrough = 0
    var watchers: [Int: Watcher] = [:]
    var nextWatcherID = 0
    var now: @Sendable () -> Date = { Date() }

    static let namespaces = ResourceType(group: "", plural: "namespaces")

    init(configuration: FakeAPIServer.Configuration) {
        self.configuration = configuration
        // The namespaces every cluster starts with.
        for name in ["default", "kube-node-lease", "kube-public", "kube-system"] {
            let namespace: JSONValue = [
                "kind": "Namespace", "apiVersion": "v1", "metadata": ["name": .string(name)],
                "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
            ]
            self.seed(namespace, type: Self.namespaces, id: ObjectID(namespace: "", name: name), apiVersion: "v1")
        }
    }

    // MARK: Commit

    /// Stores (or, for `.deleted`, removes) an object under a new resourceVersion, records the event
    /// and sends it to matching watches. Returns the object as stored.
    @discardableResult
    mutating func commit(
        _ kind: EventRecord.Kind,
        _ object: JSONValue,
        type: ResourceType,
        id: ObjectID,
        previous: JSONValue?
    ) -> JSONValue {
        self.resourceVersion += 1
        var object = object
        Self.setMeta(&object, "resourceVersion", .string(String(self.resourceVersion)))
        // Built-in objects print in Go struct order; custom resources are maps, which Go prints sorted.
        object = type.isBuiltIn ? Self.normalized(object) : Self.canonical(object)
        if kind == .deleted {
            self.objects[type]?[id] = nil
        } else {
            self.objects[type, default: [:]][id] = object
        }
        let record = EventRecord(
            resourceVersion: self.resourceVersion,
            kind: kind,
            type: type,
            id: id,
            object: object,
            previous: previous
        )
        self.events.append(record)
        while self.events.count > max(self.configuration.eventHistoryLimit, 0) {
            self.compactedThrough = self.events.removeFirst().resourceVersion
        }
        self.deliver(record)
        return object
    }

    /// Drops the whole event history: a watch from any earlier resourceVersion then gets 410 Expired.
    mutating func compact() {
        self.compactedThrough = self.resourceVersion
        self.events.removeAll()
    }

    // MARK: Scope and type

    /// Checks the path against the resource's scope and returns whether the resource is namespaced.
    ///
    /// A namespaced resource can be listed and watched across namespaces (`/api/v1/pods`) but has no
    /// other cluster-level route; a cluster-scoped resource has no namespaced route.
    mutating func resolveScope(_ path: ResourcePath, method: String, record: Bool = false) throws(APIStatus) -> Bool {
        let known = self.scopes[path.type] ?? path.type.knownNamespaced
        if path.namespace != nil {
            guard known != false else { throw APIStatus.pathNotFound }
            if record { self.scopes[path.type] = true }
            return true
        }
        if known == true {
            guard path.name == nil else { throw APIStatus.pathNotFound }
            guard method == "GET" else { throw APIStatus.methodNotAllowed }
            return true
        }
        if record { self.scopes[path.type] = false }
        return false
    }

    /// The kind of a resource: learned from a body, or guessed from the plural.
    func kind(of type: ResourceType) -> String {
        self.kinds[type] ?? type.guessedKind
    }

    /// Checks and fills in `apiVersion` and `kind` of a request body, learning the kind.
    mutating func fillTypeMeta(_ object: inout JSONObject, path: ResourcePath) throws(APIStatus) {
        if let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty {
            guard apiVersion == path.apiVersion else {
                throw .badRequest(
                    "the API version in the data (\(apiVersion)) does not match the expected API version (\(path.apiVersion))"
                )
            }
        } else {
            object["apiVersion"] = .string(path.apiVersion)
        }
        if let kind = object["kind"]?.stringValue, !kind.isEmpty {
            self.kinds[path.type] = kind
        } else {
            object["kind"] = .string(self.kind(of: path.type))
        }
    }

    // MARK: Reads

    func get(_ path: ResourcePath, id: ObjectID) throws(APIStatus) -> JSONValue {
        guard let object = self.objects[path.type]?[id] else { throw .notFound(path.type, name: id.name) }
        return object
    }

    /// Objects of a type in storage-key order, optionally within one namespace.
    func sortedObjects(_ type: ResourceType, namespace: String?) -> [(id: ObjectID, object: JSONValue)] {
        (self.objects[type] ?? [:])
            .filter { namespace == nil || $0.key.namespace == namespace }
            .map { (id: $0.key, object: $0.value) }
            .sorted { $0.id < $1.id }
    }

    // MARK: Object helpers

    static func meta(_ object: JSONValue, _ key: String) -> JSONValue? {
        object["metadata"]?[key]
    }

    static func metaString(_ object: JSONValue, _ key: String) -> String {
        object["metadata"]?[key]?.stringValue ?? ""
    }

    static func setMeta(_ object: inout JSONValue, _ key: String, _ value: JSONValue?) {
        guard case .object(var top) = object else { return }
        var metadata = top["metadata"]?.objectValue ?? JSONObject()
        metadata[key] = value
        top["metadata"] = .object(metadata)
        object = .object(top)
    }

    static func finalizers(_ object: JSONValue) -> [String] {
        (object["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// Go's `ObjectMeta` field order, so stored objects print like the real server's.
    private static let metadataOrder = [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
        "managedFields",
    ]

    /// `kind`, `apiVersion` and `metadata` first, metadata fields in Go's order.
    static func normalized(_ object: JSONValue) -> JSONValue {
        guard case .object(let top) = object else { return object }
        var result = JSONObject()
        for key in ["kind", "apiVersion"] where top[key] != nil { result[key] = top[key] }
        if let metadata = top["metadata"]?.objectValue {
            var ordered = JSONObject()
            for key in self.metadataOrder where metadata[key] != nil { ordered[key] = metadata[key] }
            for (key, value) in metadata where !self.metadataOrder.contains(key) { ordered[key] = value }
            result["metadata"] = .object(ordered)
        }
        for (key, value) in top where result[key] == nil { result[key] = value }
        return .object(result)
    }

    /// The value with object keys sorted at every level, to compare objects as the server does
    /// (by content, not by key order).
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(
                JSONObject(object.entries.sorted { $0.key < $1.key }.map { ($0.key, self.canonical($0.value)) })
            )
        case .array(let items):
            return .array(items.map(self.canonical))
        case .double(let d) where d == d.rounded() && abs(d) < 1e15:
            return .int(Int(d))
        default:
            return value
        }
    }

    /// The part of an object whose change bumps `metadata.generation`: everything but metadata and status.
    static func generationRelevant(_ object: JSONValue) -> JSONValue {
        guard case .object(let top) = object else { return object }
        return self.canonical(
            .object(
                JSONObject(
                    top.entries.filter { !["metadata", "status", "kind", "apiVersion"].contains($0.key) }
                )
            )
        )
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension ObjectID {
    /// The key's suffix in etcd (`ns/name` or `name`), whose byte order is the list order.
    var storageKey: String { self.namespace.isEmpty ? self.name : "\(self.namespace)/\(self.name)" }
}
