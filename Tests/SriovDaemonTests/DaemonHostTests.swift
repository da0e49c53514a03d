import Foundation
import KubeCore
import Logging
import SriovAPI
import SriovDaemon
import SriovHost
import SriovRender
import SriovTestKit
import Testing

@Suite("Config daemon on the host: discovery, systemd mode, kernel arguments")
struct DaemonHostTests {
    static func spec(numVfs: Int, deviceType: String = "netdevice") -> SriovNetworkNodeState.Spec {
        SriovNetworkNodeState.Spec(interfaces: [
            .init(
                pciAddress: SimulatedNode.pf0,
                numVfs: numVfs,
                name: "ens1f0",
                vfGroups: [
                    .init(resourceName: "net", deviceType: deviceType, vfRange: "0-\(numVfs - 1)", policyName: "p")
                ]
            )
        ])
    }

    @Test(
        "discovery of a plain sysfs copy reads MTU, MAC and link state from /sys/class/net when rtnetlink does not know the link"
    )
    func sysfsFallback() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-copy-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let nic = HostProfile.NIC(
            vendor: "8086",
            device: "159b",
            vfDevice: "1889",
            driver: "ice",
            vfDriver: "iavf",
            totalVfs: 8,
            ports: [.init(pciAddress: SimulatedNode.pf0, name: "sxq9f0", mac: "b4:96:91:a5:c7:20")]
        )
        try SimulatedHost.create(profile: HostProfile(name: "copy", nics: [nic]), at: root)
        // Without the simulator's marker it is just files, like `cp -a /sys`.
        try LinuxSysFS(root: root).remove(SimulatedHost.stateDirectory)
        #expect(!SimulatedHost.isSimulated(root: root))
        let discovery = HostDiscovery(sysfs: LinuxSysFS(root: root), links: RTNetlinkLinkControl())
        let found = try discovery.discover().interfaces
        #expect(found.count == 1)
        #expect(found.first?.name == "sxq9f0")
        #expect(found.first?.mtu == 1500)
        #expect(found.first?.mac == "b4:96:91:a5:c7:20")
        #expect(found.first?.linkAdminState == "up")
        #expect(found.first?.linkType == "ETH")
    }

    @Test("systemd-mode config is written with upstream's file name and lower-case Go keys, and read back")
    func systemdConfigFile() throws {
        let node = try SimulatedNode.make("systemd-a")
        defer { node.remove() }
        let files = SystemdFiles(sysfs: try node.sysfs)
        let config = SystemdFiles.Config(spec: Self.spec(numVfs: 4), unsupportedNics: true, platformType: 0)
        #expect(try files.writeConfig(config))
        #expect(try files.writeConfig(config) == false, "same content: no change")
        let text = try LinuxSysFS(root: node.root).read("/etc/sriov-operator/sriov-interface-config.yaml")
        for key in [
            "spec:", "pciaddress:", "numvfs: 4", "vfgroups:", "resourcename: net", "devicetype: netdevice",
            "unsupportedNics: true", "platformType: 0", "manageSoftwareBridges: false", "ovsdbSocketPath:",
        ] {
            #expect(text.contains(key), "missing \(key) in \(text)")
        }
        #expect(try files.readConfig() == config)

        // A file as upstream's daemon writes it (yaml.v3, every field, 4-space indent).
        let upstream = """
            spec:
                interfaces:
                    - pciaddress: "0000:3b:00.0"
                      numvfs: 2
                      mtu: 0
                      name: ens1f0
                      linktype: ""
                      eswitchmode: ""
                      vfgroups:
                        - resourcename: intel
                          devicetype: vfio-pci
                          vfrange: 0-1
                          policyname: p
                          mtu: 0
                          isrdma: false
                          vdpatype: ""
                      externallymanaged: false
                bridges:
                    ovs: []
                system:
                    rdmamode: ""
            unsupportedNics: false
            platformType: 0
            manageSoftwareBridges: false
            ovsdbSocketPath: ""

            """
        try LinuxSysFS(root: node.root).createFile(SystemdFiles.configPath, upstream)
        let read = try #require(try files.readConfig())
        #expect(read.spec.interfaces.first?.numVfs == 2)
        #expect(read.spec.interfaces.first?.vfGroups.first?.deviceType == "vfio-pci")
        #expect(read.spec.interfaces.first?.vfGroups.first?.vfRange == "0-1")
    }

    @Test(
        "sriov service: pre creates the VFs and leaves InProgress, post binds them and writes Succeeded; a failure is 'pre: …'"
    )
    func systemdPhases() async throws {
        let node = try SimulatedNode.make("systemd-b")
        defer { node.remove() }
        let host = try node.host
        let files = SystemdFiles(sysfs: host.sysfs)
        try files.writeConfig(SystemdFiles.Config(spec: Self.spec(numVfs: 3, deviceType: "vfio-pci")))
        let service = SystemdService(host: host, nodeName: node.name, logger: Logger(label: "test"))
        let pre = try await service.run(.pre)
        #expect(pre == SystemdFiles.Result(syncStatus: "InProgress"))
        #expect(node.numVfs(SimulatedNode.pf0) == 3)
        let post = try await service.run(.post)
        #expect(post == SystemdFiles.Result(syncStatus: "Succeeded"))
        #expect(node.vfDrivers(SimulatedNode.pf0) == ["vfio-pci", "vfio-pci", "vfio-pci"])
        #expect(try LinuxSysFS(root: node.root).read(SystemdFiles.resultPath).contains("syncStatus: Succeeded"))

        try files.writeConfig(SystemdFiles.Config(spec: Self.spec(numVfs: 50)))
        let failed = try #require(try await service.run(.pre))
        #expect(failed.syncStatus == "Failed")
        #expect(failed.lastSyncError.hasPrefix("pre: "))
        #expect(failed.lastSyncError.contains("sriov_totalvfs"))
        // post does nothing after a failed pre.
        #expect(try await service.run(.post) == failed)
    }

    @Test("kernel arguments go through the host's tool: grubby, rpm-ostree, or a grub.d drop-in with update-grub")
    func kernelArgumentTools() throws {
        let node = try SimulatedNode.make("kargs")
        defer { node.remove() }
        let fs = LinuxSysFS(root: node.root)
        let host = try node.host
        #expect(host.kernelArguments.tool == nil)
        #expect(throws: HostError.self) { try host.kernelArguments.update(add: ["iommu=pt"]) }

        try fs.createFile("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        #expect(host.kernelArguments.tool == .updateGrub)
        try host.kernelArguments.update(add: ["intel_iommu=on", "iommu=pt"])
        let dropIn = try fs.read(KernelArgumentEditor.grubDropIn)
        #expect(dropIn.contains("GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on iommu=pt\""))
        try host.kernelArguments.update(add: [], remove: ["intel_iommu=on"])
        #expect(try fs.read(KernelArgumentEditor.grubDropIn).contains("DEFAULT iommu=pt\""))

        try fs.createFile("/usr/sbin/grubby", "")
        #expect(host.kernelArguments.tool == .grubby)
        try host.kernelArguments.update(add: ["pci=realloc"])
        try fs.createFile("/run/ostree-booted", "")
        #expect(host.kernelArguments.tool == .rpmOstree)
        try host.kernelArguments.update(add: ["ib_core.netns_mode=1"])
        let log = try fs.read(SimulatedCommandRunner.logFile)
        #expect(log.contains("update-grub"))
        #expect(log.contains("grubby --update-kernel=ALL --args=pci=realloc"))
        #expect(log.contains("rpm-ostree kargs --append=ib_core.netns_mode=1"))
    }
}
