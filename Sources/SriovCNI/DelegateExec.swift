public import SriovAPI

#if canImport(Glibc)
import Glibc
#endif

/// Runs a delegated plugin (IPAM) the way the Go library's `invoke` does: found by type in `CNI_PATH`, given the
/// same stdin and environment (with `CNI_COMMAND` and friends overridden where asked), its stdout read whole.
public struct DelegateExec: Sendable {
    public init() {}

    /// The plugin's stdout on success.
    /// - Throws: the plugin's own error JSON as ``CNIError`` (its code kept), or code 999 when it cannot be found,
    ///   started, or said nothing usable.
    public func run(
        type: String,
        command: String,
        stdin: [UInt8],
        environment: [String: String]
    ) throws(CNIError) -> [UInt8] {
        let dirs = (environment["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        guard !type.isEmpty, !type.contains("/"), type != ".", type != "..",
            let binary = dirs.map({ (dir: String) -> String in "\(dir)/\(type)" }).first(where: {
                access($0, X_OK) == 0
            })
        else {
            throw .internal("failed to find plugin \"\(type)\" in path [\(dirs.joined(separator: " "))]")
        }
        var env = environment
        env["CNI_COMMAND"] = command
        let (status, stdout) = try Self.spawn(binary, environment: env, stdin: stdin)
        if status == 0 { return stdout }
        if stdout.isEmpty {
            throw .internal("netplugin failed with no error message: exit status \(status)")
        }
        guard let error = CNIError.parse(stdout) else {
            throw .internal(
                "netplugin failed but error parsing its diagnostic message \"\(String(decoding: stdout, as: UTF8.self))\""
            )
        }
        throw error
    }

    /// `posix_spawn`s `path` with pipes on stdin and stdout (stderr inherited), feeds `stdin`, reads stdout to EOF
    /// and waits; returns the exit status (128+signal when killed).
    static func spawn(
        _ path: String,
        environment: [String: String],
        stdin: [UInt8]
    ) throws(CNIError) -> (Int32, [UInt8]) {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard Self.pipeCloexec(&input) else { throw .internal("pipe: \(StateStore.errnoText(errno))") }
        guard Self.pipeCloexec(&output) else {
            close(input[0])
            close(input[1])
            throw .internal("pipe: \(StateStore.errnoText(errno))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1])
            close(output[0])
            throw .internal("failed to start plugin \(path): \(StateStore.errnoText(spawned))")
        }
        // A plugin that exits without reading its stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var offset = 0
        while offset < stdin.count {
            let n = stdin.withUnsafeBytes { write(input[1], $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        close(input[1])
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw .internal("waitpid \(path): \(StateStore.errnoText(errno))") }
        }
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out)
    }

    /// `pipe` with both ends close-on-exec (`pipe2` needs `_GNU_SOURCE`); the child gets its ends through dup2,
    /// which clears the flag on the copies.
    static func pipeCloexec(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return true
    }
}
