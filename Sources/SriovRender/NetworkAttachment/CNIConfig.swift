import KubeCore
public import SriovAPI

/// The CNI configuration could not be produced (invalid raw JSON in `ipam`, `capabilities` or
/// `metaPlugins`).
public struct CNIConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}

/// Builds `spec.config` of a NetworkAttachmentDefinition exactly as upstream does: compact JSON in a
/// fixed key order with raw fragments inserted verbatim, then Go's `json.Indent` with four spaces.
/// Upstream: bindata/manifests/cni-config/{sriov,ovs} templates and RenderNetAttDef.
public enum CNIConfig {
    /// Upstream removes every whitespace character from `ipam` (`strings.Join(strings.Fields(ipam), "")`),
    /// even inside string values.
    public static func strippedIPAM(_ ipam: String) -> String {
        let stripped = String(ipam.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init))
        return stripped.isEmpty ? "{}" : stripped
    }

    /// The compact configuration of a SriovNetwork.
    public static func compact(_ network: SriovNetwork) -> String {
        let spec = network.spec
        var plugin = #""type":"sriov","vlan":\#(spec.vlan)"#
        if !spec.spoofChk.isEmpty { plugin += #","spoofchk":"# + GoJSON.quote(spec.spoofChk) }
        if !spec.trust.isEmpty { plugin += #","trust":"# + GoJSON.quote(spec.trust) }
        plugin += #","vlanQoS":\#(spec.vlanQoS)"#
        if !spec.vlanProto.isEmpty { plugin += #","vlanProto":"# + GoJSON.quote(spec.vlanProto) }
        if let rate = spec.minTxRate { plugin += #","min_tx_rate":\#(rate)"# }
        if let rate = spec.maxTxRate { plugin += #","max_tx_rate":\#(rate)"# }
        if !spec.capabilities.isEmpty { plugin += #","capabilities":"# + spec.capabilities }
        if !spec.linkState.isEmpty { plugin += #","link_state":"# + GoJSON.quote(spec.linkState) }
        if let level = spec.logLevel, !level.isEmpty { plugin += #","logLevel":"# + GoJSON.quote(level) }
        if !spec.logFile.isEmpty { plugin += #","logFile":"# + GoJSON.quote(spec.logFile) }
        plugin += #","ipam":"# + self.strippedIPAM(spec.ipam)
        return self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    /// The compact configuration of a SriovIBNetwork.
    public static func compact(_ network: SriovIBNetwork) -> String {
        let spec = network.spec
        var plugin = #""type":"ib-sriov""#
        if !spec.capabilities.isEmpty { plugin += #","capabilities":"# + spec.capabilities }
        if !spec.linkState.isEmpty { plugin += #","link_state":"# + GoJSON.quote(spec.linkState) }
        plugin += #","ipam":"# + self.strippedIPAM(spec.ipam)
        return self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    /// The compact configuration of an OVSNetwork.
    public static func compact(_ network: OVSNetwork) -> String {
        let spec = network.spec
        var plugin = #""type":"ovs""#
        if !spec.capabilities.isEmpty { plugin += #","capabilities":"# + spec.capabilities }
        if !spec.bridge.isEmpty { plugin += #","bridge":"# + GoJSON.quote(spec.bridge) }
        if spec.vlan != 0 { plugin += #","vlan":\#(spec.vlan)"# }
        if spec.mtu != 0 { plugin += #","mtu":\#(spec.mtu)"# }
        if !spec.trunk.isEmpty {
            let items = spec.trunk.map { trunk -> String in
                var fields: [String] = []
                if let v = trunk.minID { fields.append(#""minID":\#(v)"#) }
                if let v = trunk.maxID { fields.append(#""maxID":\#(v)"#) }
                if let v = trunk.id { fields.append(#""id":\#(v)"#) }
                return "{" + fields.joined(separator: ",") + "}"
            }
            plugin += #","trunk":["# + items.joined(separator: ",") + "]"
        }
        if !spec.interfaceType.isEmpty { plugin += #","interface_type":"# + GoJSON.quote(spec.interfaceType) }
        plugin += #","ipam":"# + self.strippedIPAM(spec.ipam)
        return self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    static func wrap(name: String, plugin: String, metaPlugins: String) -> String {
        let head = #"{"cniVersion":"1.0.0","name":"# + GoJSON.quote(name) + ","
        if metaPlugins.isEmpty { return head + plugin + "}" }
        return head + #""plugins":[{"# + plugin + "}," + metaPlugins + "]}"
    }

    /// The stored form: compact JSON re-indented with four spaces, as the controller stores it.
    /// - Throws: ``CNIConfigError`` naming the raw fields when the result is not valid JSON.
    public static func pretty(_ compact: String) throws(CNIConfigError) -> String {
        do {
            return try GoJSON.indent(compact, indent: "    ")
        } catch {
            throw CNIConfigError(
                message:
                    "the rendered CNI config is not valid JSON (\(error)); check spec.ipam, spec.capabilities and spec.metaPlugins: \(compact)"
            )
        }
    }
}
