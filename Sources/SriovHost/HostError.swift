#if canImport(Glibc)
import Glibc
#endif

/// A failure talking to the host (sysfs, netlink, kernel modules, metadata services), with the step, the
/// path and the errno, so the user sees exactly which write failed and why.
///
/// Printed as `write 0000:3b:00.0 sriov_numvfs: /sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs: Device or
/// resource busy (errno 16)`.
public struct HostError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; an open set (a struct wrapping a string) so new subsystems can add codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public static let io = Code(name: "io")
        public static let notFound = Code(name: "notFound")
        public static let invalidArgument = Code(name: "invalidArgument")
        public static let busy = Code(name: "busy")
        public static let timeout = Code(name: "timeout")
        public static let unsupported = Code(name: "unsupported")
        public static let netlink = Code(name: "netlink")
        public static let metadata = Code(name: "metadata")
        public static let permission = Code(name: "permission")
        /// The work was stopped on request (shutdown) before it finished.
        public static let interrupted = Code(name: "interrupted")
        public static func custom(_ name: String) -> Code { Code(name: name) }
        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var errno: Int32?
    /// The step being carried out (`write sriov_numvfs`), when known.
    public var step: String?

    public init(code: Code, message: String, path: String? = nil, errno: Int32? = nil, step: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
        self.step = step
    }

    /// An error from a failed system call, with the errno's text.
    public static func system(_ message: String, path: String? = nil, errno: Int32, step: String? = nil) -> HostError {
        let code: Code
        switch errno {
        case ENOENT: code = .notFound
        case EBUSY: code = .busy
        case EINVAL, ERANGE: code = .invalidArgument
        case EACCES, EPERM: code = .permission
        case ETIMEDOUT: code = .timeout
        default: code = .io
        }
        return HostError(code: code, message: message, path: path, errno: errno, step: step)
    }

    public var description: String {
        var text = ""
        if let step { text += "\(step): " }
        if let path { text += "\(path): " }
        text += self.message
        if let errno {
            text += " (\(String(cString: strerror(errno))), errno \(errno))"
        }
        return text
    }
}
