import SriovAPI
import SriovHost
import Testing

@testable import SriovDevicePlugin

/// Allocate envs, device specs and device-info content (reference §3.5, cases 1, 3, 9, 10, 13).
@Suite("Allocate")
struct AllocateTests {
    static func allocate(
        _ config: String,
        _ ids: [String],
        prepare: (SimulatedSysFS) throws -> Void = { _ in }
    ) throws -> (ContainerAllocation, Pool, [String: String]) {
        let (root, sysfs) = try Fixture.host()
        defer { TempDir.remove(root) }
        try prepare(sysfs)
        let file = try DevicePluginConfigFile.parse(config, defaultPrefix: "intel.com")
        let pools = PoolBuilder.build(
            config: file,
            snapshot: DeviceScanner(sysfs: sysfs).scan(),
            defaultPrefix: "intel.com"
        )
        let allocator = Allocator(deviceExists: { sysfs.exists($0) })
        var devinfo: [String: String] = [:]
        for id in ids {
            if let d = pools[0].device(id) { devinfo[id] = DeviceInfoFiles.content(d.device, pool: pools[0]) }
        }
        return (allocator.allocate(ids, pool: pools[0], useCDI: false), pools[0], devinfo)
    }

    @Test("case 1: netdev VF: two envs, no device specs, pci device-info")
    func kernelVF() throws {
        let (a, _, devinfo) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"intel_sriov_netdevice","selectors":[{"vendors":["8086"],"devices":["154c"],"drivers":["iavf"]}]}]}"#,
            [Fixture.vfs[1]]
        )
        #expect(
            a.envs == [
                "PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE": Fixture.vfs[1],
                "PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE_INFO":
                    #"{"0000:3b:01.1":{"generic":{"deviceID":"0000:3b:01.1"}}}"#,
            ]
        )
        #expect(a.devices.isEmpty)
        #expect(devinfo[Fixture.vfs[1]] == #"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:3b:01.1"}}"#)
    }

    @Test("case 3: vfio-pci + needVhostNet + prefix override: envs in request order, deduplicated specs")
    func vfioVhost() throws {
        let (a, _, _) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"dpdk_nic","resourcePrefix":"example.com","selectors":[{"drivers":["vfio-pci"],"needVhostNet":true}]}]}"#,
            [Fixture.vfs[3], Fixture.vfs[2]],
            prepare: { fs in
                for vf in Fixture.vfs[2...] { try Fixture.rebind(fs, vf, from: "iavf", to: "vfio-pci") }
            }
        )
        #expect(a.envs["PCIDEVICE_EXAMPLE_COM_DPDK_NIC"] == "0000:3b:01.3,0000:3b:01.2")
        #expect(
            a.envs["PCIDEVICE_EXAMPLE_COM_DPDK_NIC_INFO"]
                == #"{"0000:3b:01.2":{"generic":{"deviceID":"0000:3b:01.2"},"vfio":{"dev-mount":"/dev/vfio/1002","mount":"/dev/vfio/vfio"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}},"0000:3b:01.3":{"generic":{"deviceID":"0000:3b:01.3"},"vfio":{"dev-mount":"/dev/vfio/1003","mount":"/dev/vfio/vfio"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}}}"#
        )
        #expect(
            a.devices.map(\.hostPath) == [
                "/dev/vfio/vfio", "/dev/vfio/1003", "/dev/vhost-net", "/dev/net/tun", "/dev/vfio/1002",
            ]
        )
        #expect(a.devices.allSatisfy { $0.permissions == "rw" && $0.hostPath == $0.containerPath })
    }

    @Test("case 9: additionalInfo: \"*\" for every device, a device's own entry over it")
    func additionalInfo() throws {
        let (a, _, _) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"x","additionalInfo":{"*":{"token":"a"},"0000:3b:01.1":{"token":"b","x":"y"}},"selectors":[{"devices":["154c"]}]}]}"#,
            [Fixture.vfs[0], Fixture.vfs[1]]
        )
        #expect(
            a.envs["PCIDEVICE_INTEL_COM_X_INFO"]
                == #"{"0000:3b:01.0":{"extra":{"token":"a"},"generic":{"deviceID":"0000:3b:01.0"}},"0000:3b:01.1":{"extra":{"token":"b","x":"y"},"generic":{"deviceID":"0000:3b:01.1"}}}"#
        )
    }

    @Test("INFO uses Go's HTML-safe escaping")
    func goEscaping() throws {
        let (a, _, _) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"x","additionalInfo":{"*":{"k":"<a&b>"}},"selectors":[{"devices":["154c"]}]}]}"#,
            [Fixture.vfs[0]]
        )
        #expect(a.envs["PCIDEVICE_INTEL_COM_X_INFO"]?.contains(#""k":"\u003ca\u0026b\u003e""#) == true)
    }

    @Test("case 10: RDMA VF: char devices then rdma_cm, rdma INFO, rdma-device in device-info")
    func rdma() throws {
        let (a, _, devinfo) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"mlx","resourcePrefix":"nvidia.com","selectors":[{"vendors":["15b3"],"isRdma":true}]}]}"#,
            [Fixture.mlxVFs[0]]
        )
        #expect(
            a.devices.map(\.hostPath) == [
                "/dev/infiniband/umad0", "/dev/infiniband/uverbs0", "/dev/infiniband/rdma_cm",
            ]
        )
        #expect(
            a.envs["PCIDEVICE_NVIDIA_COM_MLX_INFO"]
                == #"{"0000:d8:01.0":{"generic":{"deviceID":"0000:d8:01.0"},"rdma":{"rdma_cm":"/dev/infiniband/rdma_cm","rdma_dev":"mlx5_100","umad":"/dev/infiniband/umad0","uverbs":"/dev/infiniband/uverbs0"}}}"#
        )
        #expect(
            devinfo[Fixture.mlxVFs[0]]
                == #"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:d8:01.0","rdma-device":"mlx5_100"}}"#
        )
    }

    @Test("case 13: a vfio-noiommu group maps /dev/vfio/noiommu-<g> on the host to /dev/vfio/<g>")
    func noIOMMU() throws {
        let (a, _, _) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"vm","selectors":[{"drivers":["vfio-pci"]}]}]}"#,
            [Fixture.vfs[0]],
            prepare: { fs in
                try Fixture.rebind(fs, Fixture.vfs[0], from: "iavf", to: "vfio-pci")
                try fs.createFile("/sys/kernel/iommu_groups/1000/name", "vfio-noiommu\n")
            }
        )
        #expect(a.devices.map(\.hostPath) == ["/dev/vfio/vfio", "/dev/vfio/noiommu-1000"])
        #expect(a.devices.map(\.containerPath) == ["/dev/vfio/vfio", "/dev/vfio/1000"])
        #expect(a.envs["PCIDEVICE_INTEL_COM_VM_INFO"]?.contains(#""dev-mount":"/dev/vfio/1000""#) == true)
    }

    @Test("uio and vhost-vdpa devices get their char devices and INFO")
    func uioAndVDPA() throws {
        let (u, _, _) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"u","selectors":[{"drivers":["igb_uio"]}]}]}"#,
            [Fixture.vfs[0]],
            prepare: { fs in
                try fs.createFile("/sys/bus/pci/drivers/igb_uio/bind", "")
                try Fixture.rebind(fs, Fixture.vfs[0], from: "iavf", to: "igb_uio")
                try fs.createFile("/sys/bus/pci/devices/\(Fixture.vfs[0])/uio/uio3/name", "uio\n")
            }
        )
        #expect(u.devices.map(\.hostPath) == ["/dev/uio3"])
        #expect(u.envs["PCIDEVICE_INTEL_COM_U_INFO"]?.contains(#""uio":{"mount":"/dev/uio3"}"#) == true)
        let (v, pool, devinfo) = try Self.allocate(
            #"{"resourceList":[{"resourceName":"v","selectors":[{"vendors":["15b3"],"vdpaType":"vhost"}]}]}"#,
            [Fixture.mlxVFs[1]],
            prepare: { fs in
                let dev = "/sys/bus/pci/devices/\(Fixture.mlxVFs[1])/vdpa1"
                try fs.createFile(dev + "/vhost-vdpa-1/dev", "240:1\n")
                try LinuxSysFS(root: fs.root).symlink(dev + "/driver", to: "../../../../bus/vdpa/drivers/vhost_vdpa")
            }
        )
        #expect(pool.devices.map(\.id) == [Fixture.mlxVFs[1]])
        #expect(v.devices.map(\.hostPath) == ["/dev/vhost-vdpa-1"])
        #expect(
            devinfo[Fixture.mlxVFs[1]]
                == #"{"type":"vdpa","version":"1.1.0","vdpa":{"parent-device":"vdpa1","driver":"vhost","path":"/dev/vhost-vdpa-1","pci-address":"0000:d8:01.1"}}"#
        )
    }

    @Test("env names replace dots only, upper-cased")
    func envName() {
        #expect(
            Allocator.envName(prefix: "openshift.io", resourceName: "intel-dpdk") == "PCIDEVICE_OPENSHIFT_IO_INTEL-DPDK"
        )
    }
}

