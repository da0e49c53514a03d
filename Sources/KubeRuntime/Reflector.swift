public import KubeClient
public import KubeCore
public import Logging

/// What changed in a watched kind.
public enum ResourceChange<R: Resource>: Sendable {
    /// A fresh list replaced the cache (startup, or after 410 Gone).
    case restarted([R])
    case applied(R)
    case deleted(R)
}

/// Keeps a ``Store`` in sync with the API server: list, then watch from the list's resourceVersion;
/// re-watch from the last seen version when the server ends a watch; relist on 410 Gone; reconnect with
/// exponential backoff (1 s … 30 s) on errors. Bookmarks advance the version without events.
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
    public var watchTimeoutSeconds: Int
    public var logger: Logger
    public let onChange: @Sendable (ResourceChange<R>) async -> Void

    public init(
        api: Api<R>,
        store: Store<R>,
        labelSelector: String? = nil,
        watchTimeoutSeconds: Int = 300,
        logger: Logger,
        onChange: @escaping @Sendable (ResourceChange<R>) async -> Void = { _ in }
    ) {
        self.api = api
        self.store = store
        self.labelSelector = labelSelector
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.logger = logger
        self.onChange = onChange
    }

    /// Runs until the task is cancelled.
    public func run() async {
        var state = State.empty
        while !Task.isCancelled {
            state = await self.step(state)
        }
    }

    /// One transition: a list, one watch connection, or one backoff pause.
    public func step(_ state: State) async -> State {
        switch state {
        case .empty:
            do {
                let list = try await self.api.list(labelSelector: self.labelSelector)
                self.store.replace(list.items)
                await self.onChange(.restarted(list.items))
                self.logger.debug(
                    "reflector listed",
                    metadata: ["k8s.kind": "\(R.kind)", "k8s.count": "\(list.items.count)"]
                )
                return .watching(resourceVersion: list.resourceVersion)
            } catch {
                self.logger.warning("list failed", metadata: ["k8s.kind": "\(R.kind)", "error": "\(error)"])
                return .backingOff(failures: 1, next: .empty)
            }
        case .watching(var resourceVersion):
            do {
                let events = try await self.api.watch(
                    resourceVersion: resourceVersion,
                    labelSelector: self.labelSelector,
                    timeoutSeconds: self.watchTimeoutSeconds
                )
                for try await event in events {
                    switch event {
                    case .added(let object), .modified(let object):
                        self.store.upsert(object)
                        resourceVersion = object.metadata.resourceVersion
                        await self.onChange(.applied(object))
                    case .deleted(let object):
                        self.store.remove(object)
                        resourceVersion = object.metadata.resourceVersion
                        await self.onChange(.deleted(object))
                    case .bookmark(let version):
                        if !version.isEmpty { resourceVersion = version }
                    }
                }
                return .watching(resourceVersion: resourceVersion)
            } catch let error as KubeError where error.isGone {
                self.logger.debug("watch expired, relisting", metadata: ["k8s.kind": "\(R.kind)"])
                return .empty
            } catch {
                if Task.isCancelled { return .watching(resourceVersion: resourceVersion) }
                self.logger.warning("watch failed", metadata: ["k8s.kind": "\(R.kind)", "error": "\(error)"])
                return .backingOff(failures: 1, next: .watching(resourceVersion: resourceVersion))
            }
        case .backingOff(let failures, let next):
            let seconds = min(30, 1 << min(failures - 1, 5))
            try? await Task.sleep(for: .seconds(seconds))
            let result = await self.step(next)
            if case .backingOff(_, let again) = result { return .backingOff(failures: failures + 1, next: again) }
            return result
        }
    }
}
