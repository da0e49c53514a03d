public import KubeCore
import SriovAPI

/// The CustomResourceDefinitions of the seven SR-IOV kinds, as data.
///
/// Each definition matches upstream's controller-gen output (`config/crd/bases`): group
/// `sriovnetwork.openshift.io`, one version `v1` that is served and stored, `Namespaced` scope, a `status`
/// subresource, and a structural OpenAPI v3 schema with upstream's enums, bounds, defaults and required lists.
/// The schemas describe exactly the fields of the `SriovAPI` wire types (a test proves it by encoding fully
/// populated values). Rendering to YAML happens elsewhere; this type only produces ``JSONValue``s.
public enum CustomResourceDefinitions {
    /// The group every kind belongs to.
    public static let group = sriovGroup
    /// The only version, served and stored.
    public static let version = "v1"
    /// The controller-gen version upstream's CRDs carry in their annotation.
    public static let controllerGenVersion = "v0.16.3"

    /// An `additionalPrinterColumns` entry.
    public struct PrinterColumn: Sendable, Hashable {
        public var name: String
        /// `string`, `integer`, `date`, …
        public var type: String
        public var jsonPath: String
        public var description: String?

        public init(name: String, type: String, jsonPath: String, description: String? = nil) {
            self.name = name
            self.type = type
            self.jsonPath = jsonPath
            self.description = description
        }

        /// The `Age` column kubectl shows by default, which must be listed again once any column is declared.
        public static let age = PrinterColumn(name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp")

        var json: JSONValue {
            var object = JSONObject()
            if let description = self.description { object["description"] = .string(description) }
            object["jsonPath"] = .string(self.jsonPath)
            object["name"] = .string(self.name)
            object["type"] = .string(self.type)
            return .object(object)
        }
    }

    /// One kind's definition.
    public struct Definition: Sendable, Hashable {
        public var kind: String
        public var plural: String
        public var printerColumns: [PrinterColumn]
        /// The `openAPIV3Schema` of the whole object (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
        public var schema: OpenAPISchema

        public var singular: String { self.kind.lowercased() }
        public var listKind: String { "\(self.kind)List" }
        /// `metadata.name` of the CRD object: `<plural>.<group>`.
        public var name: String { "\(self.plural).\(CustomResourceDefinitions.group)" }

        /// The `apiextensions.k8s.io/v1` `CustomResourceDefinition` object.
        public var json: JSONValue {
            var version = JSONObject()
            if !self.printerColumns.isEmpty {
                version["additionalPrinterColumns"] = .array(self.printerColumns.map(\.json))
            }
            version["name"] = .string(CustomResourceDefinitions.version)
            version["schema"] = .object(["openAPIV3Schema": self.schema.json])
            version["served"] = .bool(true)
            version["storage"] = .bool(true)
            version["subresources"] = .object(["status": .object([:])])
            return .object([
                "apiVersion": .string("apiextensions.k8s.io/v1"),
                "kind": .string("CustomResourceDefinition"),
                "metadata": .object([
                    "annotations": .object([
                        "controller-gen.kubebuilder.io/version": .string(CustomResourceDefinitions.controllerGenVersion)
                    ]),
                    "name": .string(self.name),
                ]),
                "spec": .object([
                    "group": .string(CustomResourceDefinitions.group),
                    "names": .object([
                        "kind": .string(self.kind),
                        "listKind": .string(self.listKind),
                        "plural": .string(self.plural),
                        "singular": .string(self.singular),
                    ]),
                    "scope": .string("Namespaced"),
                    "versions": .array([.object(version)]),
                ]),
            ])
        }
    }

    /// Every definition, in upstream's file order (alphabetical by plural).
    public static let definitions: [Definition] = [
        Self.ovsNetwork,
        Self.sriovIBNetwork,
        Self.sriovNetworkNodePolicy,
        Self.sriovNetworkNodeState,
        Self.sriovNetworkPoolConfig,
        Self.sriovNetwork,
        Self.sriovOperatorConfig,
    ]

