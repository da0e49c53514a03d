import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum Environment {
    static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// Writes all of `text` to a file descriptor with write(2): unbuffered, so output order is what the
/// code says even when stdout is a pipe.
enum FileDescriptorWriter {
    static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}

/// Writes a line to standard error.
enum StandardError {
    static func write(_ text: String) {
        FileDescriptorWriter.write(text.hasSuffix("\n") ? text : text + "\n", to: 2)
    }
}

/// Writes to standard output in one go.
enum StandardOutput {
    static func write(_ text: String) {
        FileDescriptorWriter.write(text, to: 1)
    }
}

/// Logging for the CLI: to stderr, level from `SRIOV_LOG_LEVEL` (default `warning`, so progress printed by
/// the commands is not repeated; `info` shows one line per host change).
enum LogSetup {
    static func bootstrap(defaultLevel: Logger.Level = .warning) {
        let level =
            Environment.get("SRIOV_LOG_LEVEL").flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? defaultLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
