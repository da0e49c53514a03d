public import KubeClient
import KubeCore
public import Logging

/// `sriov wait-for-config`: the device plugin's init container (reference §4.7). It marks its own pod with
/// `sriovnetwork.openshift.io/device-plugin-wait-config: "true"` and returns once the config daemon has
/// removed the mark after a successful apply, so the device plugin never starts on half-made VFs.
/// Upstream: cmd/sriov-network-config-daemon/waitforconfig.go.
public struct DevicePluginGate: Sendable {
    public let client: KubeClient
    public let podName: String
    public let podNamespace: String
    public let logger: Logger
    /// How often the pod is read while waiting.
    public var poll: Duration = .seconds(2)

    public init(client: KubeClient, podName: String, podNamespace: String, logger: Logger) {
        self.client = client
        self.podName = podName
        self.podNamespace = podNamespace
        self.logger = logger
    }

    /// Marks the pod (retrying with backoff, as upstream: 10 tries from 1 s, doubling, capped at 30 s),
    /// then waits until the mark is gone. Returns early only by cancellation.
    /// - Throws: the last API error when the pod cannot be marked at all.
    public func run() async throws {
        let pods = self.client.api(DevicePluginPod.self, namespace: self.podNamespace)
        var attempt = 0
        while true {
            do {
                _ = try await pods.mergePatch(
                    self.podName,
                    ["metadata": ["annotations": [DaemonWire.devicePluginWaitAnnotation: "true"]]]
                )
                break
            } catch {
                attempt += 1
                if attempt >= 10 { throw error }
                self.logger.warning("cannot mark the pod, will retry", metadata: ["error": "\(error)"])
                try await Task.sleep(for: Backoff.delay(attempt: attempt, base: .seconds(1), max: .seconds(30)))
            }
        }
        self.logger.notice(
            "waiting for the config daemon to configure the node",
            metadata: ["k8s.pod": "\(self.podNamespace)/\(self.podName)"]
        )
        while true {
            try Task.checkCancellation()
            do {
                let pod = try await pods.get(self.podName)
                if pod.metadata.annotations[DaemonWire.devicePluginWaitAnnotation] == nil {
                    self.logger.notice("node configured; the device plugin can start")
                    return
                }
            } catch let error as KubeError where !error.isNotFound {
                self.logger.warning("cannot read the pod, will retry", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: self.poll)
        }
    }
}
