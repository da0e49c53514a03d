public import KubeCore

/// The network configuration sriov-cni reads on stdin, with upstream's keys and Go's decoding rules.
///
/// Keys match as Go's `encoding/json` matches them: the exact name first, then case-insensitively (`"MAC"` and
/// `"mac"` both set ``mac``). A value of the wrong JSON type fails the way Go fails
/// (`json: cannot unmarshal string into Go struct field NetConf.vlan of type int`); `null` leaves a field unset.
/// The whole object is kept in ``raw``: it is what the IPAM plugin receives and what the cache stores.
///
/// Upstream: sriov-cni pkg/types/types.go `NetConf`, pkg/config/config.go `LoadConf`.
public struct SriovNetConf: Sendable, Hashable {
    public var raw: JSONObject
    public var cniVersion: String
    public var name: String
    public var type: String
    /// `ipam.type`; empty when there is no IPAM.
    public var ipamType: String
    /// The VF's PCI address, `dddd:bb:dd.f` (injected by Multus from the device plugin's allocation).
    public var deviceID: String
    public var vlan: Int?
    public var vlanQoS: Int?
    /// `802.1q` or `802.1ad` after ``validate()`` (lower-cased); `nil` when no VLAN is configured.
    public var vlanProto: String?
    /// The MAC from the configuration (`mac`/`MAC`); see ``requestedMAC(cniArgs:)`` for precedence.
    public var mac: String
    public var spoofchk: String
    public var trust: String
    public var linkState: String
    public var minTxRate: Int?
    public var maxTxRate: Int?
    public var logLevel: String
    public var logFile: String
    /// `runtimeConfig.mac` (the `mac` capability).
    public var runtimeMAC: String

    /// 802.1Q, the default VLAN protocol.
    public static let proto8021Q = "802.1q"
    /// 802.1ad (QinQ).
    public static let proto8021AD = "802.1ad"

    /// Decodes a configuration object.
    /// - Throws: the Go-style type error text (callers add upstream's prefix).
    public static func decode(_ object: JSONObject) throws(SriovNetConfDecodingError) -> SriovNetConf {
        let fields = GoFields(object: object, structName: "NetConf")
        var ipamType = ""
        if let ipam = try fields.object("ipam") {
            ipamType = try GoFields(object: ipam, structName: "NetConf.ipam").string("type") ?? ""
        }
        var runtimeMAC = ""
        if let runtime = try fields.object("runtimeConfig") {
            runtimeMAC = try GoFields(object: runtime, structName: "NetConf.runtimeConfig").string("mac") ?? ""
        }
        return SriovNetConf(
            raw: object,
            cniVersion: try fields.string("cniVersion") ?? "",
            name: try fields.string("name") ?? "",
            type: try fields.string("type") ?? "",
            ipamType: ipamType,
            deviceID: try fields.string("deviceID") ?? "",
            vlan: try fields.int("vlan"),
            vlanQoS: try fields.int("vlanQoS"),
            vlanProto: try fields.string("vlanProto"),
            mac: try fields.string("MAC") ?? "",
            spoofchk: try fields.string("spoofchk") ?? "",
            trust: try fields.string("trust") ?? "",
            linkState: try fields.string("link_state") ?? "",
            minTxRate: try fields.int("min_tx_rate"),
            maxTxRate: try fields.int("max_tx_rate"),
            logLevel: try fields.string("logLevel") ?? "",
            logFile: try fields.string("logFile") ?? "",
            runtimeMAC: runtimeMAC
        )
    }

