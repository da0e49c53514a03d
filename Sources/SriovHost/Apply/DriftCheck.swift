public import SriovAPI

/// The host side of upstream's `NeedToUpdateSriov`: whether a PF must be reconfigured to match its spec.
///
/// The rule itself lives in SriovAPI (``SriovAPI/NeedToUpdateSriov``) so that the operator's drain estimate
/// (`sriov plan`) and this drift check are one implementation. One condition is left out here: upstream's
/// rule is true for every VF of an externally managed PF (so that the VF's admin MAC is set again), which
/// would make the apply plan re-configure such a PF on every pass; upstream's daemon skips externally
/// managed PFs in its drift check (the generic plugin's `CheckStatusChanges`) for the same reason.
/// Upstream: api/v1/helper.go NeedToUpdateSriov.
public enum DriftCheck {
    /// The reasons a PF differs from its spec; empty when it matches.
    public static func differences(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> [String] {
        NeedToUpdateSriov.reasons(spec: spec, status: status).filter { $0.kind != .externallyManaged }.map(\.message)
    }

    public static func needsUpdate(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> Bool {
        !self.differences(spec: spec, status: status).isEmpty
    }

    static func mode(_ m: String) -> String { NeedToUpdateSriov.eSwitchMode(m) }
}

/// Userspace (DPDK) drivers versus kernel network drivers.
public enum DriverKind {
    public static let dpdkDrivers: Set<String> = NeedToUpdateSriov.dpdkDrivers
    public static func isDPDK(_ driver: String) -> Bool { self.dpdkDrivers.contains(driver) }
}

/// `"a-b"` VF ranges of a VfGroup, read as upstream's `IndexInRange` reads them.
enum VFRangeCheck {
    static func contains(_ range: String, _ vf: Int) -> Bool {
        NeedToUpdateSriov.parseRange(range)?.contains(vf) ?? false
    }
}
