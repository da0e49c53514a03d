import KubeCore
import SriovAPI

/// A policy with what rendering asks of it for every node precomputed, held by reference.
///
/// Rendering walks every policy for every node (5,000 × 50 in a large cluster). Iterating an array of
/// large structs, or calling methods on one, copies it (a retain per string field); a class with the
/// needed fields flattened costs nothing per use. The node selector is a flat list of pairs, pfNames are
/// parsed once.
final class PreparedPolicy: Sendable {
    let policy: SriovNetworkNodePolicy
    let name: String
    let priority: Int
    let isDefault: Bool
    let nodeSelector: [(key: String, value: String)]
    /// `nicSelector.pfNames`, parsed once (errors kept: they only matter if Apply reaches them).
    let pfNames: [Result<PfNameSelector, PfNameSelector.ParseError>]
    /// The PF names of `pfNames` without their `#range`, for selection.
    let pfNameNames: [String]
    /// `nicSelector.pfNames` as written.
    let pfNameEntries: [String]
    let needVhostNet: Bool
    let excludeTopology: Bool
    let vendor: String
    let deviceID: String
    let rootDevices: [String]
    let netFilter: String
    let hasEmptyNicSelector: Bool
    let numVfs: Int
    let mtu: Int
    let linkType: String
    let eSwitchMode: String
    let externallyManaged: Bool
    /// The VF group of this policy without its range.
    let groupTemplate: SriovNetworkNodeState.VfGroup
    /// `0-(numVfs-1)`, the range of a PF no `#range` entry names, formatted once.
    let defaultRange: String
    /// The formatted `#range` of each `pfNames` entry (nil without one or when it does not parse).
    let pfNameRanges: [String?]

    init(_ policy: SriovNetworkNodePolicy) {
        let spec = policy.spec
        self.policy = policy
        self.name = policy.metadata.name
        self.priority = policy.effectivePriority
        self.isDefault = policy.metadata.name == "default"
        self.nodeSelector = spec.nodeSelector.map { (key: $0.key, value: $0.value) }
        let parsedNames = SriovNetworkNodePolicy.parsePfNames(spec.nicSelector.pfNames)
        self.pfNames = parsedNames
        self.pfNameNames = spec.nicSelector.pfNames.map { String(PfNameSelector.name(of: $0)) }
        self.pfNameEntries = spec.nicSelector.pfNames
        self.needVhostNet = spec.needVhostNet
        self.excludeTopology = spec.excludeTopology
        self.vendor = spec.nicSelector.vendor
        self.deviceID = spec.nicSelector.deviceID
        self.rootDevices = spec.nicSelector.rootDevices
        self.netFilter = spec.nicSelector.netFilter
        self.hasEmptyNicSelector = spec.nicSelector.isEmpty
        self.numVfs = spec.numVfs
        self.mtu = spec.mtu
        self.linkType = spec.linkType
        self.eSwitchMode = spec.eSwitchMode
        self.externallyManaged = spec.externallyManaged
        self.defaultRange = VfRange.format(0...max(0, spec.numVfs - 1))
        self.pfNameRanges = parsedNames.map { entry in
            guard case .success(let parsed) = entry, let range = parsed.range else { return nil }
            return VfRange.format(range)
        }
        self.groupTemplate = SriovNetworkNodeState.VfGroup(
            resourceName: spec.resourceName,
            deviceType: spec.deviceType,
            policyName: policy.metadata.name,
            mtu: spec.mtu,
            isRdma: spec.isRdma ?? false,
            vdpaType: spec.vdpaType
        )
    }

    /// Plain label equality; `{}` selects every node.
    func selects(_ labels: [String: String]) -> Bool {
        for pair in self.nodeSelector where labels[pair.key] != pair.value { return false }
        return true
    }

    /// ``SriovNetworkNodePolicy/NicSelector/selects(_:)`` on the flattened fields.
    func selects(_ iface: SriovNetworkNodeState.InterfaceExt) -> Bool {
        if !self.vendor.isEmpty, self.vendor != iface.vendor { return false }
        if !self.deviceID.isEmpty, self.deviceID != iface.deviceID { return false }
        if !self.rootDevices.isEmpty, !self.rootDevices.contains(iface.pciAddress) { return false }
        if !self.pfNameNames.isEmpty {
            let matched = self.pfNameNames.contains { name in
                name == iface.name || iface.altNames.contains { $0 == name }
            }
            if !matched { return false }
        }
        if !self.netFilter.isEmpty, !NetFilter.matches(self.netFilter, iface.netFilter) { return false }
        return true
    }

    static func prepare(_ sortedPolicies: [SriovNetworkNodePolicy]) -> [PreparedPolicy] {
        sortedPolicies.map(PreparedPolicy.init)
    }
}
