public import SriovAPI

/// Whether applying a NodeState spec would drain or reboot the node, and why.
public struct NodeDisruption: Sendable, Hashable {
    public var needsDrain: Bool = false
    public var needsReboot: Bool = false
    /// One human sentence per cause, e.g. `ens1f0: VF count 4 → 8 while VFs exist`.
    public var reasons: [String] = []

    public init(needsDrain: Bool = false, needsReboot: Bool = false, reasons: [String] = []) {
        self.needsDrain = needsDrain
        self.needsReboot = needsReboot
        self.reasons = reasons
    }
}

/// How one PF changes between the discovered status and the desired spec.
public struct PFChange: Sendable, Hashable {
    public var pciAddress: String
    public var name: String
    public var vendor: String
    public var deviceID: String
    public var currentVfs: Int
    public var desiredVfs: Int
    public var totalVfs: Int
    public var currentMTU: Int
    /// 0 when the spec leaves the MTU alone.
    public var desiredMTU: Int
    public var currentESwitchMode: String
    public var desiredESwitchMode: String
    /// False when the PF is in status only (not managed by any policy).
    public var isManaged: Bool
    public var externallyManaged: Bool
    public var groups: [SriovNetworkNodeState.VfGroup]
    /// VFs whose driver does not match the group's device type.
    public var driverMismatches: Int
    /// Why the PF needs an update, upstream's `NeedToUpdateSriov` (``SriovAPI/NeedToUpdateSriov``); empty
    /// when it is not in the spec or matches it.
    public var updateReasons: [NeedToUpdateSriov.Reason] = []

    public var changesVfCount: Bool { self.isManaged && !self.externallyManaged && self.currentVfs != self.desiredVfs }
    public var raisesMTU: Bool { self.desiredMTU > 0 && self.desiredMTU > self.currentMTU }
    public var changesESwitchMode: Bool {
        self.isManaged && Self.mode(self.currentESwitchMode) != Self.mode(self.desiredESwitchMode)
    }
    /// The PF is reconfigured (upstream's `NeedToUpdateSriov` is true).
    public var hasChanges: Bool { !self.updateReasons.isEmpty }

    static func mode(_ m: String) -> String { m.isEmpty ? "legacy" : m }

    /// ``updateReasons`` for people: PF-level changes with old → new values, VF-level ones counted.
    public var summary: [String] {
        var out: [String] = []
        var counts: [NeedToUpdateSriov.Reason.Kind: Int] = [:]
        for reason in self.updateReasons {
            switch reason.kind {
            case .numVfs: out.append("VF count \(self.currentVfs) → \(self.desiredVfs)")
            case .mtu: out.append("MTU \(self.currentMTU) → \(self.desiredMTU)")
            case .eSwitchMode:
                out.append("eSwitch mode \(Self.mode(self.currentESwitchMode)) → \(Self.mode(self.desiredESwitchMode))")
            case .linkDown: out.append("PF link is down")
            default: counts[reason.kind, default: 0] += 1
            }
        }
        func vfs(_ n: Int) -> String { n == 1 ? "1 VF" : "\(n) VFs" }
        let bound = (counts[.vfDriver] ?? 0) + (counts[.vfWithoutDriver] ?? 0)
        if bound > 0 { out.append("\(vfs(bound)) rebound to another driver") }
        if let n = counts[.vfMTU] { out.append("\(vfs(n)) change MTU") }
        if let n = counts[.vfGUID] { out.append("\(vfs(n)) without a node GUID") }
        if let n = counts[.vfVdpaType] { out.append("\(vfs(n)) change vDPA type") }
        if let n = counts[.externallyManaged] { out.append("\(vfs(n)) of an externally managed PF re-configured") }
        return out
    }
}

