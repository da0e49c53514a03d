import SriovAPI
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// The plugin's files under its state directory (default `/var/lib/cni/sriov`), in upstream's layout:
/// - `<containerID>-<ifname>`: the cache DEL reads (``SriovCNICache``), mode 0600, directory 0700;
/// - `pci/<deviceID>`: the allocation, holding the pod's netns path;
/// - `pci/vf_lock/<deviceID>.lock`: the per-VF `flock`.
///
/// Every file is written to a temporary name and renamed, so a crash never leaves half a cache.
public struct StateStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    func cachePath(containerID: String, ifName: String) -> String { "\(self.directory)/\(containerID)-\(ifName)" }
    func allocationPath(_ deviceID: String) -> String { "\(self.directory)/pci/\(deviceID)" }
    func lockPath(_ deviceID: String) -> String { "\(self.directory)/pci/vf_lock/\(deviceID).lock" }

    /// An exclusive `flock` on the VF, released when the value is dropped (or the process dies).
    final class Lock: Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { close(self.fd) }
    }

    /// Takes the VF's lock, waiting up to `timeout` (upstream waits 60 s).
    func lock(_ deviceID: String, timeout: Duration) throws(CNIError) -> Lock {
        let path = self.lockPath(deviceID)
        try Self.makeDirectories("\(self.directory)/pci/vf_lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .internal("failed to open lock file \(path): \(Self.errnoText(errno))")
        }
        let lock = Lock(fd: fd)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            guard error == EWOULDBLOCK || error == EINTR else {
                throw .internal("failed to lock \(path): \(Self.errnoText(error))")
            }
            guard ContinuousClock.now < deadline else {
                throw CNIError(
                    code: CNIError.tryAgainLater,
                    msg: "timed out after \(timeout) waiting for the lock on device \(deviceID) (\(path))"
                )
            }
            usleep(10_000)
        }
        return lock
    }

    /// The netns path recorded for the VF, when the file exists.
    func allocation(_ deviceID: String) -> String? {
        Self.read(self.allocationPath(deviceID)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the VF is allocated to a live namespace; a record naming a namespace that no longer opens is stale
    /// and removed (upstream's `IsAllocated`).
    func isAllocated(_ deviceID: String, log: CNILog) -> Bool {
        guard let netns = self.allocation(deviceID) else { return false }
        if Self.isNetworkNamespace(netns) { return true }
        log.info("releasing stale allocation", ["deviceID": deviceID, "netns": netns])
        unlink(self.allocationPath(deviceID))
        return false
    }

    func saveAllocation(_ deviceID: String, netns: String) throws(CNIError) {
        try Self.makeDirectories("\(self.directory)/pci")
        try Self.writeAtomically(self.allocationPath(deviceID), Array(netns.utf8))
    }

    func releaseAllocation(_ deviceID: String) {
        unlink(self.allocationPath(deviceID))
    }

    func loadCache(containerID: String, ifName: String) throws(CNIError) -> SriovCNICache? {
        let path = self.cachePath(containerID: containerID, ifName: ifName)
        guard let bytes = Self.read(path) else { return nil }
        do {
            return try SriovCNICache.decode(bytes)
        } catch {
            throw .internal("failed to parse NetConf: \"\(error)\" (cache \(path))")
        }
    }

    func saveCache(_ cache: SriovCNICache) throws(CNIError) {
        try Self.makeDirectories(self.directory)
        let path = self.cachePath(containerID: cache.containerID, ifName: cache.ifName)
        try Self.writeAtomically(path, Array(cache.encode().utf8))
    }

    func removeCache(containerID: String, ifName: String) {
        unlink(self.cachePath(containerID: containerID, ifName: ifName))
    }

    /// Names of the cache files (`<containerID>-<ifname>`).
    func cacheNames() -> [String] {
        Self.list(self.directory).filter { $0 != "pci" && !$0.hasPrefix(".") }
    }

    /// Device IDs with an allocation record.
    func allocatedDevices() -> [String] {
        Self.list("\(self.directory)/pci").filter { $0 != "vf_lock" && !$0.hasPrefix(".") }
    }

    // MARK: - files

    static func errnoText(_ error: Int32) -> String { "\(String(cString: strerror(error))) (errno \(error))" }

    static func makeDirectories(_ path: String) throws(CNIError) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 {
                let error = errno
                guard error == EEXIST else {
                    throw .internal(
                        "failed to create the sriov data directory(\"\(current)\"): \(Self.errnoText(error))"
                    )
                }
            }
        }
    }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(CNIError) {
        let temporary = "\(path).tmp\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .internal("failed to write container data in the path(\"\(path)\"): \(Self.errnoText(errno))")
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = errno
                close(fd)
                unlink(temporary)
                throw .internal("failed to write container data in the path(\"\(path)\"): \(Self.errnoText(error))")
            }
            offset += n
        }
        // No fsync: it cost 2–5 ms per file on ext4 (three files per ADD), and nothing depends on these files
        // surviving a crash of the node — after a reboot the pods are gone, and a cache lost or torn by a crash is
        // treated as missing, where DEL still resets and releases the VF named by its stdin's deviceID. The rename
        // keeps readers from ever seeing a half-written file while the node is up.
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw .internal("failed to write container data in the path(\"\(path)\"): \(Self.errnoText(error))")
        }
    }

    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." && !name.contains(".tmp") { names.append(name) }
        }
        return names.sorted()
    }

    /// Whether `path` opens and is a network namespace.
    static func isNetworkNamespace(_ path: String) -> Bool {
        NetlinkNamespace.isNetworkNamespace(path)
    }
}
