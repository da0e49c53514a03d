public import KubeCore

/// One node of a CustomResourceDefinition's OpenAPI v3 schema (`apiextensions.k8s.io/v1` `JSONSchemaProps`),
/// limited to the keywords this project's CRDs use.
///
/// Build schemas with the factories (``string(_:)``, ``integer(_:minimum:maximum:)``, ``object(_:required:_:)``,
/// ``array(_:of:)``, ``map(_:of:)``) and refine them with the modifiers (``enumerated(_:)``,
/// ``defaulted(_:)``). ``properties`` keep the order they were declared in; ``json`` renders them the way
/// controller-gen writes its YAML (every key and property name sorted bytewise), so the rendered CRDs diff
/// cleanly against upstream's `config/crd/bases`.
public struct OpenAPISchema: Sendable, Hashable {
    /// A named entry of ``properties``.
    public struct Property: Sendable, Hashable {
        public var name: String
        public var schema: OpenAPISchema

        public init(name: String, schema: OpenAPISchema) {
            self.name = name
            self.schema = schema
        }
    }

    /// `type`: `string`, `integer`, `number`, `boolean`, `object` or `array`; nil for int-or-string.
    public var type: String?
    public var description: String?
    /// `format`, e.g. `date-time` or `int64`.
    public var format: String?
    /// `properties`, in declaration order.
    public var properties: [Property] = []
    public var required: [String] = []
    /// `enum`, as JSON values (an empty string is a legal member, as in SriovNetwork's `logLevel`).
    public var `enum`: [JSONValue] = []
    public var minimum: Int?
    public var maximum: Int?
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: String?
    /// `default`, applied by the API server to absent fields.
    public var `default`: JSONValue?
    /// `anyOf`; used only together with ``isIntOrString``, as controller-gen writes `intstr.IntOrString`.
    public var anyOf: [OpenAPISchema] = []
    /// `x-kubernetes-preserve-unknown-fields`
    public var preservesUnknownFields = false
    /// `x-kubernetes-int-or-string`
    public var isIntOrString = false
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    public var listType: String?
    /// `x-kubernetes-list-map-keys`, for `listType: map`.
    public var listMapKeys: [String] = []
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    public var mapType: String?

    // Recursive members are stored in arrays, which gives the struct the indirection it needs.
    private var itemsStorage: [OpenAPISchema] = []
    private var additionalPropertiesStorage: [OpenAPISchema] = []

    public init(type: String? = nil, description: String? = nil) {
        self.type = type
        self.description = description
    }

    /// `items`: the schema of every element of an array.
    public var items: OpenAPISchema? {
        get { self.itemsStorage.first }
        set { self.itemsStorage = newValue.map { [$0] } ?? [] }
    }

    /// `additionalProperties`: the schema of every value of a map (`map[string]T` in Go).
    public var additionalProperties: OpenAPISchema? {
        get { self.additionalPropertiesStorage.first }
        set { self.additionalPropertiesStorage = newValue.map { [$0] } ?? [] }
    }

    /// The schema of property `name`, if declared.
    public func property(_ name: String) -> OpenAPISchema? {
        self.properties.first(where: { $0.name == name })?.schema
    }

    /// The schema at a dotted path of property names (`spec.nicSelector.pfNames`); `[]` steps into `items`
    /// (`spec.interfaces[].pciAddress`).
    public func schema(at path: String) -> OpenAPISchema? {
        var current = self
        for component in path.split(separator: ".") {
            var name = Substring(component)
            var intoItems = 0
            while name.hasSuffix("[]") {
                name = name.dropLast(2)
                intoItems += 1
            }
            guard let next = current.property(String(name)) else { return nil }
            current = next
            for _ in 0..<intoItems {
                guard let items = current.items else { return nil }
                current = items
            }
        }
        return current
    }
}

// MARK: - Factories and modifiers

extension OpenAPISchema {
    public static func string(_ description: String? = nil) -> OpenAPISchema {
        OpenAPISchema(type: "string", description: description)
    }

    public static func boolean(_ description: String? = nil) -> OpenAPISchema {
        OpenAPISchema(type: "boolean", description: description)
    }

    public static func integer(
        _ description: String? = nil,
        minimum: Int? = nil,
        maximum: Int? = nil
    ) -> OpenAPISchema {
        var schema = OpenAPISchema(type: "integer", description: description)
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }

