import KubeCore
import SriovAPI
import Testing

@testable import SriovRender

private let allKinds = [
    SriovNetworkNodePolicy.kind, SriovNetworkNodeState.kind, SriovNetwork.kind, SriovIBNetwork.kind,
    OVSNetwork.kind, SriovOperatorConfig.kind, SriovNetworkPoolConfig.kind,
]

private func schema(of kind: String) throws -> OpenAPISchema {
    try #require(CustomResourceDefinitions.definition(for: kind)).schema
}

/// Paths (`spec.interfaces[].pciAddress`) present in `value` that `schema` does not declare, or whose JSON type
/// disagrees with it. Maps (`additionalProperties`) are checked value by value; `metadata` is opaque.
private func disagreements(_ value: JSONValue, _ schema: OpenAPISchema, path: String = "") -> [String] {
    let expected = schema.isIntOrString ? ["integer", "string"] : (schema.type.map { [$0] } ?? [])
    if !expected.isEmpty, !expected.contains(value.typeName) {
        return ["\(path): \(value.typeName) where the schema says \(expected.joined(separator: ","))"]
    }
    switch value {
    case .object(let object) where path != "metadata":
        return object.flatMap { key, child -> [String] in
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            if let property = schema.property(key) { return disagreements(child, property, path: childPath) }
            if let values = schema.additionalProperties { return disagreements(child, values, path: childPath) }
            return ["\(childPath): not in the schema"]
        }
    case .array(let items):
        guard let itemSchema = schema.items else { return ["\(path)[]: array without items schema"] }
        return items.flatMap { disagreements($0, itemSchema, path: "\(path)[]") }
    default:
        return []
    }
}

/// Every property path the schema declares (maps and int-or-string are leaves; `metadata` is opaque).
private func declaredPaths(_ schema: OpenAPISchema, path: String = "") -> Set<String> {
    var paths: Set<String> = path.isEmpty ? [] : [path]
    if path == "metadata" { return paths }
    for property in schema.properties {
        paths.formUnion(declaredPaths(property.schema, path: path.isEmpty ? property.name : "\(path).\(property.name)"))
    }
    if let items = schema.items { paths.formUnion(declaredPaths(items, path: "\(path)[]")) }
    return paths
}

/// Every path present in an encoded value, in ``declaredPaths(_:path:)``'s notation.
private func presentPaths(_ value: JSONValue, _ schema: OpenAPISchema, path: String = "") -> Set<String> {
    var paths: Set<String> = path.isEmpty ? [] : [path]
    switch value {
    case .object(let object) where schema.additionalProperties == nil && path != "metadata":
        for (key, child) in object {
            guard let property = schema.property(key) else { continue }
            paths.formUnion(presentPaths(child, property, path: path.isEmpty ? key : "\(path).\(key)"))
        }
    case .array(let items):
        if let itemSchema = schema.items {
            if items.isEmpty { break }
            paths.insert("\(path)[]")
            for item in items { paths.formUnion(presentPaths(item, itemSchema, path: "\(path)[]")) }
        }
    default:
        break
    }
    return paths
}

