public import Foundation
import Synchronization

/// A real kube-apiserver (v1.20.2) with its own etcd on loopback, for integration tests.
///
/// The server binary is built once by `scripts/kube-apiserver.sh build` into the cache directory
/// (`SRIOV_KUBE_CACHE`, default `/var/cache/sriov-operator/kube`); etcd comes from Debian's `etcd-server`. Gate tests
/// on ``isAvailable`` so that a machine without them skips instead of failing:
///
/// ```swift
/// @Suite(.enabled(if: RealAPIServer.isAvailable), .serialized)
/// struct MyTests {
///     @Test func readyz() throws {
///         let server = try RealAPIServer.start()
///         defer { server.stop() }
///         #expect(try server.kubectl(["get", "--raw", "/readyz"]).stdout == "ok")
///     }
/// }
/// ```
///
/// Each ``start()`` gets fresh certificates, a fresh token, free loopback ports and an empty etcd in a new temporary
/// directory. The servers stop on ``stop()``, on deinit, and — through a watchdog started by the script — when the
/// test process exits without either (e.g. a shared instance held in a global, or a crash), so nothing is leaked.
///
/// The server has no kube-controller-manager: no garbage collection, no namespace finalization, no default
/// ServiceAccounts. Authorization is RBAC; the client certificate and the token are both in `system:masters`.
public final class RealAPIServer: Sendable {
    // Sendable without @unchecked: every stored property is an immutable `let` of a Sendable type, and the one piece
    // of mutable state (whether stop() ran) is inside a Mutex.

    /// The temporary directory holding certificates, etcd data, logs (`*.log`), `kubeconfig`, `token` and `env`.
    public let directory: String
    /// A kubeconfig for the admin client certificate (`O=system:masters`), with the CA embedded.
    public let kubeconfigPath: String
    /// The API server's base URL, `https://127.0.0.1:PORT`.
    public let url: String
    /// A bearer token for user `admin` in group `system:masters`.
    public let token: String
    /// The PEM of the CA that signed the serving certificate and the client certificate.
    public let caPEM: String
    /// The PEM of the admin client certificate.
    public let clientCertificatePEM: String
    /// The PEM (PKCS#8) of the admin client certificate's private key.
    public let clientKeyPEM: String

    private let stopped = Mutex(false)

    private init(directory: String) throws {
        self.directory = directory
        self.kubeconfigPath = directory + "/kubeconfig"
        let env = try Self.read(directory + "/env")
        guard let url = Self.shellVariable("KUBE_URL", in: env) else {
            throw RealAPIServerError(message: "no KUBE_URL in \(directory)/env")
        }
        self.url = url
        self.token = try Self.read(directory + "/token").trimmingCharacters(in: .whitespacesAndNewlines)
        self.caPEM = try Self.read(directory + "/pki/ca.crt")
        self.clientCertificatePEM = try Self.read(directory + "/pki/admin.crt")
        self.clientKeyPEM = try Self.read(directory + "/pki/admin.key")
    }

    deinit {
        self.stop()
    }

    // MARK: - Locations

