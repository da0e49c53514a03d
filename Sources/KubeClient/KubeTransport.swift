public import KubeCore

/// One HTTP request to the API server.
public struct KubeRequest: Sendable {
    public var method: String
    /// Path without query, e.g. `/apis/sriovnetwork.openshift.io/v1/namespaces/ns/sriovnetworks/net`.
    public var path: String
    public var query: [(name: String, value: String)]
    public var body: [UInt8]?
    public var contentType: String?
    /// For error messages: `get sriovnetworks ns/net`.
    public var verb: String
    public var resource: String

    public init(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        contentType: String? = nil,
        verb: String,
        resource: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.contentType = contentType
        self.verb = verb
        self.resource = resource
    }

    /// `path?k=v&…` with percent-encoding.
    public var target: String {
        guard !self.query.isEmpty else { return self.path }
        return self.path + "?"
            + self.query.map { "\(Self.escape($0.name))=\(Self.escape($0.value))" }.joined(separator: "&")
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

/// The server's answer.
public struct KubeResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var retryAfter: Int?

    public init(status: Int, body: [UInt8], retryAfter: Int? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }
}

/// Carries requests to an API server. ``HTTPKubeTransport`` speaks HTTPS (or HTTP) with AsyncHTTPClient;
/// tests can put anything behind it.
public protocol KubeTransport: Sendable {
    /// One request; the whole exchange (head and body) must finish within `timeout`.
    func send(_ request: KubeRequest, timeout: Duration) async throws -> KubeResponse
    /// Streams the response body line by line (watch) into `onLine`, returning when the server closes it.
    ///
    /// Back pressure: the next bytes are read only after `onLine` returns, so a slow consumer slows the
    /// server's stream instead of filling a buffer; a line longer than `maxLineBytes` fails the stream. A
    /// non-2xx status throws ``KubeError`` before the first line; `idleTimeout` without any byte (while not
    /// inside `onLine`) fails it; a response head slower than `headTimeout` fails it.
    func stream(
        _ request: KubeRequest,
        headTimeout: Duration,
        idleTimeout: Duration,
        maxLineBytes: Int,
        onLine: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws
    func shutdown() async throws
}
