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

    public var changesVfCount: Bool { self.isManaged && !self.externallyManaged && self.currentVfs != self.desiredVfs }
    public var raisesMTU: Bool { self.desiredMTU > 0 && self.desiredMTU > self.currentMTU }
    public var changesESwitchMode: Bool {
        self.isManaged && Self.mode(self.currentESwitchMode) != Self.mode(self.desiredESwitchMode)
    }
    public var hasChanges: Bool {
        self.changesVfCount || self.raisesMTU || self.changesESwitchMode || self.driverMismatches > 0
    }

    static func mode(_ m: String) -> String { m.isEmpty ? "legacy" : m }
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
            if let desired {
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
                driverMismatches: mismatches
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
            // Virtual nodes only drain to reset a device they configured before.
            if !isVirtual, change.hasChanges, change.currentVfs > 0 {
                result.needsDrain = true
                var what: [String] = []
                if change.changesVfCount { what.append("VF count \(change.currentVfs) → \(change.desiredVfs)") }
                if change.raisesMTU { what.append("MTU \(change.currentMTU) → \(change.desiredMTU)") }
                if change.changesESwitchMode {
                    what.append(
                        "eSwitch mode \(PFChange.mode(change.currentESwitchMode)) → \(PFChange.mode(change.desiredESwitchMode))"
                    )
                }
                if change.driverMismatches > 0 {
                    what.append(
                        "\(change.driverMismatches) VF\(change.driverMismatches == 1 ? "" : "s") rebound to another driver"
                    )
                }
                result.reasons.append("\(label): \(what.joined(separator: ", ")) while VFs exist (drain)")
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
