import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovDaemon
import SriovHost
import SriovRender
import SriovTestKit
import Testing

@Suite("Config daemon reboots", .serialized)
struct DaemonRebootTests {
    @Test(
        "vfio-pci without IOMMU arguments: a full drain, grubby adds them, systemd-run reboots, then the apply; a reboot loop ends in Failed",
        arguments: Backend.available
    )
    func rebootForKernelArguments(_ backend: Backend) async throws {
        let a = try SimulatedNode.make("worker-a", cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/sda1")
        let b = try SimulatedNode.make("worker-b", cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/sda1")
        defer {
            a.remove()
            b.remove()
        }
        for node in [a, b] { try LinuxSysFS(root: node.root).createFile("/usr/sbin/grubby", "") }
        // worker-b's boot loader ignores the edit: every reboot comes back without the arguments.
        try LinuxSysFS(root: b.root).createFile(SimulatedHost.stateDirectory + "/ignore-kernel-args", "")
        let deployment = try await TestDeployment.start(backend, nodes: [a, b])
        defer { Task { await deployment.stop() } }
        for node in [a, b] {
            var settings = TestDeployment.settings(node)
            settings.resync = .seconds(1)
            settings.maxRebootsPerGeneration = 2
            try deployment.startDaemon(node, settings: settings)
        }
        try await eventually("status") { try await deployment.state(b.name).status.interfaces.count == 2 }
        _ = try await deployment.policies.create(
            .fixture("dpdk").pfNames("ens1f0").numVfs(2).resourceName("dpdk").deviceType("vfio-pci")
        )
        try await deployment.waitSucceeded(a, "vfio-pci VFs after the reboot", timeout: .seconds(150)) { node, _ in
            node.vfDrivers(SimulatedNode.pf0) == ["vfio-pci", "vfio-pci"]
        }
        let fs = LinuxSysFS(root: a.root)
        #expect(try fs.read("/proc/cmdline").contains("intel_iommu=on iommu=pt"))
        let log = try fs.read(SimulatedCommandRunner.logFile)
        #expect(log.contains("grubby --update-kernel=ALL --args=intel_iommu=on iommu=pt"))
        #expect(log.contains("systemd-run --unit sriov-network-config-daemon-reboot"))
        #expect(try fs.readInt(SimulatedCommandRunner.rebootCountFile) == 1)

        try await eventually("worker-b gives up after 2 reboots", timeout: .seconds(150)) {
            let state = try await deployment.state(b.name)
            return state.status.syncStatus == SyncStatus.failed
                && state.status.lastSyncError.contains("rebooted 2 times")
                && state.status.lastSyncError.contains("intel_iommu=on iommu=pt")
        }
        #expect(try LinuxSysFS(root: b.root).readInt(SimulatedCommandRunner.rebootCountFile) == 2)
        // The drain is given back.
        try await eventually("worker-b back to Idle") {
            try await deployment.state(b.name).metadata.annotations[SriovNetworkNodeState.Annotation.desiredState]
                == DaemonWire.idle
        }
    }
}
