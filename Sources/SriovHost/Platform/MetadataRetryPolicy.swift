#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How often, and how patiently, a metadata request is repeated.
///
/// A request is retried after a connection failure, a timeout, HTTP 429 or any 5xx status; a 404 or
/// other 4xx answer is final. The wait before retry *n* (1-based) is `initialBackoff × 2^(n-1)`, at
/// most `maxBackoff`.
///
/// Upstream: the metadata client is `hashicorp/go-retryablehttp` with its defaults, 4 retries waiting
/// 1 s to 30 s (``upstream``).
public struct MetadataRetryPolicy: Sendable, Hashable {
    /// Attempts after the first one.
    public var retries: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(retries: Int, initialBackoff: Duration, maxBackoff: Duration) {
        self.retries = max(0, retries)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// go-retryablehttp's defaults.
    public static let upstream = MetadataRetryPolicy(retries: 4, initialBackoff: .seconds(1), maxBackoff: .seconds(30))

    /// One attempt only.
    public static let none = MetadataRetryPolicy(retries: 0, initialBackoff: .zero, maxBackoff: .zero)

    /// The wait before retry `retry` (1 for the first retry).
    public func backoff(beforeRetry retry: Int) -> Duration {
        var wait = self.initialBackoff
        var step = 1
        while step < retry && wait < self.maxBackoff {
            wait = wait * 2
            step += 1
        }
        return min(wait, self.maxBackoff)
    }

    /// Blocks the calling thread; the default way to wait between attempts.
    public typealias Sleeper = @Sendable (Duration) -> Void

    /// Sleeps with `nanosleep`.
    @Sendable
    public static func threadSleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds > 0 || attoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

/// GETs with retries and status handling shared by the OpenStack and AWS metadata services.
struct MetadataFetcher: Sendable {
    var client: MetadataHTTPClient
    var retry: MetadataRetryPolicy
    var sleep: MetadataRetryPolicy.Sleeper

    /// Sends a request, retrying per ``MetadataRetryPolicy``, and returns the body of a 2xx answer.
    ///
    /// - Throws: ``HostError`` `.notFound` for 404, `.metadata` for other error statuses, or the last
    ///   transport error (`.timeout`, `.io`…), with the number of attempts when there was more than one.
    func body(method: String = "GET", path: String, headers: [(String, String)] = []) throws(HostError) -> [UInt8] {
        let url = self.client.endpoint.url(path)
        var attempt = 0
        while true {
            attempt += 1
            let isLast = attempt > self.retry.retries
            let result: Swift.Result<MetadataHTTPResponse, HostError>
            do {
                result = .success(try self.client.perform(method: method, path: path, headers: headers))
            } catch {
                result = .failure(error)
            }
            let failure: HostError
            switch result {
            case .success(let response):
                if (200..<300).contains(response.status) { return response.body }
                failure = HostError(
                    code: response.status == 404 ? .notFound : .metadata,
                    message: "HTTP \(response.status) \(response.reason)".trimmingTrailingSpace,
                    path: url,
                    step: "\(method) metadata"
                )
                let isRetryable = response.status == 429 || response.status >= 500
                if !isRetryable { throw Self.counted(failure, attempts: attempt) }
            case .failure(let error):
                // Transport failures (refused, reset, timeout, garbled answer) are retried, as
                // go-retryablehttp does; a bad request never gets better.
                if error.code == .invalidArgument { throw error }
                failure = error
            }
            if isLast { throw Self.counted(failure, attempts: attempt) }
            self.sleep(self.retry.backoff(beforeRetry: attempt))
        }
    }

    /// Like ``body(method:path:headers:)``, as text.
    func text(method: String = "GET", path: String, headers: [(String, String)] = []) throws(HostError) -> String {
        String(decoding: try self.body(method: method, path: path, headers: headers), as: UTF8.self)
    }

    private static func counted(_ error: HostError, attempts: Int) -> HostError {
        guard attempts > 1 else { return error }
        var error = error
        error.message += " (after \(attempts) attempts)"
        return error
    }
}

extension String {
    fileprivate var trimmingTrailingSpace: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
