/// A value with a Go "zero value", for fields declared `json:"…,omitempty"` upstream.
public protocol GoZeroable {
    static var goZero: Self { get }
    var isGoZero: Bool { get }
}

extension Int: GoZeroable {
    public static var goZero: Int { 0 }
    public var isGoZero: Bool { self == 0 }
}
extension Bool: GoZeroable {
    public static var goZero: Bool { false }
    public var isGoZero: Bool { !self }
}
extension String: GoZeroable {
    public static var goZero: String { "" }
    public var isGoZero: Bool { self.isEmpty }
}
extension Array: GoZeroable {
    public static var goZero: [Element] { [] }
    public var isGoZero: Bool { self.isEmpty }
}
extension Dictionary: GoZeroable {
    public static var goZero: [Key: Value] { [:] }
    public var isGoZero: Bool { self.isEmpty }
}

/// A field with Go's `omitempty` semantics: an absent key decodes to the zero value, and the zero
/// value is not written. Code reads and writes the plain value (`iface.mtu > 0`), exactly as upstream's
/// Go code does, while the JSON keeps upstream's shape.
@propertyWrapper
public struct OmitEmpty<Value: GoZeroable & Codable & Sendable & Hashable>: Sendable, Hashable, Codable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
    public init() { self.wrappedValue = .goZero }

    public init(from decoder: any Decoder) throws {
        self.wrappedValue = try decoder.singleValueContainer().decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.wrappedValue)
    }
}

extension KeyedDecodingContainer {
    public func decode<V>(_ type: OmitEmpty<V>.Type, forKey key: Key) throws -> OmitEmpty<V> {
        OmitEmpty(wrappedValue: try self.decodeIfPresent(V.self, forKey: key) ?? .goZero)
    }
}

extension KeyedEncodingContainer {
    public mutating func encode<V>(_ value: OmitEmpty<V>, forKey key: Key) throws {
        if !value.wrappedValue.isGoZero { try self.encode(value.wrappedValue, forKey: key) }
    }
}
