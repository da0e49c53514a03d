import KubeCore
public import SriovAPI

/// A policy could not be applied to a node: a `pfNames` entry with a malformed VF range, or a
/// bridge setting that cannot work.
public struct PolicyApplyError: Error, Sendable, Hashable, CustomStringConvertible {
    public var policy: String
    public var node: String
    public var message: String

    public init(policy: String, node: String, message: String) {
        self.policy = policy
        self.node = node
        self.message = message
    }

    public var description: String {
        "policy \(GoJSON.quote(self.policy)) on node \(GoJSON.quote(self.node)): \(self.message)"
    }
}

extension SriovNetworkNodePolicy {
    /// Applies this policy to the spec being built for one node, upstream's `Apply`.
    ///
    /// Every PF in `status` order that the nicSelector selects gets an Interface with this policy's
    /// PF-level settings and one VF group; a PF already in the spec is merged (see
    /// ``SriovNetworkNodeState/Interface/merge(into:equalPriority:)``). A policy with `numVfs` 0, or an
    /// empty nicSelector, contributes nothing.
    ///
    /// Upstream: api/v1/helper.go SriovNetworkNodePolicy.Apply.
    /// - Parameters:
    ///   - spec: the spec being built, modified in place.
    ///   - status: the node's discovered interfaces.
    ///   - equalPriority: whether the previously applied node-matching policy had the same priority.
    /// - Throws: ``PolicyApplyError`` for a malformed `pfNames` range; `spec` may then be partly updated,
    ///   exactly as upstream's (the caller discards it).
    public func apply(
        to spec: inout SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt],
        equalPriority: Bool,
        node: String = ""
    ) throws(PolicyApplyError) {
        try PreparedPolicy(self).apply(to: &spec, status: status, equalPriority: equalPriority, node: node)
    }

    static func parsePfNames(_ entries: [String]) -> [Result<PfNameSelector, PfNameSelector.ParseError>] {
        entries.map { entry in Result { () throws(PfNameSelector.ParseError) in try PfNameSelector(parsing: entry) } }
    }
}

extension PreparedPolicy {
    /// The body of ``SriovNetworkNodePolicy/apply(to:status:equalPriority:node:)``, reading the policy's
    /// precomputed fields (no per-node copies of the policy).
    func apply(
        to spec: inout SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt],
        equalPriority: Bool,
        node: String
    ) throws(PolicyApplyError) {
        if self.hasEmptyNicSelector { return }
        guard self.numVfs > 0 else { return }
        // Through a buffer pointer, whose subscript borrows: `for iface in status`, or passing `status[index]`
        // to `selects`, copies the interface struct (a retain and a release per string and array in it),
        // for every PF of every node under every policy.
        try status.withUnsafeBufferPointer { (status) throws(PolicyApplyError) in
            for index in status.indices where self.selects(status[index]) {
                var result = SriovNetworkNodeState.Interface(
                    pciAddress: status[index].pciAddress,
                    numVfs: self.numVfs,
                    mtu: self.mtu,
                    name: status[index].name,
                    linkType: self.linkType,
                    eSwitchMode: self.eSwitchMode,
                    externallyManaged: self.externallyManaged
                )
                result.vfGroups = [try self.vfGroup(forInterfaceNamed: status[index].name, node: node)]
                if let existing = spec.interfaces.firstIndex(where: { $0.pciAddress == result.pciAddress }) {
                    spec.interfaces[existing].merge(into: &result, equalPriority: equalPriority)
                    spec.interfaces[existing] = result
                } else {
                    spec.interfaces.append(result)
                }
            }
        }
    }

    /// The VF group this policy gives a PF. The range comes from the first `pfNames` entry whose name is
    /// the PF's primary name (altnames are not compared here, an upstream quirk), else `0-(numVfs-1)`.
    /// Entries are checked in order up to the match, so a malformed entry after it goes unnoticed, as
    /// upstream. Upstream: api/v1/helper.go generatePfNameVfGroup.
    func vfGroup(forInterfaceNamed name: String, node: String) throws(PolicyApplyError) -> SriovNetworkNodeState.VfGroup
    {
        var range = self.defaultRange
        for (index, entry) in self.pfNames.enumerated() {
            let parsed: PfNameSelector
            do {
                parsed = try entry.get()
            } catch {
                throw PolicyApplyError(policy: self.name, node: node, message: "spec.nicSelector.pfNames: \(error)")
            }
            if parsed.name == name {
                if let formatted = self.pfNameRanges[index] { range = formatted }
                break
            }
        }
        var group = self.groupTemplate
        group.vfRange = range
        return group
    }
}

extension SriovNetworkNodeState.Interface {
    /// Folds this (earlier) interface config into `new`, upstream's `mergeConfigs`.
    ///
    /// Older groups with the same resource name or an overlapping range are dropped; the rest follow
    /// the new group. If a group survived, or the priorities are equal, `mtu` and `numVfs` become the
    /// maximum of both; otherwise the new policy defines the PF alone. linkType, eSwitchMode and
    /// externallyManaged always come from `new`.
    /// Upstream: api/v1/helper.go Interface.mergeConfigs.
    public func merge(into new: inout SriovNetworkNodeState.Interface, equalPriority: Bool) {
        guard let newGroup = new.vfGroups.first else { return }
        var kept = false
        for group in self.vfGroups {
            if group.resourceName == newGroup.resourceName || VfRange.overlaps(group.vfRange, newGroup.vfRange) {
                continue
            }
            new.vfGroups.append(group)
            kept = true
        }
        if !equalPriority && !kept { return }
        new.mtu = max(new.mtu, self.mtu)
        new.numVfs = max(new.numVfs, self.numVfs)
    }
}
