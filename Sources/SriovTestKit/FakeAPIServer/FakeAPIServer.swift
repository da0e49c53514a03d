import Hummingbird
public import KubeCore
public import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A kube-apiserver stand-in on loopback HTTP, for tests of the client, the runtime and the controllers.
///
/// It serves any resource under `/api/v1/…` and `/apis/{group}/{version}/…` (no discovery needed)
/// with the semantics clients depend on: a global resourceVersion, `uid`, `creationTimestamp`,
/// `generation` bumped on spec changes, 404/409/410/422 as `metav1.Status` bodies, optimistic
/// concurrency, the status subresource, finalizers and `deletionTimestamp`, label and field
/// selectors, paginated lists, and watches with bookmarks and 410 after compaction. It is a
/// *faithful* fake: the same test body should pass against it and against a real kube-apiserver
/// (controller-runtime's fake client lesson). Where it simplifies, the doc of the operation says so.
///
/// On top of that it can misbehave on demand through ``faults`` (errors, 429 with `Retry-After`,
/// conflicts, latency, dropped watches) and records every request (``requests``, ``writeCount``).
///
/// ```swift
/// try await withFakeAPIServer { server in
///     let client = KubeClient(baseURL: server.url)
///     server.faults.failNext(1, method: "PUT", status: 500)
///     …
/// }
/// ```
///
/// Simplifications (none observable by a well-behaved client, as far as we know): JSON only; no
/// authentication, admission, defaulting or schema validation; no garbage collector (as with a bare
/// kube-apiserver); a resource takes its scope from its first write unless it is well known;
/// server-side apply is a merge patch without field ownership; strategic merge patch is a merge patch.
public final class FakeAPIServer: Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// How often a watch with `allowWatchBookmarks=true` gets a `BOOKMARK` (the real server: about a minute).
        public var bookmarkInterval: Duration
        /// How many events are kept for watches that resume from a resourceVersion; older
        /// resourceVersions get 410 Expired.
        public var eventHistoryLimit: Int
        /// Whether creating a namespaced object requires its Namespace to exist (404 otherwise), as in
        /// a real cluster. `default`, `kube-system`, `kube-public` and `kube-node-lease` always exist.
        public var requiresNamespaces: Bool
        /// The server's logger (silent by default).
        public var logger: Logger
        /// Whether `pods/<name>/eviction` exists (and `GET /api/v1` lists it); off, it answers 404 as a
        /// server without the Eviction API would.
        public var servesEviction: Bool = true

        public init(
            bookmarkInterval: Duration = .seconds(1),
            eventHistoryLimit: Int = 1000,
            requiresNamespaces: Bool = true,
            logger: Logger = Logger(label: "FakeAPIServer", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.bookmarkInterval = bookmarkInterval
            self.eventHistoryLimit = eventHistoryLimit
            self.requiresNamespaces = requiresNamespaces
            self.logger = logger
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    public let url: String
    /// The TCP port the server listens on (chosen by the kernel).
    public let port: Int
    /// Fault injection.
    public let faults: Faults

    let handler: APIHandler
    /// The server's task when started with ``start(_:)`` (nil inside ``withFakeAPIServer(_:isolation:_:)``).
    private let runner: ServerRunner?

    init(handler: APIHandler, port: Int, runner: ServerRunner?) {
        self.handler = handler
        self.port = port
        self.url = "http://127.0.0.1:\(port)"
        self.faults = handler.faults
        self.runner = runner
    }

    deinit {
        self.runner?.task.cancel()
    }

    // MARK: Lifecycle

    /// Starts a server on a free loopback port; call ``stop()`` when done.
    ///
    /// Prefer ``withFakeAPIServer(_:isolation:_:)``, which scopes the server to a closure. This variant
    /// runs the server in a task the server owns (the documented exception to "no unstructured
    /// tasks"), for tests that cannot nest their body in a closure; the task is cancelled on deinit.
    /// - Throws: when the server cannot bind.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> FakeAPIServer {
        let handler = APIHandler(configuration: configuration)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let serviceGroup = self.makeServiceGroup(handler, port: portContinuation)
        let task = Task {
            defer { portContinuation.finish() }
            try await serviceGroup.run()
        }
        guard let port = await ports.first(where: { _ in true }) else {
            try await task.value
            throw FakeAPIServerError("the server stopped before it listened")
        }
        return FakeAPIServer(
            handler: handler,
            port: port,
            runner: ServerRunner(serviceGroup: serviceGroup, task: task)
        )
    }

    /// Ends every open watch (cleanly, as a watch timeout would) and shuts down the server started
    /// with ``start(_:)``, letting in-flight requests finish (at most about two seconds).
    public func stop() async {
        self.handler.shutDown()
        guard let runner else { return }
        await runner.serviceGroup.triggerGracefulShutdown()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await runner.task.result }
            group.addTask { try? await Task.sleep(for: Self.shutdownGracePeriod) }
            await group.next()
            group.cancelAll()
        }
        runner.task.cancel()
        _ = await runner.task.result
    }

    /// How long a graceful shutdown may take before the server is cancelled.
    static let shutdownGracePeriod = Duration.seconds(2)

    /// The server as a service group of one (no signal handling), so it can shut down gracefully.
    static func makeServiceGroup(_ handler: APIHandler, port: AsyncStream<Int>.Continuation) -> ServiceGroup {
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await handler.respond(to: request) },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                port.yield(channel.localAddress?.port ?? 0)
                port.finish()
            },
            logger: handler.configuration.logger
        )
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [application], logger: handler.configuration.logger)
        )
    }

    // MARK: Request log

    /// Every request received so far, in arrival order.
    public var requests: [RecordedRequest] { self.handler.requestLog.withLock { $0 } }

    /// How many POST, PUT, PATCH and DELETE requests were received (including failed ones).
    public var writeCount: Int { self.handler.requestLog.withLock { $0.count(where: \.isWrite) } }

    /// Forgets the recorded requests (and so resets ``writeCount``).
    public func clearRequests() {
        self.handler.requestLog.withLock { $0.removeAll() }
    }

    // MARK: State

    /// The current (latest) resourceVersion.
    public var resourceVersion: Int { self.handler.store.state.withLock { $0.resourceVersion } }

    /// How many watches are open.
    public var watchCount: Int { self.handler.store.state.withLock { $0.watchers.count } }

    /// Drops the event history, so that a watch from any earlier resourceVersion gets 410 Expired
    /// (what etcd compaction does to a real server).
    public func compact() {
        self.handler.store.state.withLock { $0.compact() }
    }

    /// The stored object at an object path (`/api/v1/namespaces/default/configmaps/config`), or `nil`.
    public func object(path: String) -> JSONValue? {
        guard let resource = ResourcePath(path), let name = resource.name else { return nil }
        let id = ObjectID(namespace: resource.namespace ?? "", name: name)
        return self.handler.store.state.withLock { $0.objects[resource.type]?[id] }
    }

    /// The stored objects under a collection path (`/api/v1/namespaces/default/configmaps`, or
    /// `/api/v1/configmaps` for all namespaces), in list order.
    public func objects(path: String) -> [JSONValue] {
        guard let resource = ResourcePath(path), resource.name == nil else { return [] }
        return self.handler.store.state.withLock {
            $0.sortedObjects(resource.type, namespace: resource.namespace).map(\.object)
        }
    }

    /// Stores an object directly, without HTTP and without validation, to seed a test.
    ///
    /// `path` is the object's path or its collection's (the name then comes from the object).
    /// Missing `apiVersion`, `kind`, `uid`, `creationTimestamp` and `generation` are filled in; the
    /// write gets a new resourceVersion and watches see it (`ADDED` or `MODIFIED`).
    /// - Returns: the object as stored.
    /// - Throws: ``FakeAPIServerError`` when the path names no object.
    @discardableResult
    public func put(_ object: JSONValue, path: String) throws -> JSONValue {
        guard let resource = ResourcePath(path), resource.subresource == nil else {
            throw FakeAPIServerError("\(path) is not a resource path")
        }
        guard let name = resource.name ?? object["metadata"]?["name"]?.stringValue, !name.isEmpty else {
            throw FakeAPIServerError("no name in \(path) or in metadata.name")
        }
        let id = ObjectID(namespace: resource.namespace ?? "", name: name)
        return self.handler.store.state.withLock {
            $0.seed(object, type: resource.type, id: id, apiVersion: resource.apiVersion)
        }
    }

    /// Removes an object directly, ignoring finalizers; watches see `DELETED`.
    /// - Returns: the removed object, or `nil` when there was none.
    @discardableResult
    public func remove(path: String) -> JSONValue? {
        guard let resource = ResourcePath(path), let name = resource.name else { return nil }
        let id = ObjectID(namespace: resource.namespace ?? "", name: name)
        return self.handler.store.state.withLock { state in
            guard let object = state.objects[resource.type]?[id] else { return nil }
            return state.commit(.deleted, object, type: resource.type, id: id, previous: object)
        }
    }
}

