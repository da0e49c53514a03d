import KubeCore
import SriovTestKit
import Testing

/// Lists: selectors, pagination, list metadata; and the direct-access API.
@Suite("FakeAPIServer lists", .timeLimit(.minutes(1)))
struct FakeAPIServerQueryTests {
    private let cms = fakeConfigMapsPath

    static let selectorCases: [(selector: String, names: [String])] = [
        ("app=nic", ["a", "b"]),
        ("app==nic", ["a", "b"]),
        ("app!=nic", ["c", "d"]),
        ("app", ["a", "b", "c"]),
        ("!app", ["d"]),
        ("app in (nic,dp)", ["a", "b", "c"]),
        ("app notin (nic)", ["c", "d"]),
        ("app=nic,tier=gold", ["a"]),
        ("app in (nic, dp),!tier", ["b", "c"]),
        ("", ["a", "b", "c", "d"]),
    ]

    @Test("label selectors", arguments: Self.selectorCases)
    func labelSelector(_ selector: String, _ names: [String]) async throws {
        try await withFakeServerClient { _, client in
            for (name, labels) in [
                ("a", ["app": "nic", "tier": "gold"]), ("b", ["app": "nic"]), ("c", ["app": "dp"]), ("d", [:]),
            ] {
                #expect(try await client.post(self.cms, fakeConfigMap(name, labels: labels)).status == 201)
            }
            let encoded = selector.addingPercentEncodingForQuery()
            let list = try await client.get("\(self.cms)?labelSelector=\(encoded)")
            #expect(list.status == 200)
            #expect(list.names == names, "selector \(selector)")
        }
    }

    @Test("field selectors on metadata.name and metadata.namespace; other fields are 400")
    func fieldSelector() async throws {
        try await withFakeServerClient { _, client in
            #expect(try await client.post("/api/v1/namespaces", ["metadata": ["name": "other"]]).status == 201)
            for namespace in ["default", "other"] {
                for name in ["a", "b"] {
                    let path = "/api/v1/namespaces/\(namespace)/configmaps"
                    #expect(try await client.post(path, fakeConfigMap(name)).status == 201)
                }
            }
            let byName = try await client.get("/api/v1/configmaps?fieldSelector=metadata.name%3Da")
            #expect(byName.names == ["a", "a"])
            let byNamespace = try await client.get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dother")
            #expect(
                byNamespace.json["items"]?.arrayValue?.allSatisfy { $0["metadata"]?["namespace"] == "other" } == true
            )
            #expect(byNamespace.names.count == 2)
            let notA = try await client.get("\(self.cms)?fieldSelector=metadata.name!%3Da")
            #expect(notA.names == ["b"])
            let unknown = try await client.get("\(self.cms)?fieldSelector=spec.x%3D1")
            #expect(unknown.status == 400)
            #expect(
                unknown.json["message"]
                    == #""spec.x" is not a known field selector: only "metadata.name", "metadata.namespace""#
            )
            #expect(try await client.get("\(self.cms)?labelSelector=a+in+(b").status == 400)
        }
    }

    @Test("pagination with limit and continue, in name order, at the first page's resourceVersion")
    func pagination() async throws {
        try await withFakeServerClient { _, client in
            for name in ["e", "c", "a", "d", "b"] {
                #expect(try await client.post(self.cms, fakeConfigMap(name)).status == 201)
            }
            var names: [String] = []
            var token: String?
            var versions: Set<String> = []
            var pages = 0
            repeat {
                let query = token.map { "&continue=\($0)" } ?? ""
                let page = try await client.get("\(self.cms)?limit=2\(query)")
                #expect(page.status == 200)
                #expect(page.json["kind"] == "ConfigMapList")
                #expect(page.json["items"]?.arrayValue?.first?["kind"] == nil, "built-in list items carry no kind")
                names += page.names
                versions.insert(page.meta("resourceVersion") ?? "")
                token = page.meta("continue")
                if pages == 0 { #expect(page.json["metadata"]?["remainingItemCount"] == 3) }
                pages += 1
                if pages == 1 {
                    // Changes between pages do not move the list's resourceVersion.
                    #expect(try await client.post(self.cms, fakeConfigMap("z")).status == 201)
                }
            } while token != nil && pages < 10
            #expect(names == ["a", "b", "c", "d", "e", "z"])
            #expect(versions.count == 1)
            #expect(pages == 3)
            #expect(try await client.get("\(self.cms)?limit=2&continue=garbage").status == 400)
        }
    }

    @Test("custom resource lists carry kind on items")
    func customResourceList() async throws {
        try await withFakeServerClient { _, client in
            #expect(try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 1)).status == 201)
            let list = try await client.get(fakePoliciesPath)
            #expect(list.json["kind"] == "SriovNetworkNodePolicyList")
            #expect(list.json["apiVersion"] == "sriovnetwork.openshift.io/v1")
            #expect(list.json["items"]?.arrayValue?.first?["kind"] == "SriovNetworkNodePolicy")
        }
    }

    @Test("direct access: put seeds an object visible over HTTP; remove deletes it")
    func directAccess() async throws {
        try await withFakeServerClient { server, client in
            let stored = try server.put(["data": ["seeded": "yes"]], path: "\(self.cms)/seed")
            #expect(stored["kind"] == "ConfigMap")
            #expect(stored["metadata"]?["uid"] != nil)
            let fetched = try await client.get("\(self.cms)/seed")
            #expect(fetched.json["data"]?["seeded"] == "yes")
            #expect(server.objects(path: self.cms).count == 1)
            #expect(server.object(path: "\(self.cms)/seed")?["data"]?["seeded"] == "yes")
            #expect(server.remove(path: "\(self.cms)/seed") != nil)
            #expect(try await client.get("\(self.cms)/seed").status == 404)
            #expect(throws: FakeAPIServerError.self) { try server.put([:], path: "/nonsense") }
        }
    }
}

extension String {
    /// Percent-encodes a query value the way Go's `url.QueryEscape` does (space as `+`).
    fileprivate func addingPercentEncodingForQuery() -> String {
        var out = ""
        for byte in self.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }

    fileprivate var leftPadded: String { self.count == 1 ? "0" + self : self }
}
