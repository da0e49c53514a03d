import CNetlink
import KubeCore

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
    /// `path` with its symbolic links resolved inside the root, to compare device identities
    /// (`virtfnN` and `physfn` must lead to each other).
    func canonicalPath(_ path: String) throws(HostError) -> String
}

extension SysFS {
    /// The last path component of a link's target: a driver name from `…/driver`, a PCI address from
    /// `physfn` or `virtfnN`.
    public func linkBasename(_ path: String) throws(HostError) -> String {
        let target = try self.readLink(path)
        return String(target.split(separator: "/").last ?? Substring(target))
    }

    /// An integer attribute (decimal or `0x` hex) of any 64-bit value; see ``readInt(_:in:what:)`` for
    /// attributes with a kernel range.
    public func readInt(_ path: String) throws(HostError) -> Int {
        try self.readInt(path, in: Int.min...Int.max)
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
///
/// Every path is resolved inside `root` as `openat2(RESOLVE_IN_ROOT)` resolves it: component by component,
/// an absolute symbolic link restarts at `root` (the host's `/` when `root` is `/host`), and a `..` that
/// would climb above `root` is refused with a ``HostError`` naming the path and the link, so nothing in
/// the tree can make a read or write land outside it. The final open goes through `openat2` with
/// `RESOLVE_IN_ROOT` where the kernel has it (a link swapped in between the walk and the open still
/// cannot escape). Files are opened with `O_NONBLOCK`, must be regular files (`fstat`: a FIFO or device
/// node is refused, never waited on) and are read up to ``maxReadBytes``.
public struct LinuxSysFS: SysFS {
    public let root: String
    /// The most a single read returns (sysfs attributes are at most a page; host records a few KiB).
    public static let maxReadBytes = 4 << 20
    /// Symbolic links followed while resolving one path (the kernel's limit).
    public static let maxLinks = 40
    /// Entries returned by one directory listing.
    public static let maxEntries = 1 << 16

    /// - Parameter root: a relative root is taken from the working directory.
    public init(root: String = "/") {
        var root = Self.absolute(root)
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// `path` made absolute against the working directory (`.` and `..` components are left to the kernel).
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" + path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.isEmpty || path == "." { return cwd }
        return (cwd == "/" ? "" : cwd) + "/" + path
    }

    public func hostPath(_ path: String) -> String {
        self.root == "/" ? path : self.root + path
    }

    // MARK: - Resolution inside the root

    /// `path` with every symbolic link resolved inside the root (the final component too unless
    /// `followFinal` is false); components that do not exist are kept as they are.
    /// - Throws: ``HostError`` when a link (or `..`) leads above the root, or more than 40 links are met.
    public func resolve(_ path: String, followFinal: Bool = true) throws(HostError) -> String {
        var resolved: [String] = []
        var pending: [Substring] = path.split(separator: "/").reversed()
        var links = 0
        var lastLink: (path: String, target: String)?
        // Depth at which a component did not exist: nothing below it can be a link, until `..` climbs back.
        var missingDepth: Int?
        while let component = pending.popLast() {
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                guard !resolved.isEmpty else {
                    let via = lastLink.map { ": link \($0.path) → \($0.target) leads outside \(self.root)" }
                    throw HostError(
                        code: .permission,
                        message: "path escapes the root \(self.root)\(via ?? " through \"..\""); refused",
                        path: path
                    )
                }
                resolved.removeLast()
                if let depth = missingDepth, resolved.count < depth { missingDepth = nil }
                continue
            }
            resolved.append(String(component))
            if missingDepth != nil || (pending.isEmpty && !followFinal) { continue }
            let current = "/" + resolved.joined(separator: "/")
            var info = stat()
            guard lstat(self.hostPath(current), &info) == 0 else {
                missingDepth = resolved.count
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFLNK else { continue }
            links += 1
            if links > Self.maxLinks {
                throw HostError.system("more than \(Self.maxLinks) symbolic links", path: path, errno: ELOOP)
            }
            let target = try self.rawReadLink(current, reportAs: path)
            lastLink = (current, target)
            resolved.removeLast()
            if target.hasPrefix("/") { resolved.removeAll() }
            pending.append(contentsOf: target.split(separator: "/").reversed())
        }
        return "/" + resolved.joined(separator: "/")
    }

    private func rawReadLink(_ resolved: String, reportAs path: String) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(self.hostPath(resolved), &buffer, buffer.count - 1)
        guard n >= 0 else { throw HostError.system("cannot read link", path: path, errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Opens the already-resolved `resolved` (no links left, barring races) with `openat2(RESOLVE_IN_ROOT)`,
    /// or `open(O_NOFOLLOW)` where the kernel lacks it.
    private func openResolved(_ resolved: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        let flags = flags | O_CLOEXEC | O_NOCTTY
        if self.root != "/" {
            let rootFD = open(self.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if rootFD >= 0 {
                defer { close(rootFD) }
                let relative = resolved == "/" ? "." : String(resolved.dropFirst())
                let fd = cnetlink_openat2_in_root(rootFD, relative, flags, UInt32(mode))
                if fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG) { return fd }
            }
        }
        return open(self.hostPath(resolved), flags | O_NOFOLLOW, mode)
    }

    /// Opens `path` (resolved in the root) and checks with `fstat` that it is a regular file.
    private func openRegular(_ path: String, flags: Int32, mode: mode_t = 0, verb: String) throws(HostError) -> Int32 {
        let resolved = try self.resolve(path)
        let fd = self.openResolved(resolved, flags: flags | O_NONBLOCK, mode: mode)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system(
                error == ELOOP ? "\(verb): a symbolic link changed while opening" : verb,
                path: path,
                errno: error
            )
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            throw HostError.system(verb, path: path, errno: error)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw HostError(
                code: .invalidArgument,
                message: "\(verb): \(Self.fileType(info.st_mode)) where a regular file is expected; refused",
                path: path
            )
        }
        return fd
    }

    static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }

    // MARK: - SysFS

    public func read(_ path: String) throws(HostError) -> String {
        let fd = try self.openRegular(path, flags: O_RDONLY, verb: "cannot open for reading")
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
            if bytes.count > Self.maxReadBytes {
                throw HostError(code: .io, message: "file larger than \(Self.maxReadBytes) bytes; refused", path: path)
            }
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    public func write(_ path: String, _ value: String) throws(HostError) {
        let fd = try self.openRegular(path, flags: O_WRONLY, verb: "cannot open for writing")
        defer { close(fd) }
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [0] }  // the kernel treats a lone NUL as "clear" (driver_override)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            throw HostError.system("write \(QuotedValue.quote(value)) failed", path: path, errno: errno)
        }
    }

