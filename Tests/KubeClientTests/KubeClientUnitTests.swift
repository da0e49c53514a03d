import Foundation
import KubeCore
import Testing

@testable import KubeClient
@testable import KubeRuntime

@Suite("JSON parser")
struct JSONParserTests {
    @Test("objects keep key order; numbers, escapes, unicode and nesting")
    func parses() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":[true,null,-2.5e1,"x\n\"\u00e9\ud83d\ude00"],"o":{}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "o"])
        #expect(value["z"] == 1)
        #expect(value["a"] == [true, nil, .double(-25), "x\n\"é😀"])
        #expect(value["o"] == .object(JSONObject()))
    }

    @Test(
        "round-trips through the Go encoder",
        arguments: [
            #"{"kind":"List","items":[{"a":"<b>"},{"n":12345678901}]}"#, #"[]"#, #""plain""#,
            #"{"nested":{"deep":[[[]]]}}"#,
        ]
    )
    func roundTrip(_ text: String) throws {
        let value = try JSONParser.parse(text)
        #expect(try JSONParser.parse(GoJSON.encode(value)) == value)
    }

    @Test("invalid JSON is an error with an offset", arguments: ["{", #"{"a" 1}"#, "[1,]", "tru", #""\x""#, "01x"])
    func invalid(_ text: String) {
        #expect(throws: GoJSONSyntaxError.self) { try JSONParser.parse(text) }
    }
}

@Suite("kubeconfig")
struct KubeConfigTests {
    func write(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("config").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("current context: server, CA data, client cert/key files relative to the file, namespace")
    func currentContext() throws {
        let path = try self.write(
            """
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
            - name: c1
              cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: "\(Data("CA".utf8).base64EncodedString())"}
            contexts:
            - name: dev
              context: {cluster: c1, user: u1, namespace: team}
            users:
            - name: u1
              user: {client-certificate: cert.pem, client-key: key.pem}
            """
        )
        let dir = (path as NSString).deletingLastPathComponent
        try "CERT".write(toFile: dir + "/cert.pem", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: dir + "/key.pem", atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(path: path)
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.caPEM == Array("CA".utf8))
        #expect(config.clientCertificatePEM == Array("CERT".utf8))
        #expect(config.clientKeyPEM == Array("KEY".utf8))
        #expect(config.namespace == "team")
    }

    @Test("token file is re-read on every request; insecure-skip-tls-verify")
    func tokenFile() throws {
        let path = try self.write(
            """
            current-context: x
            clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: true}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            users: [{name: u, user: {tokenFile: token}}]
            """
        )
        let tokenPath = (path as NSString).deletingLastPathComponent + "/token"
        try "first\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(path: path)
        #expect(config.insecureSkipTLSVerify)
        #expect(config.currentToken == "first")
        try "second".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        #expect(config.currentToken == "second")
    }

    @Test("errors name the file and what is missing")
    func errors() throws {
        let path = try self.write("current-context: nope\nclusters: []\ncontexts: []\nusers: []\n")
        #expect {
            try KubeConfig.load(path: path)
        } throws: { "\($0)".contains(#"contexts: no entry named "nope""#) && "\($0)".contains(path) }
        #expect(throws: KubeConfig.Error.self) { try KubeConfig.inCluster(environment: [:]) }
    }
}

@Suite("requests and errors")
struct KubeRequestTests {
    @Test("query values are percent-encoded")
    func escaping() {
        let request = KubeRequest(
            method: "GET",
            path: "/api/v1/nodes",
            query: [("labelSelector", "a=b,c in (x,y)"), ("limit", "500")],
            verb: "list",
            resource: "nodes"
        )
        #expect(request.target == "/api/v1/nodes?labelSelector=a%3Db%2Cc%20in%20%28x%2Cy%29&limit=500")
    }

    @Test("a Status body becomes a KubeError with reason, message, verb and resource")
    func statusError() {
        let body = Array(
            #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes \"x\" not found","reason":"NotFound","code":404}"#
                .utf8
        )
        let error = KubeError.from(status: 404, body: body, verb: "get", resource: "nodes x", retryAfter: nil)
        #expect(error.isNotFound)
        #expect(error.description == #"get nodes x: 404 NotFound: nodes "x" not found"#)
        #expect(KubeError(status: 409, reason: "AlreadyExists", message: "", verb: "", resource: "").isAlreadyExists)
        #expect(!KubeError(status: 409, reason: "AlreadyExists", message: "", verb: "", resource: "").isConflict)
        #expect(KubeError(status: 200, reason: "Expired", message: "", verb: "", resource: "").isGone)
    }

    @Test("watch lines decode into events; ERROR becomes a thrown 410")
    func watchLines() throws {
        let added = try Api<Node>.decodeWatchLine(
            Array(
                #"{"type":"ADDED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","resourceVersion":"7"},"status":{"x":1}}}"#
                    .utf8
            ),
            resource: "nodes"
        )
        guard case .added(let node)? = added else {
            Issue.record("expected ADDED")
            return
        }
        #expect(node.metadata.name == "n1")
        let bookmark = try Api<Node>.decodeWatchLine(
            Array(#"{"type":"BOOKMARK","object":{"kind":"Node","metadata":{"resourceVersion":"12"}}}"#.utf8),
            resource: "nodes"
        )
        guard case .bookmark(let version)? = bookmark else {
            Issue.record("expected BOOKMARK")
            return
        }
        #expect(version == "12")
        #expect {
            _ = try Api<Node>.decodeWatchLine(
                Array(
                    #"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}}"#
                        .utf8
                ),
                resource: "nodes"
            )
        } throws: { ($0 as? KubeError)?.isGone == true }
    }

    @Test("paths for core, group, namespaced, cluster-scoped and subresources")
    func paths() {
        let client = KubeClient(transport: NoTransport())
        #expect(client.api(Node.self).path("n1") == "/api/v1/nodes/n1")
        #expect(
            client.api(ConfigMap.self, namespace: "ns").path("c", subresource: nil)
                == "/api/v1/namespaces/ns/configmaps/c"
        )
        #expect(client.api(Lease.self, namespace: "ns").path() == "/apis/coordination.k8s.io/v1/namespaces/ns/leases")
    }
}

struct NoTransport: KubeTransport {
    func send(_ request: KubeRequest, timeout: Duration) async throws -> KubeResponse {
        KubeResponse(status: 500, body: [])
    }
    func stream(
        _ request: KubeRequest,
        headTimeout: Duration,
        idleTimeout: Duration,
        maxLineBytes: Int,
        onLine: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {}
    func shutdown() async throws {}
}

@Suite("Work queue")
struct WorkQueueTests {
    @Test("keys are de-duplicated; a key added while in flight is handed out again after done")
    func dedupe() async {
        let queue = WorkQueue<String>()
        await queue.add("a")
        await queue.add("a")
        await queue.add("b")
        #expect(await queue.next() == "a")
        await queue.add("a")  // in flight: marked dirty
        #expect(await queue.next() == "b")
        await queue.done("a")
        #expect(await queue.next() == "a")
    }

    @Test("delayed keys come out after their delay; backoff grows per failure and resets on forget")
    func delays() async throws {
        let queue = WorkQueue<String>(baseDelay: .milliseconds(10), maxDelay: .seconds(1))
        await queue.add("x", after: .milliseconds(30))
        #expect(await queue.pendingCount == 1)
        try await Task.sleep(for: .milliseconds(60))
        #expect(await queue.next() == "x")
        await queue.done("x")
        await queue.addRateLimited("y")
        await queue.addRateLimited("y")
        #expect(await queue.failures["y"] == 2)
        await queue.forget("y")
        #expect(await queue.failures["y"] == nil)
    }

    @Test("shut down releases waiting workers")
    func shutdown() async {
        let queue = WorkQueue<Int>()
        async let waiting = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        await queue.shutDown()
        #expect(await waiting == nil)
    }
}
