import Foundation
public import KubeClient
public import KubeCore
public import Logging
import Synchronization

/// Whether this process leads, for readiness and the `leader_election_master_status` gauge.
public final class LeaderStatus: Sendable {
    let state = Mutex((leading: false, terms: 0))
    public init() {}
    public var isLeading: Bool { self.state.withLock { $0.leading } }
    /// How many terms this process has started (each one with fresh queues and caches).
    public var terms: Int { self.state.withLock { $0.terms } }
    /// For a process that leads without election.
    public func force(_ leading: Bool) { self.set(leading) }
    func set(_ leading: Bool) {
        self.state.withLock {
            if leading && !$0.leading { $0.terms += 1 }
            $0.leading = leading
        }
    }
}

/// Lease-based leader election (coordination.k8s.io/v1), client-go's defaults: 15 s lease, renew every 2 s,
/// give up leading when a renewal has not succeeded for 10 s.
///
/// Expiry is judged by local observation, as client-go does: a candidate takes over only after it has itself
/// seen the holder's record (holder, renewTime, resourceVersion) unchanged for `leaseDuration` on its own
/// monotonic clock. The holder's timestamps are never compared with this machine's wall clock, so clock skew
/// between nodes cannot cause two leaders.
///
/// Each attempt runs under a deadline: the time left until `renewDeadline` since the last good renewal (at
/// least one `retryPeriod` while acquiring), so a hung request cannot keep a leader that no longer renews.
///
/// ``run(whileLeading:)`` calls the body when the lease is acquired and cancels it when leadership is lost;
/// it then tries to acquire again, and the body starts afresh. On cancellation the lease is released so a
/// successor takes over at once.
public struct LeaderElector: Sendable {
    public let api: Api<Lease>
    public let name: String
    public let identity: String
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)
    public let logger: Logger
    public var status: LeaderStatus = LeaderStatus()
    /// The local monotonic clock (injected by tests).
    public var now: @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }

    public init(api: Api<Lease>, name: String, identity: String, logger: Logger) {
        self.api = api
        self.name = name
        self.identity = identity
        self.logger = logger
    }

    /// What this candidate last saw of the lease, and when (on its own clock).
    final class Observation: Sendable {
        struct Record: Sendable, Equatable {
            var holder: String
            var renewTime: String
            var resourceVersion: String
        }
        let state = Mutex<(record: Record?, at: ContinuousClock.Instant?)>((nil, nil))

        /// Records `record` seen at `now`; returns when it was first seen unchanged.
        func observe(_ record: Record, now: ContinuousClock.Instant) -> ContinuousClock.Instant {
            self.state.withLock { state in
                if state.record != record || state.at == nil {
                    state = (record, now)
                }
                return state.at ?? now
            }
        }
    }

    public func run(whileLeading body: @escaping @Sendable () async -> Void) async {
        let observation = Observation()
        self.status.set(false)
        while !Task.isCancelled {
            guard await self.attempt(observation, timeout: max(self.retryPeriod, self.renewDeadline / 2)) else {
                try? await Task.sleep(for: self.retryPeriod)
                continue
            }
            self.logger.notice(
                "leadership acquired",
                metadata: ["lease": "\(self.name)", "identity": "\(self.identity)"]
            )
            self.status.set(true)
            self.publish(true)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await body() }
                group.addTask {
                    var lastRenew = self.now()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.retryPeriod)
                        if Task.isCancelled { break }
                        let left = self.renewDeadline - (self.now() - lastRenew)
                        if left > .zero, await self.attempt(observation, timeout: left) {
                            lastRenew = self.now()
                        } else if self.now() - lastRenew >= self.renewDeadline {
                            self.logger.error(
                                "leadership lost",
                                metadata: ["lease": "\(self.name)", "identity": "\(self.identity)"]
                            )
                            return
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
            self.status.set(false)
            self.publish(false)
            if Task.isCancelled {
                // Release the lease so a successor takes over at once. This runs after cancellation, when any
                // request made from this task would fail immediately; a detached task is not cancelled, and
                // awaiting its value keeps the release inside this call (the one unstructured task here).
                let elector = self
                await Task.detached { await elector.release() }.value
            }
        }
    }

    func publish(_ leading: Bool) {
        self.api.client.metrics.set(
            "leader_election_master_status",
            help: "1 while this replica holds the leader lease",
            labels: [("name", self.name)],
            to: leading ? 1 : 0
        )
    }

    /// One attempt under `timeout`; a timeout counts as a failed attempt.
    func attempt(_ observation: Observation, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await self.tryAcquireOrRenew(observation) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = await group.next(), let result = first else {
                self.logger.warning(
                    "lease attempt timed out",
                    metadata: ["lease": "\(self.name)", "after": "\(timeout)"]
                )
                return false
            }
            return result
        }
    }

    /// `metav1.MicroTime`: RFC 3339 with exactly six fractional digits (the API server rejects other forms).
    static func microTimeNow() -> String {
        let date = Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let seconds = formatter.string(from: date).dropLast()  // drop the "Z"
        let micros = Int((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1_000_000)
        let fraction = String(micros)
        return "\(seconds).\(String(repeating: "0", count: max(0, 6 - fraction.count)))\(fraction)Z"
    }

    /// One attempt: create the lease, renew ours, or take over one whose record this candidate has seen
    /// unchanged for the lease duration. Conflicts lose.
    func tryAcquireOrRenew(_ observation: Observation) async -> Bool {
        let seconds = Int(self.leaseDuration.components.seconds)
        do {
            guard var lease = try await self.api.getIfPresent(self.name) else {
                var fresh = Lease(metadata: ObjectMeta(name: self.name, namespace: self.api.namespace ?? ""))
                fresh.spec = Lease.Spec(
                    holderIdentity: self.identity,
                    leaseDurationSeconds: seconds,
                    acquireTime: Self.microTimeNow(),
                    renewTime: Self.microTimeNow(),
                    leaseTransitions: 0
                )
                let created = try await self.api.create(fresh)
                _ = observation.observe(Self.record(created), now: self.now())
                return true
            }
            let holder = lease.spec.holderIdentity ?? ""
            let firstSeen = observation.observe(Self.record(lease), now: self.now())
            if holder != self.identity && !holder.isEmpty {
                // The holder's own duration (it may differ from ours), measured on our clock.
                let duration = Duration.seconds(lease.spec.leaseDurationSeconds ?? seconds)
                if self.now() - firstSeen < duration { return false }
            }
            if holder != self.identity {
                lease.spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1
                lease.spec.acquireTime = Self.microTimeNow()
            }
            lease.spec.holderIdentity = self.identity
            lease.spec.leaseDurationSeconds = seconds
            lease.spec.renewTime = Self.microTimeNow()
            let updated = try await self.api.update(lease)
            _ = observation.observe(Self.record(updated), now: self.now())
            return true
        } catch {
            self.logger.debug("lease attempt failed", metadata: ["lease": "\(self.name)", "error": "\(error)"])
            // A rejected write (not a conflict) is a bug worth seeing at the default level.
            if let error = error as? KubeError, !error.isConflict, !error.isAlreadyExists, !error.isTransient {
                self.logger.warning("lease write rejected", metadata: ["lease": "\(self.name)", "error": "\(error)"])
            }
            return false
        }
    }

    static func record(_ lease: Lease) -> Observation.Record {
        Observation.Record(
            holder: lease.spec.holderIdentity ?? "",
            renewTime: lease.spec.renewTime ?? "",
            resourceVersion: lease.metadata.resourceVersion
        )
    }

    func release() async {
        guard var lease = try? await self.api.getIfPresent(self.name), lease.spec.holderIdentity == self.identity else {
            return
        }
        lease.spec.holderIdentity = ""
        lease.spec.renewTime = Self.microTimeNow()
        _ = try? await self.api.update(lease)
    }
}
