public import KubeCore
public import SriovAPI

/// A label the operator sets on (or removes from) a node.
public struct NodeLabelChange: Sendable, Hashable {
    public var node: String
    public var key: String
    /// nil removes the label.
    public var value: String?
    public var previous: String?
    public var changes: Bool { self.value != self.previous }
}

/// Everything the operator would write for a given cluster state: the result of `sriov plan`.
///
/// One pass of upstream's policy reconciler, in its order: every managed node's NodeState
/// (`syncAllSriovNetworkNodeStates`), then the stale NodeStates (`handleStaleNodeState`), then the
/// device-plugin ConfigMap and node labels (`syncDevicePluginConfigMap`), then the network controllers.
public struct OperatorPlan: Sendable {
    public var options: RenderOptions
    /// True when the input had no SriovOperatorConfig `default` and one with default settings was assumed.
    public var assumedDefaultOperatorConfig: Bool
    /// Whether the operator's mutating webhook defaults (`priority: 99`, `isRdma: false`) were applied to the
    /// policies: false when the `default` SriovOperatorConfig has `enableOperatorWebhook: false` (or leaves it
    /// out), as in a cluster without the webhook, where an absent priority counts as 0, the highest. When the
    /// input has no SriovOperatorConfig, the webhook is assumed to run.
    public var appliesWebhookDefaults: Bool
    /// Policies in the operator namespace (after the mutating webhook, when it runs), in `ByPriority` order.
    public var policies: [SriovNetworkNodePolicy]
    public var nodeStates: [NodeStateResult]
    public var disruptions: [String: NodeDisruption]
    /// Device-plugin config per managed node that was rendered in this pass.
    public var devicePluginConfigs: [String: ResourceConfigList]
    /// The device-plugin ConfigMap. When ``devicePluginConfigError`` is set, upstream writes no ConfigMap in
    /// this pass and this holds only the nodes rendered before the failure.
    public var devicePluginConfigMap: ConfigMap
    /// The first node whose device-plugin config could not be rendered. Upstream's
    /// `syncDevicePluginConfigMap` returns at that error: the ConfigMap is not written, and the nodes after it
    /// (in name order, the API server's list order) are not labelled in this pass.
    public var devicePluginConfigError: DevicePluginRenderError?
    /// Label changes the operator makes in this pass.
    public var labels: [NodeLabelChange]
    /// Nodes with the labels the operator sets in this pass.
    public var nodes: [Node]
    public var networks: [NetworkResult]
    /// Render failures (bad pfNames ranges, netFilter without status, invalid CNI JSON).
    public var renderErrors: [String]

    /// Whether the operator writes the device-plugin ConfigMap in this pass.
    public var writesDevicePluginConfigMap: Bool { self.devicePluginConfigError == nil }

