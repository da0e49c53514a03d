/// Incremental parser for one HTTP/1.x response: status line, headers, then a body framed by
/// `Content-Length`, `Transfer-Encoding: chunked` or the end of the connection.
struct MetadataHTTPResponseParser {
    struct Failure: Error {
        var message: String
    }

    let bodyLimit: Int
    private var buffer: [UInt8] = []
    private var head: (status: Int, reason: String, headers: [(name: String, value: String)])?
    private var bodyStart = 0

    init(bodyLimit: Int) {
        self.bodyLimit = bodyLimit
    }

    /// Adds received bytes; `atEnd` means the peer closed the connection.
    ///
    /// - Returns: the response once it is complete, `nil` while more bytes are needed.
    mutating func feed(_ bytes: ArraySlice<UInt8>, atEnd: Bool) throws(Failure) -> MetadataHTTPResponse? {
        self.buffer.append(contentsOf: bytes)
        if self.head == nil {
            guard let end = Self.find([13, 10, 13, 10], in: self.buffer[...]) else {
                if self.buffer.count > MetadataHTTPClient.headLimit {
                    throw Failure(message: "response headers exceed \(MetadataHTTPClient.headLimit) bytes")
                }
                if atEnd {
                    throw Failure(
                        message: self.buffer.isEmpty
                            ? "connection closed without a response"
                            : "connection closed before the end of the response headers"
                    )
                }
                return nil
            }
            self.head = try Self.parseHead(self.buffer[0..<end])
            self.bodyStart = end + 4
        }
        guard let head = self.head else { return nil }
        let body = self.buffer[self.bodyStart...]
        let headers = head.headers
        func response(_ body: [UInt8]) -> MetadataHTTPResponse {
            MetadataHTTPResponse(status: head.status, reason: head.reason, headers: headers, body: body)
        }
        let encoding = headers.first { $0.name == "transfer-encoding" }?.value.lowercased()
        if let encoding, encoding.contains("chunked") {
            switch try Self.dechunk(body, limit: self.bodyLimit) {
            case .complete(let decoded): return response(decoded)
            case .incomplete:
                if atEnd { throw Failure(message: "connection closed inside a chunked body") }
                return nil
            }
        }
        if let lengthText = headers.first(where: { $0.name == "content-length" })?.value {
            guard let length = Int(lengthText.trimmingSpaces), length >= 0 else {
                throw Failure(message: "invalid Content-Length \"\(lengthText)\"")
            }
            if length > self.bodyLimit {
                throw Failure(message: "response body of \(length) bytes exceeds the limit of \(self.bodyLimit) bytes")
            }
            if body.count >= length { return response(Array(body.prefix(length))) }
            if atEnd { throw Failure(message: "connection closed after \(body.count) of \(length) body bytes") }
            return nil
        }
        if body.count > self.bodyLimit {
            throw Failure(message: "response body exceeds the limit of \(self.bodyLimit) bytes")
        }
        return atEnd ? response(Array(body)) : nil
    }

    private static func parseHead(
        _ bytes: ArraySlice<UInt8>
    ) throws(Failure) -> (status: Int, reason: String, headers: [(name: String, value: String)]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        guard let statusLine = lines.popFirst() else { throw Failure(message: "empty response") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status)
        else {
            throw Failure(message: "not an HTTP response (status line \"\(statusLine.prefix(80))\")")
        }
        let reason = parts.count > 2 ? String(parts[2]) : ""
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw Failure(message: "malformed header line \"\(line.prefix(80))\"")
            }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingSpaces
            headers.append((name: name, value: value))
        }
        return (status, reason, headers)
    }

    private enum Dechunked {
        case complete([UInt8])
        case incomplete
    }

    private static func dechunk(_ bytes: ArraySlice<UInt8>, limit: Int) throws(Failure) -> Dechunked {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = Self.find([13, 10], in: bytes[index...]) else { return .incomplete }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
            let sizeField = sizeText.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = Int(sizeField.trimmingSpaces, radix: 16), size >= 0 else {
                throw Failure(message: "invalid chunk size \"\(sizeText.prefix(20))\"")
            }
            let dataStart = lineEnd + 2
            if size == 0 { return .complete(out) }
            if out.count + size > limit {
                throw Failure(message: "response body exceeds the limit of \(limit) bytes")
            }
            guard bytes.endIndex >= dataStart + size + 2 else { return .incomplete }
            out.append(contentsOf: bytes[dataStart..<(dataStart + size)])
            index = dataStart + size + 2
        }
    }

    /// The index where `needle` starts in `haystack`.
    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
