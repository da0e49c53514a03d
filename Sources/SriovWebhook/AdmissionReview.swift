import Foundation
public import KubeCore

/// The part of an `admission.k8s.io` AdmissionReview request a webhook acts on.
///
/// Both `admission.k8s.io/v1` and `v1beta1` carry the same request fields; the answer goes back in the
/// version it came in (``AdmissionReviewCodec``).
public struct AdmissionRequest: Sendable, Hashable {
    public var uid: String
    /// `request.kind`: the kind of the object under admission, e.g. `SriovNetworkNodePolicy`.
    public var kind: String
    public var group: String
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    public var operation: String
    /// `request.namespace`: set by the API server even when the object's own metadata lacks it (a Pod
    /// created from a ReplicaSet template).
    public var namespace: String
    public var name: String
    public var object: JSONValue?
    public var oldObject: JSONValue?

    public init(
        uid: String,
        kind: String,
        group: String = "",
        operation: String,
        namespace: String = "",
        name: String = "",
        object: JSONValue? = nil,
        oldObject: JSONValue? = nil
    ) {
        self.uid = uid
        self.kind = kind
        self.group = group
        self.operation = operation
        self.namespace = namespace
        self.name = name
        self.object = object
        self.oldObject = oldObject
    }

    public var isDelete: Bool { self.operation == "DELETE" }
}

/// A webhook's answer. A denial's text goes into `status.message` and `status.reason` (upstream puts it in
/// `reason`; the API server prints either as `admission webhook "…" denied the request: <text>`).
public struct AdmissionResponse: Sendable, Hashable {
    public var allowed: Bool
    /// The reason of a denial, or upstream's informational message on an admission (the injector's
    /// "Pod spec doesn't have network annotations. Skipping...").
    public var message: String
    /// JSONPatch operations (RFC 6902); nil for no patch.
    public var patch: [JSONValue]?
    public var warnings: [String]

    public init(allowed: Bool, message: String = "", patch: [JSONValue]? = nil, warnings: [String] = []) {
        self.allowed = allowed
        self.message = message
        self.patch = patch
        self.warnings = warnings
    }

    public static func allow(_ message: String = "", warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(allowed: true, message: message, warnings: warnings)
    }

    public static func deny(_ message: String, warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(allowed: false, message: message, warnings: warnings)
    }
}

/// Why a request body is not an AdmissionReview we answer; the server turns it into an HTTP 400.
public struct AdmissionReviewError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}

/// Reads and writes AdmissionReview JSON, `admission.k8s.io/v1` and `v1beta1`.
public enum AdmissionReviewCodec {
    public static let supportedAPIVersions = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]

    /// Parses a request body into the review's apiVersion and its request.
    /// - Throws: ``AdmissionReviewError`` when the body is not JSON, not an object, of another kind or
    ///   version, or has no `request.uid`.
    public static func decode(
        _ body: some Collection<UInt8>
    ) throws(AdmissionReviewError) -> (apiVersion: String, request: AdmissionRequest) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw AdmissionReviewError("request could not be decoded: \(error)")
        }
        guard case .object = value else {
            throw AdmissionReviewError("request could not be decoded: expected a JSON object, got \(value.typeName)")
        }
        let apiVersion = value["apiVersion"]?.stringValue ?? ""
        let kind = value["kind"]?.stringValue ?? ""
        guard kind == "AdmissionReview", Self.supportedAPIVersions.contains(apiVersion) else {
            throw AdmissionReviewError(
                "unsupported group version kind: \(GoJSON.quote(apiVersion)) \(GoJSON.quote(kind)), expected "
                    + "AdmissionReview of \(Self.supportedAPIVersions.joined(separator: " or "))"
            )
        }
        guard let request = value["request"], case .object = request else {
            throw AdmissionReviewError("AdmissionReview has no request")
        }
        guard let uid = request["uid"]?.stringValue, !uid.isEmpty else {
            throw AdmissionReviewError("AdmissionReview request has no uid")
        }
        func object(_ key: String) -> JSONValue? {
            guard let found = request[key], case .object = found else { return nil }
            return found
        }
        return (
            apiVersion,
            AdmissionRequest(
                uid: uid,
                kind: request["kind"]?["kind"]?.stringValue ?? "",
                group: request["kind"]?["group"]?.stringValue ?? "",
                operation: request["operation"]?.stringValue ?? "",
                namespace: request["namespace"]?.stringValue ?? "",
                name: request["name"]?.stringValue ?? "",
                object: object("object"),
                oldObject: object("oldObject")
            )
        )
    }

    /// The AdmissionReview answering `uid` in `apiVersion`.
    public static func encode(_ response: AdmissionResponse, uid: String, apiVersion: String) -> String {
        var body: JSONObject = ["uid": .string(uid), "allowed": .bool(response.allowed)]
        if !response.message.isEmpty {
            var status: JSONObject = ["message": .string(response.message)]
            if !response.allowed {
                status["reason"] = .string(response.message)
                status["code"] = 403
            }
            body["status"] = .object(status)
        }
        if let patch = response.patch {
            body["patchType"] = "JSONPatch"
            body["patch"] = .string(Data(GoJSON.encode(.array(patch)).utf8).base64EncodedString())
        }
        if !response.warnings.isEmpty {
            body["warnings"] = .array(response.warnings.map { .string($0) })
        }
        let review: JSONValue = [
            "apiVersion": .string(apiVersion), "kind": "AdmissionReview", "response": .object(body),
        ]
        return GoJSON.encode(review)
    }
}

/// RFC 6901 escaping of one JSON Pointer segment (`~` → `~0`, `/` → `~1`).
func jsonPointerSegment(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
}

/// One JSONPatch `add` operation.
func addOperation(_ path: String, _ value: JSONValue) -> JSONValue {
    ["op": "add", "path": .string(path), "value": value]
}
