public import Logging
public import ServiceLifecycle
import Synchronization

/// The config daemon as a ``Service``: runs ``NodeReconciler`` passes, each followed by a wait that ends
/// at the pass's requested delay (the resync, a backoff, a poll) or as soon as the source's watch sees the
/// NodeState or the Node change. Time comes from the injected clock, so tests can move it.
///
/// Stops on graceful shutdown (or cancellation); an apply in progress stops before its next host step,
/// leaving the host in a state the next start converges from.
public struct SriovDaemon: Service {
    public let reconciler: NodeReconciler
    public let source: any NodeStateSource
    public let clock: any Clock<Duration>
    public let health: DaemonHealth
    public let logger: Logger

    public init(
        settings: DaemonSettings,
        source: any NodeStateSource,
        host: NodeHost,
        clock: any Clock<Duration> = ContinuousClock(),
        health: DaemonHealth = DaemonHealth(),
        logger: Logger
    ) {
        self.reconciler = NodeReconciler(settings: settings, source: source, host: host, logger: logger)
        self.source = source
        self.clock = clock
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.runUntilCancelled()
        }
    }

    /// The loop without graceful-shutdown wiring (tests cancel the task instead).
    public func runUntilCancelled() async {
        let wake = WakeSignal()
        let source = self.source
        self.logger.notice("config daemon starting")
        await withDiscardingTaskGroup { group in
            group.addTask { await source.watch { wake.signal() } }
            // The loop runs in this task: cancelling it (shutdown) stops an apply between two host steps.
            while !Task.isCancelled {
                let delay = await self.reconciler.reconcile()
                self.health.passed()
                if Task.isCancelled { break }
                await wake.wait(upTo: delay, clock: self.clock)
            }
            group.cancelAll()
        }
        self.logger.notice("config daemon stopped")
    }
}

/// Liveness of the loop: when the last pass finished (for `/healthz`).
public final class DaemonHealth: Sendable {
    let passes = Mutex<Int>(0)
    public init() {}
    func passed() { self.passes.withLock { $0 += 1 } }
    public var passCount: Int { self.passes.withLock { $0 } }
}

/// A wake-up flag with at most one waiter: ``signal()`` wakes the waiter, or the next ``wait(upTo:clock:)``
/// returns at once.
final class WakeSignal: Sendable {
    struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    let state = Mutex(State())

    func signal() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Until signalled or cancelled.
    func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                let waiter = state.waiter
                state.waiter = nil
                return waiter
            }
            waiter?.resume()
        }
    }

    /// Until signalled, `delay` has passed on `clock`, or cancelled; clears a pending signal.
    func wait(upTo delay: Duration, clock: any Clock<Duration>) async {
        if delay <= .zero {
            self.state.withLock { $0.pending = false }
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: delay) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }
}
