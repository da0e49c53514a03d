import AsyncHTTPClient
import KubeCore
import NIOCore
import NIOHTTP1
import SriovTestKit
import Testing

/// Watches, fault injection, the request log and the server's lifecycle.
@Suite("FakeAPIServer watches and faults", .timeLimit(.minutes(1)))
struct FakeAPIServerWatchTests {
    private let cms = fakeConfigMapsPath

    @Test("a watch from a resourceVersion receives MODIFIED then DELETED")
    func watchFromResourceVersion() async throws {
        try await withFakeServerClient { server, client in
            let created = try await client.post(self.cms, fakeConfigMap("a"))
            let version = try #require(created.meta("resourceVersion"))
            var watch = try await client.watch("\(self.cms)?watch=true&resourceVersion=\(version)")
            #expect(server.watchCount == 1)
            #expect(try await client.put("\(self.cms)/a", fakeConfigMap("a", data: ["k": "2"])).status == 200)
            #expect(try await client.delete("\(self.cms)/a").status == 200)

            let modified = try #require(try await watch.next())
            #expect(modified["type"] == "MODIFIED")
            #expect(modified["object"]?["kind"] == "ConfigMap", "watch objects carry kind, unlike list items")
            #expect(modified["object"]?["data"]?["k"] == "2")
            let deleted = try #require(try await watch.next())
            #expect(deleted["type"] == "DELETED")
            let deletedVersion = Int(deleted["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "")
            #expect(deletedVersion == server.resourceVersion, "a DELETED object carries the deletion's resourceVersion")
        }
    }

    @Test("a watch without resourceVersion starts with ADDED for existing objects; selectors turn exits into DELETED")
    func watchInitialStateAndSelectors() async throws {
        try await withFakeServerClient { _, client in
            #expect(try await client.post(self.cms, fakeConfigMap("a", labels: ["app": "nic"])).status == 201)
            #expect(try await client.post(self.cms, fakeConfigMap("b")).status == 201)
            var watch = try await client.watch("\(self.cms)?watch=1&labelSelector=app%3Dnic")
            #expect(try await watch.nextEvent()! == ("ADDED", "a"))

            #expect(try await client.put("\(self.cms)/b", fakeConfigMap("b", labels: ["app": "nic"])).status == 200)
            #expect(try await watch.nextEvent()! == ("ADDED", "b"))
            let unlabelled = try await client.put("\(self.cms)/a", fakeConfigMap("a"))
            let exit = try #require(try await watch.next())
            #expect(exit["type"] == "DELETED")
            // The real server sends the last state that matched, at the new resourceVersion.
            #expect(exit["object"]?["metadata"]?["labels"] == ["app": "nic"])
            #expect(exit["object"]?["metadata"]?["resourceVersion"]?.stringValue == unlabelled.meta("resourceVersion"))
        }
    }

    @Test("allowWatchBookmarks brings BOOKMARK events with only the resourceVersion")
    func bookmarks() async throws {
        try await withFakeServerClient(FakeAPIServer.Configuration(bookmarkInterval: .milliseconds(50))) {
            server,
            client in
            var watch = try await client.watch("\(self.cms)?watch=true&allowWatchBookmarks=true&resourceVersion=1")
            let bookmark = try #require(try await watch.next())
            #expect(bookmark["type"] == "BOOKMARK")
            #expect(
                bookmark["object"]
                    == [
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": ["resourceVersion": .string(String(server.resourceVersion))],
                    ]
            )
        }
    }

    @Test("a resourceVersion older than the history gets an ERROR event with 410 Expired, then the stream ends")
    func expiredResourceVersion() async throws {
        try await withFakeServerClient { server, client in
            let first = try await client.post(self.cms, fakeConfigMap("a"))
            #expect(try await client.post(self.cms, fakeConfigMap("b")).status == 201)
            server.compact()
            let version = try #require(first.meta("resourceVersion"))
            var watch = try await client.watch("\(self.cms)?watch=true&resourceVersion=\(version)")
            let error = try #require(try await watch.next())
            #expect(error["type"] == "ERROR")
            #expect(
                error["object"]
                    == [
                        "apiVersion": "v1", "code": 410, "kind": "Status",
                        "message": .string("too old resource version: \(version) (\(server.resourceVersion))"),
                        "metadata": [:], "reason": "Expired", "status": "Failure",
                    ]
            )
            #expect(try await watch.next() == nil)
        }
    }

