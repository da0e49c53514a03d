import KubeCore
import SriovAPI
import SriovRender

/// The operator's webhooks: `/validating-custom-resource` and `/mutating-custom-resource`.
///
/// Validation calls ``SriovRender/AdmissionValidator`` (the same rules `sriov validate` runs offline)
/// against the ``ClusterView``; the first error is the denial (upstream stops at it), warnings are returned
/// with the answer either way. DELETE follows upstream: policies and the operator config may always be
/// deleted (a policy outside the operator namespace still gets its warning), a pool config is checked as
/// it was, the network kinds are not checked.
///
/// Upstream: pkg/webhook/webhook.go ValidateCustomResource, MutateCustomResource.
public struct OperatorAdmission: Sendable {
    public let settings: WebhookSettings
    public let cluster: any ClusterView

    public init(settings: WebhookSettings, cluster: any ClusterView) {
        self.settings = settings
        self.cluster = cluster
    }

    // MARK: Validating

    public func validate(_ request: AdmissionRequest) -> AdmissionResponse {
        guard let object = request.isDelete ? request.oldObject : request.object else {
            return .allow()
        }
        do {
            switch request.kind {
            case SriovNetworkNodePolicy.kind:
                var policy = try Self.decode(SriovNetworkNodePolicy.self, object)
                if request.isDelete { return self.policyDeletion(policy) }
                // The mutating webhook has run before us when it is installed; apply the same defaults
                // when it is not, so the checks see what will be stored.
                policy.applyAdmissionDefaults()
                return Self.answer(self.cluster.validator(settings: self.settings).validate(policy: policy))
            case SriovOperatorConfig.kind:
                if request.isDelete { return .allow() }
                let config = try Self.decode(SriovOperatorConfig.self, object)
                var validator = self.cluster.validator(settings: self.settings)
                // The previous value for the disableDrain transition: the object being replaced.
                if let old = request.oldObject {
                    validator.operatorConfig = try Self.decode(SriovOperatorConfig.self, old)
                } else if request.operation == "CREATE" {
                    validator.operatorConfig = nil
                }
                return Self.answer(validator.validate(operatorConfig: config))
            case SriovNetworkPoolConfig.kind:
                let pool = try Self.decode(SriovNetworkPoolConfig.self, object)
                return Self.answer(self.cluster.validator(settings: self.settings).validate(poolConfig: pool))
            case SriovNetwork.kind:
                if request.isDelete { return .allow() }
                let network = try Self.decode(SriovNetwork.self, object)
                return Self.answer(self.cluster.validator(settings: self.settings).validate(network: network))
            case SriovIBNetwork.kind:
                if request.isDelete { return .allow() }
                let network = try Self.decode(SriovIBNetwork.self, object)
                return Self.answer(self.cluster.validator(settings: self.settings).validate(network: network))
            case OVSNetwork.kind:
                if request.isDelete { return .allow() }
                let network = try Self.decode(OVSNetwork.self, object)
                return Self.answer(self.cluster.validator(settings: self.settings).validate(network: network))
            default:
                return .allow()
            }
        } catch {
            return .deny("\(error)")
        }
    }

    func policyDeletion(_ policy: SriovNetworkNodePolicy) -> AdmissionResponse {
        let ns = self.settings.operatorNamespace
        guard policy.metadata.namespace != ns else { return .allow() }
        return .allow(
            warnings: [
                "\(policy.metadata.name) is created or updated but not used. Only policy in \(ns) namespace is respected."
            ]
        )
    }

    static func answer(_ findings: [Finding]) -> AdmissionResponse {
        let warnings = findings.filter { !$0.isError }.map(\.message)
        if let error = findings.first(where: \.isError) {
            return .deny(error.message, warnings: warnings)
        }
        return .allow(warnings: warnings)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ object: JSONValue) throws -> T {
        do {
            return try ValueDecoder(rejectsUnknownFields: false).decode(type, from: object)
        } catch {
            throw AdmissionReviewError("cannot decode \(T.self): \(error)")
        }
    }

    // MARK: Mutating

    /// Policy defaults as a JSONPatch, computed on the raw object so that only absent keys are added:
    /// `/spec/priority` 99, `/spec/isRdma` false, and `/spec/isRdma` true for an InfiniBand policy that is not
    /// vfio-pci. The policy named `default`, other kinds and objects without a `spec` get no patch.
    ///
    /// Upstream: pkg/webhook/mutate.go mutateSriovNetworkNodePolicy (the same operations in the same order).
    public func mutate(_ request: AdmissionRequest) -> AdmissionResponse {
        guard request.kind == SriovNetworkNodePolicy.kind, let object = request.object else { return .allow() }
        guard object["metadata"]?["name"]?.stringValue != "default" else { return .allow() }
        guard case .object(let spec) = object["spec"] else { return .allow() }
        var patch: [JSONValue] = []
        if spec["priority"] == nil { patch.append(addOperation("/spec/priority", 99)) }
        if spec["isRdma"] == nil { patch.append(addOperation("/spec/isRdma", false)) }
        if let linkType = spec["linkType"]?.stringValue, linkType.lowercased() == "ib" {
            let deviceType = spec["deviceType"]?.stringValue ?? ""
            if deviceType.lowercased() != "vfio-pci" { patch.append(addOperation("/spec/isRdma", true)) }
        }
        return AdmissionResponse(allowed: true, patch: patch)
    }
}
