import DevicePluginAPI
import Foundation
import ServiceLifecycle
import SriovAPI
import SriovHost
import SriovTestKit
import Testing

@testable import SriovDevicePlugin

#if canImport(Glibc)
import Glibc
#endif

let basicConfig =
    #"{"resourceList":[{"resourceName":"intel_sriov_netdevice","selectors":[{"vendors":["8086"],"devices":["154c"],"drivers":["iavf"]}]}]}"#
let basicResource = "intel.com/intel_sriov_netdevice"

func exists(_ path: String) -> Bool {
    (try? FileManager.default.attributesOfItem(atPath: path)) != nil
}

func readFile(_ path: String) -> String? {
    try? LinuxSysFS(root: "/").read(path)
}

/// The plugin against a fake kubelet over real unix sockets, on a simulated host.
@Suite("Device plugin with a kubelet", .timeLimit(.minutes(2)))
struct KubeletTests {
    @Test("case 1: registers over the socket, lists the VFs, Allocate returns envs and writes the device-info file")
    func registerListAllocate() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices != nil }
            let registration = try #require(env.kubelet.registrations.first)
            #expect(registration.version == "v1beta1")
            #expect(registration.endpoint == "intel.com_intel_sriov_netdevice.sock")
            #expect(registration.resourceName == basicResource)
            let resource = try #require(env.kubelet.resource(basicResource))
            #expect(resource.options.getPreferredAllocationAvailable)
            let devices = try #require(resource.devices)
            #expect(devices.map(\.id) == Fixture.vfs)
            #expect(devices.allSatisfy { $0.health == "Healthy" && $0.topology.nodes.map(\.id) == [0] })

            let response = try await env.kubelet.allocate(basicResource, [Fixture.vfs[1]])
            #expect(response.envs["PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE"] == Fixture.vfs[1])
            #expect(
                response.envs["PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE_INFO"]
                    == #"{"0000:3b:01.1":{"generic":{"deviceID":"0000:3b:01.1"}}}"#
            )
            #expect(response.devices.isEmpty && response.mounts.isEmpty)
            let file = env.devinfoDir + "/intel.com-intel_sriov_netdevice-0000:3b:01.1-device.json"
            #expect(readFile(file) == #"{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:3b:01.1"}}"#)
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o444)
            // A second Allocate of the same device replaces the read-only file.
            _ = try await env.kubelet.allocate(basicResource, [Fixture.vfs[1]])
            #expect(readFile(file) != nil)
        }
    }

    @Test("case 2: a pool without devices gets no socket and no registration")
    func emptyPool() async throws {
        let config =
            #"{"resourceList":[{"resourceName":"none","selectors":[{"devices":["154C"]}]},{"resourceName":"intel_sriov_netdevice","selectors":[{"devices":["154c"]}]}]}"#
        try await withPlugin(config: config) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices != nil }
            // A set: under heavy load a Register that timed out on our side (but reached the kubelet) is retried.
            #expect(Set(env.kubelet.registrations.map(\.resourceName)) == [basicResource])
            #expect(!exists(env.kubelet.devicePluginDir + "/intel.com_none.sock"))
        }
    }

    @Test("case 3 over gRPC: vfio-pci pool with vhost-net gets device specs in order")
    func vfioOverGRPC() async throws {
        let config =
            #"{"resourceList":[{"resourceName":"dpdk_nic","resourcePrefix":"example.com","selectors":[{"drivers":["vfio-pci"],"needVhostNet":true}]}]}"#
        let prepare: @Sendable (SimulatedSysFS) throws -> Void = { fs in
            for vf in Fixture.vfs[2...] { try Fixture.rebind(fs, vf, from: "iavf", to: "vfio-pci") }
        }
        try await withPlugin(config: config, prepare: prepare) { env in
            try await env.kubelet.wait("registration") { $0.resource("example.com/dpdk_nic")?.devices != nil }
            let response = try await env.kubelet.allocate("example.com/dpdk_nic", [Fixture.vfs[2], Fixture.vfs[3]])
            #expect(
                response.devices.map(\.hostPath) == [
                    "/dev/vfio/vfio", "/dev/vfio/1002", "/dev/vhost-net", "/dev/net/tun", "/dev/vfio/1003",
                ]
            )
            #expect(response.devices.allSatisfy { $0.permissions == "rw" })
            #expect(exists(env.devinfoDir + "/example.com-dpdk_nic-0000:3b:01.2-device.json"))
        }
    }

    @Test(
        "case 14: after a kubelet restart wipes the socket dir the plugin serves again and re-registers"
    )
    func kubeletRestart() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices != nil }
            env.kubelet.restart()
            try await env.kubelet.wait("re-registration") { $0.registrations.count >= 2 }
            try await env.kubelet.wait("a new list") { k in
                guard let r = k.resource(basicResource) else { return false }
                return r.streaming && r.streamEnds >= 1 && r.lists.count >= 2
            }
            #expect(env.kubelet.resource(basicResource)?.devices?.map(\.id) == Fixture.vfs)
            #expect(exists(env.kubelet.devicePluginDir + "/intel.com_intel_sriov_netdevice.sock"))
            let response = try await env.kubelet.allocate(basicResource, [Fixture.vfs[0]])
            #expect(response.envs["PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE"] == Fixture.vfs[0])
        }
    }

    @Test("a config change (ConfigMap symlink swap) re-sends ListAndWatch without re-registering; pools come and go")
    func configChange() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
            let registered = try await env.registrations(basicResource)
            try env.config.write(
                #"{"resourceList":[{"resourceName":"intel_sriov_netdevice","selectors":[{"pfNames":["ens785f0#0-1"]}]},{"resourceName":"extra","selectors":[{"pfNames":["ens785f0#2-3"]}]}]}"#,
                generation: 2
            )
            try await env.waitForList(basicResource, "two VFs") { $0.map(\.id) == Array(Fixture.vfs[0...1]) }
            try await env.waitForList("intel.com/extra", "new pool") { $0.map(\.id) == Array(Fixture.vfs[2...3]) }
            #expect(try await env.registrations(basicResource) == registered)
            #expect(env.kubelet.resource(basicResource)?.streamEnds == 0)
            // Removing the pool: the kubelet gets an empty list, then the stream ends and the socket goes.
            try env.config.write(basicConfig, generation: 3)
            try await env.kubelet.wait("pool removed") { k in
                k.resource("intel.com/extra").map { !$0.streaming && $0.devices?.isEmpty == true } ?? false
            }
            #expect(!exists(env.kubelet.devicePluginDir + "/intel.com_extra.sock"))
            try await env.waitForList(basicResource, "four VFs again") { $0.count == 4 }
        }
    }

    @Test("an invalid config is reported with pool and field and the last good one keeps serving")
    func invalidConfigKeepsLastGood() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
            try env.config.write(#"{"resourceList":[{"resourceName":"bad.name","selectors":[{}]}]}"#, generation: 2)
            try await env.kubelet.wait("config error") { _ in env.plugin.configError != nil }
            let error = try #require(env.plugin.configError)
            #expect(error.contains("resourceList[0] (bad.name)") && error.contains("field resourceName"))
            #expect(env.plugin.activeConfig?.resourceList.map(\.resourceName) == ["intel_sriov_netdevice"])
            let response = try await env.kubelet.allocate(basicResource, [Fixture.vfs[3]])
            #expect(response.envs["PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE"] == Fixture.vfs[3])
            #expect(env.kubelet.resource(basicResource)?.streaming == true)
            // A fixed file is picked up again.
            try env.config.write(
                #"{"resourceList":[{"resourceName":"intel_sriov_netdevice","selectors":[{"drivers":["iavf","x"]}]}]}"#,
                generation: 3
            )
            try await env.kubelet.wait("error cleared") { _ in env.plugin.configError == nil }
        }
    }

    @Test("a VF change (sriov_numvfs) is seen in ListAndWatch without re-registering")
    func numVfsChange() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
            let registered = try await env.registrations(basicResource)
            try env.sysfs.write("/sys/bus/pci/devices/\(Fixture.pf)/sriov_numvfs", "0")
            try await env.waitForList(basicResource, "no VFs") { $0.isEmpty }
            try env.sysfs.write("/sys/bus/pci/devices/\(Fixture.pf)/sriov_numvfs", "6")
            try await env.waitForList(basicResource, "six VFs") {
                $0.count == 6 && $0.allSatisfy { $0.health == "Healthy" }
            }
            #expect(try await env.registrations(basicResource) == registered)
            #expect(env.kubelet.resource(basicResource)?.streamEnds == 0)
        }
    }

    @Test("health: PF carrier loss and a driver rebind make devices Unhealthy, recovery makes them Healthy")
    func healthTransitions() async throws {
        try await withPlugin(config: basicConfig) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
            let registered = try await env.registrations(basicResource)
            try env.sysfs.createFile("/sys/class/net/ens785f0/carrier", "0\n")
            try await env.waitForList(basicResource, "all unhealthy") {
                $0.count == 4 && $0.allSatisfy { $0.health == "Unhealthy" }
            }
            try env.sysfs.createFile("/sys/class/net/ens785f0/carrier", "1\n")
            try await env.waitForList(basicResource, "all healthy") {
                $0.count == 4 && $0.allSatisfy { $0.health == "Healthy" }
            }
            try Fixture.rebind(env.sysfs, Fixture.vfs[1], from: "iavf", to: "vfio-pci")
            try await env.waitForList(basicResource, "rebound VF unhealthy") { list in
                list.count == 4 && list.filter { $0.health == "Unhealthy" }.map(\.id) == [Fixture.vfs[1]]
            }
            try Fixture.rebind(env.sysfs, Fixture.vfs[1], from: "vfio-pci", to: "iavf")
            try await env.waitForList(basicResource, "recovered") {
                $0.count == 4 && $0.allSatisfy { $0.health == "Healthy" }
            }
            #expect(try await env.registrations(basicResource) == registered)
        }
    }

    @Test("GetPreferredAllocation is advertised and answers over gRPC")
    func preferredAllocation() async throws {
        let prepare: @Sendable (SimulatedSysFS) throws -> Void = {
            try $0.write("/sys/bus/pci/devices/\(Fixture.pf2)/sriov_numvfs", "2")
        }
        try await withPlugin(config: basicConfig, prepare: prepare) { env in
            try await env.waitForList(basicResource, "six VFs") { $0.count == 6 }
            let all = Fixture.vfs + ["0000:3c:01.0", "0000:3c:01.1"]
            let chosen = try await env.kubelet.preferredAllocation(basicResource, available: all, size: 2)
            #expect(chosen == ["0000:3b:01.0", "0000:3c:01.0"])
            let withMust = try await env.kubelet.preferredAllocation(
                basicResource,
                available: all,
                mustInclude: ["0000:3b:01.2"],
                size: 3
            )
            #expect(withMust.first == "0000:3b:01.2" && withMust.count == 3 && Set(withMust).count == 3)
        }
    }

    @Test("graceful shutdown sends an empty list, removes the sockets and keeps device-info files of allocations")
    func cleanShutdown() async throws {
        let (root, sysfs) = try Fixture.host()
        let work = try TempDir.make("dp-stop")
        defer {
            TempDir.remove(root)
            TempDir.remove(work)
        }
        try LinuxSysFS(root: "/").createFile(work + "/config.json", basicConfig)
        var options = DevicePlugin.Options()
        options.configFile = work + "/config.json"
        options.hostRoot = root
        options.kubeletDir = work + "/kubelet"
        options.deviceInfoDir = work + "/devinfo"
        options.mode = .legacy
        options.timing.poll = .milliseconds(20)
        options.timing.socketCheck = .milliseconds(50)
        let plugin = DevicePlugin(options: options, sysfs: sysfs, logger: .test)
        try await withFakeKubelet(directory: work + "/kubelet") { kubelet in
            let group = ServiceGroup(services: [plugin], logger: .test)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
                _ = try await kubelet.allocate(basicResource, [Fixture.vfs[0]])
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try await kubelet.wait("stream end") { $0.resource(basicResource)?.streaming == false }
            #expect(kubelet.resource(basicResource)?.devices?.isEmpty == true)
            #expect(!exists(kubelet.devicePluginDir + "/intel.com_intel_sriov_netdevice.sock"))
            #expect(exists(work + "/devinfo/intel.com-intel_sriov_netdevice-0000:3b:01.0-device.json"))
        }
    }

    @Test("CDI mode: annotations instead of device specs, one spec per pool, stale specs removed")
    func cdi() async throws {
        let config =
            #"{"resourceList":[{"resourceName":"dpdk","selectors":[{"drivers":["vfio-pci"]}]},{"resourceName":"kern","selectors":[{"drivers":["iavf"]}]}]}"#
        let prepare: @Sendable (SimulatedSysFS) throws -> Void = { fs in
            for vf in Fixture.vfs[0...1] { try Fixture.rebind(fs, vf, from: "iavf", to: "vfio-pci") }
        }
        try await withPlugin(config: config, useCDI: true, prepare: prepare) { env in
            try await env.kubelet.wait("registration") { $0.resource("intel.com/dpdk")?.devices?.count == 2 }
            let response = try await env.kubelet.allocate("intel.com/dpdk", [Fixture.vfs[0], Fixture.vfs[1]])
            #expect(response.devices.isEmpty)
            #expect(
                response.annotations == [
                    "cdi.k8s.io/intel.com_net-pci": "intel.com/net-pci=0000:3b:01.0,intel.com/net-pci=0000:3b:01.1"
                ]
            )
            let spec = env.cdiDir + "/sriov-dp-intel.com-net-pci_dpdk.json"
            let text = try #require(readFile(spec))
            #expect(text.contains(#""kind":"intel.com/net-pci""#))
            #expect(
                text.contains(
                    #"{"name":"0000:3b:01.0","containerEdits":{"deviceNodes":[{"path":"/dev/vfio/vfio","hostPath":"/dev/vfio/vfio","permissions":"rw"},{"path":"/dev/vfio/1000","hostPath":"/dev/vfio/1000","permissions":"rw"}]}}"#
                )
            )
            #expect(exists(env.cdiDir + "/sriov-dp-intel.com-net-pci_kern.json"))
            try env.config.write(
                #"{"resourceList":[{"resourceName":"dpdk","selectors":[{"drivers":["vfio-pci"]}]}]}"#,
                generation: 2
            )
            try await env.kubelet.wait("stale spec removed") { _ in
                !exists(env.cdiDir + "/sriov-dp-intel.com-net-pci_kern.json")
            }
            #expect(exists(spec))
        }
    }
}

