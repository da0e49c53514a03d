import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the OpenStack config drive (the block device labelled `config-2`), mounts it read-only on a
/// temporary directory for the duration of a read, and unmounts it again.
///
/// The device is looked up as `<root>/dev/disk/by-label/config-2` (also `CONFIG-2`, the label of
/// vfat drives, as cloud-init does), then with `blkid -l -t LABEL=config-2 -o device`. It is mounted
/// with `mount -o ro -t auto <device> <tmp>` and released with `umount <tmp>`; the temporary directory is
/// removed afterwards. Commands run through an injected runner so tests can observe them.
///
/// Upstream: pkg/platform/openstack/openstack.go `getOpenstackDataFromConfigDrive`.
public struct ConfigDriveMounter: MetadataSource {
    /// Runs a command (`["mount", "-o", "ro", …]`, looked up on `PATH`) and returns its standard output.
    /// It must throw when the command cannot start, exits non-zero, or outlives `timeout`.
    public typealias CommandRunner = @Sendable (_ command: [String], _ timeout: Duration) throws(HostError) -> String

    /// Where the host's `/` is.
    public var root: String
    /// Labels tried in order.
    public var labels: [String]
    /// Where the temporary mount point is created.
    public var temporaryDirectory: String
    /// The limit for each command (`blkid`, `mount`, `umount`).
    public var commandTimeout: Duration
    private let runCommand: CommandRunner

    public init(
        root: String = "/",
        labels: [String] = ["config-2", "CONFIG-2"],
        temporaryDirectory: String = "/tmp",
        commandTimeout: Duration = .seconds(30),
        runCommand: @escaping CommandRunner = ConfigDriveMounter.runProcess
    ) {
        self.root = root
        self.labels = labels
        self.temporaryDirectory = temporaryDirectory
        self.commandTimeout = commandTimeout
        self.runCommand = runCommand
    }

    public var sourceDescription: String { "config drive (label \(self.labels.first ?? "config-2"))" }

    /// Mounts the drive, reads the metadata from it, and unmounts it.
    public func fetchMetadata() throws(HostError) -> OpenStackMetadata {
        try self.withMountedDrive { directory throws(HostError) in
            try OpenStackConfigDrive(directory: directory).fetchMetadata()
        }
    }

    /// The path of the config drive's block device.
    ///
    /// - Throws: ``HostError`` `.notFound` naming the paths and the `blkid` query tried.
    public func findDevice() throws(HostError) -> String {
        let byLabel = self.joined(self.root, "dev/disk/by-label")
        for label in self.labels {
            let link = "\(byLabel)/\(label)"
            if let device = try self.resolve(link) { return device }
        }
        var blkidFailure = "no device"
        for label in self.labels {
            do {
                let output = try self.runCommand(
                    ["blkid", "-l", "-t", "LABEL=\(label)", "-o", "device"],
                    self.commandTimeout
                )
                let device = output.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                let trimmed = device.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty { return trimmed }
            } catch {
                blkidFailure = error.description
            }
        }
        let tried = self.labels.map { "\(byLabel)/\($0)" }.joined(separator: ", ")
        throw HostError(
            code: .notFound,
            message: "no config drive: none of \(tried) exists and blkid found no device labelled "
                + "\(self.labels.joined(separator: " or ")) (\(blkidFailure))",
            step: "find config drive"
        )
    }

    /// Mounts the drive read-only on a fresh temporary directory, runs `body` with that directory, then
    /// unmounts and removes it, whether or not `body` succeeded.
    ///
    /// - Throws: the error of `body`; otherwise ``HostError`` when the device is missing, `mount` fails, or
    ///   `umount` fails after a successful read (a mount left behind is reported, not hidden).
    public func withMountedDrive<T>(_ body: (String) throws(HostError) -> T) throws(HostError) -> T {
        let device = try self.findDevice()
        let mountPoint = try self.makeMountPoint()
        do {
            _ = try self.runCommand(["mount", "-o", "ro", "-t", "auto", device, mountPoint], self.commandTimeout)
        } catch {
            rmdir(mountPoint)
            throw HostError(
                code: error.code,
                message: "cannot mount config drive \(device) read-only: \(error)",
                path: mountPoint,
                step: "mount config drive"
            )
        }
        let result: Swift.Result<T, HostError>
        do {
            result = .success(try body(mountPoint))
        } catch {
            result = .failure(error)
        }
        do {
            _ = try self.runCommand(["umount", mountPoint], self.commandTimeout)
            rmdir(mountPoint)
        } catch {
            if case .failure(let bodyError) = result { throw bodyError }
            throw HostError(
                code: error.code,
                message: "config drive \(device) read but not unmounted: \(error)",
                path: mountPoint,
                step: "unmount config drive"
            )
        }
        return try result.get()
    }

    /// Resolves a `by-label` symlink to the device path under `root`; `nil` when the link does not exist.
    private func resolve(_ link: String) throws(HostError) -> String? {
        var info = stat()
        if lstat(link, &info) != 0 {
            let error = errno
            if error == ENOENT || error == ENOTDIR { return nil }
            throw HostError.system("cannot stat", path: link, errno: error, step: "find config drive")
        }
        guard (info.st_mode & S_IFMT) == S_IFLNK else { return link }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(link, &buffer, buffer.count - 1)
        if count < 0 {
            throw HostError.system("cannot read link", path: link, errno: errno, step: "find config drive")
        }
        let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("/") { return self.joined(self.root, target) }
        let directory = link.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return Self.normalize("\(directory)/\(target)")
    }

    private func makeMountPoint() throws(HostError) -> String {
        var template = Array("\(self.temporaryDirectory)/config-drive.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard made != nil else {
            throw HostError.system(
                "cannot create a mount point",
                path: self.temporaryDirectory,
                errno: errno,
                step: "mount config drive"
            )
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func joined(_ base: String, _ path: String) -> String {
        let head = base.hasSuffix("/") ? String(base.dropLast()) : base
        let tail = path.hasPrefix("/") ? String(path.dropFirst()) : path
        return "\(head)/\(tail)"
    }

    /// Lexically removes `.` and `..` components (`/r/dev/disk/by-label/../../sr0` → `/r/dev/sr0`).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// The production ``CommandRunner``: runs the command with `/usr/bin/env` (so `PATH` is searched) and
    /// returns its standard output.
    ///
    /// - Throws: ``HostError`` `.io` with the exit status and standard error on failure, `.timeout` (after
    ///   killing the process with SIGKILL) when it outlives `timeout`.
    @Sendable
    public static func runProcess(_ command: [String], timeout: Duration) throws(HostError) -> String {
        let step = command.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw HostError(code: .io, message: "cannot start: \(error)", step: step)
        }
        let milliseconds = Int(max(0, timeout.metadataMilliseconds))
        if finished.wait(timeout: .now() + .milliseconds(milliseconds)) == .timedOut {
            // SIGKILL, not terminate(): SIGTERM may be ignored (inherited dispositions), and a wedged mount
            // must not hold the daemon. A process stuck in the kernel may not die; do not wait for it forever.
            kill(process.processIdentifier, SIGKILL)
            _ = finished.wait(timeout: .now() + .seconds(5))
            throw HostError(code: .timeout, message: "no exit within \(timeout.metadataDescription)", step: step)
        }
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let detail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw HostError(
                code: .io,
                message: "exited with status \(process.terminationStatus)" + (detail.isEmpty ? "" : ": \(detail)"),
                step: step
            )
        }
        return stdout
    }
}
