import Foundation

/// Runs the built `sriov` executable, as a user or a script would.
struct SriovBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var executable: URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sriov")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return self.packageRoot.appendingPathComponent(".build/debug/sriov")
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = self.executable
        process.arguments = arguments
        process.currentDirectoryURL = self.packageRoot
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NAMESPACE")
        env.removeValue(forKey: "RESOURCE_PREFIX")
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// A copy of `examples/` in a temporary directory, to break on purpose.
    static func examplesCopy() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-e2e-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: self.packageRoot.appendingPathComponent("examples"), to: directory)
        return directory
    }
}
