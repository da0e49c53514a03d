public import KubeCore

/// A CNI ADD result in the spec's 1.x model, convertible to every older version on output.
///
/// Built from an IPAM plugin's output (any version: 0.1/0.2 `ip4`/`ip6`, 0.3+ `ips`) by ``parse(_:)`` and printed by
/// ``json(version:)`` in the shape the requested `cniVersion` defines, with the Go library's key order and its
/// conversions: 1.x results carry interface `mtu` and drop an empty `dns`; 0.3.x/0.4.0 drop `mtu` and add
/// `"version":"4"|"6"` to each IP; 0.1.0/0.2.0 have `ip4`/`ip6` only.
public struct CNIResult: Sendable, Hashable {
    public struct Interface: Sendable, Hashable {
        public var name: String
        public var mac: String
        public var mtu: Int
        public var sandbox: String
        public var pciID: String

        public init(name: String, mac: String = "", mtu: Int = 0, sandbox: String = "", pciID: String = "") {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
            self.pciID = pciID
        }
    }

    public struct IPConfig: Sendable, Hashable {
        /// CIDR notation, `10.56.217.2/24` or `fd00::2/64`.
        public var address: String
        public var gateway: String
        /// Index into ``CNIResult/interfaces``; `nil` when not set (IPAM results).
        public var interface: Int?

        public init(address: String, gateway: String = "", interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }

        /// IPv6 when the address has a colon.
        public var isIPv6: Bool { self.address.contains(":") }
    }

    public struct Route: Sendable, Hashable {
        public var dst: String
        public var gw: String
        /// 1.1.0 route attributes (`mtu`, `advmss`, `priority`, `table`, `scope`), kept as given.
        public var extra: JSONObject

        public init(dst: String, gw: String = "", extra: JSONObject = [:]) {
            self.dst = dst
            self.gw = gw
            self.extra = extra
        }
    }

    public var interfaces: [Interface]
    public var ips: [IPConfig]
    public var routes: [Route]
    /// The `dns` object as the IPAM plugin gave it (`nameservers`, `domain`, `search`, `options`).
    public var dns: JSONObject

    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: JSONObject = [:]) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// Parses a result of any CNI version.
    /// - Throws: ``CNIError`` code 6 (decoding failure) when it is not a JSON object of the expected shape.
    public static func parse(_ bytes: [UInt8]) throws(CNIError) -> CNIResult {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw CNIError(code: CNIError.decodingFailure, msg: "failed to decode IPAM result: \(error)")
        }
        guard case .object(let object) = value else {
            throw CNIError(
                code: CNIError.decodingFailure,
                msg: "IPAM result is a JSON \(value.typeName), not an object"
            )
        }
        var result = CNIResult()
        result.dns = object["dns"]?.objectValue ?? [:]
        for item in object["interfaces"]?.arrayValue ?? [] {
            guard let o = item.objectValue else { continue }
            result.interfaces.append(
                Interface(
                    name: o["name"]?.stringValue ?? "",
                    mac: o["mac"]?.stringValue ?? "",
                    mtu: Self.int(o["mtu"]) ?? 0,
                    sandbox: o["sandbox"]?.stringValue ?? "",
                    pciID: o["pciID"]?.stringValue ?? ""
                )
            )
        }
        for item in object["ips"]?.arrayValue ?? [] {
            guard let o = item.objectValue, let address = o["address"]?.stringValue else {
                throw CNIError(code: CNIError.decodingFailure, msg: "IPAM result has an IP without an address")
            }
            result.ips.append(
                IPConfig(
                    address: address,
                    gateway: o["gateway"]?.stringValue ?? "",
                    interface: Self.int(o["interface"])
                )
            )
        }
        result.routes = Self.routes(object["routes"])
        // 0.1.0/0.2.0: {"ip4":{"ip":…,"gateway":…,"routes":[…]},"ip6":{…}}
        for key in ["ip4", "ip6"] {
            guard let o = object[key]?.objectValue, let ip = o["ip"]?.stringValue else { continue }
            result.ips.append(IPConfig(address: ip, gateway: o["gateway"]?.stringValue ?? ""))
            result.routes += Self.routes(o["routes"])
        }
        return result
    }

    private static func int(_ value: JSONValue?) -> Int? {
        if case .int(let i)? = value { return i }
        return nil
    }

    private static func routes(_ value: JSONValue?) -> [Route] {
        (value?.arrayValue ?? []).compactMap { item in
            guard let o = item.objectValue, let dst = o["dst"]?.stringValue else { return nil }
            var extra = o
            extra["dst"] = nil
            extra["gw"] = nil
            return Route(dst: dst, gw: o["gw"]?.stringValue ?? "", extra: extra)
        }
    }

    /// The result as the given `cniVersion` prints it (an unknown version prints as 1.x).
    public func json(version: String) -> String {
        GoJSON.encode(.object(self.object(version: version)))
    }

    public func object(version: String) -> JSONObject {
        if !CNIVersion.isAtLeast(version, "0.3.0") && CNIVersion.parse(version) != nil {
            return self.object020(version: version)
        }
        let modern = CNIVersion.isAtLeast(version, "1.0.0") || CNIVersion.parse(version) == nil
        var out: JSONObject = ["cniVersion": .string(version)]
        if !self.interfaces.isEmpty {
            out["interfaces"] = .array(
                self.interfaces.map { i in
                    var o: JSONObject = ["name": .string(i.name)]
                    if !i.mac.isEmpty { o["mac"] = .string(i.mac) }
                    if modern && i.mtu > 0 { o["mtu"] = .int(i.mtu) }
                    if !i.sandbox.isEmpty { o["sandbox"] = .string(i.sandbox) }
                    if modern && !i.pciID.isEmpty { o["pciID"] = .string(i.pciID) }
                    return .object(o)
                }
            )
        }
        if !self.ips.isEmpty {
            out["ips"] = .array(
                self.ips.map { ip in
                    var o = JSONObject()
                    if !modern { o["version"] = .string(ip.isIPv6 ? "6" : "4") }
                    if let index = ip.interface { o["interface"] = .int(index) }
                    o["address"] = .string(ip.address)
                    if !ip.gateway.isEmpty { o["gateway"] = .string(ip.gateway) }
                    return .object(o)
                }
            )
        }
        if !self.routes.isEmpty {
            out["routes"] = .array(self.routes.map { .object(Self.routeObject($0, modern: modern)) })
        }
        if !self.dns.isEmpty || !modern {
            out["dns"] = .object(self.dns)
        }
        return out
    }

    private static func routeObject(_ route: Route, modern: Bool) -> JSONObject {
        var o: JSONObject = ["dst": .string(route.dst)]
        if !route.gw.isEmpty { o["gw"] = .string(route.gw) }
        if modern {
            for (key, value) in route.extra { o[key] = value }
        }
        return o
    }

    private func object020(version: String) -> JSONObject {
        var out: JSONObject = ["cniVersion": .string(version)]
        for (key, v6) in [("ip4", false), ("ip6", true)] {
            guard let ip = self.ips.first(where: { $0.isIPv6 == v6 }) else { continue }
            var o: JSONObject = ["ip": .string(ip.address)]
            if !ip.gateway.isEmpty { o["gateway"] = .string(ip.gateway) }
            let routes = self.routes.filter { $0.dst.contains(":") == v6 }
            if !routes.isEmpty { o["routes"] = .array(routes.map { .object(Self.routeObject($0, modern: false)) }) }
            out[key] = .object(o)
        }
        out["dns"] = .object(self.dns)
        return out
    }
}
