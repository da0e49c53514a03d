public import KubeClient
public import Logging

/// What a reconcile asks for next.
public enum ReconcileAction: Sendable, Equatable {
    case done
    case requeueAfter(Duration)
}

/// Runs level-based reconciles of keys from a ``WorkQueue`` with `workers` concurrent workers.
///
/// A thrown error requeues the key with per-key backoff (the error policy), after logging it once;
/// ``ReconcileAction/requeueAfter(_:)`` schedules the next pass. With `metrics`, each reconcile is timed
/// (`controller_runtime_reconcile_time_seconds`) and counted by result
/// (`controller_runtime_reconcile_total`, `controller_runtime_reconcile_errors_total`), as
/// controller-runtime names them.
public struct Controller<Key: Hashable & Sendable>: Sendable {
    public let name: String
    public let queue: WorkQueue<Key>
    public let workers: Int
    public let logger: Logger
    public let metrics: Metrics?
    /// The level every reconcile logs at, read before each one (SriovOperatorConfig `logLevel` changes it).
    public let logLevel: (@Sendable () -> Logger.Level)?
    public let reconcile: @Sendable (Key, Logger) async throws -> ReconcileAction

    public init(
        name: String,
        queue: WorkQueue<Key>,
        workers: Int = 1,
        logger: Logger,
        metrics: Metrics? = nil,
        logLevel: (@Sendable () -> Logger.Level)? = nil,
        reconcile: @escaping @Sendable (Key, Logger) async throws -> ReconcileAction
    ) {
        self.name = name
        self.queue = queue
        self.workers = workers
        self.logger = logger
        self.metrics = metrics
        self.logLevel = logLevel
        self.reconcile = reconcile
        for result in ["success", "error", "requeue_after"] {
            metrics?.declare(
                "controller_runtime_reconcile_total",
                help: "Reconciles by controller and result",
                labels: [("controller", name), ("result", result)]
            )
        }
        metrics?.declare(
            "controller_runtime_reconcile_errors_total",
            help: "Reconciles that failed",
            labels: [("controller", name)]
        )
    }

    /// Runs until cancelled; then shuts the queue down (a queue serves one run).
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.queue.runTimers() }
            for _ in 0..<max(1, self.workers) {
                group.addTask { await self.work() }
            }
        }
    }

    func work() async {
        while let key = await self.queue.next() {
            var logger = self.logger
            if let level = self.logLevel?() { logger.logLevel = level }
            logger[metadataKey: "controller"] = "\(self.name)"
            logger[metadataKey: "k8s.key"] = "\(key)"
            let started = ContinuousClock.now
            var result = "success"
            do {
                let action = try await self.reconcile(key, logger)
                await self.queue.forget(key)
                if case .requeueAfter(let delay) = action {
                    result = "requeue_after"
                    await self.queue.add(key, after: delay)
                }
            } catch is CancellationError {
                await self.queue.done(key)
                return
            } catch {
                result = "error"
                if Task.isCancelled {
                    await self.queue.done(key)
                    return
                }
                let delay = await self.queue.addRateLimited(key)
                logger.warning("reconcile failed, will retry", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                self.metrics?.increment(
                    "controller_runtime_reconcile_errors_total",
                    help: "Reconciles that failed",
                    labels: [("controller", self.name)]
                )
            }
            let elapsed = ContinuousClock.now - started
            self.metrics?.observe(
                "controller_runtime_reconcile_time_seconds",
                help: "Time of one reconcile",
                labels: [("controller", self.name)],
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            )
            self.metrics?.increment(
                "controller_runtime_reconcile_total",
                help: "Reconciles by controller and result",
                labels: [("controller", self.name), ("result", result)]
            )
            await self.queue.done(key)
        }
    }
}