    /// Renders what the operator would write.
    /// - Parameter estimatingDisruptions: also estimate per-node drain/reboot (for people; the operator
    ///   itself does not need it).
    public static func make(
        snapshot: ClusterSnapshot,
        options baseOptions: RenderOptions,
        estimatingDisruptions: Bool = true
    ) -> OperatorPlan {
        var options = baseOptions
        let config = snapshot.operatorConfigs.first {
            $0.metadata.name == SriovOperatorConfig.defaultName && $0.metadata.namespace == options.namespace
        }
        if let config { options.operatorConfig = config }
        if let nicMap = snapshot.configMaps.first(where: {
            $0.metadata.name == SupportedNICs.configMapName && $0.metadata.namespace == options.namespace
        }) {
            options.supportedNICs = SupportedNICs(configMap: nicMap)
        }
        // Upstream: pkg/webhook/mutate.go runs only where the operator webhook is deployed
        // (SriovOperatorConfig.spec.enableOperatorWebhook); without it policies are stored as written.
        let appliesWebhookDefaults = config?.spec.enableOperatorWebhook ?? true
        var policies = snapshot.policies
        if appliesWebhookDefaults {
            for i in policies.indices { policies[i].applyAdmissionDefaults() }
        }
        let renderer = NodeStateRenderer(options: options, policies: policies, poolConfigs: snapshot.poolConfigs)
        let dpRenderer = DevicePluginConfigRenderer(options: options, prepared: renderer)

        var renderErrors: [String] = []
        // The loops below work on positions in the snapshot's arrays, never on copies of its elements: a
        // NodeState or Node copy retains every string, array and dictionary in it (dozens per object), and
        // copying 5,000 of each several times per pass was most of a large render.
        let nodes = snapshot.nodes
        let states = snapshot.nodeStates
        // The first NodeState of each name in the operator namespace (iterating backwards, the first one is
        // the last written: one hash per state).
        var existingIndex: [String: Int] = [:]
        existingIndex.reserveCapacity(states.count)
        var statesInNamespace = 0
        for i in states.indices.reversed() where states[i].metadata.namespace == options.namespace {
            existingIndex[states[i].metadata.name] = i
            statesInNamespace += 1
        }
        // Lists from the API server (and most inputs) give every node's NodeState at the node's own position.
        // When the names in the namespace are unique, the state there, if it has the node's name, is the one
        // the dictionary would give, without hashing the name again.
        let uniqueStateNames = existingIndex.count == statesInNamespace
        func existingState(name: String, nodeIndex: Int) -> Int? {
            if uniqueStateNames, nodeIndex < states.count, states[nodeIndex].metadata.name == name,
                states[nodeIndex].metadata.namespace == options.namespace
            {
                return nodeIndex
            }
            return existingIndex[name]
        }
        let managedSelector = options.managedNodeSelectorPairs
        var managed: [(name: String, index: Int)] = []
        managed.reserveCapacity(nodes.count)
        for i in nodes.indices where RenderOptions.selects(managedSelector, nodes[i].metadata.labels) {
            managed.append((nodes[i].metadata.name, i))
        }
        // `sort` is stable: nodes of equal name keep their input order, as the former `sorted` of copies did.
        managed.sort { $0.name < $1.name }

        // 1. NodeStates of the managed nodes. The node's matching policies are computed once for both the
        //    NodeState and the ConfigMap.
        var results: [NodeStateResult] = []
        results.reserveCapacity(managed.count)
        // Nodes with the same values for the labels the policies select on match the same policies: the
        // policy list is computed once per such group.
        var groups: [[PreparedPolicy]] = []
        var groupOfKey: [[String?]: Int] = [:]
        var groupOfNode: [Int] = []
        groupOfNode.reserveCapacity(managed.count)
        // The existing NodeState of each managed node (a position in `states`), and which states belong to a
        // managed node; the others are stale.
        var existingOfNode: [Int?] = []
        existingOfNode.reserveCapacity(managed.count)
        var isManagedState = [Bool](repeating: false, count: states.count)
        var managedStateCount = 0
        var disruptions: [String: NodeDisruption] = [:]
        for entry in managed {
            let i = entry.index
            let existing = existingState(name: entry.name, nodeIndex: i)
            existingOfNode.append(existing)
            if let existing, !isManagedState[existing] {
                isManagedState[existing] = true
                managedStateCount += 1
            }
            let key = renderer.selectionKey(nodes[i])
            let group: Int
            if let known = groupOfKey[key] {
                group = known
            } else {
                group = groups.count
                groups.append(renderer.matching(nodes[i]))
                groupOfKey[key] = group
            }
            groupOfNode.append(group)
            let result = renderer.render(
                node: nodes[i],
                existing: existing.map { states[$0] },
                matching: groups[group]
            )
            if let error = result.error { renderErrors.append(error.description) }
            if estimatingDisruptions, let existing, !states[existing].status.interfaces.isEmpty {
                disruptions[entry.name] = DisruptionEstimate.estimate(
                    spec: result.state.spec,
                    status: states[existing].status,
                    previousSpec: states[existing].spec,
                    isVirtual: Self.isVirtual(providerID: nodes[i].spec?.providerID ?? "")
                )
            }
            results.append(result)
        }

        // 2. NodeStates whose node is not managed: the label goes, the state is kept or deleted.
        var staleLabels: [NodeLabelChange] = []
        var staleNodes: [Node] = []
        if managedStateCount < existingIndex.count {
            var stale: [(name: String, index: Int)] = []
            for (name, index) in existingIndex where !isManagedState[index] { stale.append((name, index)) }
            stale.sort { $0.name < $1.name }
            let nodeIndexByName = Dictionary(
                nodes.indices.map { (nodes[$0].metadata.name, $0) },
                uniquingKeysWith: { a, _ in a }
            )
            for entry in stale {
                results.append(renderer.renderStale(states[entry.index]))
                if let nodeIndex = nodeIndexByName[entry.name] {
                    var node = nodes[nodeIndex]
                    let previous = node.metadata.labels.removeValue(forKey: OperatorNames.devicePluginLabel)
                    staleLabels.append(
                        NodeLabelChange(
                            node: node.metadata.name,
                            key: OperatorNames.devicePluginLabel,
                            value: nil,
                            previous: previous
                        )
                    )
                    staleNodes.append(node)
                }
            }
        }

        // 3. The device-plugin ConfigMap and labels, stopping at the first node that fails.
        var dpConfigs: [String: ResourceConfigList] = [:]
        dpConfigs.reserveCapacity(managed.count)
        var dpData: [String: String] = [:]
        dpData.reserveCapacity(managed.count)
        var labels: [NodeLabelChange] = []
        labels.reserveCapacity(managed.count + staleLabels.count)
        var labelledNodes: [Node] = []
        labelledNodes.reserveCapacity(managed.count + staleNodes.count)
        var dpError: DevicePluginRenderError?
        // A node's config depends on its NodeState only through altnames in pfNames and netFilter matches;
        // where neither applies, nodes of one policy group get the same config, rendered once.
        var sharedConfig: [Int: (list: ResourceConfigList, json: String)] = [:]
        let noInterfaces: [SriovNetworkNodeState.InterfaceExt] = []
        for (position, entry) in managed.enumerated() {
            let name = entry.name
            let group = groupOfNode[position]
            let status = existingOfNode[position].map { states[$0].status.interfaces } ?? noInterfaces
            let list: ResourceConfigList
            let json: String
            let independent = DevicePluginConfigRenderer.isStatusIndependent(groups[group], status: status)
            if independent, let shared = sharedConfig[group] {
                (list, json) = shared
            } else {
                do {
                    list = try dpRenderer.render(node: name, status: status, matching: groups[group])
                } catch {
                    renderErrors.append(error.description)
                    dpError = error
                    break
                }
                json = list.json
                if independent { sharedConfig[group] = (list, json) }
            }
            dpConfigs[name] = list
            dpData[name] = json
            let label =
                list.resourceList != nil ? OperatorNames.devicePluginEnabled : OperatorNames.devicePluginDisabled
            let previous = nodes[entry.index].metadata.labels[OperatorNames.devicePluginLabel]
            labels.append(
                NodeLabelChange(node: name, key: OperatorNames.devicePluginLabel, value: label, previous: previous)
            )
            var labelled = nodes[entry.index]
            if previous != label { labelled.metadata.labels[OperatorNames.devicePluginLabel] = label }
            labelledNodes.append(labelled)
        }
        labels += staleLabels
        labelledNodes += staleNodes

        let networkRenderer = NetworkRenderer(
            options: options,
            namespaces: snapshot.namespaces.isEmpty
                ? nil : Set(snapshot.namespaces.map(\.metadata.name) + [options.namespace]),
            existing: Dictionary(
                snapshot.networkAttachments.map { ($0.key, $0) },
                uniquingKeysWith: { first, _ in first }
            )
        )
        var networks: [NetworkResult] = []
        networks += snapshot.networks.map { networkRenderer.render($0) }
        networks += snapshot.ibNetworks.map { networkRenderer.render($0) }
        networks += snapshot.ovsNetworks.map { networkRenderer.render($0) }
        // An invalid networkNamespace or empty resourceName is an admission error too; the validator reports it.
        for network in networks
        where network.ready.status != "True" && network.ready.reason != "NetworkAttachmentDefinitionInvalid" {
            renderErrors.append("\(network.kind) \(network.key): \(network.ready.reason): \(network.ready.message)")
        }

        return OperatorPlan(
            options: options,
            assumedDefaultOperatorConfig: config == nil,
            appliesWebhookDefaults: appliesWebhookDefaults,
            policies: renderer.sortedPolicies,
            nodeStates: results,
            disruptions: disruptions,
            devicePluginConfigs: dpConfigs,
            devicePluginConfigMap: dpRenderer.configMap(data: dpData),
            devicePluginConfigError: dpError,
            labels: labels,
            nodes: labelledNodes,
            networks: networks,
            renderErrors: renderErrors
        )
    }

