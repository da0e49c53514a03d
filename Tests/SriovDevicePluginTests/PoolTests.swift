import SriovAPI
import SriovHost
import Testing

@testable import SriovDevicePlugin

/// Pools and selectors against the reference §3.6 host (cases 1, 2, 4–8, 11, 12).
@Suite("Pools and selectors")
struct PoolTests {
    static func pools(_ config: String, prepare: (SimulatedSysFS) throws -> Void = { _ in }) throws -> [Pool] {
        let (root, sysfs) = try Fixture.host()
        defer { TempDir.remove(root) }
        try prepare(sysfs)
        let file = try DevicePluginConfigFile.parse(config, defaultPrefix: "intel.com")
        return PoolBuilder.build(config: file, snapshot: DeviceScanner(sysfs: sysfs).scan(), defaultPrefix: "intel.com")
    }

    static func ids(_ selectors: String) throws -> [String] {
        try self.pools(#"{"resourceList":[{"resourceName":"p","selectors":[\#(selectors)]}]}"#)[0].devices.map(\.id)
    }

    @Test("case 1: basic pool holds the four VFs, the PF with VFs is excluded, NUMA 0 topology")
    func basicPool() throws {
        let pools = try Self.pools(
            #"{"resourceList":[{"resourceName":"intel_sriov_netdevice","selectors":[{"vendors":["8086"],"devices":["154c"],"drivers":["iavf"]}]}]}"#
        )
        #expect(pools.count == 1)
        #expect(pools[0].resourceName == "intel.com/intel_sriov_netdevice")
        #expect(pools[0].socketName == "intel.com_intel_sriov_netdevice.sock")
        #expect(pools[0].devices.map(\.id) == Fixture.vfs)
        let advertised = PoolState.advertised(pools[0])
        #expect(advertised.allSatisfy { $0.healthy && $0.numaNode == 0 })
    }

    @Test("case 2: device IDs are matched case-sensitively (154C selects nothing)")
    func caseSensitive() throws {
        #expect(try Self.ids(#"{"devices":["154C"]}"#).isEmpty)
    }

    @Test(
        "case 4: pfNames ranges, case-insensitive PF names, first matching entry wins, malformed matches nothing",
        arguments: [
            (#"{"pfNames":["ens785f0#0,2-3"]}"#, [0, 2, 3]),
            (#"{"pfNames":["ENS785F0#1"]}"#, [1]),
            (#"{"pfNames":["ens785f0#0","ens785f0#3"]}"#, [0]),
            (#"{"pfNames":["ens785f0#x"]}"#, []),
            (#"{"pfNames":["ens785f0#3-1"]}"#, []),
            (#"{"pfNames":["ens785f0"]}"#, [0, 1, 2, 3]),
        ]
    )
    func pfNames(selector: String, expected: [Int]) throws {
        #expect(try Self.ids(selector) == expected.map { Fixture.vfs[$0] })
    }

    @Test("case 5: rootDevices select VFs of a PF address; a PF itself never matches")
    func rootDevices() throws {
        #expect(try Self.ids(#"{"rootDevices":["0000:3b:00.0#1-2"]}"#) == [Fixture.vfs[1], Fixture.vfs[2]])
        #expect(try Self.ids(#"{"rootDevices":["0000:3b:00.0"]}"#) == Fixture.vfs)
        #expect(try Self.ids(#"{"rootDevices":["0000:3b:00.1"]}"#).isEmpty)
    }

    @Test("case 6: the first pool claims a device; an empty later pool is built but has no devices")
    func overlap() throws {
        let pools = try Self.pools(
            #"{"resourceList":[{"resourceName":"a","selectors":[{"vendors":["8086"]}]},{"resourceName":"b","selectors":[{"drivers":["iavf"]}]}]}"#
        )
        #expect(pools[0].devices.map(\.id) == [Fixture.pf2] + Fixture.vfs)
        #expect(pools[1].devices.isEmpty)
    }

    @Test("case 6: within a pool the first selector object that matches decides (no vhost for it)")
    func selectorUnion() throws {
        let pool = try Self.pools(
            #"{"resourceList":[{"resourceName":"a","selectors":[{"devices":["154c"]},{"vendors":["8086"],"needVhostNet":true}]}]}"#
        )[0]
        #expect(pool.selectors(for: Fixture.vfs[0])?.needVhostNet == false)
        #expect(pool.selectors(for: Fixture.pf2)?.needVhostNet == true)
    }

    @Test("case 7: the default-route NIC is never selected; an SR-IOV PF without VFs is")
    func exclusions() throws {
        #expect(try Self.ids(#"{"pciAddresses":["0000:01:00.0"]}"#).isEmpty)
        #expect(try Self.ids(#"{"pciAddresses":["0000:3b:00.1"]}"#) == [Fixture.pf2])
        #expect(try Self.ids(#"{"pciAddresses":["0000:3b:00.0"]}"#).isEmpty)
    }

    @Test("case 8: excludeTopology and numa_node -1 drop the topology; NUMA 1 is reported")
    func topology() throws {
        let pools = try Self.pools(
            #"{"resourceList":[{"resourceName":"x","excludeTopology":true,"selectors":[{"devices":["154c"]}]},{"resourceName":"m","selectors":[{"vendors":["15b3"]}]}]}"#,
            prepare: { try $0.createFile("/sys/bus/pci/devices/\(Fixture.mlxVFs[1])/numa_node", "-1\n") }
        )
        #expect(PoolState.advertised(pools[0]).allSatisfy { $0.numaNode == nil })
        #expect(PoolState.advertised(pools[1]).map(\.numaNode) == [1, nil])
    }

    @Test("driverless devices are skipped")
    func driverless() throws {
        let pools = try Self.pools(
            #"{"resourceList":[{"resourceName":"p","selectors":[{"devices":["154c"]}]}]}"#,
            prepare: { try $0.write("/sys/bus/pci/drivers/iavf/unbind", Fixture.vfs[2]) }
        )
        #expect(pools[0].devices.map(\.id) == [Fixture.vfs[0], Fixture.vfs[1], Fixture.vfs[3]])
    }

    @Test("linkTypes, acpiIndexes and isRdma filter as upstream")
    func otherSelectors() throws {
        #expect(try Self.ids(#"{"linkTypes":["ether"],"devices":["154c"]}"#) == Fixture.vfs)
        #expect(try Self.ids(#"{"linkTypes":["infiniband"]}"#).isEmpty)
        #expect(try Self.ids(#"{"isRdma":true}"#) == Fixture.mlxVFs)
        let acpi = try Self.pools(
            #"{"resourceList":[{"resourceName":"p","selectors":[{"acpiIndexes":["101"]}]}]}"#,
            prepare: { try $0.createFile("/sys/bus/pci/devices/\(Fixture.pf2)/acpi_index", "101\n") }
        )
        #expect(acpi[0].devices.map(\.id) == [Fixture.pf2])
    }

    @Test("case 11: auxiliary SFs are selected by parent vendor/device, pfNames SF range and auxTypes")
    func auxiliary() throws {
        let pools = try Self.pools(
            #"{"resourceList":[{"resourceName":"bf2_sf","resourcePrefix":"nvidia.com","deviceType":"auxNetDevice","selectors":[{"vendors":["15b3"],"devices":["101d"],"pfNames":["ens8f0#1-5"],"auxTypes":["sf"]}]}]}"#,
            prepare: { fs in
                let parent = "/sys/devices/pci0000:d7/0000:d7:00.0/\(Fixture.mlxPF)"
                for (name, sfnum) in [("mlx5_core.sf.2", 1), ("mlx5_core.sf.3", 9), ("mlx5_core.eth.0", 0)] {
                    try fs.createFile("\(parent)/\(name)/sfnum", "\(sfnum)\n")
                    try LinuxSysFS(root: fs.root).symlink(
                        "/sys/bus/auxiliary/devices/\(name)",
                        to: "../../../\(parent.dropFirst(5))/\(name)"
                    )
                }
            }
        )
        #expect(pools[0].resourceName == "nvidia.com/bf2_sf")
        #expect(pools[0].devices.map(\.id) == ["mlx5_core.sf.2"])
        let allocation = Allocator(deviceExists: { _ in false }).allocate(
            ["mlx5_core.sf.2"],
            pool: pools[0],
            useCDI: false
        )
        #expect(
            allocation.envs["PCIDEVICE_NVIDIA_COM_BF2_SF_INFO"]
                == #"{"mlx5_core.sf.2":{"generic":{"deviceID":"mlx5_core.sf.2"}}}"#
        )
    }
}

@Suite("Device-plugin configuration")
struct ConfigTests {
    @Test("the operator's ConfigMap JSON parses with IsRdma/NeedVhostNet matched case-insensitively")
    func operatorConfig() throws {
        var selectors = NetDeviceSelectors()
        selectors.vendors = ["8086"]
        selectors.pfNames = ["ens785f0#0-1"]
        selectors.NeedVhostNet = true
        let list = ResourceConfigList(resourceList: [ResourceConfig(resourceName: "intel_dpdk", selectors: selectors)])
        let parsed = try DevicePluginConfigFile.parse(list.json, defaultPrefix: "openshift.io")
        #expect(parsed.resourceList.count == 1)
        #expect(parsed.resourceList[0].selectors[0].needVhostNet)
        #expect(parsed.resourceList[0].selectors[0].pfNames == ["ens785f0#0-1"])
        #expect(!parsed.resourceList[0].selectors[0].isRdma)
    }

    @Test(
        "case 12: invalid configurations name the pool and the field",
        arguments: [
            (#"{"resourceList":[{"resourceName":"sriov.net","selectors":[{}]}]}"#, "resourceName", "sriov.net"),
            (
                #"{"resourceList":[{"resourceName":"x","selectors":[{}]},{"resourceName":"x","resourcePrefix":"intel.com","selectors":[{}]}]}"#,
                "resourceName", "duplicate resource \"intel.com/x\""
            ),
            (#"{"resourceList":[{"resourceName":"g","deviceType":"gpu","selectors":[{}]}]}"#, "deviceType", "gpu"),
            (
                #"{"resourceList":[{"resourceName":"r","selectors":[{"isRdma":true,"vdpaType":"vhost"}]}]}"#,
                "selectors[0].vdpaType", "cannot be used together"
            ),
            (
                #"{"resourceList":[{"resourceName":"a","deviceType":"auxNetDevice","selectors":[{}]}]}"#,
                "selectors[0].auxTypes", "required"
            ),
            (
                #"{"resourceList":[{"resourceName":"a","deviceType":"auxNetDevice","selectors":[{"auxTypes":["eth"]}]}]}"#,
                "selectors[0].auxTypes[0]", "eth"
            ),
            (#"{"resourceList":[{"resourceName":"n"}]}"#, "selectors", "required"),
            (#"{"resourceList":[{"resourceName":"v","selectors":{"vendors":"8086"}}]}"#, "selectors.vendors", "array"),
        ]
    )
    func invalid(config: String, field: String, fragment: String) throws {
        let error = #expect(throws: DevicePluginConfigError.self) {
            try DevicePluginConfigFile.parse(config, file: "/etc/pcidp/config.json", defaultPrefix: "intel.com")
        }
        #expect(error?.field == field)
        #expect(error?.pool?.hasPrefix("resourceList[") == true)
        #expect(error?.description.contains(fragment) == true, "\(error.map(String.init(describing:)) ?? "")")
        #expect(error?.description.hasPrefix("/etc/pcidp/config.json: pool resourceList[") == true)
    }

    @Test("case 12: an empty selectors list skips the pool with a warning")
    func emptySelectors() throws {
        let parsed = try DevicePluginConfigFile.parse(
            #"{"resourceList":[{"resourceName":"e","selectors":[]},{"resourceName":"k","selectors":{"vendors":["8086"]}}]}"#,
            defaultPrefix: "intel.com"
        )
        #expect(parsed.resourceList.map(\.resourceName) == ["k"])
        #expect(parsed.warnings.count == 1)
    }

    @Test("malformed JSON is reported with its offset")
    func malformed() {
        #expect(throws: DevicePluginConfigError.self) {
            try DevicePluginConfigFile.parse(#"{"resourceList":[{"#, defaultPrefix: "intel.com")
        }
    }
}
