import Foundation

/// One named scenario step for ``RealNICGuest/run(steps:prelude:nics:timeout:)``: bash source run as root in the guest.
public struct RealNICStep: Sendable, Hashable {
    /// Unique within a run; the key of ``RealNICRun/steps``.
    public var name: String
    /// bash source (may span lines).
    public var command: String

    public init(_ name: String, _ command: String) {
        self.name = name
        self.command = command
    }
}

/// What one step printed (standard output and error, interleaved) and its exit status.
public struct RealNICStepResult: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var command: String
    /// Without the final newline.
    public var output: String
    public var status: Int32

    public var description: String {
        "step \(self.name) (exit \(self.status)): \(self.command)\n\(self.output)"
    }
}

/// The outcome of one guest boot.
public struct RealNICRun: Sendable {
    /// The script's exit status (for a run of steps: 0 unless the step runner itself failed).
    public var status: Int32
    /// What the script printed (standard output and error), without kernel boot messages.
    public var output: String
    /// Everything the guest printed on its console, boot messages included.
    public var console: String
    /// `scripts/sriov-vm.sh`'s own messages (boot time, exit status).
    public var log: String
    /// Per-step results of ``RealNICGuest/run(steps:prelude:nics:timeout:)``, by step name.
    public var steps: [String: RealNICStepResult]

    /// The result of the step named `name`.
    /// - Throws: ``RealNICError`` (with the console) when the run had no such step.
    public func step(_ name: String) throws -> RealNICStepResult {
        guard let step = self.steps[name] else {
            throw RealNICError(message: "no step named \(name) in this run", console: self.console)
        }
        return step
    }

    static let beginMarker = "SRIOV-VM-SCRIPT-BEGIN"
    static let exitMarker = "SRIOV-VM-EXIT-STATUS: "
    static let stepBegin = "@@SRIOV-STEP-BEGIN "
    static let stepEnd = "@@SRIOV-STEP-END "

    /// Parses `scripts/sriov-vm.sh run`'s output.
    init(console rawConsole: String, log: String, exitStatus: Int32, timeout: Duration) throws {
        let console = rawConsole.replacingOccurrences(of: "\r", with: "")
        let lines = console.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let exitLine = lines.lastIndex(where: { $0.hasPrefix(Self.exitMarker) }),
            let status = Int32(lines[exitLine].dropFirst(Self.exitMarker.count))
        else {
            let why =
                exitStatus == 124
                ? "the guest did not finish within \(timeout) and was killed"
                : "the guest stopped without reporting the script's exit status (sriov-vm.sh exit \(exitStatus))"
            throw RealNICError(message: "\(why)\n\(log)", console: console)
        }
        let begin = lines[..<exitLine].lastIndex(of: Self.beginMarker).map { $0 + 1 } ?? 0
        let body = Array(lines[begin..<exitLine])
        self.status = status
        self.output = body.joined(separator: "\n")
        self.console = console
        self.log = log
        self.steps = Self.parseSteps(body)
    }

    /// Steps are framed by `@@SRIOV-STEP-BEGIN <index>` and `@@SRIOV-STEP-END <index> <status>` lines; the runner
    /// prints a newline before the end marker, which is not part of the output.
    static func parseSteps(_ lines: [String]) -> [String: RealNICStepResult] {
        var results: [String: RealNICStepResult] = [:]
        var current: (name: String, command: String, lines: [String])?
        for line in lines {
            if line.hasPrefix(Self.stepBegin) {
                let name = String(line.dropFirst(Self.stepBegin.count))
                current = (name, "", [])
            } else if line.hasPrefix(Self.stepEnd), let open = current {
                let fields = line.dropFirst(Self.stepEnd.count).split(separator: " ")
                guard fields.count == 2, String(fields[0]) == open.name, let status = Int32(fields[1]) else {
                    current?.lines.append(line)
                    continue
                }
                var output = open.lines
                if output.last == "" { output.removeLast() }
                results[open.name] = RealNICStepResult(
                    name: open.name,
                    command: "",
                    output: output.joined(separator: "\n"),
                    status: status
                )
                current = nil
            } else {
                current?.lines.append(line)
            }
        }
        return results
    }

