import Foundation
import SriovTestKit
import Testing

/// `scripts/sriov-vm.sh`'s command line, without booting a guest (these run on every machine).
@Suite("scripts/sriov-vm.sh refuses bad input before booting")
struct SriovVMScriptTests {
    struct Result {
        var status: Int32
        var stderr: String
    }

    static func script(_ arguments: [String], cache: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [RealNICGuest.scriptPath] + arguments
        var environment = ProcessInfo.processInfo.environment
        if let cache { environment["SRIOV_VM_CACHE"] = cache }
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
    }

    @Test("run names the bad value: a missing script, --nics outside 0-8, a non-numeric --timeout, an unknown option")
    func badArguments() throws {
        let missing = try Self.script(["run", "/nonexistent/sriov-vm-test.sh"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no script at /nonexistent/sriov-vm-test.sh"), "\(missing.stderr)")

        let nics = try Self.script(["run", "--nics", "9", RealNICGuest.scriptPath])
        #expect(nics.status == 1)
        #expect(nics.stderr.contains("--nics 9: expected 0 to 8"), "\(nics.stderr)")

        let timeout = try Self.script(["run", "--timeout", "soon", RealNICGuest.scriptPath])
        #expect(timeout.status == 1)
        #expect(timeout.stderr.contains("--timeout soon: expected whole seconds"), "\(timeout.stderr)")

        let option = try Self.script(["run", "--kvm", RealNICGuest.scriptPath])
        #expect(option.status == 1)
        #expect(option.stderr.contains("unknown option --kvm"), "\(option.stderr)")
    }

    @Test("without a cached guest, status exits 1 and run says to build it")
    func noCache() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-vm-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let status = try Self.script(["status"], cache: empty.path)
        #expect(status.status == 1)
        let run = try Self.script(["run", RealNICGuest.scriptPath], cache: empty.path)
        #expect(run.status == 1)
        #expect(run.stderr.contains("no guest image in \(empty.path) (run: "), "\(run.stderr)")
    }
}
