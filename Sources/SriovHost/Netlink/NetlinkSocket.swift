import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// One netlink socket, owned by exactly one call: opened in the calling thread's network namespace, closed on
/// `deinit`. Non-copyable so the descriptor cannot be closed twice or outlive its owner.
struct NetlinkSocket: ~Copyable {
    private let fd: Int32

    /// Opens and binds a `family` (`NETLINK_ROUTE`, `NETLINK_GENERIC`) socket that asks for extended acks (the
    /// kernel's error text) without the echoed request (`NETLINK_CAP_ACK`).
    init(family: Int32, receiveTimeout: Duration) throws(HostError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), family)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system("open netlink socket (protocol \(family))", errno: error)
        }
        do throws(HostError) {
            try Self.configure(fd, family: family, receiveTimeout: receiveTimeout)
        } catch {
            close(fd)
            throw error
        }
        // Assigned last: a non-copyable value cannot be partly initialised when `init` throws.
        self.fd = fd
    }

    private static func configure(_ fd: Int32, family: Int32, receiveTimeout: Duration) throws(HostError) {
        // Both options are best-effort: kernels without them still send plain acks.
        var enable: Int32 = 1
        _ = setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &enable, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &enable, socklen_t(MemoryLayout<Int32>.size))
        let (seconds, attoseconds) = receiveTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            let error = errno
            throw HostError.system("set receive timeout on netlink socket", errno: error)
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            throw HostError.system("bind netlink socket (protocol \(family))", errno: error)
        }
    }

    deinit {
        close(self.fd)
    }

    /// Sends `request` to the kernel and returns the reply messages carrying its sequence number, up to and
    /// excluding the terminating acknowledgement (or `NLMSG_DONE` for a dump).
    ///
    /// - Throws: ``HostError`` built by ``HostError/netlink(_:errno:kernelMessage:)`` when the kernel answers with an
    ///   error (named by `operation`); code `busy` with errno `EINTR` when a dump was interrupted by a concurrent
    ///   change (`NLM_F_DUMP_INTR`), which the caller may retry; `timeout` when nothing arrives in time; `netlink`
    ///   for a malformed reply.
    func transact(_ request: [UInt8], operation: String) throws(HostError) -> [NetlinkReplyMessage] {
        // Every request we send asks for an ack (or is a dump, which ends with NLMSG_DONE), so the loop always ends
        // on a terminating message rather than guessing when a single reply is complete.
        let seq = try NetlinkDecoder.uint32(request[...], at: 8)
        try self.send(request, operation: operation)

        var replies: [NetlinkReplyMessage] = []
        var interrupted = false
        while true {
            let datagram = try self.receive(operation: operation)
            for message in try NetlinkDecoder.messages(in: datagram) where message.seq == seq {
                switch Int32(message.type) {
                case NLMSG_ERROR:
                    let ack = try NetlinkMessage.decodeAck(message)
                    guard ack.errno == 0 else {
                        throw HostError.netlink(operation, errno: ack.errno, kernelMessage: ack.kernelMessage)
                    }
                    return replies
                case NLMSG_DONE:
                    let status = message.payload.count >= 4 ? try NetlinkDecoder.int32(message.payload, at: 0) : 0
                    if status < 0 {
                        throw HostError.netlink(operation, errno: -status, kernelMessage: nil)
                    }
                    if interrupted {
                        throw HostError(
                            code: .busy,
                            message: "\(operation): dump interrupted by a concurrent change",
                            errno: EINTR
                        )
                    }
                    return replies
                case NLMSG_NOOP:
                    continue
                case NLMSG_OVERRUN:
                    throw HostError(code: .netlink, message: "\(operation): netlink reported an overrun")
                default:
                    if message.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                    replies.append(message)
                }
            }
        }
    }

    private func send(_ request: [UInt8], operation: String) throws(HostError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        while true {
            let sent = request.withUnsafeBytes { bytes in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(
                            self.fd,
                            bytes.baseAddress,
                            bytes.count,
                            0,
                            $0,
                            socklen_t(MemoryLayout<sockaddr_nl>.size)
                        )
                    }
                }
            }
            let error = errno
            if sent == request.count { return }
            if sent < 0 && error == EINTR { continue }
            if sent < 0 { throw HostError.system("\(operation): send netlink request", errno: error) }
            throw HostError(code: .netlink, message: "\(operation): sent \(sent) of \(request.count) bytes")
        }
    }

    /// Receives one datagram, sized first with `MSG_PEEK | MSG_TRUNC` so large dump pages (a PF with many VFs) are
    /// never cut short.
    private func receive(operation: String) throws(HostError) -> [UInt8] {
        while true {
            var probe: UInt8 = 0
            let size = recv(self.fd, &probe, 0, Int32(MSG_PEEK | MSG_TRUNC))
            if size < 0 {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK {
                    throw HostError(
                        code: .timeout,
                        message: "\(operation): no netlink reply from the kernel in time",
                        errno: error
                    )
                }
                throw HostError.system("\(operation): receive netlink reply", errno: error)
            }
            var buffer = [UInt8](repeating: 0, count: max(size, 1))
            let received = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                let error = errno
                if error == EINTR { continue }
                throw HostError.system("\(operation): receive netlink reply", errno: error)
            }
            guard received > 0 else {
                throw HostError(code: .netlink, message: "\(operation): empty netlink datagram")
            }
            return Array(buffer[..<min(received, buffer.count)])
        }
    }
}
