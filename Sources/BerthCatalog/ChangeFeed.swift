import Foundation
import Synchronization

/// Fans committed changes out to watchers, in commit order.
final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<[Change]>.Continuation]>([:])

    func subscribe() -> (UUID, AsyncStream<[Change]>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<[Change]>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return (id, stream)
    }

    func publish(_ changes: [Change]) {
        guard !changes.isEmpty else { return }
        let targets = subscribers.withLock { Array($0.values) }
        for c in targets { c.yield(changes) }
    }

    func finishAll() {
        let targets = subscribers.withLock { s in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for c in targets { c.finish() }
    }
}
