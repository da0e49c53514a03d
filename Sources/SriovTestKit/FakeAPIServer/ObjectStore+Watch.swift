import KubeCore

/// What a watch response writes next.
enum WatchFrame: Sendable {
    /// One newline-terminated JSON watch event.
    case line(String)
    /// End the response normally (timeout, or a dropped watch).
    case end
    /// Close the connection without ending the chunked body.
    case abort
}

/// The parameters of one watch request.
struct WatchRequest: Sendable {
    var path: ResourcePath
    var labels: LabelSelectorQuery
    var fields: FieldSelectorQuery
    var resourceVersion: String?
    var sendInitialEvents: Bool
    var allowBookmarks: Bool
}

/// An open watch: its filter and the stream its response reads from.
struct Watcher: Sendable {
    var request: WatchRequest
    var continuation: AsyncStream<WatchFrame>.Continuation

    func matches(_ id: ObjectID, _ object: JSONValue) -> Bool {
        (self.request.path.namespace == nil || id.namespace == self.request.path.namespace)
            && self.request.labels.matches(StoreState.labels(object)) && self.request.fields.matches(object)
    }

    /// The event this watch sees for a change, if any: a change that moves an object into the
    /// selection is `ADDED` and one that moves it out is `DELETED`.
    func event(for record: EventRecord) -> String? {
        guard record.type == self.request.path.type else { return nil }
        let now = self.matches(record.id, record.object)
        let before = record.previous.map { self.matches(record.id, $0) } ?? false
        let type: String
        var object = record.object
        switch record.kind {
        case .added:
            guard now else { return nil }
            type = "ADDED"
        case .modified:
            switch (before, now) {
            case (true, true): type = "MODIFIED"
            case (false, true): type = "ADDED"
            case (true, false):
                // Upstream: cacheWatcher.convertToWatchEvent sends the previous content at the new resourceVersion.
                type = "DELETED"
                if let previous = record.previous {
                    object = previous
                    StoreState.setMeta(&object, "resourceVersion", .string(String(record.resourceVersion)))
                }
            case (false, false): return nil
            }
        case .deleted:
            guard now || before else { return nil }
            type = "DELETED"
        }
        return Self.line(type, object)
    }

    static func line(_ type: String, _ object: JSONValue) -> String {
        JSONText.line(["type": .string(type), "object": object])
    }
}

extension StoreState {
    /// Registers a watch and queues what it must send first: `ADDED` for every existing object
    /// (no resourceVersion, "0", or `sendInitialEvents`), or the retained events after the given
    /// resourceVersion, or a 410 `ERROR` when that resourceVersion is older than the history.
    /// - Returns: the watcher's id, or `nil` when the stream is already complete (expired).
    mutating func openWatch(
        _ request: WatchRequest,
        continuation: AsyncStream<WatchFrame>.Continuation
    ) throws(APIStatus) -> Int? {
        let watcher = Watcher(request: request, continuation: continuation)
        let version = request.resourceVersion ?? ""
        if request.sendInitialEvents || version.isEmpty || version == "0" {
            for (id, object) in self.sortedObjects(request.path.type, namespace: request.path.namespace)
            where watcher.matches(id, object) {
                continuation.yield(.line(Watcher.line("ADDED", object)))
            }
            if request.sendInitialEvents, request.allowBookmarks {
                continuation.yield(.line(self.bookmark(for: request, initialEventsEnd: true)))
            }
        } else {
            guard let from = Int(version), from >= 0 else {
                throw APIStatus(
                    code: 500,
                    reason: "",
                    message: "resourceVersion: Invalid value: \(GoJSON.quote(version)): strconv.ParseUint: parsing "
                        + "\(GoJSON.quote(version)): invalid syntax"
                )
            }
            if from < self.compactedThrough {
                let status = APIStatus.expired("too old resource version: \(from) (\(self.compactedThrough))")
                continuation.yield(.line(Watcher.line("ERROR", status.json)))
                continuation.yield(.end)
                continuation.finish()
                return nil
            }
            for record in self.events where record.resourceVersion > from {
                if let line = watcher.event(for: record) { continuation.yield(.line(line)) }
            }
        }
        let id = self.nextWatcherID
        self.nextWatcherID += 1
        self.watchers[id] = watcher
        return id
    }

    /// Sends one committed change to every watch that sees it.
    func deliver(_ record: EventRecord) {
        for watcher in self.watchers.values {
            if let line = watcher.event(for: record) { watcher.continuation.yield(.line(line)) }
        }
    }

    /// Queues a `BOOKMARK` at the current resourceVersion on one watch.
    func sendBookmark(to id: Int) {
        guard let watcher = self.watchers[id] else { return }
        watcher.continuation.yield(.line(self.bookmark(for: watcher.request, initialEventsEnd: false)))
    }

    private func bookmark(for request: WatchRequest, initialEventsEnd: Bool) -> String {
        var metadata: JSONObject = ["resourceVersion": .string(String(self.resourceVersion))]
        if initialEventsEnd { metadata["annotations"] = ["k8s.io/initial-events-end": "true"] }
        let object: JSONValue = [
            "kind": .string(self.kind(of: request.path.type)), "apiVersion": .string(request.path.apiVersion),
            "metadata": .object(metadata),
        ]
        return Watcher.line("BOOKMARK", object)
    }

    /// Ends one watch with a final frame.
    mutating func closeWatch(_ id: Int, with frame: WatchFrame) {
        guard let watcher = self.watchers.removeValue(forKey: id) else { return }
        watcher.continuation.yield(frame)
        watcher.continuation.finish()
    }

    /// Ends every open watch with a final frame.
    mutating func closeAllWatches(with frame: WatchFrame) {
        for id in Array(self.watchers.keys) { self.closeWatch(id, with: frame) }
    }
}
