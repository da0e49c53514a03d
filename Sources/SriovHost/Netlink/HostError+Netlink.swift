#if canImport(Glibc)
import Glibc
#endif

extension HostError {
    /// A request the kernel refused: `operation` names what was attempted, on which link, with which value; the
    /// kernel's extended-ack text, when it sent one, follows it.
    static func netlink(_ operation: String, errno: Int32, kernelMessage: String?) -> HostError {
        var message = operation
        if let kernelMessage { message += ": kernel says \"\(kernelMessage)\"" }
        var error = HostError.system(message, errno: errno)
        switch errno {
        case ENODEV: error.code = .notFound
        // igb answers EPROTONOSUPPORT for an 802.1ad VF VLAN: a feature the driver lacks, like EOPNOTSUPP.
        case EOPNOTSUPP, EPROTONOSUPPORT: error.code = .unsupported
        default: break
        }
        return error
    }

    /// The same error with `operation` in front of its message (used for validation errors raised by the pure
    /// encoders, which do not know the link they are encoding for).
    func prefixed(_ operation: String) -> HostError {
        var error = self
        error.message = "\(operation): \(self.message)"
        return error
    }
}
