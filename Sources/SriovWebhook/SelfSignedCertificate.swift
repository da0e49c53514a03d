import Crypto
public import Foundation
import SwiftASN1
import X509

/// A CA and a serving certificate signed by it, generated in memory (`sriov webhook --self-signed`).
///
/// The CA's PEM is what goes into the webhook configurations' `caBundle`. Keys are P-256 ECDSA; the
/// serving certificate carries the given DNS names and IP addresses as subject alternative names (Go's TLS
/// client, in the API server, ignores the common name).
public struct SelfSignedCertificate: Sendable {
    public var caPEM: String
    public var certificatePEM: String
    public var keyPEM: String

    public static func generate(
        dnsNames: [String],
        ipAddresses: [String] = ["127.0.0.1"],
        validity: TimeInterval = 365 * 24 * 3600,
        now: Date = Date()
    ) throws -> SelfSignedCertificate {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("sriov-webhook-ca") }
        let notBefore = now.addingTimeInterval(-300)
        let notAfter = now.addingTimeInterval(validity)
        let ca = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(caKey.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: caName,
            subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let key = P256.Signing.PrivateKey()
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            guard let bytes = Self.ipv4Bytes(address) else { continue }
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
        }
        let sans = SubjectAlternativeNames(names)
        let subject = try DistinguishedName { CommonName(dnsNames.first ?? "sriov-webhook") }
        let serving = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: caName,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                sans
            },
            issuerPrivateKey: .init(caKey)
        )
        return SelfSignedCertificate(
            caPEM: try ca.serializeAsPEM().pemString + "\n",
            certificatePEM: try serving.serializeAsPEM().pemString + "\n",
            keyPEM: key.pemRepresentation + "\n"
        )
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}
