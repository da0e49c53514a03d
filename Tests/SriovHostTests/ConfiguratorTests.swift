import Foundation
import SriovAPI
import Testing

@testable import SriovHost

typealias IF = SriovNetworkNodeState.Interface
typealias Group = SriovNetworkNodeState.VfGroup

@Suite("Applying a NodeState spec to a simulated host")
struct ConfiguratorTests {
    static let dpdkAndKernel = SriovNetworkNodeState.Spec(interfaces: [
        IF(
            pciAddress: "0000:3b:00.0",
            numVfs: 8,
            mtu: 9000,
            name: "ens1f0",
            vfGroups: [
                Group(resourceName: "intel_dpdk", deviceType: "vfio-pci", vfRange: "0-3", policyName: "dpdk"),
                Group(
                    resourceName: "intel_netdevice",
                    deviceType: "netdevice",
                    vfRange: "4-7",
                    policyName: "kernel",
                    mtu: 9000
                ),
            ]
        )
    ])

    @Test("the plan follows upstream's write order: udev rule, numvfs 0 then N, MTU, VFs, link up, record")
    func planOrder() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        let plan = try host.configurator().plan(spec: Self.dpdkAndKernel)
        #expect(
            plan.steps.map(\.description) == [
                "load kernel module vfio_pci",
                "write udev rule /etc/udev/rules.d/10-nm-disable-0000:3b:00.0.rules",
                "ens1f0 (0000:3b:00.0): write sriov_numvfs 0",
                "ens1f0 (0000:3b:00.0): write sriov_numvfs 8",
                "ens1f0 (0000:3b:00.0): set MTU 9000",
                "ens1f0 (0000:3b:00.0): bind VFs without a driver to the default driver",
                "ens1f0 (0000:3b:00.0): VFs 0-3 → vfio-pci (resource intel_dpdk)",
                "ens1f0 (0000:3b:00.0): VFs 4-7 → netdevice, MTU 9000 (resource intel_netdevice)",
                "ens1f0 (0000:3b:00.0): set link up",
                "record applied state /etc/sriov-operator/pci/0000:3b:00.0",
            ]
        )
        // No VFs exist yet, so nothing to drain for them, but the missing IOMMU arguments mean a reboot (which drains).
        #expect(plan.disruption.needsReboot)
        #expect(plan.disruption.needsDrain)
        #expect(plan.disruption.reasons == ["vfio-pci needs kernel arguments intel_iommu=on iommu=pt"])
        #expect(plan.missingKernelArguments == ["intel_iommu=on", "iommu=pt"])
    }

    @Test(
        "apply makes it so: VFs exist, drivers bound per group, MTUs set, record written; a second apply does nothing"
    )
    func applyIsIdempotent() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        let configurator = host.configurator()
        var executed: [String] = []
        try configurator.apply(spec: Self.dpdkAndKernel) { executed.append($0.description) }
        #expect(executed.count == 10)
        let pf = try #require(try host.interface("ens1f0"))
        #expect(pf.numVfs == 8)
        #expect(pf.mtu == 9000)
        #expect(pf.Vfs.prefix(4).allSatisfy { $0.driver == "vfio-pci" && $0.name.isEmpty })
        #expect(pf.Vfs.suffix(4).allSatisfy { $0.driver == "iavf" && $0.mtu == 9000 })
        #expect(host.sysfs.exists("/sys/module/vfio_pci"))
        #expect(try host.sysfs.read("/etc/udev/rules.d/10-nm-disable-0000:3b:00.0.rules").contains("0000:3b:00.0"))
        #expect(
            AppliedState(sysfs: host.sysfs).load(try PCIAddress("0000:3b:00.0")) == Self.dpdkAndKernel.interfaces[0]
        )
        #expect(try configurator.plan(spec: Self.dpdkAndKernel).steps.isEmpty)
    }

    @Test("a smaller spec resets what was dropped: the other PF goes back to 0 VFs and loses its record")
    func resetDropped() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        let configurator = host.configurator()
        var both = Self.dpdkAndKernel
        both.interfaces.append(
            IF(
                pciAddress: "0000:3b:00.1",
                numVfs: 4,
                name: "ens1f1",
                vfGroups: [
                    Group(resourceName: "backend", deviceType: "netdevice", vfRange: "0-3", policyName: "backend")
                ]
            )
        )
        try configurator.apply(spec: both)
        #expect(try host.interface("ens1f1")?.numVfs == 4)
        let plan = try configurator.plan(spec: Self.dpdkAndKernel)
        #expect(
            plan.steps.map(\.description) == [
                "remove /etc/udev/rules.d/10-nm-disable-0000:3b:00.1.rules",
                "ens1f1 (0000:3b:00.1): write sriov_numvfs 0",
                "remove applied state /etc/sriov-operator/pci/0000:3b:00.1",
            ]
        )
        #expect(plan.disruption.needsDrain)
        try configurator.apply(spec: Self.dpdkAndKernel)
        #expect(try host.interface("ens1f1")?.numVfs == 0)
        #expect(try host.interface("ens1f0")?.numVfs == 8)
        #expect(AppliedState(sysfs: host.sysfs).recorded().map(\.rawValue) == ["0000:3b:00.0"])
    }

    @Test("changing the VF count of a PF with VFs writes 0 first and needs a drain")
    func numVfsChange() throws {
        let host = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0", numVfs: 2)]))
        let spec = SriovNetworkNodeState.Spec(interfaces: [IF(pciAddress: "0000:3b:00.0", numVfs: 4, name: "ens1f0")])
        let plan = try host.configurator().plan(spec: spec)
        #expect(plan.disruption.needsDrain)
        #expect(plan.steps.contains(.setNumVfs(pf: try PCIAddress("0000:3b:00.0"), name: "ens1f0", count: 0)))
        try host.configurator().apply(spec: spec)
        #expect(try host.interface("ens1f0")?.numVfs == 4)
    }

    @Test("mlx5 switchdev: legacy VFs, unbind, then switchdev; representors appear; RDMA VFs rebound")
    func switchdev() throws {
        let host = try TestHost(profileNamed: "mellanox-cx6dx")
        let spec = SriovNetworkNodeState.Spec(interfaces: [
            IF(
                pciAddress: "0000:5e:00.0",
                numVfs: 4,
                name: "ens2f0np0",
                eSwitchMode: "switchdev",
                vfGroups: [
                    Group(resourceName: "mlx", deviceType: "netdevice", vfRange: "0-3", policyName: "p", isRdma: true)
                ]
            )
        ])
        let plan = try host.configurator().plan(spec: spec)
        let names = plan.steps.map(\.description)
        #expect(names.contains("ens2f0np0 (0000:5e:00.0): unbind all VFs from their drivers"))
        #expect(
            names.firstIndex(of: "ens2f0np0 (0000:5e:00.0): write sriov_numvfs 4")!
                < names.firstIndex(of: "ens2f0np0 (0000:5e:00.0): set eswitch mode switchdev")!
        )
        try host.configurator().apply(spec: spec)
        let iface = try #require(try host.interface("ens2f0np0"))
        #expect(iface.eSwitchMode == "switchdev")
        #expect(iface.Vfs.count == 4)
        #expect(iface.Vfs.allSatisfy { $0.driver == "mlx5_core" && !$0.representorName.isEmpty })
        #expect(try host.configurator().plan(spec: spec).steps.isEmpty)
    }

    @Test("refused before any write: malformed PCI address, unknown PF, too many VFs")
    func refusals() throws {
        let host = try TestHost(profileNamed: "intel-e810")
        for (pci, message) in [
            ("../../../etc", "is not a PCI address"),
            ("0000:99:00.0", "is in the spec but not on this host"),
        ] {
            let spec = SriovNetworkNodeState.Spec(interfaces: [IF(pciAddress: pci, numVfs: 1)])
            #expect {
                try host.configurator().apply(spec: spec)
            } throws: { "\($0)".contains(message) }
        }
        let tooMany = SriovNetworkNodeState.Spec(interfaces: [
            IF(pciAddress: "0000:3b:00.0", numVfs: 65, name: "ens1f0")
        ])
        #expect {
            try host.configurator().apply(spec: tooMany)
        } throws: { "\($0)".contains("numVfs 65 exceeds sriov_totalvfs 64 of ens1f0 (0000:3b:00.0)") }
        #expect(try host.interface("ens1f0")?.numVfs == 0)
        #expect(AppliedState(sysfs: host.sysfs).recorded().isEmpty)
    }

    @Test("a failing step names the step and errno, and the PF is reset to a known state")
    func failureResets() throws {
        let host = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0")], iommu: false))
        let spec = SriovNetworkNodeState.Spec(interfaces: [
            IF(
                pciAddress: "0000:3b:00.0",
                numVfs: 2,
                name: "ens1f0",
                vfGroups: [
                    Group(resourceName: "dpdk", deviceType: "vfio-pci", vfRange: "0-1", policyName: "p")
                ]
            )
        ])
        #expect {
            try host.configurator().apply(spec: spec)
        } throws: { error in
            let text = "\(error)"
            return text.contains("VFs 0-1 → vfio-pci") && text.contains("errno 22") && text.contains("IOMMU")
                && text.contains("was reset to 0 VFs")
        }
        #expect(try host.interface("ens1f0")?.numVfs == 0)
    }

    @Test("externally managed PF: VFs are not created; too few VFs is an error")
    func externallyManaged() throws {
        let host = try TestHost(profile: .single(ports: [.port("0000:3b:00.0", "ens1f0", numVfs: 2)]))
        let spec = SriovNetworkNodeState.Spec(interfaces: [
            IF(pciAddress: "0000:3b:00.0", numVfs: 4, name: "ens1f0", externallyManaged: true)
        ])
        #expect {
            try host.configurator().plan(spec: spec)
        } throws: { "\($0)".contains("has 2 VFs, the spec wants 4") }
        let fits = SriovNetworkNodeState.Spec(interfaces: [
            IF(pciAddress: "0000:3b:00.0", numVfs: 2, name: "ens1f0", externallyManaged: true)
        ])
        let plan = try host.configurator().plan(spec: fits)
        #expect(!plan.steps.contains { if case .setNumVfs = $0 { true } else { false } })
    }
}

