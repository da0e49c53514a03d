public import KubeCore

/// The client: a transport, a token-bucket rate limiter, the retry policy for `Retry-After` answers, and
/// the request metrics. Cheap to copy; share one per process.
public struct KubeClient: Sendable {
    public let transport: any KubeTransport
    /// nil: no client-side limit.
    public let rateLimiter: TokenBucket?
    public let retry: RetryPolicy
    public let metrics: Metrics
    /// Deadline of one request, head and body.
    public var requestTimeout: Duration = .seconds(60)

    public init(
        transport: any KubeTransport,
        rateLimiter: TokenBucket? = nil,
        retry: RetryPolicy = RetryPolicy(),
        metrics: Metrics = Metrics()
    ) {
        self.transport = transport
        self.rateLimiter = rateLimiter.flatMap { $0.isEnabled ? $0 : nil }
        self.retry = retry
        self.metrics = metrics
    }

    /// A client for `config` over HTTPS.
    public init(
        config: KubeConfig,
        rateLimiter: TokenBucket? = nil,
        retry: RetryPolicy = RetryPolicy(),
        metrics: Metrics = Metrics()
    ) throws {
        self.init(
            transport: try HTTPKubeTransport(config: config),
            rateLimiter: rateLimiter,
            retry: retry,
            metrics: metrics
        )
    }

    /// A typed handle for one kind, in one namespace (namespaced kinds) or cluster-wide.
    public func api<R: Resource>(_ type: R.Type, namespace: String? = nil) -> Api<R> {
        Api(client: self, namespace: namespace)
    }

    /// Sends a request and returns the body of a 2xx answer; other statuses throw ``KubeError``.
    ///
    /// Each attempt first takes a token from the rate limiter. A 429 or 5xx with `Retry-After` is retried
    /// after that many seconds (``RetryPolicy``); other failures are returned at once.
    public func perform(_ request: KubeRequest) async throws -> [UInt8] {
        var attempt = 0
        while true {
            if let limiter = self.rateLimiter {
                let wait = limiter.reserve()
                if wait > .zero {
                    self.metrics.increment(
                        "kube_client_rate_limited_requests_total",
                        help: "Requests that waited for the client-side rate limiter"
                    )
                    try await Task.sleep(for: wait)
                }
            }
            let response: KubeResponse
            do {
                response = try await self.transport.send(request, timeout: self.requestTimeout)
            } catch let error as KubeError {
                self.countRequest(request, code: "error")
                throw error
            }
            self.countRequest(request, code: String(response.status))
            if (200..<300).contains(response.status) { return response.body }
            if let wait = self.retry.wait(status: response.status, retryAfter: response.retryAfter, attempt: attempt) {
                attempt += 1
                self.metrics.increment(
                    "kube_client_retries_total",
                    help: "Requests retried after a Retry-After answer",
                    labels: [("code", String(response.status))]
                )
                try await self.retry.sleep(wait)
                continue
            }
            throw KubeError.from(
                status: response.status,
                body: response.body,
                verb: request.verb,
                resource: request.resource,
                retryAfter: response.retryAfter
            )
        }
    }

    func countRequest(_ request: KubeRequest, code: String) {
        self.metrics.increment(
            "kube_client_requests_total",
            help: "API requests by method and response code",
            labels: [("method", request.method), ("code", code)]
        )
    }

    public func shutdown() async throws { try await self.transport.shutdown() }
}

/// A list result: the items and the list's resourceVersion (where a watch should start).
public struct ObjectList<R: Resource>: Sendable {
    public var items: [R]
    public var resourceVersion: String
    /// Items that did not decode (left out of `items`, so one bad object does not block the kind).
    public var skipped: [KubeError] = []
}

/// One watch event.
public enum WatchEvent<R: Resource>: Sendable {
    case added(R)
    case modified(R)
    case deleted(R)
    /// Progress marker: the server has sent everything up to this resourceVersion.
    case bookmark(resourceVersion: String)
    /// An object that did not decode as `R`: skipped, with where it was and why (the version still advances).
    case undecodable(resourceVersion: String, error: KubeError)
}

/// Typed operations on one kind: get, list (paginated), create, update, status update, merge/JSON patch,
/// delete with preconditions, and watch. (No server-side apply: the operator writes with create, update
/// and patches guarded by resourceVersion, so it never owns fields through managedFields.)
///
/// Errors are ``KubeError`` (with `isNotFound`, `isConflict`, `isGone`, …); objects from the server are
/// decoded leniently (fields this version does not know are ignored).
public struct Api<R: Resource>: Sendable {
    public let client: KubeClient
    public let namespace: String?

    init(client: KubeClient, namespace: String?) {
        self.client = client
        self.namespace = namespace
    }

