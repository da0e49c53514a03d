public import Logging
public import SriovAPI

/// Makes the host match a `SriovNetworkNodeState.spec`: the config daemon's generic plugin, and the
/// engine of standalone `sriov apply`.
///
/// ``plan(spec:)`` computes the steps (nothing is written); ``apply(spec:)`` runs them, logging one line
/// per step, and stops at the first failure with an error naming the step, path and errno. Writes touch
/// only the sysfs paths of PCI devices named in the spec or recorded as configured earlier; PCI addresses
/// and interface names are validated before any path is built.
public struct HostConfigurator: Sendable {
    public var sysfs: any SysFS
    public var links: any LinkControl
    public var modules: any KernelModules
    /// Reads the host's current state (``HostDiscovery`` on bare metal, ``VirtualDiscovery`` on VMs).
    public var discover: @Sendable () throws(HostError) -> [SriovNetworkNodeState.InterfaceExt]
    public var logger: Logger
    /// VF ids per PF device id for the udev rule (`ATTRS{device}`); the supported-NIC table's VF ids.
    public var vfDeviceIDs: [String]
    /// Virtual (OpenStack/AWS) node: one VF per device, no MTU changes, no VF creation, vfio in no-IOMMU mode.
    public var isVirtual: Bool

    public init(
        sysfs: any SysFS,
        links: any LinkControl,
        modules: any KernelModules,
        discovery: HostDiscovery,
        logger: Logger,
        vfDeviceIDs: [String] = [
            "154c", "1889", "10ed", "1515", "1565", "101e", "1018", "1016", "1014", "101a", "101c",
        ],
        isVirtual: Bool = false
    ) {
        self.sysfs = sysfs
        self.links = links
        self.modules = modules
        self.discover = { () throws(HostError) in try discovery.discover().interfaces }
        self.logger = logger
        self.vfDeviceIDs = vfDeviceIDs
        self.isVirtual = isVirtual
    }

    /// What applying a spec would do: the steps, and whether the node must drain or reboot first.
    public struct Plan: Sendable {
        public var steps: [HostStep]
        public var disruption: HostDisruption
        /// Kernel arguments the spec needs that the running kernel lacks (a reboot is needed for them).
        public var missingKernelArguments: [String]
    }

    /// Computes the steps that would make the host match `spec`, from a fresh discovery.
    /// - Throws: ``HostError`` when the spec cannot be applied at all (malformed PCI address, PF not on
    ///   this host, more VFs than `sriov_totalvfs`, an externally managed PF that does not match).
    public func plan(spec: SriovNetworkNodeState.Spec) throws(HostError) -> Plan {
        let status = try self.discover()
        return try self.plan(spec: spec, status: status)
    }

