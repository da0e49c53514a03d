import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `sriov install-cni`: what the config daemon's init container runs to put the CNI plugin on the host.
///
/// Copies the `sriov-cni` binary that sits beside the running `sriov` executable into the CNI bin dir as `sriov`
/// and `ib-sriov` (the names NADs use in `"type"`). Each copy is written to a temporary file in the target
/// directory, made mode 0755, synced, and renamed over the old one, so a kubelet exec'ing the plugin at the same
/// moment sees the old binary or the new one, never a partial file (and a running plugin keeps its own inode).
struct InstallCNICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-cni",
        abstract: "Install the sriov-cni plugin into the host's CNI bin dir as `sriov` and `ib-sriov`."
    )

    @Option(name: .customLong("cni-bin-dir"), help: "The host's CNI bin dir, as mounted in the container.")
    var cniBinDir: String = "/host/opt/cni/bin"

    @Option(help: "The plugin binary to install (default: sriov-cni beside this executable).")
    var source: String?

    func run() throws {
        let source = try self.source ?? Self.besideExecutable("sriov-cni")
        let bytes = try Self.read(source)
        guard !bytes.isEmpty else { throw ValidationError("\(source) is empty") }
        for name in ["sriov", "ib-sriov"] {
            try Self.installAtomically(bytes, at: "\(self.cniBinDir)/\(name)")
            print("installed \(source) as \(self.cniBinDir)/\(name)")
        }
    }

    static func failure(_ what: String, _ path: String) -> ValidationError {
        ValidationError("\(what) \(path): \(String(cString: strerror(errno))) (errno \(errno))")
    }

    /// `<dir of /proc/self/exe>/<name>`.
    static func besideExecutable(_ name: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw Self.failure("cannot resolve", "/proc/self/exe") }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return "\(dir)/\(name)"
    }

    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("cannot open plugin binary", path) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Self.failure("cannot read", path) }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    static func installAtomically(_ bytes: [UInt8], at path: String) throws {
        let temporary = "\(path).installing.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw Self.failure("cannot create", temporary) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = Self.failure("cannot write", temporary)
                close(fd)
                unlink(temporary)
                throw error
            }
            offset += n
        }
        // The umask may have narrowed the mode given to open.
        guard fchmod(fd, 0o755) == 0, fsync(fd) == 0 else {
            let error = Self.failure("cannot finish", temporary)
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = Self.failure("cannot rename \(temporary) to", path)
            unlink(temporary)
            throw error
        }
    }
}
