import KubeCore
import SriovAPI

extension AdmissionValidator {
    // MARK: Dynamic checks

    /// Checks against the cluster: the nodes the policy selects, their discovered NICs, and the other
    /// policies on the same nodes. Findings are de-duplicated (the same conflict on ten nodes is one
    /// finding) and keep upstream's order: node by node, NIC checks before policy checks.
    ///
    /// Upstream: pkg/webhook/validate.go dynamicValidateSriovNetworkNodePolicy.
    func dynamicFindings(_ policy: SriovNetworkNodePolicy) -> [Finding] {
        var findings: [Finding] = []
        func add(_ new: [Finding]) {
            for finding in new where !findings.contains(finding) { findings.append(finding) }
        }
        let others = self.policies.filter { other in
            other.metadata.namespace == self.operatorNamespace
                && !(other.metadata.name == policy.metadata.name
                    && other.metadata.namespace == policy.metadata.namespace)
        }
        var nodeSelected = false
        var interfaceSelected = false
        for node in self.nodes where policy.selects(nodeLabels: node.metadata.labels) {
            nodeSelected = true
            let state = self.nodeState(of: node)
            if let state {
                let result = self.nicFindings(policy, state: state, node: node)
                interfaceSelected = interfaceSelected || result.selected
                add(result.findings)
            }
            for other in others where other.selects(nodeLabels: node.metadata.labels) {
                add(Self.conflictFindings(policy, other, state: state))
            }
        }
        if !nodeSelected {
            add([
                policy.finding(
                    .error,
                    "spec.nodeSelector",
                    "no matched node is selected by the nodeSelector in CR \(policy.metadata.name)"
                )
            ])
        } else if !interfaceSelected {
            add([
                policy.finding(
                    .error,
                    "spec.nicSelector",
                    "no supported NIC is selected by the nicSelector in CR \(policy.metadata.name)"
                )
            ])
        }
        return findings
    }

    /// The node's NodeState, which lives in the operator namespace under the node's name.
    func nodeState(of node: Node) -> SriovNetworkNodeState? {
        self.nodeStates.first { state in
            state.metadata.name == node.metadata.name
                && (state.metadata.namespace == self.operatorNamespace || state.metadata.namespace.isEmpty)
        }
    }

    /// Checks the policy against each NIC of the node that it selects and that is a supported model.
    /// Upstream: pkg/webhook/validate.go validatePolicyForNodeState.
    func nicFindings(
        _ policy: SriovNetworkNodePolicy,
        state: SriovNetworkNodeState,
        node: Node
    ) -> (selected: Bool, findings: [Finding]) {
        let spec = policy.spec
        let name = policy.metadata.name
        var selected = false
        var findings: [Finding] = []
        func error(_ field: String, _ message: String) { findings.append(policy.finding(.error, field, message)) }
        for iface in state.status.interfaces where self.isSupportedSelection(spec.nicSelector, iface, node: node) {
            selected = true
            if spec.numVfs == 0 {
                error("spec.numVfs", "numVfs(0) in CR \(name) is not allowed")
            }
            if iface.vendor == Self.intelVendor, spec.numVfs > iface.totalvfs {
                error(
                    "spec.numVfs",
                    "numVfs(\(spec.numVfs)) in CR \(name) exceed the maximum allowed value(\(iface.totalvfs)) "
                        + "interface(\(iface.name))"
                )
            }
            if iface.vendor == Self.mellanoxVendor, spec.numVfs > Self.mellanoxMaxVFs {
                error(
                    "spec.numVfs",
                    "numVfs(\(spec.numVfs)) in CR \(name) exceed the maximum allowed value(\(Self.mellanoxMaxVFs)) "
                        + "interface(\(iface.name))"
                )
            }
            if spec.externallyManaged {
                if spec.numVfs > iface.numVfs {
                    error(
                        "spec.numVfs",
                        "numVfs(\(spec.numVfs)) in CR \(name) is higher than the virtual functions allocated for "
                            + "the PF externally value(\(iface.numVfs))"
                    )
                }
                if spec.mtu != 0, spec.mtu > iface.mtu {
                    error(
                        "spec.mtu",
                        "MTU(\(spec.mtu)) in CR \(name) is higher than the MTU for the PF externally "
                            + "value(\(iface.mtu))"
                    )
                }
                if !spec.linkType.isEmpty, spec.linkType.lowercased() != iface.linkType.lowercased() {
                    error(
                        "spec.linkType",
                        "LinkType(\(spec.linkType)) in CR \(name) is not equal to the LinkType for the PF "
                            + "externally value(\(iface.linkType))"
                    )
                }
            }
            if spec.vdpaType == "virtio" || spec.vdpaType == "vhost", iface.vendor != Self.mellanoxVendor {
                error(
                    "spec.vdpaType",
                    "vendor(\(iface.vendor)) in CR \(name) not supported for vdpa interface(\(iface.name))"
                )
            }
        }
        return (selected, findings)
    }

