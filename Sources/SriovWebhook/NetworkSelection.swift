import KubeCore

/// One network a pod asks for: Multus's NetworkSelectionElement, reduced to what the injector needs.
///
/// The annotation is either a JSON list (`[{"name": "net1", "namespace": "ns", "interface": "eth1"}]`) or
/// comma-separated `[namespace/]name[@interface]`. Upstream: network-resources-injector
/// parsePodNetworkSelections.
struct NetworkSelection: Sendable, Hashable {
    var namespace: String
    var name: String
    var interface: String

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String, defaultNamespace: String) throws(ParseError) -> [NetworkSelection] {
        let trimmed = Substring(text).trimmingWhitespace()
        if trimmed.hasPrefix("[") {
            guard let value = try? JSONParser.parse(trimmed), let items = value.arrayValue else {
                throw ParseError(
                    description: "invalid \(ResourceInjector.networksAnnotation) annotation: not a JSON list of "
                        + "network selection elements: \(GoJSON.quote(text))"
                )
            }
            return try items.map { item throws(ParseError) in
                guard let name = item["name"]?.stringValue, !name.isEmpty else {
                    throw ParseError(
                        description: "invalid \(ResourceInjector.networksAnnotation) annotation: a network selection "
                            + "element has no name: \(GoJSON.encode(item))"
                    )
                }
                let namespace = item["namespace"]?.stringValue ?? ""
                return NetworkSelection(
                    namespace: namespace.isEmpty ? defaultNamespace : namespace,
                    name: name,
                    interface: item["interface"]?.stringValue ?? ""
                )
            }
        }
        return try text.split(separator: ",").map { element throws(ParseError) in
            try Self.parseElement(element.trimmingWhitespace(), defaultNamespace: defaultNamespace)
        }
    }

    static func parseElement(_ selection: String, defaultNamespace: String) throws(ParseError) -> NetworkSelection {
        let units = selection.split(separator: "/", omittingEmptySubsequences: false)
        let namespace: String
        let rest: Substring
        switch units.count {
        case 1: (namespace, rest) = (defaultNamespace, units[0])
        case 2: (namespace, rest) = (String(units[0]), units[1])
        default:
            throw ParseError(
                description: "invalid network selection element - more than one '/' rune in: '\(selection)'"
            )
        }
        let parts = rest.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw ParseError(
                description: "invalid network selection element - more than one '@' rune in: '\(selection)'"
            )
        }
        let name = String(parts[0])
        let interface = parts.count == 2 ? String(parts[1]) : ""
        for unit in [namespace, name, interface] where !unit.isEmpty && !Self.isDNSLabel(unit) {
            throw ParseError(
                description: "at least one of the network selection units is invalid: error found at '\(unit)'"
            )
        }
        guard !name.isEmpty else {
            throw ParseError(description: "invalid network selection element - empty name in: '\(selection)'")
        }
        return NetworkSelection(namespace: namespace, name: name, interface: interface)
    }

    /// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
    static func isDNSLabel(_ unit: String) -> Bool {
        let bytes = Array(unit.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2d }
    }
}
