import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// Namespaces by open descriptor: the calling thread's own, a fresh anonymous one, and work inside either.
extension NetlinkNamespace {
    /// Opens the calling thread's current network namespace (`/proc/thread-self/ns/net`); the caller closes it.
    public static func openCurrent() throws(HostError) -> Int32 {
        let fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system("open current network namespace", path: "/proc/thread-self/ns/net", errno: error)
        }
        return fd
    }

    /// Creates a new, empty network namespace and returns a descriptor holding it; the namespace lives until the
    /// descriptor (and every link's reference) is gone. Made on a short-lived thread, so no thread changes namespace.
    public static func createAnonymous() throws(HostError) -> Int32 {
        var outcome: Result<Int32, HostError> = .failure(HostError(code: .io, message: "namespace thread did not run"))
        try Self.runOnNewThread {
            guard cnetlink_unshare_net() == 0 else {
                let error = errno
                outcome = .failure(HostError.system("create network namespace (unshare CLONE_NEWNET)", errno: error))
                return
            }
            do throws(HostError) {
                outcome = .success(try Self.openCurrent())
            } catch {
                outcome = .failure(error)
            }
        }
        return try outcome.get()
    }

    /// Runs `body` on a new thread inside the namespace open at `fd` (see ``run(inNamespaceAt:_:)``).
    public static func run<T>(inNamespaceFD fd: Int32, _ body: () throws -> T) throws -> T {
        var outcome: Result<T, any Error>?
        try withoutActuallyEscaping(body) { body throws(HostError) in
            try Self.runOnNewThread {
                guard cnetlink_setns_net(fd) == 0 else {
                    let error = errno
                    outcome = .failure(HostError.system("enter network namespace fd \(fd)", errno: error))
                    return
                }
                outcome = Result { try body() }
            }
        }
        guard let outcome else {
            throw HostError(code: .io, message: "namespace thread ended without a result")
        }
        return try outcome.get()
    }

    /// Whether `path` opens and is a network namespace (what CNI_NETNS and allocation records must name).
    public static func isNetworkNamespace(_ path: String) -> Bool {
        guard !path.isEmpty else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return cnetlink_is_netns(fd) == 1
    }
}