    public func readLink(_ path: String) throws(HostError) -> String {
        try self.rawReadLink(try self.resolve(path, followFinal: false), reportAs: path)
    }

    public func list(_ path: String) throws(HostError) -> [String] {
        let resolved = try self.resolve(path)
        let fd = self.openResolved(resolved, flags: O_RDONLY | O_DIRECTORY | O_NONBLOCK)
        guard fd >= 0 else { throw HostError.system("cannot list directory", path: path, errno: errno) }
        guard let dir = fdopendir(fd) else {
            let error = errno
            close(fd)
            throw HostError.system("cannot list directory", path: path, errno: error)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
            if names.count > Self.maxEntries {
                throw HostError(code: .io, message: "more than \(Self.maxEntries) entries; refused", path: path)
            }
        }
        return names.sorted()
    }

    public func canonicalPath(_ path: String) throws(HostError) -> String { try self.resolve(path) }

    public func exists(_ path: String) -> Bool {
        guard let resolved = try? self.resolve(path, followFinal: false) else { return false }
        var info = stat()
        return lstat(self.hostPath(resolved), &info) == 0
    }

    public func createFile(_ path: String, _ value: String) throws(HostError) {
        try self.makeParents(of: path)
        let fd = try self.openRegular(
            path,
            flags: O_WRONLY | O_CREAT | O_TRUNC,
            mode: 0o644,
            verb: "cannot create file"
        )
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

    /// Removes `path` (a link itself, never what it points to; a directory with its content).
    public func remove(_ path: String) throws(HostError) {
        let full = self.hostPath(try self.resolve(path, followFinal: false))
        var info = stat()
        guard lstat(full, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try self.list(path) { try self.remove(path + "/" + name) }
            if rmdir(full) != 0 { throw HostError.system("cannot remove directory", path: path, errno: errno) }
        } else if unlink(full) != 0 {
            throw HostError.system("cannot remove", path: path, errno: errno)
        }
    }

    /// Creates the parent directories of `path`, each resolved inside the root.
    public func makeParents(of path: String) throws(HostError) {
        try self.makeParents(of: path, depth: 0)
    }

    func makeParents(of path: String, depth: Int) throws(HostError) {
        var components = path.split(separator: "/").dropLast()
        var current = ""
        while let next = components.first {
            components = components.dropFirst()
            current += "/" + next
            let resolved = try self.resolve(current)
            if mkdir(self.hostPath(resolved), 0o755) != 0 && errno != EEXIST {
                // A link to a directory that does not exist yet (inside the root): create its parents first.
                guard errno == ENOENT, resolved != current, depth < Self.maxLinks else {
                    throw HostError.system("cannot create directory", path: current, errno: errno)
                }
                try self.makeParents(of: resolved + "/x", depth: depth + 1)
                if mkdir(self.hostPath(resolved), 0o755) != 0 && errno != EEXIST {
                    throw HostError.system("cannot create directory", path: current, errno: errno)
                }
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
        let full = self.hostPath(try self.resolve(path, followFinal: false))
        unlink(full)
        if Glibc.symlink(target, full) != 0 {
            throw HostError.system("cannot create link to \(target)", path: path, errno: errno)
        }
    }
}
