public import KubeCore

/// A failed API request: the HTTP status, the server's `metav1.Status` reason and message, and which
/// request it was (`PUT sriovnetworknodestates sriov-network-operator/worker-0`).
public struct KubeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Gone`/`Expired`, `Forbidden`, `Invalid`, … (empty when the
    /// server did not send a Status).
    public var reason: String
    public var message: String
    public var verb: String
    public var resource: String
    /// Seconds from a `Retry-After` header (429, 503).
    public var retryAfter: Int?

    public init(status: Int, reason: String, message: String, verb: String, resource: String, retryAfter: Int? = nil) {
        self.status = status
        self.reason = reason
        self.message = message
        self.verb = verb
        self.resource = resource
        self.retryAfter = retryAfter
    }

    public var isNotFound: Bool { self.status == 404 }
    public var isConflict: Bool { self.status == 409 && self.reason != "AlreadyExists" }
    public var isAlreadyExists: Bool { self.status == 409 && self.reason == "AlreadyExists" }
    public var isGone: Bool { self.status == 410 || self.reason == "Expired" || self.reason == "Gone" }
    public var isForbidden: Bool { self.status == 403 }
    /// The answer arrived but could not be decoded: retrying the same request gets the same bytes.
    public var isDecodeFailure: Bool { self.status == 0 && self.reason == "Decode" }
    /// Worth retrying with backoff: throttling, server errors and transport failures (status 0, but not a
    /// decode failure).
    public var isTransient: Bool {
        (self.status == 0 && !self.isDecodeFailure) || self.status == 429 || self.status >= 500
    }

    public var description: String {
        let code =
            self.isDecodeFailure
            ? "decode error"
            : self.status == 0
                ? (self.reason == "Timeout" ? "timeout" : "transport error")
                : "\(self.status)\(self.reason.isEmpty ? "" : " \(self.reason)")"
        return "\(self.verb) \(self.resource): \(code): \(self.message)"
    }

    /// Builds the error from a response body that may hold a `metav1.Status`.
    static func from(
        status: Int,
        body: [UInt8],
        verb: String,
        resource: String,
        retryAfter: Int?
    ) -> KubeError {
        if let value = try? JSONParser.parse(body), value["kind"] == "Status" {
            return KubeError(
                status: value["code"].flatMap { if case .int(let i) = $0 { i } else { nil } } ?? status,
                reason: value["reason"]?.stringValue ?? "",
                message: value["message"]?.stringValue ?? "",
                verb: verb,
                resource: resource,
                retryAfter: retryAfter
            )
        }
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        return KubeError(
            status: status,
            reason: "",
            message: text,
            verb: verb,
            resource: resource,
            retryAfter: retryAfter
        )
    }
}
