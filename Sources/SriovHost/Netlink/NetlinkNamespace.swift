import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// Runs synchronous work inside another network namespace without moving any other thread.
///
/// `setns(CLONE_NEWNET)` changes only the calling thread, and a Swift concurrency task may hop between pool threads,
/// so the work runs on a dedicated, short-lived pthread that enters the namespace, runs the body and ends; the
/// caller blocks in `pthread_join` meanwhile. The namespace change dies with that thread, so no thread ever
/// returns to the pool (or to the caller) in the wrong namespace.
public enum NetlinkNamespace {
    /// Runs `body` on a new thread that has entered the network namespace bound at `path` (for example
    /// `/var/run/netns/p1` or `/proc/<pid>/ns/net`) and returns its result.
    ///
    /// The body must stay synchronous: anything it hands to another thread (a `Task`, a dispatch queue) runs in
    /// that thread's namespace, not in `path`'s. Sockets it opens stay bound to `path`'s namespace.
    /// - Throws: ``HostError`` when the namespace cannot be opened (`notFound` for a missing path) or entered, or a
    ///   thread cannot be started; otherwise whatever `body` throws.
    public static func run<T>(inNamespaceAt path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            throw HostError.system("open network namespace", path: path, errno: error)
        }
        defer { close(fd) }

        var outcome: Result<T, any Error>?
        try withoutActuallyEscaping(body) { body throws(HostError) in
            try Self.runOnNewThread {
                guard cnetlink_setns_net(fd) == 0 else {
                    let error = errno
                    outcome = .failure(HostError.system("enter network namespace", path: path, errno: error))
                    return
                }
                outcome = Result { try body() }
            }
        }
        guard let outcome else {
            throw HostError(code: .io, message: "namespace thread ended without a result", path: path)
        }
        return try outcome.get()
    }

    /// What the new thread runs; passed to it as an opaque pointer.
    private final class ThreadWork {
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    /// Runs `work` on a new pthread and waits for it to finish.
    ///
    /// `work` and everything it captures are not `Sendable`, and crossing to another thread here is still safe: the
    /// calling thread does nothing but wait in `pthread_join` from `pthread_create` until the new thread has
    /// finished, so the two threads never touch the captures at the same time, and `pthread_create`/`pthread_join`
    /// order the memory accesses before and after (POSIX memory synchronization points).
    static func runOnNewThread(_ work: @escaping () -> Void) throws(HostError) {
        let context = Unmanaged.passRetained(ThreadWork(work)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                if let raw {
                    Unmanaged<ThreadWork>.fromOpaque(raw).takeRetainedValue().work()
                }
                return nil
            },
            context
        )
        guard created == 0 else {
            Unmanaged<ThreadWork>.fromOpaque(context).release()
            throw HostError.system("start network namespace thread", errno: created)
        }
        let joined = pthread_join(thread, nil)
        guard joined == 0 else {
            // Unreachable with a joinable thread we just created; if it ever happens the thread's fate is unknown, and
            // returning would let it outlive the captures it uses.
            preconditionFailure("pthread_join failed with \(joined) for a thread created by NetlinkNamespace")
        }
    }
}
