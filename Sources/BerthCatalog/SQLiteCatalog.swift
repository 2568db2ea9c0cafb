import BerthModel
import CSQLiteConfig
import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization

/// The catalog in one SQLite file (WAL, synchronous=FULL), with a group-committing single writer.
public final class SQLiteCatalog: Catalog, Sendable {
    public let path: String
    let pool: DatabasePool
    let feed = ChangeFeed()
    let cache = ObjectCache()
    let writer: GroupCommitWriter
    /// How many change-log entries are kept for watches to resume from.
    let retainedChanges: Int64

    /// Opens (creating when missing) the catalog at `path`: migrates, checks integrity, refuses a
    /// catalog written by a newer berth.
    public init(path: String, retainedChanges: Int64 = 100_000, logger: Logger = Logger(label: "berth.catalog")) throws {
        self.path = path
        self.retainedChanges = retainedChanges
        if Self.tuneSQLite != 0 {
            logger.warning("SQLite refused to turn its memory statistics off (result \(Self.tuneSQLite)); the catalog works, a little slower")
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw BerthError.internalError("cannot open the catalog at \(path): \(error); check that the state directory is writable",
                                           underlying: "\(error)")
        }
        // DatabasePool sets synchronous=NORMAL on its writer; an acknowledged write must survive power loss.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous=FULL")
            // a checkpoint every 8,000 WAL pages (32 MiB) rather than SQLite's 1,000: a page written
            // again before the checkpoint is copied to the database once, and the writer stops for
            // checkpoints less often (alternating runs of `berth-bench --binder 10000`: 7 % faster,
            // docs/performance.md). The cost: up to 32 MiB of WAL, read back after a crash.
            try db.execute(sql: "PRAGMA wal_autocheckpoint=\(Self.checkpointPages)")
        }
        let migrator = Self.migrator
        try pool.write { db in
            if try migrator.hasBeenSuperseded(db) {
                let applied = try migrator.appliedIdentifiers(db)
                let unknown = applied.subtracting(migrator.migrations)
                throw BerthError(.internalError,
                                 "the catalog at \(path) was written by a newer berth (unknown schema migrations: \(unknown.sorted().joined(separator: ", "))); run that newer berth, or restore a backup")
            }
        }
        try migrator.migrate(pool)
        let check = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
        guard check == ["ok"] else {
            throw BerthError.internalError("the catalog at \(path) failed its integrity check (\(check.prefix(3).joined(separator: "; "))); restore it from a backup",
                                           underlying: check.joined(separator: "\n"))
        }
        let revision = try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
        }
        writer = GroupCommitWriter(pool: pool, feed: feed, cache: cache, revision: revision, retainedChanges: retainedChanges)
        logger.debug("catalog opened", metadata: ["path": "\(path)", "revision": "\(revision)"])
    }

    /// WAL pages between automatic checkpoints.
    static let checkpointPages = 8000

    /// Process-wide SQLite settings, made once before the first connection opens (later they would
    /// be refused). Memory statistics are off: with them on, every SQLite allocation takes one global
    /// mutex, on which the writer and the readers contended (measured in docs/performance.md).
    static let tuneSQLite: Int32 = berth_sqlite_disable_memstatus()

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-objects") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                INSERT INTO meta (key, value) VALUES ('revision', 0), ('compacted', 0);
                CREATE TABLE objects (
                    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                    uid TEXT NOT NULL UNIQUE, revision INTEGER NOT NULL, body BLOB NOT NULL,
                    PRIMARY KEY (kind, namespace, name)) WITHOUT ROWID;
                CREATE TABLE changes (
                    revision INTEGER PRIMARY KEY NOT NULL, type TEXT NOT NULL CHECK (type IN ('ADDED','MODIFIED','DELETED')),
                    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL);
                CREATE TABLE volume_index (
                    name TEXT PRIMARY KEY NOT NULL, class TEXT NOT NULL, phase TEXT NOT NULL,
                    access_bits INTEGER NOT NULL, volume_mode TEXT NOT NULL, capacity_bytes INTEGER NOT NULL,
                    created TEXT NOT NULL, claim_namespace TEXT, claim_name TEXT, claim_uid TEXT,
                    state TEXT NOT NULL DEFAULT '', node TEXT NOT NULL DEFAULT '', pool TEXT NOT NULL DEFAULT '',
                    deleting INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                CREATE INDEX volume_match ON volume_index (class, phase, access_bits, volume_mode, capacity_bytes, created, name)
                    WHERE claim_name IS NULL AND deleting = 0;
                CREATE INDEX volume_claim ON volume_index (claim_namespace, claim_name) WHERE claim_name IS NOT NULL;
                CREATE INDEX volume_phase ON volume_index (phase);
                CREATE INDEX volume_state ON volume_index (state) WHERE state != '';
                CREATE INDEX volume_pool ON volume_index (node, pool);
                CREATE UNIQUE INDEX volume_bound_claim ON volume_index (claim_uid) WHERE phase = 'Bound' AND claim_uid != '';
                CREATE TABLE pool_usage (
                    node TEXT NOT NULL, pool TEXT NOT NULL, bytes INTEGER NOT NULL,
                    PRIMARY KEY (node, pool)) WITHOUT ROWID;
                CREATE TRIGGER volume_usage_insert AFTER INSERT ON volume_index WHEN NEW.pool != '' BEGIN
                    INSERT INTO pool_usage (node, pool, bytes) VALUES (NEW.node, NEW.pool, NEW.capacity_bytes)
                    ON CONFLICT (node, pool) DO UPDATE SET bytes = bytes + excluded.bytes;
                END;
                CREATE TRIGGER volume_usage_delete AFTER DELETE ON volume_index WHEN OLD.pool != '' BEGIN
                    UPDATE pool_usage SET bytes = bytes - OLD.capacity_bytes WHERE node = OLD.node AND pool = OLD.pool;
                END;
                CREATE TRIGGER volume_usage_update AFTER UPDATE OF node, pool, capacity_bytes ON volume_index BEGIN
                    UPDATE pool_usage SET bytes = bytes - OLD.capacity_bytes
                        WHERE OLD.pool != '' AND node = OLD.node AND pool = OLD.pool;
                    INSERT INTO pool_usage (node, pool, bytes) SELECT NEW.node, NEW.pool, NEW.capacity_bytes WHERE NEW.pool != ''
                        ON CONFLICT (node, pool) DO UPDATE SET bytes = bytes + excluded.bytes;
                END;
                CREATE TABLE claim_index (
                    namespace TEXT NOT NULL, name TEXT NOT NULL, uid TEXT NOT NULL, phase TEXT NOT NULL,
                    volume_name TEXT NOT NULL, bind_completed INTEGER NOT NULL,
                    PRIMARY KEY (namespace, name)) WITHOUT ROWID;
                CREATE INDEX claim_unbound ON claim_index (bind_completed) WHERE bind_completed = 0;
                CREATE UNIQUE INDEX claim_bound_volume ON claim_index (volume_name) WHERE phase = 'Bound' AND volume_name != '';
                """)
        }
        m.registerMigration("v2-unused-volume-indexes") { db in
            // nothing queries PVs by phase, state or pool; each index cost a B-tree write per PV change
            try db.execute(sql: """
                DROP INDEX volume_phase;
                DROP INDEX volume_state;
                DROP INDEX volume_pool;
                """)
        }
        m.registerMigration("v3-match-index-holds-available-volumes-only") { db in
            // only Available volumes are candidates: with the phase in the index's condition rather than
            // its key, a volume enters the index once (Pending to Available) and leaves once (bound),
            // instead of being moved at each phase change
            try db.execute(sql: """
                DROP INDEX volume_match;
                CREATE INDEX volume_match ON volume_index (class, access_bits, volume_mode, capacity_bytes, created, name)
                    WHERE phase = 'Available' AND claim_name IS NULL AND deleting = 0;
                """)
        }
        return m
    }

    public var currentRevision: Int64 { writer.revision }

    @discardableResult
    public func write<T: Sendable>(origin: String?, _ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        let result = try await writer.submit(origin: origin) { tx in try body(tx) as any Sendable }
        guard let typed = result as? T else { throw BerthError.internalError("catalog write returned an unexpected type") }
        return typed
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        try await pool.read { db in
            let revision = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
            let tx = SQLiteTransaction(db: db, revision: revision, readOnly: true, cache: self.cache)
            return try body(tx)
        }
    }

    public func watch(after revision: Int64, kinds: Set<String>?) async throws -> AsyncThrowingStream<[Change], any Error> {
        guard let (id, live) = feed.subscribe() else {
            throw BerthError(.unavailable, "the berth agent is shutting down; watch again once it is back")
        }
        // a watch that fails here must not leave its subscription holding commits (dropping `live`
        // ends it too, through AsyncStream's own teardown; this does not depend on that)
        var subscribed = false
        defer { if !subscribed { feed.unsubscribe(id) } }
        // the backlog is read row by row, and a body is copied only for a change of a wanted kind;
        // `covered`: the newest revision the backlog read, whether or not its change was wanted
        let (compacted, backlog, covered) = try await pool.read { db -> (Int64, [Change], Int64) in
            let compacted = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'compacted'") ?? 0
            guard revision >= compacted else { return (compacted, [], revision) }
            var changes: [Change] = []
            var covered = revision
            let rows = try Row.fetchCursor(db, sql: "SELECT revision, type, kind, namespace, name, body FROM changes WHERE revision > ? ORDER BY revision",
                                           arguments: [revision])
            while let row = try rows.next() {
                covered = row["revision"]
                if let kinds, !kinds.contains(row["kind"]) { continue }
                changes.append(Self.change(from: row))
            }
            return (compacted, changes, covered)
        }
        if revision < compacted {
            throw BerthError(.gone, "too old resource version: \(revision) (\(compacted)); list again and watch from the list's resourceVersion")
        }
        subscribed = true
        return AsyncThrowingStream(bufferingPolicy: .bufferingOldest(ChangeFeed.buffered + 1)) { continuation in
            // the backlog goes into the stream's buffer now, so that the task below does not hold it
            // for as long as the watch lasts
            if !backlog.isEmpty { continuation.yield(backlog) }
            let task = Task {
                var last = covered
                for await batch in live {
                    guard let newest = batch.last?.revision, newest > last else { continue }
                    let wanted = Self.unseen(batch, after: last, kinds: kinds)
                    last = newest
                    if wanted.isEmpty { continue }
                    // a reader that fell this far behind is ended: it lists and watches again
                    if case .dropped = continuation.yield(wanted) {
                        continuation.finish(throwing: BerthError(.gone, "the watch fell too far behind; list again and watch from the list's resourceVersion"))
                        return
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The part of a commit's batch a watcher still needs: changes after `last` (what the backlog
    /// already covered) of the wanted kinds. A batch wholly new and unfiltered is passed on as it is,
    /// one array shared by every watcher.
    static func unseen(_ batch: [Change], after last: Int64, kinds: Set<String>?) -> [Change] {
        if kinds == nil, let first = batch.first, first.revision > last { return batch }
        return batch.filter { $0.revision > last && (kinds?.contains($0.object.kind) ?? true) }
    }

    static func change(from row: Row) -> Change {
        let type = Change.ChangeType(rawValue: row["type"]) ?? .modified
        return Change(type: type, object: StoredObject(kind: row["kind"], namespace: row["namespace"], name: row["name"],
                                                       revision: row["revision"], data: row["body"]))
    }

    /// Ends every watch (at shutdown).
    public func close() {
        feed.finishAll()
    }
}

/// Serialises writes onto one connection and commits whatever has queued up together, so that many
/// concurrent requests share one fsync. Each job of a batch runs in its own savepoint: one failing
/// job does not undo the others (a lone job needs none: its failure rolls the transaction back).
final class GroupCommitWriter: Sendable {
    typealias Body = @Sendable (SQLiteTransaction) throws -> any Sendable
    struct Job: Sendable {
        let origin: String?
        let body: Body
        let continuation: CheckedContinuation<any Sendable, any Error>
    }
    struct State {
        var jobs: [Job] = []
        var draining = false
        var revision: Int64
    }

    let pool: DatabasePool
    let feed: ChangeFeed
    let cache: ObjectCache
    let retainedChanges: Int64
    let state: Mutex<State>
    let queue = DispatchQueue(label: "berth.catalog.writer", qos: .userInitiated)

    init(pool: DatabasePool, feed: ChangeFeed, cache: ObjectCache, revision: Int64, retainedChanges: Int64) {
        self.pool = pool
        self.feed = feed
        self.cache = cache
        self.retainedChanges = retainedChanges
        self.state = Mutex(State(revision: revision))
    }

    var revision: Int64 { state.withLock { $0.revision } }

    func submit(origin: String?, _ body: @escaping Body) async throws -> any Sendable {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.jobs.append(Job(origin: origin, body: body, continuation: continuation))
                if s.draining { return false }
                s.draining = true
                return true
            }
            if start { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let (batch, startRevision) = state.withLock { s -> ([Job], Int64) in
                let b = s.jobs
                s.jobs.removeAll()
                if b.isEmpty { s.draining = false }
                return (b, s.revision)
            }
            if batch.isEmpty { return }
            var results: [Result<any Sendable, any Error>] = []
            var changes: [Change] = []
            var written: [String: ObjectCache.Entry] = [:]
            var revision = startRevision
            do {
                try pool.writeWithoutTransaction { db in
                    results = []
                    changes = []
                    written = [:]
                    revision = startRevision
                    // a lone job needs no savepoint of its own: when it fails, the whole transaction
                    // (which is only its own) rolls back
                    let lone = batch.count == 1
                    try db.inTransaction(.immediate) {
                        for job in batch {
                            let tx = SQLiteTransaction(db: db, revision: revision, readOnly: false, cache: self.cache,
                                                       committedRevision: startRevision)
                            var outcome: Result<any Sendable, any Error> = .failure(BerthError.internalError("catalog job did not run"))
                            do {
                                if lone {
                                    outcome = .success(try job.body(tx))
                                } else {
                                    try db.inSavepoint {
                                        outcome = .success(try job.body(tx))
                                        return .commit
                                    }
                                }
                                revision = tx.revision
                                changes += tx.changes.map { c in
                                    var c = c
                                    c.origin = job.origin
                                    return c
                                }
                                written.merge(tx.written) { _, new in new }
                            } catch {
                                outcome = .failure(Self.translate(error))
                                if lone {
                                    results.append(outcome)
                                    return .rollback
                                }
                            }
                            results.append(outcome)
                        }
                        if revision != startRevision {
                            try db.cachedStatement(sql: "UPDATE meta SET value = ? WHERE key = 'revision'").execute(arguments: [revision])
                            try self.compact(db, revision: revision, previous: startRevision)
                        }
                        return .commit
                    }
                }
            } catch {
                let failure = Self.translate(error)
                for job in batch { job.continuation.resume(throwing: failure) }
                continue
            }
            state.withLock { $0.revision = revision }
            // only now, committed, may what the batch wrote be served from the cache
            cache.merge(written, removing: changes.filter { $0.type == .deleted }.map {
                ObjectCache.key($0.object.kind, $0.object.namespace, $0.object.name)
            })
            feed.publish(changes)
            for (job, result) in zip(batch, results) { job.continuation.resume(with: result) }
        }
    }

    private func compact(_ db: Database, revision: Int64, previous: Int64) throws {
        let step: Int64 = 1000
        guard revision / step != previous / step, revision > retainedChanges else { return }
        let floor = revision - retainedChanges
        try db.execute(sql: "DELETE FROM changes WHERE revision <= ?", arguments: [floor])
        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'compacted'", arguments: [floor])
    }

    static func translate(_ error: any Error) -> any Error {
        if error is BerthError { return error }
        if let db = error as? DatabaseError {
            if db.resultCode == .SQLITE_CONSTRAINT {
                return BerthError.conflict("the catalog refused a write that would break a binding invariant (\(db.message ?? "constraint")); retry, and report it if it repeats")
            }
            if db.resultCode == .SQLITE_FULL {
                return BerthError(.insufficientCapacity, "the catalog's disk is full; free space under the state directory")
            }
            return BerthError.internalError("catalog write failed: \(db.message ?? "\(db.resultCode)")", underlying: "\(db)")
        }
        return error
    }
}
