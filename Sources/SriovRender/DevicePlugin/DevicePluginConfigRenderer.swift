public import KubeCore
public import SriovAPI

/// A node's device-plugin configuration could not be rendered.
public struct DevicePluginRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var policy: String
    public var message: String
    public var description: String {
        "device plugin config for node \(GoJSON.quote(self.node)), policy \(GoJSON.quote(self.policy)): \(self.message)"
    }
}

/// Renders the `device-plugin-config` ConfigMap: one `{"resourceList":[…]}` per managed node.
///
/// Upstream: controllers/sriovnetworknodepolicy_controller.go syncDevicePluginConfigMap,
/// renderDevicePluginConfigData, createDevicePluginResource, updateDevicePluginResource.
public struct DevicePluginConfigRenderer: Sendable {
    public var options: RenderOptions
    public let sortedPolicies: [SriovNetworkNodePolicy]
    let prepared: [PreparedPolicy]

    public init(options: RenderOptions, sortedPolicies: [SriovNetworkNodePolicy]) {
        self.options = options
        self.sortedPolicies = sortedPolicies
        self.prepared = PreparedPolicy.prepare(sortedPolicies)
    }

    /// A renderer that shares the NodeState renderer's policies (sorted and prepared once per pass).
    init(options: RenderOptions, prepared renderer: NodeStateRenderer) {
        self.options = options
        self.sortedPolicies = renderer.sortedPolicies
        self.prepared = renderer.prepared
    }

    /// The resource list for one node. `status` is the node's NodeState status (may be empty).
    public func render(
        node: Node,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) -> ResourceConfigList {
        let labels = node.metadata.labels
        return try self.render(
            node: node.metadata.name,
            status: status,
            matching: self.prepared.filter { !$0.isDefault && $0.selects(labels) }
        )
    }

    func render(
        node: String,
        status: [SriovNetworkNodeState.InterfaceExt],
        matching: [PreparedPolicy]
    ) throws(DevicePluginRenderError) -> ResourceConfigList {
        var list: [ResourceConfig] = []
        for prepared in matching {
            if let index = list.firstIndex(where: { $0.resourceName == prepared.groupTemplate.resourceName }) {
                self.update(&list[index], with: prepared, status: status)
            } else {
                list.append(try self.create(prepared, node: node, status: status))
            }
        }
        return ResourceConfigList(resourceList: list.isEmpty ? nil : list)
    }

    /// The first policy of a resource creates it. `IsRdma`, `NeedVhostNet` and `vdpaType` are this policy's
    /// for good (merges never change them, an upstream quirk). `rootDevices` are appended as written, so a
    /// policy that lists a device twice keeps it twice; the other lists are de-duplicated. A `netFilter`
    /// policy needs the node's discovered interfaces: with an empty NodeState status this fails, and
    /// upstream's whole ConfigMap sync with it.
    /// Upstream: controllers/sriovnetworknodepolicy_controller.go createDevicePluginResource.
    func create(
        _ policy: PreparedPolicy,
        node: String,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) -> ResourceConfig {
        var resource = ResourceConfig(resourceName: policy.groupTemplate.resourceName, selectors: NetDeviceSelectors())
        resource.selectors.IsRdma = policy.groupTemplate.isRdma
        resource.selectors.NeedVhostNet = policy.needVhostNet
        resource.selectors.vdpaType = policy.groupTemplate.vdpaType
        if !policy.netFilter.isEmpty, status.isEmpty {
            throw DevicePluginRenderError(
                node: node,
                policy: policy.name,
                message: "node state \(node) doesn't contain interfaces data (spec.nicSelector.netFilter needs the "
                    + "NICs the config daemon discovers)"
            )
        }
        self.merge(policy, into: &resource, status: status, isCreate: true)
        return resource
    }

