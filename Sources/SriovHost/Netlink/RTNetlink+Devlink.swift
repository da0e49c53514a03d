import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// The devlink eswitch calls, over a `NETLINK_GENERIC` socket in the calling thread's namespace.
extension RTNetlink {
    public func eswitchMode(pciAddress: String) throws(HostError) -> String {
        let operation = "get eswitch mode of \(pciAddress)"
        let address: String
        do throws(HostError) {
            address = try NetlinkValidation.normalizedPCIAddress(pciAddress)
        } catch {
            throw error.prefixed(operation)
        }
        let socket = try self.openSocket(family: NETLINK_GENERIC)
        let family = try self.devlinkFamily(on: socket, operation: operation)
        let replies = try self.devlinkTransact(
            NetlinkMessage.eswitchGet(familyID: family, seq: Self.nextSequence(), pciAddress: address),
            on: socket,
            address: address,
            operation: operation
        )
        guard let reply = replies.first(where: { $0.type == family }) else {
            throw HostError(code: .netlink, message: "\(operation): the kernel acknowledged without a reply")
        }
        return try NetlinkMessage.decodeEswitchMode(reply)
    }

    public func setEswitchMode(_ mode: String, pciAddress: String) throws(HostError) {
        let operation = "set eswitch mode \(mode) on \(pciAddress)"
        let address: String
        do throws(HostError) {
            address = try NetlinkValidation.normalizedPCIAddress(pciAddress)
            _ = try NetlinkMessage.eswitchSet(familyID: 0, seq: 0, pciAddress: address, mode: mode)
        } catch {
            throw error.prefixed(operation)
        }
        let socket = try self.openSocket(family: NETLINK_GENERIC)
        let family = try self.devlinkFamily(on: socket, operation: operation)
        _ = try self.devlinkTransact(
            NetlinkMessage.eswitchSet(familyID: family, seq: Self.nextSequence(), pciAddress: address, mode: mode),
            on: socket,
            address: address,
            operation: operation
        )
    }

    /// Resolves the devlink generic netlink family id; a kernel without devlink answers `ENOENT`, reported as
    /// `unsupported`.
    private func devlinkFamily(on socket: borrowing NetlinkSocket, operation: String) throws(HostError) -> UInt16 {
        let replies: [NetlinkReplyMessage]
        do throws(HostError) {
            replies = try socket.transact(
                NetlinkMessage.getFamily(named: NetlinkMessage.devlinkFamilyName, seq: Self.nextSequence()),
                operation: "\(operation): resolve generic netlink family devlink"
            )
        } catch {
            guard error.errno == ENOENT else { throw error }
            throw HostError(
                code: .unsupported,
                message: "\(operation): devlink is not available (no generic netlink family \"devlink\" in this kernel)"
            )
        }
        guard let reply = replies.first(where: { $0.type == UInt16(GENL_ID_CTRL) }) else {
            throw HostError(code: .netlink, message: "\(operation): no reply to CTRL_CMD_GETFAMILY devlink")
        }
        return try NetlinkMessage.decodeFamilyID(reply)
    }

    /// Sends a devlink request; `ENODEV` (no devlink instance for the address) becomes `notFound`.
    private func devlinkTransact(
        _ request: [UInt8],
        on socket: borrowing NetlinkSocket,
        address: String,
        operation: String
    ) throws(HostError) -> [NetlinkReplyMessage] {
        do throws(HostError) {
            return try socket.transact(request, operation: operation)
        } catch {
            guard error.errno == ENODEV else { throw error }
            throw HostError(
                code: .notFound,
                message: "\(operation): no devlink device pci/\(address)",
                errno: ENODEV
            )
        }
    }
}
