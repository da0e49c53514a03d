import AsyncHTTPClient
import Foundation
import KubeCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import SriovAPI
import SriovTestKit
import SriovWebhook
import Testing

/// Runs a ``WebhookServer`` on a free loopback port for the duration of `body`.
func withWebhookServer<T: Sendable>(
    cluster: any ClusterView,
    certificate: ServingCertificate,
    settings: WebhookSettings = WebhookSettings(operatorNamespace: Fixture.namespace),
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let logger = Logger(label: "webhook-test")
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = WebhookServer(
        handler: WebhookHandler(settings: settings, cluster: cluster, logger: logger),
        certificate: certificate,
        host: "127.0.0.1",
        port: 0,
        onListening: { port in
            continuation.yield(port)
            continuation.finish()
        }
    )
    let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        defer { tasks.cancelAll() }
        guard let port = await ports.first(where: { _ in true }) else {
            throw RealAPIServerError(message: "webhook server did not listen")
        }
        let result = try await body(port)
        await group.triggerGracefulShutdown()
        return result
    }
}

/// An HTTPS client trusting only `caPEM`; shut down after `body`.
func withClient<T: Sendable>(trusting caPEM: String, _ body: @Sendable (HTTPClient) async throws -> T) async throws -> T
{
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

func post(
    _ client: HTTPClient,
    port: Int,
    path: String,
    body: [UInt8],
    contentType: String = "application/json"
) async throws -> (status: Int, body: String) {
    var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: contentType)
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await client.execute(request, timeout: .seconds(30))
    let text = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), String(buffer: text))
}

@Suite("webhook HTTPS server")
struct WebhookServerTests {
    static func generated() throws -> SelfSignedCertificate {
        try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
    }

    @Test("malformed reviews get 400 and the server keeps answering well-formed ones")
    func malformed() async throws {
        let pair = try Self.generated()
        let certificate = try ServingCertificate(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        let settings = WebhookSettings(operatorNamespace: Fixture.namespace, maxBodyBytes: 1 << 20)
        try await withWebhookServer(
            cluster: SnapshotClusterView(Fixture.cluster),
            certificate: certificate,
            settings: settings
        ) {
            port in
            try await withClient(trusting: pair.caPEM) { client in
                let garbage = try await post(
                    client,
                    port: port,
                    path: "/validating-custom-resource",
                    body: Array("{not json".utf8)
                )
                #expect(garbage.status == 400)
                #expect(garbage.body.contains("could not be decoded"))
                let wrongKind = try await post(
                    client,
                    port: port,
                    path: "/mutate",
                    body: Array(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#.utf8)
                )
                #expect(wrongKind.status == 400)
                #expect(wrongKind.body.contains("unsupported group version kind"))
                let noRequest = try await post(
                    client,
                    port: port,
                    path: "/mutate",
                    body: Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.utf8)
                )
                #expect(noRequest.status == 400)
                let huge = try await post(
                    client,
                    port: port,
                    path: "/validating-custom-resource",
                    body: [UInt8](repeating: UInt8(ascii: "x"), count: 4 << 20)
                )
                #expect(huge.status == 400)
                #expect(huge.body.contains("exceeds"))
                let wrongType = try await post(
                    client,
                    port: port,
                    path: "/mutate",
                    body: Array("{}".utf8),
                    contentType: "text/plain"
                )
                #expect(wrongType.status == 415)
                let unknownPath = try await post(client, port: port, path: "/admin", body: Array("{}".utf8))
                #expect(unknownPath.status == 404)
            }
            // A fresh connection after all that is still answered.
            try await withClient(trusting: pair.caPEM) { client in
                let policy = SriovNetworkNodePolicy.fixture("good").numVfs(4).pfNames("ens803f0")
                let review = Fixture.review(kind: SriovNetworkNodePolicy.kind, object: try Fixture.policyJSON(policy))
                let ok = try await post(
                    client,
                    port: port,
                    path: "/validating-custom-resource",
                    body: Array(review.utf8)
                )
                #expect(ok.status == 200)
                #expect(try Answer(ok.body).allowed)
            }
        }
    }

    @Test("a certificate rotated in the cert dir is served to new connections without a restart")
    func rotation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-webhook-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        @Sendable func install(_ pair: SelfSignedCertificate) throws {
            try Data(pair.certificatePEM.utf8).write(to: directory.appendingPathComponent("tls.crt"))
            try Data(pair.keyPEM.utf8).write(to: directory.appendingPathComponent("tls.key"))
        }
        let first = try Self.generated()
        try install(first)
        let certificate = try ServingCertificate(directory: directory.path)
        #expect(try certificate.reloadIfChanged() == false)
        let review = Fixture.review(kind: "Pod", namespace: "apps", object: Fixture.pod(annotations: [:]))
        try await withWebhookServer(cluster: SnapshotClusterView(ClusterSnapshot()), certificate: certificate) { port in
            let before = try await withClient(trusting: first.caPEM) { client in
                try await post(client, port: port, path: "/mutate", body: Array(review.utf8)).status
            }
            #expect(before == 200)
            let second = try Self.generated()
            try install(second)
            #expect(try certificate.reloadIfChanged() == true)
            let after = try await withClient(trusting: second.caPEM) { client in
                try await post(client, port: port, path: "/mutate", body: Array(review.utf8)).status
            }
            #expect(after == 200)
            await #expect(throws: (any Error).self) {
                try await withClient(trusting: first.caPEM) { client in
                    try await post(client, port: port, path: "/mutate", body: Array(review.utf8)).status
                }
            }
        }
    }

    @Test("a half-written rotation keeps the previous certificate and says which file is wrong")
    func brokenRotation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-webhook-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try Self.generated()
        try Data(pair.certificatePEM.utf8).write(to: directory.appendingPathComponent("tls.crt"))
        try Data(pair.keyPEM.utf8).write(to: directory.appendingPathComponent("tls.key"))
        let certificate = try ServingCertificate(directory: directory.path)
        try Data("-----BEGIN CERTIFICATE-----\ntrunc".utf8).write(to: directory.appendingPathComponent("tls.crt"))
        #expect {
            try certificate.reloadIfChanged()
        } throws: { error in
            "\(error)".contains("tls.crt")
        }
        #expect(certificate.current.chain.count == 1)
    }
}