    /// An object with the given properties, in order.
    public static func object(
        _ description: String? = nil,
        required: [String] = [],
        _ properties: KeyValuePairs<String, OpenAPISchema> = [:]
    ) -> OpenAPISchema {
        var schema = OpenAPISchema(type: "object", description: description)
        schema.properties = properties.map { Property(name: $0.key, schema: $0.value) }
        schema.required = required
        return schema
    }

    /// An object with the given properties, in order, and no description.
    public static func object(_ properties: KeyValuePairs<String, OpenAPISchema>) -> OpenAPISchema {
        .object(nil, properties)
    }

    public static func array(_ description: String? = nil, of items: OpenAPISchema) -> OpenAPISchema {
        var schema = OpenAPISchema(type: "array", description: description)
        schema.items = items
        return schema
    }

    /// A map from string keys to `values` (`additionalProperties`).
    public static func map(_ description: String? = nil, of values: OpenAPISchema) -> OpenAPISchema {
        var schema = OpenAPISchema(type: "object", description: description)
        schema.additionalProperties = values
        return schema
    }

    /// `intstr.IntOrString`, written as controller-gen does: `anyOf` integer/string plus the extension.
    public static func intOrString(_ description: String? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema(description: description)
        schema.anyOf = [OpenAPISchema(type: "integer"), OpenAPISchema(type: "string")]
        schema.isIntOrString = true
        return schema
    }

    /// The same schema restricted to the given string values.
    public func enumerated(_ values: [String]) -> OpenAPISchema {
        var schema = self
        schema.enum = values.map { .string($0) }
        return schema
    }

    /// The same schema with a `default`.
    public func defaulted(_ value: JSONValue) -> OpenAPISchema {
        var schema = self
        schema.default = value
        return schema
    }

    /// The same schema with another `description`.
    public func described(_ description: String) -> OpenAPISchema {
        var schema = self
        schema.description = description
        return schema
    }

    /// The same schema with `format`.
    public func formatted(_ format: String) -> OpenAPISchema {
        var schema = self
        schema.format = format
        return schema
    }

    /// The same schema with `x-kubernetes-list-type` (and map keys for `map` lists).
    public func listed(_ type: String, keys: [String] = []) -> OpenAPISchema {
        var schema = self
        schema.listType = type
        schema.listMapKeys = keys
        return schema
    }
}

// MARK: - Rendering

extension OpenAPISchema {
    /// The schema as JSON, keys and property names sorted bytewise as controller-gen writes them.
    public var json: JSONValue {
        var object = JSONObject()
        if let additionalProperties = self.additionalProperties {
            object["additionalProperties"] = additionalProperties.json
        }
        if !self.anyOf.isEmpty { object["anyOf"] = .array(self.anyOf.map(\.json)) }
        if let value = self.default { object["default"] = value }
        if let description = self.description { object["description"] = .string(description) }
        if !self.enum.isEmpty { object["enum"] = .array(self.enum) }
        if let format = self.format { object["format"] = .string(format) }
        if let items = self.items { object["items"] = items.json }
        if let maxLength = self.maxLength { object["maxLength"] = .int(maxLength) }
        if let maximum = self.maximum { object["maximum"] = .int(maximum) }
        if let minLength = self.minLength { object["minLength"] = .int(minLength) }
        if let minimum = self.minimum { object["minimum"] = .int(minimum) }
        if let pattern = self.pattern { object["pattern"] = .string(pattern) }
        if !self.properties.isEmpty {
            let sorted = self.properties.sorted { Self.bytewiseLess($0.name, $1.name) }
            object["properties"] = .object(JSONObject(sorted.map { (key: $0.name, value: $0.schema.json) }))
        }
        if !self.required.isEmpty { object["required"] = .array(self.required.map { .string($0) }) }
        if let type = self.type { object["type"] = .string(type) }
        if self.isIntOrString { object["x-kubernetes-int-or-string"] = .bool(true) }
        if !self.listMapKeys.isEmpty {
            object["x-kubernetes-list-map-keys"] = .array(self.listMapKeys.map { .string($0) })
        }
        if let listType = self.listType { object["x-kubernetes-list-type"] = .string(listType) }
        if let mapType = self.mapType { object["x-kubernetes-map-type"] = .string(mapType) }
        if self.preservesUnknownFields { object["x-kubernetes-preserve-unknown-fields"] = .bool(true) }
        return .object(object)
    }

    /// Go's string order (bytes), which puts `Vfs` before `altNames`.
    static func bytewiseLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
