public import KubeCore
import Synchronization

/// The reflector's cache of one kind: one writer (the reflector), any number of synchronous readers.
public final class Store<R: Resource>: Sendable {
    let objects = Mutex<[ObjectKey: R]>([:])
    let synced = Mutex(false)

    public init() {}

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

    func replace(_ items: [R]) {
        var fresh: [ObjectKey: R] = [:]
        for item in items { fresh[item.key] = item }
        self.objects.withLock { $0 = fresh }
        self.synced.withLock { $0 = true }
    }

    func upsert(_ object: R) { self.objects.withLock { $0[object.key] = object } }

    /// Puts the server's answer to our own write into the cache at once ("read your own writes"), unless
    /// the cache already holds a newer version (resourceVersions compared as integers, as etcd's are).
    /// Without this, a resync that runs before the watch delivers our write would see the old object and
    /// write again.
    public func recordWrite(_ object: R) {
        self.objects.withLock { objects in
            if let cached = objects[object.key], let old = Int(cached.metadata.resourceVersion),
                let new = Int(object.metadata.resourceVersion), old > new
            {
                return
            }
            objects[object.key] = object
        }
    }

    func remove(_ object: R) { self.objects.withLock { $0[object.key] = nil } }
}
