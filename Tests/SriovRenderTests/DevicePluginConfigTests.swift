import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

/// Upstream: controllers/sriovnetworknodepolicy_controller_test.go TestRenderDevicePluginConfigData and
/// resolvePfNames tests — cases DP1–DP6 of the reference.
@Suite("device-plugin-config ConfigMap")
struct DevicePluginConfigTests {
    let node = Node.worker("node1")

    func render(
        _ policies: [SriovNetworkNodePolicy],
        status: [SriovNetworkNodeState.InterfaceExt] = [],
        nics: SupportedNICs = SupportedNICs(models: [])
    ) throws -> String {
        let options = RenderOptions(supportedNICs: nics)
        let renderer = DevicePluginConfigRenderer(options: options, sortedPolicies: policies.sortedByPriority())
        return try renderer.render(node: self.node, status: status).json
    }

    func bare(_ name: String) -> SriovNetworkNodePolicy {
        SriovNetworkNodePolicy.fixture(name).resourceName("resourceName").isRdma(false)
    }

    @Test("DP1: vdpaType virtio with no selectors")
    func dp1() throws {
        #expect(
            try self.render([self.bare("p").vdpaType("virtio")])
                == #"{"resourceList":[{"resourceName":"resourceName","selectors":{"IsRdma":false,"NeedVhostNet":false,"vdpaType":"virtio"},"SelectorObj":null}]}"#
        )
    }

    @Test("DP2: vdpaType vhost")
    func dp2() throws {
        #expect(
            try self.render([self.bare("p").vdpaType("vhost")])
                == #"{"resourceList":[{"resourceName":"resourceName","selectors":{"IsRdma":false,"NeedVhostNet":false,"vdpaType":"vhost"},"SelectorObj":null}]}"#
        )
    }

    @Test("DP3: excludeTopology comes before selectors")
    func dp3() throws {
        #expect(
            try self.render([self.bare("p").excludeTopology(true)])
                == #"{"resourceList":[{"resourceName":"resourceName","excludeTopology":true,"selectors":{"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
    }

    func dp4Policies() -> [SriovNetworkNodePolicy] {
        [
            SriovNetworkNodePolicy.fixture("resvfiopci").resourceName("resvfiopci").vendor("8086").deviceID("159b")
                .numVfs(128).pfNames("ens0#0-9").deviceType("vfio-pci").isRdma(false),
            SriovNetworkNodePolicy.fixture("resnetdevice").resourceName("resnetdevice").vendor("8086").deviceID("159b")
                .numVfs(128).pfNames("ens0#10-19").deviceType("netdevice").isRdma(false),
        ]
    }

    @Test("DP4: two partitions of one PF become two resources; without the NIC table no devices")
    func dp4() throws {
        let json = try self.render(self.dp4Policies())
        #expect(
            json
                == #"{"resourceList":[{"resourceName":"resnetdevice","selectors":{"vendors":["8086"],"pfNames":["ens0#10-19"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null},{"resourceName":"resvfiopci","selectors":{"vendors":["8086"],"pfNames":["ens0#0-9"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
    }

    @Test("DP4: with the supported-NIC table the VF device id follows vendors")
    func dp4WithTable() throws {
        let json = try self.render(self.dp4Policies(), nics: .upstreamDefault)
        #expect(
            json.contains(
                #"{"vendors":["8086"],"devices":["1889"],"pfNames":["ens0#0-9"],"IsRdma":false,"NeedVhostNet":false}"#
            )
        )
        #expect(
            json.contains(
                #"{"vendors":["8086"],"devices":["1889"],"pfNames":["ens0#10-19"],"IsRdma":false,"NeedVhostNet":false}"#
            )
        )
    }

    @Test("DP5: one resource from an Intel and a Mellanox policy merges vendors, devices and root devices")
    func dp5() throws {
        let intel = SriovNetworkNodePolicy.fixture("intel").resourceName("resource1").vendor("8086").deviceID("159b")
            .rootDevices("0000:31:00.0").numVfs(8).deviceType("vfio-pci").isRdma(false)
        let mlx = SriovNetworkNodePolicy.fixture("mlx").resourceName("resource1").vendor("15b3").deviceID("101d")
            .rootDevices("0000:ca:00.0").numVfs(8).isRdma(true)
        let json = try self.render([intel, mlx], nics: .upstreamDefault)
        // Sorted by priority (equal) then name: intel first, so IsRdma is intel's (false) — an upstream quirk.
        #expect(
            json
                == #"{"resourceList":[{"resourceName":"resource1","selectors":{"vendors":["8086","15b3"],"devices":["1889","101e"],"rootDevices":["0000:31:00.0","0000:ca:00.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        #expect(!json.contains("drivers"))
    }

    @Test("DP6: altnames resolve to primary names and ranges are kept")
    func dp6() {
        let status = [
            SriovNetworkNodeState.InterfaceExt(
                name: "ens803f0",
                pciAddress: "0000:86:00.0",
                altNames: ["alt1", "alt2"]
            ),
            SriovNetworkNodeState.InterfaceExt(name: "ens803f1", pciAddress: "0000:86:00.1", altNames: ["alt3"]),
        ]
        #expect(
            DevicePluginConfigRenderer.resolvePfNames(["alt1", "alt3"], status: status) == ["ens803f0", "ens803f1"]
        )
        #expect(
            DevicePluginConfigRenderer.resolvePfNames(["ens803f0#0-9", "alt1#10-19"], status: status)
                == ["ens803f0#0-9", "ens803f0#10-19"]
        )
        #expect(DevicePluginConfigRenderer.resolvePfNames(["unknown#1-2"], status: status) == ["unknown#1-2"])
    }

    @Test("a node no policy selects gets {\"resourceList\":null}")
    func emptyNode() throws {
        #expect(try self.render([]) == #"{"resourceList":null}"#)
    }

    @Test("numVfs 0 keeps the PF device id; linkType ib becomes infiniband, but not for vfio-pci")
    func deviceIdsAndLinkTypes() throws {
        let pf = SriovNetworkNodePolicy.fixture("pf").resourceName("pfres").vendor("15b3").deviceID("101d").numVfs(0)
            .linkType("IB").isRdma(true)
        #expect(
            try self.render([pf], nics: .upstreamDefault)
                == #"{"resourceList":[{"resourceName":"pfres","selectors":{"vendors":["15b3"],"devices":["101d"],"linkTypes":["infiniband"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        let vfio = SriovNetworkNodePolicy.fixture("v").resourceName("v").vendor("8086").numVfs(4).linkType("eth")
            .deviceType("vfio-pci").needVhostNet(true)
        #expect(
            try self.render([vfio])
                == #"{"resourceList":[{"resourceName":"v","selectors":{"vendors":["8086"],"IsRdma":false,"NeedVhostNet":true},"SelectorObj":null}]}"#
        )
    }

    @Test("netFilter becomes the PCI addresses of matching interfaces; without status it is an error")
    func netFilter() throws {
        let filter = "openstack/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"
        let policy = SriovNetworkNodePolicy.fixture("osp").resourceName("osp").netFilter(filter).numVfs(1).isRdma(false)
        let status = [
            SriovNetworkNodeState.InterfaceExt(name: "ens5", pciAddress: "0000:00:05.0", netFilter: filter),
            SriovNetworkNodeState.InterfaceExt(
                name: "ens6",
                pciAddress: "0000:00:06.0",
                netFilter: "openstack/NetworkID:other"
            ),
        ]
        #expect(
            try self.render([policy], status: status)
                == #"{"resourceList":[{"resourceName":"osp","selectors":{"pciAddresses":["0000:00:05.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        #expect(throws: DevicePluginRenderError.self) { try self.render([policy], status: []) }
    }

    @Test("the first policy of a resource decides IsRdma; excludeTopology is the last one's")
    func firstAndLast() throws {
        let a = SriovNetworkNodePolicy.fixture("a", priority: 20).resourceName("r").vendor("15b3").numVfs(2).isRdma(
            true
        )
        let b = SriovNetworkNodePolicy.fixture("b", priority: 10).resourceName("r").vendor("8086").numVfs(2).isRdma(
            false
        )
        .excludeTopology(true)
        #expect(
            try self.render([a, b])
                == #"{"resourceList":[{"resourceName":"r","excludeTopology":true,"selectors":{"vendors":["15b3","8086"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
    }
}
