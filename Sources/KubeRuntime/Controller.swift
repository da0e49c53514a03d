public import Logging

/// What a reconcile asks for next.
public enum ReconcileAction: Sendable, Equatable {
    case done
    case requeueAfter(Duration)
}

/// Runs level-based reconciles of keys from a ``WorkQueue`` with `workers` concurrent workers.
///
/// A thrown error requeues the key with exponential backoff (the error policy), after logging it once;
/// ``ReconcileAction/requeueAfter(_:)`` schedules the next pass.
public struct Controller<Key: Hashable & Sendable>: Sendable {
    public let name: String
    public let queue: WorkQueue<Key>
    public let workers: Int
    public let logger: Logger
    public let reconcile: @Sendable (Key, Logger) async throws -> ReconcileAction

    public init(
        name: String,
        queue: WorkQueue<Key>,
        workers: Int = 1,
        logger: Logger,
        reconcile: @escaping @Sendable (Key, Logger) async throws -> ReconcileAction
    ) {
        self.name = name
        self.queue = queue
        self.workers = workers
        self.logger = logger
        self.reconcile = reconcile
    }

    /// Runs until cancelled.
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
            logger[metadataKey: "controller"] = "\(self.name)"
            logger[metadataKey: "k8s.key"] = "\(key)"
            do {
                let action = try await self.reconcile(key, logger)
                await self.queue.forget(key)
                if case .requeueAfter(let delay) = action { await self.queue.add(key, after: delay) }
            } catch is CancellationError {
                await self.queue.done(key)
                return
            } catch {
                logger.warning("reconcile failed, will retry", metadata: ["error": "\(error)"])
                await self.queue.addRateLimited(key)
            }
            await self.queue.done(key)
        }
    }
}
