/// A de-duplicating work queue with delayed and rate-limited requeue, at most one reconcile in flight
/// per key (controller-runtime's workqueue).
///
/// A key added while it is being processed is marked dirty and handed out again once ``done(_:)`` is called.
public actor WorkQueue<Key: Hashable & Sendable> {
    var queue: [Key] = []
    var queued: Set<Key> = []
    var processing: Set<Key> = []
    var dirty: Set<Key> = []
    var delayed: [Key: ContinuousClock.Instant] = [:]
    var failures: [Key: Int] = [:]
    var waiters: [CheckedContinuation<Key?, Never>] = []
    var isShutDown = false
    public let baseDelay: Duration
    public let maxDelay: Duration

    public init(baseDelay: Duration = .milliseconds(5), maxDelay: Duration = .seconds(300)) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public func add(_ key: Key) {
        guard !self.isShutDown else { return }
        if self.processing.contains(key) {
            self.dirty.insert(key)
            return
        }
        guard self.queued.insert(key).inserted else { return }
        if let waiter = self.waiters.first {
            self.waiters.removeFirst()
            self.queued.remove(key)
            self.processing.insert(key)
            waiter.resume(returning: key)
        } else {
            self.queue.append(key)
        }
    }

    /// Adds `key` after `delay` (the earliest requested time wins).
    public func add(_ key: Key, after delay: Duration) {
        let when = ContinuousClock.now + delay
        if let existing = self.delayed[key], existing <= when { return }
        self.delayed[key] = when
    }

    /// Requeues with per-key exponential backoff (base × 2^failures, capped).
    public func addRateLimited(_ key: Key) {
        let count = self.failures[key, default: 0]
        self.failures[key] = count + 1
        var delay = self.baseDelay
        for _ in 0..<min(count, 30) {
            delay = delay * 2
            if delay >= self.maxDelay { break }
        }
        self.add(key, after: min(delay, self.maxDelay))
    }

    /// Clears the backoff of a key (after a successful reconcile).
    public func forget(_ key: Key) { self.failures[key] = nil }

    /// The next key to process; nil once shut down.
    public func next() async -> Key? {
        self.promoteDue()
        if !self.queue.isEmpty {
            let key = self.queue.removeFirst()
            self.queued.remove(key)
            self.processing.insert(key)
            return key
        }
        if self.isShutDown { return nil }
        return await withCheckedContinuation { self.waiters.append($0) }
    }

    public func done(_ key: Key) {
        self.processing.remove(key)
        if self.dirty.remove(key) != nil { self.add(key) }
    }

    /// Moves delayed keys whose time has come into the queue. Called by ``runTimers()`` and by ``next()``.
    func promoteDue() {
        let now = ContinuousClock.now
        for (key, when) in self.delayed where when <= now {
            self.delayed[key] = nil
            self.add(key)
        }
    }

    /// Promotes delayed keys every `tick` until cancelled; run it beside the workers.
    public func runTimers(tick: Duration = .milliseconds(20)) async {
        while !Task.isCancelled {
            self.promoteDue()
            try? await Task.sleep(for: tick)
        }
        self.shutDown()
    }

    public func shutDown() {
        self.isShutDown = true
        let waiting = self.waiters
        self.waiters.removeAll()
        for waiter in waiting { waiter.resume(returning: nil) }
    }

    public var pendingCount: Int { self.queue.count + self.delayed.count }
}
