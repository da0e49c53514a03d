public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `/healthz` of the daemon on `--health-port`: 200 `ok` once the reconcile loop has completed a pass,
/// 503 before. A few lines of POSIX sockets instead of an HTTP framework, to keep the daemon small (its
/// resident size at idle is one of its benchmarks); each accept is non-blocking, polled every 100 ms.
public struct DaemonHealthServer: Service {
    public let port: Int
    public let health: DaemonHealth
    public let logger: Logger

    public init(port: Int, health: DaemonHealth, logger: Logger) {
        self.port = port
        self.health = health
        self.logger = logger
    }

    public struct BindError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw BindError(description: "health port \(self.port): socket: errno \(errno)") }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: self.port).bigEndian)
        address.sin_addr = in_addr(s_addr: 0)  // INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            throw BindError(description: "health port \(self.port): \(String(cString: strerror(errno)))")
        }
        self.logger.notice("health endpoint listening", metadata: ["port": "\(self.port)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    try? await Task.sleep(for: .milliseconds(100))
                    continue
                }
                self.answer(client)
            }
        }
    }

    func answer(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(client, &buffer, buffer.count)
        let request = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        let ready = self.health.passCount > 0
        let (status, body): (String, String) =
            path == "/healthz" || path == "/readyz"
            ? (ready ? ("200 OK", "ok") : ("503 Service Unavailable", "no reconcile pass yet"))
            : ("404 Not Found", "not found")
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { write(client, $0, strlen($0)) }
    }
}
