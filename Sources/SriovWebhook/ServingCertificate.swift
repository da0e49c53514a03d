import Foundation
public import Logging
import NIOCore
public import NIOSSL
public import ServiceLifecycle
import Synchronization

/// The certificate and key the server presents, swappable while it runs.
///
/// Every TLS handshake asks ``current`` (through NIOSSL's per-hello context callback), so a new
/// certificate takes effect for the next connection without a restart. From files, ``reloadIfChanged()``
/// re-reads `tls.crt`/`tls.key` (the names a Kubernetes TLS Secret mounts, which cert-manager rotates);
/// a pair that does not load (a half-written rotation) keeps the previous one and is reported.
public final class ServingCertificate: Sendable {
    public struct Material: Sendable {
        public var chain: [NIOSSLCertificate]
        public var key: NIOSSLPrivateKey
        /// The PEM bytes the material came from, to notice changes.
        var source: [UInt8]
    }

    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `DIR/tls.crt` and `DIR/tls.key`, or nil when the certificate is not from files.
    public let certificateFile: String?
    public let keyFile: String?
    let material: Mutex<Material>

    /// A certificate read from `directory/tls.crt` and `directory/tls.key`.
    /// - Throws: ``LoadError`` naming the file that is missing or does not parse.
    public convenience init(directory: String) throws {
        let cert = (directory as NSString).appendingPathComponent("tls.crt")
        let key = (directory as NSString).appendingPathComponent("tls.key")
        try self.init(material: Self.load(certificateFile: cert, keyFile: key), certificateFile: cert, keyFile: key)
    }

    /// A fixed certificate from PEM text (the self-signed one).
    public convenience init(certificatePEM: String, keyPEM: String) throws {
        try self.init(
            material: Self.parse(Array(certificatePEM.utf8), Array(keyPEM.utf8), what: "generated certificate"),
            certificateFile: nil,
            keyFile: nil
        )
    }

    init(material: Material, certificateFile: String?, keyFile: String?) {
        self.material = Mutex(material)
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    public var current: Material { self.material.withLock { $0 } }

    /// Re-reads the files; returns true when a changed pair was loaded.
    /// - Throws: ``LoadError`` when the files changed but do not load; the previous pair stays in use.
    @discardableResult
    public func reloadIfChanged() throws -> Bool {
        guard let certificateFile, let keyFile else { return false }
        let fresh = try Self.load(certificateFile: certificateFile, keyFile: keyFile)
        return self.material.withLock { material in
            guard material.source != fresh.source else { return false }
            material = fresh
            return true
        }
    }

    /// A server configuration presenting ``current`` on every handshake.
    public func tlsConfiguration() -> TLSConfiguration {
        let initial = self.current
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: initial.chain.map { .certificate($0) },
            privateKey: .privateKey(initial.key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let material = self.current
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = material.chain.map { .certificate($0) }
            override.privateKey = .privateKey(material.key)
            promise.succeed(override)
        }
        return configuration
    }

    static func load(certificateFile: String, keyFile: String) throws -> Material {
        guard let cert = FileManager.default.contents(atPath: certificateFile) else {
            throw LoadError(description: "cannot read TLS certificate \(certificateFile)")
        }
        guard let key = FileManager.default.contents(atPath: keyFile) else {
            throw LoadError(description: "cannot read TLS key \(keyFile)")
        }
        return try Self.parse(Array(cert), Array(key), what: "\(certificateFile) and \(keyFile)")
    }

    static func parse(_ cert: [UInt8], _ key: [UInt8], what: String) throws -> Material {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(cert)
        } catch {
            throw LoadError(description: "\(what): certificate is not PEM: \(error)")
        }
        guard !chain.isEmpty else { throw LoadError(description: "\(what): no certificate in the PEM") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: key, format: .pem)
        } catch {
            throw LoadError(description: "\(what): private key is not PEM: \(error)")
        }
        return Material(chain: chain, key: privateKey, source: cert + [0] + key)
    }
}

/// Re-reads a file-based ``ServingCertificate`` every `interval` until shut down.
public struct CertificateReloader: Service {
    public let certificate: ServingCertificate
    public let interval: Duration
    public let logger: Logger

    public init(certificate: ServingCertificate, interval: Duration = .seconds(2), logger: Logger) {
        self.certificate = certificate
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard self.certificate.certificateFile != nil else { return }
        var lastError = ""
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if try self.certificate.reloadIfChanged() {
                    self.logger.notice(
                        "serving certificate reloaded",
                        metadata: ["file": "\(self.certificate.certificateFile ?? "")"]
                    )
                }
                lastError = ""
            } catch {
                // Report each distinct failure once; a rotation in progress resolves itself.
                if "\(error)" != lastError {
                    self.logger.warning("serving certificate not reloaded", metadata: ["error": "\(error)"])
                }
                lastError = "\(error)"
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