@Suite("Device plugin with the kubelet plugin watcher", .timeLimit(.minutes(2)))
struct WatcherTests {
    @Test("watcher mode: GetInfo names the resource and the socket in plugins_registry; devices are listed")
    func watcher() async throws {
        try await withPlugin(config: basicConfig, mode: .watcher) { env in
            try await env.kubelet.wait("registration") { $0.resource(basicResource)?.devices?.count == 4 }
            let info = try #require(env.kubelet.watcherInfos.first)
            #expect(info.type == "DevicePlugin")
            #expect(info.name == basicResource)
            #expect(info.endpoint == env.kubelet.registryDir + "/intel.com_intel_sriov_netdevice.sock")
            #expect(info.supportedVersions == ["v1alpha1", "v1beta1"])
            #expect(!exists(env.kubelet.devicePluginDir + "/intel.com_intel_sriov_netdevice.sock"))
            try await env.kubelet.wait("registered") { _ in env.plugin.servers[basicResource]?.isRegistered == true }
            let response = try await env.kubelet.allocate(basicResource, [Fixture.vfs[2]])
            #expect(response.envs["PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE"] == Fixture.vfs[2])
        }
    }

    @Test("watcher mode: a rejected registration is retried instead of abandoned")
    func rejectedRetried() async throws {
        let configure: @Sendable (FakeKubelet) -> Void = { $0.rejectWatcherRegistrations(2) }
        try await withPlugin(config: basicConfig, mode: .watcher, configureKubelet: configure) { env in
            try await env.kubelet.wait("registration after rejections") {
                $0.rejections == 2 && $0.resource(basicResource)?.devices?.count == 4
            }
            try await env.kubelet.wait("registered") { _ in env.plugin.servers[basicResource]?.isRegistered == true }
            #expect(env.kubelet.watcherInfos.count >= 3)
        }
    }
}
