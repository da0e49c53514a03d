public import KubeCore

/// Validates objects of the seven SR-IOV kinds against their CRD schemas, as the kube-apiserver does on create.
///
/// What is checked, in the API server's order per node: JSON type (`x-kubernetes-int-or-string` accepts an
/// integer or a string; an integral number passes as an integer), `enum`, `minimum`/`maximum`,
/// `minLength`/`maxLength`/`pattern`, `format: date-time`, `required`, list-map/set uniqueness, and fields
/// the schema does not declare. `null` counts as absent, because the API server prunes `null` from
/// non-nullable fields before validating. `metadata` is only checked to be an object (the API server
/// validates it with its own rules). Defaults are not applied first; they cannot make an object invalid.
///
/// Every violation is reported at once. The API server is terser: unknown fields fail decoding (under
/// kubectl's default strict field validation) before the schema is checked, so it reports only those.
///
/// Validation never traps: it only descends where the schema does, so its depth is bounded by the schema.
public struct SchemaValidator: Sendable {
    /// Whether `status` is validated. The API server ignores `status` on create when the kind has a status
    /// subresource (all seven do); validating it still catches broken NodeState snapshots.
    public var validatesStatus: Bool

    public init(validatesStatus: Bool = true) {
        self.validatesStatus = validatesStatus
    }

    /// Validates one decoded manifest.
    ///
    /// - Returns: every violation, empty when the API server would accept the object. An object of another
    ///   kind yields only one ``SchemaViolation/Reason/unknownKind``; an apiVersion other than
    ///   `sriovnetwork.openshift.io/v1` is reported alongside the schema violations.
    public func validate(_ object: JSONValue) -> [SchemaViolation] {
        guard case .object(let fields) = object else {
            let type = Self.typeName(of: object)
            return [
                SchemaViolation(
                    path: "",
                    reason: .invalidType,
                    message: "Invalid value: \(Self.quote(type)): must be of type object: \(Self.quote(type))"
                )
            ]
        }
        guard let kindValue = fields["kind"], kindValue != .null else {
            return [SchemaViolation(path: "kind", reason: .required, message: "Required value")]
        }
        let kind = kindValue.stringValue ?? ""
        guard let definition = CustomResourceDefinitions.definition(for: kind) else {
            let kinds = CustomResourceDefinitions.definitions.map { Self.quote($0.kind) }.joined(separator: ", ")
            return [
                SchemaViolation(
                    path: "kind",
                    reason: .unknownKind,
                    message: "Unsupported value: \(Self.goValue(kindValue)): supported values: \(kinds)"
                )
            ]
        }
        let apiVersion = "\(CustomResourceDefinitions.group)/\(CustomResourceDefinitions.version)"
        var violations: [SchemaViolation] = []
        if let given = fields["apiVersion"], given != .string(apiVersion) {
            violations.append(
                SchemaViolation(
                    path: "apiVersion",
                    reason: .unknownKind,
                    message: "Unsupported value: \(Self.goValue(given)): supported values: \(Self.quote(apiVersion))"
                )
            )
        }
        if fields["apiVersion"] == nil {
            violations.append(SchemaViolation(path: "apiVersion", reason: .required, message: "Required value"))
        }
        var schema = definition.schema
        if !self.validatesStatus, let index = schema.properties.firstIndex(where: { $0.name == "status" }) {
            var anything = OpenAPISchema()
            anything.preservesUnknownFields = true
            schema.properties[index].schema = anything
        }
        self.check(object, against: schema, path: "", into: &violations)
        return violations
    }

    /// Validates `value` against an arbitrary schema, reporting paths relative to `path`.
    public func validate(_ value: JSONValue, against schema: OpenAPISchema, path: String = "") -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        self.check(value, against: schema, path: path, into: &violations)
        return violations
    }
}

// MARK: - The walk

