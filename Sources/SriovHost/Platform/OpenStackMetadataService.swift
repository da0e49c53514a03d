/// The Nova metadata service: `GET <baseURL>/openstack/2018-08-27/meta_data.json` and
/// `…/network_data.json`.
///
/// Each request has its own deadline (``timeout``) and is retried per ``retry`` (connection failures,
/// timeouts, 429 and 5xx; never 404). The service is plain HTTP on a link-local address; no proxy is
/// used. Documents above ``sizeLimit`` bytes are refused.
///
/// Upstream: pkg/platform/openstack/openstack.go `getOpenstackDataFromMetadataService`.
public struct OpenStackMetadataService: MetadataSource {
    public var baseURL: String
    public var timeout: Duration
    public var retry: MetadataRetryPolicy
    public var sizeLimit: Int
    private let sleep: MetadataRetryPolicy.Sleeper

    /// - Parameters:
    ///   - baseURL: `http://host[:port][/prefix]`; Nova's link-local address by default.
    ///   - timeout: the deadline of one attempt (connect, send and the whole response).
    ///   - retry: when and how long to wait before another attempt.
    ///   - sizeLimit: the largest document accepted, in bytes.
    ///   - sleep: how to wait between attempts (tests record instead of sleeping).
    public init(
        baseURL: String = "http://169.254.169.254",
        timeout: Duration = .seconds(10),
        retry: MetadataRetryPolicy = .upstream,
        sizeLimit: Int = 1 << 20,
        sleep: @escaping MetadataRetryPolicy.Sleeper = MetadataRetryPolicy.threadSleep
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.retry = retry
        self.sizeLimit = sizeLimit
        self.sleep = sleep
    }

    public var sourceDescription: String { "metadata service \(self.baseURL)" }

    /// The request path of `file`.
    public static func path(_ file: String) -> String {
        "/openstack/\(OpenStackMetadata.version)/\(file)"
    }

    /// Fetches and decodes both documents.
    ///
    /// - Throws: ``HostError``: `.invalidArgument` for a bad `baseURL`; `.notFound` for 404; `.timeout` or
    ///   `.io` when the service does not answer (after the retries); `.metadata` for other statuses, bad
    ///   JSON (naming the document and field) or oversized bodies. The error's `path` is the URL.
    public func fetchMetadata() throws(HostError) -> OpenStackMetadata {
        let fetcher = MetadataFetcher(
            client: MetadataHTTPClient(
                endpoint: try MetadataHTTPEndpoint(parsing: self.baseURL),
                timeout: self.timeout,
                bodyLimit: self.sizeLimit
            ),
            retry: self.retry,
            sleep: self.sleep
        )
        let metaPath = Self.path(OpenStackMetadata.metaDataFile)
        let meta = try OpenStackMetadata.decodeMetaData(
            try fetcher.body(path: metaPath),
            source: fetcher.client.endpoint.url(metaPath)
        )
        let networkPath = Self.path(OpenStackMetadata.networkDataFile)
        let network = try OpenStackMetadata.decodeNetworkData(
            try fetcher.body(path: networkPath),
            source: fetcher.client.endpoint.url(networkPath)
        )
        return OpenStackMetadata(metaData: meta, networkData: network)
    }
}
