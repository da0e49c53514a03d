import AsyncHTTPClient
import Foundation
import KubeCore
import NIOCore
import NIOHTTP1
import SriovTestKit

/// A bare HTTP client for the fake API server tests: they check the wire, so they do not use `KubeClient`.
struct FakeServerClient {
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var text: String
        var json: JSONValue

        /// `metadata.<key>` of the reply body, as a string.
        func meta(_ key: String) -> String? { self.json["metadata"]?[key]?.stringValue }
        var names: [String] {
            (self.json["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
        }
    }

    let http: HTTPClient
    let baseURL: String

    func send(
        _ method: HTTPMethod,
        _ path: String,
        _ body: JSONValue? = nil,
        raw: String? = nil,
        contentType: String = "application/json",
        timeout: TimeAmount = .seconds(10)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if let text = raw ?? body.map(GoJSON.encode) {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: text))
        }
        let response = try await self.http.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 16 << 20)
        let text = String(buffer: buffer)
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
        return Reply(status: Int(response.status.code), headers: response.headers, text: text, json: json)
    }

    func get(_ path: String) async throws -> Reply { try await self.send(.GET, path) }
    func post(_ path: String, _ body: JSONValue) async throws -> Reply { try await self.send(.POST, path, body) }
    func put(_ path: String, _ body: JSONValue) async throws -> Reply { try await self.send(.PUT, path, body) }
    func delete(_ path: String, _ body: JSONValue? = nil) async throws -> Reply {
        try await self.send(.DELETE, path, body)
    }
    func patch(_ path: String, _ patch: String, _ contentType: String) async throws -> Reply {
        try await self.send(.PATCH, path, raw: patch, contentType: contentType)
    }

    /// Opens a watch; the response head has arrived (so the watch is registered) when this returns.
    func watch(_ path: String) async throws -> FakeWatchLines {
        let response = try await self.http.execute(HTTPClientRequest(url: self.baseURL + path), timeout: .seconds(30))
        return FakeWatchLines(iterator: response.body.makeAsyncIterator())
    }
}

/// The events of a watch response, one decoded JSON line at a time.
struct FakeWatchLines {
    var iterator: HTTPClientResponse.Body.AsyncIterator
    var pending: [UInt8] = []

    /// The next event, or `nil` when the server ended the stream.
    mutating func next() async throws -> JSONValue? {
        while true {
            if let newline = self.pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(self.pending[..<newline])
                self.pending.removeFirst(newline + 1)
                return try JSONDecoder().decode(JSONValue.self, from: Data(line))
            }
            guard let chunk = try await self.iterator.next() else { return nil }
            self.pending.append(contentsOf: chunk.readableBytesView)
        }
    }

    /// The next event's `type` and the object's name.
    mutating func nextEvent() async throws -> (type: String, name: String)? {
        guard let event = try await self.next() else { return nil }
        return (event["type"]?.stringValue ?? "", event["object"]?["metadata"]?["name"]?.stringValue ?? "")
    }
}

/// Runs `body` with a fresh fake server and an HTTP client, shutting both down afterwards.
func withFakeServerClient(
    _ configuration: FakeAPIServer.Configuration = FakeAPIServer.Configuration(),
    _ body: (FakeAPIServer, FakeServerClient) async throws -> Void
) async throws {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await withFakeAPIServer(configuration) { server in
            try await body(server, FakeServerClient(http: http, baseURL: server.url))
        }
    } catch {
        try await http.shutdown()
        throw error
    }
    try await http.shutdown()
}

/// A ConfigMap body.
func fakeConfigMap(_ name: String, labels: [String: String] = [:], data: [String: String] = ["k": "v"]) -> JSONValue {
    var metadata: JSONObject = ["name": .string(name)]
    if !labels.isEmpty {
        metadata["labels"] = .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
    }
    return [
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": .object(metadata),
        "data": .object(JSONObject(data.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
    ]
}

/// A SriovNetworkNodePolicy body (a custom resource with a status subresource).
func fakePolicy(_ name: String, numVfs: Int, resourceVersion: String? = nil) -> JSONValue {
    var metadata: JSONObject = ["name": .string(name)]
    if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
    return [
        "apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy", "metadata": .object(metadata),
        "spec": ["resourceName": "intelnics", "numVfs": .int(numVfs), "nicSelector": ["pfNames": ["eth0"]]],
    ]
}

let fakeConfigMapsPath = "/api/v1/namespaces/default/configmaps"
let fakePoliciesPath = "/apis/sriovnetwork.openshift.io/v1/namespaces/default/sriovnetworknodepolicies"