/// Every object key of a rendered schema node is in bytewise order (controller-gen's YAML).
private func isSortedBytewise(_ value: JSONValue) -> Bool {
    switch value {
    case .object(let object):
        let keys = object.keys
        let inOrder = zip(keys, keys.dropFirst()).allSatisfy { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return inOrder && object.allSatisfy { isSortedBytewise($0.value) }
    case .array(let items):
        return items.allSatisfy(isSortedBytewise)
    default:
        return true
    }
}

@Suite("CustomResourceDefinitions")
struct CRDTests {
    @Test("there is one CRD per kind, all seven distinct")
    func oneCRDPerKind() {
        let names = CustomResourceDefinitions.all.compactMap { $0["metadata"]?["name"]?.stringValue }
        #expect(names.count == 7)
        #expect(Set(names).count == 7)
        #expect(Set(CustomResourceDefinitions.definitions.map(\.kind)) == Set(allKinds))
        #expect(CustomResourceDefinitions.crd(for: "Deployment") == nil)
    }

    @Test(
        "each CRD is apiextensions v1, Namespaced, v1 served and stored, with a status subresource",
        arguments: allKinds
    )
    func crdShape(kind: String) throws {
        let crd = try #require(CustomResourceDefinitions.crd(for: kind))
        let definition = try #require(CustomResourceDefinitions.definition(for: kind))
        #expect(crd["apiVersion"] == .string("apiextensions.k8s.io/v1"))
        #expect(crd["kind"] == .string("CustomResourceDefinition"))
        #expect(crd["metadata"]?["name"] == .string("\(definition.plural).sriovnetwork.openshift.io"))
        #expect(crd["metadata"]?["annotations"]?["controller-gen.kubebuilder.io/version"] == .string("v0.16.3"))
        let spec = try #require(crd["spec"])
        #expect(spec["group"] == .string("sriovnetwork.openshift.io"))
        #expect(spec["scope"] == .string("Namespaced"))
        #expect(spec["names"]?["kind"] == .string(kind))
        #expect(spec["names"]?["listKind"] == .string("\(kind)List"))
        #expect(spec["names"]?["plural"] == .string(definition.plural))
        #expect(spec["names"]?["singular"] == .string(kind.lowercased()))
        let versions = try #require(spec["versions"]?.arrayValue)
        #expect(versions.count == 1)
        let version = try #require(versions.first)
        #expect(version["name"] == .string("v1"))
        #expect(version["served"] == .bool(true))
        #expect(version["storage"] == .bool(true))
        #expect(version["subresources"] == .object(["status": .object([:])]))
        let root = try #require(version["schema"]?["openAPIV3Schema"])
        #expect(root["type"] == .string("object"))
        #expect(root["properties"]?.objectValue?.keys == ["apiVersion", "kind", "metadata", "spec", "status"])
        #expect(root["properties"]?["metadata"] == .object(["type": .string("object")]))
        #expect(isSortedBytewise(crd))
    }

    @Test("the plural of each CRD is the Swift type's", arguments: allKinds)
    func pluralsMatchTheWireTypes(kind: String) throws {
        let plurals = [
            SriovNetworkNodePolicy.kind: SriovNetworkNodePolicy.plural,
            SriovNetworkNodeState.kind: SriovNetworkNodeState.plural,
            SriovNetwork.kind: SriovNetwork.plural,
            SriovIBNetwork.kind: SriovIBNetwork.plural,
            OVSNetwork.kind: OVSNetwork.plural,
            SriovOperatorConfig.kind: SriovOperatorConfig.plural,
            SriovNetworkPoolConfig.kind: SriovNetworkPoolConfig.plural,
        ]
        #expect(try #require(CustomResourceDefinitions.definition(for: kind)).plural == plurals[kind])
    }

    @Test("every key a fully populated Swift value encodes is declared in its schema with the same JSON type")
    func schemaCoversTheSwiftTypes() throws {
        for (kind, json) in try FullyPopulated.encodedByKind() {
            #expect(disagreements(json, try schema(of: kind)) == [], "\(kind)")
        }
    }

    @Test("every field the schema declares is written by the Swift type (no schema-only fields)")
    func swiftTypesCoverTheSchema() throws {
        for (kind, json) in try FullyPopulated.encodedByKind() {
            let schema = try schema(of: kind)
            let missing = declaredPaths(schema).subtracting(presentPaths(json, schema))
            #expect(missing.sorted() == [], "\(kind)")
        }
    }

    @Test("fully populated values of every kind pass the validator")
    func fixturesAreValid() throws {
        for (kind, json) in try FullyPopulated.encodedByKind() {
            #expect(SchemaValidator().validate(json).map(\.description) == [], "\(kind)")
        }
    }

    @Test(
        "enums are upstream's",
        arguments: [
            (SriovNetworkNodePolicy.kind, "spec.deviceType", ["netdevice", "vfio-pci"]),
            (SriovNetworkNodePolicy.kind, "spec.linkType", ["eth", "ETH", "ib", "IB"]),
            (SriovNetworkNodePolicy.kind, "spec.eSwitchMode", ["legacy", "switchdev"]),
            (SriovNetworkNodePolicy.kind, "spec.vdpaType", ["virtio", "vhost"]),
            (SriovNetworkNodePolicy.kind, "spec.bridge.ovs.bridge.failMode", ["secure", "standalone"]),
            (SriovNetworkNodeState.kind, "spec.system.rdmaMode", ["shared", "exclusive"]),
            (SriovNetworkNodeState.kind, "spec.bridges.ovs[].bridge.failMode", ["secure", "standalone"]),
            (SriovNetwork.kind, "spec.vlanProto", ["802.1q", "802.1Q", "802.1ad", "802.1AD"]),
            (SriovNetwork.kind, "spec.spoofChk", ["on", "off"]),
            (SriovNetwork.kind, "spec.trust", ["on", "off"]),
            (SriovNetwork.kind, "spec.linkState", ["auto", "enable", "disable"]),
            (SriovNetwork.kind, "spec.logLevel", ["panic", "error", "warning", "info", "debug", ""]),
            (SriovNetwork.kind, "status.conditions[].status", ["True", "False", "Unknown"]),
            (SriovIBNetwork.kind, "spec.linkState", ["auto", "enable", "disable"]),
            (SriovOperatorConfig.kind, "spec.configurationMode", ["daemon", "systemd"]),
            (SriovOperatorConfig.kind, "spec.disablePlugins[]", ["mellanox"]),
            (SriovNetworkPoolConfig.kind, "spec.rdmaMode", ["shared", "exclusive"]),
        ]
    )
    func enums(kind: String, path: String, values: [String]) throws {
        let field = try #require(try schema(of: kind).schema(at: path))
        #expect(field.enum == values.map { .string($0) })
        #expect(field.type == "string")
    }

    @Test(
        "integer bounds are upstream's",
        arguments: [
            (SriovNetworkNodePolicy.kind, "spec.priority", 0, 99),
            (SriovNetworkNodePolicy.kind, "spec.mtu", 1, nil),
            (SriovNetworkNodePolicy.kind, "spec.numVfs", 0, nil),
            (SriovNetwork.kind, "spec.vlan", 0, 4094),
            (SriovNetwork.kind, "spec.vlanQoS", 0, 7),
            (SriovNetwork.kind, "spec.minTxRate", 0, nil),
            (SriovNetwork.kind, "spec.maxTxRate", 0, nil),
            (OVSNetwork.kind, "spec.vlan", 0, 4095),
            (OVSNetwork.kind, "spec.trunk[].minID", 0, 4095),
            (OVSNetwork.kind, "spec.trunk[].maxID", 0, 4095),
            (OVSNetwork.kind, "spec.trunk[].id", 0, 4095),
            (SriovOperatorConfig.kind, "spec.logLevel", 0, 2),
        ] as [(String, String, Int?, Int?)]
    )
    func bounds(kind: String, path: String, minimum: Int?, maximum: Int?) throws {
        let field = try #require(try schema(of: kind).schema(at: path))
        #expect(field.type == "integer")
        #expect(field.minimum == minimum)
        #expect(field.maximum == maximum)
    }

    @Test("defaults: policy deviceType netdevice, SriovNetwork logLevel info, nothing else")
    func defaults() throws {
        let deviceType = try schema(of: SriovNetworkNodePolicy.kind).schema(at: "spec.deviceType")
        #expect(deviceType?.default == .string("netdevice"))
        #expect(try schema(of: SriovNetwork.kind).schema(at: "spec.logLevel")?.default == .string("info"))
        func defaultedPaths(_ schema: OpenAPISchema, _ path: String) -> [String] {
            (schema.default == nil ? [] : [path])
                + schema.properties.flatMap { defaultedPaths($0.schema, "\(path).\($0.name)") }
                + (schema.items.map { defaultedPaths($0, "\(path)[]") } ?? [])
        }
        let all = try allKinds.flatMap { defaultedPaths(try schema(of: $0), $0) }
        #expect(all == ["SriovNetworkNodePolicy.spec.deviceType", "SriovNetwork.spec.logLevel"])
    }

    @Test(
        "required lists are upstream's",
        arguments: [
            (SriovNetworkNodePolicy.kind, "spec", ["nicSelector", "nodeSelector", "numVfs", "resourceName"]),
            (SriovNetworkNodeState.kind, "spec.interfaces[]", ["pciAddress"]),
            (SriovNetworkNodeState.kind, "spec.bridges.ovs[]", ["name"]),
            (SriovNetworkNodeState.kind, "spec.bridges.ovs[].uplinks[]", ["pciAddress"]),
            (SriovNetworkNodeState.kind, "status.interfaces[]", ["pciAddress"]),
            (SriovNetworkNodeState.kind, "status.interfaces[].Vfs[]", ["pciAddress", "vfID"]),
            (SriovNetworkNodeState.kind, "status.bridges.ovs[].uplinks[]", ["pciAddress"]),
            (SriovNetwork.kind, "spec", ["resourceName"]),
            (SriovIBNetwork.kind, "spec", ["resourceName"]),
            (OVSNetwork.kind, "spec", ["resourceName"]),
            (SriovNetwork.kind, "status.conditions[]", ["lastTransitionTime", "message", "reason", "status", "type"]),
            (SriovNetworkPoolConfig.kind, "spec.nodeSelector.matchExpressions[]", ["key", "operator"]),
        ]
    )
    func required(kind: String, path: String, fields: [String]) throws {
        #expect(try #require(try schema(of: kind).schema(at: path)).required == fields)
    }

    @Test("maps are additionalProperties of the right value type")
    func maps() throws {
        let policy = try schema(of: SriovNetworkNodePolicy.kind)
        #expect(policy.schema(at: "spec.nodeSelector")?.additionalProperties?.type == "string")
        #expect(policy.schema(at: "spec.bridge.ovs.uplink.interface.options")?.additionalProperties?.type == "string")
        let config = try schema(of: SriovOperatorConfig.kind)
        #expect(config.schema(at: "spec.featureGates")?.additionalProperties?.type == "boolean")
        #expect(config.schema(at: "spec.configDaemonEnvVars")?.additionalProperties?.type == "string")
    }

    @Test("maxUnavailable is int-or-string, rendered as controller-gen writes intstr.IntOrString")
    func maxUnavailable() throws {
        let field = try #require(try schema(of: SriovNetworkPoolConfig.kind).schema(at: "spec.maxUnavailable"))
        #expect(field.isIntOrString)
        #expect(field.type == nil)
        let json = field.json
        #expect(json["x-kubernetes-int-or-string"] == .bool(true))
        #expect(json["anyOf"] == .array([.object(["type": .string("integer")]), .object(["type": .string("string")])]))
    }

    @Test(
        "conditions are a list map keyed by type",
        arguments: [
            SriovNetwork.kind, SriovIBNetwork.kind, OVSNetwork.kind, SriovOperatorConfig.kind,
        ]
    )
    func conditions(kind: String) throws {
        let field = try #require(try schema(of: kind).schema(at: "status.conditions"))
        #expect(field.listType == "map")
        #expect(field.listMapKeys == ["type"])
        #expect(field.items?.property("lastTransitionTime")?.format == "date-time")
        let json = field.json
        #expect(json["x-kubernetes-list-type"] == .string("map"))
        #expect(json["x-kubernetes-list-map-keys"] == .array([.string("type")]))
    }

    @Test("NodeState prints sync status, desired and current sync state, and age")
    func nodeStateColumns() throws {
        let crd = try #require(CustomResourceDefinitions.crd(for: SriovNetworkNodeState.kind))
        let version = try #require(crd["spec"]?["versions"]?.arrayValue?.first)
        let columns = try #require(version["additionalPrinterColumns"]?.arrayValue)
        #expect(
            columns.compactMap { $0["name"]?.stringValue } == [
                "Sync Status", "Desired Sync State", "Current Sync State", "Age",
            ]
        )
        #expect(
            columns.compactMap { $0["jsonPath"]?.stringValue } == [
                ".status.syncStatus",
                #".metadata.annotations.sriovnetwork\.openshift\.io/desired-state"#,
                #".metadata.annotations.sriovnetwork\.openshift\.io/current-state"#,
                ".metadata.creationTimestamp",
            ]
        )
        #expect(columns.last?["type"] == .string("date"))
    }

    @Test(
        "network kinds print their Ready condition",
        arguments: [SriovNetwork.kind, SriovIBNetwork.kind, OVSNetwork.kind]
    )
    func readyColumn(kind: String) throws {
        let columns = try #require(CustomResourceDefinitions.definition(for: kind)).printerColumns
        #expect(columns.map(\.name) == ["Ready", "Age"])
        #expect(columns.first?.jsonPath == #".status.conditions[?(@.type=="Ready")].status"#)
    }

    @Test("the main spec fields carry a description", arguments: allKinds)
    func descriptions(kind: String) throws {
        let spec = try #require(try schema(of: kind).property("spec"))
        #expect(spec.description?.isEmpty == false)
        for property in spec.properties {
            #expect(property.schema.description?.isEmpty == false, "\(kind).spec.\(property.name)")
        }
    }
}
