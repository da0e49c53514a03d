import Foundation
import Hummingbird
import KubeCore
import NIOCore
import Synchronization

/// Turns HTTP requests into store operations and store results into API server responses.
final class APIHandler: Sendable {
    let configuration: FakeAPIServer.Configuration
    let store: ObjectStore
    let faults: FakeAPIServer.Faults
    let requestLog = Mutex<[RecordedRequest]>([])

    init(configuration: FakeAPIServer.Configuration) {
        self.configuration = configuration
        self.store = ObjectStore(configuration: configuration)
        self.faults = FakeAPIServer.Faults(store: self.store)
    }

    /// Ends every open watch, so that their responses complete before the server stops.
    func shutDown() {
        self.store.state.withLock { $0.closeAllWatches(with: .end) }
    }

    func respond(to request: Request) async -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        let rawQuery = request.uri.query ?? ""
        let query = Self.parseQuery(rawQuery)
        self.requestLog.withLock { $0.append(RecordedRequest(method: method, path: path, query: query)) }
        let target = rawQuery.isEmpty ? path : "\(path)?\(rawQuery)"
        if let delay = self.faults.delay(method: method, target: target) {
            try? await Task.sleep(for: delay)
        }
        if let failure = self.faults.takeFailure(method: method, target: target) {
            return Self.response(failure)
        }
        do {
            let buffer = try await request.body.collect(upTo: 64 << 20)
            let body = String(buffer: buffer)
            return try self.route(
                method: method,
                path: path,
                target: target,
                query: query,
                body: body,
                contentType: request.headers[.contentType] ?? ""
            )
        } catch let status as APIStatus {
            return Self.response(status)
        } catch {
            return Self.response(.internalError("\(error)"))
        }
    }

    private func route(
        method: String,
        path: String,
        target: String,
        query: [String: String],
        body: String,
        contentType: String
    ) throws -> Response {
        switch path {
        case "/readyz", "/healthz", "/livez":
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "ok"))
            )
        case "/version":
            return Self.json([
                "major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64",
            ])
        default:
            break
        }
        if method == "GET", path == "/api/v1" || path == "/api/v1/" { return self.coreDiscovery() }
        guard let resource = ResourcePath(path) else { throw APIStatus.pathNotFound }
        if resource.type == Self.podsType, resource.subresource == "eviction" {
            guard method == "POST" else { throw APIStatus.methodNotAllowed }
            return try self.evict(resource)
        }
        let isWatch = query["watch"] == "true" || query["watch"] == "1"
        let store = self.store
        switch (method, resource.name) {
        case ("GET", nil):
            let labels = try LabelSelectorQuery(parsing: query["labelSelector"] ?? "")
            let fields = try FieldSelectorQuery(parsing: query["fieldSelector"] ?? "", for: resource.type)
            if isWatch { return try self.watch(resource, labels: labels, fields: fields, query: query) }
            let list = try store.state.withLock { state throws(APIStatus) in
                _ = try state.resolveScope(resource, method: "GET")
                return try state.list(
                    resource,
                    labels: labels,
                    fields: fields,
                    limit: query["limit"].flatMap { Int($0) },
                    continueToken: query["continue"]
                )
            }
            return Self.json(list)
        case ("POST", nil):
            let object = try Self.parseBody(body)
            return Self.json(
                try store.state.withLock { state throws(APIStatus) in try state.create(object, path: resource) },
                status: 201
            )
        case ("DELETE", nil):
            let options = body.isEmpty ? nil : try Self.parseBody(body)
            let labels = try LabelSelectorQuery(parsing: query["labelSelector"] ?? "")
            let fields = try FieldSelectorQuery(parsing: query["fieldSelector"] ?? "", for: resource.type)
            let list = try store.state.withLock { state throws(APIStatus) in
                try state.deleteCollection(
                    resource,
                    labels: labels,
                    fields: fields,
                    options: options,
                    propagationPolicy: query["propagationPolicy"]
                )
            }
            return Self.json(list)
        case (_, nil):
            throw APIStatus.methodNotAllowed
        case ("GET", let name?):
            if isWatch, resource.subresource == nil {
                var fields = try FieldSelectorQuery(parsing: query["fieldSelector"] ?? "", for: resource.type)
                fields.terms.append(.init(path: ["metadata", "name"], value: name, negated: false))
                var collection = resource
                collection.name = nil
                let labels = try LabelSelectorQuery(parsing: query["labelSelector"] ?? "")
                return try self.watch(collection, labels: labels, fields: fields, query: query)
            }
            let object = try store.state.withLock { state throws(APIStatus) in
                let (id, _) = try state.locate(resource, method: "GET")
                return try state.get(resource, id: id)
            }
            return Self.json(object)
        case ("PUT", let name?):
            if self.faults.takeConflict(method: method, target: target) {
                throw APIStatus.staleResourceVersion(resource.type, name: name)
            }
            let object = try Self.parseBody(body)
            return Self.json(
                try store.state.withLock { state throws(APIStatus) in
                    try state.update(object, path: resource, isPatch: false)
                }
            )
        case ("PATCH", let name?):
            if self.faults.takeConflict(method: method, target: target) {
                throw APIStatus.staleResourceVersion(resource.type, name: name)
            }
            let result = try store.state.withLock { state throws(APIStatus) in
                try state.patch(body, contentType: contentType, path: resource, fieldManager: query["fieldManager"])
            }
            return Self.json(result.object, status: result.created ? 201 : 200)
        case ("DELETE", _?):
            let options = body.isEmpty ? nil : try Self.parseBody(body)
            return Self.json(
                try store.state.withLock { state throws(APIStatus) in
                    try state.delete(resource, options: options, propagationPolicy: query["propagationPolicy"])
                }
            )
        default:
            throw APIStatus.methodNotAllowed
        }
    }

    // MARK: Encoding

    static func parseBody(_ text: String) throws(APIStatus) -> JSONValue {
        do {
            return try JSONText.parse(text)
        } catch {
            throw .badRequest("couldn't get version/kind; json parse error: \(error)")
        }
    }

    /// Decodes a query string as Go's `url.ParseQuery` does (`+` is a space).
    static func parseQuery(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = String(s).replacing("+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return result
    }

    static func json(_ value: JSONValue, status: Int = 200, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: JSONText.line(value)))
        )
    }

    static func response(_ status: APIStatus) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfterSeconds = status.retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return self.json(status.json, status: status.code, headers: headers)
    }
}
