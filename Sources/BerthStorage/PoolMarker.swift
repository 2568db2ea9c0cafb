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
        let recordName = "\(pool.node).\(pool.name)"
        let recorded = try records.readFile(recordName).map { String(decoding: $0, as: UTF8.self) }
        if let recorded {
            let root: SafeDirectory
            do { root = try SafeDirectory(path: pool.path) } catch {
                return .missing("pool \"\(pool.name)\" of node \"\(pool.node)\": its root \(pool.path) does not exist; mount its disk (or restore the directory) and restart the agent")
            }
            let marker = (try? root.readFile(fileName)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
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

    /// Opens a pool's root only if it carries a marker (the disk is there).
    static func openRoot(_ pool: StoragePool) throws -> SafeDirectory {
        let root: SafeDirectory
        do {
            root = try SafeDirectory(path: pool.path)
        } catch {
            throw BerthError(.unavailable, "pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) does not exist; is its disk mounted?")
        }
        guard (try? root.readFile(fileName)).flatMap({ $0 }) != nil else {
            throw BerthError(.unavailable, "pool \"\(pool.name)\" of node \"\(pool.node)\": \(pool.path) has no \(fileName) marker; is its disk mounted? berth will not use or clean it")
        }
        return root
    }
}
