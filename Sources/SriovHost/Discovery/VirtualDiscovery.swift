public import SriovAPI

/// Discovery on OpenStack/AWS VMs: each passthrough NIC becomes a "PF" with one VF (itself), and its
/// `netFilter` comes from the platform's metadata by MAC (reference §5).
///
/// When the metadata cannot be read the NICs are still reported, without netFilter, and the problem is
/// returned in ``Result/warnings`` (a malformed metadata document must not stop discovery).
public struct VirtualDiscovery: Sendable {
    public var base: HostDiscovery
    /// Produces the PCI → netFilter mapping for the NICs found; throws when metadata is unavailable.
    public var netFilters: @Sendable ([GuestNIC]) throws(HostError) -> PlatformNetFilters

    /// The status saved before the first change (``PlatformCheckpoint``): a device bound to vfio-pci has
    /// no netdev and no readable MAC any more, so it is reported from here, with its current driver.
    public var checkpoint: [SriovNetworkNodeState.InterfaceExt]?

    public init(
        base: HostDiscovery,
        checkpoint: [SriovNetworkNodeState.InterfaceExt]? = nil,
        netFilters: @escaping @Sendable ([GuestNIC]) throws(HostError) -> PlatformNetFilters
    ) {
        self.base = base
        self.checkpoint = checkpoint
        self.netFilters = netFilters
    }

    public struct Result: Sendable {
        public var interfaces: [SriovNetworkNodeState.InterfaceExt]
        public var warnings: [String]
    }

    public func discover() throws(HostError) -> Result {
        var plain = self.base
        plain.supportedModels = nil  // no model filter on virtual platforms
        var found = try plain.discover().interfaces
        for saved in self.checkpoint ?? [] where !found.contains(where: { $0.pciAddress == saved.pciAddress }) {
            guard let address = try? PCIAddress(saved.pciAddress), plain.sysfs.exists(address.sysfsPath) else {
                continue
            }
            var restored = saved
            restored.driver = (try? plain.sysfs.linkBasename(address.sysfsPath + "/driver")) ?? ""
            restored.netFilter = ""
            found.append(restored)
        }
        found.sort { $0.pciAddress < $1.pciAddress }
        var warnings: [String] = []
        var mapping = PlatformNetFilters()
        do {
            mapping = try self.netFilters(found.map { GuestNIC(pciAddress: $0.pciAddress, mac: $0.mac) })
            warnings += mapping.warnings
        } catch {
            warnings.append("platform metadata unavailable, no netFilter reported: \(error)")
        }
        let saved = PlatformNetFilters(checkpoint: self.checkpoint ?? [])
        let interfaces = found.map { iface -> SriovNetworkNodeState.InterfaceExt in
            var result = iface
            result.netFilter = mapping.netFilters[iface.pciAddress] ?? saved.netFilters[iface.pciAddress] ?? ""
            result.totalvfs = 1
            result.numVfs = 1
            result.eSwitchMode = ""
            result.Vfs = [
                SriovNetworkNodeState.VirtualFunction(
                    name: iface.name,
                    mac: iface.mac,
                    driver: iface.driver,
                    pciAddress: iface.pciAddress,
                    vendor: iface.vendor,
                    deviceID: iface.deviceID,
                    mtu: iface.mtu,
                    vfID: 0
                )
            ]
            return result
        }
        return Result(interfaces: interfaces, warnings: warnings)
    }
}
