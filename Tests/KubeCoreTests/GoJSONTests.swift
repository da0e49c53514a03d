import Testing

@testable import KubeCore

@Suite("Go-compatible JSON")
struct GoJSONTests {
    @Test("json.Marshal escaping: HTML-safe, control characters, U+2028")
    func escaping() {
        #expect(GoJSON.quote("a<b>&c") == #""a\u003cb\u003e\u0026c""#)
        #expect(GoJSON.quote("tab\there\nnl\u{01}") == #""tab\there\nnl\u0001""#)
        #expect(GoJSON.quote("line\u{2028}sep") == #""line\u2028sep""#)
        #expect(GoJSON.quote("quote\"back\\") == #""quote\"back\\""#)
        #expect(GoJSON.quote("ünïcode") == "\"ünïcode\"")
    }

    @Test("json.Indent: four spaces, \"k\": v, empty containers inline, insignificant whitespace dropped")
    func indent() throws {
        let input = #"{"a": {"foo":  "bar"}, "b":[], "c":{ }, "d":[1, {"e":null}]}"#
        #expect(
            try GoJSON.indent(input) == """
                {
                    "a": {
                        "foo": "bar"
                    },
                    "b": [],
                    "c": {},
                    "d": [
                        1,
                        {
                            "e": null
                        }
                    ]
                }
                """
        )
    }

    @Test("compact undoes indent")
    func compact() throws {
        let input = #"{"cniVersion":"1.0.0","plugins":[{"type":"sriov","vlan":0},{"type":"vrf"}],"x":-1.5e3}"#
        #expect(try GoJSON.compact(try GoJSON.indent(input)) == input)
    }

    @Test(
        "invalid JSON is rejected with an offset",
        arguments: [#"{"capabilities":foo}"#, #"{"a":1,}"#, "[1 2]", #"{"a""#, "", "01", #"{"a":1} x"#]
    )
    func invalid(_ text: String) {
        #expect(throws: GoJSONSyntaxError.self) { try GoJSON.indent(text) }
    }

    @Test("encode keeps key order and writes integers without a fraction")
    func encode() {
        let value: JSONValue = ["z": 1, "a": [true, nil, "s"], "m": ["k": .double(2.5)]]
        #expect(GoJSON.encode(value) == #"{"z":1,"a":[true,null,"s"],"m":{"k":2.5}}"#)
    }
}

@Suite("Strict value decoding")
struct ValueDecoderTests {
    struct Spec: Codable, Equatable {
        var numVfs: Int
        var resourceName: String
        @OmitEmpty var mtu: Int
        var pfNames: [String]?
        var labels: [String: String]?
    }

    @Test("an unknown field names its path and the closest known field")
    func unknownField() {
        let value: JSONValue = ["spec": ["numVfs": 1, "resourceName": "r", "mtuu": 9000]]
        struct Root: Codable { var spec: Spec }
        #expect {
            try ValueDecoder().decode(Root.self, from: value)
        } throws: { error in
            "\(error)" == "spec.mtuu: unknown field, did you mean mtu?"
        }
    }

    @Test("a typo of a required field is reported as the typo, not as a missing field")
    func typoOfRequired() {
        let value: JSONValue = ["numVF": 1, "resourceName": "r"]
        #expect {
            try ValueDecoder().decode(Spec.self, from: value)
        } throws: { error in
            "\(error)" == "numVF: unknown field, did you mean numVfs?"
        }
    }

    @Test("a wrong type names path, expected type and value, and suggests quoting")
    func typeMismatch() {
        #expect {
            try ValueDecoder().decode(Spec.self, from: ["numVfs": "eight", "resourceName": "r"])
        } throws: { error in
            "\(error)" == #"numVfs: expected integer, got string "eight""#
        }
        #expect {
            try ValueDecoder().decode(Spec.self, from: ["numVfs": 1, "resourceName": 8086])
        } throws: { error in
            "\(error)" == #"resourceName: expected string, got integer 8086 (quote it: "8086")"#
        }
        #expect {
            try ValueDecoder().decode(Spec.self, from: ["numVfs": 1, "resourceName": "r", "pfNames": ["a", 2]])
        } throws: { error in
            "\(error)".hasPrefix("pfNames[1]: expected string, got integer 2")
        }
    }

    @Test("a missing required field")
    func missing() {
        #expect {
            try ValueDecoder().decode(Spec.self, from: ["resourceName": "r"])
        } throws: { error in
            "\(error)" == "numVfs: required field is missing"
        }
    }

    @Test("omitempty fields decode absent as zero and are not encoded when zero; maps encode sorted")
    func omitEmpty() throws {
        let spec = try ValueDecoder().decode(
            Spec.self,
            from: ["numVfs": 0, "resourceName": "r", "labels": ["b": "2", "a": "1"]]
        )
        #expect(spec.mtu == 0)
        let encoded = try ValueEncoder().encode(spec)
        #expect(GoJSON.encode(encoded) == #"{"numVfs":0,"resourceName":"r","labels":{"a":"1","b":"2"}}"#)
    }

    @Test("edit distance suggestions only for plausible typos")
    func suggestions() {
        #expect(closestKey(to: "numVF", among: ["numVfs", "mtu"]) == "numVfs")
        #expect(closestKey(to: "completelydifferent", among: ["numVfs", "mtu"]) == nil)
    }
}
