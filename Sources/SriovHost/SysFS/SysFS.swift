#if canImport(Glibc)
import Glibc
#endif

/// Files under a root directory that stands for `/`: the kernel's sysfs and procfs, and the few host
/// files the node side reads and writes (`/etc/sriov-operator/…`, `/etc/udev/rules.d/…`).
///
/// Paths are absolute as seen on the host (`/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs`); the
/// implementation prefixes its root (`/` in production, `/host` inside the daemon container, a temp
/// directory in tests). Errors carry the full path and the errno the kernel returned, so `EBUSY` from
/// `sriov_numvfs` reaches the user as "Device or resource busy".
public protocol SysFS: Sendable {
    /// The root this view is anchored at (for messages).
    var root: String { get }
    /// The file's content without the trailing newline.
    func read(_ path: String) throws(HostError) -> String
    /// Writes `value` in one `write(2)`, as the kernel expects for sysfs attributes.
    func write(_ path: String, _ value: String) throws(HostError)
    /// The target of a symbolic link, as stored.
    func readLink(_ path: String) throws(HostError) -> String
    /// Entry names in a directory, sorted.
    func list(_ path: String) throws(HostError) -> [String]
    func exists(_ path: String) -> Bool
    /// Creates a regular file (and its parent directories) with `value`, replacing it; for host files
    /// such as udev rules and applied-state records.
    func createFile(_ path: String, _ value: String) throws(HostError)
    func remove(_ path: String) throws(HostError)
}

extension SysFS {
    /// The last path component of a link's target: a driver name from `…/driver`, a PCI address from
    /// `physfn` or `virtfnN`.
    public func linkBasename(_ path: String) throws(HostError) -> String {
        let target = try self.readLink(path)
        return String(target.split(separator: "/").last ?? Substring(target))
    }

    public func readInt(_ path: String) throws(HostError) -> Int {
        let text = try self.read(path)
        let trimmed = text.trimmingWhitespace
        if trimmed.hasPrefix("0x"), let v = Int(trimmed.dropFirst(2), radix: 16) { return v }
        guard let value = Int(trimmed) else {
            throw HostError(code: .io, message: "expected an integer, found \(trimmed.debugDescription)", path: path)
        }
        return value
    }

    /// nil when the file does not exist or cannot be read.
    public func readIfPresent(_ path: String) -> String? {
        try? self.read(path)
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// The real filesystem under `root`, through POSIX calls so errno values reach the caller intact.
public struct LinuxSysFS: SysFS {
    public let root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public func hostPath(_ path: String) -> String {
        self.root == "/" ? path : self.root + path
    }

    public func read(_ path: String) throws(HostError) -> String {
        let full = self.hostPath(path)
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.system("cannot open for reading", path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError.system("read failed", path: path, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 16 << 20 {
                throw HostError(code: .io, message: "file larger than 16 MiB", path: path)
            }
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    public func write(_ path: String, _ value: String) throws(HostError) {
        let full = self.hostPath(path)
        let fd = open(full, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.system("cannot open for writing", path: path, errno: errno) }
        defer { close(fd) }
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [0] }  // the kernel treats a lone NUL as "clear" (driver_override)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw HostError.system("write \(value.debugDescription) failed", path: path, errno: errno) }
    }

    public func readLink(_ path: String) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(self.hostPath(path), &buffer, buffer.count - 1)
        guard n >= 0 else { throw HostError.system("cannot read link", path: path, errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func list(_ path: String) throws(HostError) -> [String] {
        guard let dir = opendir(self.hostPath(path)) else {
            throw HostError.system("cannot list directory", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(self.hostPath(path), &info) == 0
    }

    public func createFile(_ path: String, _ value: String) throws(HostError) {
        try self.makeParents(of: path)
        let full = self.hostPath(path)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HostError.system("cannot create file", path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError.system("write failed", path: path, errno: errno)
            }
            offset += n
        }
    }

    public func remove(_ path: String) throws(HostError) {
        let full = self.hostPath(path)
        var info = stat()
        guard lstat(full, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try self.list(path) { try self.remove(path + "/" + name) }
            if rmdir(full) != 0 { throw HostError.system("cannot remove directory", path: path, errno: errno) }
        } else if unlink(full) != 0 {
            throw HostError.system("cannot remove", path: path, errno: errno)
        }
    }

    /// Creates the parent directories of `path`.
    public func makeParents(of path: String) throws(HostError) {
        var components = path.split(separator: "/").dropLast()
        var current = ""
        while let next = components.first {
            components = components.dropFirst()
            current += "/" + next
            let full = self.hostPath(current)
            if mkdir(full, 0o755) != 0 && errno != EEXIST {
                throw HostError.system("cannot create directory", path: current, errno: errno)
            }
        }
    }

    /// Creates a directory and its parents.
    public func makeDirectory(_ path: String) throws(HostError) {
        try self.makeParents(of: path + "/x")
    }

    /// Creates a symbolic link at `path` pointing to `target` (replacing an existing one).
    public func symlink(_ path: String, to target: String) throws(HostError) {
        try self.makeParents(of: path)
        let full = self.hostPath(path)
        unlink(full)
        if Glibc.symlink(target, full) != 0 {
            throw HostError.system("cannot create link to \(target)", path: path, errno: errno)
        }
    }
}
