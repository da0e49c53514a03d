/// Encodes `Encodable` types into a ``JSONValue``, keeping keys in the order the type encodes them
/// (declaration order for synthesized conformances), so printed objects read like upstream's.
public struct ValueEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try ValueEncoderImpl.encodeChild(value, path: []).build()
    }
}

/// Mutable slot that containers write into; a class so nested containers can share it.
final class ValueBox {
    var value: JSONValue
    init(_ value: JSONValue) { self.value = value }
}

final class ValueEncoderImpl: Encoder {
    let storage = ValueBox(.null)
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let existing) = self.pending {
            return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, object: existing))
        }
        let object = ObjectBuilder()
        self.pending = .object(object)
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, object: object))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array = ArrayBuilder()
        self.pending = .array(array)
        return UnkeyedContainer(encoder: self, array: array)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }

    enum Pending {
        case none
        case object(ObjectBuilder)
        case array(ArrayBuilder)
    }

    var pending: Pending = .none

    /// Builders are references, so the final value is assembled when asked for.
    func build() -> JSONValue {
        switch self.pending {
        case .none: return self.storage.value
        case .object(let o): return o.build()
        case .array(let a): return a.build()
        }
    }

    static func encodeChild<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> ChildValue {
        if let v = value as? JSONValue { return .value(v) }
        if let s = value as? String { return .value(.string(s)) }
        if let i = value as? Int { return .value(.int(i)) }
        if let b = value as? Bool { return .value(.bool(b)) }
        if let dictionary = value as? any SortedKeyEncodable { return .value(try dictionary.encodeSorted(path: path)) }
        let child = ValueEncoderImpl(codingPath: path)
        try value.encode(to: child)
        return .encoder(child)
    }

    enum ChildValue {
        case value(JSONValue)
        case encoder(ValueEncoderImpl)

        func build() -> JSONValue {
            switch self {
            case .value(let v): return v
            case .encoder(let e): return e.build()
            }
        }
    }

    final class ObjectBuilder {
        var entries: [(String, ChildValue)] = []
        func set(_ key: String, _ value: ChildValue) {
            if let index = self.entries.firstIndex(where: { $0.0 == key }) {
                self.entries[index].1 = value
            } else {
                self.entries.append((key, value))
            }
        }
        func build() -> JSONValue {
            .object(JSONObject(self.entries.map { (key: $0.0, value: $0.1.build()) }))
        }
    }

    final class ArrayBuilder {
        var items: [ChildValue] = []
        func build() -> JSONValue { .array(self.items.map { $0.build() }) }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: ValueEncoderImpl
        let object: ObjectBuilder
        var codingPath: [any CodingKey] { self.encoder.codingPath }

        mutating func encodeNil(forKey key: Key) throws { self.object.set(key.stringValue, .value(.null)) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            self.object.set(key.stringValue, try ValueEncoderImpl.encodeChild(value, path: self.codingPath + [key]))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type,
            forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [key])
            self.object.set(key.stringValue, .encoder(child))
            return child.container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [key])
            self.object.set(key.stringValue, .encoder(child))
            return child.unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { self.encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [key])
            self.object.set(key.stringValue, .encoder(child))
            return child
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let encoder: ValueEncoderImpl
        let array: ArrayBuilder
        var codingPath: [any CodingKey] { self.encoder.codingPath }
        var count: Int { self.array.items.count }

        mutating func encodeNil() throws { self.array.items.append(.value(.null)) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            let path = self.codingPath + [AnyKey(index: self.count)]
            self.array.items.append(try ValueEncoderImpl.encodeChild(value, path: path))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [AnyKey(index: self.count)])
            self.array.items.append(.encoder(child))
            return child.container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [AnyKey(index: self.count)])
            self.array.items.append(.encoder(child))
            return child.unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder {
            let child = ValueEncoderImpl(codingPath: self.codingPath + [AnyKey(index: self.count)])
            self.array.items.append(.encoder(child))
            return child
        }
    }

    struct SingleContainer: SingleValueEncodingContainer {
        let encoder: ValueEncoderImpl
        var codingPath: [any CodingKey] { self.encoder.codingPath }

        mutating func encodeNil() throws { self.set(.null) }
        mutating func encode(_ value: Bool) throws { self.set(.bool(value)) }
        mutating func encode(_ value: String) throws { self.set(.string(value)) }
        mutating func encode(_ value: Double) throws { self.set(.double(value)) }
        mutating func encode(_ value: Int) throws { self.set(.int(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            self.set(try ValueEncoderImpl.encodeChild(value, path: self.codingPath).build())
        }

        func set(_ value: JSONValue) {
            self.encoder.pending = .none
            self.encoder.storage.value = value
        }
    }
}

/// String-keyed dictionaries encode with sorted keys, as Go's `encoding/json` writes maps, so output
/// is deterministic.
protocol SortedKeyEncodable {
    func encodeSorted(path: [any CodingKey]) throws -> JSONValue
}

extension Dictionary: SortedKeyEncodable where Key == String, Value: Encodable {
    func encodeSorted(path: [any CodingKey]) throws -> JSONValue {
        var object = JSONObject()
        for key in self.keys.sorted() {
            guard let value = self[key] else { continue }
            object[key] = try ValueEncoderImpl.encodeChild(value, path: path + [AnyKey(key)]).build()
        }
        return .object(object)
    }
}
