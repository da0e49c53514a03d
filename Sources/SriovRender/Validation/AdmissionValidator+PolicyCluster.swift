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
        let index = self.clusterIndex
        // The policy under review is not compared with its stored self.
        let own = self.policies.indices.filter {
            self.policies[$0].metadata.name == policy.metadata.name
                && self.policies[$0].metadata.namespace == policy.metadata.namespace
        }
        var nodeSelected = false
        var interfaceSelected = false
        // A conflict depends on the node only where a pfNames entry is an altname there; otherwise the
        // result is the same on every node and is computed once per other policy.
        let ownNames = policy.spec.nicSelector.pfNames.map { String(PfNameSelector.name(of: $0)) }
        var stateFree: [Int: [Finding]] = [:]
        // The NIC checks depend on the node only through its NICs (and provider): once per NIC profile.
        let profiles = index.nicProfileOfNode
        var nicResults: [Int: Bool] = [:]
        // Adding the same findings again changes nothing (they are de-duplicated), so each memo is added once.
        func visit(_ nodeIndex: Int) {
            let node = self.nodes[nodeIndex]
            nodeSelected = true
            let stateIndex = index.stateOfNode[nodeIndex]
            let state = stateIndex.map { self.nodeStates[$0] }
            if let state {
                let profile = profiles[nodeIndex]
                if let selected = nicResults[profile] {
                    interfaceSelected = interfaceSelected || selected
                } else {
                    let result = self.nicFindings(policy, state: state, node: node)
                    nicResults[profile] = result.selected
                    interfaceSelected = interfaceSelected || result.selected
                    add(result.findings)
                }
            }
            let altNames = index.altNamesOfNode[nodeIndex]
            let ownResolves = !altNames.isEmpty && ownNames.contains { altNames.contains($0) }
            for other in index.policiesOfNode[nodeIndex] {
                let otherIndex = Int(other)
                if own.contains(otherIndex) { continue }
                let resolves =
                    ownResolves
                    || (!altNames.isEmpty && index.pfNamesOfPolicy[otherIndex].contains { altNames.contains($0) })
                if resolves {
                    add(Self.conflictFindings(policy, self.policies[otherIndex], state: state))
                } else if stateFree[otherIndex] == nil {
                    let found = Self.conflictFindings(policy, self.policies[otherIndex], state: nil)
                    stateFree[otherIndex] = found
                    add(found)
                }
            }
        }
        let ownSelector = policy.spec.nodeSelector
        // A superset of the selected nodes from the label index (every node when no key of it is indexed).
        let candidates = index.nodes(selectedBy: ownSelector) ?? Array(self.nodes.indices)
        for nodeIndex in candidates {
            let labels = self.nodes[nodeIndex].metadata.labels
            guard ownSelector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            visit(nodeIndex)
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

    /// Whether the node runs on OpenStack or AWS (its `providerID`), where VFs are selected by netFilter.
    static func isVirtualProvider(_ node: Node) -> Bool {
        let provider = (node.spec?.providerID ?? "").lowercased()
        return Self.virtualProviders.contains { provider.contains($0) }
    }

    /// The node's NodeState, which lives in the operator namespace under the node's name.
    func nodeState(of node: Node) -> SriovNetworkNodeState? {
        guard let candidates = self.nodeStateIndex[node.metadata.name] else { return nil }
        for i in candidates {
            let namespace = self.nodeStates[i].metadata.namespace
            if namespace == self.operatorNamespace || namespace.isEmpty { return self.nodeStates[i] }
        }
        return nil
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

    /// Upstream's `validateNicModel`: the selector's vendor, deviceID, rootDevices and pfNames (not its
    /// netFilter) match the NIC, and the NIC is a supported PF model, or (on OpenStack or AWS, for a
    /// `netFilter` equal to the NIC's, string for string) a supported VF model.
    ///
    /// netFilter is deliberately not matched here, as upstream: a netFilter-only policy counts every supported
    /// PF of a selected node as selected for the numVfs/totalvfs, Mellanox-128, externallyManaged and vDPA
    /// checks, whatever the NIC's netFilter. pfNames are compared with the name and altnames, as the
    /// controller's selector (`Selected`) compares them.
    /// Upstream: pkg/webhook/validate.go validateNicModel.
    func isSupportedSelection(
        _ selector: SriovNetworkNodePolicy.NicSelector,
        _ iface: SriovNetworkNodeState.InterfaceExt,
        node: Node
    ) -> Bool {
        if !selector.vendor.isEmpty, selector.vendor != iface.vendor { return false }
        if !selector.deviceID.isEmpty, selector.deviceID != iface.deviceID { return false }
        if !selector.rootDevices.isEmpty, !selector.rootDevices.contains(iface.pciAddress) { return false }
        if !selector.pfNames.isEmpty {
            let matched = selector.pfNames.contains { entry in
                let name = PfNameSelector.name(of: entry)
                return name == iface.name || iface.altNames.contains { $0 == name }
            }
            if !matched { return false }
        }
        if self.supportedNICs.isSupported(vendor: iface.vendor, pfDeviceID: iface.deviceID) { return true }
        guard Self.isVirtualProvider(node) else { return false }
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
        var findings = self.uncheckedConflictFindings(policy, other, state: state)
        for i in findings.indices { findings[i].conflictsWith = other.metadata.name }
        return findings
    }

    static func uncheckedConflictFindings(
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

    /// Whether ``resolvePfName(_:state:)`` would change `name`: no NIC has it as its name, one as an altname.
    static func isAltName(_ name: String, state: SriovNetworkNodeState?) -> Bool {
        state != nil && self.resolvePfName(name, state: state) != name
    }

    /// The primary name of the NIC that has `name` as its name or one of its altnames, or `name` itself when
    /// no NIC of the NodeState has it.
    static func resolvePfName(_ name: String, state: SriovNetworkNodeState?) -> String {
        guard let state else { return name }
        let iface = state.status.interfaces.first { $0.name == name || $0.altNames.contains(name) }
        return iface?.name ?? name
    }
}
