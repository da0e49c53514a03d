import SriovHost
import Testing

/// An IMDS with two interfaces; `requireToken` makes it behave like an IMDSv2-only instance, and
/// `offerToken: false` like one without IMDSv2 (the PUT is refused).
private func imds(offerToken: Bool, requireToken: Bool) -> PlatformTestServer.Handler {
    let token = "AQAEAFTokenForTests=="
    let subnets = ["0e:1f:2a:3b:4c:5d": "subnet-0a1b2c3d4e5f60718", "0e:aa:bb:cc:dd:ee": "subnet-0fedcba9876543210"]
    return { request, _ in
        if request.path == "/latest/api/token" {
            guard offerToken, request.method == "PUT" else { return .respond(status: 403, body: "") }
            guard request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600" else {
                return .respond(status: 400, body: "missing TTL")
            }
            return .respond(status: 200, body: token)
        }
        if requireToken && request.headers["x-aws-ec2-metadata-token"] != token {
            return .respond(status: 401, body: "")
        }
        let prefix = "/latest/meta-data/network/interfaces/macs/"
        if request.path == prefix {
            return .respond(status: 200, body: subnets.keys.sorted().map { "\($0)/" }.joined(separator: "\n"))
        }
        for (mac, subnet) in subnets where request.path == "\(prefix)\(mac)/subnet-id" {
            return .respond(status: 200, body: subnet)
        }
        return .respond(status: 404, body: "")
    }
}

@Suite("AWS instance metadata (IMDS) over loopback HTTP", .timeLimit(.minutes(1)))
struct PlatformAWSTests {
    @Test("IMDSv2: PUT for a token with a TTL, then every GET carries the token")
    func tokenFlow() throws {
        try withPlatformServer(imds(offerToken: true, requireToken: true)) { server in
            let service = AWSMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let metadata = try service.fetchMetadata()
            #expect(
                metadata.subnetIDs == [
                    "0e:1f:2a:3b:4c:5d": "subnet-0a1b2c3d4e5f60718", "0e:aa:bb:cc:dd:ee": "subnet-0fedcba9876543210",
                ]
            )
            let requests = server.requests
            #expect(requests.first?.method == "PUT")
            #expect(requests.first?.path == "/latest/api/token")
            #expect(requests.first?.headers["content-length"] == "0")
            #expect(requests.dropFirst().allSatisfy { $0.method == "GET" })
            #expect(
                requests.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == "AQAEAFTokenForTests==" }
            )
            #expect(requests.count == 4)
        }
    }

    @Test("IMDSv1 fallback: when the token PUT is refused, GETs go out without a token")
    func fallbackToV1() throws {
        try withPlatformServer(imds(offerToken: false, requireToken: false)) { server in
            let service = AWSMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let metadata = try service.fetchMetadata()
            #expect(metadata.subnetIDs.count == 2)
            let requests = server.requests
            #expect(requests.first?.method == "PUT")
            #expect(requests.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == nil })
        }
    }

    @Test("IMDSv1 fallback also when the token PUT times out (hop limit 1 from a pod)")
    func fallbackAfterTokenTimeout() throws {
        let normal = imds(offerToken: false, requireToken: false)
        let handler: PlatformTestServer.Handler = { request, index in
            request.method == "PUT" ? .hang : normal(request, index)
        }
        try withPlatformServer(handler) { server in
            let service = AWSMetadataService(baseURL: server.baseURL, timeout: .milliseconds(200), retry: .none)
            let metadata = try service.fetchMetadata()
            #expect(metadata.subnetIDs.count == 2)
        }
    }

    @Test("an IMDSv2-only instance without a token answers 401, reported with the URL")
    func unauthorized() throws {
        let strict = imds(offerToken: true, requireToken: true)
        let handler: PlatformTestServer.Handler = { request, index in
            request.method == "PUT" ? .respond(status: 503, body: "") : strict(request, index)
        }
        try withPlatformServer(handler) { server in
            let service = AWSMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.code == .metadata)
            #expect(error?.path == "\(server.baseURL)/latest/meta-data/network/interfaces/macs/")
            #expect(error?.message == "HTTP 401 Unauthorized")
        }
    }

    @Test("a listing entry that is not a MAC is an error quoting it")
    func badListing() throws {
        let handler: PlatformTestServer.Handler = { _, _ in
            .respond(status: 200, body: "0e:1f:2a:3b:4c:5d/\n../../etc/passwd\n")
        }
        try withPlatformServer(handler) { server in
            let service = AWSMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none)
            let error = #expect(throws: HostError.self) { try service.fetchMetadata() }
            #expect(error?.message.contains("\"../../etc/passwd\" that is not a MAC address") == true)
        }
    }

    @Test("NICs map to aws/NetworkID:<subnet-id> by MAC; unknown MACs are left out")
    func netFilters() {
        let metadata = AWSMetadata(subnetIDs: ["0e:1f:2a:3b:4c:5d": "subnet-0a1b2c3d4e5f60718"])
        let result = PlatformNetFilters(
            aws: metadata,
            nics: [
                (pciAddress: "0000:00:05.0", mac: "0E:1F:2A:3B:4C:5D"),
                (pciAddress: "0000:00:06.0", mac: "0e:00:00:00:00:01"),
            ]
        )
        #expect(result.netFilters == ["0000:00:05.0": "aws/NetworkID:subnet-0a1b2c3d4e5f60718"])
        #expect(result.warnings.isEmpty)
    }
}
