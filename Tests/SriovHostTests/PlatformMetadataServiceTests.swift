import Foundation
import SriovHost
import Synchronization
import Testing

/// Records the waits between attempts instead of sleeping.
final class PlatformSleepRecorder: Sendable {
    private let waits = Mutex<[Duration]>([])
    var recorded: [Duration] { self.waits.withLock { $0 } }
    var sleeper: MetadataRetryPolicy.Sleeper { { duration in self.waits.withLock { $0.append(duration) } } }
}

private func fixtureText(_ path: String) -> String {
    (try? String(contentsOfFile: "\(platformFixtures)/\(path)", encoding: .utf8)) ?? ""
}

/// Serves the fixture documents at the Nova paths.
private let novaHandler: PlatformTestServer.Handler = { request, _ in
    switch request.path {
    case "/openstack/2018-08-27/meta_data.json":
        return .respond(status: 200, body: fixtureText("openstack/2018-08-27/meta_data.json"))
    case "/openstack/2018-08-27/network_data.json":
        return .respond(status: 200, body: fixtureText("openstack/2018-08-27/network_data.json"))
    default:
        return .respond(status: 404, body: "not found")
    }
}

@Suite("OpenStack metadata service over loopback HTTP", .timeLimit(.minutes(1)))
struct PlatformMetadataServiceTests {
    @Test("both documents are fetched with GET at the 2018-08-27 paths and decoded")
    func success() throws {
        try withPlatformServer(novaHandler) { server in
            let service = OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let metadata = try service.fetchMetadata()
            #expect(metadata.metaData.uuid == "2b0c0e5e-7d5a-4f4e-9a39-3f1c9a8a4c11")
            #expect(metadata.networkData.links?.count == 5)
            let requests = server.requests
            #expect(requests.map(\.method) == ["GET", "GET"])
            #expect(
                requests.map(\.path) == [
                    "/openstack/2018-08-27/meta_data.json", "/openstack/2018-08-27/network_data.json",
                ]
            )
            #expect(requests.first?.headers["host"] == "127.0.0.1:\(server.port)")
        }
    }

    @Test("a path prefix in the base URL is kept")
    func pathPrefix() throws {
        let handler: PlatformTestServer.Handler = { request, index in
            var stripped = request
            stripped.path = String(request.path.dropFirst("/nova".count))
            return novaHandler(stripped, index)
        }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(
                baseURL: server.baseURL + "/nova/",
                timeout: .seconds(2),
                retry: .none
            )
            _ = try service.fetchMetadata()
            #expect(server.requests.map(\.path).allSatisfy { $0.hasPrefix("/nova/openstack/") })
        }
    }

    @Test("404 is a notFound error with the URL, and is not retried")
    func notFound() throws {
        let handler: PlatformTestServer.Handler = { _, _ in .respond(status: 404, body: "") }
        try withPlatformServer(handler) { server in
            let recorder = PlatformSleepRecorder()
            let service = OpenStackMetadataService(
                baseURL: server.baseURL,
                timeout: .seconds(2),
                retry: MetadataRetryPolicy(retries: 3, initialBackoff: .milliseconds(10), maxBackoff: .seconds(1)),
                sleep: recorder.sleeper
            )
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .notFound)
            #expect(error?.path == "\(server.baseURL)/openstack/2018-08-27/meta_data.json")
            #expect(error?.description.contains("HTTP 404 Not Found") == true)
            #expect(server.requests.count == 1)
            #expect(recorder.recorded.isEmpty)
        }
    }

    @Test("a body that is not JSON is an error naming the document and the URL")
    func badJSON() throws {
        let handler: PlatformTestServer.Handler = { request, index in
            if request.path.hasSuffix("network_data.json") { return .respond(status: 200, body: "<html>oops</html>") }
            return novaHandler(request, index)
        }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .metadata)
            #expect(error?.path == "\(server.baseURL)/openstack/2018-08-27/network_data.json")
            #expect(error?.message.hasPrefix("network_data.json: document: invalid JSON") == true)
        }
    }

    @Test("a server that accepts but never answers times out within the configured timeout")
    func timeout() throws {
        let handler: PlatformTestServer.Handler = { _, _ in .hang }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(baseURL: server.baseURL, timeout: .milliseconds(200), retry: .none)
            let start = ContinuousClock.now
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            let elapsed = ContinuousClock.now - start
            #expect(error?.code == .timeout)
            #expect(error?.description.contains("no response within 200 ms") == true)
            #expect(elapsed >= .milliseconds(190))
            #expect(elapsed < .seconds(2), "took \(elapsed)")
        }
    }

    @Test("timeouts are retried: retries + 1 attempts, with doubling backoff capped at the maximum")
    func retriesCount() throws {
        let handler: PlatformTestServer.Handler = { _, _ in .hang }
        try withPlatformServer(handler) { server in
            let recorder = PlatformSleepRecorder()
            let service = OpenStackMetadataService(
                baseURL: server.baseURL,
                timeout: .milliseconds(100),
                retry: MetadataRetryPolicy(retries: 3, initialBackoff: .seconds(1), maxBackoff: .seconds(3)),
                sleep: recorder.sleeper
            )
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .timeout)
            #expect(error?.message.hasSuffix("(after 4 attempts)") == true)
            #expect(server.requests.count == 4)
            #expect(recorder.recorded == [.seconds(1), .seconds(2), .seconds(3)])
        }
    }

    @Test("5xx answers are retried until the service recovers")
    func recoversAfterServerErrors() throws {
        let handler: PlatformTestServer.Handler = { request, index in
            index < 2 ? .respond(status: 503, body: "busy") : novaHandler(request, index)
        }
        try withPlatformServer(handler) { server in
            let recorder = PlatformSleepRecorder()
            let service = OpenStackMetadataService(
                baseURL: server.baseURL,
                timeout: .seconds(2),
                retry: MetadataRetryPolicy(retries: 4, initialBackoff: .milliseconds(5), maxBackoff: .seconds(1)),
                sleep: recorder.sleeper
            )
            let metadata = try service.fetchMetadata()
            #expect(metadata.metaData.devices?.count == 3)
            #expect(server.requests.count == 4, "two 503s, then meta_data.json and network_data.json")
            #expect(recorder.recorded == [.milliseconds(5), .milliseconds(10)])
        }
    }

    @Test("a refused connection is an I/O error after the retries")
    func connectionRefused() throws {
        let server = try PlatformTestServer { _, _ in .hang }
        let url = server.baseURL
        server.stop()
        let recorder = PlatformSleepRecorder()
        let service = OpenStackMetadataService(
            baseURL: url,
            timeout: .seconds(1),
            retry: MetadataRetryPolicy(retries: 1, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(1)),
            sleep: recorder.sleeper
        )
        let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
        #expect(error?.errno == ECONNREFUSED)
        #expect(error?.message.hasSuffix("(after 2 attempts)") == true)
    }

    @Test("chunked and read-until-close bodies are read whole")
    func framing() throws {
        let meta = fixtureText("openstack/2018-08-27/meta_data.json")
        let half = meta.utf8.count / 2
        let first = String(decoding: Array(meta.utf8)[..<half], as: UTF8.self)
        let second = String(decoding: Array(meta.utf8)[half...], as: UTF8.self)
        let chunked =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "\(String(first.utf8.count, radix: 16));ext=1\r\n\(first)\r\n"
            + "\(String(second.utf8.count, radix: 16))\r\n\(second)\r\n0\r\n\r\n"
        let network = fixtureText("openstack/2018-08-27/network_data.json")
        let handler: PlatformTestServer.Handler = { request, _ in
            request.path.hasSuffix("meta_data.json")
                ? .raw(chunked) : .raw("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\(network)")
        }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let metadata = try service.fetchMetadata()
            #expect(metadata.metaData.devices?.count == 3)
            #expect(metadata.networkData.networks?.count == 5)
        }
    }

    @Test("a body above the size limit is refused")
    func oversizedBody() throws {
        let handler: PlatformTestServer.Handler = { _, _ in
            .respond(status: 200, body: String(repeating: " ", count: 4096) + "{}")
        }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(
                baseURL: server.baseURL,
                timeout: .seconds(2),
                retry: .none,
                sizeLimit: 1024
            )
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .metadata)
            #expect(error?.message.contains("exceeds the limit of 1024 bytes") == true)
        }
    }

    @Test("a garbled answer is an error that says so")
    func garbled() throws {
        let handler: PlatformTestServer.Handler = { _, _ in .raw("SSH-2.0-OpenSSH_9.6\r\n\r\n") }
        try withPlatformServer(handler) { server in
            let service = OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .metadata)
            #expect(error?.message.contains("not an HTTP response") == true)
        }
    }

    @Test(
        "base URLs other than http://host[:port][/path] are rejected before any request",
        arguments: ["https://169.254.169.254", "http://", "http://host:99999", "169.254.169.254", "http://[::1"]
    )
    func badBaseURL(_ url: String) {
        let error = #expect(throws: HostError.self) {
            try OpenStackMetadataService(baseURL: url, retry: .none).fetchMetadata()
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("invalid metadata URL \"\(url)\"") == true)
    }

    @Test("the upstream retry policy waits 1 s, 2 s, 4 s, 8 s")
    func upstreamBackoff() {
        let policy = MetadataRetryPolicy.upstream
        #expect(
            (1...4).map { policy.backoff(beforeRetry: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)]
        )
        #expect(policy.backoff(beforeRetry: 10) == .seconds(30))
    }
}
