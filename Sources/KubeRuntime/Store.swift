public import KubeCore
import Synchronization

/// The reflector's cache of one kind: one writer (the reflector), any number of synchronous readers.
///
/// Objects are trimmed on the way in: `managedFields` always (nothing reads them, and they are often half
/// of an object's bytes), plus whatever `trim` drops (e.g. Node status, which the kubelet rewrites every
/// heartbeat and the operator never reads).
///
/// ``generation`` counts the changes to the cached content, so a reader can keep something derived from
/// the cache (an index) until the next change instead of recomputing it on every read.
public final class Store<R: Resource>: Sendable {
    let objects = Mutex<[ObjectKey: R]>([:])
    let synced = Mutex(false)
    let changes = Atomic<UInt64>(0)
    let trim: @Sendable (inout R) -> Void

    public init(trim: @escaping @Sendable (inout R) -> Void = { _ in }) { self.trim = trim }

    public func get(_ key: ObjectKey) -> R? { self.objects.withLock { $0[key] } }

    public func get(namespace: String = "", name: String) -> R? {
        self.get(ObjectKey(namespace: namespace, name: name))
    }

    /// Every object, sorted by namespace/name (a stable order for reconciles and tests).
    public func list() -> [R] {
        self.objects.withLock { Array($0.values) }.sorted { $0.key < $1.key }
    }

    public var count: Int { self.objects.withLock { $0.count } }

    /// Bumped after every change of the cached content: a list replacing it, an object added, changed or
    /// removed. An update that only moves the resourceVersion (a Node heartbeat, once status is trimmed) is
    /// not a change.
    ///
    /// The bump comes after the change is stored, so a reader that reads the generation *before* listing
    /// sees content at least as new as that generation: something derived from it and remembered under
    /// that generation is never staler than its key says (at worst it is rebuilt once more than needed).
    public var generation: UInt64 { self.changes.load(ordering: .acquiring) }

    private func changed() { self.changes.add(1, ordering: .releasing) }

    /// Whether `new` differs from `old` in anything but the resourceVersion (both trimmed).
    private static func differs(_ old: R?, _ new: R) -> Bool {
        guard var old else { return true }
        old.metadata.resourceVersion = new.metadata.resourceVersion
        return old != new
    }

    /// True once the first list has been stored.
    public var hasSynced: Bool { self.synced.withLock { $0 } }

    /// The object as the cache keeps it.
    public func trimmed(_ object: R) -> R {
        var copy = object
        copy.metadata.managedFields = nil
        self.trim(&copy)
        return copy
    }

    func replace(_ items: [R]) {
        var fresh: [ObjectKey: R] = [:]
        for item in items { fresh[item.key] = self.trimmed(item) }
        self.objects.withLock { $0 = fresh }
        self.synced.withLock { $0 = true }
        self.changed()
    }

    /// Stores `object`; returns the version it replaced.
    @discardableResult
    func upsert(_ object: R) -> R? {
        let trimmed = self.trimmed(object)
        let previous = self.objects.withLock { $0.updateValue(trimmed, forKey: object.key) }
        if Self.differs(previous, trimmed) { self.changed() }
        return previous
    }

    /// Empties the cache and marks it unsynced (a new leadership term starts from a fresh list).
    public func reset() {
        self.objects.withLock { $0.removeAll() }
        self.synced.withLock { $0 = false }
        self.changed()
    }

    /// Puts the server's answer to our own write into the cache at once ("read your own writes"), unless
    /// the cache already holds a newer version (resourceVersions compared as integers, as etcd's are).
    /// Without this, a resync that runs before the watch delivers our write would see the old object and
    /// write again.
    public func recordWrite(_ object: R) {
        let trimmed = self.trimmed(object)
        let didChange = self.objects.withLock { objects in
            if let cached = objects[object.key], let old = Int(cached.metadata.resourceVersion),
                let new = Int(object.metadata.resourceVersion), old > new
            {
                return false
            }
            let previous = objects.updateValue(trimmed, forKey: object.key)
            return Self.differs(previous, trimmed)
        }
        if didChange { self.changed() }
    }

    @discardableResult
    func remove(_ object: R) -> R? {
        let removed = self.objects.withLock { $0.removeValue(forKey: object.key) }
        if removed != nil { self.changed() }
        return removed
    }
}
