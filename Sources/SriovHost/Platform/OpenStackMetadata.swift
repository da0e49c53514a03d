/// The two OpenStack metadata documents the virtual platform needs: `meta_data.json` (the instance and
/// its tagged devices) and `network_data.json` (links and the Neutron networks on them).
///
/// Decoding is tolerant in the way upstream's Go structs are: unknown fields are ignored, absent or
/// `null` fields read as empty. A field with the wrong JSON type is an error that names the document and
/// the field (`network_data.json: links[1].mtu: …`).
///
/// Upstream: pkg/platform/openstack/openstack.go `OSPMetaData`, `OSPNetworkData`.
public struct OpenStackMetadata: Sendable, Hashable {
    public var metaData: MetaData
    public var networkData: NetworkData

    public init(metaData: MetaData, networkData: NetworkData) {
        self.metaData = metaData
        self.networkData = networkData
    }

    /// The metadata version upstream reads; `latest` is the fallback on a config drive.
    public static let version = "2018-08-27"
    public static let metaDataFile = "meta_data.json"
    public static let networkDataFile = "network_data.json"

    /// `meta_data.json`.
    public struct MetaData: Codable, Sendable, Hashable {
        public var uuid: String?
        public var devices: [Device]?

        public init(uuid: String? = nil, devices: [Device]? = nil) {
            self.uuid = uuid
            self.devices = devices
        }
    }

    /// `meta_data.json` `devices[]`: a tagged device; for a NIC `address` is Nova's guess of the guest
    /// PCI address (only a hint, see ``PlatformNetFilters``).
    public struct Device: Codable, Sendable, Hashable {
        public var type: String?
        public var bus: String?
        public var address: String?
        public var mac: String?
        public var vlan: Int?
        public var vf_trusted: Bool?
        public var tags: [String]?

        public init(
            type: String? = nil,
            bus: String? = nil,
            address: String? = nil,
            mac: String? = nil,
            vlan: Int? = nil,
            vf_trusted: Bool? = nil,
            tags: [String]? = nil
        ) {
            self.type = type
            self.bus = bus
            self.address = address
            self.mac = mac
            self.vlan = vlan
            self.vf_trusted = vf_trusted
            self.tags = tags
        }
    }

    /// `network_data.json`.
    public struct NetworkData: Codable, Sendable, Hashable {
        public var links: [Link]?
        public var networks: [Network]?

        public init(links: [Link]? = nil, networks: [Network]? = nil) {
            self.links = links
            self.networks = networks
        }
    }

    /// `network_data.json` `links[]`: a guest interface (`type` is `phy`, `vif`, `ovs`, `vhostuser`, …).
    public struct Link: Codable, Sendable, Hashable {
        public var id: String?
        public var type: String?
        public var ethernet_mac_address: String?
        public var mtu: Int?
        public var vif_id: String?

        public init(
            id: String? = nil,
            type: String? = nil,
            ethernet_mac_address: String? = nil,
            mtu: Int? = nil,
            vif_id: String? = nil
        ) {
            self.id = id
            self.type = type
            self.ethernet_mac_address = ethernet_mac_address
            self.mtu = mtu
            self.vif_id = vif_id
        }
    }

    /// `network_data.json` `networks[]`: a Neutron network attached to `link`.
    public struct Network: Codable, Sendable, Hashable {
        public var id: String?
        public var type: String?
        public var link: String?
        public var network_id: String?

        public init(id: String? = nil, type: String? = nil, link: String? = nil, network_id: String? = nil) {
            self.id = id
            self.type = type
            self.link = link
            self.network_id = network_id
        }
    }
}

extension OpenStackMetadata {
    /// Decodes both documents.
    ///
    /// - Parameters:
    ///   - metaData: the bytes of `meta_data.json`.
    ///   - networkData: the bytes of `network_data.json`.
    ///   - source: where they came from (a directory or a URL), put in the error's `path`.
    /// - Throws: ``HostError`` `.metadata` naming the document and the field when a value has the wrong type
    ///   or the text is not JSON.
    public static func decode(
        metaData: [UInt8],
        networkData: [UInt8],
        source: String
    ) throws(HostError) -> OpenStackMetadata {
        let meta = try Self.decodeMetaData(metaData, source: source)
        let network = try Self.decodeNetworkData(networkData, source: source)
        return OpenStackMetadata(metaData: meta, networkData: network)
    }

    /// Decodes `meta_data.json` alone.
    public static func decodeMetaData(_ bytes: [UInt8], source: String) throws(HostError) -> MetaData {
        try MetadataDocument.decode(
            MetaData.self,
            from: bytes,
            document: Self.metaDataFile,
            source: source,
            step: "decode OpenStack metadata"
        )
    }

    /// Decodes `network_data.json` alone.
    public static func decodeNetworkData(_ bytes: [UInt8], source: String) throws(HostError) -> NetworkData {
        try MetadataDocument.decode(
            NetworkData.self,
            from: bytes,
            document: Self.networkDataFile,
            source: source,
            step: "decode OpenStack metadata"
        )
    }
}
