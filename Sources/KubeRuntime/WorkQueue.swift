public import KubeClient

/// A de-duplicating work queue with delayed and rate-limited requeue, at most one reconcile in flight
/// per key (controller-runtime's workqueue).
///
/// A key added while it is being processed is marked dirty and handed out again once ``done(_:)`` is called.
/// A queue lives for one leadership term: once ``shutDown()`` it hands out nothing, so the operator builds
/// a fresh one per term.
///
/// Per-key backoff: base × 2^(failures−1), capped, scaled by a random factor in [1 − jitter, 1 + jitter]
/// so keys that failed together do not retry together. The default floor is 1 s: a failing write is not
/// retried hundreds of times a second.
public actor WorkQueue<Key: Hashable & Sendable> {
    var queue: [Key] = []
    var queued: Set<Key> = []
    var processing: Set<Key> = []
    var dirty: Set<Key> = []
    var delayed: [Key: ContinuousClock.Instant] = [:]
    var failures: [Key: Int] = [:]
    var waiters: [CheckedContinuation<Key?, Never>] = []
    var isShutDown = false
    public let name: String
    public let baseDelay: Duration
    public let maxDelay: Duration
    /// Fraction of the delay added or removed at random (0.2 = ±20 %).
    public let jitter: Double
    let now: @Sendable () -> ContinuousClock.Instant
    let random: @Sendable () -> Double
    let metrics: Metrics?

    public init(
        name: String = "queue",
        baseDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(300),
        jitter: Double = 0.2,
        metrics: Metrics? = nil,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.name = name
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = min(max(jitter, 0), 1)
        self.metrics = metrics
        self.now = now
        self.random = random
        metrics?.declare("workqueue_adds_total", help: "Keys added to a work queue", labels: [("name", name)])
        metrics?.declare("workqueue_retries_total", help: "Rate-limited requeues", labels: [("name", name)])
    }

    public func add(_ key: Key) {
        guard !self.isShutDown else { return }
        self.metrics?.increment(
            "workqueue_adds_total",
            help: "Keys added to a work queue",
            labels: [("name", self.name)]
        )
        defer { self.publishDepth() }
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
        guard !self.isShutDown else { return }
        let when = self.now() + delay
        if let existing = self.delayed[key], existing <= when { return }
        self.delayed[key] = when
    }

    /// The backoff of the `failures`-th consecutive failure (1-based), jitter included.
    public func backoff(failures: Int) -> Duration {
        var delay = self.baseDelay
        for _ in 1..<max(1, min(failures, 40)) {
            delay = delay * 2
            if delay >= self.maxDelay { break }
        }
        delay = min(delay, self.maxDelay)
        let factor = 1 - self.jitter + 2 * self.jitter * self.random()
        return min(delay * factor, self.maxDelay)
    }

    /// Requeues with per-key exponential backoff; returns the delay chosen.
    @discardableResult
    public func addRateLimited(_ key: Key) -> Duration {
        let count = self.failures[key, default: 0] + 1
        self.failures[key] = count
        self.metrics?.increment("workqueue_retries_total", help: "Rate-limited requeues", labels: [("name", self.name)])
        let delay = self.backoff(failures: count)
        self.add(key, after: delay)
        return delay
    }

    /// Clears the backoff of a key (after a successful reconcile).
    public func forget(_ key: Key) { self.failures[key] = nil }

    /// How many times in a row `key` has failed.
    public func failureCount(_ key: Key) -> Int { self.failures[key, default: 0] }

    /// The next key to process; nil once shut down.
    public func next() async -> Key? {
        self.promoteDue()
        if !self.queue.isEmpty {
            let key = self.queue.removeFirst()
            self.queued.remove(key)
            self.processing.insert(key)
            self.publishDepth()
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
    public func promoteDue() {
        let now = self.now()
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
        self.delayed.removeAll()
        let waiting = self.waiters
        self.waiters.removeAll()
        for waiter in waiting { waiter.resume(returning: nil) }
    }

    func publishDepth() {
        self.metrics?.set(
            "workqueue_depth",
            help: "Keys waiting in a work queue",
            labels: [("name", self.name)],
            to: Double(self.queue.count)
        )
    }

    /// Keys waiting now or later (not those in flight).
    public var pendingCount: Int { self.queue.count + self.delayed.count }
    /// Keys ready to be handed out now.
    public var readyCount: Int { self.queue.count }
    public var shutDownState: Bool { self.isShutDown }
}
