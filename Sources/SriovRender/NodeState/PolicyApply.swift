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

    public var description: String { "policy \(GoJSON.quote(self.policy)) on node \(GoJSON.quote(self.node)): \(self.message)" }
}

import KubeCore

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
        let selector = self.spec.nicSelector
        if selector.isEmpty { return }
        for iface in status where selector.selects(iface) {
            guard self.spec.numVfs > 0 else { continue }
            var result = SriovNetworkNodeState.Interface(
                pciAddress: iface.pciAddress,
                numVfs: self.spec.numVfs,
                mtu: self.spec.mtu,
                name: iface.name,
                linkType: self.spec.linkType,
                eSwitchMode: self.spec.eSwitchMode,
                externallyManaged: self.spec.externallyManaged
            )
            result.vfGroups = [try self.vfGroup(for: iface, node: node)]
            if let index = spec.interfaces.firstIndex(where: { $0.pciAddress == result.pciAddress }) {
                spec.interfaces[index].merge(into: &result, equalPriority: equalPriority)
                spec.interfaces[index] = result
            } else {
                spec.interfaces.append(result)
            }
        }
    }

    /// The VF group this policy gives a PF. The range comes from the first `pfNames` entry whose name is
    /// the PF's primary name (altnames are not compared here, an upstream quirk), else `0-(numVfs-1)`.
    /// Upstream: api/v1/helper.go generatePfNameVfGroup.
    func vfGroup(
        for iface: SriovNetworkNodeState.InterfaceExt,
        node: String
    ) throws(PolicyApplyError) -> SriovNetworkNodeState.VfGroup {
        var range = 0...max(0, self.spec.numVfs - 1)
        for entry in self.spec.nicSelector.pfNames {
            let parsed: PfNameSelector
            do {
                parsed = try PfNameSelector(parsing: entry)
            } catch {
                throw PolicyApplyError(policy: self.metadata.name, node: node, message: "spec.nicSelector.pfNames: \(error)")
            }
            if parsed.name == iface.name {
                if let r = parsed.range { range = r }
                break
            }
        }
        return SriovNetworkNodeState.VfGroup(
            resourceName: self.spec.resourceName,
            deviceType: self.spec.deviceType,
            vfRange: VfRange.format(range),
            policyName: self.metadata.name,
            mtu: self.spec.mtu,
            isRdma: self.spec.isRdma ?? false,
            vdpaType: self.spec.vdpaType
        )
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
