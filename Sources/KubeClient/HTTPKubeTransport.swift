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

    public func send(_ request: KubeRequest) async throws -> KubeResponse {
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(self.makeRequest(request), timeout: .seconds(60))
        } catch {
            throw KubeError(status: 0, reason: "", message: "\(error)", verb: request.verb, resource: request.resource)
        }
        let body = try await response.body.collect(upTo: 256 << 20)
        return KubeResponse(
            status: Int(response.status.code),
            body: Array(buffer: body),
            retryAfter: response.headers.first(name: "Retry-After").flatMap(Int.init)
        )
    }

    public func lines(
        _ request: KubeRequest,
        idleTimeout: Duration
    ) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(self.makeRequest(request), timeout: .seconds(30))
        } catch {
            throw KubeError(status: 0, reason: "", message: "\(error)", verb: request.verb, resource: request.resource)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw KubeError.from(
                status: Int(response.status.code),
                body: Array(buffer: body),
                verb: request.verb,
                resource: request.resource,
                retryAfter: nil
            )
        }
        return LineSplitter.lines(
            of: response.body,
            idleTimeout: idleTimeout,
            verb: request.verb,
            resource: request.resource
        )
    }

    public func shutdown() async throws {
        try await self.client.shutdown()
    }
}

/// Splits a streamed body into lines (a watch event per line); lines cross chunk borders.
enum LineSplitter {
    static func lines(
        of body: HTTPClientResponse.Body,
        idleTimeout: Duration,
        verb: String,
        resource: String
    ) -> AsyncThrowingStream<[UInt8], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        // A documented bridge: the body's iteration runs in its own task so the consumer can stop early
        // (termination cancels it) and an idle timeout can end a silent stream.
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let progress = ProgressClock()
                    group.addTask {
                        var pending: [UInt8] = []
                        for try await chunk in body {
                            progress.touch()
                            for byte in chunk.readableBytesView {
                                if byte == 0x0A {
                                    if !pending.isEmpty { continuation.yield(pending) }
                                    pending.removeAll(keepingCapacity: true)
                                } else {
                                    pending.append(byte)
                                }
                            }
                        }
                        if !pending.isEmpty { continuation.yield(pending) }
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
                    try await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// When bytes last arrived on a stream.
final class ProgressClock: Sendable {
    let last = Mutex(ContinuousClock.now)
    func touch() { self.last.withLock { $0 = .now } }
    func idle(longerThan duration: Duration) -> Bool { self.last.withLock { ContinuousClock.now - $0 > duration } }
}
