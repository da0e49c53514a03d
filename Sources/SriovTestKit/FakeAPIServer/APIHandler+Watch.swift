import Hummingbird
import KubeCore
import NIOCore
import Synchronization

extension APIHandler {
    private struct WatchAborted: Error {}

    /// A streaming watch response: newline-delimited watch events over chunked transfer encoding,
    /// with periodic bookmarks when asked for, ending after `timeoutSeconds`.
    func watch(
        _ path: ResourcePath,
        labels: LabelSelectorQuery,
        fields: FieldSelectorQuery,
        query: [String: String]
    ) throws -> Response {
        let request = WatchRequest(
            path: path,
            labels: labels,
            fields: fields,
            resourceVersion: query["resourceVersion"],
            sendInitialEvents: query["sendInitialEvents"] == "true",
            allowBookmarks: query["allowWatchBookmarks"] == "true"
        )
        let timeoutSeconds = query["timeoutSeconds"].flatMap { Int($0) }
        let (frames, continuation) = AsyncStream.makeStream(of: WatchFrame.self)
        let store = self.store
        let id = try store.state.withLock { state throws(APIStatus) in
            _ = try state.resolveScope(path, method: "GET")
            return try state.openWatch(request, continuation: continuation)
        }
        let bookmarkInterval = self.configuration.bookmarkInterval
        let body = ResponseBody { writer in
            defer {
                if let id { store.state.withLock { $0.closeWatch(id, with: .end) } }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let id, request.allowBookmarks {
                    group.addTask {
                        while true {
                            try await Task.sleep(for: bookmarkInterval)
                            store.state.withLock { $0.sendBookmark(to: id) }
                        }
                    }
                }
                if let id, let timeoutSeconds, timeoutSeconds > 0 {
                    group.addTask {
                        try await Task.sleep(for: .seconds(timeoutSeconds))
                        store.state.withLock { $0.closeWatch(id, with: .end) }
                    }
                }
                frames: for await frame in frames {
                    switch frame {
                    case .line(let line): try await writer.write(ByteBuffer(string: line))
                    case .end: break frames
                    case .abort: throw WatchAborted()
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }
}
