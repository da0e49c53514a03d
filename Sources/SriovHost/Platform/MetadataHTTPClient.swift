import CNetlink

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain-HTTP endpoint: `http://169.254.169.254`, `http://127.0.0.1:8080/prefix`.
struct MetadataHTTPEndpoint: Sendable, Hashable {
    var host: String
    var port: Int
    /// Prepended to every request path, without a trailing slash (often empty).
    var pathPrefix: String

    /// - Throws: ``HostError`` `.invalidArgument` for anything but `http://host[:port][/path]`.
    init(parsing url: String) throws(HostError) {
        func invalid(_ reason: String) -> HostError {
            HostError(code: .invalidArgument, message: "invalid metadata URL \"\(url)\": \(reason)")
        }
        guard url.hasPrefix("http://") else {
            throw invalid("only http:// is supported (metadata services are plain HTTP on a link-local address)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw invalid("bad host")
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw invalid("no host") }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("port \"\(portText)\" is not a number in 1…65535")
            }
            port = value
        }
        self.host = String(host)
        self.port = port
        self.pathPrefix = prefix
    }

    /// The full URL of `path`, for messages.
    func url(_ path: String) -> String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let port = self.port == 80 ? "" : ":\(self.port)"
        return "http://\(host)\(port)\(self.pathPrefix)\(path)"
    }

    var hostHeader: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return self.port == 80 ? host : "\(host):\(self.port)"
    }
}

/// An HTTP response, with the body already read.
struct MetadataHTTPResponse: Sendable {
    var status: Int
    var reason: String
    /// Header names lower-cased.
    var headers: [(name: String, value: String)]
    var body: [UInt8]
}

/// A minimal blocking HTTP/1.1 client for metadata services, over POSIX sockets.
///
/// Why not URLSession: on Linux it brings in FoundationNetworking and libcurl, and libcurl honours
/// `http_proxy`, which would send link-local metadata requests to a cluster proxy. Metadata services need
/// one request per connection, no TLS and no redirects, so a small client with a hard deadline is enough.
///
/// Every request has one deadline (`timeout`) covering connect, send and the whole response; bodies above
/// `bodyLimit` bytes are refused. Supports `Content-Length`, chunked and read-until-close bodies. A host
/// *name* is resolved with `getaddrinfo`, which the deadline does not bound; metadata endpoints are IP
/// literals, for which no lookup happens.
struct MetadataHTTPClient: Sendable {
    var endpoint: MetadataHTTPEndpoint
    var timeout: Duration
    var bodyLimit: Int

    static let headLimit = 64 * 1024

    /// Sends one request on a fresh connection and reads the response.
    ///
    /// - Throws: ``HostError`` `.timeout` when the deadline passes, `.io`/`.notFound`… (with errno) for
    ///   socket failures, `.metadata` for malformed or oversized responses. HTTP error statuses are *not*
    ///   thrown; the caller decides.
    func perform(
        method: String,
        path: String,
        headers: [(String, String)] = []
    ) throws(HostError) -> MetadataHTTPResponse {
        let url = self.endpoint.url(path)
        let step = "\(method) metadata"
        for (name, value) in headers where (name + value).contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw HostError(
                code: .invalidArgument,
                message: "header \(name) contains a line break",
                path: url,
                step: step
            )
        }
        let deadline = ContinuousClock.now + self.timeout
        let connection = try self.openConnection(deadline: deadline, url: url, step: step)
        defer { close(connection) }
        var request = "\(method) \(self.endpoint.pathPrefix)\(path) HTTP/1.1\r\n"
        request += "Host: \(self.endpoint.hostHeader)\r\n"
        request += "User-Agent: sriov-operator\r\nAccept: */*\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if method != "GET" { request += "Content-Length: 0\r\n" }
        request += "\r\n"
        try self.writeAll(Array(request.utf8), to: connection, deadline: deadline, url: url, step: step)
        return try self.readResponse(from: connection, deadline: deadline, url: url, step: step)
    }

    // MARK: - Sockets

    private func openConnection(deadline: ContinuousClock.Instant, url: String, step: String) throws(HostError) -> Int32
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(self.endpoint.host, String(self.endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            throw HostError(
                code: .io,
                message: "cannot resolve \(self.endpoint.host): \(reason)",
                path: url,
                step: step
            )
        }
        defer { freeaddrinfo(list) }
        var lastError = HostError(code: .io, message: "no address to connect to", path: url, step: step)
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 {
                lastError = .system("cannot create a socket", path: url, errno: errno, step: step)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            #if canImport(Darwin)
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            let error = errno
            guard error == EINPROGRESS || error == EINTR else {
                close(fd)
                lastError = .system("cannot connect", path: url, errno: error, step: step)
                continue
            }
            do {
                try self.wait(fd, for: Int16(POLLOUT), deadline: deadline, url: url, step: step, what: "no connection")
            } catch {
                close(fd)
                throw error
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if socketError == 0 { return fd }
            close(fd)
            lastError = .system("cannot connect", path: url, errno: socketError, step: step)
        }
        throw lastError
    }

    /// Waits until `fd` is ready for `events` or the deadline passes.
    private func wait(
        _ fd: Int32,
        for events: Int16,
        deadline: ContinuousClock.Instant,
        url: String,
        step: String,
        what: String
    ) throws(HostError) {
        while true {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                throw HostError(
                    code: .timeout,
                    message: "\(what) within \(self.timeout.metadataDescription)",
                    path: url,
                    step: step
                )
            }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(clamping: max(1, remaining.metadataMilliseconds + 1))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw HostError.system("poll failed", path: url, errno: errno, step: step)
            }
        }
    }

    private func writeAll(
        _ bytes: [UInt8],
        to fd: Int32,
        deadline: ContinuousClock.Instant,
        url: String,
        step: String
    ) throws(HostError) {
        var offset = 0
        while offset < bytes.count {
            try self.wait(fd, for: Int16(POLLOUT), deadline: deadline, url: url, step: step, what: "request not sent")
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, flags)
            }
            if sent < 0 {
                let error = errno
                if error == EINTR || error == EAGAIN || error == EWOULDBLOCK { continue }
                throw HostError.system("cannot send the request", path: url, errno: error, step: step)
            }
            offset += sent
        }
    }

    private func readResponse(
        from fd: Int32,
        deadline: ContinuousClock.Instant,
        url: String,
        step: String
    ) throws(HostError) -> MetadataHTTPResponse {
        var parser = MetadataHTTPResponseParser(bodyLimit: self.bodyLimit)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            try self.wait(fd, for: Int16(POLLIN), deadline: deadline, url: url, step: step, what: "no response")
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                let error = errno
                if error == EINTR || error == EAGAIN || error == EWOULDBLOCK { continue }
                throw HostError.system("cannot read the response", path: url, errno: error, step: step)
            }
            do {
                if let response = try parser.feed(chunk[0..<count], atEnd: count == 0) { return response }
            } catch {
                throw HostError(code: .metadata, message: error.message, path: url, step: step)
            }
        }
    }
}
