public import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// ``KubeTransport`` over AsyncHTTPClient with the kubeconfig's TLS material and credentials.
public final class HTTPKubeTransport: KubeTransport {
    let client: HTTPClient
    let config: KubeConfig
    let baseURL: String

    /// - Throws: ``KubeConfig/Error`` when the TLS material cannot be parsed.
    public init(config: KubeConfig) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = config.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let cert = config.clientCertificatePEM, let key = config.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubeConfig.Error(description: "TLS material for \(config.server) is not valid PEM: \(error)")
        }
        if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10))
        configuration.decompression = .disabled
        // Every watch holds an HTTP/1.1 connection for minutes; the default limit of 8 per host would starve
        // ordinary requests behind a dozen watches.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.config = config
        self.baseURL = config.server.hasSuffix("/") ? String(config.server.dropLast()) : config.server
    }

    func makeRequest(_ request: KubeRequest) -> HTTPClientRequest {
        var http = HTTPClientRequest(url: self.baseURL + request.target)
        http.method = HTTPMethod(rawValue: request.method)
        http.headers.add(name: "Accept", value: "application/json")
        http.headers.add(name: "User-Agent", value: "sriov-operator/swift")
        if let token = self.config.currentToken { http.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body = request.body {
            http.headers.add(name: "Content-Type", value: request.contentType ?? "application/json")
            http.body = .bytes(ByteBuffer(bytes: body))
        }
        return http
    }

    public func send(_ request: KubeRequest, timeout: Duration) async throws -> KubeResponse {
        let http = self.makeRequest(request)
        let client = self.client
        // The deadline covers the head *and* the body: a server that sends headers and then stalls fails
        // the request instead of hanging its caller.
        return try await Deadline.run(timeout, verb: request.verb, resource: request.resource) {
            let response: HTTPClientResponse
            do {
                // AsyncHTTPClient's own timeout (head only) is a backstop behind ours.
                response = try await client.execute(http, timeout: .nanoseconds((timeout + .seconds(5)).nanoseconds))
            } catch {
                throw KubeError(
                    status: 0,
                    reason: "",
                    message: "\(error)",
                    verb: request.verb,
                    resource: request.resource
                )
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 256 << 20)
            } catch {
                throw KubeError(
                    status: 0,
                    reason: "",
                    message: "reading the response body: \(error)",
                    verb: request.verb,
                    resource: request.resource
                )
            }
            return KubeResponse(
                status: Int(response.status.code),
                body: Array(buffer: body),
                retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) }
            )
        }
    }

    public func stream(
        _ request: KubeRequest,
        headTimeout: Duration,
        idleTimeout: Duration,
        maxLineBytes: Int,
        onLine: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        let http = self.makeRequest(request)
        let client = self.client
        let response = try await Deadline.run(headTimeout, verb: request.verb, resource: request.resource) {
            do {
                return try await client.execute(http, timeout: .nanoseconds((headTimeout + .seconds(5)).nanoseconds))
            } catch {
                throw KubeError(
                    status: 0,
                    reason: "",
                    message: "\(error)",
                    verb: request.verb,
                    resource: request.resource
                )
            }
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = try await Deadline.run(headTimeout, verb: request.verb, resource: request.resource) {
                try await response.body.collect(upTo: 1 << 20)
            }
            throw KubeError.from(
                status: Int(response.status.code),
                body: Array(buffer: body),
                verb: request.verb,
                resource: request.resource,
                retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) }
            )
        }
        try await LineSplitter.split(
            response.body,
            idleTimeout: idleTimeout,
            maxLineBytes: maxLineBytes,
            verb: request.verb,
            resource: request.resource,
            onLine: onLine
        )
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        self.components.seconds * 1_000_000_000 + self.components.attoseconds / 1_000_000_000
    }
}

/// Runs an operation with a deadline, in a child task beside a timer (structured: both end with the call).
enum Deadline {
    static func run<T: Sendable>(
        _ timeout: Duration,
        verb: String,
        resource: String,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw KubeError(
                    status: 0,
                    reason: "Timeout",
                    message: "no complete answer within \(timeout)",
                    verb: verb,
                    resource: resource
                )
            }
            return value
        }
    }
}

/// Splits a streamed body into lines (a watch event per line); lines cross chunk borders.
enum LineSplitter {
    /// Reads `body` in this task and hands each line to `onLine` before reading on (back pressure); a timer
    /// child task fails the call after `idleTimeout` without bytes, not counting time spent in `onLine`.
    static func split(
        _ body: HTTPClientResponse.Body,
        idleTimeout: Duration,
        maxLineBytes: Int,
        verb: String,
        resource: String,
        onLine: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        let progress = ProgressClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var splitter = Splitter(maxLineBytes: maxLineBytes, verb: verb, resource: resource)
                for try await chunk in body {
                    // Stop at cancellation even when the server keeps sending (bookmarks).
                    try Task.checkCancellation()
                    progress.touch()
                    for line in try splitter.feed(chunk.readableBytesView) {
                        progress.busy(true)
                        try await onLine(line)
                        progress.busy(false)
                    }
                }
                if let last = splitter.finish() { try await onLine(last) }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: idleTimeout / 4)
                    if progress.idle(longerThan: idleTimeout) {
                        throw KubeError(
                            status: 0,
                            reason: "Timeout",
                            message: "no data for \(idleTimeout)",
                            verb: verb,
                            resource: resource
                        )
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// The byte-level state: the partial line carried between chunks, bounded by `maxLineBytes`.
    struct Splitter {
        var pending: [UInt8] = []
        let maxLineBytes: Int
        let verb: String
        let resource: String

        init(maxLineBytes: Int, verb: String, resource: String) {
            self.maxLineBytes = maxLineBytes
            self.verb = verb
            self.resource = resource
        }

        mutating func feed<C: Collection<UInt8>>(_ bytes: C) throws -> [[UInt8]] {
            var lines: [[UInt8]] = []
            for byte in bytes {
                if byte == 0x0A {
                    if !self.pending.isEmpty { lines.append(self.pending) }
                    self.pending.removeAll(keepingCapacity: true)
                } else {
                    self.pending.append(byte)
                    if self.pending.count > self.maxLineBytes {
                        throw KubeError(
                            status: 0,
                            reason: "Decode",
                            message: "a watch line exceeds \(self.maxLineBytes) bytes",
                            verb: self.verb,
                            resource: self.resource
                        )
                    }
                }
            }
            return lines
        }

        mutating func finish() -> [UInt8]? { self.pending.isEmpty ? nil : self.pending }
    }
}

/// When bytes last arrived on a stream.
final class ProgressClock: Sendable {
    let last = Mutex((at: ContinuousClock.now, busy: false))
    func touch() { self.last.withLock { $0.at = .now } }
    /// Inside the consumer: not idle however long it takes (the consumer, not the server, is slow).
    func busy(_ busy: Bool) { self.last.withLock { $0 = (at: .now, busy: busy) } }
    func idle(longerThan duration: Duration) -> Bool {
        self.last.withLock { !$0.busy && ContinuousClock.now - $0.at > duration }
    }
}