    /// `/api/v1/…` or `/apis/<group>/<version>/…`, with `namespaces/<ns>/` for namespaced kinds.
    public func path(_ name: String? = nil, subresource: String? = nil, namespace: String? = nil) -> String {
        var path = R.group.isEmpty ? "/api/\(R.version)" : "/apis/\(R.group)/\(R.version)"
        if R.scope == .namespaced, let ns = namespace ?? self.namespace, !ns.isEmpty {
            path += "/namespaces/\(ns)"
        }
        path += "/\(R.plural)"
        if let name { path += "/\(name)" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    func describe(_ name: String?, namespace: String? = nil) -> String {
        let ns = namespace ?? self.namespace ?? ""
        guard let name else { return R.plural + (ns.isEmpty ? "" : " in \(ns)") }
        return "\(R.plural) \(ns.isEmpty ? "" : ns + "/")\(name)"
    }

    static func decode(_ body: [UInt8], verb: String, resource: String) throws -> R {
        do {
            let value = try JSONParser.parse(body)
            return try ValueDecoder(rejectsUnknownFields: false).decode(R.self, from: value)
        } catch {
            throw KubeError(status: 0, reason: "Decode", message: "\(error)", verb: verb, resource: resource)
        }
    }

    static func encode(_ object: R) throws -> [UInt8] {
        Array(GoJSON.encode(try ValueEncoder().encode(object)).utf8)
    }

    public func get(_ name: String) async throws -> R {
        let resource = self.describe(name)
        let body = try await self.client.perform(
            KubeRequest(method: "GET", path: self.path(name), verb: "get", resource: resource)
        )
        return try Self.decode(body, verb: "get", resource: resource)
    }

    /// nil instead of a not-found error.
    public func getIfPresent(_ name: String) async throws -> R? {
        do {
            return try await self.get(name)
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
    }

    /// Lists all objects, following `continue` tokens page by page.
    public func list(
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        pageSize: Int = 500
    ) async throws -> ObjectList<R> {
        var items: [R] = []
        var skipped: [KubeError] = []
        var continueToken: String?
        var resourceVersion = ""
        let resource = self.describe(nil)
        repeat {
            var query: [(name: String, value: String)] = [("limit", String(pageSize))]
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            if let continueToken { query.append(("continue", continueToken)) }
            let body = try await self.client.perform(
                KubeRequest(method: "GET", path: self.path(), query: query, verb: "list", resource: resource)
            )
            let value: JSONValue
            do {
                value = try JSONParser.parse(body)
            } catch {
                throw KubeError(status: 0, reason: "Decode", message: "\(error)", verb: "list", resource: resource)
            }
            for (index, item) in (value["items"]?.arrayValue ?? []).enumerated() {
                var object = item
                // Items of a list carry no kind/apiVersion; set them so the object is complete.
                if case .object(var fields) = object {
                    if fields["kind"] == nil { fields["kind"] = .string(R.kind) }
                    if fields["apiVersion"] == nil { fields["apiVersion"] = .string(R.apiVersion) }
                    object = .object(fields)
                }
                do {
                    items.append(try ValueDecoder(rejectsUnknownFields: false).decode(R.self, from: object))
                } catch {
                    let name = item["metadata"]?["name"]?.stringValue ?? "?"
                    let namespace = item["metadata"]?["namespace"]?.stringValue ?? ""
                    skipped.append(
                        KubeError(
                            status: 0,
                            reason: "Decode",
                            message: "items[\(index)] (\(namespace.isEmpty ? "" : namespace + "/")\(name)): \(error)",
                            verb: "list",
                            resource: resource
                        )
                    )
                }
            }
            resourceVersion = value["metadata"]?["resourceVersion"]?.stringValue ?? ""
            continueToken = value["metadata"]?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while continueToken != nil
        return ObjectList(items: items, resourceVersion: resourceVersion, skipped: skipped)
    }

    public func create(_ object: R) async throws -> R {
        let namespace = object.metadata.namespace.isEmpty ? nil : object.metadata.namespace
        let resource = self.describe(object.metadata.name, namespace: namespace)
        let body = try await self.client.perform(
            KubeRequest(
                method: "POST",
                path: self.path(namespace: namespace),
                body: try Self.encode(object),
                verb: "create",
                resource: resource
            )
        )
        return try Self.decode(body, verb: "create", resource: resource)
    }

    /// PUT; fails with a conflict when `metadata.resourceVersion` is stale.
    public func update(_ object: R) async throws -> R {
        try await self.put(object, subresource: nil, verb: "update")
    }

    /// PUT on the `status` subresource.
    public func updateStatus(_ object: R) async throws -> R {
        try await self.put(object, subresource: "status", verb: "update status")
    }

    func put(_ object: R, subresource: String?, verb: String) async throws -> R {
        let namespace = object.metadata.namespace.isEmpty ? nil : object.metadata.namespace
        let resource = self.describe(object.metadata.name, namespace: namespace)
        let body = try await self.client.perform(
            KubeRequest(
                method: "PUT",
                path: self.path(object.metadata.name, subresource: subresource, namespace: namespace),
                body: try Self.encode(object),
                verb: verb,
                resource: resource
            )
        )
        return try Self.decode(body, verb: verb, resource: resource)
    }

    /// RFC 7386 merge patch (`null` deletes a key).
    public func mergePatch(_ name: String, _ patch: JSONValue, subresource: String? = nil) async throws -> R {
        try await self.patch(
            name,
            body: GoJSON.encode(patch),
            type: "application/merge-patch+json",
            subresource: subresource
        )
    }

    /// RFC 6902 JSON patch.
    public func jsonPatch(_ name: String, _ operations: [JSONValue], subresource: String? = nil) async throws -> R {
        try await self.patch(
            name,
            body: GoJSON.encode(.array(operations)),
            type: "application/json-patch+json",
            subresource: subresource
        )
    }

    func patch(_ name: String, body: String, type: String, subresource: String?) async throws -> R {
        let resource = self.describe(name)
        let response = try await self.client.perform(
            KubeRequest(
                method: "PATCH",
                path: self.path(name, subresource: subresource),
                body: Array(body.utf8),
                contentType: type,
                verb: "patch",
                resource: resource
            )
        )
        return try Self.decode(response, verb: "patch", resource: resource)
    }

    /// Deletes; with `resourceVersion`/`uid` preconditions the server refuses (409) if the object changed.
    public func delete(_ name: String, resourceVersion: String? = nil, uid: String? = nil) async throws {
        var body: [UInt8]?
        if resourceVersion != nil || uid != nil {
            var preconditions = JSONObject()
            if let resourceVersion { preconditions["resourceVersion"] = .string(resourceVersion) }
            if let uid { preconditions["uid"] = .string(uid) }
            let options: JSONValue = [
                "kind": "DeleteOptions", "apiVersion": "v1", "preconditions": .object(preconditions),
            ]
            body = Array(GoJSON.encode(options).utf8)
        }
        _ = try await self.client.perform(
            KubeRequest(
                method: "DELETE",
                path: self.path(name),
                body: body,
                verb: "delete",
                resource: self.describe(name)
            )
        )
    }

    /// Watches from `resourceVersion`, handing each event to `onEvent` before reading the next (back
    /// pressure: a slow consumer slows the stream; nothing is buffered beyond one line). Returns when the
    /// server closes the stream (its `timeoutSeconds`); an `ERROR` event throws ``KubeError`` (410 Gone when
    /// the version is too old); an object that does not decode is handed over as
    /// ``WatchEvent/undecodable(resourceVersion:error:)`` and the watch goes on.
    public func watch(
        resourceVersion: String,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        timeoutSeconds: Int = 300,
        idleTimeout: Duration = .seconds(360),
        maxEventBytes: Int = 16 << 20,
        onEvent: @escaping @Sendable (WatchEvent<R>) async throws -> Void
    ) async throws {
        var query: [(name: String, value: String)] = [
            ("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(timeoutSeconds)),
        ]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let resource = self.describe(nil)
        if let limiter = self.client.rateLimiter { try await limiter.acquire() }
        try await self.client.transport.stream(
            KubeRequest(method: "GET", path: self.path(), query: query, verb: "watch", resource: resource),
            headTimeout: .seconds(30),
            idleTimeout: idleTimeout,
            maxLineBytes: maxEventBytes
        ) { line in
            if let event = try Self.decodeWatchLine(line, resource: resource) { try await onEvent(event) }
        }
    }

    /// One watch line: `{"type":…,"object":…}`; nil for a line without a type.
    static func decodeWatchLine(_ line: [UInt8], resource: String) throws -> WatchEvent<R>? {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw KubeError(
                status: 0,
                reason: "Decode",
                message: "watch event: \(error)",
                verb: "watch",
                resource: resource
            )
        }
        guard let type = value["type"]?.stringValue, let object = value["object"] else { return nil }
        switch type {
        case "BOOKMARK":
            return .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
        case "ERROR":
            let code = object["code"].flatMap { if case .int(let i) = $0 { i } else { nil } } ?? 500
            throw KubeError(
                status: code,
                reason: object["reason"]?.stringValue ?? "",
                message: object["message"]?.stringValue ?? "",
                verb: "watch",
                resource: resource
            )
        default:
            let decoded: R
            do {
                decoded = try ValueDecoder(rejectsUnknownFields: false).decode(R.self, from: object)
            } catch {
                let name = object["metadata"]?["name"]?.stringValue ?? "?"
                let namespace = object["metadata"]?["namespace"]?.stringValue ?? ""
                return .undecodable(
                    resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "",
                    error: KubeError(
                        status: 0,
                        reason: "Decode",
                        message: "\(type) \(namespace.isEmpty ? "" : namespace + "/")\(name): \(error)",
                        verb: "watch",
                        resource: resource
                    )
                )
            }
            switch type {
            case "ADDED": return .added(decoded)
            case "DELETED": return .deleted(decoded)
            default: return .modified(decoded)
            }
        }
    }
}
