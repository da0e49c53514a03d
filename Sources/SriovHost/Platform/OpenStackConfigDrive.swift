/// An OpenStack config drive that is already mounted (or copied) at `directory`.
///
/// Reads `openstack/2018-08-27/meta_data.json` and `network_data.json`; when the versioned directory
/// lacks a document, `openstack/latest/` is used instead (a drive always carries `latest`). Each document
/// is limited to ``sizeLimit`` bytes.
///
/// Upstream: pkg/platform/openstack/openstack.go `getOpenstackDataFromConfigDrive`.
public struct OpenStackConfigDrive: MetadataSource {
    public var directory: String
    /// The largest document accepted, in bytes.
    public var sizeLimit: Int

    public init(directory: String, sizeLimit: Int = 1 << 20) {
        self.directory = directory
        self.sizeLimit = sizeLimit
    }

    public var sourceDescription: String { "config drive \(self.directory)" }

    /// Reads and decodes both documents.
    ///
    /// - Throws: ``HostError`` `.notFound` naming the paths tried when a document is in neither the
    ///   versioned nor the `latest` directory; `.metadata` for oversized or malformed documents (the error
    ///   names the file and field); an I/O error with the path otherwise.
    public func fetchMetadata() throws(HostError) -> OpenStackMetadata {
        let (metaPath, metaBytes) = try self.read(OpenStackMetadata.metaDataFile)
        let meta = try OpenStackMetadata.decodeMetaData(metaBytes, source: metaPath)
        let (networkPath, networkBytes) = try self.read(OpenStackMetadata.networkDataFile)
        let network = try OpenStackMetadata.decodeNetworkData(networkBytes, source: networkPath)
        return OpenStackMetadata(metaData: meta, networkData: network)
    }

    /// The paths tried for `file`, in order.
    func candidates(_ file: String) -> [String] {
        let base = self.directory.hasSuffix("/") ? String(self.directory.dropLast()) : self.directory
        return [
            "\(base)/openstack/\(OpenStackMetadata.version)/\(file)",
            "\(base)/openstack/latest/\(file)",
        ]
    }

    private func read(_ file: String) throws(HostError) -> (path: String, bytes: [UInt8]) {
        let paths = self.candidates(file)
        for path in paths {
            if let bytes = try MetadataDocument.readFile(path, limit: self.sizeLimit, step: "read \(file)") {
                return (path, bytes)
            }
        }
        throw HostError(
            code: .notFound,
            message: "\(file) not found on the config drive (tried \(paths.joined(separator: ", ")))",
            path: self.directory,
            step: "read \(file)"
        )
    }
}
