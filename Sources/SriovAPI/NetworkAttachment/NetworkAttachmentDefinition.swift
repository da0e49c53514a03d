public import KubeCore

/// `k8s.cni.cncf.io/v1` NetworkAttachmentDefinition, the object Multus reads.
public struct NetworkAttachmentDefinition: Resource {
    public static let group = "k8s.cni.cncf.io"
    public static let version = "v1"
    public static let kind = "NetworkAttachmentDefinition"
    public static let plural = "network-attachment-definitions"
    public static let scope = ResourceScope.namespaced

    /// Annotation naming the device-plugin resource pods must request.
    public static let resourceNameAnnotation = "k8s.v1.cni.cncf.io/resourceName"
    /// Annotation naming the SR-IOV network CR that owns the NAD.
    public static let ownerRefAnnotation = "sriovnetwork.openshift.io/owner-ref"

    public var apiVersion: String = NetworkAttachmentDefinition.apiVersion
    public var kind: String = NetworkAttachmentDefinition.kind
    public var metadata: ObjectMeta
    public var spec: Spec

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct Spec: Codable, Sendable, Hashable {
        /// The CNI configuration, a JSON string.
        @OmitEmpty public var config: String
        public init(config: String) { self.config = config }
    }
}