/// The operator-side estimate of what the config daemon will decide (reference §4.4), from the
/// NodeState spec and the status the daemon last reported. The daemon decides for real on the node; this
/// estimate is what `sriov plan` shows so an admin knows what a policy change will cost.
public enum DisruptionEstimate {
    public static func changes(
        spec: SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) -> [PFChange] {
        status.map { iface in
            let desired = spec.interfaces.first { $0.pciAddress == iface.pciAddress }
            var mismatches = 0
            var reasons: [NeedToUpdateSriov.Reason] = []
            if let desired {
                reasons = NeedToUpdateSriov.reasons(spec: desired, status: iface)
                for group in desired.vfGroups {
                    guard let range = VfRange.parse(group.vfRange) else { continue }
                    for vf in iface.Vfs where range.contains(vf.vfID) {
                        if !self.driverMatches(vf.driver, deviceType: group.deviceType) { mismatches += 1 }
                    }
                }
            }
            return PFChange(
                pciAddress: iface.pciAddress,
                name: iface.name,
                vendor: iface.vendor,
                deviceID: iface.deviceID,
                currentVfs: iface.numVfs,
                desiredVfs: desired?.numVfs ?? iface.numVfs,
                totalVfs: iface.totalvfs,
                currentMTU: iface.mtu,
                desiredMTU: desired?.mtu ?? 0,
                currentESwitchMode: iface.eSwitchMode,
                desiredESwitchMode: desired?.eSwitchMode ?? iface.eSwitchMode,
                isManaged: desired != nil,
                externallyManaged: desired?.externallyManaged ?? iface.externallyManaged,
                groups: desired?.vfGroups ?? [],
                driverMismatches: mismatches,
                updateReasons: reasons
            )
        }
    }

    static func driverMatches(_ driver: String, deviceType: String) -> Bool {
        let dpdk: Set<String> = ["vfio-pci", "igb_uio", "uio_pci_generic"]
        if deviceType == "vfio-pci" { return driver == "vfio-pci" }
        return !driver.isEmpty && !dpdk.contains(driver)
    }

    /// - Parameters:
    ///   - isVirtual: the node is an OpenStack or AWS VM (never reboots, drains only to reset).
    ///   - previousSpec: the spec currently in the cluster (to see a vfio-pci pool appear).
    public static func estimate(
        spec: SriovNetworkNodeState.Spec,
        status: SriovNetworkNodeState.Status,
        previousSpec: SriovNetworkNodeState.Spec?,
        isVirtual: Bool
    ) -> NodeDisruption {
        var result = NodeDisruption()
        for change in self.changes(spec: spec, status: status.interfaces) {
            let label = change.name.isEmpty ? change.pciAddress : change.name
            let wasConfigured =
                previousSpec?.interfaces.contains {
                    $0.pciAddress == change.pciAddress && !$0.externallyManaged
                } ?? false
            if !change.isManaged {
                // The daemon resets only PFs it configured (its per-PF file exists): the previous spec had them.
                if change.currentVfs > 0, wasConfigured {
                    result.needsDrain = true
                    result.reasons.append(
                        "\(label): no policy selects it any more; its \(change.currentVfs) VF\(change.currentVfs == 1 ? "" : "s") are removed (drain)"
                    )
                }
                continue
            }
            // The generic plugin drains for a spec PF that has VFs now and that NeedToUpdateSriov says must be
            // updated (going from 0 VFs never drains). As our config daemon, an externally managed PF (whose
            // VFs the operator neither creates nor destroys) does not drain; virtual nodes only drain to reset
            // a device they configured before. Upstream: pkg/plugins/generic needToUpdateVFs.
            if !isVirtual, change.hasChanges, change.currentVfs > 0, !change.externallyManaged {
                result.needsDrain = true
                result.reasons.append("\(label): \(change.summary.joined(separator: ", ")) while VFs exist (drain)")
            }
            if !isVirtual, change.vendor == "15b3", change.isManaged, change.desiredVfs != change.totalVfs,
                change.totalVfs > 0 || change.desiredVfs > 0
            {
                result.needsReboot = true
                result.reasons.append(
                    "\(label): Mellanox firmware NUM_OF_VFS must change from \(change.totalVfs) to \(change.desiredVfs) (reboot)"
                )
            }
        }
        if !isVirtual {
            let hadVfio =
                previousSpec?.interfaces.contains { $0.vfGroups.contains { $0.deviceType == "vfio-pci" } } ?? false
            let hasVfio = spec.interfaces.contains { $0.vfGroups.contains { $0.deviceType == "vfio-pci" } }
            if hasVfio, !hadVfio {
                result.reasons.append(
                    "first vfio-pci pool: reboots if the kernel command line lacks intel_iommu=on iommu=pt (or iommu=pt on AMD)"
                )
            }
            let currentRdma = status.system?.rdmaMode ?? ""
            let desiredRdma = spec.system?.rdmaMode ?? ""
            if !desiredRdma.isEmpty, currentRdma != desiredRdma {
                result.needsReboot = true
                result.reasons.append(
                    "RDMA mode \(currentRdma.isEmpty ? "unset" : currentRdma) → \(desiredRdma): kernel argument ib_core.netns_mode changes (reboot)"
                )
            }
        }
        if result.needsReboot { result.needsDrain = true }
        return result
    }
}