    public func plan(
        spec: SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(HostError) -> Plan {
        var steps: [HostStep] = []
        var disruption = HostDisruption()
        let applied = AppliedState(sysfs: self.sysfs)
        let kernel = KernelState(sysfs: self.sysfs)
        let groups = spec.interfaces.flatMap(\.vfGroups)

        // Kernel modules first (upstream: before touching interfaces).
        if groups.contains(where: { $0.deviceType == "vfio-pci" }) {
            if self.isVirtual, !kernel.isLoaded("vfio") {
                steps.append(.loadKernelModule(name: "vfio", parameters: "enable_unsafe_noiommu_mode=1"))
            }
            if !kernel.isLoaded("vfio_pci") { steps.append(.loadKernelModule(name: "vfio_pci", parameters: "")) }
        }
        for (type, module) in [("virtio", "virtio_vdpa"), ("vhost", "vhost_vdpa")]
        where groups.contains(where: { $0.vdpaType == type }) && !kernel.isLoaded(module) {
            steps.append(.loadKernelModule(name: module, parameters: ""))
        }
        var missingArguments: [String] = []
        if !self.isVirtual, groups.contains(where: { $0.deviceType == "vfio-pci" }) {
            missingArguments = kernel.missing(kernel.iommuArguments)
            if !missingArguments.isEmpty {
                disruption.needsReboot = true
                disruption.reasons.append("vfio-pci needs kernel arguments \(missingArguments.joined(separator: " "))")
            }
        }

        var seen: Set<String> = []
        for wanted in spec.interfaces {
            let pf = try PCIAddress(wanted.pciAddress)
            guard seen.insert(pf.rawValue).inserted else {
                throw HostError(code: .invalidArgument, message: "PF \(pf) appears twice in spec.interfaces")
            }
            if !wanted.name.isEmpty { _ = try InterfaceName(wanted.name) }
            guard let current = status.first(where: { $0.pciAddress == pf.rawValue }) else {
                throw HostError(
                    code: .notFound,
                    message:
                        "PF \(pf)\(wanted.name.isEmpty ? "" : " (\(wanted.name))") is in the spec but not on this host",
                    path: pf.sysfsPath
                )
            }
            let differences = DriftCheck.differences(spec: wanted, status: current)
            let record = applied.load(pf)
            if differences.isEmpty {
                if record != wanted { steps.append(.saveAppliedState(pf: pf, interface: wanted)) }
                continue
            }
            // Virtual nodes only drain to reset a device (upstream's virtual plugin).
            if current.numVfs > 0, !wanted.externallyManaged, !self.isVirtual {
                disruption.needsDrain = true
                disruption.reasons.append("\(current.name): \(differences.joined(separator: ", ")) while VFs exist")
            }
            steps += try self.configureSteps(pf: pf, wanted: wanted, current: current)
        }

        // Reset PFs we configured earlier and no longer manage.
        for pf in applied.recorded() where !seen.contains(pf.rawValue) {
            let record = applied.load(pf)
            guard let current = status.first(where: { $0.pciAddress == pf.rawValue }) else {
                steps.append(.removeAppliedState(pf: pf))
                continue
            }
            if record?.externallyManaged == true {
                steps.append(.removeAppliedState(pf: pf))
                continue
            }
            steps += self.resetSteps(pf: pf, current: current)
            if current.numVfs > 0 {
                disruption.needsDrain = true
                disruption.reasons.append(
                    self.isVirtual
                        ? "\(current.name): no longer in the spec; it goes back to its kernel driver"
                        : "\(current.name): no longer in the spec; its \(current.numVfs) VF\(current.numVfs == 1 ? "" : "s") are removed"
                )
            }
        }
        if disruption.needsReboot { disruption.needsDrain = true }
        return Plan(steps: steps, disruption: disruption, missingKernelArguments: missingArguments)
    }

    func configureSteps(
        pf: PCIAddress,
        wanted: SriovNetworkNodeState.Interface,
        current: SriovNetworkNodeState.InterfaceExt
    ) throws(HostError) -> [HostStep] {
        let name = current.name
        var steps: [HostStep] = []
        if self.isVirtual {
            // One "VF" per passthrough device: only drivers change (reference §5, virtual plugin).
            guard wanted.numVfs <= 1, wanted.vfGroups.count == 1,
                wanted.vfGroups.first.map({ VFRangeCheck.contains($0.vfRange, 0) }) == true
            else {
                throw HostError(
                    code: .invalidArgument,
                    message: "virtual node: \(pf) supports exactly one VF group containing VF 0 and numVfs ≤ 1"
                )
            }
            steps += wanted.vfGroups.map { .configureVFs(pf: pf, name: name, group: $0) }
            steps.append(.saveAppliedState(pf: pf, interface: wanted))
            return steps
        }
        if wanted.externallyManaged {
            if wanted.numVfs > current.numVfs {
                throw HostError(
                    code: .invalidArgument,
                    message:
                        "externally managed PF \(name) (\(pf)) has \(current.numVfs) VFs, the spec wants \(wanted.numVfs); create them first"
                )
            }
            if wanted.mtu > 0, wanted.mtu > current.mtu {
                throw HostError(
                    code: .invalidArgument,
                    message:
                        "externally managed PF \(name) (\(pf)) has MTU \(current.mtu), the spec wants \(wanted.mtu)"
                )
            }
        } else {
            if wanted.numVfs > current.totalvfs {
                throw HostError(
                    code: .invalidArgument,
                    message: "numVfs \(wanted.numVfs) exceeds sriov_totalvfs \(current.totalvfs) of \(name) (\(pf))",
                    path: pf.sysfsPath + "/sriov_totalvfs"
                )
            }
            let rule = "/etc/udev/rules.d/10-nm-disable-\(pf).rules"
            let content = UdevRules.nmUnmanaged(pf: pf, vfDeviceIDs: self.vfDeviceIDs)
            if self.sysfs.readIfPresent(rule) != content.trimmingWhitespace {
                steps.append(.writeUdevRule(path: rule, content: content))
            }
            let targetMode = DriftCheck.mode(wanted.eSwitchMode)
            let currentMode = DriftCheck.mode(current.eSwitchMode)
            if wanted.numVfs != current.numVfs || targetMode != currentMode {
                if current.driver == "ice" {
                    if targetMode != currentMode {
                        steps.append(.setNumVfs(pf: pf, name: name, count: 0))
                        steps.append(.setEswitchMode(pf: pf, name: name, mode: targetMode))
                    }
                    steps.append(.setNumVfs(pf: pf, name: name, count: 0))
                    steps.append(.setNumVfs(pf: pf, name: name, count: wanted.numVfs))
                } else {
                    if currentMode != "legacy" {
                        steps.append(.unbindVFs(pf: pf, name: name))
                        steps.append(.setEswitchMode(pf: pf, name: name, mode: "legacy"))
                    }
                    steps.append(.setNumVfs(pf: pf, name: name, count: 0))
                    steps.append(.setNumVfs(pf: pf, name: name, count: wanted.numVfs))
                    if targetMode == "switchdev" {
                        steps.append(.unbindVFs(pf: pf, name: name))
                        steps.append(.setEswitchMode(pf: pf, name: name, mode: "switchdev"))
                    }
                }
            }
            if targetMode == "switchdev" {
                let path = "/etc/udev/rules.d/20-switchdev-\(pf).rules"
                let content = UdevRules.switchdevRepresentors(pfName: name)
                if self.sysfs.readIfPresent(path) != content.trimmingWhitespace {
                    steps.append(.writeUdevRule(path: path, content: content))
                }
            }
            if wanted.mtu > 0, wanted.mtu > current.mtu {
                steps.append(.setMTU(pf: pf, name: name, mtu: wanted.mtu))
            }
        }
        steps.append(.bindUngroupedVFs(pf: pf, name: name))
        steps += wanted.vfGroups.map { .configureVFs(pf: pf, name: name, group: $0) }
        steps.append(.setLinkUp(pf: pf, name: name))
        steps.append(.saveAppliedState(pf: pf, interface: wanted))
        return steps
    }

    /// Where the status before the first apply is kept (upstream: `/host/tmp/sno-initial-node-state.json`
    /// inside the daemon container, i.e. `/tmp/…` on the host); resets restore MTU and eswitch mode from it.
    /// The path is resolved inside the root (a `/tmp` link pointing out of it is refused).
    public var checkpoint: PlatformCheckpoint {
        get throws(HostError) {
            let resolved = try self.sysfs.canonicalPath("/tmp/sno-initial-node-state.json")
            return PlatformCheckpoint(path: (self.sysfs.root == "/" ? "" : self.sysfs.root) + resolved)
        }
    }

    func resetSteps(pf: PCIAddress, current: SriovNetworkNodeState.InterfaceExt) -> [HostStep] {
        var steps: [HostStep] = []
        let initial = ((try? self.checkpoint.load()) ?? nil)?.first { $0.pciAddress == pf.rawValue }
        for rule in ["10-nm-disable-\(pf).rules", "20-switchdev-\(pf).rules", "10-pf-name-\(pf).rules"]
        where self.sysfs.exists("/etc/udev/rules.d/\(rule)") {
            steps.append(.removeFile(path: "/etc/udev/rules.d/\(rule)"))
        }
        if self.isVirtual {
            // Upstream's virtual reset: back to the default (kernel) driver.
            let group = SriovNetworkNodeState.VfGroup(deviceType: "netdevice", vfRange: "0-0")
            steps.append(.configureVFs(pf: pf, name: current.name, group: group))
        } else if current.numVfs > 0 {
            if DriftCheck.mode(current.eSwitchMode) != "legacy" {
                steps.append(.unbindVFs(pf: pf, name: current.name))
                steps.append(.setEswitchMode(pf: pf, name: current.name, mode: "legacy"))
            }
            steps.append(.setNumVfs(pf: pf, name: current.name, count: 0))
            let initialMode = DriftCheck.mode(initial?.eSwitchMode ?? "legacy")
            if initialMode != "legacy" { steps.append(.setEswitchMode(pf: pf, name: current.name, mode: initialMode)) }
        }
        if !self.isVirtual, !current.name.isEmpty {
            // Upstream restores the PF MTU: the checkpoint's, else 1500 (Ethernet) or 2048 (InfiniBand).
            let mtu = initial.map(\.mtu).flatMap { $0 > 0 ? $0 : nil } ?? (current.linkType == "IB" ? 2048 : 1500)
            if current.mtu != mtu { steps.append(.setMTU(pf: pf, name: current.name, mtu: mtu)) }
        }
        steps.append(.removeAppliedState(pf: pf))
        return steps
    }
}

/// Whether a change needs the node drained or rebooted first, and why.
public struct HostDisruption: Sendable, Hashable {
    public var needsDrain: Bool = false
    public var needsReboot: Bool = false
    public var reasons: [String] = []

    public init(needsDrain: Bool = false, needsReboot: Bool = false, reasons: [String] = []) {
        self.needsDrain = needsDrain
        self.needsReboot = needsReboot
        self.reasons = reasons
    }
}
