import KubeCore
public import SriovAPI

extension SriovNetworkNodeState.OVSConfigExt {
    /// `br-<pci with ':' replaced by '_'>`, e.g. `br-0000_86_00.0`. Upstream: GenerateBridgeName.
    public static func bridgeName(pciAddress: String) -> String {
        "br-" + String(pciAddress.map { $0 == ":" ? "_" : $0 })
    }
}

extension SriovNetworkNodePolicy {
    /// Applies the policy's OVS bridge settings to the spec (feature gate `manageSoftwareBridges`).
    ///
    /// For each selected PF: without `bridge.ovs` every bridge whose uplinks contain the PF is removed;
    /// with it, the bridge `br-<pci>` is inserted or replaced (the list stays sorted by name).
    /// Upstream: api/v1/helper.go ApplyBridgeConfig.
    /// - Throws: ``PolicyApplyError`` when a bridge is set on a PF that is not switchdev, not Ethernet,
    ///   or externally managed.
    public func applyBridgeConfig(
        to spec: inout SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt],
        node: String = ""
    ) throws(PolicyApplyError) {
        let selector = self.spec.nicSelector
        if selector.isEmpty { return }
        for iface in status where selector.selects(iface) {
            let name = SriovNetworkNodeState.OVSConfigExt.bridgeName(pciAddress: iface.pciAddress)
            var bridges = spec.bridges?.ovs ?? []
            guard let ovs = self.spec.bridge?.ovs else {
                bridges.removeAll { $0.uplinks.contains { $0.pciAddress == iface.pciAddress } }
                spec.bridges = bridges.isEmpty ? nil : SriovNetworkNodeState.Bridges(ovs: bridges)
                continue
            }
            if self.spec.eSwitchMode != "switchdev" {
                throw PolicyApplyError(
                    policy: self.metadata.name,
                    node: node,
                    message:
                        "software bridge management requires the device to be in switchdev mode (spec.eSwitchMode: switchdev)"
                )
            }
            if !self.spec.linkType.isEmpty, self.spec.linkType.lowercased() != "eth" {
                throw PolicyApplyError(
                    policy: self.metadata.name,
                    node: node,
                    message:
                        "software bridge management can be enabled only for ethernet links, spec.linkType is \(GoJSON.quote(self.spec.linkType))"
                )
            }
            if self.spec.externallyManaged {
                throw PolicyApplyError(
                    policy: self.metadata.name,
                    node: node,
                    message: "software bridge management can't be used when the device is externally managed"
                )
            }
            var interface = ovs.uplink?.interface ?? OVSInterfaceConfig()
            if self.spec.mtu > 0 { interface.mtuRequest = self.spec.mtu }
            let bridge = SriovNetworkNodeState.OVSConfigExt(
                name: name,
                bridge: ovs.bridge,
                uplinks: [.init(pciAddress: iface.pciAddress, name: iface.name, interface: interface)]
            )
            if let index = bridges.firstIndex(where: { $0.name == name }) {
                bridges[index] = bridge
            } else {
                let insertAt = bridges.firstIndex(where: { $0.name > name }) ?? bridges.endIndex
                bridges.insert(bridge, at: insertAt)
            }
            spec.bridges = SriovNetworkNodeState.Bridges(ovs: bridges)
        }
    }
}
