import SriovAPI
import Synchronization

/// The device list of one pool as the kubelet sees it (ID, health, NUMA node).
public struct AdvertisedDevice: Sendable, Hashable {
    public var id: String
    public var healthy: Bool
    /// nil: no topology (no NUMA node, or `excludeTopology`).
    public var numaNode: Int?

    public init(id: String, healthy: Bool, numaNode: Int?) {
        self.id = id
        self.healthy = healthy
        self.numaNode = numaNode
    }
}

/// The current pool and the open ListAndWatch streams: every change of the advertised list is sent to every
/// stream as a full list; only the newest list matters, so each stream buffers at most one.
///
/// A `Mutex` (not an actor): Allocate reads the pool synchronously on every call, and no lock is held across
/// an `await`.
public final class PoolState: Sendable {
    struct Inner {
        var pool: Pool
        var advertised: [AdvertisedDevice]
        var subscribers: [Int: AsyncStream<[AdvertisedDevice]>.Continuation] = [:]
        var nextID = 0
        var closed = false
        /// How many lists were sent on streams (for tests and benchmarks).
        var generation = 0
    }

    private let inner: Mutex<Inner>

    public init(pool: Pool) {
        self.inner = Mutex(Inner(pool: pool, advertised: Self.advertised(pool)))
    }

    public static func advertised(_ pool: Pool) -> [AdvertisedDevice] {
        pool.devices.map {
            let numa = $0.device.numaNode
            return AdvertisedDevice(
                id: $0.id,
                healthy: $0.healthy,
                numaNode: pool.config.excludeTopology || numa < 0 ? nil : numa
            )
        }
    }

    public var pool: Pool { self.inner.withLock { $0.pool } }
    public var advertised: [AdvertisedDevice] { self.inner.withLock { $0.advertised } }
    public var subscriberCount: Int { self.inner.withLock { $0.subscribers.count } }
    public var generation: Int { self.inner.withLock { $0.generation } }

    /// Replaces the pool; returns whether the advertised list changed (and was sent).
    @discardableResult
    public func update(_ pool: Pool) -> Bool {
        self.inner.withLock { s in
            s.pool = pool
            let list = Self.advertised(pool)
            guard list != s.advertised else { return false }
            s.advertised = list
            s.generation += 1
            for c in s.subscribers.values { c.yield(list) }
            return true
        }
    }

    /// A stream that starts with the current list and yields every change, until ``close(sendEmpty:)``.
    public func subscribe() -> AsyncStream<[AdvertisedDevice]> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: [AdvertisedDevice].self,
            bufferingPolicy: .bufferingNewest(1)
        )
        let id: Int? = self.inner.withLock { s in
            guard !s.closed else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.subscribers[id] = continuation
            continuation.yield(s.advertised)
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.inner.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream (after an empty list when `sendEmpty`, so the kubelet drops the devices at once
    /// instead of keeping stale ones for its 5-minute grace period). New subscribers until ``reopen()`` get an
    /// empty, finished stream.
    public func close(sendEmpty: Bool) {
        let subscribers = self.inner.withLock { s in
            s.closed = true
            let all = s.subscribers
            s.subscribers = [:]
            return all
        }
        for c in subscribers.values {
            if sendEmpty { c.yield([]) }
            c.finish()
        }
    }

    /// Ends the streams without an empty list (a server restart: the kubelet reconnects and re-lists).
    public func reopen() {
        self.close(sendEmpty: false)
        self.inner.withLock { $0.closed = false }
    }
}
