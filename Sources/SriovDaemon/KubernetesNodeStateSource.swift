public import KubeClient
import KubeCore
import KubeRuntime
public import Logging
public import SriovAPI
import SriovRender
import Synchronization

/// The NodeState, the Node, the operator config and the device-plugin pods in a cluster.
///
/// Reads are plain GETs (four a pass); the watch is two single-object watches (`fieldSelector
/// metadata.name=<node>`) on the NodeState and the Node, so a daemon hears only about its own node.
/// Writes: `status` by merge patch on the status subresource, annotations by merge patch.
public struct KubernetesNodeStateSource: NodeStateSource {
    public let client: KubeClient
    public let namespace: String
    public let nodeName: String
    public let logger: Logger
    let events: EventRecorder

    public init(client: KubeClient, namespace: String, nodeName: String, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.nodeName = nodeName
        self.logger = logger
        self.events = EventRecorder(client: client, component: "sriov-network-config-daemon", logger: logger)
    }

    var states: Api<SriovNetworkNodeState> { self.client.api(SriovNetworkNodeState.self, namespace: self.namespace) }

    public func fetchNodeState() async throws -> SriovNetworkNodeState? {
        try await self.states.getIfPresent(self.nodeName)
    }

    public func fetchContext() async throws -> NodeContext {
        let node = try await self.client.api(Node.self).get(self.nodeName)
        let config = try await self.client.api(SriovOperatorConfig.self, namespace: self.namespace)
            .getIfPresent(SriovOperatorConfig.defaultName)
        let nics = try await self.client.api(ConfigMap.self, namespace: self.namespace)
            .getIfPresent(SupportedNICs.configMapName)
        return NodeContext(
            nodeAnnotations: node.metadata.annotations,
            providerID: node.spec?.providerID ?? "",
            operatorConfig: config?.spec,
            supportedNICs: nics.map { SupportedNICs(configMap: $0) } ?? .upstreamDefault
        )
    }

    public func writeStatus(
        _ status: SriovNetworkNodeState.Status,
        of state: SriovNetworkNodeState
    ) async throws -> SriovNetworkNodeState {
        guard case .object(var fields) = try ValueEncoder().encode(status) else {
            return state
        }
        // A merge patch leaves absent keys alone: clear the ones that became empty.
        for key in ["interfaces", "bridges", "system", "syncStatus", "lastSyncError"] where fields[key] == nil {
            fields[key] = .null
        }
        return try await self.states.mergePatch(self.nodeName, ["status": .object(fields)], subresource: "status")
    }

    public func annotate(nodeState: [String: String?], node: [String: String?]) async throws {
        func patch(_ values: [String: String?]) -> JSONValue {
            var annotations = JSONObject()
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                annotations[key] = value.map { JSONValue.string($0) } ?? JSONValue.null
            }
            return ["metadata": ["annotations": .object(annotations)]]
        }
        if !nodeState.isEmpty { _ = try await self.states.mergePatch(self.nodeName, patch(nodeState)) }
        if !node.isEmpty { _ = try await self.client.api(Node.self).mergePatch(self.nodeName, patch(node)) }
    }

    public func recordEvent(_ state: SriovNetworkNodeState, type: String, reason: String, message: String) async {
        await self.events.record(state, type: type, reason: reason, message: message)
    }

    func devicePluginPods() async throws -> [DevicePluginPod] {
        try await self.client.api(DevicePluginPod.self, namespace: self.namespace).list(
            labelSelector: DaemonWire.devicePluginLabel,
            fieldSelector: "spec.nodeName=\(self.nodeName)"
        ).items
    }

    public func restartDevicePlugins() async throws {
        let pods = self.client.api(DevicePluginPod.self, namespace: self.namespace)
        for pod in try await self.devicePluginPods() where pod.metadata.deletionTimestamp == nil {
            do {
                try await pods.delete(pod.metadata.name)
                self.logger.info("device plugin pod restarted", metadata: ["k8s.pod": "\(pod.metadata.name)"])
            } catch let error as KubeError where error.isNotFound {}
        }
    }

    public func releaseDevicePlugins() async throws -> Int {
        let pods = self.client.api(DevicePluginPod.self, namespace: self.namespace)
        var released = 0
        for pod in try await self.devicePluginPods()
        where pod.metadata.annotations[DaemonWire.devicePluginWaitAnnotation] != nil {
            do {
                _ = try await pods.mergePatch(
                    pod.metadata.name,
                    ["metadata": ["annotations": [DaemonWire.devicePluginWaitAnnotation: .null]]]
                )
                released += 1
                self.logger.info("device plugin released", metadata: ["k8s.pod": "\(pod.metadata.name)"])
            } catch let error as KubeError where error.isNotFound {}
        }
        return released
    }

    public func watch(_ changed: @escaping @Sendable () -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchLoop(SriovNetworkNodeState.self, namespace: self.namespace, changed) }
            group.addTask { await self.watchLoop(Node.self, namespace: nil, changed) }
        }
    }

    /// list + watch of the one object named after the node, relisting after 410 Gone or a dropped stream.
    func watchLoop<R: Resource>(_ type: R.Type, namespace: String?, _ changed: @escaping @Sendable () -> Void) async {
        let api = self.client.api(type, namespace: namespace)
        let selector = "metadata.name=\(self.nodeName)"
        var resourceVersion: String?
        var failures = 0
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    resourceVersion = try await api.list(fieldSelector: selector).resourceVersion
                    changed()
                }
                // The version seen last, advanced by every event (a bookmark too), so a dropped stream
                // resumes where it stopped; an ERROR event (410 Gone, …) throws and relists below.
                let seen = Mutex<String?>(resourceVersion)
                try await api.watch(resourceVersion: resourceVersion ?? "", fieldSelector: selector) { event in
                    switch event {
                    case .added(let object), .modified(let object), .deleted(let object):
                        let version = object.metadata.resourceVersion
                        if !version.isEmpty { seen.withLock { $0 = version } }
                        changed()
                    case .bookmark(let version), .undecodable(let version, _):
                        seen.withLock { $0 = version }
                    }
                }
                resourceVersion = seen.withLock { $0 }
                failures = 0
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if let error = error as? KubeError, error.isGone { resourceVersion = nil }
                self.logger.debug("watch interrupted", metadata: ["kind": "\(R.kind)", "error": "\(error)"])
                try? await Task.sleep(for: Backoff.delay(attempt: failures, base: .seconds(1), max: .seconds(30)))
            }
        }
    }
}

/// A Pod as the daemon needs it: its name and annotations.
struct DevicePluginPod: Resource, LenientDecodable {
    static let group = ""
    static let version = "v1"
    static let kind = "Pod"
    static let plural = "pods"
    static let scope = ResourceScope.namespaced

    var apiVersion: String = DevicePluginPod.apiVersion
    var kind: String = DevicePluginPod.kind
    var metadata: ObjectMeta
}
