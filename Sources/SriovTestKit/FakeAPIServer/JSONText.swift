import KubeCore

/// JSON in and out of the fake server: bodies are parsed with KubeCore's order-keeping ``JSONParser``
/// (Foundation's loses key order, and the YAML reader rejects top-level arrays, which JSON Patch
/// documents are); answers are Go-compact JSON.
enum JSONText {
    static func parse(_ text: String) throws(GoJSONSyntaxError) -> JSONValue {
        try JSONParser.parse(text)
    }

    /// Compact JSON of a value followed by the newline Go's `json.Encoder` writes, as the API server sends it.
    static func line(_ value: JSONValue) -> String {
        var out = GoJSON.encode(value)
        out += "\n"
        return out
    }
}
