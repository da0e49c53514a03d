import KubeCore
public import Logging

/// Routes one HTTP request to a webhook and turns its answer into an HTTP response.
///
/// Only `POST` of an `application/json` AdmissionReview (v1 or v1beta1) to one of ``Path`` is answered
/// (200 with an AdmissionReview). Everything else is refused without side effects: an unknown path 404, another
/// method 405, another content type 415, a body that is not an AdmissionReview (garbage, another kind or
/// version, no request uid) or bigger than ``WebhookSettings/maxBodyBytes`` 400.
public struct WebhookHandler: Sendable {
    public enum Path: String, Sendable, CaseIterable {
        case validating = "/validating-custom-resource"
        case mutating = "/mutating-custom-resource"
        case injector = "/mutate"
    }

    public struct HTTPAnswer: Sendable, Hashable {
        public var status: Int
        public var contentType: String
        public var body: String
    }

    public let settings: WebhookSettings
    public let operatorAdmission: OperatorAdmission
    public let injector: ResourceInjector
    public let logger: Logger

    public init(settings: WebhookSettings, cluster: any ClusterView, logger: Logger) {
        self.settings = settings
        self.operatorAdmission = OperatorAdmission(settings: settings, cluster: cluster)
        self.injector = ResourceInjector(settings: settings, cluster: cluster)
        self.logger = logger
    }

    /// Answers a request whose body has been read (at most ``WebhookSettings/maxBodyBytes``).
    public func respond(method: String, path: String, contentType: String?, body: [UInt8]) async -> HTTPAnswer {
        guard let route = Path(rawValue: path) else { return Self.text(404, "no webhook at \(path)") }
        guard method == "POST" else { return Self.text(405, "\(path) accepts only POST") }
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingWhitespace().lowercased() }
        guard mediaType == "application/json" else {
            return Self.text(415, "invalid Content-Type \(GoJSON.quote(contentType ?? "")), expected application/json")
        }
        let review: (apiVersion: String, request: AdmissionRequest)
        do {
            review = try AdmissionReviewCodec.decode(body)
        } catch {
            self.logger.debug("malformed admission review", metadata: ["http.path": "\(path)", "error": "\(error)"])
            return Self.text(400, error.message)
        }
        let request = review.request
        let response: AdmissionResponse
        switch route {
        case .validating: response = self.operatorAdmission.validate(request)
        case .mutating: response = self.operatorAdmission.mutate(request)
        case .injector: response = await self.injector.mutate(request)
        }
        var metadata: Logger.Metadata = [
            "http.path": "\(path)", "k8s.kind": "\(request.kind)", "k8s.namespace": "\(request.namespace)",
            "k8s.name": "\(request.name)", "admission.operation": "\(request.operation)",
            "admission.allowed": "\(response.allowed)",
        ]
        if !response.allowed { metadata["admission.reason"] = "\(response.message)" }
        self.logger.info("admission reviewed", metadata: metadata)
        return HTTPAnswer(
            status: 200,
            contentType: "application/json",
            body: AdmissionReviewCodec.encode(response, uid: request.uid, apiVersion: review.apiVersion)
        )
    }

    static func text(_ status: Int, _ message: String) -> HTTPAnswer {
        HTTPAnswer(status: status, contentType: "text/plain; charset=utf-8", body: message + "\n")
    }

    /// The answer to a body that exceeded the limit.
    public func tooLarge() -> HTTPAnswer {
        Self.text(400, "request body exceeds \(self.settings.maxBodyBytes) bytes")
    }
}
