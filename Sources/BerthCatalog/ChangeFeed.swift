import Foundation
import Synchronization

/// Fans committed changes out to watchers, in commit order.
final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<[Change]>.Continuation]>([:])
    private let closed = Mutex(false)

    /// A new subscription, or nil once the feed is closed (the agent is shutting down).
    func subscribe() -> (UUID, AsyncStream<[Change]>)? {
        let id = UUID()
        // bounded: a watcher that stops reading is ended (it lists and watches again) rather than
        // holding every change in memory
        let (stream, continuation) = AsyncStream<[Change]>.makeStream(bufferingPolicy: .bufferingOldest(Self.buffered))
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        let accepted = closed.withLock { isClosed -> Bool in
            guard !isClosed else { return false }
            subscribers.withLock { $0[id] = continuation }
            return true
        }
        return accepted ? (id, stream) : nil
    }

    var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Ends a subscription that will not be read (its watch failed before it began).
    func unsubscribe(_ id: UUID) {
        let continuation = subscribers.withLock { $0.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// How many commits a watcher may fall behind before its watch is ended.
    static let buffered = 4096

    func publish(_ changes: [Change]) {
        guard !changes.isEmpty else { return }
        let targets = subscribers.withLock { Array($0.values) }
        for c in targets {
            if case .dropped = c.yield(changes) { c.finish() }
        }
    }

    func finishAll() {
        closed.withLock { $0 = true }
        let targets = subscribers.withLock { s in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for c in targets { c.finish() }
    }
}
