import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile input against the built binary. Every run is bounded: a command still running after
/// ``HostileRun/timeout`` seconds is killed and the test fails with "hung" (the bound stated for
/// "never hangs"); none of these tests measures speed.
enum HostileRun {
    static let timeout: TimeInterval = 60

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var hung: Bool
        /// Killed by a signal (a crash is exit ≥ 128 from a shell's point of view).
        var crashed: Bool
    }

    static func run(_ arguments: [String], in directory: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = SriovBinary.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) } ?? SriovBinary.packageRoot
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let deadline = DispatchTime.now() + self.timeout
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: watchdog)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        let signalled = process.terminationReason == .uncaughtSignal
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self),
            hung: signalled && process.terminationStatus == SIGKILL,
            crashed: signalled
        )
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-\(label)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Every file under `directory` with its content (or link target), to prove a command changed nothing.
    static func snapshot(_ directory: String) -> [String: String] {
        var result: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return result }
        for case let relative as String in enumerator {
            let full = directory + "/" + relative
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: full) {
                result[relative] = "link " + target
            } else if let text = try? String(contentsOfFile: full, encoding: .utf8) {
                result[relative] = text
            } else {
                result[relative] = "dir"
            }
        }
        return result
    }
}

@Suite("Hostile input end to end: exit codes, no crash, no hang")
struct HostileInputTests {
    @Test(
        "usage errors exit 2 with the subcommand's usage, not ArgumentParser's 64",
        arguments: [
            ["apply", "--bogus"], ["plan"], ["discover", "--output", "xml"], ["simulate", "only-one-argument"],
            ["validate", "--no-such-flag", "x"], ["reset", "--sysfs-root"],
        ]
    )
    func usageErrors(arguments: [String]) throws {
        let result = try HostileRun.run(arguments)
        #expect(!result.hung && !result.crashed)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sriov \(arguments[0])"), "\(result.stderr)")
    }

    @Test(
        "apply refuses bad --node-labels and --platform before touching the host (exit 2, tree unchanged)",
        arguments: [
            ["--node-labels", "bad key=1"], ["--node-labels", "a=b,a=c"], ["--node-labels", "novalue"],
            ["--node-labels", "k=" + String(repeating: "v", count: 64)], ["--platform", "vmware"],
            ["--node-name", "Bad/Name"],
        ]
    )
    func applyFlags(flags: [String]) throws {
        let base = try HostileRun.temporaryDirectory("flags")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let root = base + "/host"
        let made = try HostileRun.run(["simulate", "hosts/profiles/intel-e810.yaml", root])
        #expect(made.status == 0, "\(made.stderr)")
        let before = HostileRun.snapshot(root)
        let result = try HostileRun.run(
            ["apply", "-f", "hosts/policies/e810-dpdk-and-kernel.yaml", "--sysfs-root", root] + flags
        )
        #expect(!result.hung && !result.crashed)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(flags[0]), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sriov apply"))
        #expect(HostileRun.snapshot(root) == before)
    }

