import Foundation
import Logging
import SriovAPI
import Testing

@testable import SriovHost

@Suite("Virtual nodes (OpenStack): discovery through the config drive, apply with vfio no-IOMMU")
struct VirtualHostTests {
    func virtualDiscovery(_ host: TestHost, checkpoint: [SriovNetworkNodeState.InterfaceExt]? = nil) -> VirtualDiscovery
    {
        let drive = OpenStackConfigDrive(directory: host.root + "/config-drive")
        return VirtualDiscovery(base: host.discovery, checkpoint: checkpoint) { nics throws(HostError) in
            PlatformNetFilters(openStack: try drive.fetchMetadata(), nics: nics)
        }
    }

    func configurator(_ host: TestHost) -> HostConfigurator {
        var configurator = host.configurator(isVirtual: true)
        let root = host.root
        let base = host.discovery
        configurator.discover = { () throws(HostError) in
            let checkpoint = try PlatformCheckpoint(path: root + "/tmp/sno-initial-node-state.json").load()
            let drive = OpenStackConfigDrive(directory: root + "/config-drive")
            return try VirtualDiscovery(base: base, checkpoint: checkpoint) { nics throws(HostError) in
                PlatformNetFilters(openStack: try drive.fetchMetadata(), nics: nics)
            }.discover().interfaces
        }
        return configurator
    }

    @Test("each passthrough NIC is a PF with one VF (itself) and the netFilter of its Neutron network")
    func discovery() throws {
        let host = try TestHost(profileNamed: "openstack-vm")
        let result = try self.virtualDiscovery(host).discover()
        #expect(result.warnings.isEmpty)
        let ens5 = try #require(result.interfaces.first { $0.name == "ens5" })
        #expect(ens5.netFilter == "openstack/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90")
        #expect(ens5.totalvfs == 1)
        #expect(ens5.numVfs == 1)
        #expect(
            ens5.Vfs == [
                .init(
                    name: "ens5",
                    mac: "fa:16:3e:7a:10:02",
                    driver: "iavf",
                    pciAddress: "0000:00:05.0",
                    vendor: "8086",
                    deviceID: "154c",
                    mtu: 9000,
                    vfID: 0
                )
            ]
        )
        // The virtio NIC is matched by MAC only.
        #expect(
            result.interfaces.first { $0.name == "ens3" }?.netFilter
                == "openstack/NetworkID:0f3c9a71-5d2e-4b8a-a6c1-9e7d5b3a1c02"
        )
    }

    @Test("malformed metadata: NICs are still reported, without netFilter, with a warning")
    func badMetadata() throws {
        let host = try TestHost(profileNamed: "openstack-vm")
        try host.sysfs.createFile("/config-drive/openstack/2018-08-27/network_data.json", "{ not json")
        let result = try self.virtualDiscovery(host).discover()
        #expect(result.interfaces.count == 3)
        #expect(result.interfaces.allSatisfy { $0.netFilter.isEmpty })
        #expect(result.warnings.first?.contains("network_data.json") == true)
    }

    @Test("vfio-pci: loads vfio in no-IOMMU mode, binds the device, keeps it discoverable through the checkpoint")
    func applyVfio() throws {
        let host = try TestHost(profileNamed: "openstack-vm")
        let spec = SriovNetworkNodeState.Spec(interfaces: [
            .init(
                pciAddress: "0000:00:05.0",
                numVfs: 1,
                name: "ens5",
                vfGroups: [
                    .init(resourceName: "physnet1", deviceType: "vfio-pci", vfRange: "0-0", policyName: "p")
                ]
            )
        ])
        let configurator = self.configurator(host)
        let plan = try configurator.plan(spec: spec)
        #expect(
            plan.steps.map(\.description) == [
                "load kernel module vfio enable_unsafe_noiommu_mode=1",
                "load kernel module vfio_pci",
                "ens5 (0000:00:05.0): VFs 0-0 → vfio-pci (resource physnet1)",
                "record applied state /etc/sriov-operator/pci/0000:00:05.0",
            ]
        )
        #expect(!plan.disruption.needsDrain && !plan.disruption.needsReboot)
        try configurator.apply(spec: spec)
        #expect(try host.sysfs.read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode") == "1")
        #expect(try host.sysfs.linkBasename("/sys/bus/pci/devices/0000:00:05.0/driver") == "vfio-pci")
        let status = try configurator.discover()
        #expect(
            status.first { $0.pciAddress == "0000:00:05.0" }?.netFilter
                == "openstack/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"
        )
        #expect(try configurator.plan(spec: spec).steps.isEmpty)
        // Reset gives the device back to its kernel driver.
        try configurator.apply(spec: .init())
        #expect(try host.sysfs.linkBasename("/sys/bus/pci/devices/0000:00:05.0/driver") == "iavf")
        #expect(host.sysfs.exists("/sys/class/net/ens5"))
    }

    @Test("more than one VF on a virtual device is refused")
    func oneVF() throws {
        let host = try TestHost(profileNamed: "openstack-vm")
        let spec = SriovNetworkNodeState.Spec(interfaces: [
            .init(
                pciAddress: "0000:00:05.0",
                numVfs: 2,
                name: "ens5",
                vfGroups: [.init(deviceType: "netdevice", vfRange: "0-1")]
            )
        ])
        #expect {
            try self.configurator(host).plan(spec: spec)
        } throws: { "\($0)".contains("exactly one VF group containing VF 0 and numVfs ≤ 1") }
    }
}