    /// A later policy with the same resource name merges into it: every list is appended uniquely
    /// (`rootDevices` included), `excludeTopology` becomes this policy's, and a `netFilter` policy adds the
    /// addresses of matching interfaces with no check that the status has any.
    /// Upstream: controllers/sriovnetworknodepolicy_controller.go updateDevicePluginResource.
    func update(
        _ resource: inout ResourceConfig,
        with policy: PreparedPolicy,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) {
        self.merge(policy, into: &resource, status: status, isCreate: false)
    }

    private func merge(
        _ policy: PreparedPolicy,
        into resource: inout ResourceConfig,
        status: [SriovNetworkNodeState.InterfaceExt],
        isCreate: Bool
    ) {
        if !policy.vendor.isEmpty { resource.selectors.vendors.appendUnique(policy.vendor) }
        if !policy.deviceID.isEmpty {
            let device =
                policy.numVfs == 0
                ? policy.deviceID : (self.options.supportedNICs.vfDeviceID(ofPF: policy.deviceID) ?? "")
            if !device.isEmpty { resource.selectors.devices.appendUnique(device) }
        }
        if !policy.pfNameEntries.isEmpty {
            for name in Self.resolvePfNames(policy.pfNameEntries, status: status) {
                resource.selectors.pfNames.appendUnique(name)
            }
        }
        if policy.groupTemplate.deviceType != "vfio-pci", !policy.linkType.isEmpty {
            resource.selectors.linkTypes.appendUnique(policy.linkType.lowercased() == "ib" ? "infiniband" : "ether")
        }
        if isCreate {
            resource.selectors.rootDevices.append(contentsOf: policy.rootDevices)
        } else {
            for root in policy.rootDevices { resource.selectors.rootDevices.appendUnique(root) }
        }
        if !policy.netFilter.isEmpty {
            for index in status.indices where NetFilter.matches(policy.netFilter, status[index].netFilter) {
                resource.selectors.pciAddresses.appendUnique(status[index].pciAddress)
            }
        }
        resource.excludeTopology = policy.excludeTopology
    }

    /// Whether rendering these policies gives the same result for any NodeState status: no netFilter, no
    /// empty status that a create would fail on, and every pfNames entry names a PF by its primary name (or
    /// names nothing in the status), so ``resolvePfNames(_:status:)`` changes nothing.
    static func isStatusIndependent(_ policies: [PreparedPolicy], status: [SriovNetworkNodeState.InterfaceExt]) -> Bool
    {
        // Indices: `contains(where:)` would copy every interface struct it looks at, for every node.
        for policy in policies {
            if !policy.netFilter.isEmpty { return false }
            for name in policy.pfNameNames where !status.indices.contains(where: { status[$0].name == name }) {
                if status.indices.contains(where: { status[$0].altNames.contains(name) }) { return false }
            }
        }
        return true
    }

    /// PF names with altnames replaced by the primary name found in the NodeState status; a `#a-b`
    /// suffix is kept (the device plugin understands it). Unknown names are kept as given.
    /// Upstream: resolvePfNames.
    public static func resolvePfNames(_ entries: [String], status: [SriovNetworkNodeState.InterfaceExt]) -> [String] {
        entries.map { entry in
            let name = PfNameSelector.name(of: entry)
            if status.contains(where: { $0.name == name }) { return entry }
            if let index = status.firstIndex(where: { $0.altNames.contains { $0 == name } }) {
                return status[index].name + entry[name.endIndex...]
            }
            return entry
        }
    }

    /// The ConfigMap object with `data[node] = json` for every node given.
    public func configMap(data: [String: String]) -> ConfigMap {
        var metadata = ObjectMeta(name: OperatorNames.devicePluginConfigMap, namespace: self.options.namespace)
        metadata.ownerReferences = [self.options.operatorConfigOwnerReference]
        return ConfigMap(metadata: metadata, data: data)
    }
}

extension Array where Element: Equatable {
    mutating func appendUnique(_ element: Element) {
        if !self.contains(element) { self.append(element) }
    }
}
