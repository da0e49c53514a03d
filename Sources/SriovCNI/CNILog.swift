#if canImport(Glibc)
import Glibc
#endif

/// The plugin's log: upstream's `logLevel` (`panic`, `error`, `warning`, `info`, `debug`) and `logFile` (default
/// stderr; never stdout, which carries only the protocol). Each line is one `write(2)` in append mode, so
/// concurrent invocations writing the same file do not interleave within a line.
public struct CNILog: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case panic = 0
        case error, warning, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        init?(name: String) {
            switch name.lowercased() {
            case "panic": self = .panic
            case "error": self = .error
            case "warning": self = .warning
            case "info", "": self = .info
            case "debug": self = .debug
            default: return nil
            }
        }

        var name: String {
            switch self {
            case .panic: "panic"
            case .error: "error"
            case .warning: "warning"
            case .info: "info"
            case .debug: "debug"
            }
        }
    }

    public var level: Level
    public var file: String
    /// `containerID`, `netns`, `ifname` of the invocation, on every line (as upstream's logger adds them).
    public var context: String

    public init(level: Level = .info, file: String = "", context: String = "") {
        self.level = level
        self.file = file
        self.context = context
    }

    /// Configured from a NetConf's `logLevel` and `logFile` (an unknown level keeps `info`).
    public init(levelName: String, file: String, context: String) {
        self.init(level: Level(name: levelName) ?? .info, file: file, context: context)
    }

    public func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        self.log(.error, message, fields)
    }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        self.log(.warning, message, fields)
    }
    public func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        self.log(.info, message, fields)
    }
    public func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        self.log(.debug, message, fields)
    }

    func log(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, String>) {
        guard level <= self.level else { return }
        var line = "\(Self.timestamp()) [\(level.name)] \(message)"
        for (key, value) in fields { line += " \(key)=\"\(value)\"" }
        if !self.context.isEmpty { line += " " + self.context }
        line += "\n"
        var fd: Int32 = 2
        var opened = false
        if !self.file.isEmpty {
            fd = open(self.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            if fd < 0 { fd = 2 } else { opened = true }
        }
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        if opened { close(fd) }
    }

    /// RFC 3339 UTC with milliseconds, without Foundation.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
