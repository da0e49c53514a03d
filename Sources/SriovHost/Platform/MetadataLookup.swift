/// Somewhere a virtual platform's metadata can be read from: a config drive, a metadata service.
///
/// Implementations block the calling thread (file reads, `mount`, HTTP with a timeout); call them from
/// a thread outside the cooperative pool, as the daemon does at start-up.
public protocol MetadataSource<Metadata>: Sendable {
    associatedtype Metadata: Sendable

    /// Says where the metadata comes from, for errors and logs: `config drive /dev/sr0`,
    /// `metadata service http://169.254.169.254`.
    var sourceDescription: String { get }

    /// Reads the metadata.
    /// - Throws: ``HostError``; `.notFound` when this source does not exist on the machine.
    func fetchMetadata() throws(HostError) -> Metadata
}

/// Tries metadata sources in order and returns the first that works.
///
/// For OpenStack upstream tries the config drive and falls back to the Nova metadata service
/// (``openStack(root:service:)``). When every source fails the error lists each source with its error,
/// so the user sees both why the config drive was unusable and why the service did not answer.
///
/// Upstream: pkg/platform/openstack/openstack.go `getOpenstackData` — config drive first, then the
/// metadata service.
public struct MetadataLookup<Metadata: Sendable>: Sendable {
    public var sources: [any MetadataSource<Metadata>]

    public init(sources: [any MetadataSource<Metadata>]) {
        self.sources = sources
    }

    /// What a lookup found, and where.
    public struct Found: Sendable {
        public var metadata: Metadata
        public var sourceDescription: String
        /// The sources tried before the one that worked, with their errors, in order (for a warning).
        public var skipped: [(sourceDescription: String, error: HostError)]
    }

    /// Returns the metadata of the first source that succeeds.
    ///
    /// - Throws: ``HostError`` `.metadata` listing every source and its error when all fail (or when no
    ///   source is configured).
    public func fetch() throws(HostError) -> Found {
        var failures: [(sourceDescription: String, error: HostError)] = []
        for source in self.sources {
            do {
                let metadata = try source.fetchMetadata()
                return Found(
                    metadata: metadata,
                    sourceDescription: source.sourceDescription,
                    skipped: failures
                )
            } catch {
                failures.append((sourceDescription: source.sourceDescription, error: error))
            }
        }
        if failures.isEmpty {
            throw HostError(code: .metadata, message: "no metadata source configured", step: "read platform metadata")
        }
        let details = failures.map { "\($0.sourceDescription): \($0.error)" }.joined(separator: "; ")
        throw HostError(
            code: .metadata,
            message: "no metadata source worked (\(failures.count) tried): \(details)",
            step: "read platform metadata"
        )
    }
}

extension MetadataLookup where Metadata == OpenStackMetadata {
    /// Upstream's order: the config drive labelled `config-2` (mounted read-only for the read), then the
    /// Nova metadata service.
    ///
    /// - Parameters:
    ///   - root: where the host's `/` is (`/host` in the daemon pod); the config drive is looked up under it.
    ///   - service: the metadata service to fall back to.
    public static func openStack(
        root: String = "/",
        service: OpenStackMetadataService = OpenStackMetadataService()
    ) -> MetadataLookup<OpenStackMetadata> {
        MetadataLookup(sources: [ConfigDriveMounter(root: root), service])
    }
}
