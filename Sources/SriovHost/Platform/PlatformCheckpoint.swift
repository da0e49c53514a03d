import Foundation
import KubeCore
public import SriovAPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The interfaces found by the first discovery on this node, saved so later runs can still tell which
/// device is which after a VF has been bound to vfio-pci (and so has no MAC to read), and so a reset can
/// restore the initial MTU and eSwitch mode.
///
/// The file holds a NodeState-shaped document, `{"status":{"interfaces":[…]}}`, as upstream's
/// `json.Encoder` writes a whole `SriovNetworkNodeState`; loading reads `status.interfaces` and ignores
/// every other field, so files written by the upstream daemon load too.
///
/// Upstream: pkg/utils `WriteCheckpointFile` / `ReadCheckpointFile`, file `/host/tmp/sno-initial-node-state.json`.
public struct PlatformCheckpoint: Sendable {
    /// Upstream's path, as seen from the daemon pod (host `/` at `/host`).
    public static let defaultPath = "/host/tmp/sno-initial-node-state.json"

    public var path: String
    /// The largest file accepted, in bytes.
    public var sizeLimit: Int

    public init(path: String = PlatformCheckpoint.defaultPath, sizeLimit: Int = 16 << 20) {
        self.path = path
        self.sizeLimit = sizeLimit
    }

    /// The saved interfaces, or `nil` when there is no checkpoint yet.
    ///
    /// - Throws: ``HostError`` `.metadata` naming the file and field when the file is not a NodeState
    ///   document (or is larger than ``sizeLimit``); an I/O error with the path otherwise.
    public func load() throws(HostError) -> [SriovNetworkNodeState.InterfaceExt]? {
        guard let bytes = try MetadataDocument.readFile(self.path, limit: self.sizeLimit, step: "read checkpoint")
        else { return nil }
        let document = try MetadataDocument.decode(
            CheckpointDocument.self,
            from: bytes,
            document: "checkpoint",
            source: self.path,
            step: "read checkpoint"
        )
        return document.status?.interfaces ?? []
    }

    /// Saves `interfaces`, replacing any checkpoint atomically (write a temporary file, fsync, rename).
    ///
    /// - Throws: ``HostError`` with the path when the directory is missing or not writable.
    public func save(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) throws(HostError) {
        let temporary = try self.writeTemporary(interfaces)
        if rename(temporary, self.path) != 0 {
            let error = errno
            unlink(temporary)
            throw HostError.system(
                "cannot replace the checkpoint",
                path: self.path,
                errno: error,
                step: "save checkpoint"
            )
        }
    }

    /// Saves `interfaces` only when no checkpoint exists, which is how upstream keeps the *initial* state.
    /// Atomic: of two concurrent callers exactly one wins.
    ///
    /// - Returns: whether this call created the checkpoint.
    /// - Throws: ``HostError`` with the path when the file cannot be written.
    @discardableResult
    public func saveIfAbsent(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) throws(HostError) -> Bool {
        let temporary = try self.writeTemporary(interfaces)
        defer { unlink(temporary) }
        if link(temporary, self.path) == 0 { return true }
        let error = errno
        if error == EEXIST { return false }
        throw HostError.system("cannot create the checkpoint", path: self.path, errno: error, step: "save checkpoint")
    }

    /// The file's bytes: Go-style compact JSON plus the newline `json.Encoder` ends with.
    static func encode(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) throws(HostError) -> [UInt8] {
        do {
            let value = try ValueEncoder().encode(interfaces)
            let document: JSONValue = ["status": ["interfaces": value]]
            return Array((GoJSON.encode(document) + "\n").utf8)
        } catch {
            throw HostError(
                code: .invalidArgument,
                message: "cannot encode interfaces: \(error)",
                step: "save checkpoint"
            )
        }
    }

    private func writeTemporary(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) throws(HostError) -> String {
        let bytes = try Self.encode(interfaces)
        var template = Array("\(self.path).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard fd >= 0 else {
            throw HostError.system(
                "cannot create a file next to",
                path: self.path,
                errno: errno,
                step: "save checkpoint"
            )
        }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                write(fd, raw.baseAddress.map { $0 + written }, raw.count - written)
            }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                unlink(temporary)
                throw HostError.system("cannot write", path: temporary, errno: error, step: "save checkpoint")
            }
            written += count
        }
        if fchmod(fd, 0o644) != 0 || fsync(fd) != 0 {
            let error = errno
            unlink(temporary)
            throw HostError.system("cannot flush", path: temporary, errno: error, step: "save checkpoint")
        }
        return temporary
    }
}

/// The part of a saved NodeState the checkpoint needs; Foundation's decoder ignores the rest.
private struct CheckpointDocument: Decodable {
    struct Status: Decodable {
        var interfaces: [SriovNetworkNodeState.InterfaceExt]?
    }

    var status: Status?
}
