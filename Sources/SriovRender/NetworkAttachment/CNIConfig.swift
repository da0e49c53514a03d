import KubeCore
public import SriovAPI

/// The CNI configuration could not be produced (invalid raw JSON in `ipam`, `capabilities` or
/// `metaPlugins`).
public struct CNIConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}

/// Builds `spec.config` of a NetworkAttachmentDefinition exactly as upstream does.
///
/// Upstream fills its CNI config templates with Go's `text/template`, which inserts every value as it is (no
/// JSON escaping: `&`, `<`, `>`, quotes and backslashes go in raw), inside a single-quoted YAML scalar
/// (`config: '{…}'`) that is then parsed as YAML, and finally re-indents the result with `json.Indent`. So a
/// string field becomes what YAML makes of it (``templateValue(_:field:)``), and is valid only if the
/// resulting text is valid JSON: `logFile: /tmp/a&b` stays `a&b`; `logFile: C:\temp` becomes a JSON
/// string with a `\t` escape; a `"` in a value breaks the JSON and the NAD is not written.
///
/// The builders emit the compact key order of the templates; the template's own whitespace is
/// insignificant once `json.Indent` has run, so it is not reproduced.
/// Upstream: bindata/manifests/cni-config/{sriov,ovs} templates, api/v1/helper.go RenderNetAttDef,
/// pkg/render RenderTemplate (text/template) and RenderDir (YAML decoding), controllers formatJSON.
public enum CNIConfig {
    /// Upstream's IPAM handling: an empty `ipam` gives `{}`; anything else has every whitespace character
    /// removed (`strings.Join(strings.Fields(ipam), "")`, even inside string values). The test is made on the
    /// raw value (`IPAM != ""`), so a whitespace-only `ipam` becomes an empty value and the config
    /// `"ipam":}` is invalid JSON: upstream then writes no NAD.
    public static func strippedIPAM(_ ipam: String) -> String {
        if ipam.isEmpty { return "{}" }
        return String(String.UnicodeScalarView(ipam.unicodeScalars.filter { !$0.properties.isWhitespace }))
    }

