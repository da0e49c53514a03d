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
    /// Node positions by label: `key → value → nodes`, ascending. A nodeSelector is a conjunction of equalities,
    /// so its nodes are a subset of the shortest of its pairs' lists.
    var nodesByLabel: [String: [String: [Int]]] = [:]
    /// Per node: an id shared by every node whose NodeState NICs look the same to the NIC checks (and whose
    /// provider is as virtual), so they are checked once per id; -1 without a NodeState. One id ignores the
    /// PCI addresses (identical servers differ only there, if at all), for policies without rootDevices.
    var nicProfileOfNode: [Int] = []
    /// As ``nicProfileOfNode``, PCI addresses included: for policies that select by rootDevices.
    var nicProfileWithPCIOfNode: [Int] = []

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
        let selectors: [(index: Int32, pairs: [(key: String, value: String)])] = policies.indices.compactMap { i in
            guard policies[i].metadata.namespace == namespace else { return nil }
            return (Int32(i), policies[i].spec.nodeSelector.map { (key: $0.key, value: $0.value) })
        }
        var profiles: [NICProfile: Int] = [:]
        var profilesWithPCI: [NICProfile: Int] = [:]
        self.stateOfNode.reserveCapacity(nodes.count)
        self.altNamesOfNode.reserveCapacity(nodes.count)
        self.policiesOfNode.reserveCapacity(nodes.count)
        self.nicProfileOfNode.reserveCapacity(nodes.count)
        self.nicProfileWithPCIOfNode.reserveCapacity(nodes.count)
        for (position, node) in nodes.enumerated() {
            let labels = node.metadata.labels
            for (key, value) in labels { self.nodesByLabel[key, default: [:]][value, default: []].append(position) }
            self.policiesOfNode.append(
                selectors.compactMap { selector in
                    selector.pairs.allSatisfy { labels[$0.key] == $0.value } ? selector.index : nil
                }
            )
            let stateIndex = statesByName[node.metadata.name]
            self.stateOfNode.append(stateIndex)
            guard let stateIndex else {
                self.altNamesOfNode.append([])
                self.nicProfileOfNode.append(-1)
                self.nicProfileWithPCIOfNode.append(-1)
                continue
            }
            let interfaces = nodeStates[stateIndex].status.interfaces
            self.altNamesOfNode.append(Self.altNames(interfaces))
            let virtual = AdmissionValidator.isVirtualProvider(node)
            let withPCI = NICProfile(interfaces, includingPCI: true, virtual: virtual)
            let withoutPCI = NICProfile(interfaces, includingPCI: false, virtual: virtual)
            self.nicProfileWithPCIOfNode.append(Self.id(of: withPCI, in: &profilesWithPCI))
            self.nicProfileOfNode.append(Self.id(of: withoutPCI, in: &profiles))
        }
    }

    static func id(of profile: NICProfile, in table: inout [NICProfile: Int]) -> Int {
        if let known = table[profile] { return known }
        let id = table.count
        table[profile] = id
        return id
    }

    /// The names ``AdmissionValidator/resolvePfName(_:state:)`` maps to another name: the first NIC (in order)
    /// that has a name as its name or an altname decides, as there.
    static func altNames(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) -> Set<String> {
        var resolved: [String: String] = [:]
        for iface in interfaces {
            for name in [iface.name] + iface.altNames where resolved[name] == nil { resolved[name] = iface.name }
        }
        return Set(resolved.filter { $0.key != $0.value }.keys)
    }

    /// The nodes `selector` selects, ascending; nil when it is empty (every node).
    func nodes(selectedBy selector: [String: String]) -> [Int]? {
        guard !selector.isEmpty else { return nil }
        var shortest: [Int]?
        for (key, value) in selector {
            let list = self.nodesByLabel[key]?[value] ?? []
            if let known = shortest, known.count <= list.count { continue }
            shortest = list
        }
        return shortest ?? []
    }
}

/// The fields of a NodeState's NICs that the NIC checks read (``AdmissionValidator/nicFindings(_:state:node:)``
/// and ``AdmissionValidator/isSupportedSelection(_:_:node:)``), plus whether the node's provider is virtual.
struct NICProfile: Hashable, Sendable {
    struct NIC: Hashable, Sendable {
        var name: String
        var altNames: [String]
        var vendor: String
        var deviceID: String
        var pciAddress: String
        var netFilter: String
        var totalvfs: Int
        var numVfs: Int
        var mtu: Int
        var linkType: String
    }

    var nics: [NIC]
    var virtual: Bool

    init(_ interfaces: [SriovNetworkNodeState.InterfaceExt], includingPCI: Bool, virtual: Bool) {
        self.nics = interfaces.map {
            NIC(
                name: $0.name,
                altNames: $0.altNames,
                vendor: $0.vendor,
                deviceID: $0.deviceID,
                pciAddress: includingPCI ? $0.pciAddress : "",
                netFilter: $0.netFilter,
                totalvfs: $0.totalvfs,
                numVfs: $0.numVfs,
                mtu: $0.mtu,
                linkType: $0.linkType
            )
        }
        self.virtual = virtual
    }
}
