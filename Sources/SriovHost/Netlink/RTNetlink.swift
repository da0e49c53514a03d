import CNetlink
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// ``Netlink`` over the kernel's own sockets: `NETLINK_ROUTE` for links and VFs, `NETLINK_GENERIC` (devlink) for
/// the eswitch.
///
/// Every call opens its own socket, so it talks to the network namespace of the **calling thread** at the time of
/// the call (wrap calls in ``NetlinkNamespace/run(inNamespaceAt:_:)`` to work in another one). A call that changes
/// a link first looks the name up (`RTM_GETLINK`) and then sends one `RTM_NEWLINK` by interface index with
/// `NLM_F_ACK`, reading until the kernel's acknowledgement; a kernel error becomes a ``HostError`` carrying the
/// errno and naming the operation, link and value, plus the kernel's own explanation when it gives one, e.g.
/// `set MTU 70000 on link veth0: kernel says "mtu greater than device maximum" (Invalid argument, errno 22)`.
///
/// Calls block the calling thread (netlink requests are processed synchronously by the kernel, so this is short);
/// from async code, run them off the cooperative pool as the style guide asks of all blocking host calls.
///
/// Sendable without `@unchecked`: the class has only immutable stored properties, no socket is shared between
/// calls, and the request sequence counter is an `Atomic`.
public final class RTNetlink: Netlink {
    /// How long a call waits for each reply datagram before failing with code `timeout`.
    public let receiveTimeout: Duration

    /// Sequence numbers only need to be unique per socket; a process-wide counter also makes them unique in traces.
    private static let sequence = Atomic<UInt32>(0)

    public init(receiveTimeout: Duration = .seconds(10)) {
        self.receiveTimeout = receiveTimeout
    }

    static func nextSequence() -> UInt32 {
        Self.sequence.wrappingAdd(1, ordering: .relaxed).newValue
    }

    func openSocket(family: Int32) throws(HostError) -> NetlinkSocket {
        try NetlinkSocket(family: family, receiveTimeout: self.receiveTimeout)
    }

    public func links() throws(HostError) -> [LinkInfo] {
        // A dump interrupted by a concurrent link change is inconsistent; the kernel flags it and we start over.
        let attempts = 3
        var attempt = 1
        while true {
            do throws(HostError) {
                let socket = try self.openSocket(family: NETLINK_ROUTE)
                let replies = try socket.transact(
                    NetlinkMessage.dumpLinks(seq: Self.nextSequence()),
                    operation: "list links"
                )
                var links: [LinkInfo] = []
                for reply in replies where reply.type == UInt16(RTM_NEWLINK) {
                    links.append(try NetlinkMessage.decodeLink(reply.payload))
                }
                return links
            } catch {
                guard error.code == .busy, error.errno == EINTR, attempt < attempts else { throw error }
                attempt += 1
            }
        }
    }

    public func link(named name: String) throws(HostError) -> LinkInfo {
        try NetlinkValidation.checkInterfaceName(name)
        let socket = try self.openSocket(family: NETLINK_ROUTE)
        return try self.lookUp(name, on: socket, includeVFs: true, operation: "get link \(name)")
    }

    /// `RTM_GETLINK` by name on `socket`; `ENODEV` becomes `notFound` naming the link and the operation.
    private func lookUp(
        _ name: String,
        on socket: borrowing NetlinkSocket,
        includeVFs: Bool,
        operation: String
    ) throws(HostError) -> LinkInfo {
        let request = try NetlinkMessage.getLink(named: name, seq: Self.nextSequence(), includeVFs: includeVFs)
        let replies: [NetlinkReplyMessage]
        do throws(HostError) {
            replies = try socket.transact(request, operation: operation)
        } catch {
            guard error.errno == ENODEV else { throw error }
            throw HostError(code: .notFound, message: "\(operation): no link named \"\(name)\"", errno: ENODEV)
        }
        guard let reply = replies.first(where: { $0.type == UInt16(RTM_NEWLINK) }) else {
            throw HostError(code: .netlink, message: "\(operation): the kernel acknowledged without a link")
        }
        return try NetlinkMessage.decodeLink(reply.payload)
    }

    /// Validates, resolves `link` to its index and sends the `RTM_NEWLINK` built by `encode(ifindex, seq)`.
    ///
    /// `encode` is first run with a dummy index so bad values are refused before the kernel is asked anything.
    func change(
        _ operation: String,
        link: String,
        _ encode: (Int32, UInt32) throws(HostError) -> [UInt8]
    ) throws(HostError) {
        do throws(HostError) {
            try NetlinkValidation.checkInterfaceName(link)
            _ = try encode(0, 0)
        } catch {
            throw error.prefixed(operation)
        }
        let socket = try self.openSocket(family: NETLINK_ROUTE)
        let index = try self.lookUp(link, on: socket, includeVFs: false, operation: operation).index
        _ = try socket.transact(try encode(index, Self.nextSequence()), operation: operation)
    }

    public func setMTU(_ mtu: Int, link: String) throws(HostError) {
        try self.change("set MTU \(mtu) on link \(link)", link: link) { (index, seq) throws(HostError) in
            try NetlinkMessage.setMTU(ifindex: index, seq: seq, mtu: mtu)
        }
    }

    public func setUp(_ up: Bool, link: String) throws(HostError) {
        try self.change("set link \(link) \(up ? "up" : "down")", link: link) { (index, seq) throws(HostError) in
            NetlinkMessage.setUp(ifindex: index, seq: seq, up: up)
        }
    }

    public func setMAC(_ mac: String, link: String) throws(HostError) {
        try self.change("set MAC \(mac) on link \(link)", link: link) { (index, seq) throws(HostError) in
            try NetlinkMessage.setMAC(ifindex: index, seq: seq, mac: mac)
        }
    }

    public func rename(_ link: String, to newName: String) throws(HostError) {
        try self.change("rename link \(link) to \(newName)", link: link) { (index, seq) throws(HostError) in
            try NetlinkMessage.rename(ifindex: index, seq: seq, newName: newName)
        }
    }

    public func moveToNamespace(link: String, namespacePath: String) throws(HostError) {
        let operation = "move link \(link) to network namespace \(namespacePath)"
        do throws(HostError) {
            try NetlinkValidation.checkInterfaceName(link)
        } catch {
            throw error.prefixed(operation)
        }
        guard !namespacePath.isEmpty else {
            throw HostError(code: .invalidArgument, message: "\(operation): empty namespace path")
        }
        let fd = open(namespacePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system("move link \(link): open network namespace", path: namespacePath, errno: error)
        }
        defer { close(fd) }
        try self.change(operation, link: link) { (index, seq) throws(HostError) in
            NetlinkMessage.moveToNamespace(ifindex: index, seq: seq, namespaceFD: fd)
        }
    }

    public func setVF(link: String, _ config: VFConfig) throws(HostError) {
        do throws(HostError) {
            try self.change("set VF \(config.vf) on link \(link)", link: link) { (index, seq) throws(HostError) in
                try NetlinkMessage.setVF(ifindex: index, seq: seq, config: config)
            }
        } catch {
            // igb (and other Intel drivers) answer a bare EINVAL to any TX rate while the PF has no carrier; say so,
            // since the kernel gives no explanation and the request itself is valid.
            guard error.errno == EINVAL, config.maxTxRate != nil || config.minTxRate != nil,
                let pf = try? self.link(named: link), pf.operState != "up"
            else { throw error }
            var explained = error
            explained.message +=
                "; the PF link \(link) is \(pf.operState): drivers such as igb refuse VF rates until it has carrier"
            throw explained
        }
    }
}