    /// Upstream picks the platform from `node.spec.providerID`: "openstack" or "aws" in it means a VM.
    public static func isVirtual(providerID: String) -> Bool {
        guard !providerID.isEmpty else { return false }
        let lowered = Array(providerID.lowercased().utf8)
        func contains(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard lowered.count >= w.count else { return false }
            return (0...(lowered.count - w.count)).contains { lowered[$0..<$0 + w.count].elementsEqual(w) }
        }
        return contains("openstack") || contains("aws")
    }

    /// Every object the operator manages, in its desired form, as one `kind: List`: NodeStates (not those
    /// being deleted), the device-plugin ConfigMap (when it is written), NADs and the labelled Nodes.
    public func objects() throws -> JSONValue {
        let encoder = ValueEncoder()
        var items: [JSONValue] = []
        // A NodeState being deleted is not part of the desired state; without a ConfigMap sync none is written.
        for result in self.nodeStates where result.action != .delete { items.append(try encoder.encode(result.state)) }
        if self.writesDevicePluginConfigMap { items.append(try encoder.encode(self.devicePluginConfigMap)) }
        for network in self.networks {
            if let nad = network.networkAttachment { items.append(try encoder.encode(nad)) }
        }
        for node in self.nodes { items.append(try encoder.encode(node)) }
        return .object([
            "apiVersion": .string("v1"),
            "kind": .string("List"),
            "metadata": .object([:]),
            "items": .array(items),
        ])
    }
}
