import Foundation
public import KubeClient
public import KubeCore
public import Logging

/// Records core/v1 Events about objects (what `kubectl describe` shows). Failures are logged, never thrown:
/// an event is best effort.
public struct EventRecorder: Sendable {
    public let client: KubeClient
    public let component: String
    public let logger: Logger

    public init(client: KubeClient, component: String, logger: Logger) {
        self.client = client
        self.component = component
        self.logger = logger
    }

    public func record<R: Resource>(_ object: R, type: String = "Normal", reason: String, message: String) async {
        let namespace = object.metadata.namespace.isEmpty ? "default" : object.metadata.namespace
        var metadata = ObjectMeta(namespace: namespace)
        metadata.generateName = "\(object.metadata.name)."
        var event = Event(
            metadata: metadata,
            involvedObject: .init(
                apiVersion: R.apiVersion,
                kind: R.kind,
                name: object.metadata.name,
                namespace: object.metadata.namespace.isEmpty ? nil : object.metadata.namespace,
                uid: object.metadata.uid.isEmpty ? nil : object.metadata.uid
            )
        )
        event.reason = reason
        event.message = message
        event.type = type
        event.source = .init(component: self.component)
        let now = ISO8601DateFormatter().string(from: Date())
        event.firstTimestamp = now
        event.lastTimestamp = now
        event.count = 1
        do {
            _ = try await self.client.api(Event.self, namespace: namespace).create(event)
        } catch {
            self.logger.debug("event not recorded", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}
