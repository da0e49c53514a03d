public import Foundation
public import Testing

/// A QEMU guest with real (emulated Intel 82576, driver `igb`) SR-IOV NICs, for tests that need a real SR-IOV driver.
///
/// The guest is `scripts/sriov-vm.sh`: Debian's 6.12 kernel under TCG, N igb NICs behind a virtual Intel IOMMU, and
/// the host's `/` read-only under a tmpfs overlay, so a script in the guest runs the host's own binaries (the built
/// `sriov`, `ip`, the CNI plugins) on real `igb`/`igbvf` devices, and whatever it changes vanishes when the guest
/// powers off. Its kernel and initramfs are built once per machine by `scripts/sriov-vm.sh build` into
/// ``cacheDirectory``; gate suites on ``isAvailable`` (no `/dev/kvm` is needed) and tag them ``Testing/Tag/realNIC``:
///
/// ```swift
/// @Suite(.enabled(if: RealNICGuest.isAvailable), .tags(.realNIC))
/// struct MyRealNICTests {
///     // One boot for every test of the suite: boots are expensive (15–60 s under TCG), batch scenarios.
///     static let boot = RealNICBatch(steps: [
///         RealNICStep("vfs", "echo 3 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs && ip -j link show"),
///         RealNICStep("numvfs", "cat /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"),
///     ])
///
///     @Test func createsVFs() async throws {
///         let run = try await Self.boot.run()
///         #expect(try run.step("numvfs").output == "3")
///     }
/// }
/// ```
///
/// Guests are booted one at a time per test process (each takes both cores under TCG); a run waits for the one
/// before it. A guest that does not finish within the timeout is killed and the run throws ``RealNICError``.
///
/// In the guest: the PFs are `0000:01:00.0`, `0000:02:00.0`, … (netdevs `eth0`, `eth1`, …, link down), each with
/// `sriov_totalvfs` 7; scripts run as root in the caller's working directory (the repository root here), with
/// `SRIOV_VM_GUEST=1`. Files the test wrote under `/tmp` before the boot are visible in the guest.
public enum RealNICGuest {
    // MARK: - Locations

