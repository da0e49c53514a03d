import KubeCore
public import SriovAPI

extension AdmissionValidator {
    /// Validates a CREATE or UPDATE of a SriovNetworkPoolConfig.
    ///
    /// - A pool is either a drain pool (`nodeSelector`/`maxUnavailable`) or names an OVS hardware-offload
    ///   MachineConfigPool, never both.
    /// - `maxUnavailable` is an integer ≥ 0 or a string `"N%"` with N in 1…100.
    ///
    /// Upstream: pkg/webhook/validate.go validateSriovNetworkPoolConfig, and api/v1/helper.go
    /// SriovNetworkPoolConfig.MaxUnavailable for the `maxUnavailable` messages.
    public func validate(poolConfig pool: SriovNetworkPoolConfig) -> [Finding] {
        func finding(_ field: String, _ message: String) -> Finding {
            Finding(
                severity: .error,
                kind: SriovNetworkPoolConfig.kind,
                namespace: pool.metadata.namespace,
                name: pool.metadata.name,
                field: field,
                message: message
            )
        }
        var findings: [Finding] = []
        let offloadName = pool.spec.ovsHardwareOffloadConfig?.name ?? ""
        if !offloadName.isEmpty, pool.spec.nodeSelector != nil || pool.spec.maxUnavailable != nil {
            findings.append(
                finding(
                    "spec.ovsHardwareOffloadConfig",
                    "SriovNetworkPoolConfig can't have both parallel configuration and OvsHardwareOffloadConfig"
                )
            )
        }
        if let value = pool.spec.maxUnavailable,
            case .failure(let problem) = Self.scaledMaxUnavailable(value, nodeCount: 0)
        {
            findings.append(finding("spec.maxUnavailable", "invalid maxUnavailable: \(problem.message)"))
        }
        return findings
    }

    /// Why a `maxUnavailable` value is invalid, in upstream's words.
    struct MaxUnavailableProblem: Error, Equatable {
        var message: String
    }

    /// `maxUnavailable` as a number of nodes out of `nodeCount`: an integer as is, a percentage rounded
    /// down (so 30 % of 1 node is 0, an upstream quirk).
    ///
    /// Upstream: api/v1/helper.go SriovNetworkPoolConfig.MaxUnavailable (with
    /// intstr.GetScaledValueFromIntOrPercent, roundUp false).
    static func scaledMaxUnavailable(_ value: IntOrString, nodeCount: Int) -> Result<Int, MaxUnavailableProblem> {
        switch value {
        case .int(let count):
            guard count >= 0 else { return .failure(MaxUnavailableProblem(message: "negative number is not allowed")) }
            return .success(count)
        case .string(let text):
            guard text.hasSuffix("%") else {
                return .failure(MaxUnavailableProblem(message: "invalid type: strings needs to be a percentage"))
            }
            let digits = String(text.dropLast())
            let percent: Int
            switch goAtoi(digits) {
            case .success(let parsed):
                percent = parsed
            case .failure(let problem):
                return .failure(
                    MaxUnavailableProblem(message: "invalid value \(GoJSON.quote(text)): \(problem.message)")
                )
            }
            guard (1...100).contains(percent) else {
                return .failure(
                    MaxUnavailableProblem(message: "invalid value: percentage needs to be between 1 and 100")
                )
            }
            return .success(percent * nodeCount / 100)
        }
    }
}

/// Go's `strconv.Atoi`, including its error text (`strconv.Atoi: parsing "x": invalid syntax`).
private func goAtoi(_ text: String) -> Result<Int, AdmissionValidator.MaxUnavailableProblem> {
    if let value = Int(text) { return .success(value) }
    var body = Substring(text)
    if let first = body.first, first == "+" || first == "-" { body = body.dropFirst() }
    let reason =
        !body.isEmpty && body.allSatisfy { $0.isASCII && $0.isNumber } ? "value out of range" : "invalid syntax"
    return .failure(.init(message: "strconv.Atoi: parsing \(GoJSON.quote(text)): \(reason)"))
}
