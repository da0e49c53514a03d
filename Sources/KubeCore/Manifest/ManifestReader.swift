import Foundation
import Yams

/// Reads Kubernetes manifests: single documents, multi-document YAML, JSON, and `kind: List`
/// (what `kubectl get -o yaml` prints), from files and directories.
public enum ManifestReader {
    /// File name extensions read when walking a directory.
    public static let extensions: Set<String> = ["yaml", "yml", "json"]

    /// Every regular file named by `paths`, walking directories recursively, in a stable order.
    /// - Throws: ``ManifestError`` with code `.unreadable` for a path that does not exist.
    public static func files(in paths: [String]) throws(ManifestError) -> [String] {
        var result: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ManifestError(code: .unreadable, file: path, message: "no such file or directory")
            }
            if !isDirectory.boolValue {
                result.append(path)
                continue
            }
            guard let enumerator = fm.enumerator(atPath: path) else {
                throw ManifestError(code: .unreadable, file: path, message: "cannot list directory")
            }
            var found: [String] = []
            for case let relative as String in enumerator {
                let ext = (relative as NSString).pathExtension.lowercased()
                guard self.extensions.contains(ext) else { continue }
                let full = (path as NSString).appendingPathComponent(relative)
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { found.append(full) }
            }
            result.append(contentsOf: found.sorted())
        }
        return result
    }

    /// Reads every document of every file under `paths`.
    public static func read(paths: [String]) throws(ManifestError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        for file in try self.files(in: paths) {
            documents.append(contentsOf: try self.read(file: file))
        }
        return documents
    }

    public static func read(file: String) throws(ManifestError) -> [ManifestDocument] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ManifestError(code: .unreadable, file: file, message: "cannot read file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(code: .unreadable, file: file, message: "file is not UTF-8 text")
        }
        return try self.parse(text, file: file)
    }

    /// Parses YAML or JSON text into documents; `kind: List` documents are expanded into their items.
    public static func parse(_ text: String, file: String) throws(ManifestError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
        } catch {
            throw self.syntaxError(error, file: file)
        }
        var index = 0
        while true {
            let root: Yams.Node?
            do {
                root = try parser.nextRoot()
            } catch {
                throw self.syntaxError(error, file: file, document: index + 1)
            }
            guard let root else { break }
            index += 1
            var lines: [String: Int] = [:]
            let value: JSONValue
            do {
                value = try self.convert(root, path: [], lines: &lines)
            } catch let error as ConversionError {
                throw ManifestError(
                    code: .syntax,
                    file: file,
                    line: error.line,
                    document: index,
                    message: error.message
                )
            } catch {
                throw ManifestError(code: .syntax, file: file, document: index, message: "\(error)")
            }
            if value == .null { continue }  // an empty document, e.g. a trailing `---`
            let document = ManifestDocument(
                file: file,
                documentIndex: index,
                pathPrefix: [],
                value: value,
                lines: lines,
                line: root.mark?.line
            )
            guard case .object = value else {
                throw document.error(at: [], "expected a Kubernetes object (a mapping), got \(value.typeName)")
            }
            if document.kind == "List" || document.kind.hasSuffix("List"), case .array(let items)? = value["items"] {
                for (i, item) in items.enumerated() {
                    let prefix = "items[\(i)]"
                    var itemLines: [String: Int] = [:]
                    for (path, line) in lines where path == prefix || path.hasPrefix(prefix + ".") {
                        itemLines[String(path.dropFirst(min(path.count, prefix.count + 1)))] = line
                    }
                    documents.append(
                        ManifestDocument(
                            file: file,
                            documentIndex: index,
                            pathPrefix: ["items", "[\(i)]"],
                            value: item,
                            lines: itemLines,
                            line: lines[prefix]
                        )
                    )
                }
            } else {
                documents.append(document)
            }
        }
        return documents
    }

    private struct ConversionError: Error {
        var line: Int?
        var message: String
    }

    private static func syntaxError(_ error: any Error, file: String, document: Int? = nil) -> ManifestError {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                var message = "YAML syntax error: \(problem)"
                if let context { message += " \(context.text) (line \(context.mark.line))" }
                message += " at column \(mark.column)"
                return ManifestError(code: .syntax, file: file, line: mark.line, document: document, message: message)
            case .duplicatedKeysInMapping(let duplicates, let context):
                let keys = duplicates.map { GoJSON.quote($0) }.joined(separator: ", ")
                return ManifestError(
                    code: .syntax,
                    file: file,
                    line: context.mark.line,
                    document: document,
                    message: "duplicate key \(keys) in a mapping (the second would silently replace the first)"
                )
            case .reader(let problem, _, _, _):
                return ManifestError(code: .syntax, file: file, document: document, message: "YAML: \(problem)")
            default:
                break
            }
        }
        return ManifestError(code: .syntax, file: file, document: document, message: "YAML: \(error)")
    }

    /// Turns a YAML node into a JSON value with YAML 1.2 core-schema typing (what kubectl does) and
    /// records the line of every value.
    private static func convert(_ node: Yams.Node, path: [String], lines: inout [String: Int]) throws -> JSONValue {
        // A mapping entry's line is its key's (set by the caller), so `spec:` points at the key.
        let pathString = ValueDecodingError.format(path)
        if lines[pathString] == nil, let mark = node.mark { lines[pathString] = mark.line }
        switch node {
        case .scalar(let scalar):
            return self.scalarValue(scalar)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            items.reserveCapacity(sequence.count)
            for (i, item) in sequence.enumerated() {
                items.append(try self.convert(item, path: path + ["[\(i)]"], lines: &lines))
            }
            return .array(items)
        case .mapping(let mapping):
            var object = JSONObject()
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ConversionError(line: keyNode.mark?.line, message: "mapping keys must be strings")
                }
                let key = keyScalar.string
                if object[key] != nil {
                    throw ConversionError(
                        line: keyNode.mark?.line,
                        message:
                            "duplicate key \(GoJSON.quote(key)) in \(path.isEmpty ? "document" : ValueDecodingError.format(path))"
                    )
                }
                if let mark = keyNode.mark { lines[ValueDecodingError.format(path + [key])] = mark.line }
                object[key] = try self.convert(valueNode, path: path + [key], lines: &lines)
            }
            return .object(object)
        case .alias:
            throw ConversionError(line: node.mark?.line, message: "YAML aliases are not supported in manifests")
        }
    }

    private static func scalarValue(_ scalar: Yams.Node.Scalar) -> JSONValue {
        if scalar.style != .plain && scalar.style != .any { return .string(scalar.string) }
        if scalar.tag == Tag(.str) { return .string(scalar.string) }
        let s = scalar.string
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int(s) { return .int(i) }
        if s.hasPrefix("0x"), let i = Int(s.dropFirst(2), radix: 16) { return .int(i) }
        if s.hasPrefix("0o"), let i = Int(s.dropFirst(2), radix: 8) { return .int(i) }
        if s.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true, let d = Double(s),
            s.allSatisfy({ $0.isNumber || "+-.eE".contains($0) })
        {
            return .double(d)
        }
        return .string(s)
    }
}