    @Test("the event history keeps only the configured number of events")
    func historyLimit() async throws {
        try await withFakeServerClient(FakeAPIServer.Configuration(eventHistoryLimit: 2)) { _, client in
            let first = try await client.post(self.cms, fakeConfigMap("a"))
            for name in ["b", "c", "d"] { #expect(try await client.post(self.cms, fakeConfigMap(name)).status == 201) }
            var watch = try await client.watch(
                "\(self.cms)?watch=true&resourceVersion=\(first.meta("resourceVersion")!)"
            )
            #expect(try await watch.next()?["type"] == "ERROR")
        }
    }

    @Test("dropWatches ends open streams mid-stream without a final event", arguments: [false, true])
    func dropWatches(abruptly: Bool) async throws {
        try await withFakeServerClient { server, client in
            var watch = try await client.watch("\(self.cms)?watch=true")
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)
            #expect(try await watch.nextEvent()! == ("ADDED", "a"))
            server.faults.dropWatches(abruptly: abruptly)
            if abruptly {
                await #expect(throws: (any Error).self) { _ = try await watch.next() }
            } else {
                #expect(try await watch.next() == nil)
            }
            #expect(server.watchCount == 0)
        }
    }

    @Test("timeoutSeconds ends the watch")
    func watchTimeout() async throws {
        try await withFakeServerClient { _, client in
            let start = ContinuousClock.now
            var watch = try await client.watch("\(self.cms)?watch=true&timeoutSeconds=1")
            #expect(try await watch.next() == nil)
            #expect(ContinuousClock.now - start >= .milliseconds(900))
        }
    }

    @Test("injected 500 and 429 with Retry-After, then normal service")
    func injectedFailures() async throws {
        try await withFakeServerClient { server, client in
            server.faults.failNext(1, method: "POST", pathContains: "/configmaps", status: 500)
            let failed = try await client.post(self.cms, fakeConfigMap("a"))
            #expect(failed.status == 500)
            #expect(failed.json["reason"] == "InternalError")
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)

            server.faults.failNext(2, pathContains: "watch=true", status: 429)
            #expect(try await client.get(self.cms).status == 200, "the rule only matches watches")
            let throttled = try await client.get("\(self.cms)?watch=true&timeoutSeconds=1")
            #expect(throttled.status == 429)
            #expect(throttled.headers.first(name: "Retry-After") == "1")
            #expect(throttled.json["reason"] == "TooManyRequests")
            #expect(throttled.json["details"]?["retryAfterSeconds"] == 1)
            #expect(try await client.get("\(self.cms)?watch=true&timeoutSeconds=1").status == 429)
            server.faults.failNext(5, status: 503)
            server.faults.reset()
            #expect(try await client.get(self.cms).status == 200)
        }
    }

    @Test("conflictNext makes the next update a 409; delay slows requests down")
    func conflictAndDelay() async throws {
        try await withFakeServerClient { server, client in
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)
            server.faults.conflictNext(pathContains: "/configmaps/a")
            let conflict = try await client.put("\(self.cms)/a", fakeConfigMap("a", data: ["k": "2"]))
            #expect(conflict.status == 409)
            #expect(conflict.json["reason"] == "Conflict")
            #expect(try await client.put("\(self.cms)/a", fakeConfigMap("a", data: ["k": "2"])).status == 200)

            server.faults.delay(.milliseconds(150), method: "GET", count: 1)
            let start = ContinuousClock.now
            #expect(try await client.get("\(self.cms)/a").status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(150))
        }
    }

    @Test("the request log counts writes separately from reads")
    func requestLog() async throws {
        try await withFakeServerClient { server, client in
            _ = try await client.post(self.cms, fakeConfigMap("a"))
            _ = try await client.get("\(self.cms)?labelSelector=app%3Dnic")
            _ = try await client.patch("\(self.cms)/a", "{}", "application/merge-patch+json")
            _ = try await client.delete("\(self.cms)/a")
            #expect(server.writeCount == 3)
            #expect(server.requests.map(\.method) == ["POST", "GET", "PATCH", "DELETE"])
            #expect(server.requests[1].query == ["labelSelector": "app=nic"])
            #expect(server.requests[1].path == self.cms)
            server.clearRequests()
            _ = try await client.get(self.cms)
            #expect(server.writeCount == 0)
            #expect(server.requests.count == 1)
        }
    }

    @Test("start and stop without a closure scope")
    func startStop() async throws {
        let server = try await FakeAPIServer.start()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let client = FakeServerClient(http: http, baseURL: server.url)
            var watch = try await client.watch("\(self.cms)?watch=true")
            #expect(try await client.get("/readyz").text == "ok")
            await server.stop()
            #expect(try await watch.next() == nil, "stop ends open watches cleanly")
            // AsyncHTTPClient retries a refused connection until the deadline, so keep it short.
            await #expect(throws: (any Error).self) {
                _ = try await client.send(.GET, "/readyz", timeout: .milliseconds(300))
            }
        } catch {
            await server.stop()
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
