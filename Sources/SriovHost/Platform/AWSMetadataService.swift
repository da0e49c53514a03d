/// What the AWS platform needs from the instance metadata: the subnet of each network interface.
public struct AWSMetadata: Sendable, Hashable {
    /// Interface MAC (lower case) → subnet id (`subnet-0abc…`).
    public var subnetIDs: [String: String]

    public init(subnetIDs: [String: String]) {
        self.subnetIDs = subnetIDs
    }
}

/// The EC2 instance metadata service (IMDS).
///
/// Lists `/latest/meta-data/network/interfaces/macs/` and reads `<mac>/subnet-id` for each interface.
/// It uses IMDSv2 when it can: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`, then
/// every GET carries `X-aws-ec2-metadata-token`. If the token request fails in any way (IMDSv2 not
/// offered, a hop limit of 1 dropping the PUT from a pod, a timeout) it falls back to IMDSv1 and GETs
/// without a token. The token request is tried once; the GETs are retried per ``retry``.
///
/// Upstream: pkg/platform/aws/aws.go (IMDSv1 only; IMDSv2 is an addition, since many AMIs require it).
public struct AWSMetadataService: MetadataSource {
    public var baseURL: String
    public var timeout: Duration
    public var retry: MetadataRetryPolicy
    /// The lifetime asked for the IMDSv2 token.
    public var tokenTTLSeconds: Int
    public var sizeLimit: Int
    private let sleep: MetadataRetryPolicy.Sleeper

    public static let tokenPath = "/latest/api/token"
    public static let macsPath = "/latest/meta-data/network/interfaces/macs/"
    public static let tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
    public static let tokenHeader = "X-aws-ec2-metadata-token"

    public init(
        baseURL: String = "http://169.254.169.254",
        timeout: Duration = .seconds(10),
        retry: MetadataRetryPolicy = .upstream,
        tokenTTLSeconds: Int = 21600,
        sizeLimit: Int = 1 << 20,
        sleep: @escaping MetadataRetryPolicy.Sleeper = MetadataRetryPolicy.threadSleep
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.retry = retry
        self.tokenTTLSeconds = tokenTTLSeconds
        self.sizeLimit = sizeLimit
        self.sleep = sleep
    }

    public var sourceDescription: String { "EC2 instance metadata \(self.baseURL)" }

    /// Reads the subnet of every interface.
    ///
    /// - Throws: ``HostError``: `.notFound` for 404, `.timeout`/`.io` when IMDS does not answer,
    ///   `.metadata` for other statuses or a listing entry that is not a MAC; `path` is the URL.
    public func fetchMetadata() throws(HostError) -> AWSMetadata {
        let client = MetadataHTTPClient(
            endpoint: try MetadataHTTPEndpoint(parsing: self.baseURL),
            timeout: self.timeout,
            bodyLimit: self.sizeLimit
        )
        let fetcher = MetadataFetcher(client: client, retry: self.retry, sleep: self.sleep)
        var headers: [(String, String)] = []
        if let token = self.token(client: client) { headers.append((Self.tokenHeader, token)) }

        let listing = try fetcher.text(path: Self.macsPath, headers: headers)
        var subnets: [String: String] = [:]
        for line in listing.split(whereSeparator: \.isNewline) {
            var entry = String(line).trimming(" \t\r")
            while entry.hasSuffix("/") { entry.removeLast() }
            if entry.isEmpty { continue }
            guard Self.isMAC(entry) else {
                throw HostError(
                    code: .metadata,
                    message: "interface listing has an entry \"\(entry.prefix(64))\" that is not a MAC address",
                    path: client.endpoint.url(Self.macsPath),
                    step: "GET metadata"
                )
            }
            let subnet = try fetcher.text(path: "\(Self.macsPath)\(entry)/subnet-id", headers: headers)
            subnets[entry.lowercased()] = subnet.trimming(" \t\r\n")
        }
        return AWSMetadata(subnetIDs: subnets)
    }

    /// The IMDSv2 token, or `nil` to use IMDSv1.
    private func token(client: MetadataHTTPClient) -> String? {
        let fetcher = MetadataFetcher(client: client, retry: .none, sleep: self.sleep)
        let headers = [(Self.tokenTTLHeader, String(self.tokenTTLSeconds))]
        guard let text = try? fetcher.text(method: "PUT", path: Self.tokenPath, headers: headers) else {
            return nil
        }
        let token = text.trimming(" \t\r\n")
        // A token with line breaks or nothing in it cannot be sent back as a header value.
        if token.isEmpty || token.contains(where: \.isNewline) { return nil }
        return token
    }

    private static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }
}

extension String {
    /// Without leading and trailing characters from `set`.
    fileprivate func trimming(_ set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
