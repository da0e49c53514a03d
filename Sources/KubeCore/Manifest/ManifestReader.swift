import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
        try self.read(file: file, limits: .default)
    }

    /// Reads one file without ever blocking: opened with `O_NONBLOCK`, refused unless `fstat` says it is a
    /// regular file (a FIFO or device node would block or never end), and at most `limits.maxFileBytes`.
    public static func read(file: String, limits: ManifestLimits) throws(ManifestError) -> [ManifestDocument] {
        let bytes = try self.contents(of: file, limit: limits.maxFileBytes)
        return try self.parse(bytes: bytes, file: file, limits: limits)
    }

    static func contents(of file: String, limit: Int) throws(ManifestError) -> [UInt8] {
        let fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw ManifestError(
                code: .unreadable,
                file: file,
                message: "cannot open: \(String(cString: strerror(errno)))"
            )
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ManifestError(
                code: .unreadable,
                file: file,
                message: "cannot stat: \(String(cString: strerror(errno)))"
            )
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ManifestError(
                code: .unreadable,
                file: file,
                message: "not a regular file (\(Self.fileType(info.st_mode))); manifests must be regular files"
            )
        }
        if Int(info.st_size) > limit {
            throw ManifestError(
                code: .unreadable,
                file: file,
                message: "file is \(info.st_size) bytes, more than the \(limit) bytes a manifest file may have"
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ManifestError(
                    code: .unreadable,
                    file: file,
                    message: "read failed: \(String(cString: strerror(errno)))"
                )
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > limit {
                throw ManifestError(
                    code: .unreadable,
                    file: file,
                    message: "file is more than the \(limit) bytes a manifest file may have"
                )
            }
        }
        return bytes
    }

    static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// Parses YAML or JSON text into documents; `kind: List` documents are expanded into their items.
    public static func parse(_ text: String, file: String) throws(ManifestError) -> [ManifestDocument] {
        try self.parse(bytes: Array(text.utf8), file: file, limits: .default)
    }

    /// Parses bytes that should be UTF-8 YAML or JSON. Invalid UTF-8, NUL and control characters are refused
    /// with their line and column before any YAML parsing; see ``ManifestLimits`` for the other bounds.
    public static func parse(
        bytes: [UInt8],
        file: String,
        limits: ManifestLimits = .default
    ) throws(ManifestError) -> [ManifestDocument] {
        if bytes.count > limits.maxFileBytes {
            throw ManifestError(
                code: .unreadable,
                file: file,
                message: "\(bytes.count) bytes, more than the \(limits.maxFileBytes) bytes a manifest file may have"
            )
        }
        try self.checkCharacters(bytes, file: file)
        let parsed: [YAMLEventReader.Document]
        do {
            parsed = try YAMLEventReader(limits: limits).documents(bytes)
        } catch {
            var message = "YAML syntax error"
            if let line = error.line, let column = error.column {
                message += " at line \(line), column \(column)"
            }
            message += ": \(error.message)"
            throw ManifestError(code: .syntax, file: file, line: error.line, document: error.document, message: message)
        }
        var documents: [ManifestDocument] = []
        for doc in parsed {
            let value = doc.value
            let lines = doc.lines
            let index = doc.index
            if value == .null { continue }  // an empty document, e.g. a trailing `---`
            let document = ManifestDocument(
                file: file,
                documentIndex: index,
                pathPrefix: [],
                value: value,
                lines: lines,
                line: doc.line
            )
            guard case .object = value else {
                throw document.error(at: [], "expected a Kubernetes object (a mapping), got \(value.typeName)")
            }
            guard document.kind == "List" || document.kind.hasSuffix("List"), let itemsValue = value["items"] else {
                documents.append(document)
                continue
            }
            let items: [JSONValue]
            switch itemsValue {
            case .array(let array): items = array
            case .null: items = []
            default:
                throw document.error(
                    at: ["items"],
                    "items: must be a list of objects for kind \(document.kind), got \(itemsValue.typeName)"
                )
            }
            // The document's line map split by item in one pass (filtering the whole map for every item was
            // quadratic: a 5,000-node cluster dump as one List took minutes to read).
            let linesByItem = Self.linesByItem(lines)
            for (i, item) in items.enumerated() {
                let prefix = "items[\(i)]"
                guard case .object = item else {
                    throw document.error(
                        at: ["items", "[\(i)]"],
                        "\(prefix): expected a Kubernetes object (a mapping), got \(item.typeName)"
                    )
                }
                let itemLines = linesByItem[i] ?? [:]
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
        }
        return documents
    }

    /// The line map of a List document as one map per item: `items[3].spec.x` → item 3, key `spec.x`;
    /// `items[3]` itself → item 3, key `""`.
    static func linesByItem(_ lines: [String: Int]) -> [Int: [String: Int]] {
        var byItem: [Int: [String: Int]] = [:]
        for (path, line) in lines where path.hasPrefix("items[") {
            let afterBracket = path.dropFirst("items[".count)
            guard let close = afterBracket.firstIndex(of: "]"), let index = Int(afterBracket[..<close]) else {
                continue
            }
            let rest = afterBracket[afterBracket.index(after: close)...]
            if rest.isEmpty {
                byItem[index, default: [:]][""] = line
            } else if rest.first == "." {
                byItem[index, default: [:]][String(rest.dropFirst())] = line
            }
        }
        return byItem
    }

    /// Refuses invalid UTF-8, NUL and C0/DEL control characters (tab, LF and CR excepted), naming the
    /// position: YAML allows none of them, and they hide in names that look right on a terminal.
    static func checkCharacters(_ bytes: [UInt8], file: String) throws(ManifestError) {
        var line = 1
        var column = 1
        var i = 0
        let count = bytes.count
        func fail(_ what: String) -> ManifestError {
            ManifestError(
                code: .syntax,
                file: file,
                line: line,
                message: "\(what) at line \(line), column \(column) (byte offset \(i))"
            )
        }
        while i < count {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A {
                    line += 1
                    column = 1
                    i += 1
                    continue
                }
                if b == 0 { throw fail("NUL byte") }
                if (b < 0x20 && b != 0x09 && b != 0x0D) || b == 0x7F {
                    throw fail("control character U+\(Self.hex4(UInt32(b)))")
                }
                i += 1
                column += 1
                continue
            }
            // Multi-byte sequence: validate lead and continuation bytes, overlongs and surrogates.
            let length: Int
            var scalar: UInt32
            switch b {
            case 0xC2...0xDF:
                length = 2
                scalar = UInt32(b & 0x1F)
            case 0xE0...0xEF:
                length = 3
                scalar = UInt32(b & 0x0F)
            case 0xF0...0xF4:
                length = 4
                scalar = UInt32(b & 0x07)
            default: throw fail("invalid UTF-8 byte 0x\(String(b, radix: 16))")
            }
            guard i + length <= count else { throw fail("truncated UTF-8 sequence") }
            for k in 1..<length {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { throw fail("invalid UTF-8 sequence") }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                throw fail("invalid UTF-8 sequence")
            }
            if (0x80...0x9F).contains(scalar) && scalar != 0x85 {
                throw fail("control character U+\(Self.hex4(scalar))")
            }
            i += length
            column += 1
        }
    }

    static func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
