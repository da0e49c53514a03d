public import KubeCore
import Synchronization

/// The reflector's cache of one kind: one writer (the reflector), any number of synchronous readers.
///
/// Objects are trimmed on the way in: `managedFields` always (nothing reads them, and they are often half
/// of an object's bytes), plus whatever `trim` drops (e.g. Node status, which the kubelet rewrites every
/// heartbeat and the operator never reads).
public final class Store<R: Resource>: Sendable {
    let objects = Mutex<[ObjectKey: R]>([:])
    let synced = Mutex(false)
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
    }

    /// Stores `object`; returns the version it replaced.
    @discardableResult
    func upsert(_ object: R) -> R? {
        let trimmed = self.trimmed(object)
        return self.objects.withLock { $0.updateValue(trimmed, forKey: object.key) }
    }

    /// Empties the cache and marks it unsynced (a new leadership term starts from a fresh list).
    public func reset() {
        self.objects.withLock { $0.removeAll() }
        self.synced.withLock { $0 = false }
    }

    /// Puts the server's answer to our own write into the cache at once ("read your own writes"), unless
    /// the cache already holds a newer version (resourceVersions compared as integers, as etcd's are).
    /// Without this, a resync that runs before the watch delivers our write would see the old object and
    /// write again.
    public func recordWrite(_ object: R) {
        let trimmed = self.trimmed(object)
        self.objects.withLock { objects in
            if let cached = objects[object.key], let old = Int(cached.metadata.resourceVersion),
                let new = Int(object.metadata.resourceVersion), old > new
            {
                return
            }
            objects[object.key] = trimmed
        }
    }

    @discardableResult
    func remove(_ object: R) -> R? { self.objects.withLock { $0.removeValue(forKey: object.key) } }
}