    /// The selector selects the NIC, and the NIC is a supported PF model, or (on OpenStack or AWS, for a
    /// `netFilter` equal to the NIC's) a supported VF model.
    /// Upstream: pkg/webhook/validate.go validateNicModel.
    func isSupportedSelection(
        _ selector: SriovNetworkNodePolicy.NicSelector,
        _ iface: SriovNetworkNodeState.InterfaceExt,
        node: Node
    ) -> Bool {
        guard selector.selects(iface) else { return false }
        if self.supportedNICs.isSupported(vendor: iface.vendor, pfDeviceID: iface.deviceID) { return true }
        let provider = (node.spec?.providerID ?? "").lowercased()
        guard Self.virtualProviders.contains(where: { provider.contains($0) }) else { return false }
        return !selector.netFilter.isEmpty && selector.netFilter == iface.netFilter
            && self.supportedNICs.isSupported(vendor: iface.vendor, vfDeviceID: iface.deviceID)
    }

    /// Conflicts between the policy and another one that selects the same node: pfNames, rootDevices,
    /// excludeTopology, in that order.
    /// Upstream: pkg/webhook/validate.go validatePolicyForNodePolicy.
    static func conflictFindings(
        _ policy: SriovNetworkNodePolicy,
        _ other: SriovNetworkNodePolicy,
        state: SriovNetworkNodeState?
    ) -> [Finding] {
        var findings: [Finding] = []
        if let finding = Self.pfNameConflict(policy, other, state: state) { findings.append(finding) }
        for device in policy.spec.nicSelector.rootDevices where other.spec.nicSelector.rootDevices.contains(device) {
            // Partitioning by rootDevices is not supported upstream; pfNames ranges are the only way.
            findings.append(
                policy.finding(
                    .error,
                    "spec.nicSelector.rootDevices",
                    "root device \(device) is overlapped with existing policy \(other.metadata.name)"
                )
            )
            break
        }
        if policy.spec.resourceName == other.spec.resourceName,
            policy.spec.excludeTopology != other.spec.excludeTopology
        {
            findings.append(
                policy.finding(
                    .error,
                    "spec.excludeTopology",
                    "excludeTopology[\(policy.spec.excludeTopology)] field conflicts with policy "
                        + "[\(other.metadata.name)].ExcludeTopology[\(other.spec.excludeTopology)] as they target "
                        + "the same resource[\(policy.spec.resourceName)]"
                )
            )
        }
        return findings
    }

    /// The first pair of pfNames entries (this policy's, then the other's) that name the same PF once
    /// altnames are resolved through the node's NodeState, checked for `externallyManaged` consistency and
    /// VF range overlap.
    ///
    /// Upstream quirks kept on purpose: an entry without a range counts as the range -1…-1, so two
    /// range-less entries overlap but a ranged entry never overlaps a range-less one; and only the first
    /// matching pair is checked. Entries of the other policy that do not parse are skipped (they were
    /// validated when it was admitted).
    /// Upstream: pkg/webhook/validate.go validatePfNames.
    static func pfNameConflict(
        _ policy: SriovNetworkNodePolicy,
        _ other: SriovNetworkNodePolicy,
        state: SriovNetworkNodeState?
    ) -> Finding? {
        for entry in policy.spec.nicSelector.pfNames {
            guard let current = try? PfNameSelector(parsing: entry) else { continue }
            let currentName = Self.resolvePfName(current.name, state: state)
            let currentRange = current.range ?? -1 ... -1
            for otherEntry in other.spec.nicSelector.pfNames {
                guard let previous = try? PfNameSelector(parsing: otherEntry) else { continue }
                guard Self.resolvePfName(previous.name, state: state) == currentName else { continue }
                if policy.spec.externallyManaged != other.spec.externallyManaged {
                    return policy.finding(
                        .error,
                        "spec.externallyManaged",
                        "externallyManaged is inconsistent with existing policy \(other.metadata.name)"
                    )
                }
                if currentRange.overlaps(previous.range ?? -1 ... -1) {
                    return policy.finding(
                        .error,
                        "spec.nicSelector.pfNames",
                        "VF index range in \(entry) is overlapped with existing policy \(other.metadata.name)"
                    )
                }
                return nil
            }
        }
        return nil
    }

    /// The primary name of the NIC that has `name` as its name or one of its altnames, or `name` itself when
    /// no NIC of the NodeState has it.
    static func resolvePfName(_ name: String, state: SriovNetworkNodeState?) -> String {
        guard let state else { return name }
        let iface = state.status.interfaces.first { $0.name == name || $0.altNames.contains(name) }
        return iface?.name ?? name
    }
}
