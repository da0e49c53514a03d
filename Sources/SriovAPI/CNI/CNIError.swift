import KubeCore

/// The error a CNI plugin reports: printed as JSON on stdout with a non-zero exit status (CNI spec §"Error").
///
/// Codes are the spec's (1–11, 1.1.0 adds 50 and 51) plus the Go library's 999 ("internal"), which upstream
/// sriov-cni uses for every failure of its own. Printed as Go's `types.Error` prints it: `code`, `msg` and, when
/// present, `details` (no `cniVersion`), so tools written against upstream parse it unchanged.
public struct CNIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var msg: String
    public var details: String

    public init(code: Int, msg: String, details: String = "") {
        self.code = code
        self.msg = msg
        self.details = details
    }

    /// 1: the configuration's version is not one the plugin supports.
    public static let incompatibleVersion = 1
    /// 2: a field of the configuration is not supported.
    public static let unsupportedField = 2
    /// 3: the container is unknown or does not exist.
    public static let unknownContainer = 3
    /// 4: a required environment variable is missing or invalid.
    public static let invalidEnvironment = 4
    /// 5: an I/O failure (e.g. reading stdin).
    public static let ioFailure = 5
    /// 6: the configuration could not be decoded.
    public static let decodingFailure = 6
    /// 7: the network configuration is invalid.
    public static let invalidNetworkConfig = 7
    /// 11: try again later (a transient condition).
    public static let tryAgainLater = 11
    /// 50 (CNI 1.1.0): the plugin cannot serve requests now (STATUS).
    public static let pluginNotAvailable = 50
    /// 51 (CNI 1.1.0): the plugin is available but connectivity is limited (STATUS).
    public static let limitedConnectivity = 51
    /// 999: every other failure (the Go library's `ErrInternal`).
    public static let internalError = 999

    /// A plugin failure with code 999, as upstream reports all of its own errors.
    public static func `internal`(_ msg: String) -> CNIError { CNIError(code: Self.internalError, msg: msg) }

    /// The error JSON: `{"code":N,"msg":"…"}` plus `"details"` when not empty.
    public var json: String {
        var object: JSONObject = ["code": .int(self.code), "msg": .string(self.msg)]
        if !self.details.isEmpty { object["details"] = .string(self.details) }
        return GoJSON.encode(.object(object))
    }

    /// `msg`, then `; details` when there are details (Go's `types.Error.Error()`).
    public var description: String { self.details.isEmpty ? self.msg : "\(self.msg); \(self.details)" }

    /// Parses a plugin's error JSON (an IPAM plugin's stdout after a failure); `nil` when it is not one.
    public static func parse(_ bytes: [UInt8]) -> CNIError? {
        guard let value = try? JSONParser.parse(bytes), case .object(let object) = value,
            case .int(let code)? = object["code"]
        else { return nil }
        return CNIError(
            code: code,
            msg: object["msg"]?.stringValue ?? "",
            details: object["details"]?.stringValue ?? ""
        )
    }
}
