import Foundation
import Logging
import SriovAPI

@testable import SriovHost

/// A simulated host in a fresh temporary directory, removed when the test ends.
final class TestHost {
    let root: String
    let sysfs: SimulatedSysFS
    let links: SimulatedLinkControl

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    init(profile: HostProfile) throws {
        self.root =
            FileManager.default.temporaryDirectory.appendingPathComponent("sriov-host-\(UUID().uuidString)").path
        try SimulatedHost.create(profile: profile, at: self.root)
        self.sysfs = try SimulatedSysFS(root: self.root)
        self.links = SimulatedLinkControl(sysfs: self.sysfs)
    }

    convenience init(profileNamed name: String) throws {
        let path = Self.repositoryRoot.appendingPathComponent("hosts/profiles/\(name).yaml").path
        try self.init(profile: try SimulatedHost.loadProfile(file: path))
    }

    deinit { try? FileManager.default.removeItem(atPath: self.root) }

    var discovery: HostDiscovery {
        HostDiscovery(sysfs: self.sysfs, links: self.links, driverRetries: 1, retryPause: .zero)
    }

    func configurator(isVirtual: Bool = false) -> HostConfigurator {
        HostConfigurator(
            sysfs: self.sysfs,
            links: self.links,
            modules: SimulatedKernelModules(sysfs: self.sysfs),
            discovery: self.discovery,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            isVirtual: isVirtual
        )
    }

    func interfaces() throws -> [SriovNetworkNodeState.InterfaceExt] {
        try self.discovery.discover().interfaces
    }

    func interface(_ name: String) throws -> SriovNetworkNodeState.InterfaceExt? {
        try self.interfaces().first { $0.name == name }
    }
}

extension HostProfile {
    /// One NIC with `ports` ports; the knobs tests vary.
    static func single(
        vendor: String = "8086",
        device: String = "159b",
        vfDevice: String = "1889",
        driver: String = "ice",
        vfDriver: String = "iavf",
        totalVfs: Int = 8,
        ports: [HostProfile.Port],
        switchdev: Bool = false,
        linkType: String = "",
        autoprobe: Bool? = nil,
        iommu: Bool? = nil,
        cmdline: String = "BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt"
    ) -> HostProfile {
        let nic = HostProfile.NIC(
            vendor: vendor,
            device: device,
            vfDevice: vfDevice,
            driver: driver,
            vfDriver: vfDriver,
            totalVfs: totalVfs,
            iommu: iommu,
            linkType: linkType,
            switchdev: switchdev,
            autoprobe: autoprobe,
            ports: ports
        )
        let profile = HostProfile(name: "test", nics: [nic], cmdline: cmdline)
        return profile
    }
}

extension HostProfile.Port {
    static func port(_ pci: String, _ name: String, numVfs: Int = 0, altNames: [String] = []) -> HostProfile.Port {
        HostProfile.Port(pciAddress: pci, name: name, altNames: altNames, numVfs: numVfs)
    }
}