    /// The repository root, found from this source file's path (`Sources/SriovTestKit/RealAPIServer/`).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // RealAPIServer/
            .deletingLastPathComponent()  // SriovTestKit/
            .deletingLastPathComponent()  // Sources/
            .deletingLastPathComponent()
    }

    /// `scripts/kube-apiserver.sh` in the repository.
    public static var scriptPath: String {
        self.repositoryRoot.appendingPathComponent("scripts/kube-apiserver.sh").path
    }

    /// The build cache: `SRIOV_KUBE_CACHE`, or `/var/cache/sriov-operator/kube`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment["SRIOV_KUBE_CACHE"] ?? ""
        return env.isEmpty ? "/var/cache/sriov-operator/kube" : env
    }

    /// The cached kube-apiserver binary.
    public static var binaryPath: String { self.cacheDirectory + "/bin/kube-apiserver" }

    /// True when the cached kube-apiserver binary, etcd and the script are there, so ``start()`` can work.
    public static var isAvailable: Bool {
        let files = FileManager.default
        return files.isExecutableFile(atPath: self.binaryPath)
            && findExecutable("etcd") != nil
            && files.fileExists(atPath: self.scriptPath)
    }

    /// The cached kube-controller-manager; when present, ``start()`` also runs its disruption controller, which
    /// computes PodDisruptionBudget status as in a real cluster.
    public static var controllerManagerPath: String { self.cacheDirectory + "/bin/kube-controller-manager" }

    /// True when the servers ``start()`` runs include kube-controller-manager's disruption controller.
    public static var hasControllerManager: Bool {
        self.isAvailable && FileManager.default.isExecutableFile(atPath: self.controllerManagerPath)
    }

    // MARK: - Lifecycle

    /// Starts etcd and kube-apiserver in a new temporary directory and waits until `/readyz` answers `ok`.
    ///
    /// Blocks for about 5 s; the script gives up after 60 s.
    /// - Throws: ``RealAPIServerError`` when the binary is missing (see ``isAvailable``) or the script fails; the
    ///   error carries the script's output, which ends with the tail of the server's log.
    public static func start() throws -> RealAPIServer {
        guard self.isAvailable else {
            throw RealAPIServerError(
                message:
                    "no kube-apiserver at \(self.binaryPath) or no etcd: run `bash scripts/kube-apiserver.sh build`"
            )
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sriov-kube-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        // The script's watchdog stops the servers and removes the directory once this process is gone.
        environment["SRIOV_KUBE_OWNER_PID"] = String(ProcessInfo.processInfo.processIdentifier)
        environment["SRIOV_KUBE_REMOVE_DIR"] = "1"
        let result = try runProcess(
            "/bin/bash",
            [self.scriptPath, "start", directory],
            environment: environment
        )
        guard result.status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw RealAPIServerError(
                message: "kube-apiserver.sh start failed (exit \(result.status)):\n\(result.stderr)\(result.stdout)"
            )
        }
        do {
            return try RealAPIServer(directory: directory)
        } catch {
            _ = try? runProcess("/bin/bash", [self.scriptPath, "stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Stops kube-apiserver and etcd and removes ``directory``. Idempotent; also called on deinit.
    ///
    /// Best effort: a failure to stop is written to standard error, not thrown.
    public func stop() {
        let alreadyStopped = self.stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        if alreadyStopped {
            return
        }
        do {
            let result = try runProcess("/bin/bash", [Self.scriptPath, "stop", self.directory])
            if result.status != 0 {
                FileHandle.standardError.write(
                    Data("RealAPIServer: kube-apiserver.sh stop exited \(result.status): \(result.stderr)\n".utf8)
                )
            }
        } catch {
            FileHandle.standardError.write(Data("RealAPIServer: cannot run kube-apiserver.sh stop: \(error)\n".utf8))
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// True until ``stop()`` has been called.
    public var isRunning: Bool { !self.stopped.withLock { $0 } }

    // MARK: - kubectl

    /// Runs `kubectl --kubeconfig <kubeconfigPath> ARGS` and returns its exit status and output.
    ///
    /// A non-zero exit status is returned, not thrown, so tests can check expected failures.
    /// - Parameters:
    ///   - args: kubectl's arguments, e.g. `["apply", "-f", path]`.
    ///   - stdin: text for kubectl's standard input (e.g. a manifest for `apply -f -`); none if nil.
    /// - Throws: ``RealAPIServerError`` when kubectl is not in `PATH`, or when it cannot be run.
    public func kubectl(
        _ args: [String],
        stdin: String? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let kubectl = findExecutable("kubectl") else {
            throw RealAPIServerError(message: "kubectl not found in PATH (it ships with the machine image)")
        }
        return try runProcess(kubectl, ["--kubeconfig", self.kubeconfigPath] + args, stdin: stdin)
    }

    /// ``kubectl(_:stdin:)`` on a thread of its own, so the caller's cooperative thread stays free while
    /// kubectl waits: the API server may call back into this process (an admission webhook served by the
    /// test) before kubectl returns, and on a 2-core machine the blocked pool would leave nobody to answer.
    public func kubectlAsync(
        _ args: [String],
        stdin: String? = nil
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try self.kubectl(args, stdin: stdin) })
            }
            thread.start()
        }
    }

    // MARK: - Helpers

    private static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RealAPIServerError(message: "cannot read \(path): \(error)")
        }
    }

    /// The value of `NAME='value'` in a file the script wrote for `sh` to source.
    private static func shellVariable(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "=") {
            var value = String(line.dropFirst(name.count + 1))
            if value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "'\\''", with: "'")
            }
            return value
        }
        return nil
    }
}

/// A ``RealAPIServer`` failure, with what the script or tool said.
public struct RealAPIServerError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { "RealAPIServer: \(self.message)" }
}

/// The first executable named `name` in `PATH`.
private func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
    }
    return nil
}

/// Runs a program to completion. Output goes through temporary files rather than pipes, so a chatty program cannot
/// fill a pipe buffer while we wait for it, and background children that outlive it cannot hold our read end open.
private func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    stdin: String? = nil
) throws -> (status: Int32, stdout: String, stderr: String) {
    let files = FileManager.default
    let scratch = files.temporaryDirectory.appendingPathComponent("sriov-run-\(UUID().uuidString)")
    try files.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? files.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    let inURL = scratch.appendingPathComponent("stdin")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    try Data((stdin ?? "").utf8).write(to: inURL)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let input = try FileHandle(forReadingFrom: inURL)
    defer {
        try? out.close()
        try? err.close()
        try? input.close()
    }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = environment
    }
    process.standardInput = input
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return (process.terminationStatus, stdout, stderr)
}