    @Test("a FIFO manifest, a billion-laughs file and deep nesting: validate exits 2 naming the file")
    func hostileManifests() throws {
        let dir = try HostileRun.temporaryDirectory("manifests")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo.yaml", 0o644) == 0)
        var laughs = "kind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for i in 1..<12 {
            laughs += "  a\(i): &a\(i) [\(Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ","))]\n"
        }
        try laughs.write(toFile: dir + "/laughs.yaml", atomically: true, encoding: .utf8)
        try ("kind: A\nx: " + String(repeating: "[", count: 100_000)).write(
            toFile: dir + "/deep.yaml",
            atomically: true,
            encoding: .utf8
        )
        try "kind: A\nn: 9223372036854775808\n".write(toFile: dir + "/int.yaml", atomically: true, encoding: .utf8)
        for (file, words) in [
            ("fifo.yaml", "a FIFO"), ("laughs.yaml", "aliases"), ("deep.yaml", "nested"),
            ("int.yaml", "out of range"),
        ] {
            for command in ["validate", "plan"] {
                let result = try HostileRun.run([command, dir + "/" + file])
                #expect(!result.hung && !result.crashed, "\(command) \(file)")
                #expect(result.status == 2, "\(command) \(file): \(result.stderr)")
                #expect(result.stderr.contains(dir + "/" + file), "\(result.stderr)")
                #expect(result.stderr.contains(words), "\(result.stderr)")
            }
        }
    }

    @Test("names the API server refuses are findings with its words, at the object's file and line")
    func refusedNames() throws {
        let dir = try HostileRun.temporaryDirectory("names")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let long = String(repeating: "r", count: 1 << 20)
        try """
        # padding
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata:
          name: Bad/Name
          namespace: sriov-network-operator
        spec:
          resourceName: \(long)
          numVfs: 4
          nicSelector: {pfNames: [ens1f0]}
          nodeSelector: {kubernetes.io/hostname: worker-0}
        """.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        let result = try HostileRun.run(["validate", dir])
        let output = result.stdout + result.stderr
        #expect(!result.hung && !result.crashed)
        #expect(result.status == 1, "\(output.prefix(2000))")
        #expect(output.contains("\(dir)/policy.yaml:5: SriovNetworkNodePolicy"), "\(output.prefix(2000))")
        #expect(output.contains("metadata.name: Invalid value: \"Bad/Name\": may not contain '/'"))
        #expect(output.contains("a lowercase RFC 1123 subdomain must consist of"))
        // The 1 MiB resourceName is never echoed back whole.
        #expect(output.count < 20_000)
        for line in output.split(separator: "\n") where line.hasPrefix("error:") || line.hasPrefix("warning:") {
            #expect(line.contains("\(dir)/policy.yaml:"), "finding without file and line: \(line.prefix(300))")
        }
    }

    @Test("simulate: a relative directory is created in the working directory; names from a profile are checked")
    func simulateInsideTarget() throws {
        let base = try HostileRun.temporaryDirectory("simulate")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let profile = SriovBinary.packageRoot.appendingPathComponent("hosts/profiles/intel-e810.yaml").path
        let relative = "rel-\(UUID().uuidString)"
        let result = try HostileRun.run(["simulate", profile, relative], in: base)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: base + "/" + relative + "/sys/bus/pci/devices/0000:3b:00.0"))
        #expect(!FileManager.default.fileExists(atPath: "/" + relative))

        let text = try String(contentsOfFile: profile, encoding: .utf8)
        for (field, hostile) in [
            ("vfDriver: iavf", "vfDriver: ../../../../escape"), ("driver: ice", "driver: \"a/b\""),
        ] {
            try text.replacingOccurrences(of: field, with: hostile).write(
                toFile: base + "/hostile.yaml",
                atomically: true,
                encoding: .utf8
            )
            let refused = try HostileRun.run(["simulate", base + "/hostile.yaml", base + "/target"])
            #expect(!refused.hung && !refused.crashed)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("hostile.yaml") && refused.stderr.contains("nics[0]"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: base + "/target"))
            #expect(!FileManager.default.fileExists(atPath: base + "/escape"))
        }
    }

    @Test("apply on a tree with a planted virtfn link and a hostile sriov_numvfs: exit 1, no crash, outside unchanged")
    func hostileHostTree() throws {
        let base = try HostileRun.temporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let root = base + "/root"
        let outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "keep\n".write(toFile: outside + "/sriov_numvfs", atomically: true, encoding: .utf8)
        let made = try HostileRun.run(["simulate", "hosts/profiles/intel-e810.yaml", root])
        #expect(made.status == 0, "\(made.stderr)")
        let policies = "hosts/policies/e810-dpdk-and-kernel.yaml"
        let before = HostileRun.snapshot(outside)
        // The second E810 port's directory is replaced by a link out of the tree.
        let pf1 = root + "/sys/bus/pci/devices/0000:3b:00.1"
        try FileManager.default.removeItem(atPath: pf1)
        try FileManager.default.createSymbolicLink(atPath: pf1, withDestinationPath: "../../../../../outside")
        for numvfs in ["-3", "9223372036854775807", "abc"] {
            try (numvfs + "\n").write(
                toFile: root + "/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs",
                atomically: false,
                encoding: .utf8
            )
            for command in [["apply", "-f", policies], ["reset"], ["discover"]] {
                let result = try HostileRun.run(command + ["--sysfs-root", root])
                #expect(!result.hung && !result.crashed, "\(command) \(numvfs)")
                #expect(result.status == 1, "\(command) \(numvfs): \(result.stderr)")
                #expect(result.stderr.contains("sriov_numvfs"), "\(result.stderr)")
            }
        }
        #expect(HostileRun.snapshot(outside) == before)
    }
}
