import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and decoding of the small JSON documents a virtual platform publishes (config drive files,
/// metadata-service responses, the checkpoint), with a size limit and errors that name the document
/// and the field.
enum MetadataDocument {
    /// The default limit for one metadata document. Nova's documents are a few KiB; anything near a
    /// MiB is not metadata.
    static let defaultSizeLimit = 1 << 20

    /// Reads a whole file, refusing files larger than `limit` bytes.
    ///
    /// - Returns: the bytes, or `nil` when the file does not exist (so callers can fall back).
    /// - Throws: ``HostError`` with the path for any other failure, `.metadata` when the file is too large.
    static func readFile(_ path: String, limit: Int, step: String) throws(HostError) -> [UInt8]? {
        // O_NONBLOCK and a type check: a FIFO or device node in place of a document never blocks the reader.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let error = errno
            if error == ENOENT || error == ENOTDIR { return nil }
            throw HostError.system("cannot open", path: path, errno: error, step: step)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw HostError.system("cannot stat", path: path, errno: errno, step: step) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw HostError(
                code: .metadata,
                message: "not a regular file (\(LinuxSysFS.fileType(info.st_mode))); refused",
                path: path,
                step: step
            )
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                throw HostError.system("cannot read", path: path, errno: error, step: step)
            }
            if count == 0 { break }
            if bytes.count + count > limit {
                throw HostError(
                    code: .metadata,
                    message: "document is larger than the limit of \(limit) bytes",
                    path: path,
                    step: step
                )
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Decodes JSON with Foundation's decoder, which ignores unknown fields (as Go's `encoding/json`
    /// does), and turns its errors into ``HostError`` naming `document` and the field path.
    static func decode<T: Decodable>(
        _ type: T.Type,
        from bytes: [UInt8],
        document: String,
        source: String,
        step: String
    ) throws(HostError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw HostError(
                code: .metadata,
                message: "\(document): \(Self.describe(error))",
                path: source,
                step: step
            )
        } catch {
            throw HostError(code: .metadata, message: "\(document): \(error)", path: source, step: step)
        }
    }

    /// `links[1].mtu: expected Int, found a string`, without Foundation's noisy debug text.
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            // Foundation says "Expected to decode Int but found a string instead."; keep the "found" part.
            var found = ""
            if let range = context.debugDescription.range(of: " but found ") {
                found = String(context.debugDescription[range.upperBound...])
                if found.hasSuffix(" instead.") { found.removeLast(" instead.".count) }
                if found == "a dictionary" { found = "an object" }
                found = ", found \(found)"
            }
            return "\(Self.field(context.codingPath)): expected \(Self.typeName(type))\(found)"
        case .valueNotFound(let type, let context):
            return "\(Self.field(context.codingPath)): expected \(Self.typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(Self.field(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            var text = "\(Self.field(context.codingPath)): invalid JSON"
            if let underlying = context.underlyingError {
                text += " (\(Self.underlyingText(underlying)))"
            } else if !context.debugDescription.isEmpty {
                text += " (\(context.debugDescription))"
            }
            return text
        @unknown default:
            return "\(error)"
        }
    }

    /// `devices[2].mac`, or `document` for the root.
    static func field(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                if !out.isEmpty { out += "." }
                out += key.stringValue
            }
        }
        return out.isEmpty ? "document" : out
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Int.Type: return "integer"
        case is Bool.Type: return "boolean"
        case is [Any].Type: return "array"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "array" }
            if name.hasPrefix("Dictionary<") || name.contains("Document") || name.contains("Keyed") {
                return "object"
            }
            return name
        }
    }

    private static func underlyingText(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "\(error)"
    }
}

/// Duration formatting for error messages: `200 ms`, `5 s`, `1.5 s`.
extension Duration {
    var metadataDescription: String {
        let (seconds, attoseconds) = self.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }

    var metadataMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
