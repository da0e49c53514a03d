import Synchronization

/// Client-side token bucket (client-go's `flowcontrol.NewTokenBucketRateLimiter`): `qps` tokens a second,
/// at most `burst` saved up. Every request takes one token; when none is left the caller waits for the next.
///
/// `qps <= 0` turns it off. Time comes from `now` (seconds on a monotonic clock) so tests can drive it.
public final class TokenBucket: Sendable {
    public let qps: Double
    public let burst: Int
    let now: @Sendable () -> Duration
    /// Tokens available at `stamp` (may go negative: reservations made ahead of time).
    let state: Mutex<(tokens: Double, stamp: Duration)>

    /// client-go's defaults for a controller are 5 qps / burst 10; controller-runtime raises them to 20/30.
    /// Ours: 50 qps, burst 100 (`--kube-api-qps`, `--kube-api-burst`).
    public static let defaultQPS = 50.0
    public static let defaultBurst = 100

    public init(qps: Double, burst: Int, now: @escaping @Sendable () -> Duration = { TokenBucket.monotonicNow() }) {
        self.qps = qps
        self.burst = max(1, burst)
        self.now = now
        self.state = Mutex((tokens: Double(max(1, burst)), stamp: now()))
    }

    public var isEnabled: Bool { self.qps > 0 }

    /// Takes one token and returns how long the caller must wait before using it (zero when one was there).
    public func reserve() -> Duration {
        guard self.isEnabled else { return .zero }
        let current = self.now()
        return self.state.withLock { state in
            let elapsed = Self.seconds(current - state.stamp)
            state.tokens = min(Double(self.burst), state.tokens + max(0, elapsed) * self.qps)
            state.stamp = current
            state.tokens -= 1
            guard state.tokens < 0 else { return .zero }
            return .nanoseconds(Int64((-state.tokens / self.qps) * 1e9))
        }
    }

    /// Waits for a token.
    public func acquire() async throws {
        let wait = self.reserve()
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public static func monotonicNow() -> Duration { ContinuousClock.now - Self.epoch }
    static let epoch = ContinuousClock.now
}

/// When to retry a request the server answered with 429 or 5xx and a `Retry-After` header (client-go:
/// `checkWait`, up to 10 retries). Without the header the error goes back to the caller, whose work queue
/// backs off per key.
public struct RetryPolicy: Sendable {
    /// Retries of one request.
    public var maxRetries: Int
    /// Longest wait honoured from one `Retry-After` (a server asking for minutes is failed instead).
    public var maxWait: Duration
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        maxRetries: Int = 10,
        maxWait: Duration = .seconds(30),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxRetries = maxRetries
        self.maxWait = maxWait
        self.sleep = sleep
    }

    /// No retries (tests that assert on the first answer).
    public static let none = RetryPolicy(maxRetries: 0)

    /// The wait before retry number `attempt` (0-based) of a response, or nil to give up.
    public func wait(status: Int, retryAfter: Int?, attempt: Int) -> Duration? {
        guard attempt < self.maxRetries, status == 429 || status >= 500, let retryAfter, retryAfter >= 0 else {
            return nil
        }
        let wait = Duration.seconds(retryAfter)
        return wait <= self.maxWait ? max(wait, .milliseconds(100)) : nil
    }
}
