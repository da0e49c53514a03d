import KubeCore

/// A `metav1.Status` failure, with the codes, reasons and messages the real API server uses
/// (k8s.io/apimachinery/pkg/api/errors).
struct APIStatus: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var details: JSONObject?
    /// Sent as `Retry-After` (and `details.retryAfterSeconds`) for 429 and 5xx faults.
    var retryAfterSeconds: Int?

    var json: JSONValue {
        var object: JSONObject = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(self.message),
        ]
        // An error that is not an API status (reason Unknown) has no `reason` on the wire.
        if !self.reason.isEmpty { object["reason"] = .string(self.reason) }
        if var details = self.details {
            if let retryAfterSeconds { details["retryAfterSeconds"] = .int(retryAfterSeconds) }
            object["details"] = .object(details)
        } else if let retryAfterSeconds {
            object["details"] = .object(["retryAfterSeconds": .int(retryAfterSeconds)])
        }
        object["code"] = .int(self.code)
        return .object(object)
    }

    /// `StatusDetails` naming an object: `{"name":…,"group":…,"kind":<plural>}` (the server puts the
    /// resource, not the kind, in `kind`).
    static func details(_ type: ResourceType, name: String) -> JSONObject {
        var details: JSONObject = ["name": .string(name)]
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        details["kind"] = .string(type.plural)
        return details
    }

    static func notFound(_ type: ResourceType, name: String) -> APIStatus {
        APIStatus(
            code: 404,
            reason: "NotFound",
            message: "\(type) \"\(name)\" not found",
            details: self.details(type, name: name)
        )
    }

    static func alreadyExists(_ type: ResourceType, name: String) -> APIStatus {
        APIStatus(
            code: 409,
            reason: "AlreadyExists",
            message: "\(type) \"\(name)\" already exists",
            details: self.details(type, name: name)
        )
    }

    static func conflict(_ type: ResourceType, name: String, _ why: String) -> APIStatus {
        APIStatus(
            code: 409,
            reason: "Conflict",
            message: "Operation cannot be fulfilled on \(type) \"\(name)\": \(why)",
            details: self.details(type, name: name)
        )
    }

    static func staleResourceVersion(_ type: ResourceType, name: String) -> APIStatus {
        self.conflict(
            type,
            name: name,
            "the object has been modified; please apply your changes to the latest version and try again"
        )
    }

    /// 422 with one field cause, as `errors.NewInvalid` builds it: `ConfigMap "x" is invalid: field: detail`
    /// for built-in kinds, `plural.group "x" is invalid: …` for custom resources (whose registry names
    /// the resource where built-ins name the kind).
    static func invalid(
        kind: String,
        _ type: ResourceType,
        name: String,
        field: String,
        detail: String,
        causeReason: String = "FieldValueInvalid"
    ) -> APIStatus {
        let kindName = type.isBuiltIn ? kind : type.plural
        var details = JSONObject()
        if !name.isEmpty { details["name"] = .string(name) }
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        details["kind"] = .string(kindName)
        details["causes"] = [["reason": .string(causeReason), "message": .string(detail), "field": .string(field)]]
        let qualifiedKind = type.group.isEmpty ? kindName : "\(kindName).\(type.group)"
        return APIStatus(
            code: 422,
            reason: "Invalid",
            message: "\(qualifiedKind) \"\(name)\" is invalid: \(field): \(detail)",
            details: details
        )
    }

    /// A failed DELETE precondition, reported (by `rest.BeforeDelete`) against the kind, not the resource.
    static func preconditionFailed(kind: String, _ type: ResourceType, name: String, _ why: String) -> APIStatus {
        var details: JSONObject = ["name": .string(name)]
        if !type.group.isEmpty { details["group"] = .string(type.group) }
        details["kind"] = .string(kind)
        let qualifiedKind = type.group.isEmpty ? kind : "\(kind).\(type.group)"
        return APIStatus(
            code: 409,
            reason: "Conflict",
            message: "Operation cannot be fulfilled on \(qualifiedKind) \"\(name)\": \(why)",
            details: details
        )
    }

    static func badRequest(_ message: String) -> APIStatus {
        APIStatus(code: 400, reason: "BadRequest", message: message)
    }

    static func internalError(_ message: String) -> APIStatus {
        APIStatus(
            code: 500,
            reason: "InternalError",
            message: "Internal error occurred: \(message)",
            details: ["causes": [["message": .string(message)]]]
        )
    }

    static let pathNotFound = APIStatus(
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource",
        details: [:]
    )

    static let methodNotAllowed = APIStatus(
        code: 405,
        reason: "MethodNotAllowed",
        message: "the server does not allow this method on the requested resource",
        details: [:]
    )

    static func unsupportedMediaType() -> APIStatus {
        APIStatus(
            code: 415,
            reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: "
                + "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        )
    }

    /// The watch `ERROR` object for a resourceVersion older than the event history (HTTP 410 semantics).
    static func expired(_ message: String) -> APIStatus {
        APIStatus(code: 410, reason: "Expired", message: message)
    }

    /// The reason the server uses for an HTTP status code (`NewGenericServerResponse`).
    static func reason(forCode code: Int) -> String {
        switch code {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 415: return "UnsupportedMediaType"
        case 422: return "Invalid"
        case 429: return "TooManyRequests"
        case 503: return "ServiceUnavailable"
        case 504: return "Timeout"
        default: return "InternalError"
        }
    }

    /// The message `NewGenericServerResponse` uses for an injected status code.
    static func genericMessage(forCode code: Int) -> String {
        switch code {
        case 409: return "the server reported a conflict"
        case 429: return "Too many requests, please try again later."
        case 503: return "the server is currently unable to handle the request"
        case 504:
            return
                "the server was unable to return a response in the time allotted, but may still be processing the request"
        case 500: return "an error on the server (\"injected fault\") has prevented the request from succeeding"
        default: return "injected fault (HTTP \(code))"
        }
    }
}
