import Foundation
public import KubeCore

/// How to reach an API server: URL, TLS material and credentials, from a kubeconfig file or from the
/// pod's service account (in-cluster).
public struct KubeConfig: Sendable, Hashable {
    public var server: String
    public var caPEM: [UInt8]?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var token: String?
    /// Re-read on every request (bound service-account tokens rotate).
    public var tokenFile: String?
    public var insecureSkipTLSVerify: Bool
    /// The context's default namespace, if any.
    public var namespace: String?

    public init(
        server: String,
        caPEM: [UInt8]? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil,
        token: String? = nil,
        tokenFile: String? = nil,
        insecureSkipTLSVerify: Bool = false,
        namespace: String? = nil
    ) {
        self.server = server
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.token = token
        self.tokenFile = tokenFile
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
    }

    /// A configuration problem, naming the file and the field.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Resolution order: an explicit path, `$KUBECONFIG` (first file), in-cluster, `~/.kube/config`.
    public static func resolve(explicitPath: String? = nil) throws -> KubeConfig {
        if let explicitPath, !explicitPath.isEmpty { return try self.load(path: explicitPath) }
        if let env = ProcessInfo.processInfo.environment["KUBECONFIG"], !env.isEmpty {
            return try self.load(path: String(env.split(separator: ":").first ?? ""))
        }
        if ProcessInfo.processInfo.environment["KUBERNETES_SERVICE_HOST"] != nil {
            return try self.inCluster()
        }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        return try self.load(path: home + "/.kube/config")
    }

    /// The service-account configuration of a pod.
    public static func inCluster(
        directory: String = "/var/run/secrets/kubernetes.io/serviceaccount",
        environment: [String: String]? = nil
    ) throws -> KubeConfig {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"]
        else {
            throw Error(description: "in-cluster config: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard let ca = FileManager.default.contents(atPath: directory + "/ca.crt") else {
            throw Error(description: "in-cluster config: cannot read \(directory)/ca.crt")
        }
        let namespace = (FileManager.default.contents(atPath: directory + "/namespace"))
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        return KubeConfig(
            server: "https://\(hostPart):\(port)",
            caPEM: Array(ca),
            tokenFile: directory + "/token",
            namespace: namespace
        )
    }

    /// Reads a kubeconfig file and takes its current context (or `context`).
    public static func load(path: String, context requested: String? = nil) throws -> KubeConfig {
        let documents: [ManifestDocument]
        do {
            documents = try ManifestReader.read(file: path)
        } catch {
            throw Error(description: "kubeconfig \(path): \(error)")
        }
        guard let root = documents.first?.value else { throw Error(description: "kubeconfig \(path): empty file") }
        let directory = (path as NSString).deletingLastPathComponent
        func named(_ list: String, _ name: String) throws -> JSONValue {
            let items = root[list]?.arrayValue ?? []
            guard let item = items.first(where: { $0["name"]?.stringValue == name }) else {
                throw Error(description: "kubeconfig \(path): \(list): no entry named \(name.debugDescription)")
            }
            return item
        }
        guard let contextName = requested ?? root["current-context"]?.stringValue, !contextName.isEmpty else {
            throw Error(description: "kubeconfig \(path): current-context is not set")
        }
        let context = try named("contexts", contextName)["context"]
        guard let clusterName = context?["cluster"]?.stringValue else {
            throw Error(description: "kubeconfig \(path): context \(contextName.debugDescription) has no cluster")
        }
        let cluster = try named("clusters", clusterName)["cluster"]
        guard let server = cluster?["server"]?.stringValue else {
            throw Error(description: "kubeconfig \(path): cluster \(clusterName.debugDescription) has no server")
        }
        var config = KubeConfig(server: server)
        config.namespace = context?["namespace"]?.stringValue
        config.insecureSkipTLSVerify = cluster?["insecure-skip-tls-verify"] == .bool(true)
        config.caPEM = try Self.material(
            cluster,
            data: "certificate-authority-data",
            file: "certificate-authority",
            directory,
            path
        )
        if let userName = context?["user"]?.stringValue {
            let user = try named("users", userName)["user"]
            config.clientCertificatePEM = try Self.material(
                user,
                data: "client-certificate-data",
                file: "client-certificate",
                directory,
                path
            )
            config.clientKeyPEM = try Self.material(user, data: "client-key-data", file: "client-key", directory, path)
            config.token = user?["token"]?.stringValue
            if let file = user?["tokenFile"]?.stringValue {
                config.tokenFile = file.hasPrefix("/") ? file : directory + "/" + file
            }
        }
        return config
    }

    private static func material(
        _ object: JSONValue?,
        data dataKey: String,
        file fileKey: String,
        _ directory: String,
        _ path: String
    ) throws -> [UInt8]? {
        if let encoded = object?[dataKey]?.stringValue {
            guard let data = Data(base64Encoded: encoded) else {
                throw Error(description: "kubeconfig \(path): \(dataKey) is not valid base64")
            }
            return Array(data)
        }
        if let file = object?[fileKey]?.stringValue {
            let full = file.hasPrefix("/") ? file : directory + "/" + file
            guard let data = FileManager.default.contents(atPath: full) else {
                throw Error(description: "kubeconfig \(path): cannot read \(fileKey) \(full)")
            }
            return Array(data)
        }
        return nil
    }

    /// The bearer token to send now: the token file's current content, else the static token.
    public var currentToken: String? {
        if let tokenFile, let data = FileManager.default.contents(atPath: tokenFile) {
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return self.token
    }
}
