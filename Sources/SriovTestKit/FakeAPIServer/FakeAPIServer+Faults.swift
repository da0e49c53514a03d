import KubeCore
import Synchronization

extension FakeAPIServer {
    /// Fault injection: errors, conflicts, latency and dropped watches, on demand.
    ///
    /// A rule matches a request when its `method` (if given) equals the request's and its
    /// `pathContains` (if given) is a substring of the request target (path and query, as sent:
    /// `"/api/v1/namespaces/default/configmaps?watch=true"`). Counted rules are used up in the order
    /// they were added.
    public final class Faults: Sendable {
        private struct Rule: Sendable {
            enum Action: Sendable {
                case fail(code: Int, reason: String, message: String, retryAfterSeconds: Int?)
                case conflict
                case delay(Duration)
            }

            var remaining: Int?
            var method: String?
            var pathContains: String?
            var action: Action

            func matches(method: String, target: String) -> Bool {
                (self.method.map { $0.uppercased() == method } ?? true)
                    && (self.pathContains.map { target.contains($0) } ?? true)
            }
        }

        private let rules = Mutex<[Rule]>([])
        private let store: ObjectStore

        init(store: ObjectStore) {
            self.store = store
        }

        /// Makes the next `count` matching requests fail with a `metav1.Status` error.
        ///
        /// - Parameters:
        ///   - count: How many requests fail.
        ///   - method: Only requests with this HTTP method (`"PUT"`); any method when `nil`.
        ///   - pathContains: Only requests whose path and query contain this text.
        ///   - status: The HTTP status code, e.g. 500, 503 or 429.
        ///   - reason: The Status `reason`; by default the one the real server uses for `status`
        ///     (`InternalError`, `TooManyRequests`, `ServiceUnavailable`, …).
        ///   - message: The Status `message`; by default the real server's generic message for `status`.
        ///   - retryAfterSeconds: Sent as `Retry-After` and `details.retryAfterSeconds`; defaults to 1 for 429.
        public func failNext(
            _ count: Int = 1,
            method: String? = nil,
            pathContains: String? = nil,
            status: Int = 500,
            reason: String? = nil,
            message: String? = nil,
            retryAfterSeconds: Int? = nil
        ) {
            let action = Rule.Action.fail(
                code: status,
                reason: reason ?? APIStatus.reason(forCode: status),
                message: message ?? APIStatus.genericMessage(forCode: status),
                retryAfterSeconds: retryAfterSeconds ?? (status == 429 ? 1 : nil)
            )
            self.rules.withLock {
                $0.append(Rule(remaining: count, method: method, pathContains: pathContains, action: action))
            }
        }

        /// Makes the next `count` matching updates (PUT or PATCH of an object) fail with the 409
        /// Conflict the server returns for a stale resourceVersion, as if another writer got there first.
        public func conflictNext(_ count: Int = 1, method: String? = nil, pathContains: String? = nil) {
            self.rules.withLock {
                $0.append(Rule(remaining: count, method: method, pathContains: pathContains, action: .conflict))
            }
        }

        /// Delays matching requests by `duration` before they are handled.
        /// - Parameter count: How many requests to delay; every matching request when `nil`.
        public func delay(_ duration: Duration, method: String? = nil, pathContains: String? = nil, count: Int? = nil) {
            self.rules.withLock {
                $0.append(Rule(remaining: count, method: method, pathContains: pathContains, action: .delay(duration)))
            }
        }

        /// Closes every open watch now, mid-stream, without a final event, as a restarted API server
        /// or a broken connection would.
        /// - Parameter abruptly: Reset the connection instead of ending the chunked response cleanly.
        public func dropWatches(abruptly: Bool = false) {
            self.store.state.withLock { $0.closeAllWatches(with: abruptly ? .abort : .end) }
        }

        /// Removes every pending fault rule.
        public func reset() {
            self.rules.withLock { $0.removeAll() }
        }

        // MARK: Internal

        /// The total delay of matching delay rules (using up counted ones).
        func delay(method: String, target: String) -> Duration? {
            self.rules.withLock { rules in
                var total: Duration?
                for index in rules.indices {
                    guard case .delay(let duration) = rules[index].action,
                        rules[index].matches(method: method, target: target)
                    else { continue }
                    total = (total ?? .zero) + duration
                    if let remaining = rules[index].remaining { rules[index].remaining = remaining - 1 }
                }
                rules.removeAll { $0.remaining.map { $0 <= 0 } ?? false }
                return total
            }
        }

        /// The injected failure for a request, if a rule matches (using it up).
        func takeFailure(method: String, target: String) -> APIStatus? {
            self.take(method: method, target: target) { action in
                guard case .fail(let code, let reason, let message, let retryAfterSeconds) = action else { return nil }
                return APIStatus(
                    code: code,
                    reason: reason,
                    message: message,
                    details: [:],
                    retryAfterSeconds: retryAfterSeconds
                )
            }
        }

        /// Whether an injected conflict applies to this update (using it up).
        func takeConflict(method: String, target: String) -> Bool {
            self.take(method: method, target: target) { action in
                if case .conflict = action { return true }
                return nil
            } ?? false
        }

        private func take<T>(method: String, target: String, _ select: (Rule.Action) -> T?) -> T? {
            self.rules.withLock { rules in
                for index in rules.indices where rules[index].matches(method: method, target: target) {
                    guard let result = select(rules[index].action) else { continue }
                    if let remaining = rules[index].remaining {
                        if remaining <= 1 { rules.remove(at: index) } else { rules[index].remaining = remaining - 1 }
                    }
                    return result
                }
                return nil
            }
        }
    }
}

/// One request the fake server received, for assertions such as "no writes during an idle resync".
public struct RecordedRequest: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP method, upper case (`GET`, `PATCH`, …).
    public var method: String
    /// The URL path, e.g. `/api/v1/namespaces/default/configmaps/config`.
    public var path: String
    /// The decoded query parameters (`watch`, `labelSelector`, `resourceVersion`, …).
    public var query: [String: String]

    public init(method: String, path: String, query: [String: String]) {
        self.method = method
        self.path = path
        self.query = query
    }

    /// Whether the request can change state (POST, PUT, PATCH or DELETE).
    public var isWrite: Bool { ["POST", "PUT", "PATCH", "DELETE"].contains(self.method) }

    /// Whether the request is a watch.
    public var isWatch: Bool { self.method == "GET" && (self.query["watch"] == "true" || self.query["watch"] == "1") }

    public var description: String {
        let query = self.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        return query.isEmpty ? "\(self.method) \(self.path)" : "\(self.method) \(self.path)?\(query)"
    }
}
