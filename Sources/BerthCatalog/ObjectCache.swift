import BerthModel
import Synchronization

/// Committed objects, typed, keyed by kind/namespace/name and checked against the stored revision on
/// every use, so that a hit is never stale. Bounded: it is emptied when it grows past `limit`.
final class ObjectCache: Sendable {
    struct Entry: @unchecked Sendable {
        var revision: Int64
        var object: any KubeObject
    }

    private let entries = Mutex<[String: Entry]>([:])
    let limit: Int

    init(limit: Int = 8192) { self.limit = limit }

    /// Drops about half of the entries (in the dictionary's arbitrary order) to make room.
    private static func shrink(_ e: inout [String: Entry], keep: Int) {
        guard e.count > keep else { return }
        for key in Array(e.keys.prefix(e.count - keep)) { e.removeValue(forKey: key) }
    }

    static func key(_ kind: String, _ namespace: String, _ name: String) -> String { "\(kind)/\(namespace)/\(name)" }

    func get(_ key: String) -> Entry? { entries.withLock { $0[key] } }

    func put(_ key: String, _ entry: Entry) {
        entries.withLock { e in
            if e.count >= limit { Self.shrink(&e, keep: limit / 2) }
            if let old = e[key], old.revision > entry.revision { return }
            e[key] = entry
        }
    }

    func merge(_ written: [String: Entry], removing deleted: [String]) {
        entries.withLock { e in
            if e.count + written.count > limit { Self.shrink(&e, keep: max(0, limit / 2 - written.count)) }
            for (k, v) in written { e[k] = v }
            for k in deleted where written[k] == nil { e.removeValue(forKey: k) }
        }
    }
}
