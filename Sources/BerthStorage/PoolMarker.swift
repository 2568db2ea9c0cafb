import BerthLinux
import BerthModel
import Foundation

/// Ties a pool's root directory to this agent's state, so that a pool whose disk is not mounted is
/// seen as missing rather than used (or "cleaned") as an empty directory.
///
/// The first time a pool is used, berth writes `.berth-pool` (a random id) into its root and the same
/// id into `<state-dir>/pools.d/<node>.<pool>`. Later, a root without the matching marker is refused.
public enum PoolMarker {
    public static let fileName = ".berth-pool"

    public enum State: Sendable, Equatable {
        case ready
        case initialized
        case missing(String)
    }

    /// Checks (and on first use initialises) `pool`. Never creates a root it has seen before.
    public static func prepare(_ pool: StoragePool, stateDir: String) throws -> State {
        let records = try SafeDirectory.makeRoot(path: stateDir + "/pools.d")
        let recordName = recordName(of: pool)
        // an unreadable record is an error here, never taken for a pool not yet used
        if let recorded = try records.readFile(recordName).map({ String(decoding: $0, as: UTF8.self) }) {
            let root: SafeDirectory
            do { root = try SafeDirectory(path: pool.path) } catch {
                return .missing("pool \"\(pool.name)\" of node \"\(pool.node)\": its root \(pool.path) does not exist; mount its disk (or restore the directory) and restart the agent")
            }
            let marker = text(of: fileName, in: root)
            guard marker == recorded else {
                return .missing("pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) has \(marker == nil ? "no" : "another") \(fileName) marker, so it is not the directory berth used before; mount its disk and restart the agent (or, to start the pool afresh, remove \(stateDir)/pools.d/\(recordName))")
            }
            return .ready
        }
        let root = try SafeDirectory.makeRoot(path: pool.path)
        let id: String
        if let existing = try root.readFile(fileName) {
            id = String(decoding: existing, as: UTF8.self)
        } else {
            id = UUID().lowercaseString
            try root.writeFile(fileName, contents: Array(id.utf8))
        }
        try records.writeFile(recordName, contents: Array(id.utf8))
        return .initialized
    }

    /// The id recorded for `pool` in the state directory (nil before its first use).
    public static func recorded(_ pool: StoragePool, stateDir: String) -> String? {
        guard let records = try? SafeDirectory(path: stateDir + "/pools.d") else { return nil }
        return text(of: recordName(of: pool), in: records)
    }

    static func recordName(of pool: StoragePool) -> String { "\(pool.node).\(pool.name)" }

    /// A small file's text: a pool's marker or its record; nil when missing or unreadable.
    static func text(of name: String, in directory: SafeDirectory) -> String? {
        (try? directory.readFile(name)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Opens a pool's root only if it carries a marker (the disk is there), and the recorded one
    /// when the pool knows it (not another pool's disk, mounted in its place).
    static func openRoot(_ pool: StoragePool) throws -> SafeDirectory {
        let root: SafeDirectory
        do {
            root = try SafeDirectory(path: pool.path)
        } catch {
            throw BerthError(.unavailable, "pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) does not exist; is its disk mounted?")
        }
        guard let marker = text(of: fileName, in: root) else {
            throw BerthError(.unavailable, "pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) has no \(fileName) marker; is its disk mounted? berth will not use or clean it")
        }
        if let expected = pool.marker, marker != expected {
            throw BerthError(.unavailable, "pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) holds another \(fileName) marker than the one berth recorded (another disk mounted there?); berth will not use or clean it — mount the pool's own disk there")
        }
        return root
    }
}
