import Testing

/// Polls `condition` every `poll` until it holds or `timeout` passes; then records an issue naming `what` and
/// throws (the integration suites' hang guard: generous, because a loaded 2-core machine is slow, not wrong).
public func eventually(
    _ what: String,
    timeout: Duration = .seconds(90),
    poll: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: poll)
    }
    if try await condition() { return }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}