    /// The repository root, found from this source file's path (`Sources/SriovTestKit/RealNIC/`).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // RealNIC/
            .deletingLastPathComponent()  // SriovTestKit/
            .deletingLastPathComponent()  // Sources/
            .deletingLastPathComponent()
    }

    /// `scripts/sriov-vm.sh` in the repository.
    public static var scriptPath: String {
        self.repositoryRoot.appendingPathComponent("scripts/sriov-vm.sh").path
    }

    /// The guest image cache: `SRIOV_VM_CACHE`, or `/var/cache/sriov-operator/vm`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment["SRIOV_VM_CACHE"] ?? ""
        return env.isEmpty ? "/var/cache/sriov-operator/vm" : env
    }

    /// True when the cached guest kernel and initramfs, `qemu-system-x86_64` and the script are there, so ``run(script:nics:timeout:)``
    /// can boot a guest. `/dev/kvm` is not needed (the guest runs under TCG).
    public static var isAvailable: Bool {
        let files = FileManager.default
        return ["vmlinuz", "initramfs.gz", "stamp"].allSatisfy {
            files.fileExists(atPath: self.cacheDirectory + "/" + $0)
        }
            && findExecutable("qemu-system-x86_64") != nil
            && files.fileExists(atPath: self.scriptPath)
    }

    /// The path of an executable this package built (`sriov`, `sriov-cni`, `sriov-nl-probe`): beside the running test
    /// bundle, else under `.build/debug`. The guest sees the same path.
    /// - Throws: ``RealNICError`` when it is not built.
    public static func builtExecutable(_ name: String) throws -> String {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        let debug = self.repositoryRoot.appendingPathComponent(".build/debug/\(name)").path
        if FileManager.default.isExecutableFile(atPath: debug) { return debug }
        throw RealNICError(message: "no built executable \(name) beside \(besideTests) or at \(debug)")
    }

    // MARK: - Running

    /// Boots a guest with `nics` igb NICs, runs `bash` on `script` (the script's text) as root in it, and returns the
    /// script's output and exit status once the guest has powered off.
    ///
    /// A non-zero exit status of the script is returned, not thrown.
    /// - Parameters:
    ///   - script: bash source; it runs in ``repositoryRoot``.
    ///   - nics: igb NICs (0–8).
    ///   - timeout: the whole boot, script and power-off; the guest is killed after it.
    /// - Throws: ``RealNICError`` when the guest image is missing, the guest is killed after `timeout`, or the guest
    ///   stops without reporting the script's exit status; the error carries the end of the console.
    public static func run(script: String, nics: Int = 2, timeout: Duration = .seconds(900)) async throws -> RealNICRun
    {
        guard self.isAvailable else {
            throw RealNICError(
                message:
                    "no guest image in \(self.cacheDirectory) or no qemu-system-x86_64: run `bash scripts/sriov-vm.sh build`"
            )
        }
        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("sriov-realnic-\(UUID().uuidString.prefix(8))")
        try files.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: scratch) }
        let scriptURL = scratch.appendingPathComponent("script.sh")
        try Data(script.utf8).write(to: scriptURL)
        // The guest reads the script (and the files beside it) through 9p as root; make them readable.
        try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)

        await BootQueue.shared.acquire()
        let result: ProcessOutcome
        do {
            let seconds = max(1, Int(timeout.components.seconds))
            result = try await runProcess(
                "/bin/bash",
                [self.scriptPath, "run", "--nics", String(nics), "--timeout", String(seconds), scriptURL.path],
                directory: self.repositoryRoot,
                scratch: scratch
            )
            await BootQueue.shared.release()
        } catch {
            await BootQueue.shared.release()
            throw error
        }
        return try RealNICRun(console: result.stdout, log: result.stderr, exitStatus: result.status, timeout: timeout)
    }

    /// Boots one guest and runs each step in turn (each as its own `bash` process after `prelude`), collecting every
    /// step's output and exit status; a failing step does not stop the ones after it.
    ///
    /// - Parameters:
    ///   - steps: the scenario, in order; names must be unique and made of letters, digits, `-`, `_` and `.`.
    ///   - prelude: bash source run at the start of every step (shell functions and variables the steps share).
    /// - Throws: as ``run(script:nics:timeout:)``; also when step names repeat or a step's result is missing.
    public static func run(
        steps: [RealNICStep],
        prelude: String = "",
        nics: Int = 2,
        timeout: Duration = .seconds(900)
    ) async throws -> RealNICRun {
        let names = steps.map(\.name)
        guard Set(names).count == names.count else {
            throw RealNICError(message: "step names repeat: \(names)")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        if let bad = names.first(where: { $0.isEmpty || !$0.allSatisfy(allowed.contains) }) {
            throw RealNICError(message: "step name \(bad.debugDescription): use letters, digits, '-', '_' and '.'")
        }
        var run = try await self.run(
            script: RealNICRun.script(for: steps, prelude: prelude),
            nics: nics,
            timeout: timeout
        )
        for step in steps {
            guard run.steps[step.name] != nil else {
                throw RealNICError(message: "step \(step.name) reported no result", console: run.console)
            }
            run.steps[step.name]?.command = step.command
        }
        return run
    }
}

extension Tag {
    /// Suites that boot the QEMU igb guest (``RealNICGuest``).
    @Tag public static var realNIC: Self
}

/// Lets one guest boot at a time in this process: each guest uses both cores under TCG, so parallel boots only make
/// every one slower (and more likely to hit its timeout).
private actor BootQueue {
    static let shared = BootQueue()

    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !self.busy {
            self.busy = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    func release() {
        if self.waiters.isEmpty {
            self.busy = false
        } else {
            // Ownership passes straight to the next waiter; `busy` stays true.
            self.waiters.removeFirst().resume()
        }
    }
}

private struct ProcessOutcome: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program without blocking a thread while it runs; output goes to files in `scratch` (a chatty console cannot
/// fill a pipe). Cancelling the task terminates the program.
private func runProcess(
    _ executable: String,
    _ arguments: [String],
    directory: URL,
    scratch: URL
) async throws -> ProcessOutcome {
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    // One guest CPU unless the caller chose: on a 2-core machine a 2-vCPU TCG guest takes both cores from the
    // tests running beside it (timers in them then fire seconds late), and the one guest seen wedged in boot
    // here had lost a vCPU's timer interrupts.
    var environment = ProcessInfo.processInfo.environment
    if environment["SRIOV_VM_SMP"] == nil { environment["SRIOV_VM_SMP"] = "1" }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    let status: Int32 = try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: RealNICError(message: "cannot run \(executable): \(error)"))
            }
        }
    } onCancel: {
        process.terminate()
    }
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return ProcessOutcome(status: status, stdout: stdout, stderr: stderr)
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
