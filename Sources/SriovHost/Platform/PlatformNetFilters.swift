public import SriovAPI

/// A network device of the guest as discovery sees it: its PCI address and current MAC.
public struct GuestNIC: Sendable, Hashable {
    public var pciAddress: String
    public var mac: String

    public init(pciAddress: String, mac: String) {
        self.pciAddress = pciAddress
        self.mac = mac
    }
}

/// The devices a virtual platform knows about, keyed by PCI address, with the `netFilter` that policies
/// select them by (`openstack/NetworkID:<uuid>`, `aws/NetworkID:<subnet-id>`).
///
/// Only devices in ``netFilters`` are reported by virtual discovery. Problems that do not stop the
/// mapping (duplicate MACs, a tagged device with no network) are returned in ``warnings`` for the caller
/// to log or put on the NodeState, not logged here.
public struct PlatformNetFilters: Sendable, Hashable {
    /// PCI address → netFilter.
    public var netFilters: [String: String]
    /// PCI address → the MAC the device was matched by (lower case).
    public var macAddresses: [String: String]
    public var warnings: [String]

    public static let openStackPrefix = "openstack/NetworkID:"
    public static let awsPrefix = "aws/NetworkID:"

    public init(netFilters: [String: String] = [:], macAddresses: [String: String] = [:], warnings: [String] = []) {
        self.netFilters = netFilters
        self.macAddresses = macAddresses
        self.warnings = warnings
    }
}

extension PlatformNetFilters {
    /// Maps OpenStack metadata onto the guest's NICs.
    ///
    /// 1. Each `meta_data.json` device with a MAC is a tagged NIC. Its `address` is only Nova's guess of
    ///    the guest PCI address (libvirt and q35 renumber buses), so it is replaced by the address of the
    ///    guest NIC with the same MAC. If several guest NICs (or several devices) share that MAC the
    ///    address is kept as Nova wrote it and a warning is returned; with no such NIC (for example one
    ///    bound to vfio-pci, which has no MAC to read) it is kept silently.
    /// 2. The device's network: the link with `ethernet_mac_address == mac`, then the network with
    ///    `link == link.id` ⇒ `openstack/NetworkID:<network_id>`.
    /// 3. Guest NICs not covered by a device (vhost-user and virtio ports are not tagged) are matched by
    ///    MAC only against the links, with no check of the link type.
    ///
    /// MACs are compared case-insensitively (upstream compares strings; Nova and the kernel both write
    /// lower case, so the results agree).
    ///
    /// Upstream: pkg/platform/openstack/openstack.go `CreateOpenstackDevicesInfo`.
    public init(openStack metadata: OpenStackMetadata, nics: [GuestNIC]) {
        self.init()
        let index = OpenStackNetworkIndex(metadata.networkData)
        var guestPCIsByMAC: [String: [String]] = [:]
        for nic in nics {
            let mac = Self.normalizedMAC(nic.mac)
            if !mac.isEmpty { guestPCIsByMAC[mac, default: []].append(nic.pciAddress) }
        }
        let devices = (metadata.metaData.devices ?? []).filter { !Self.normalizedMAC($0.mac ?? "").isEmpty }
        var devicesByMAC: [String: Int] = [:]
        for device in devices { devicesByMAC[Self.normalizedMAC(device.mac ?? ""), default: 0] += 1 }

        for device in devices {
            let mac = Self.normalizedMAC(device.mac ?? "")
            var pci = device.address ?? ""
            let guests = guestPCIsByMAC[mac] ?? []
            if (devicesByMAC[mac] ?? 0) > 1 {
                self.warnings.append(
                    "meta_data.json: \(devicesByMAC[mac] ?? 0) devices have MAC \(mac); keeping their "
                        + "addresses as given (\(pci.isEmpty ? "none" : pci)) instead of matching guest NICs"
                )
            } else if guests.count > 1 {
                self.warnings.append(
                    "guest NICs \(guests.joined(separator: ", ")) share MAC \(mac); keeping the meta_data.json "
                        + "address \(pci.isEmpty ? "(none)" : pci) for that device"
                )
            } else if let guest = guests.first {
                pci = guest
            }
            guard !pci.isEmpty else {
                self.warnings.append("meta_data.json: device with MAC \(mac) has no PCI address and no guest NIC")
                continue
            }
            guard let networkID = index.networkID(mac: mac, warnings: &self.warnings) else {
                self.warnings.append("meta_data.json: device \(pci) (MAC \(mac)) has no network in network_data.json")
                continue
            }
            self.add(pci: pci, mac: mac, netFilter: Self.openStackPrefix + networkID)
        }

        for nic in nics where self.netFilters[nic.pciAddress] == nil {
            let mac = Self.normalizedMAC(nic.mac)
            guard !mac.isEmpty, let networkID = index.networkID(mac: mac, warnings: &self.warnings) else { continue }
            self.add(pci: nic.pciAddress, mac: mac, netFilter: Self.openStackPrefix + networkID)
        }
    }

