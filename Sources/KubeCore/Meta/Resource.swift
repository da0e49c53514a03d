/// Whether a kind lives in a namespace.
public enum ResourceScope: Sendable {
    case namespaced
    case cluster
}

/// A Kubernetes kind this project reads or writes: its group, version, kind and plural name.
///
/// Each kind conforms by hand (a few lines each) rather than through a macro, to keep clean builds fast.
public protocol Resource: Codable, Sendable, Hashable {
    static var group: String { get }
    static var version: String { get }
    static var kind: String { get }
    static var plural: String { get }
    static var scope: ResourceScope { get }

    var apiVersion: String { get set }
    var kind: String { get set }
    var metadata: ObjectMeta { get set }
}

extension Resource {
    /// `group/version`, or just `version` for the core group.
    public static var apiVersion: String { self.group.isEmpty ? self.version : "\(self.group)/\(self.version)" }

    public var key: ObjectKey { ObjectKey(namespace: self.metadata.namespace, name: self.metadata.name) }

    /// Sets `apiVersion` and `kind` to this type's, as the API server does when it serves an object.
    public mutating func setTypeMeta() {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
    }
}
