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
        if revision == nil || revision == 0 || selective {
            let (items, rev) = try await catalog.read { tx in
                (try tx.listStored(kind: kind, namespace: namespace), tx.revision)
            }
            if revision == nil || revision == 0 {
                initialItems = items
                start = rev
            } else {
                // a resumed selective watch: what matches now is what the client already has
                alreadyVisible = items
            }
        }
        let changes = try await catalog.watch(after: start)
        // the watch ends after `timeout` (as Kubernetes' timeoutSeconds), or when the catalog closes
        let (events, continuation) = AsyncThrowingStream<Change, any Error>.makeStream(bufferingPolicy: .bufferingOldest(65_536))
        let forward = Task {
            do {
                for try await change in changes {
                    // a client that stopped reading is cut off rather than buffered without bound
                    if case .dropped = continuation.yield(change) { break }
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
        let body = ResponseBody { writer in
            // With a selector, an object that starts to match is ADDED and one that stops matching is
            // DELETED, as Kubernetes' watch cache reports them, so informers never keep stale objects.
            var visible = Set<String>()
            var bornInStream = Set<String>()
            // objects this stream has reported (or found out about) since it began
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
                guard change.object.kind == kind else { continue }
                if let namespace, change.object.namespace != namespace { continue }
                let matches = try filter.matches(change.object.data)
                if resumed, change.type == .added, !matches { bornInStream.insert("\(change.object.namespace)/\(change.object.name)") }
                guard selective else {
                    if matches { try await writer.write(frame(change.type.rawValue, change.object.data)) }
                    continue
                }
                let key = "\(change.object.namespace)/\(change.object.name)"
                if change.type == .deleted {
                    // on a resumed watch, an object deleted before the stream began is not in
                    // `visible`; its final state says whether the client can have it
                    if visible.remove(key) != nil || (resumed && matches) { try await writer.write(frame("DELETED", change.object.data)) }
                } else if matches {
                    // an object a resumed watch has not met yet, changed (not created) after the
                    // client's version, is taken to be one the client has: MODIFIED; one created
                    // within the stream is new to the client: ADDED
                    let new = visible.insert(key).inserted
                    let type = new && !(resumed && change.type == .modified && !bornInStream.contains(key) && !settled.contains(key)) ? "ADDED" : "MODIFIED"
                    if change.type == .added { bornInStream.insert(key) }
                    try await writer.write(frame(type, change.object.data))
                } else if visible.remove(key) != nil {
                    try await writer.write(frame("DELETED", change.object.data))
                } else if resumed, !bornInStream.contains(key), !settled.contains(key) {
                    // a resumed watch cannot know whether the client has this object (it may have
                    // matched at the client's version): DELETED, which a client without it ignores
                    try await writer.write(frame("DELETED", change.object.data))
                }
                settled.insert(key)
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
