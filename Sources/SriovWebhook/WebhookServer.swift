import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
public import ServiceLifecycle

/// The HTTPS server of the webhooks (``WebhookHandler``), presenting a ``ServingCertificate``.
///
/// Runs until graceful shutdown; in-flight reviews finish first. `onListening` receives the bound port
/// (useful with port 0).
public struct WebhookServer: Service {
    public let handler: WebhookHandler
    public let certificate: ServingCertificate
    public let host: String
    public let port: Int
    public let onListening: @Sendable (Int) async -> Void

    public init(
        handler: WebhookHandler,
        certificate: ServingCertificate,
        host: String = "0.0.0.0",
        port: Int,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.handler = handler
        self.certificate = certificate
        self.host = host
        self.port = port
        self.onListening = onListening
    }

    public func run() async throws {
        let handler = self.handler
        let limit = handler.settings.maxBodyBytes
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let answer: WebhookHandler.HTTPAnswer
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                answer = handler.tooLarge()
            } else {
                do {
                    let buffer = try await request.body.collect(upTo: limit)
                    answer = await handler.respond(
                        method: request.method.rawValue,
                        path: request.uri.path,
                        contentType: request.headers[.contentType],
                        body: Array(buffer.readableBytesView)
                    )
                } catch {
                    answer = handler.tooLarge()
                }
            }
            var response = Response(
                status: HTTPResponse.Status(code: answer.status),
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body))
            )
            response.headers[.contentType] = answer.contentType
            return response
        }
        let onListening = self.onListening
        let app = Application(
            responder: responder,
            server: try .tls(.http1(), tlsConfiguration: self.certificate.tlsConfiguration()),
            configuration: ApplicationConfiguration(address: .hostname(self.host, port: self.port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: handler.logger
        )
        try await app.runService()
    }
}

/// Plain-HTTP `/healthz` (alive) and `/readyz` (200 once `isReady` holds: the watch caches have synced).
public struct WebhookHealthServer: Service {
    public let port: Int
    public let isReady: @Sendable () -> Bool
    public let logger: Logger

    public init(port: Int, logger: Logger, isReady: @escaping @Sendable () -> Bool) {
        self.port = port
        self.isReady = isReady
        self.logger = logger
    }

    public func run() async throws {
        let isReady = self.isReady
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ -> Response in
            isReady()
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
                : Response(
                    status: .serviceUnavailable,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "caches not synced"))
                )
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("0.0.0.0", port: self.port)),
            logger: self.logger
        )
        try await app.runService()
    }
}