    /// Every `CustomResourceDefinition` object, one per kind.
    public static var all: [JSONValue] { self.definitions.map(\.json) }

    /// The `CustomResourceDefinition` object of `kind` (`"SriovNetwork"`), or nil for a kind that is not ours.
    public static func crd(for kind: String) -> JSONValue? {
        self.definition(for: kind)?.json
    }

    /// The definition of `kind`, or nil for a kind that is not ours.
    public static func definition(for kind: String) -> Definition? {
        self.definitions.first(where: { $0.kind == kind })
    }
}

// MARK: - Shared pieces

extension CustomResourceDefinitions {
    /// The root schema every kind shares: type meta, opaque `metadata`, then `spec` and `status`.
    static func root(kind: String, plural: String, spec: OpenAPISchema, status: OpenAPISchema) -> OpenAPISchema {
        .object(
            "\(kind) is the Schema for the \(plural) API",
            [
                "apiVersion": .string(Self.apiVersionDescription),
                "kind": .string(Self.kindDescription),
                "metadata": OpenAPISchema(type: "object"),
                "spec": spec,
                "status": status,
            ]
        )
    }

    static let apiVersionDescription = """
        APIVersion defines the versioned schema of this representation of an object.
        Servers should convert recognized schemas to the latest internal value, and
        may reject unrecognized values.
        More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources
        """

    static let kindDescription = """
        Kind is a string value representing the REST resource this object represents.
        Servers may infer this from the endpoint the client submits requests to.
        Cannot be updated.
        In CamelCase.
        More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds
        """

    /// `[]metav1.Condition`, a list map keyed by `type`, with the schema `metav1.Condition` generates.
    static func conditions(_ owner: String) -> OpenAPISchema {
        var reason = OpenAPISchema.string(
            """
            reason contains a programmatic identifier indicating the reason for the condition's last transition.
            Producers of specific condition types may define expected values and meanings for this field,
            and whether the values are considered a guaranteed API.
            The value should be a CamelCase string.
            This field may not be empty.
            """
        )
        reason.maxLength = 1024
        reason.minLength = 1
        reason.pattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
        var message = OpenAPISchema.string(
            """
            message is a human readable message indicating details about the transition.
            This may be an empty string.
            """
        )
        message.maxLength = 32768
        var type = OpenAPISchema.string("type of condition in CamelCase or in foo.example.com/CamelCase.")
        type.maxLength = 316
        type.pattern =
            #"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"#
            + #"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"#
        let condition = OpenAPISchema.object(
            "Condition contains details for one aspect of the current state of this API Resource.",
            required: ["lastTransitionTime", "message", "reason", "status", "type"],
            [
                "type": type,
                "status": OpenAPISchema.string("status of the condition, one of True, False, Unknown.")
                    .enumerated(["True", "False", "Unknown"]),
                "observedGeneration": OpenAPISchema.integer(
                    """
                    observedGeneration represents the .metadata.generation that the condition was set based upon.
                    For instance, if .metadata.generation is currently 12, but the \
                    .status.conditions[x].observedGeneration is 9, the condition is out of date
                    with respect to the current state of the instance.
                    """,
                    minimum: 0
                ).formatted("int64"),
                "lastTransitionTime": OpenAPISchema.string(
                    """
                    lastTransitionTime is the last time the condition transitioned from one status to another.
                    This should be when the underlying condition changed.  If that is not known, then using the time \
                    when the API field changed is acceptable.
                    """
                ).formatted("date-time"),
                "reason": reason,
                "message": message,
            ]
        )
        let description = "Conditions represent the latest available observations of the \(owner)'s state"
        return OpenAPISchema.array(description, of: condition).listed("map", keys: ["type"])
    }

    /// `map[string]string`
    static func stringMap(_ description: String? = nil) -> OpenAPISchema {
        .map(description, of: .string())
    }

    /// The `Ready` column of the network kinds, read from their `Ready` condition.
    static let readyColumn = PrinterColumn(
        name: "Ready",
        type: "string",
        jsonPath: #".status.conditions[?(@.type=="Ready")].status"#
    )
}