@Suite("Drift (NeedToUpdateSriov)")
struct DriftTests {
    let status = SriovNetworkNodeState.InterfaceExt(
        name: "ens1f0",
        pciAddress: "0000:3b:00.0",
        mtu: 1500,
        numVfs: 2,
        linkAdminState: "up",
        eSwitchMode: "legacy",
        Vfs: [
            .init(name: "ens1f0v0", driver: "iavf", pciAddress: "0000:3b:01.0", mtu: 1500, vfID: 0),
            .init(driver: "vfio-pci", pciAddress: "0000:3b:01.1", vfID: 1),
        ]
    )

    @Test("a matching PF needs nothing")
    func matches() {
        let spec = IF(
            pciAddress: "0000:3b:00.0",
            numVfs: 2,
            vfGroups: [
                Group(deviceType: "netdevice", vfRange: "0-0"), Group(deviceType: "vfio-pci", vfRange: "1-1"),
            ]
        )
        #expect(DriftCheck.differences(spec: spec, status: self.status).isEmpty)
    }

    @Test(
        "each upstream condition is detected",
        arguments: [
            (IF(pciAddress: "0000:3b:00.0", numVfs: 3), "2 VFs ≠ 3"),
            (IF(pciAddress: "0000:3b:00.0", numVfs: 2, mtu: 9000), "MTU 1500 < 9000"),
            (IF(pciAddress: "0000:3b:00.0", numVfs: 2, eSwitchMode: "switchdev"), "eSwitch mode legacy ≠ switchdev"),
            (
                IF(pciAddress: "0000:3b:00.0", numVfs: 2, vfGroups: [Group(deviceType: "vfio-pci", vfRange: "0-0")]),
                "VF 0 on iavf, wants vfio-pci"
            ),
            (
                IF(pciAddress: "0000:3b:00.0", numVfs: 2, vfGroups: [Group(deviceType: "netdevice", vfRange: "1-1")]),
                "VF 1 on vfio-pci, wants a kernel driver"
            ),
            (
                IF(
                    pciAddress: "0000:3b:00.0",
                    numVfs: 2,
                    vfGroups: [Group(deviceType: "netdevice", vfRange: "0-0", mtu: 9000)]
                ),
                "VF 0 MTU 1500 ≠ 9000"
            ),
        ]
    )
    func detects(spec: IF, reason: String) {
        #expect(DriftCheck.differences(spec: spec, status: self.status).contains(reason))
    }
}
