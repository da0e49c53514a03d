import Foundation
import SriovAPI
import Testing

@testable import SriovHost

#if canImport(Glibc)
import Glibc
#endif

@Suite("Kernel simulator: the sysfs tree behaves like the kernel on our writes")
struct SimulatorTests {
    let profile = HostProfile.single(ports: [.port("0000:3b:00.0", "ens1f0"), .port("0000:3b:00.1", "ens1f1")])

    @Test("the tree has the PCI device layout discovery reads")
    func layout() throws {
        let host = try TestHost(profile: self.profile)
        let fs = host.sysfs
        #expect(try fs.read("/sys/bus/pci/devices/0000:3b:00.0/vendor") == "0x8086")
        #expect(try fs.read("/sys/bus/pci/devices/0000:3b:00.0/class") == "0x020000")
        #expect(try fs.linkBasename("/sys/bus/pci/devices/0000:3b:00.0/driver") == "ice")
        #expect(try fs.read("/sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs") == "8")
        #expect(try fs.read("/sys/class/net/ens1f0/mtu") == "1500")
        #expect(try fs.list("/sys/bus/pci/devices/0000:3b:00.0/net") == ["ens1f0"])
    }

    @Test("writing N to sriov_numvfs creates virtfn links, VF devices and netdevs; 0 removes them")
    func createAndRemoveVFs() throws {
        let host = try TestHost(profile: self.profile)
        let fs = host.sysfs
        try fs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "4")
        let vf0 = try fs.linkBasename("/sys/bus/pci/devices/0000:3b:00.0/virtfn0")
        #expect(vf0 == "0000:3b:01.0")
        #expect(try fs.linkBasename("/sys/bus/pci/devices/0000:3b:00.0/virtfn3") == "0000:3b:01.3")
        #expect(try fs.linkBasename("/sys/bus/pci/devices/\(vf0)/physfn") == "0000:3b:00.0")
        #expect(try fs.read("/sys/bus/pci/devices/\(vf0)/device") == "0x1889")
        #expect(try fs.linkBasename("/sys/bus/pci/devices/\(vf0)/driver") == "iavf")
        #expect(fs.exists("/sys/class/net/ens1f0v0"))
        try fs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "0")
        #expect(!fs.exists("/sys/bus/pci/devices/0000:3b:00.0/virtfn0"))
        #expect(!fs.exists("/sys/bus/pci/devices/\(vf0)"))
        #expect(!fs.exists("/sys/class/net/ens1f0v0"))
        #expect(try fs.read("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs") == "0")
    }

    @Test(
        "kernel errors: non-zero → non-zero is EBUSY, above totalvfs ERANGE, garbage EINVAL",
        arguments: [("2", "3", EBUSY), ("0", "9", ERANGE), ("0", "two", EINVAL)]
    )
    func numVfsErrors(first: String, second: String, errno expected: Int32) throws {
        let host = try TestHost(profile: self.profile)
        let path = "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"
        try host.sysfs.write(path, first)
        #expect {
            try host.sysfs.write(path, second)
        } throws: { error in
            (error as? HostError)?.errno == expected && "\(error)".contains(path)
        }
        #expect(try host.sysfs.read(path) == first)
    }

    @Test("driver_override + drivers_probe rebinds; bind/unbind move the driver link; vfio-pci removes the netdev")
    func driverBinding() throws {
        let host = try TestHost(profile: self.profile)
        let fs = host.sysfs
        try fs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "1")
        let vf = "/sys/bus/pci/devices/0000:3b:01.0"
        #expect {
            try fs.write("/sys/bus/pci/drivers/vfio-pci/bind", "0000:3b:01.0")
        } throws: { ($0 as? HostError)?.errno == EBUSY }
        #expect {
            try fs.write("/sys/bus/pci/drivers/vfio-pci/unbind", "0000:3b:01.0")
        } throws: { ($0 as? HostError)?.errno == ENODEV }
        try fs.write("/sys/bus/pci/drivers/iavf/unbind", "0000:3b:01.0")
        #expect(!fs.exists(vf + "/driver"))
        #expect(!fs.exists("/sys/class/net/ens1f0v0"))
        try fs.write(vf + "/driver_override", "vfio-pci")
        try fs.write("/sys/bus/pci/drivers_probe", "0000:3b:01.0")
        #expect(try fs.linkBasename(vf + "/driver") == "vfio-pci")
        #expect(!fs.exists(vf + "/net"))
        try fs.write("/sys/bus/pci/drivers/vfio-pci/unbind", "0000:3b:01.0")
        try fs.write(vf + "/driver_override", "\0")
        try fs.write("/sys/bus/pci/drivers_probe", "0000:3b:01.0")
        #expect(try fs.linkBasename(vf + "/driver") == "iavf")
        #expect(fs.exists("/sys/class/net/ens1f0v0"))
    }

    @Test("vfio-pci on a device without an IOMMU group fails with EINVAL")
    func vfioWithoutIOMMU() throws {
        let host = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0")], iommu: false))
        try host.sysfs.write("/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "1")
        try host.sysfs.write("/sys/bus/pci/drivers/iavf/unbind", "0000:3b:01.0")
        #expect {
            try host.sysfs.write("/sys/bus/pci/drivers/vfio-pci/bind", "0000:3b:01.0")
        } throws: { ($0 as? HostError)?.errno == EINVAL }
    }

    @Test("writes to paths that do not exist fail with ENOENT, as sysfs does")
    func missingPath() throws {
        let host = try TestHost(profile: self.profile)
        #expect {
            try host.sysfs.write("/sys/bus/pci/devices/0000:99:00.0/sriov_numvfs", "1")
        } throws: { ($0 as? HostError)?.errno == ENOENT }
    }

    @Test("eswitch: ice needs 0 VFs to change mode; switchdev creates representors")
    func eswitch() throws {
        let ice = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0")], switchdev: true))
        let pf = try PCIAddress("0000:3b:00.0")
        try ice.sysfs.write(pf.sysfsPath + "/sriov_numvfs", "2")
        #expect(throws: HostError.self) { try ice.links.setEswitchMode("switchdev", of: pf) }
        try ice.sysfs.write(pf.sysfsPath + "/sriov_numvfs", "0")
        try ice.links.setEswitchMode("switchdev", of: pf)
        try ice.sysfs.write(pf.sysfsPath + "/sriov_numvfs", "2")
        #expect(try ice.sysfs.list(pf.sysfsPath + "/net") == ["ens1f0", "ens1f0_0", "ens1f0_1"])
        #expect(try ice.sysfs.read(pf.sysfsPath + "/net/ens1f0_1/phys_port_name") == "pf0vf1")
    }
}