@Suite("Preferred allocation")
struct PreferredAllocationTests {
    static func pool(policy: String) throws -> Pool {
        let (root, sysfs) = try Fixture.host()
        defer { TempDir.remove(root) }
        // A second PF with VFs so that there is something to spread over.
        try sysfs.write("/sys/bus/pci/devices/\(Fixture.pf2)/sriov_numvfs", "2")
        try sysfs.createFile("/sys/bus/pci/devices/0000:3c:01.1/numa_node", "1\n")
        let file = try DevicePluginConfigFile.parse(
            #"{"resourceList":[{"resourceName":"p","allocationPolicy":"\#(policy)","selectors":[{"devices":["154c"]}]}]}"#,
            defaultPrefix: "intel.com"
        )
        return PoolBuilder.build(
            config: file,
            snapshot: DeviceScanner(sysfs: sysfs).scan(),
            defaultPrefix: "intel.com"
        )[0]
    }

    @Test("spread takes devices from different PFs on the same NUMA node, must_include first")
    func spread() throws {
        let pool = try Self.pool(policy: "spread")
        let all = pool.devices.map(\.id)
        #expect(all == Fixture.vfs + ["0000:3c:01.0", "0000:3c:01.1"])
        #expect(
            PreferredAllocator.choose(available: all, mustInclude: [], size: 2, pool: pool) == [
                "0000:3b:01.0", "0000:3c:01.0",
            ]
        )
        #expect(
            PreferredAllocator.choose(available: all, mustInclude: ["0000:3b:01.3"], size: 2, pool: pool)
                == ["0000:3b:01.3", "0000:3c:01.0"]
        )
        // NUMA 1 holds only 0000:3c:01.1: asking with it included keeps NUMA 1 first.
        #expect(
            PreferredAllocator.choose(available: all, mustInclude: ["0000:3c:01.1"], size: 1, pool: pool)
                == ["0000:3c:01.1"]
        )
    }

    @Test("pack fills one PF first; the answer never exceeds the size or leaves the available set")
    func pack() throws {
        let pool = try Self.pool(policy: "pack")
        let all = pool.devices.map(\.id)
        #expect(
            PreferredAllocator.choose(available: all, mustInclude: [], size: 3, pool: pool) == Array(Fixture.vfs[0..<3])
        )
        #expect(
            PreferredAllocator.choose(available: ["0000:3c:01.0"], mustInclude: [], size: 4, pool: pool) == [
                "0000:3c:01.0"
            ]
        )
    }
}
