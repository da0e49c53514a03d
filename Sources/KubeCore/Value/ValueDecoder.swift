/// Decodes `Decodable` types from a ``JSONValue`` with Kubernetes' strictness and precise errors.
///
/// Differences from Foundation's `JSONDecoder`, all on purpose:
/// - **Unknown fields are errors** (what `kubectl apply --validate=strict` reports), naming the path and the
///   closest known field: `spec.numVF: unknown field, did you mean numVfs?`. Types that keep arbitrary
///   content (``JSONValue``, ``LenientDecodable`` types) opt out.
/// - **No type coercion**: `numVfs: "8"` is a type error, as the API server's structural schema says.
/// - Every error carries the full field path (`spec.nicSelector.pfNames[1]`).
public struct ValueDecoder: Sendable {
    /// False for objects served by an API server: fields this version does not model are ignored there
    /// (a newer server may add them), while user manifests are checked strictly.
    public var rejectsUnknownFields: Bool

    public init(rejectsUnknownFields: Bool = true) { self.rejectsUnknownFields = rejectsUnknownFields }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(ValueDecodingError) -> T {
        let decoder = ValueDecoderImpl(value: value, codingPath: [], strict: self.rejectsUnknownFields)
        do {
            return try decoder.decodeChecked(type)
        } catch let error as ValueDecodingError {
            throw error
        } catch {
            throw ValueDecodingError(path: [], reason: .invalidValue(String(describing: error)))
        }
    }
}

/// Marks a type whose JSON may carry fields it does not model (for example a Node's status), so the
/// decoder ignores unknown keys inside it instead of rejecting them.
public protocol LenientDecodable: Decodable {}

/// A decoding failure at a field path.
public struct ValueDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case unknownField(suggestion: String?)
        case typeMismatch(expected: String, found: String)
        case missingField
        case invalidValue(String)
    }

    /// Path components: field names, or `[n]` for array indices.
    public var path: [String]
    public var reason: Reason

    public init(path: [String], reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// `spec.nicSelector.pfNames[1]`
    public var pathString: String { Self.format(self.path) }

    public static func format(_ path: [String]) -> String {
        var out = ""
        for component in path {
            if component.hasPrefix("[") {
                out += component
            } else {
                if !out.isEmpty { out += "." }
                out += component
            }
        }
        return out
    }

    public var description: String {
        let where_ = self.pathString.isEmpty ? "document" : self.pathString
        switch self.reason {
        case .unknownField(let suggestion?):
            return "\(where_): unknown field, did you mean \(suggestion)?"
        case .unknownField(nil):
            return "\(where_): unknown field"
        case .typeMismatch(let expected, let found):
            return "\(where_): expected \(expected), got \(found)"
        case .missingField:
            return "\(where_): required field is missing"
        case .invalidValue(let message):
            return "\(where_): \(message)"
        }
    }
}

func pathComponents(_ codingPath: [any CodingKey]) -> [String] {
    codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
}

/// Describes a value for an error message: `integer 8086`, `string "eight"`, `object`.
func describe(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return "boolean \(b)"
    case .int(let i): return "integer \(i)"
    case .double(let d): return "number \(d)"
    case .string(let s): return "string \(GoJSON.quote(s))"
    case .array: return "array"
    case .object: return "object"
    }
}

