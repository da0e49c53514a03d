import KubeCore
public import SriovAPI

/// The per-PF record of what was last applied, `/etc/sriov-operator/pci/<pci>`: the spec Interface as
/// JSON (upstream's format). Its presence means "the operator configured this PF", which is what allows a
/// later reset; `externallyManaged` in it is reported back in discovery.
public struct AppliedState: Sendable {
    public static let directory = "/etc/sriov-operator/pci"
    let sysfs: any SysFS

    public init(sysfs: any SysFS) { self.sysfs = sysfs }

    public func path(_ device: PCIAddress) -> String { "\(Self.directory)/\(device.rawValue)" }

    /// nil when absent or unreadable (a corrupt record counts as absent; the next apply rewrites it).
    public func load(_ device: PCIAddress) -> SriovNetworkNodeState.Interface? {
        guard let text = self.sysfs.readIfPresent(self.path(device)),
            let value = try? ManifestReader.parse(text, file: self.path(device)).first?.value
        else { return nil }
        return try? ValueDecoder().decode(SriovNetworkNodeState.Interface.self, from: value)
    }

    public func save(_ interface: SriovNetworkNodeState.Interface, for device: PCIAddress) throws(HostError) {
        let json: String
        do {
            json = GoJSON.encode(try ValueEncoder().encode(interface))
        } catch {
            throw HostError(code: .io, message: "cannot encode applied state: \(error)", path: self.path(device))
        }
        try self.sysfs.createFile(self.path(device), json + "\n")
    }

    public func remove(_ device: PCIAddress) throws(HostError) {
        try self.sysfs.remove(self.path(device))
    }

    /// PCI addresses that have a record.
    public func recorded() -> [PCIAddress] {
        ((try? self.sysfs.list(Self.directory)) ?? []).compactMap { try? PCIAddress($0) }
    }
}