    /// What a value inserted raw into upstream's single-quoted YAML scalar becomes after YAML parsing
    /// (go-yaml's flow-scalar scanner): `''` is one `'`; a lone `'` ends the scalar early, which fails the
    /// YAML parse; a line break (LF, CR, CRLF or NEL) together with the blanks (spaces, tabs) around it folds
    /// into one space, or into `n` line feeds when `n` empty lines follow it; U+2028/U+2029 are kept; the
    /// characters YAML does not allow (C0 controls other than tab, LF and CR; DEL; C1 controls other than
    /// NEL; U+FFFE, U+FFFF) fail the parse, as does a line starting with `---` or `...`.
    /// - Throws: ``CNIConfigError`` naming `field` and what is wrong.
    public static func templateValue(_ value: String, field: String) throws(CNIConfigError) -> String {
        // Fast path: printable ASCII without quotes or line breaks is unchanged.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x27 }) { return value }
        let scalars = Array(value.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }
        func isBreak(_ c: Unicode.Scalar) -> Bool {
            c == "\n" || c == "\r" || c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}"
        }
        func fail(_ reason: String) -> CNIConfigError {
            CNIConfigError(
                message: "\(field) \(GoJSON.quote(Self.cut(value))) cannot be rendered into the CNI config "
                    + "template: \(reason)"
            )
        }
        while i < scalars.count {
            let c = scalars[i]
            switch c.value {
            case 0x09, 0x0A, 0x0D, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: break
            default:
                throw fail("YAML does not allow the character U+\(String(c.value, radix: 16, uppercase: true))")
            }
            if c == "'" {
                guard i + 1 < scalars.count, scalars[i + 1] == "'" else {
                    throw fail("a single quote ends the template's single-quoted YAML string (write '' for one)")
                }
                out.append("'")
                i += 2
                continue
            }
            guard isBlank(c) || isBreak(c) else {
                out.append(c)
                i += 1
                continue
            }
            var whitespace = String.UnicodeScalarView()
            var leadingBreak = String.UnicodeScalarView()
            var trailingBreaks = String.UnicodeScalarView()
            var leadingBlanks = false
            while i < scalars.count, isBlank(scalars[i]) || isBreak(scalars[i]) {
                let w = scalars[i]
                if isBlank(w) {
                    if !leadingBlanks { whitespace.append(w) }
                    i += 1
                    continue
                }
                var line: Unicode.Scalar = "\n"
                if w == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" {
                    i += 2
                } else {
                    if w == "\u{2028}" || w == "\u{2029}" { line = w }
                    i += 1
                }
                if leadingBlanks {
                    trailingBreaks.append(line)
                } else {
                    whitespace = String.UnicodeScalarView()
                    leadingBreak.append(line)
                    leadingBlanks = true
                }
                // A document marker at the start of a line ends the YAML document. (At the very end of the
                // value the template's next character follows, which is not a blank for these fields.)
                if i + 3 < scalars.count, isBlank(scalars[i + 3]) || isBreak(scalars[i + 3]) {
                    let marker = scalars[i..<i + 3]
                    if marker.allSatisfy({ $0 == "-" }) || marker.allSatisfy({ $0 == "." }) {
                        throw fail(
                            "a line starting with \(String(String.UnicodeScalarView(marker))) ends the YAML document"
                        )
                    }
                }
            }
            if leadingBlanks {
                if leadingBreak.first == "\n" {
                    if trailingBreaks.isEmpty { out.append(" ") } else { out.append(contentsOf: trailingBreaks) }
                } else {
                    out.append(contentsOf: leadingBreak)
                    out.append(contentsOf: trailingBreaks)
                }
            } else {
                out.append(contentsOf: whitespace)
            }
        }
        return String(out)
    }

    /// The `linkState` values upstream writes; others leave `link_state` out.
    static let linkStates: Set<String> = ["enable", "disable", "auto"]

    /// At most 80 characters of a value, for messages.
    static func cut(_ value: String) -> String {
        value.count <= 80 ? value : String(value.prefix(80)) + "… (\(value.count) characters)"
    }

    /// `,"key":"value"` with the value inserted as the template inserts it.
    static func appendString(
        _ key: String,
        _ value: String,
        field: String,
        to out: inout String
    ) throws(CNIConfigError) {
        out += #","\#(key)":""#
        out += try self.templateValue(value, field: field)
        out += "\""
    }

    /// `,"key":value` with a raw JSON fragment (capabilities, ipam) as the template inserts it.
    static func appendRaw(_ key: String, _ value: String, field: String, to out: inout String) throws(CNIConfigError) {
        out += #","\#(key)":"#
        out += try self.templateValue(value, field: field)
    }

    /// The compact configuration of a SriovNetwork.
    public static func compact(_ network: SriovNetwork) throws(CNIConfigError) -> String {
        let spec = network.spec
        var plugin = #""type":"sriov","vlan":\#(spec.vlan)"#
        // Upstream's switches: only the enum values are written; anything else leaves the key out.
        if spec.spoofChk == "on" || spec.spoofChk == "off" { plugin += #","spoofchk":""# + spec.spoofChk + "\"" }
        if spec.trust == "on" || spec.trust == "off" { plugin += #","trust":""# + spec.trust + "\"" }
        if (0...7).contains(spec.vlanQoS) { plugin += #","vlanQoS":\#(spec.vlanQoS)"# }
        if !spec.vlanProto.isEmpty {
            try self.appendString("vlanProto", spec.vlanProto, field: "spec.vlanProto", to: &plugin)
        }
        if let rate = spec.minTxRate, rate >= 0 { plugin += #","min_tx_rate":\#(rate)"# }
        if let rate = spec.maxTxRate, rate >= 0 { plugin += #","max_tx_rate":\#(rate)"# }
        if !spec.capabilities.isEmpty {
            try self.appendRaw("capabilities", spec.capabilities, field: "spec.capabilities", to: &plugin)
        }
        if Self.linkStates.contains(spec.linkState) { plugin += #","link_state":""# + spec.linkState + "\"" }
        if let level = spec.logLevel, !level.isEmpty {
            try self.appendString("logLevel", level, field: "spec.logLevel", to: &plugin)
        }
        if !spec.logFile.isEmpty { try self.appendString("logFile", spec.logFile, field: "spec.logFile", to: &plugin) }
        try self.appendRaw("ipam", self.strippedIPAM(spec.ipam), field: "spec.ipam", to: &plugin)
        return try self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    /// The compact configuration of a SriovIBNetwork.
    public static func compact(_ network: SriovIBNetwork) throws(CNIConfigError) -> String {
        let spec = network.spec
        var plugin = #""type":"ib-sriov""#
        if !spec.capabilities.isEmpty {
            try self.appendRaw("capabilities", spec.capabilities, field: "spec.capabilities", to: &plugin)
        }
        if Self.linkStates.contains(spec.linkState) { plugin += #","link_state":""# + spec.linkState + "\"" }
        try self.appendRaw("ipam", self.strippedIPAM(spec.ipam), field: "spec.ipam", to: &plugin)
        return try self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    /// The compact configuration of an OVSNetwork.
    public static func compact(_ network: OVSNetwork) throws(CNIConfigError) -> String {
        let spec = network.spec
        var plugin = #""type":"ovs""#
        if !spec.capabilities.isEmpty {
            try self.appendRaw("capabilities", spec.capabilities, field: "spec.capabilities", to: &plugin)
        }
        if !spec.bridge.isEmpty { try self.appendString("bridge", spec.bridge, field: "spec.bridge", to: &plugin) }
        if spec.vlan != 0 { plugin += #","vlan":\#(spec.vlan)"# }
        if spec.mtu != 0 { plugin += #","mtu":\#(spec.mtu)"# }
        if !spec.trunk.isEmpty {
            // Upstream marshals the trunk list with encoding/json (key order minID, maxID, id).
            let items = spec.trunk.map { trunk -> String in
                var fields: [String] = []
                if let v = trunk.minID { fields.append(#""minID":\#(v)"#) }
                if let v = trunk.maxID { fields.append(#""maxID":\#(v)"#) }
                if let v = trunk.id { fields.append(#""id":\#(v)"#) }
                return "{" + fields.joined(separator: ",") + "}"
            }
            plugin += #","trunk":["# + items.joined(separator: ",") + "]"
        }
        if !spec.interfaceType.isEmpty {
            try self.appendString("interface_type", spec.interfaceType, field: "spec.interfaceType", to: &plugin)
        }
        try self.appendRaw("ipam", self.strippedIPAM(spec.ipam), field: "spec.ipam", to: &plugin)
        return try self.wrap(name: network.metadata.name, plugin: plugin, metaPlugins: spec.metaPlugins)
    }

    static func wrap(name: String, plugin: String, metaPlugins: String) throws(CNIConfigError) -> String {
        let head = #"{"cniVersion":"1.0.0","name":""# + (try self.templateValue(name, field: "metadata.name")) + "\","
        if metaPlugins.isEmpty { return head + plugin + "}" }
        return head + #""plugins":[{"# + plugin + "},"
            + (try self.templateValue(metaPlugins, field: "spec.metaPlugins"))
            + "]}"
    }

    /// The stored form: compact JSON re-indented with four spaces, as the controller stores it.
    /// - Throws: ``CNIConfigError`` naming the raw fields when the result is not valid JSON.
    public static func pretty(_ compact: String) throws(CNIConfigError) -> String {
        do {
            return try GoJSON.indent(compact, indent: "    ")
        } catch {
            throw CNIConfigError(
                message:
                    "the rendered CNI config is not valid JSON (\(error)); check spec.ipam, spec.capabilities, "
                    + "spec.metaPlugins and the string fields, which upstream inserts unescaped: \(Self.cut(compact))"
            )
        }
    }
}
