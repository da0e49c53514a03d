public import SriovAPI

/// Upstream's `NeedToUpdateSriov`: whether a PF must be reconfigured to match its spec.
/// Upstream: pkg/utils (api/v1/helper.go) NeedToUpdateSriov.
public enum DriftCheck {
    /// The reasons a PF differs from its spec; empty when it matches.
    public static func differences(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> [String] {
        var reasons: [String] = []
        if spec.mtu > 0, spec.mtu > status.mtu { reasons.append("MTU \(status.mtu) < \(spec.mtu)") }
        if Self.mode(spec.eSwitchMode) != Self.mode(status.eSwitchMode) {
            reasons.append("eSwitch mode \(Self.mode(status.eSwitchMode)) ≠ \(Self.mode(spec.eSwitchMode))")
        }
        if spec.numVfs != status.numVfs { reasons.append("\(status.numVfs) VFs ≠ \(spec.numVfs)") }
        if status.linkAdminState == "down" { reasons.append("link is down") }
        if spec.externallyManaged { return reasons }
        for vf in status.Vfs {
            guard let group = spec.vfGroups.first(where: { VFRangeCheck.contains($0.vfRange, vf.vfID) }) else {
                continue
            }
            if vf.driver.isEmpty {
                reasons.append("VF \(vf.vfID) has no driver")
                continue
            }
            if DriverKind.isDPDK(group.deviceType) {
                if vf.driver != group.deviceType {
                    reasons.append("VF \(vf.vfID) on \(vf.driver), wants \(group.deviceType)")
                }
                continue
            }
            if DriverKind.isDPDK(vf.driver) { reasons.append("VF \(vf.vfID) on \(vf.driver), wants a kernel driver") }
            if group.mtu > 0, vf.mtu > 0, vf.mtu != group.mtu {
                reasons.append("VF \(vf.vfID) MTU \(vf.mtu) ≠ \(group.mtu)")
            }
            if status.linkType == "IB" || group.isRdma, vf.guid == "0000:0000:0000:0000" {
                reasons.append("VF \(vf.vfID) has no GUID")
            }
            if group.vdpaType != vf.vdpaType {
                reasons.append(
                    "VF \(vf.vfID) vDPA \(vf.vdpaType.isEmpty ? "none" : vf.vdpaType) ≠ \(group.vdpaType.isEmpty ? "none" : group.vdpaType)"
                )
            }
        }
        return reasons
    }

    public static func needsUpdate(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> Bool {
        !self.differences(spec: spec, status: status).isEmpty
    }

    static func mode(_ m: String) -> String { m.isEmpty ? "legacy" : m }
}

/// `"a-b"` VF ranges of a VfGroup.
enum VFRangeCheck {
    static func contains(_ range: String, _ vf: Int) -> Bool {
        let parts = range.split(separator: "-")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return false }
        return vf >= a && vf <= b
    }
}

/// Userspace (DPDK) drivers versus kernel network drivers.
public enum DriverKind {
    public static let dpdkDrivers: Set<String> = ["vfio-pci", "igb_uio", "uio_pci_generic"]
    public static func isDPDK(_ driver: String) -> Bool { self.dpdkDrivers.contains(driver) }
}
