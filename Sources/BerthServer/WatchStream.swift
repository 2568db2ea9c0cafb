import BerthCatalog
import BerthModel
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A `?watch=true` response: newline-delimited `{"type":…,"object":…}` events.
struct WatchStream: Sendable {
    let catalog: any Catalog
    let info: KindInfo
    let filter: ListFilter
    let logger: Logger
    /// Rewrites each event's object (kubectl's `get -w` wants one-row Tables).
    var transform: (@Sendable (Data) -> Data)?
    /// `sendInitialEvents=true` (client-go's watch-list): after the initial ADDED events, a BOOKMARK
    /// annotated `k8s.io/initial-events-end` says the list part is over.
    var initialEventsBookmark = false

    init(catalog: any Catalog, info: KindInfo, filter: ListFilter, logger: Logger) {
        self.catalog = catalog
        self.info = info
        self.filter = filter
        self.logger = logger
    }

    func response(from revision: Int64?, timeout: Duration) async throws -> Response {
        // Without a resourceVersion (or with "0") a watch starts with the current objects as ADDED.
        let kind = info.kind
        let namespace = info.isNamespaced ? filter.namespace : nil
        let selective = filter.labels != nil || filter.fields != nil
        var initialItems: [StoredObject] = []
        var alreadyVisible: [StoredObject] = []
        var start = revision ?? 0
        // for a resumed selective watch: the catalog revision `alreadyVisible` was read at; changes
        // up to it are a replay of what the client missed, whose state at its version is unknown
        var replayEnd: Int64 = 0
        if revision == nil || revision == 0 || selective {
            let (items, rev) = try await catalog.read { tx in
                (try tx.listStored(kind: kind, namespace: namespace), tx.revision)
            }
            if revision == nil || revision == 0 {
                initialItems = items
                start = rev
            } else {
                // a resumed selective watch: what matches now and has not changed since the client's
                // version, the client has
                alreadyVisible = items
                replayEnd = rev
            }
        }
        let changes = try await catalog.watch(after: start, kinds: [kind])
        // the watch ends after `timeout` (as Kubernetes' timeoutSeconds), or when the catalog closes.
        // Changes are queued one at a time here, so that a client that stopped reading is cut off
        // after a number of changes (not of commits) rather than buffered without bound.
        let (events, continuation) = AsyncThrowingStream<Change, any Error>.makeStream(bufferingPolicy: .bufferingOldest(65_536))
        let forward = Task {
            do {
                forwarding: for try await batch in changes {
                    for change in batch {
                        if case .dropped = continuation.yield(change) { break forwarding }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forward.cancel()
            timer.cancel()
        }
        let filter = self.filter
        let transform = self.transform
        @Sendable func frame(_ type: String, _ data: Data) -> ByteBuffer { Self.frame(type, transform.map { $0(data) } ?? data) }
        let initial = initialItems
        let startRevision = start
        let bookmark = initialEventsBookmark
        let known = alreadyVisible
        let resumed = !(revision == nil || revision == 0)
        let replayUpTo = replayEnd
        let body = ResponseBody { writer in
            // With a selector, an object that starts to match is ADDED and one that stops matching is
            // DELETED, as Kubernetes' watch cache reports them, so informers never keep stale objects.
            var visible = Set<String>()
            // objects this stream has seen a change of: no longer guessed about
            var settled = Set<String>()
            for item in known where try filter.matches(item.data) { visible.insert("\(item.namespace)/\(item.name)") }
            for item in initial where try filter.matches(item.data) {
                visible.insert("\(item.namespace)/\(item.name)")
                try await writer.write(frame("ADDED", item.data))
            }
            if bookmark {
                let mark: JSONValue = ["kind": .string(kind), "apiVersion": .string(info.apiVersion),
                                       "metadata": ["resourceVersion": .string(String(startRevision)), "annotations": ["k8s.io/initial-events-end": "true"]]]
                try await writer.write(Self.frame("BOOKMARK", mark.jsonData()))
            }
            for try await change in events {
                // the catalog hands over only changes of this kind
                if let namespace, change.object.namespace != namespace { continue }
                let matches = try filter.matches(change.object.data)
                guard selective else {
                    if matches { try await writer.write(frame(change.type.rawValue, change.object.data)) }
                    continue
                }
                let key = "\(change.object.namespace)/\(change.object.name)"
                // while replaying what a resumed client missed, whether it holds an object is a guess:
                // one changed (not created) since its version is taken to be held if it matches now,
                // and one that does not match is reported DELETED once (a client without it ignores
                // that); after the replay, `visible` is exact
                let guessing = resumed && change.revision <= replayUpTo && !settled.contains(key)
                settled.insert(key)
                if change.type == .deleted {
                    if visible.remove(key) != nil || (guessing && matches) { try await writer.write(frame("DELETED", change.object.data)) }
                } else if matches {
                    let new = visible.insert(key).inserted
                    let type = change.type == .added || (new && !guessing) ? "ADDED" : "MODIFIED"
                    try await writer.write(frame(type, change.object.data))
                } else if visible.remove(key) != nil || (guessing && change.type == .modified) {
                    try await writer.write(frame("DELETED", change.object.data))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: body)
    }

    static func frame(_ type: String, _ object: Data) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"type":"\#(type)","object":"#)
        buffer.writeBytes(object)
        buffer.writeString("}\n")
        return buffer
    }
}
