import KubeCore
import SriovTestKit
import Testing

/// The fake API server's storage semantics, checked over HTTP. Expected bodies and messages were
/// taken from kube-apiserver v1.20.2 answering the same requests.
@Suite("FakeAPIServer", .timeLimit(.minutes(1)))
struct FakeAPIServerTests {
    private let cms = fakeConfigMapsPath

    @Test("create, get, update and delete a ConfigMap; 404 and 409 are metav1.Status bodies")
    func crud() async throws {
        try await withFakeServerClient { server, client in
            let created = try await client.post(self.cms, fakeConfigMap("a"))
            #expect(created.status == 201)
            #expect(created.meta("namespace") == "default")
            #expect(created.meta("uid")?.count == 36)
            #expect(created.meta("creationTimestamp")?.hasSuffix("Z") == true)
            #expect(created.json["metadata"]?["generation"] == nil, "ConfigMaps have no generation")
            let version = try #require(Int(created.meta("resourceVersion") ?? ""))
            #expect(version == server.resourceVersion)

            let fetched = try await client.get("\(self.cms)/a")
            #expect(fetched.status == 200)
            #expect(fetched.json == created.json)

            let duplicate = try await client.post(self.cms, fakeConfigMap("a"))
            #expect(duplicate.status == 409)
            #expect(
                duplicate.text
                    == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"a\" already exists","reason":"AlreadyExists","details":{"name":"a","kind":"configmaps"},"code":409}"#
                    + "\n"
            )

            var changed = created.json
            changed = Self.setting(changed, ["data", "k"], "w")
            let updated = try await client.put("\(self.cms)/a", changed)
            #expect(updated.status == 200)
            #expect(updated.json["data"]?["k"] == "w")
            #expect(Int(updated.meta("resourceVersion") ?? "") == version + 1)

            let deleted = try await client.delete("\(self.cms)/a")
            #expect(deleted.status == 200)
            #expect(deleted.json["status"] == "Success")
            #expect(deleted.json["details"]?["uid"]?.stringValue == created.meta("uid"))