extension SchemaValidator {
    private func check(
        _ value: JSONValue,
        against schema: OpenAPISchema,
        path: String,
        into out: inout [SchemaViolation]
    ) {
        let valueType = Self.typeName(of: value)
        let isNumber: Bool
        switch value {
        case .int, .double: isNumber = true
        default: isNumber = false
        }

        // Type. Upstream: kube-openapi validate/type.go, `InvalidType` → `field.TypeInvalid`.
        let allowed = schema.isIntOrString ? ["integer", "string"] : (schema.type.map { [$0] } ?? [])
        var typeMatches = allowed.isEmpty || allowed.contains(valueType)
        if !typeMatches, case .double(let d) = value, allowed.contains("integer"), d.rounded() == d, d.isFinite {
            typeMatches = true
        }
        if !typeMatches, valueType == "integer", allowed.contains("number") {
            typeMatches = true
        }
        if !typeMatches {
            let expected = allowed.joined(separator: ",")
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .invalidType,
                    message: "Invalid value: \(Self.quote(valueType)): \(path) in body must be of type \(expected): "
                        + Self.quote(valueType)
                )
            )
        }

        // Enum. Upstream: apiextensions-apiserver validation.go, `EnumFailCode` → `field.NotSupported`.
        if !schema.enum.isEmpty, !schema.enum.contains(where: { Self.jsonEqual($0, value) }) {
            let supported = schema.enum.map { member -> String in
                if case .string(let s) = member { return Self.quote(s) }
                return Self.quote(GoJSON.encode(member))
            }
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .unsupportedValue,
                    message: "Unsupported value: \(Self.goValue(value)): supported values: "
                        + supported.joined(separator: ", ")
                )
            )
        }

        // Bounds. Upstream: go-openapi errors `TooLarge` / `TooSmall` → `field.Invalid`.
        if isNumber {
            let number = Self.doubleValue(value)
            if let maximum = schema.maximum, number > Double(maximum) {
                out.append(
                    SchemaViolation(
                        path: path,
                        reason: .invalidValue,
                        message: "Invalid value: \(Self.goValue(value)): \(path) in body should be less than or "
                            + "equal to \(maximum)"
                    )
                )
            }
            if let minimum = schema.minimum, number < Double(minimum) {
                out.append(
                    SchemaViolation(
                        path: path,
                        reason: .invalidValue,
                        message: "Invalid value: \(Self.goValue(value)): \(path) in body should be greater than or "
                            + "equal to \(minimum)"
                    )
                )
            }
        }

        switch value {
        case .string(let string):
            self.checkString(string, against: schema, path: path, into: &out)
        case .array(let items):
            self.checkArray(items, against: schema, path: path, into: &out)
        case .object(let object):
            if typeMatches { self.checkObject(object, against: schema, path: path, into: &out) }
        default:
            break
        }
    }

    private func checkString(
        _ string: String,
        against schema: OpenAPISchema,
        path: String,
        into out: inout [SchemaViolation]
    ) {
        let length = string.unicodeScalars.count
        if let maxLength = schema.maxLength, length > maxLength {
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .tooLong,
                    message: "Too long: may not be more than \(maxLength) bytes"
                )
            )
        }
        if let minLength = schema.minLength, length < minLength {
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .invalidValue,
                    message: "Invalid value: \(Self.quote(string)): \(path) in body should be at least "
                        + "\(minLength) chars long"
                )
            )
        }
        if let pattern = schema.pattern, let regex = try? Regex(pattern), !string.contains(regex) {
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .invalidValue,
                    message: "Invalid value: \(Self.quote(string)): \(path) in body should match '\(pattern)'"
                )
            )
        }
        if schema.format == "date-time", !Self.isDateTime(string) {
            out.append(
                SchemaViolation(
                    path: path,
                    reason: .invalidType,
                    message: "Invalid value: \(Self.quote(string)): \(path) in body must be of type date-time: "
                        + Self.quote(string)
                )
            )
        }
    }

    private func checkArray(
        _ items: [JSONValue],
        against schema: OpenAPISchema,
        path: String,
        into out: inout [SchemaViolation]
    ) {
        if let itemSchema = schema.items {
            for (index, item) in items.enumerated() where item != .null {
                self.check(item, against: itemSchema, path: "\(path)[\(index)]", into: &out)
            }
        }
        // Upstream: apiextensions-apiserver pkg/apiserver/schema/listtype — duplicates are reported at the
        // later index.
        switch schema.listType {
        case "set":
            for (index, item) in items.enumerated()
            where items[..<index].contains(where: { Self.jsonEqual($0, item) }) {
                out.append(
                    SchemaViolation(
                        path: "\(path)[\(index)]",
                        reason: .duplicate,
                        message: "Duplicate value: \(Self.goValue(item))"
                    )
                )
            }
        case "map" where !schema.listMapKeys.isEmpty:
            var seen: [[JSONValue?]] = []
            for (index, item) in items.enumerated() {
                guard case .object(let object) = item else { continue }
                let key = schema.listMapKeys.map { object[$0] }
                if seen.contains(key) {
                    var keyObject = JSONObject()
                    for (name, value) in zip(schema.listMapKeys, key) { keyObject[name] = value ?? .null }
                    out.append(
                        SchemaViolation(
                            path: "\(path)[\(index)]",
                            reason: .duplicate,
                            message: "Duplicate value: \(Self.goValue(.object(keyObject)))"
                        )
                    )
                } else {
                    seen.append(key)
                }
            }
        default:
            break
        }
    }

    private func checkObject(
        _ object: JSONObject,
        against schema: OpenAPISchema,
        path: String,
        into out: inout [SchemaViolation]
    ) {
        // Upstream: go-openapi validate/object_validator.go — required first, then each property.
        for name in schema.required where (object[name] ?? .null) == .null {
            out.append(SchemaViolation(path: Self.join(path, name), reason: .required, message: "Required value"))
        }
        for (name, value) in object where value != .null {
            let childPath = Self.join(path, name)
            if path.isEmpty, name == "metadata" {
                // The API server validates metadata with ObjectMeta's rules, not the CRD schema.
                if case .object = value { continue }
            }
            if let property = schema.property(name) {
                self.check(value, against: property, path: childPath, into: &out)
            } else if let values = schema.additionalProperties {
                self.check(value, against: values, path: childPath, into: &out)
            } else if !schema.preservesUnknownFields, schema.type == "object" {
                out.append(
                    SchemaViolation(
                        path: childPath,
                        reason: .unknownField,
                        message: "unknown field \(Self.quote(childPath))"
                    )
                )
            }
        }
    }
}
