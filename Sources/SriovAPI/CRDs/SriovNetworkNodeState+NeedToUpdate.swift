/// Upstream's `NeedToUpdateSriov`: whether a PF must be reconfigured to match its spec, with one reason per
/// condition found.
///
/// This is the single implementation used by the operator side (`sriov plan`'s drain estimate) and by the
/// host side (the config daemon's drift check and apply plan), so both agree on when a PF is out of date.
///
/// The conditions, in upstream's order (upstream returns at the first; this collects them all, so the
/// boolean ``needsUpdate(spec:status:)`` is the same):
/// 1. `spec.mtu > 0` and greater than the PF's MTU (the PF MTU is only ever raised);
/// 2. the eSwitch mode differs (empty counts as `legacy`);
/// 3. `numVfs` differs;
/// 4. the PF link is administratively down;
/// 5. only when `spec.numVfs > 0`, for every VF in the status, the *first* VF group whose range contains its
///    `vfID`:
///    - the VF has no driver;
///    - a group of another device type than `netdevice` (vfio-pci and the other userspace drivers): the VF's
///      driver is not that type;
///    - a `netdevice` group (or an empty device type): the VF is on a userspace driver; its MTU differs from
///      the group's (both non-zero); the PF is Ethernet with `isRdma`, or InfiniBand, and the VF's node GUID
///      is the uninitialised `0000:0000:0000:0000`; the PF is externally managed (so that the VF's admin MAC
///      is set again);
///    - the VF's vDPA type differs from the group's (any device type).
///
/// Ranges are read as upstream's `parseRange` reads them (`strings.Split` at `-`, `strconv.Atoi` of the
/// first two parts); a range upstream would panic on (no `-`) contains no VF here.
///
/// Upstream: api/v1/helper.go NeedToUpdateSriov and IndexInRange; pkg/vars DpdkDrivers;
/// pkg/consts UninitializedNodeGUID.
public enum NeedToUpdateSriov {
    /// One condition that makes a PF need an update.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            case mtu, eSwitchMode, numVfs, linkDown
            case vfWithoutDriver, vfDriver, vfMTU, vfGUID, externallyManaged, vfVdpaType
        }

        public var kind: Kind
        /// A short human sentence, e.g. `2 VFs ≠ 3` or `VF 0 on iavf, wants vfio-pci`.
        public var message: String
        public var description: String { self.message }

        public init(_ kind: Kind, _ message: String) {
            self.kind = kind
            self.message = message
        }
    }

    /// Drivers that take a VF away from the kernel network stack (upstream `vars.DpdkDrivers`).
    public static let dpdkDrivers: Set<String> = ["igb_uio", "vfio-pci", "uio_pci_generic"]
    /// The node GUID of a VF whose GUID was never set (upstream `consts.UninitializedNodeGUID`).
    public static let uninitializedNodeGUID = "0000:0000:0000:0000"

    /// Every condition that holds, in upstream's order; empty when the PF matches its spec.
    public static func reasons(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> [Reason] {
        var reasons: [Reason] = []
        if spec.mtu > 0, spec.mtu > status.mtu { reasons.append(.init(.mtu, "MTU \(status.mtu) < \(spec.mtu)")) }
        let currentMode = self.eSwitchMode(status.eSwitchMode)
        let desiredMode = self.eSwitchMode(spec.eSwitchMode)
        if currentMode != desiredMode {
            reasons.append(.init(.eSwitchMode, "eSwitch mode \(currentMode) ≠ \(desiredMode)"))
        }
        if spec.numVfs != status.numVfs { reasons.append(.init(.numVfs, "\(status.numVfs) VFs ≠ \(spec.numVfs)")) }
        if status.linkAdminState == "down" { reasons.append(.init(.linkDown, "link is down")) }
        guard spec.numVfs > 0 else { return reasons }
        let ranges = spec.vfGroups.map { self.parseRange($0.vfRange) }
        for vf in status.Vfs {
            guard let index = ranges.firstIndex(where: { $0?.contains(vf.vfID) ?? false }) else { continue }
            let group = spec.vfGroups[index]
            let id = vf.vfID
            if vf.driver.isEmpty {
                reasons.append(.init(.vfWithoutDriver, "VF \(id) has no driver"))
                continue
            }
            if !group.deviceType.isEmpty, group.deviceType != "netdevice" {
                if group.deviceType != vf.driver {
                    reasons.append(.init(.vfDriver, "VF \(id) on \(vf.driver), wants \(group.deviceType)"))
                }
            } else {
                if self.dpdkDrivers.contains(vf.driver) {
                    reasons.append(.init(.vfDriver, "VF \(id) on \(vf.driver), wants a kernel driver"))
                }
                if vf.mtu != 0, group.mtu != 0, vf.mtu != group.mtu {
                    reasons.append(.init(.vfMTU, "VF \(id) MTU \(vf.mtu) ≠ \(group.mtu)"))
                }
                let linkType = status.linkType.lowercased()
                if (linkType == "eth" && group.isRdma) || linkType == "ib", vf.guid == self.uninitializedNodeGUID {
                    reasons.append(.init(.vfGUID, "VF \(id) has no GUID"))
                }
                if spec.externallyManaged {
                    reasons.append(.init(.externallyManaged, "VF \(id) of an externally managed PF is re-configured"))
                }
            }
            if group.vdpaType != vf.vdpaType {
                let have = vf.vdpaType.isEmpty ? "none" : vf.vdpaType
                let want = group.vdpaType.isEmpty ? "none" : group.vdpaType
                reasons.append(.init(.vfVdpaType, "VF \(id) vDPA \(have) ≠ \(want)"))
            }
        }
        return reasons
    }

    /// Upstream's boolean: whether any condition of ``reasons(spec:status:)`` holds.
    public static func needsUpdate(
        spec: SriovNetworkNodeState.Interface,
        status: SriovNetworkNodeState.InterfaceExt
    ) -> Bool {
        !self.reasons(spec: spec, status: status).isEmpty
    }

    /// Upstream `GetEswitchModeFromSpec`/`GetEswitchModeFromStatus`: empty means `legacy`.
    public static func eSwitchMode(_ mode: String) -> String { mode.isEmpty ? "legacy" : mode }

    /// Upstream `parseRange`: `strings.Split(r, "-")`, then `strconv.Atoi` of parts 0 and 1 (a third part is
    /// ignored). Nil where upstream errors (or panics, for a range without `-`).
    public static func parseRange(_ range: String) -> ClosedRange<Int>? {
        let parts = range.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2, let start = self.atoi(parts[0]), let end = self.atoi(parts[1]) else { return nil }
        // An inverted range contains nothing (upstream's `i <= end && i >= start`).
        guard start <= end else { return nil }
        return start...end
    }

    /// Go's `strconv.Atoi`: an optional sign, then one or more ASCII digits, within 64 bits.
    static func atoi(_ text: Substring) -> Int? {
        var digits = text.utf8[...]
        var negative = false
        if let first = digits.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return negative ? -value : value
    }
}