            let missing = try await client.get("\(self.cms)/a")
            #expect(missing.status == 404)
            #expect(
                missing.text
                    == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"a\" not found","reason":"NotFound","details":{"name":"a","kind":"configmaps"},"code":404}"#
                    + "\n"
            )
            #expect(try await client.put("\(self.cms)/a", changed).status == 404)
            #expect(try await client.delete("\(self.cms)/a").status == 404)
        }
    }

    @Test("create checks namespace, name and resourceVersion like the real server")
    func createValidation() async throws {
        try await withFakeServerClient { server, client in
            let noNamespace = try await client.post("/api/v1/namespaces/nope/configmaps", fakeConfigMap("a"))
            #expect(noNamespace.status == 404)
            #expect(noNamespace.json["message"] == #"namespaces "nope" not found"#)

            var wrongNamespace = fakeConfigMap("a")
            wrongNamespace = Self.setting(wrongNamespace, ["metadata", "namespace"], "other")
            #expect(try await client.post(self.cms, wrongNamespace).status == 400)

            let noName = try await client.post(self.cms, ["metadata": [:]])
            #expect(noName.status == 422)
            #expect(
                noName.json["message"]
                    == #"ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required"#
            )

            let withVersion = try await client.post(
                self.cms,
                Self.setting(fakeConfigMap("a"), ["metadata", "resourceVersion"], "5")
            )
            #expect(withVersion.status == 500)
            #expect(withVersion.json["reason"] == nil)
            #expect(withVersion.json["message"] == "resourceVersion should not be set on objects to be created")

            let badName = try await client.post(self.cms, fakeConfigMap("Bad_Name"))
            #expect(badName.status == 422)
            #expect(
                badName.json["message"]?.stringValue?.hasPrefix(
                    #"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#
                ) == true
            )
            let badNamespace = try await client.post("/api/v1/namespaces", ["metadata": ["name": "a.b"]])
            #expect(badNamespace.json["message"]?.stringValue?.contains("RFC 1123 label") == true)

            let generated = try await client.post(self.cms, ["metadata": ["generateName": "gen-"]])
            #expect(generated.status == 201)
            let name = try #require(generated.meta("name"))
            #expect(name.hasPrefix("gen-") && name.count == 9)
            #expect(generated.json["kind"] == "ConfigMap" && generated.json["apiVersion"] == "v1")
            #expect(server.object(path: "\(self.cms)/\(name)") != nil)
        }
    }

    @Test(
        "scope: cluster routes of namespaced resources only list, and cluster-scoped resources have no namespaced route"
    )
    func scope() async throws {
        try await withFakeServerClient { _, client in
            #expect(try await client.post("/api/v1/nodes", ["metadata": ["name": "worker-0"]]).status == 201)
            #expect(try await client.get("/api/v1/nodes/worker-0").status == 200)
            #expect(try await client.get("/api/v1/namespaces/default/nodes").status == 404)
            #expect(try await client.post("/api/v1/configmaps", fakeConfigMap("a")).status == 405)
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)
            let everywhere = try await client.get("/api/v1/configmaps")
            #expect(everywhere.names == ["a"])
            #expect(try await client.get("/readyz").text == "ok")
            #expect(try await client.post("/api/v1/namespaces", ["metadata": ["name": "sriov"]]).status == 201)
            #expect(try await client.get("/api/v1/namespaces/sriov").json["status"]?["phase"] == "Active")
            #expect(try await client.post("/api/v1/namespaces/sriov/configmaps", fakeConfigMap("a")).status == 201)
            #expect(try await client.delete("/api/v1/namespaces/sriov").status == 200)
            #expect(try await client.get("/api/v1/namespaces/sriov").status == 404)
        }
    }

    @Test("generation starts at 1 and is bumped only by spec changes; a no-op update is not a write")
    func generation() async throws {
        try await withFakeServerClient { server, client in
            let created = try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 4))
            #expect(created.json["metadata"]?["generation"] == 1)
            var object = created.json

            object = Self.setting(object, ["metadata", "labels"], ["team": "net"])
            let relabelled = try await client.put("\(fakePoliciesPath)/p", object)
            #expect(relabelled.json["metadata"]?["generation"] == 1)
            #expect(relabelled.meta("resourceVersion") != created.meta("resourceVersion"))

            object = Self.setting(relabelled.json, ["spec", "numVfs"], 8)
            let respecced = try await client.put("\(fakePoliciesPath)/p", object)
            #expect(respecced.json["metadata"]?["generation"] == 2)

            let before = server.resourceVersion
            let noop = try await client.put("\(fakePoliciesPath)/p", respecced.json)
            #expect(noop.status == 200)
            #expect(noop.meta("resourceVersion") == respecced.meta("resourceVersion"))
            #expect(server.resourceVersion == before)
        }
    }

    @Test("optimistic concurrency: a stale resourceVersion is 409, and custom resources need one on PUT")
    func optimisticConcurrency() async throws {
        try await withFakeServerClient { _, client in
            let created = try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 4))
            let version = try #require(created.meta("resourceVersion"))
            #expect(
                try await client.put("\(fakePoliciesPath)/p", fakePolicy("p", numVfs: 5, resourceVersion: version))
                    .status == 200
            )

            let stale = try await client.put(
                "\(fakePoliciesPath)/p",
                fakePolicy("p", numVfs: 6, resourceVersion: version)
            )
            #expect(stale.status == 409)
            #expect(stale.json["reason"] == "Conflict")
            #expect(
                stale.json["message"]
                    == #"Operation cannot be fulfilled on sriovnetworknodepolicies.sriovnetwork.openshift.io "p": the object has been modified; please apply your changes to the latest version and try again"#
            )
            #expect(
                stale.json["details"] == [
                    "group": "sriovnetwork.openshift.io", "kind": "sriovnetworknodepolicies", "name": "p",
                ]
            )

            let unconditional = try await client.put("\(fakePoliciesPath)/p", fakePolicy("p", numVfs: 6))
            #expect(unconditional.status == 422)
            #expect(
                unconditional.json["message"]
                    == #"sriovnetworknodepolicies.sriovnetwork.openshift.io "p" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"#
            )
            // Built-in resources accept an unconditional update.
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)
            #expect(try await client.put("\(self.cms)/a", fakeConfigMap("a", data: ["k": "2"])).status == 200)
        }
    }

    @Test("status subresource: the main resource ignores status, /status takes only status, create drops it")
    func statusSubresource() async throws {
        try await withFakeServerClient { _, client in
            let path = "\(fakePoliciesPath)/p"
            let withStatus = Self.setting(fakePolicy("p", numVfs: 4), ["status"], ["phase": "Ready"])
            let created = try await client.post(fakePoliciesPath, withStatus)
            #expect(created.json["status"] == nil)

            var object = Self.setting(created.json, ["status"], ["phase": "Ready"])
            object = Self.setting(object, ["spec", "numVfs"], 8)
            let main = try await client.put(path, object)
            #expect(main.json["status"] == nil)
            #expect(main.json["spec"]?["numVfs"] == 8)

            object = Self.setting(main.json, ["status"], ["phase": "Ready"])
            object = Self.setting(object, ["spec", "numVfs"], 16)
            let status = try await client.put(path + "/status", object)
            #expect(status.status == 200)
            #expect(status.json["status"]?["phase"] == "Ready")
            #expect(status.json["spec"]?["numVfs"] == 8)
            #expect(status.json["metadata"]?["generation"] == 2)

            let patched = try await client.patch(
                path + "/status",
                #"{"status":{"phase":"Failed"},"spec":{"numVfs":1}}"#,
                "application/merge-patch+json"
            )
            #expect(patched.json["status"]?["phase"] == "Failed")
            #expect(patched.json["spec"]?["numVfs"] == 8)

            // ConfigMaps have no status subresource.
            #expect(try await client.post(self.cms, fakeConfigMap("a")).status == 201)
            #expect(try await client.get("\(self.cms)/a/status").status == 404)
        }
    }

    @Test("merge, JSON, strategic and apply patches")
    func patches() async throws {
        try await withFakeServerClient { _, client in
            let path = "\(self.cms)/a"
            #expect(try await client.post(self.cms, fakeConfigMap("a", data: ["k": "v", "x": "1"])).status == 201)

            let merged = try await client.patch(path, #"{"data":{"x":null,"y":"2"}}"#, "application/merge-patch+json")
            #expect(merged.status == 200)
            #expect(merged.json["data"] == ["k": "v", "y": "2"])

            let jsonPatched = try await client.patch(
                path,
                #"[{"op":"test","path":"/data/k","value":"v"},{"op":"replace","path":"/data/k","value":"w"},{"op":"add","path":"/metadata/labels","value":{"a/b":"c"}},{"op":"remove","path":"/data/y"},{"op":"copy","from":"/data/k","path":"/data/z"}]"#,
                "application/json-patch+json"
            )
            #expect(jsonPatched.status == 200)
            #expect(jsonPatched.json["data"] == ["k": "w", "z": "w"])
            #expect(jsonPatched.json["metadata"]?["labels"]?["a/b"] == "c")

            let failedTest = try await client.patch(
                path,
                #"[{"op":"test","path":"/data/k","value":"nope"}]"#,
                "application/json-patch+json"
            )
            #expect(failedTest.status == 422)
            #expect(failedTest.json["message"] == "the server rejected our request due to an error in our request")

            let staleVersion = try await client.patch(
                path,
                #"{"metadata":{"resourceVersion":"1"}}"#,
                "application/merge-patch+json"
            )
            #expect(staleVersion.status == 409)

            let strategic = try await client.patch(
                path,
                #"{"data":{"s":"1"}}"#,
                "application/strategic-merge-patch+json"
            )
            #expect(strategic.json["data"]?["s"] == "1")
            #expect(try await client.patch(path, "{}", "text/plain").status == 415)

            #expect(try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 4)).status == 201)
            let strategicOnCR = try await client.patch(
                "\(fakePoliciesPath)/p",
                "{}",
                "application/strategic-merge-patch+json"
            )
            #expect(strategicOnCR.status == 415)

            let unnamed = try await client.patch(
                "\(self.cms)/x?fieldManager=test",
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}",
                "application/apply-patch+yaml"
            )
            #expect(unnamed.status == 400)
            let apply = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n"
            let noManager = try await client.patch("\(self.cms)/applied", apply, "application/apply-patch+yaml")
            #expect(noManager.status == 422)
            let applied = try await client.patch(
                "\(self.cms)/applied?fieldManager=test",
                apply,
                "application/apply-patch+yaml"
            )
            #expect(applied.status == 201)
            #expect(applied.json["data"] == ["a": "1"])
            let reapplied = try await client.patch(
                "\(self.cms)/applied?fieldManager=test",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  b: \"2\"\n",
                "application/apply-patch+yaml"
            )
            #expect(reapplied.status == 200)
            #expect(reapplied.json["data"] == ["a": "1", "b": "2"])
        }
    }

    @Test("finalizers: DELETE sets deletionTimestamp, removing the last finalizer deletes")
    func finalizers() async throws {
        try await withFakeServerClient { server, client in
            let path = "\(self.cms)/f"
            let body = Self.setting(fakeConfigMap("f"), ["metadata", "finalizers"], ["sriov/cleanup"])
            #expect(try await client.post(self.cms, body).status == 201)

            let marked = try await client.delete(path)
            #expect(marked.status == 200)
            #expect(marked.json["kind"] == "ConfigMap")
            #expect(marked.meta("deletionTimestamp") != nil)
            #expect(marked.json["metadata"]?["deletionGracePeriodSeconds"] == 0)
            let again = try await client.delete(path)
            #expect(again.meta("resourceVersion") == marked.meta("resourceVersion"))

            let added = try await client.patch(
                path,
                #"{"metadata":{"finalizers":["sriov/cleanup","other"]}}"#,
                "application/merge-patch+json"
            )
            #expect(added.status == 422)
            #expect(added.json["details"]?["causes"]?.arrayValue?.first?["reason"] == "FieldValueForbidden")

            let removed = try await client.patch(
                path,
                #"{"metadata":{"finalizers":null}}"#,
                "application/merge-patch+json"
            )
            #expect(removed.status == 200)
            #expect(try await client.get(path).status == 404)
            #expect(server.object(path: path) == nil)
        }
    }

    @Test("starting a graceful deletion bumps generation; creating over a deleting object says so")
    func deletionOfCustomResource() async throws {
        try await withFakeServerClient { _, client in
            let path = "\(fakePoliciesPath)/p"
            #expect(try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 1)).status == 201)
            let marked = try await client.delete(path, ["propagationPolicy": "Foreground"])
            #expect(marked.json["metadata"]?["finalizers"] == ["foregroundDeletion"])
            #expect(marked.json["metadata"]?["generation"] == 2)
            let recreate = try await client.post(fakePoliciesPath, fakePolicy("p", numVfs: 1))
            #expect(recreate.status == 409)
            #expect(
                recreate.json["message"]
                    == #"object is being deleted: sriovnetworknodepolicies.sriovnetwork.openshift.io "p" already exists"#
            )
            let removed = try await client.patch(
                path,
                #"[{"op":"remove","path":"/metadata/finalizers"}]"#,
                "application/json-patch+json"
            )
            #expect(removed.status == 200)
            let gone = try await client.get(path)
            #expect(gone.status == 404)
            #expect(
                gone.json["details"] == [
                    "group": "sriovnetwork.openshift.io", "kind": "sriovnetworknodepolicies", "name": "p",
                ]
            )
        }
    }

    @Test("DELETE preconditions on uid and resourceVersion")
    func deletePreconditions() async throws {
        try await withFakeServerClient { _, client in
            let created = try await client.post(self.cms, fakeConfigMap("a"))
            let wrongUID = try await client.delete("\(self.cms)/a", ["preconditions": ["uid": "abc"]])
            #expect(wrongUID.status == 409)
            #expect(
                wrongUID.json["message"]?.stringValue?.hasPrefix(
                    #"Operation cannot be fulfilled on ConfigMap "a": the UID in the precondition (abc)"#
                ) == true
            )
            #expect(try await client.delete("\(self.cms)/a", ["preconditions": ["resourceVersion": "1"]]).status == 409)
            let ok = try await client.delete(
                "\(self.cms)/a",
                ["preconditions": ["uid": created.json["metadata"]?["uid"] ?? .null]]
            )
            #expect(ok.status == 200)
        }
    }

    static func setting(_ value: JSONValue, _ path: [String], _ newValue: JSONValue) -> JSONValue {
        guard let key = path.first else { return newValue }
        var object = value.objectValue ?? JSONObject()
        object[key] = self.setting(object[key] ?? .null, Array(path.dropFirst()), newValue)
        return .object(object)
    }
}
