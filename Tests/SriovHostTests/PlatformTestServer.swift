import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback HTTP/1.1 server for metadata-service tests: bound to 127.0.0.1 on a free port, it answers
/// each request (one per connection) from a handler, on a background thread, and records what it got.
///
/// A handler may also leave a request hanging (accepted, never answered) to exercise client timeouts.
/// ``stop()`` closes every connection and joins the thread; use ``withPlatformServer(_:_:)`` so that it
/// always runs.
final class PlatformTestServer: Sendable {
    struct Request: Sendable, Equatable {
        var method: String
        var path: String
        /// Header names lower-cased.
        var headers: [String: String]
    }

    enum Reply: Sendable {
        /// A complete response with `Content-Length`.
        case respond(status: Int, body: String, headers: [String: String] = [:])
        /// These bytes, then close.
        case raw(String)
        /// Never answer; the connection stays open until the server stops.
        case hang
    }

    /// Called with the request and its 0-based index among all requests received.
    typealias Handler = @Sendable (Request, Int) -> Reply

    private struct State {
        var requests: [Request] = []
        var held: [Int32] = []
        var isStopping = false
        var isStopped = false
    }

    let port: Int
    private let listener: Int32
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    init(handler: @escaping Handler) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw PlatformTestServerError(message: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            throw PlatformTestServerError(message: "bind/listen: errno \(error)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in self.serve(handler) }
        thread.start()
    }

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    var requests: [Request] { self.state.withLock { $0.requests } }

    /// Stops accepting, closes held connections and waits for the server thread. Idempotent.
    func stop() {
        let shouldWait = self.state.withLock { state -> Bool in
            if state.isStopping { return false }
            state.isStopping = true
            return true
        }
        guard shouldWait else { return }
        self.finished.wait()
    }

    private var isStopping: Bool { self.state.withLock { $0.isStopping } }

    private func serve(_ handler: Handler) {
        defer {
            let held = self.state.withLock { state -> [Int32] in
                state.isStopped = true
                return state.held
            }
            for fd in held { close(fd) }
            close(self.listener)
            self.finished.signal()
        }
        while !self.isStopping {
            var descriptor = pollfd(fd: self.listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(self.listener, nil, nil)
            if connection < 0 { continue }
            guard let request = Self.readRequest(connection) else {
                close(connection)
                continue
            }
            let index = self.state.withLock { state -> Int in
                state.requests.append(request)
                return state.requests.count - 1
            }
            switch handler(request, index) {
            case .respond(let status, let body, let headers):
                var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
                text += "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n"
                for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
                text += "\r\n\(body)"
                Self.write(text, to: connection)
                close(connection)
            case .raw(let text):
                Self.write(text, to: connection)
                close(connection)
            case .hang:
                self.state.withLock { $0.held.append(connection) }
            }
        }
    }

    /// Reads the request head (the clients under test never send a body).
    private static func readRequest(_ fd: Int32) -> Request? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !bytes.containsHeadEnd {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 2000) > 0 else { return nil }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            bytes.append(contentsOf: chunk[0..<count])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
    }

    private static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset, flags) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

struct PlatformTestServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { "loopback test server: \(self.message)" }
}

/// Runs `body` with a fresh server and always stops it.
func withPlatformServer<T>(
    _ handler: @escaping PlatformTestServer.Handler,
    _ body: (PlatformTestServer) throws -> T
) throws -> T {
    let server = try PlatformTestServer(handler: handler)
    defer { server.stop() }
    return try body(server)
}

extension [UInt8] {
    fileprivate var containsHeadEnd: Bool {
        guard self.count >= 4 else { return false }
        for index in 0...(self.count - 4)
        where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
