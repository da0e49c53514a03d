import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 liveness/readiness endpoint (`GET /healthz`, `GET /readyz`) on `0.0.0.0:<port>`, for the
/// DaemonSet's probes. 200 `ok` while the plugin serves a valid configuration; 503 with the reason otherwise.
///
/// A non-blocking listening socket polled every 50 ms from a structured task (no threads, no NIO dependency
/// for two fixed responses); each request is answered and the connection closed.
struct HealthEndpoint: Sendable {
    let port: Int
    /// nil: healthy; otherwise the reason.
    let status: @Sendable () -> String?

    /// Serves until `stop()` returns true or the task is cancelled.
    func run(until stop: @Sendable () -> Bool) async throws {
        let fd = socket(
            AF_INET,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { throw HostError.system("cannot create the health socket", errno: errno) }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(self.port).bigEndian)
        address.sin_addr = in_addr(s_addr: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            throw HostError.system("cannot listen on health port \(self.port)", errno: errno)
        }
        while !Task.isCancelled && !stop() {
            let client = accept(fd, nil, nil)
            if client >= 0 { _ = fcntl(client, F_SETFD, FD_CLOEXEC) }
            if client < 0 {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            self.answer(client)
        }
    }

    private func answer(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return }
        let line = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        let path = parts.count >= 2 ? String(parts[1]) : ""
        let response: (Int, String)
        if path == "/healthz" || path == "/readyz" || path == "/" {
            if let problem = self.status() { response = (503, problem + "\n") } else { response = (200, "ok\n") }
        } else {
            response = (404, "not found\n")
        }
        let reason = response.0 == 200 ? "OK" : response.0 == 503 ? "Service Unavailable" : "Not Found"
        let text =
            "HTTP/1.1 \(response.0) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(response.1.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + response.1
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