    /// The bash script that runs `steps` one after another, each from its own file so a step's syntax error or
    /// `exit` cannot affect the others.
    static func script(for steps: [RealNICStep], prelude: String) -> String {
        let delimiter = "SRIOV_STEP_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        var script = "#!/bin/bash\n# Generated by RealNICGuest.run(steps:).\ndir=$(mktemp -d /tmp/sriov-steps.XXXXXX)\n"
        for (index, step) in steps.enumerated() {
            script += "cat >\"$dir/\(index).sh\" <<'\(delimiter)'\n\(prelude)\n\(step.command)\n\(delimiter)\n"
        }
        for (index, step) in steps.enumerated() {
            let name = step.name.replacingOccurrences(of: "'", with: "")
            script += "printf '\\n\(Self.stepBegin)%s\\n' '\(name)'\n"
            script += "bash \"$dir/\(index).sh\" </dev/null 2>&1\n"
            script += "printf '\\n\(Self.stepEnd)%s %d\\n' '\(name)' \"$?\"\n"
        }
        return script
    }
}

/// A ``RealNICGuest`` failure: the guest image is missing, the guest hung or crashed, or a result is missing.
public struct RealNICError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The guest's console, when it got that far.
    public let console: String

    public init(message: String, console: String = "") {
        self.message = message
        self.console = console
    }

    /// The message and the last 60 console lines.
    public var description: String {
        guard !self.console.isEmpty else { return "RealNICGuest: \(self.message)" }
        let tail = self.console.split(separator: "\n", omittingEmptySubsequences: false).suffix(60)
        return
            "RealNICGuest: \(self.message)\n--- console (last \(tail.count) lines) ---\n\(tail.joined(separator: "\n"))"
    }
}

/// One guest boot shared by several tests: the first ``run()`` boots it, later calls (and concurrent ones) get the same
/// result, failure included. Hold it in a `static let` of the suite.
public actor RealNICBatch {
    public let steps: [RealNICStep]
    public let prelude: String
    public let nics: Int
    public let timeout: Duration

    private enum State {
        case idle
        case running(waiters: [CheckedContinuation<RealNICRun, any Error>])
        case done(Result<RealNICRun, any Error>)
    }
    private var state = State.idle

    public init(steps: [RealNICStep], prelude: String = "", nics: Int = 2, timeout: Duration = .seconds(900)) {
        self.steps = steps
        self.prelude = prelude
        self.nics = nics
        self.timeout = timeout
    }

    /// The run's result, booting the guest on the first call; callers that arrive while it runs wait for it.
    public func run() async throws -> RealNICRun {
        switch self.state {
        case .done(let result):
            return try result.get()
        case .running:
            return try await withCheckedThrowingContinuation { continuation in
                // Re-read: the state may have changed while this caller was suspended.
                switch self.state {
                case .running(var waiters):
                    waiters.append(continuation)
                    self.state = .running(waiters: waiters)
                case .done(let result):
                    continuation.resume(with: result)
                case .idle:
                    continuation.resume(throwing: RealNICError(message: "batch reset while waiting"))
                }
            }
        case .idle:
            self.state = .running(waiters: [])
            let result: Result<RealNICRun, any Error>
            do {
                result = .success(
                    try await RealNICGuest.run(
                        steps: self.steps,
                        prelude: self.prelude,
                        nics: self.nics,
                        timeout: self.timeout
                    )
                )
            } catch {
                result = .failure(error)
            }
            if case .running(let waiters) = self.state {
                for waiter in waiters { waiter.resume(with: result) }
            }
            self.state = .done(result)
            return try result.get()
        }
    }
}
