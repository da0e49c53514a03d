public import KubeCore

/// The injector's runtime features, upstream's `nri-control-switches` ConfigMap:
///
/// ```json
/// {"features": {"enableHugePageDownApi": true, "enableHonorExistingResources": false}}
/// ```
/// under the key `config.json`. A feature the ConfigMap does not mention keeps its initial value; a
/// ConfigMap that cannot be parsed resets every feature to its initial value, as upstream.
///
/// Upstream: network-resources-injector pkg/controlswitches ProcessControlSwitchesConfigMap.
public struct InjectorSwitches: Sendable, Hashable {
    public static let configMapName = "nri-control-switches"
    static let fileKey = "config.json"
    static let featuresKey = "features"

    /// Expose each container's hugepage requests and limits through the `podnetinfo` Downward API volume
    /// (and its name in `CONTAINER_NAME`).
    public var enableHugePageDownApi: Bool
    /// Add the injected count to a resource the container already requests instead of skipping it.
    public var enableHonorExistingResources: Bool

    public init(enableHugePageDownApi: Bool = false, enableHonorExistingResources: Bool = false) {
        self.enableHugePageDownApi = enableHugePageDownApi
        self.enableHonorExistingResources = enableHonorExistingResources
    }

    /// These switches as initial values, overridden by `configMap`.
    public func applying(_ configMap: ConfigMap) -> InjectorSwitches {
        guard let text = configMap.data[Self.fileKey],
            let value = try? JSONParser.parse(text),
            case .object(let root) = value
        else { return self }
        guard let features = root[Self.featuresKey] else { return self }
        guard case .object(let flags) = features else { return self }
        var result = self
        for (key, flag) in flags {
            guard case .bool(let on) = flag else { return self }
            switch key {
            case "enableHugePageDownApi": result.enableHugePageDownApi = on
            case "enableHonorExistingResources": result.enableHonorExistingResources = on
            default: continue
            }
        }
        return result
    }
}
