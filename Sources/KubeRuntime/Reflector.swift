public import KubeClient
public import KubeCore
public import Logging
import Synchronization

/// What changed in a watched kind.
public enum ResourceChange<R: Resource>: Sendable {
    /// A fresh list replaced the cache (startup, or after 410 Gone).
    case restarted([R])
    case applied(R)
    case deleted(R)
}

/// What changed, with the version an update replaced, so handlers can react only to the fields they read
/// (``Reflector/onDelta``).
public enum ResourceDelta<R: Resource>: Sendable {
    case restarted([R])
    /// Added or modified; `previous` is the cached version it replaced (nil for a new object).
    case applied(R, previous: R?)
    case deleted(R)
}

/// Keeps a ``Store`` in sync with the API server: list, then watch from the list's resourceVersion;
/// re-watch from the last seen version when the server ends a watch; relist on 410 Gone. Errors, 410s and
/// watches the server closes at once back off exponentially with jitter (client-go: 800 ms … 30 s), so a
/// flapping server is not hammered by every replica in lock step. Bookmarks advance the version without
/// events. An object that does not decode is skipped with a warning and counted
/// (`kube_reflector_decode_failures_total`); it never stalls the kind.
///
/// The loop is an explicit state machine (``State``) driven by ``step(_:)``, which tests can call directly.
public struct Reflector<R: Resource>: Sendable {
    public enum State: Sendable, Equatable {
        /// Nothing known: list next.
        case empty
        /// Watch from this resourceVersion next.
        case watching(resourceVersion: String)
        /// The last attempt failed; wait, then continue from `next`.
        indirect case backingOff(failures: Int, next: State)
    }

    public let api: Api<R>
    public let store: Store<R>
    public var labelSelector: String?
    public var fieldSelector: String?
    public var watchTimeoutSeconds: Int
    public var logger: Logger
    /// First backoff step and cap.
    public var backoffBase: Duration = .milliseconds(800)
    public var backoffCap: Duration = .seconds(30)
    /// A watch that ends sooner than this without error counts as a failure (the server is flapping).
    public var minimumWatchDuration: Duration = .seconds(1)
    /// Injected for tests: the pause of a backoff, and a uniform random number in 0..<1 for the jitter.
    public var sleep: @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    public let onChange: @Sendable (ResourceChange<R>) async -> Void
    /// Called after ``onChange`` with the replaced version of updated objects.
    public var onDelta: (@Sendable (ResourceDelta<R>) async -> Void)?

    public init(
        api: Api<R>,
        store: Store<R>,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        watchTimeoutSeconds: Int = 300,
        logger: Logger,
        onChange: @escaping @Sendable (ResourceChange<R>) async -> Void = { _ in }
    ) {
        self.api = api
        self.store = store
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.logger = logger
        self.onChange = onChange
    }

    var metrics: Metrics { self.api.client.metrics }
    var kindLabel: [(String, String)] { [("kind", R.kind)] }

    /// Runs until the task is cancelled.
    public func run() async {
        var state = State.empty
        while !Task.isCancelled {
            state = await self.step(state)
        }
    }

    /// The pause before retry number `failures` (1-based): base × 2^(failures−1), capped, then scaled by a
    /// random factor in [0.5, 1.5).
    public func backoff(failures: Int) -> Duration {
        var delay = self.backoffBase
        for _ in 1..<max(1, min(failures, 30)) {
            delay = delay * 2
            if delay >= self.backoffCap { break }
        }
        delay = min(delay, self.backoffCap)
        return delay * (0.5 + self.random())
    }

    /// One transition: a list, one watch connection, or one backoff pause.
    public func step(_ state: State) async -> State {
        switch state {
        case .empty:
            do {
                let list = try await self.api.list(labelSelector: self.labelSelector, fieldSelector: self.fieldSelector)
                self.metrics.increment(
                    "kube_reflector_lists_total",
                    help: "Lists (and relists)",
                    labels: self.kindLabel
                )
                for skipped in list.skipped { self.undecodable(skipped) }
                self.store.replace(list.items)
                let items = list.items.map { self.store.trimmed($0) }
                await self.onChange(.restarted(items))
                await self.onDelta?(.restarted(items))
                self.logger.debug(
                    "reflector listed",
                    metadata: ["k8s.kind": "\(R.kind)", "k8s.count": "\(list.items.count)"]
                )
                return .watching(resourceVersion: list.resourceVersion)
            } catch {
                if Task.isCancelled { return .empty }
                self.logger.warning("list failed", metadata: ["k8s.kind": "\(R.kind)", "error": "\(error)"])
                return .backingOff(failures: 1, next: .empty)
            }
        case .watching(let start):
            let version = VersionBox(start)
            let opened = ContinuousClock.now
            do {
                try await self.api.watch(
                    resourceVersion: start,
                    labelSelector: self.labelSelector,
                    fieldSelector: self.fieldSelector,
                    timeoutSeconds: self.watchTimeoutSeconds
                ) { event in
                    switch event {
                    case .added(let object), .modified(let object):
                        let previous = self.store.upsert(object)
                        version.set(object.metadata.resourceVersion)
                        let trimmed = self.store.trimmed(object)
                        await self.onChange(.applied(trimmed))
                        await self.onDelta?(.applied(trimmed, previous: previous))
                    case .deleted(let object):
                        self.store.remove(object)
                        version.set(object.metadata.resourceVersion)
                        await self.onChange(.deleted(object))
                        await self.onDelta?(.deleted(object))
                    case .bookmark(let resourceVersion):
                        version.set(resourceVersion)
                    case .undecodable(let resourceVersion, let error):
                        version.set(resourceVersion)
                        self.undecodable(error)
                    }
                }
                let next = State.watching(resourceVersion: version.value)
                if ContinuousClock.now - opened < self.minimumWatchDuration, !version.advanced {
                    return .backingOff(failures: 1, next: next)
                }
                return next
            } catch let error as KubeError where error.isGone {
                self.logger.debug("watch expired, relisting", metadata: ["k8s.kind": "\(R.kind)"])
                return .backingOff(failures: 1, next: .empty)
            } catch {
                if Task.isCancelled { return .watching(resourceVersion: version.value) }
                self.logger.warning("watch failed", metadata: ["k8s.kind": "\(R.kind)", "error": "\(error)"])
                return .backingOff(failures: 1, next: .watching(resourceVersion: version.value))
            }
        case .backingOff(let failures, let next):
            await self.sleep(self.backoff(failures: failures))
            if Task.isCancelled { return next }
            let result = await self.step(next)
            if case .backingOff(_, let again) = result { return .backingOff(failures: failures + 1, next: again) }
            return result
        }
    }

    func undecodable(_ error: KubeError) {
        self.metrics.increment(
            "kube_reflector_decode_failures_total",
            help: "Watched or listed objects skipped because they did not decode",
            labels: self.kindLabel
        )
        self.logger.warning(
            "object skipped: does not decode",
            metadata: ["k8s.kind": "\(R.kind)", "error": "\(error)"]
        )
    }
}

/// The resourceVersion a watch has reached, shared with its event handler.
final class VersionBox: Sendable {
    let state: Mutex<(value: String, advanced: Bool)>
    init(_ value: String) { self.state = Mutex((value: value, advanced: false)) }
    func set(_ version: String) {
        guard !version.isEmpty else { return }
        self.state.withLock { $0 = (value: version, advanced: true) }
    }
    var value: String { self.state.withLock { $0.value } }
    var advanced: Bool { self.state.withLock { $0.advanced } }
}
