import KubeCore
import SriovAPI

/// What the dynamic policy checks look up for every node, computed once from the validator's nodes, NodeStates,
/// policies and operator namespace (and again whenever one of them is set), so that one policy review walks
/// 5,000 nodes with array reads instead of re-deriving all of it.
///
/// A webhook keeps one validator per cache generation, so this is built once per change of the cluster, not
/// once per review. Every entry is a pure function of those four inputs; ``AdmissionValidator`` rebuilds the
/// index in their `didSet`, so it can never describe other objects than the ones it holds.
struct ClusterIndex: Sendable {
    /// Per node (by position in ``AdmissionValidator/nodes``): the position of its NodeState, if any.
    var stateOfNode: [Int?] = []
    /// Per node: the names that some NIC of its NodeState has as an altname but no NIC as its name (so
    /// ``AdmissionValidator/resolvePfName(_:state:)`` changes them). Empty for almost every node.
    var altNamesOfNode: [Set<String>] = []
    /// Per node: the positions in ``AdmissionValidator/policies`` of the operator-namespace policies whose
    /// nodeSelector selects it, ascending (the order the cross-policy checks report in).
    var policiesOfNode: [[Int32]] = []
    /// Per policy (by position): its pfNames without the `#range`.
    var pfNamesOfPolicy: [[String]] = []
    /// Node positions by label, for the label keys the operator-namespace policies select by: `key → value →
    /// nodes`, ascending. A nodeSelector is a conjunction of equalities, so its nodes are a subset of the
    /// shortest of its pairs' lists; a selector on other keys only walks every node.
    var nodesByLabel: [String: [String: [Int]]] = [:]
    /// Per node: an id shared by every node whose NodeState NICs look the same to the NIC checks (and whose
    /// provider is as virtual), so they are checked once per id; -1 without a NodeState.
    var nicProfileOfNode: [Int] = []

    init() {}

    init(nodes: [Node], nodeStates: [SriovNetworkNodeState], policies: [SriovNetworkNodePolicy], namespace: String) {
        var statesByName: [String: Int] = [:]
        statesByName.reserveCapacity(nodeStates.count)
        for (i, state) in nodeStates.enumerated()
        where state.metadata.namespace == namespace || state.metadata.namespace.isEmpty {
            // The first one in order, as AdmissionValidator.nodeState(of:) picks.
            if statesByName[state.metadata.name] == nil { statesByName[state.metadata.name] = i }
        }
        self.pfNamesOfPolicy = policies.map { $0.spec.nicSelector.pfNames.map { String(PfNameSelector.name(of: $0)) } }
        let selecting = policies.indices.filter { policies[$0].metadata.namespace == namespace }
        let keys = Set(selecting.flatMap { policies[$0].spec.nodeSelector.keys })
        var profiles: [NICProfile: Int] = [:]
        self.stateOfNode.reserveCapacity(nodes.count)
        self.altNamesOfNode.reserveCapacity(nodes.count)
        self.nicProfileOfNode.reserveCapacity(nodes.count)
        for position in nodes.indices {
            let labels = nodes[position].metadata.labels
            for key in keys {
                guard let value = labels[key] else { continue }
                self.nodesByLabel[key, default: [:]][value, default: []].append(position)
            }
            let stateIndex = statesByName[nodes[position].metadata.name]
            self.stateOfNode.append(stateIndex)
            guard let stateIndex else {
                self.altNamesOfNode.append([])
                self.nicProfileOfNode.append(-1)
                continue
            }
            let interfaces = nodeStates[stateIndex].status.interfaces
            self.altNamesOfNode.append(Self.altNames(interfaces))
            let profile = NICProfile(interfaces, virtual: AdmissionValidator.isVirtualProvider(nodes[position]))
            if let known = profiles[profile] {
                self.nicProfileOfNode.append(known)
            } else {
                profiles[profile] = profiles.count
                self.nicProfileOfNode.append(profiles.count - 1)
            }
        }
        // Each policy's nodes from the label lists (ascending policy order per node, as the checks report).
        self.policiesOfNode = Array(repeating: [], count: nodes.count)
        for policy in selecting {
            let selector = policies[policy].spec.nodeSelector
            let candidates = self.nodes(selectedBy: selector) ?? Array(nodes.indices)
            for position in candidates {
                let labels = nodes[position].metadata.labels
                guard selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
                self.policiesOfNode[position].append(Int32(policy))
            }
        }
    }

    /// The names ``AdmissionValidator/resolvePfName(_:state:)`` maps to another name: the first NIC (in order)
    /// that has a name as its name or an altname decides, as there.
    static func altNames(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) -> Set<String> {
        guard interfaces.contains(where: { !$0.altNames.isEmpty }) else { return [] }
        var resolved: [String: String] = [:]
        for iface in interfaces {
            for name in [iface.name] + iface.altNames where resolved[name] == nil { resolved[name] = iface.name }
        }
        return Set(resolved.filter { $0.key != $0.value }.keys)
    }

    /// A superset of the nodes `selector` selects, ascending; nil when no key of it is indexed (every node is a
    /// candidate), e.g. for an empty selector.
    func nodes(selectedBy selector: [String: String]) -> [Int]? {
        var shortest: [Int]?
        for (key, value) in selector {
            guard let values = self.nodesByLabel[key] else { continue }
            let list = values[value] ?? []
            if let known = shortest, known.count <= list.count { continue }
            shortest = list
        }
        return shortest
    }
}

/// The fields of a NodeState's NICs that the NIC checks read (``AdmissionValidator/nicFindings(_:state:node:)``
/// and ``AdmissionValidator/isSupportedSelection(_:_:node:)``), plus whether the node's provider is virtual; hashed
/// and compared in place, without copying them.
struct NICProfile: Hashable, Sendable {
    var interfaces: [SriovNetworkNodeState.InterfaceExt]
    var virtual: Bool

    init(_ interfaces: [SriovNetworkNodeState.InterfaceExt], virtual: Bool) {
        self.interfaces = interfaces
        self.virtual = virtual
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.virtual)
        hasher.combine(self.interfaces.count)
        for nic in self.interfaces {
            hasher.combine(nic.name)
            hasher.combine(nic.pciAddress)
            hasher.combine(nic.totalvfs)
            hasher.combine(nic.numVfs)
            hasher.combine(nic.mtu)
        }
    }

    static func == (a: Self, b: Self) -> Bool {
        guard a.virtual == b.virtual, a.interfaces.count == b.interfaces.count else { return false }
        for (x, y) in zip(a.interfaces, b.interfaces) {
            guard x.name == y.name, x.pciAddress == y.pciAddress, x.vendor == y.vendor, x.deviceID == y.deviceID,
                x.totalvfs == y.totalvfs, x.numVfs == y.numVfs, x.mtu == y.mtu, x.linkType == y.linkType,
                x.netFilter == y.netFilter, x.altNames == y.altNames
            else { return false }
        }
        return true
    }
}
