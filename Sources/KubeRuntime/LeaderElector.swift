import Foundation
public import KubeClient
public import KubeCore
public import Logging

/// Lease-based leader election (coordination.k8s.io/v1), client-go's defaults: 15 s lease, renew every 2 s,
/// give up leading when a renewal has not succeeded for 10 s.
///
/// ``run(whileLeading:)`` calls the body when the lease is acquired and cancels it when leadership is lost;
/// it then tries to acquire again. On cancellation the lease is released so a successor takes over at once.
public struct LeaderElector: Sendable {
    public let api: Api<Lease>
    public let name: String
    public let identity: String
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)
    public let logger: Logger

    public init(api: Api<Lease>, name: String, identity: String, logger: Logger) {
        self.api = api
        self.name = name
        self.identity = identity
        self.logger = logger
    }

    public func run(whileLeading body: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            guard await self.acquire() else {
                try? await Task.sleep(for: self.retryPeriod)
                continue
            }
            self.logger.notice(
                "leadership acquired",
                metadata: ["lease": "\(self.name)", "identity": "\(self.identity)"]
            )
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await body() }
                group.addTask {
                    var lastRenew = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.retryPeriod)
                        if Task.isCancelled { break }
                        if await self.tryAcquireOrRenew() {
                            lastRenew = .now
                        } else if ContinuousClock.now - lastRenew > self.renewDeadline {
                            self.logger.error("leadership lost", metadata: ["lease": "\(self.name)"])
                            return
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
            if Task.isCancelled {
                // Release the lease so a successor takes over at once. This runs after cancellation, when any
                // request made from this task would fail immediately; a detached task is not cancelled, and
                // awaiting its value keeps the release inside this call (the one unstructured task here).
                let elector = self
                await Task.detached { await elector.release() }.value
            }
        }
    }

    func acquire() async -> Bool { await self.tryAcquireOrRenew() }

    /// `metav1.MicroTime`: RFC 3339 with exactly six fractional digits (the API server rejects other forms).
    static func now() -> String {
        let date = Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let seconds = formatter.string(from: date).dropLast()  // drop the "Z"
        let micros = Int((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1_000_000)
        let fraction = String(micros)
        return "\(seconds).\(String(repeating: "0", count: max(0, 6 - fraction.count)))\(fraction)Z"
    }

    static func parse(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// One attempt: create the lease, renew ours, or take over an expired one. Conflicts lose.
    func tryAcquireOrRenew() async -> Bool {
        let seconds = Int(self.leaseDuration.components.seconds)
        do {
            guard var lease = try await self.api.getIfPresent(self.name) else {
                var fresh = Lease(metadata: ObjectMeta(name: self.name, namespace: self.api.namespace ?? ""))
                fresh.spec = Lease.Spec(
                    holderIdentity: self.identity,
                    leaseDurationSeconds: seconds,
                    acquireTime: Self.now(),
                    renewTime: Self.now(),
                    leaseTransitions: 0
                )
                _ = try await self.api.create(fresh)
                return true
            }
            let holder = lease.spec.holderIdentity ?? ""
            if holder != self.identity && !holder.isEmpty {
                let renewed = Self.parse(lease.spec.renewTime) ?? .distantPast
                let duration = TimeInterval(lease.spec.leaseDurationSeconds ?? seconds)
                if Date().timeIntervalSince(renewed) < duration { return false }
            }
            if holder != self.identity {
                lease.spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1
                lease.spec.acquireTime = Self.now()
            }
            lease.spec.holderIdentity = self.identity
            lease.spec.leaseDurationSeconds = seconds
            lease.spec.renewTime = Self.now()
            _ = try await self.api.update(lease)
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

    func release() async {
        guard var lease = try? await self.api.getIfPresent(self.name), lease.spec.holderIdentity == self.identity else {
            return
        }
        lease.spec.holderIdentity = ""
        lease.spec.renewTime = Self.now()
        _ = try? await self.api.update(lease)
    }
}
