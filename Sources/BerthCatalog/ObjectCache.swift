import BerthModel
import Synchronization

/// Committed objects, typed, keyed by kind/namespace/name and checked against the stored revision on
/// every use, so that a hit is never stale.
///
/// Bounded by `limit` entries in two generations: new entries go into the young one; when it is
/// full it becomes the old one, and the previous old one is dropped. So what was put last survives
/// at least `limit / 2` further puts, which is what a prefetch needs (an entry read just before the
/// writer uses it, with a commit's worth of other entries put in between).
final class ObjectCache: Sendable {
    struct Entry: @unchecked Sendable {
        var revision: Int64
        var object: any KubeObject
    }

    private struct Generations {
        var young: [String: Entry] = [:]
        var old: [String: Entry] = [:]

        func get(_ key: String) -> Entry? { young[key] ?? old[key] }

        mutating func insert(_ key: String, _ entry: Entry, half: Int) {
            if young.count >= half, young[key] == nil {
                old = young
                young = Dictionary(minimumCapacity: half)
            }
            young[key] = entry
        }

        mutating func remove(_ key: String) {
            young.removeValue(forKey: key)
            old.removeValue(forKey: key)
        }

        var count: Int { young.count + old.count }
    }

    private let generations = Mutex(Generations())
    let limit: Int
    /// How many objects one transaction keeps typed for its changes and for this cache; past it, a
    /// large transaction keeps only their bytes (so that applying 10,000 objects at once does not
    /// hold them all typed until the watchers have read them).
    let typedPerTransaction: Int

    /// `limit` 8192: a chunk of the volume controller of 512 claims puts 2,000 entries or more (its
    /// claims, the volumes they and the chunk before them may bind, prefetched, and what it wrote),
    /// and a prefetched entry must survive the chunk before it. (An entry lost all the same costs a
    /// decode on the writer, nothing else: every hit is checked against the stored revision.)
    init(limit: Int = 8192, typedPerTransaction: Int = 2048) {
        self.limit = limit
        self.typedPerTransaction = typedPerTransaction
    }

    static func key(_ kind: String, _ namespace: String, _ name: String) -> String { "\(kind)/\(namespace)/\(name)" }

    func get(_ key: String) -> Entry? { generations.withLock { $0.get(key) } }

    /// Entries held now (at most `limit`; an object can be counted twice, once per generation).
    var count: Int { generations.withLock { $0.count } }

    func put(_ key: String, _ entry: Entry) {
        generations.withLock { g in
            if let held = g.get(key), held.revision > entry.revision { return }
            g.insert(key, entry, half: limit / 2)
        }
    }

    func merge(_ written: [String: Entry], removing deleted: [String]) {
        generations.withLock { g in
            for (k, v) in written {
                if let held = g.get(k), held.revision > v.revision { continue }
                g.insert(k, v, half: limit / 2)
            }
            for k in deleted where written[k] == nil { g.remove(k) }
        }
    }
}
