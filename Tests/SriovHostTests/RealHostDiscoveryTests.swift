import Foundation
import SriovAPI
import Testing

@testable import SriovHost

/// Discovery against this machine's real sysfs and rtnetlink: whatever NIC it has (a virtio NIC on these
/// VMs) must be reported with the MTU and MAC the kernel gives `ip`.
@Suite("Discovery on the real host")
struct RealHostDiscoveryTests {
    static var hasPCINetworkDevice: Bool {
        let fs = LinuxSysFS()
        let devices = (try? fs.list("/sys/bus/pci/devices")) ?? []
        return devices.contains { fs.readIfPresent("/sys/bus/pci/devices/\($0)/class")?.hasPrefix("0x02") == true }
    }

    @Test(
        "every discovered NIC matches `ip -j link` (name, MTU, MAC, admin state)",
        .enabled(if: Self.hasPCINetworkDevice)
    )
    func matchesIP() throws {
        let discovery = HostDiscovery(sysfs: LinuxSysFS(), links: RTNetlinkLinkControl(), devMode: true)
        let interfaces = try discovery.discover().interfaces
        #expect(!interfaces.isEmpty)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "-j", "link", "show"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let links = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        for iface in interfaces {
            let link = try #require(
                links.first { $0["ifname"] as? String == iface.name },
                "ip does not know \(iface.name)"
            )
            #expect(link["mtu"] as? Int == iface.mtu)
            #expect(link["address"] as? String == iface.mac)
            let flags = link["flags"] as? [String] ?? []
            #expect(flags.contains("UP") == (iface.linkAdminState == "up"))
            #expect(iface.driver.isEmpty == false)
        }
    }
}
