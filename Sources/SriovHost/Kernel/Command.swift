import Foundation

/// Runs a host command with a timeout; a failure carries the command, exit status and stderr.
enum Command {
    static func run(_ arguments: [String], step: String, timeout: Duration = .seconds(60)) throws(HostError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw HostError(code: .io, message: "cannot run \(arguments.joined(separator: " ")): \(error)", step: step)
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw HostError(code: .timeout, message: "\(arguments.joined(separator: " ")) timed out", step: step)
            }
            usleep(10_000)
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw HostError(
                code: .io,
                message:
                    "\(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(stderr.trimmingWhitespace)",
                step: step
            )
        }
    }
}