final class ValueDecoderImpl: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// Keys the decoded type asked for; whatever else the object holds is unknown.
    var accessedKeys: Set<String> = []
    let strict: Bool

    init(value: JSONValue, codingPath: [any CodingKey], strict: Bool = true) {
        self.value = value
        self.codingPath = codingPath
        self.strict = strict
    }

    func error(_ reason: ValueDecodingError.Reason, key: (any CodingKey)? = nil) -> ValueDecodingError {
        var path = self.codingPath
        if let key { path.append(key) }
        return ValueDecodingError(path: pathComponents(path), reason: reason)
    }

    /// Decodes `T` here and then rejects keys `T` never asked for.
    func decodeChecked<T: Decodable>(_ type: T.Type) throws -> T {
        if let primitive = try self.decodePrimitive(type) { return primitive }
        let result = try T(from: self)
        if self.strict, case .object(let object) = self.value, !(T.self is any LenientDecodable.Type),
            !(T.self is JSONValue.Type), !(T.self is JSONObject.Type)
        {
            for key in object.keys where !self.accessedKeys.contains(key) {
                throw self.error(
                    .unknownField(suggestion: closestKey(to: key, among: self.accessedKeys)),
                    key: AnyKey(key)
                )
            }
        }
        return result
    }

    func decodePrimitive<T>(_ type: T.Type) throws -> T? {
        if T.self == String.self {
            guard case .string(let s) = self.value else { throw self.mismatch("string") }
            return s as? T
        }
        if T.self == Int.self {
            guard case .int(let i) = self.value else { throw self.mismatch("integer") }
            return i as? T
        }
        if T.self == Bool.self {
            guard case .bool(let b) = self.value else { throw self.mismatch("boolean") }
            return b as? T
        }
        if T.self == Double.self {
            switch self.value {
            case .int(let i): return Double(i) as? T
            case .double(let d): return d as? T
            default: throw self.mismatch("number")
            }
        }
        if T.self == JSONValue.self { return self.value as? T }
        return nil
    }

    func mismatch(_ expected: String) -> ValueDecodingError {
        var found = describe(self.value)
        if expected == "string", case .int = self.value { found += " (quote it: \"\(found.dropFirst(8))\")" }
        if expected == "string", case .bool(let b) = self.value { found += " (quote it: \"\(b)\")" }
        return self.error(.typeMismatch(expected: expected, found: found))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = self.value else { throw self.mismatch("object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, object: object))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = self.value else { throw self.mismatch("array") }
        return UnkeyedContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(decoder: self)
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: ValueDecoderImpl
        let object: JSONObject
        var codingPath: [any CodingKey] { self.decoder.codingPath }
        var allKeys: [Key] {
            self.object.keys.compactMap { key in
                self.decoder.accessedKeys.insert(key)
                return Key(stringValue: key)
            }
        }

        func contains(_ key: Key) -> Bool {
            self.decoder.accessedKeys.insert(key.stringValue)
            return self.object[key.stringValue] != nil
        }

        func child(_ key: Key) throws -> ValueDecoderImpl {
            self.decoder.accessedKeys.insert(key.stringValue)
            guard let value = self.object[key.stringValue] else {
                // A required field is missing. If the user wrote something close to it, say so instead.
                // Keys the type declares (Key(stringValue:) succeeds) are not typos, only not read yet.
                let unknown = self.object.keys.filter {
                    !self.decoder.accessedKeys.contains($0) && Key(stringValue: $0) == nil
                }
                if let typo = unknown.first(where: { closestKey(to: $0, among: [key.stringValue]) != nil }) {
                    throw self.decoder.error(.unknownField(suggestion: key.stringValue), key: AnyKey(typo))
                }
                throw self.decoder.error(.missingField, key: key)
            }
            return ValueDecoderImpl(value: value, codingPath: self.codingPath + [key], strict: self.decoder.strict)
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            self.decoder.accessedKeys.insert(key.stringValue)
            guard let value = self.object[key.stringValue] else { return true }
            return value == .null
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try self.child(key).decodeChecked(type)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            self.decoder.accessedKeys.insert(key.stringValue)
            guard let value = self.object[key.stringValue], value != .null else { return nil }
            return try ValueDecoderImpl(value: value, codingPath: self.codingPath + [key], strict: self.decoder.strict)
                .decodeChecked(type)
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type,
            forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            try self.child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try self.child(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { self.decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { try self.child(key) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let decoder: ValueDecoderImpl
        let items: [JSONValue]
        var currentIndex = 0
        var codingPath: [any CodingKey] { self.decoder.codingPath }
        var count: Int? { self.items.count }
        var isAtEnd: Bool { self.currentIndex >= self.items.count }

        mutating func next() throws -> ValueDecoderImpl {
            guard !self.isAtEnd else {
                throw self.decoder.error(.invalidValue("array has too few elements"))
            }
            let child = ValueDecoderImpl(
                value: self.items[self.currentIndex],
                codingPath: self.codingPath + [AnyKey(index: self.currentIndex)],
                strict: self.decoder.strict
            )
            self.currentIndex += 1
            return child
        }

        mutating func decodeNil() throws -> Bool {
            guard !self.isAtEnd, self.items[self.currentIndex] == .null else { return false }
            self.currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try self.next().decodeChecked(type)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type
        ) throws -> KeyedDecodingContainer<NestedKey> {
            try self.next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try self.next().unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder { try self.next() }
    }

    struct SingleContainer: SingleValueDecodingContainer {
        let decoder: ValueDecoderImpl
        var codingPath: [any CodingKey] { self.decoder.codingPath }
        func decodeNil() -> Bool { self.decoder.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let inner = ValueDecoderImpl(
                value: self.decoder.value,
                codingPath: self.codingPath,
                strict: self.decoder.strict
            )
            let result = try inner.decodeChecked(type)
            self.decoder.accessedKeys.formUnion(inner.accessedKeys)
            return result
        }
    }
}

/// The known key closest to `key` by edit distance (case-insensitive), if it is close enough to be a typo.
func closestKey(to key: String, among candidates: some Sequence<String>) -> String? {
    let lowered = key.lowercased()
    var found: (key: String, distance: Int)?
    for candidate in candidates {
        let d = editDistance(lowered, candidate.lowercased())
        if let current = found, d > current.distance || (d == current.distance && candidate >= current.key) {
            continue
        }
        found = (candidate, d)
    }
    guard let best = found else { return nil }
    let limit = max(2, min(key.count, best.key.count) / 3)
    return best.distance <= limit ? best.key : nil
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