    /// Checks and normalises the VLAN settings and the link state with upstream's rules, in upstream's order, and
    /// returns upstream's message (without the `LoadConf(): ` prefix) for the first violation.
    ///
    /// With a VLAN, QoS defaults to 0 and the protocol to `802.1q`; the protocol is lower-cased.
    public mutating func validate() -> String? {
        if let vlan = self.vlan {
            guard (0...4094).contains(vlan) else {
                return "vlan id \(vlan) invalid: value must be in the range 0-4094"
            }
            let qos = self.vlanQoS ?? 0
            self.vlanQoS = qos
            guard (0...7).contains(qos) else {
                return "vlan QoS PCP \(qos) invalid: value must be in the range 0-7"
            }
            if qos != 0 && vlan == 0 {
                return "non-zero vlan id must be configured to set vlan QoS to a non-zero value"
            }
            let proto = (self.vlanProto ?? Self.proto8021Q).lowercased()
            self.vlanProto = proto
            guard proto == Self.proto8021Q || proto == Self.proto8021AD else {
                return "vlan Proto \(proto) invalid: value must be '802.1Q' or '802.1ad'"
            }
            if proto == Self.proto8021AD && vlan == 0 {
                return "non-zero vlan id must be configured to set vlan proto 802.1ad"
            }
        } else {
            if self.vlanQoS != nil {
                return "vlan id must be configured to set vlan QoS to a non-nil value"
            }
            if self.vlanProto != nil {
                return "vlan id must be configured to set vlan proto to a non-nil value"
            }
        }
        if !self.linkState.isEmpty && !["auto", "enable", "disable"].contains(self.linkState) {
            return "invalid link_state value: \(self.linkState)"
        }
        return nil
    }

    /// The netlink VLAN protocol (`0x8100`/`0x88a8`) of a validated configuration.
    public var vlanProtoValue: UInt16 { self.vlanProto == Self.proto8021AD ? 0x88a8 : 0x8100 }

    /// The MAC to give the VF: configuration `mac` < `CNI_ARGS` `MAC=` < `runtimeConfig.mac`, lower-cased; `""` when
    /// none is requested.
    public func requestedMAC(cniArgs: String) -> String {
        var mac = self.mac
        if let fromArgs = CNIArgs.parse(cniArgs)["MAC"], !fromArgs.isEmpty { mac = fromArgs }
        if !self.runtimeMAC.isEmpty { mac = self.runtimeMAC }
        return mac.lowercased()
    }
}

/// `CNI_ARGS`: `K=V;K=V` pairs.
public enum CNIArgs {
    /// The pairs as a dictionary; entries without `=` are ignored (later keys win).
    public static func parse(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: ";") {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }
}

/// A configuration value of the wrong JSON type, worded as Go's `encoding/json` words it.
public struct SriovNetConfDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// Go-style field access on a JSON object: exact key first, then a case-insensitive match.
struct GoFields {
    let object: JSONObject
    let structName: String

    func value(_ key: String) -> JSONValue? {
        if let exact = self.object[key] { return exact }
        let folded = key.lowercased()
        return self.object.entries.first { $0.key.lowercased() == folded }?.value
    }

    func mismatch(_ key: String, _ value: JSONValue, goType: String) -> SriovNetConfDecodingError {
        let shown: String
        switch value {
        case .int(let i): shown = "number \(i)"
        case .double(let d): shown = "number \(d)"
        case .bool: shown = "bool"
        case .string: shown = "string"
        case .array: shown = "array"
        case .object: shown = "object"
        case .null: shown = "null"
        }
        return SriovNetConfDecodingError(
            description:
                "json: cannot unmarshal \(shown) into Go struct field \(self.structName).\(key) of type \(goType)"
        )
    }

    func string(_ key: String) throws(SriovNetConfDecodingError) -> String? {
        guard let value = self.value(key) else { return nil }
        switch value {
        case .null: return nil
        case .string(let s): return s
        default: throw self.mismatch(key, value, goType: "string")
        }
    }

    func int(_ key: String) throws(SriovNetConfDecodingError) -> Int? {
        guard let value = self.value(key) else { return nil }
        switch value {
        case .null: return nil
        case .int(let i): return i
        default: throw self.mismatch(key, value, goType: "int")
        }
    }

    func object(_ key: String) throws(SriovNetConfDecodingError) -> JSONObject? {
        guard let value = self.value(key) else { return nil }
        switch value {
        case .null: return nil
        case .object(let o): return o
        default: throw self.mismatch(key, value, goType: "struct")
        }
    }
}