    /// The same, for callers holding `(pciAddress:mac:)` pairs.
    public init(openStack metadata: OpenStackMetadata, nics: [(pciAddress: String, mac: String)]) {
        self.init(openStack: metadata, nics: nics.map { GuestNIC(pciAddress: $0.pciAddress, mac: $0.mac) })
    }

    /// Maps EC2 metadata onto the guest's NICs: a NIC whose MAC has a subnet gets
    /// `aws/NetworkID:<subnet-id>`.
    ///
    /// Upstream: pkg/platform/aws/aws.go `CreateDevicesInfo`.
    public init(aws metadata: AWSMetadata, nics: [GuestNIC]) {
        self.init()
        for nic in nics {
            let mac = Self.normalizedMAC(nic.mac)
            guard !mac.isEmpty, let subnet = metadata.subnetIDs[mac], !subnet.isEmpty else { continue }
            self.add(pci: nic.pciAddress, mac: mac, netFilter: Self.awsPrefix + subnet)
        }
    }

    /// The same, for callers holding `(pciAddress:mac:)` pairs.
    public init(aws metadata: AWSMetadata, nics: [(pciAddress: String, mac: String)]) {
        self.init(aws: metadata, nics: nics.map { GuestNIC(pciAddress: $0.pciAddress, mac: $0.mac) })
    }

    /// Rebuilds the mapping from a checkpoint of the first discovery (see ``PlatformCheckpoint``), which
    /// still knows the MAC of devices since bound to vfio-pci. Every saved interface is included, with
    /// its saved netFilter (possibly empty), as upstream does.
    ///
    /// Upstream: pkg/platform/openstack/openstack.go `CreateOpenstackDevicesInfoFromNodeStatus`.
    public init(checkpoint interfaces: [SriovNetworkNodeState.InterfaceExt]) {
        self.init()
        for interface in interfaces where !interface.pciAddress.isEmpty {
            self.netFilters[interface.pciAddress] = interface.netFilter
            self.macAddresses[interface.pciAddress] = Self.normalizedMAC(interface.mac)
        }
    }

    private mutating func add(pci: String, mac: String, netFilter: String) {
        if let existing = self.netFilters[pci] {
            if existing != netFilter {
                self.warnings.append(
                    "device \(pci) matches both \(existing) and \(netFilter) (MAC \(mac)); keeping \(existing)"
                )
            }
            return
        }
        self.netFilters[pci] = netFilter
        self.macAddresses[pci] = mac
    }

    static func normalizedMAC(_ mac: String) -> String {
        var text = Substring(mac)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text.lowercased()
    }
}

/// `network_data.json` indexed by MAC: MAC → link ids, link id → network ids, in document order.
private struct OpenStackNetworkIndex {
    var linksByMAC: [String: [String]] = [:]
    var networksByLink: [String: [String]] = [:]

    init(_ data: OpenStackMetadata.NetworkData) {
        for link in data.links ?? [] {
            let mac = PlatformNetFilters.normalizedMAC(link.ethernet_mac_address ?? "")
            guard !mac.isEmpty, let id = link.id, !id.isEmpty else { continue }
            self.linksByMAC[mac, default: []].append(id)
        }
        for network in data.networks ?? [] {
            guard let link = network.link, let id = network.network_id, !id.isEmpty else { continue }
            self.networksByLink[link, default: []].append(id)
        }
    }

    /// The network id for a MAC. When the MAC leads to several different ids the first is used and a
    /// warning is added (upstream silently keeps the last).
    func networkID(mac: String, warnings: inout [String]) -> String? {
        var ids: [String] = []
        for link in self.linksByMAC[mac] ?? [] {
            for id in self.networksByLink[link] ?? [] where !ids.contains(id) { ids.append(id) }
        }
        if ids.count > 1 {
            warnings.append(
                "network_data.json: MAC \(mac) is on networks \(ids.joined(separator: ", ")); using \(ids[0])"
            )
        }
        return ids.first
    }
}
