import Foundation
import SriovAPI
import Testing

@testable import SriovHost

@Suite("Discovery into NodeState status")
struct DiscoveryTests {
    @Test("Intel E810 profile: PFs with driver, MAC, MTU, speed, altnames, totalvfs; the I350 too")
    func intel() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        let interfaces = try host.interfaces()
        #expect(interfaces.map(\.name) == ["eno1", "ens1f0", "ens1f1"])
        let f0 = try #require(interfaces.first { $0.name == "ens1f0" })
        #expect(f0.pciAddress == "0000:3b:00.0")
        #expect(f0.vendor == "8086")
        #expect(f0.deviceID == "159b")
        #expect(f0.driver == "ice")
        #expect(f0.mac == "b4:96:91:a5:c7:20")
        #expect(f0.mtu == 1500)
        #expect(f0.linkSpeed == "25000 Mb/s")
        #expect(f0.linkType == "ETH")
        #expect(f0.linkAdminState == "up")
        #expect(f0.totalvfs == 64)
        #expect(f0.numVfs == 0)
        #expect(f0.eSwitchMode == "legacy")
        #expect(f0.altNames == ["enp59s0f0"])
    }

    @Test("VFs: vfID from virtfnN, PCI address, driver, netdev, MAC, MTU, device id")
    func vfs() throws {
        let host = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0", numVfs: 3)]))
        let pf = try #require(try host.interface("ens1f0"))
        #expect(pf.numVfs == 3)
        #expect(pf.Vfs.map(\.vfID) == [0, 1, 2])
        #expect(pf.Vfs.map(\.pciAddress) == ["0000:3b:01.0", "0000:3b:01.1", "0000:3b:01.2"])
        #expect(pf.Vfs.allSatisfy { $0.driver == "iavf" && $0.deviceID == "1889" && $0.vendor == "8086" })
        #expect(pf.Vfs[1].name == "ens1f0v1")
        #expect(pf.Vfs[1].mtu == 1500)
        #expect(!pf.Vfs[1].mac.isEmpty)
    }

    @Test("odd hosts: a PF with no netdev is skipped; VFs without a driver are listed with an empty driver")
    func oddHosts() throws {
        let profile = HostProfile.single(
            ports: [.port("0000:3b:00.0", "ens1f0", numVfs: 2), .port("0000:3b:00.1", "")],
            autoprobe: false
        )
        let host = try TestHost(profile: profile)
        let result = try host.discovery.discover()
        #expect(result.interfaces.map(\.pciAddress) == ["0000:3b:00.0"])
        #expect(result.skipped.contains { $0.pciAddress == "0000:3b:00.1" && $0.reason == "no network interface" })
        #expect(result.interfaces[0].Vfs.map(\.driver) == ["", ""])
        #expect(result.interfaces[0].Vfs.map(\.name) == ["", ""])
    }

    @Test("switchdev: the PF netdev is the uplink (p0) among its representors; VFs get representor names")
    func switchdev() throws {
        let host = try TestHost(profileNamed: "mellanox-cx6dx")
        let pf = try PCIAddress("0000:5e:00.0")
        try host.links.setEswitchMode("switchdev", of: pf)
        try host.sysfs.write(pf.sysfsPath + "/sriov_numvfs", "2")
        let iface = try #require(try host.interfaces().first { $0.pciAddress == pf.rawValue })
        #expect(iface.name == "ens2f0np0")
        #expect(iface.eSwitchMode == "switchdev")
        #expect(iface.Vfs.map(\.representorName) == ["ens2f0np0_0", "ens2f0np0_1"])
        #expect(iface.Vfs.first?.guid == "005a:00ff:fe00:0000")
    }

    @Test("InfiniBand links are reported as IB")
    func infiniband() throws {
        let host = try TestHost(
            profile: .single(
                vendor: "15b3",
                device: "101b",
                vfDevice: "101c",
                driver: "mlx5_core",
                vfDriver: "mlx5_core",
                ports: [.port("0000:d8:00.0", "ibs1")],
                linkType: "IB"
            )
        )
        #expect(try host.interface("ibs1")?.linkType == "IB")
        #expect(try host.interface("ibs1")?.mtu == 2044)
    }

    @Test("unsupported models are skipped unless devMode")
    func supportedModels() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        var discovery = host.discovery
        discovery.supportedModels = [(vendor: "8086", device: "159b")]
        let result = try discovery.discover()
        #expect(result.interfaces.map(\.name) == ["ens1f0", "ens1f1"])
        #expect(
            result.skipped.contains { $0.pciAddress == "0000:01:00.0" && $0.reason == "unsupported model 8086:1521" }
        )
        discovery.devMode = true
        #expect(try discovery.discover().interfaces.count == 3)
    }

    @Test("externallyManaged comes from the applied-state record")
    func externallyManaged() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        let pf = try PCIAddress("0000:3b:00.1")
        try AppliedState(sysfs: host.sysfs).save(
            .init(pciAddress: pf.rawValue, numVfs: 2, externallyManaged: true),
            for: pf
        )
        #expect(try host.interface("ens1f1")?.externallyManaged == true)
        #expect(try host.interface("ens1f0")?.externallyManaged == false)
    }
}