/// Runs `body` with a fresh ``FakeAPIServer`` and stops the server when `body` returns or throws.
///
/// The server runs as a child task of this call (structured concurrency). When `body` is done, open
/// watches are ended cleanly and the server shuts down gracefully (cancelled after about two seconds).
/// - Throws: what `body` throws, or an error when the server cannot bind.
public func withFakeAPIServer<Value>(
    _ configuration: FakeAPIServer.Configuration = FakeAPIServer.Configuration(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (FakeAPIServer) async throws -> Value
) async throws -> Value {
    let handler = APIHandler(configuration: configuration)
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let serviceGroup = FakeAPIServer.makeServiceGroup(handler, port: portContinuation)
    return try await withThrowingTaskGroup(of: Void.self, returning: Value.self) { group in
        group.addTask {
            defer { portContinuation.finish() }
            try await serviceGroup.run()
        }
        guard let port = await ports.first(where: { _ in true }) else {
            try await group.next()
            throw FakeAPIServerError("the server stopped before it listened")
        }
        let server = FakeAPIServer(handler: handler, port: port, runner: nil)
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(server))
        } catch {
            result = .failure(error)
        }
        handler.shutDown()
        await serviceGroup.triggerGracefulShutdown()
        group.addTask { try await Task.sleep(for: FakeAPIServer.shutdownGracePeriod) }
        _ = try? await group.next()
        group.cancelAll()
        return try result.get()
    }
}

/// The service group and task of a server started with ``FakeAPIServer/start(_:)``.
struct ServerRunner: Sendable {
    var serviceGroup: ServiceGroup
    var task: Task<Void, any Error>
}

/// A misuse of the fake server's direct-access API (a path that names no object, a server that
/// could not start).
public struct FakeAPIServerError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
