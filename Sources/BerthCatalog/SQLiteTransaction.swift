import BerthModel
import Foundation
import GRDB

/// A transaction on the SQLite catalog; see `CatalogTransaction`.
final class SQLiteTransaction: CatalogTransaction {
    let db: Database
    private(set) var revision: Int64
    let readOnly: Bool
    private(set) var changes: [Change] = []
    let cache: ObjectCache
    /// Objects this transaction wrote or decoded; they join the shared cache only after commit.
    private(set) var written: [String: ObjectCache.Entry] = [:]
    /// Previous values of `written` entries, so that a rolled-back savepoint can restore them
    /// without copying the whole dictionary per savepoint. Kept only while a savepoint is open: a
    /// failed job is undone whole (its transaction object is dropped), and an undo log kept outside
    /// savepoints would hold every object a large transaction replaced.
    private var writtenUndo: [(String, ObjectCache.Entry?)] = []
    private var savepoints = 0
    /// The newest revision known committed when this transaction began (its group's first revision):
    /// only rows at or below it may go into the shared cache from a write transaction.
    let committedRevision: Int64

    private func remember(_ key: String, _ entry: ObjectCache.Entry?) {
        if savepoints > 0 { writtenUndo.append((key, written[key])) }
        written[key] = entry
    }

    init(db: Database, revision: Int64, readOnly: Bool, cache: ObjectCache, committedRevision: Int64? = nil) {
        self.db = db
        self.revision = revision
        self.readOnly = readOnly
        self.cache = cache
        self.committedRevision = committedRevision ?? revision
    }

    func fetch<T: KubeObject>(_ type: T.Type, namespace: String, name: String) throws -> T? {
        try current(T.self, namespace: namespace, name: name)?.object
    }

    /// An object and its stored revision as this transaction sees them, decoded at most once.
    ///
    /// What this write transaction wrote or read itself is current without asking SQLite (there is
    /// one writer); otherwise one lookup gives the revision, and the body is decoded only when
    /// neither this transaction nor the shared cache holds that revision.
    private func current<T: KubeObject>(_ type: T.Type, namespace: String, name: String) throws -> (revision: Int64, object: T)? {
        let key = ObjectCache.key(T.info.kind, namespace, name)
        if let e = written[key], let o = e.object as? T { return (e.revision, o) }
        let st = try db.cachedStatement(sql: "SELECT revision, body FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
        let rows = try Row.fetchCursor(st, arguments: [T.info.kind, namespace, name])
        guard let row = try rows.next() else { return nil }
        let revision: Int64 = row[0]
        if let e = cache.get(key), e.revision == revision, let o = e.object as? T {
            if !readOnly { remember(key, e) }
            return (revision, o)
        }
        let object = try row.withUnsafeData(atIndex: 1) { data in try T.decode(data: data ?? Data()) }
        let entry = ObjectCache.Entry(revision: revision, object: object)
        // what a write transaction reads may not be committed yet: keep it local until commit
        if readOnly { cache.put(key, entry) } else { remember(key, entry) }
        return (revision, object)
    }

    func getStored(kind: String, namespace: String, name: String) throws -> StoredObject? {
        let st = try db.cachedStatement(sql: "SELECT revision, body FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
        guard let row = try Row.fetchOne(st, arguments: [kind, namespace, name]) else { return nil }
        return StoredObject(kind: kind, namespace: namespace, name: name, revision: row[0], data: row[1])
    }

    func keys(kind: String) throws -> [(namespace: String, name: String)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT namespace, name FROM objects WHERE kind = ? ORDER BY namespace, name"), arguments: [kind])
            .map { ($0[0], $0[1]) }
    }

    func listStored(kind: String, namespace: String?) throws -> [StoredObject] {
        let rows: [Row]
        if let namespace {
            rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT namespace, name, revision, body FROM objects WHERE kind = ? AND namespace = ? ORDER BY namespace, name"),
                                    arguments: [kind, namespace])
        } else {
            rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT namespace, name, revision, body FROM objects WHERE kind = ? ORDER BY namespace, name"),
                                    arguments: [kind])
        }
        return rows.map { StoredObject(kind: kind, namespace: $0[0], name: $0[1], revision: $0[2], data: $0[3]) }
    }

    /// Typed objects of a kind, decoding only those that neither this transaction nor the shared
    /// cache holds at their stored revision.
    func list<T: KubeObject>(_ type: T.Type, namespace: String?) throws -> [T] {
        try listStored(kind: T.info.kind, namespace: namespace).map { stored in
            let key = ObjectCache.key(T.info.kind, stored.namespace, stored.name)
            if let e = written[key], e.revision == stored.revision, let o = e.object as? T { return o }
            if let e = cache.get(key), e.revision == stored.revision, let o = e.object as? T { return o }
            let object = try stored.decode(T.self)
            // a row newer than what was committed when the transaction began is a write of this
            // transaction or of an earlier job in its group, which may still be rolled back (and its
            // revision reused): only committed rows go into the shared cache
            if stored.revision <= committedRevision {
                cache.put(key, ObjectCache.Entry(revision: stored.revision, object: object))
            }
            return object
        }
    }

    private func checkWritable() throws {
        if readOnly { throw BerthError.internalError("write attempted in a read-only catalog transaction") }
    }

    private func key<T: KubeObject>(_ object: T) -> (String, String) {
        (T.info.isNamespaced ? object.namespace : "", object.name)
    }

    func create<T: KubeObject>(_ object: T) throws -> T {
        try checkWritable()
        var obj = object
        obj.setTypeMeta()
        let (namespace, name) = key(obj)
        revision += 1
        obj.metadata.namespace = namespace.isEmpty ? nil : namespace
        obj.metadata.uid = UUID().lowercaseString
        obj.metadata.creationTimestamp = Timestamp.now()
        obj.metadata.resourceVersion = String(revision)
        obj.metadata.deletionTimestamp = nil
        obj.metadata.generation = 1
        let data = obj.jsonData()
        // the primary key says whether the object exists: no lookup before the insert
        do {
            try db.cachedStatement(sql: "INSERT INTO objects (kind, namespace, name, uid, revision, body) VALUES (?, ?, ?, ?, ?, ?)")
                .execute(arguments: [T.info.kind, namespace, name, obj.metadata.uid, revision, data])
        } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            revision -= 1
            throw BerthError.alreadyExists("\(T.info.plural) \"\(name)\" already exists")
        }
        try index(obj)
        try log(.added, kind: T.info.kind, namespace: namespace, name: name, data: data, typed: obj)
        return obj
    }

    func update<T: KubeObject>(_ object: T) throws -> T {
        try checkWritable()
        var obj = object
        obj.setTypeMeta()
        let (namespace, name) = key(obj)
        guard let (storedRevision, old) = try current(T.self, namespace: namespace, name: name) else {
            throw BerthError.notFound("\(T.info.plural) \"\(name)\" not found")
        }
        if let rv = obj.metadata.resourceVersion, !rv.isEmpty, rv != String(storedRevision) {
            throw BerthError.conflict("Operation cannot be fulfilled on \(T.info.plural) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again")
        }
        if let uid = obj.metadata.uid, !uid.isEmpty, uid != old.uid {
            throw BerthError.conflict("Precondition failed: UID in precondition: \(uid), UID in object meta: \(old.uid)")
        }
        obj.metadata.namespace = namespace.isEmpty ? nil : namespace
        obj.metadata.uid = old.metadata.uid
        obj.metadata.creationTimestamp = old.metadata.creationTimestamp
        obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp
        // the generation is admission's to raise (a spec change); writers that read the object keep it
        obj.metadata.generation = max(obj.metadata.generation ?? 0, old.metadata.generation ?? 1)
        obj.metadata.resourceVersion = String(storedRevision)
        if old.metadata.isDeleting, (obj.metadata.finalizers ?? []).isEmpty {
            try remove(obj, namespace: namespace)
            return obj
        }
        if obj == old { return old }
        revision += 1
        obj.metadata.resourceVersion = String(revision)
        let data = obj.jsonData()
        try db.cachedStatement(sql: "UPDATE objects SET revision = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ?")
            .execute(arguments: [revision, data, T.info.kind, namespace, name])
        try index(obj, old: old)
        try log(.modified, kind: T.info.kind, namespace: namespace, name: name, data: data, typed: obj)
        return obj
    }

    func delete<T: KubeObject>(_ type: T.Type, namespace: String, name: String, uid: String?) throws -> T? {
        try checkWritable()
        let ns = T.info.isNamespaced ? namespace : ""
        guard let stored = try fetch(T.self, namespace: ns, name: name) else { return nil }
        var obj = stored
        if let uid, !uid.isEmpty, uid != obj.uid {
            throw BerthError.conflict("Precondition failed: UID in precondition: \(uid), UID in object meta: \(obj.uid)")
        }
        if !(obj.metadata.finalizers ?? []).isEmpty {
            if obj.metadata.isDeleting { return obj }
            revision += 1
            obj.metadata.deletionTimestamp = Timestamp.now()
            obj.metadata.resourceVersion = String(revision)
            let data = obj.jsonData()
            try db.cachedStatement(sql: "UPDATE objects SET revision = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ?")
                .execute(arguments: [revision, data, T.info.kind, ns, name])
            try index(obj, old: stored)
            try log(.modified, kind: T.info.kind, namespace: ns, name: name, data: data, typed: obj)
            return obj
        }
        try remove(obj, namespace: ns)
        return obj
    }

    private func remove<T: KubeObject>(_ object: T, namespace: String) throws {
        var obj = object
        revision += 1
        obj.metadata.resourceVersion = String(revision)
        let data = obj.jsonData()
        try db.cachedStatement(sql: "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
            .execute(arguments: [T.info.kind, namespace, obj.name])
        switch T.info.kind {
        case PersistentVolume.info.kind:
            try db.cachedStatement(sql: "DELETE FROM volume_index WHERE name = ?").execute(arguments: [obj.name])
        case PersistentVolumeClaim.info.kind:
            try db.cachedStatement(sql: "DELETE FROM claim_index WHERE namespace = ? AND name = ?").execute(arguments: [namespace, obj.name])
        default: break
        }
        try log(.deleted, kind: T.info.kind, namespace: namespace, name: obj.name, data: data, typed: obj)
    }

    private func log<T: KubeObject>(_ type: Change.ChangeType, kind: String, namespace: String, name: String, data: Data, typed: T) throws {
        try db.cachedStatement(sql: "INSERT INTO changes (revision, type, kind, namespace, name, body) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [revision, type.rawValue, kind, namespace, name, data])
        let key = ObjectCache.key(kind, namespace, name)
        let stored = StoredObject(kind: kind, namespace: namespace, name: name, revision: revision, data: data)
        // Past `typedPerTransaction` objects, a transaction keeps only their bytes: a 10,000-object
        // apply would otherwise hold every object typed until its watchers have read it (a change
        // without its typed value is decoded by whoever needs it; an object this transaction reads
        // again comes from SQLite, which holds the write)
        guard changes.count < cache.typedPerTransaction else {
            changes.append(Change(type: type, object: stored))
            remember(key, nil)
            return
        }
        // one boxed value serves the change and the cache entry: a 10,000-object transaction would
        // otherwise hold two copies of every object until it commits
        let boxed: any KubeObject = typed
        changes.append(Change(type: type, object: stored, typed: boxed))
        remember(key, type == .deleted ? nil : ObjectCache.Entry(revision: revision, object: boxed))
    }

    /// What `volume_index` holds for a PV.
    struct VolumeRow: Equatable {
        var storageClass: String, accessBits: Int, volumeMode: String, capacityBytes: Int64, created: String
        var node: String, pool: String
        /// What binding and reclaim change; the rest changes rarely.
        var phase: String, claimNamespace: String?, claimName: String?, claimUID: String, state: String, deleting: Bool

        init(_ pv: PersistentVolume) {
            storageClass = pv.storageClass
            accessBits = Int(pv.accessModeSet.bits)
            volumeMode = pv.volumeMode
            // what the pool accounts: a Bound volume that is growing counts at the size it grows to (only
            // a Bound one: an Available volume is matched by its capacity, never by a reservation)
            let reserved = pv.phase == "Bound" ? pv.metadata.annotation(Keys.resizeReserved).flatMap { Int64($0) } ?? 0 : 0
            capacityBytes = max(pv.capacityBytes, reserved)
            created = pv.metadata.creationTimestamp ?? ""
            node = pv.metadata.annotation(Keys.node) ?? ""
            pool = pv.metadata.annotation(Keys.pool) ?? ""
            phase = pv.phase
            let ref = pv.spec.claimRef
            claimNamespace = ref?.namespace
            claimName = ref?.name
            claimUID = ref?.uid ?? ""
            state = pv.metadata.annotation(Keys.deleting) != nil ? "deleting"
                : (pv.metadata.annotation(Keys.provisioning) != nil ? "provisioning" : "")
            deleting = pv.metadata.isDeleting
        }

        func sameStatic(_ other: VolumeRow) -> Bool {
            storageClass == other.storageClass && accessBits == other.accessBits && volumeMode == other.volumeMode
                && capacityBytes == other.capacityBytes && created == other.created && node == other.node && pool == other.pool
        }
    }

    /// What `claim_index` holds for a claim.
    struct ClaimRow: Equatable {
        var uid: String, phase: String, volumeName: String, bindCompleted: Bool

        init(_ claim: PersistentVolumeClaim) {
            uid = claim.uid
            phase = claim.phase
            volumeName = claim.volumeName
            bindCompleted = claim.isBindCompleted
        }
    }

    /// Keeps the index tables in step with a written object. Given the object as stored before
    /// (`old`), only what changed is written: an index row that did not change costs nothing, and
    /// a binding change touches only the SQL indexes on binding columns.
    private func index<T: KubeObject>(_ object: T, old: T? = nil) throws {
        if let pv = object as? PersistentVolume {
            let row = VolumeRow(pv)
            if let before = (old as? PersistentVolume).map(VolumeRow.init) {
                if before == row { return }
                if before.sameStatic(row) {
                    try db.cachedStatement(sql: """
                        UPDATE volume_index SET phase = ?, claim_namespace = ?, claim_name = ?, claim_uid = ?, state = ?, deleting = ?
                        WHERE name = ? AND class = ? AND access_bits = ? AND volume_mode = ? AND capacity_bytes = ?
                            AND created = ? AND node = ? AND pool = ?
                        """).execute(arguments: [row.phase, row.claimNamespace, row.claimName, row.claimUID, row.state,
                                                 row.deleting ? 1 : 0, pv.name, row.storageClass, row.accessBits, row.volumeMode,
                                                 row.capacityBytes, row.created, row.node, row.pool])
                    // a row that does not hold what the stored object says is rewritten whole below
                    if db.changesCount == 1 { return }
                }
            }
            try db.cachedStatement(sql: """
                INSERT INTO volume_index (name, class, phase, access_bits, volume_mode, capacity_bytes, created,
                    claim_namespace, claim_name, claim_uid, state, node, pool, deleting)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET class = excluded.class, phase = excluded.phase,
                    access_bits = excluded.access_bits, volume_mode = excluded.volume_mode,
                    capacity_bytes = excluded.capacity_bytes, created = excluded.created,
                    claim_namespace = excluded.claim_namespace, claim_name = excluded.claim_name,
                    claim_uid = excluded.claim_uid, state = excluded.state, node = excluded.node,
                    pool = excluded.pool, deleting = excluded.deleting
                """).execute(arguments: [
                    pv.name, row.storageClass, row.phase, row.accessBits, row.volumeMode, row.capacityBytes,
                    row.created, row.claimNamespace, row.claimName, row.claimUID,
                    row.state, row.node, row.pool, row.deleting ? 1 : 0,
                ])
        } else if let claim = object as? PersistentVolumeClaim {
            let row = ClaimRow(claim)
            if let before = (old as? PersistentVolumeClaim).map(ClaimRow.init) {
                if before == row { return }
                if before.uid == row.uid {
                    try db.cachedStatement(sql: "UPDATE claim_index SET phase = ?, volume_name = ?, bind_completed = ? WHERE namespace = ? AND name = ? AND uid = ?")
                        .execute(arguments: [row.phase, row.volumeName, row.bindCompleted ? 1 : 0, claim.namespace, claim.name, row.uid])
                    if db.changesCount == 1 { return }
                }
            }
            try db.cachedStatement(sql: """
                INSERT INTO claim_index (namespace, name, uid, phase, volume_name, bind_completed)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (namespace, name) DO UPDATE SET uid = excluded.uid, phase = excluded.phase,
                    volume_name = excluded.volume_name, bind_completed = excluded.bind_completed
                """).execute(arguments: [claim.namespace, claim.name, row.uid, row.phase, row.volumeName,
                                         row.bindCompleted ? 1 : 0])
        }
    }

    // MARK: indexed queries

    func volumeCandidates(storageClass: String, accessModes: AccessModeSet, volumeMode: String, minBytes: Int64,
                          limit: Int) throws -> [PersistentVolume] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT o.body, o.revision, o.name FROM volume_index v INDEXED BY volume_match
            CROSS JOIN objects o ON o.kind = 'PersistentVolume' AND o.namespace = '' AND o.name = v.name
            WHERE v.class = ? AND v.phase = 'Available' AND v.access_bits = ? AND v.volume_mode = ? AND v.capacity_bytes >= ?
              AND v.claim_name IS NULL AND v.deleting = 0
            ORDER BY v.capacity_bytes, v.created, v.name LIMIT ?
            """), arguments: [storageClass, accessModes.bits, volumeMode, minBytes, limit])
        return try rows.map { try typedVolume($0) }
    }

    func hasAvailableVolumes(storageClass: String) throws -> Bool {
        try Row.fetchOne(db.cachedStatement(sql: """
            SELECT 1 FROM volume_index INDEXED BY volume_match
            WHERE class = ? AND phase = 'Available' AND claim_name IS NULL AND deleting = 0 LIMIT 1
            """), arguments: [storageClass]) != nil
    }

    func volumesReserved(claimNamespace: String, claimName: String) throws -> [PersistentVolume] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT o.body, o.revision, o.name FROM volume_index v INDEXED BY volume_claim
            CROSS JOIN objects o ON o.kind = 'PersistentVolume' AND o.namespace = '' AND o.name = v.name
            WHERE v.claim_namespace = ? AND v.claim_name = ? ORDER BY v.created, v.name
            """), arguments: [claimNamespace, claimName])
        return try rows.map { try typedVolume($0) }
    }

    /// A PV from a (body, revision, name) row, through the cache; decoded ones are kept for this
    /// transaction so that the update that usually follows does not decode it again.
    private func typedVolume(_ row: Row) throws -> PersistentVolume {
        let revision: Int64 = row[1]
        let key = ObjectCache.key(PersistentVolume.info.kind, "", row[2])
        if let e = written[key], e.revision == revision, let pv = e.object as? PersistentVolume { return pv }
        if let e = cache.get(key), e.revision == revision, let pv = e.object as? PersistentVolume {
            if !readOnly { remember(key, e) }
            return pv
        }
        let pv = try PersistentVolume.decode(data: row[0])
        let entry = ObjectCache.Entry(revision: revision, object: pv)
        if readOnly { cache.put(key, entry) } else { remember(key, entry) }
        return pv
    }

    func volumeNames() throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM volume_index ORDER BY name"))
    }

    func withSavepoint<T>(_ body: () throws -> T) throws -> T {
        let (savedRevision, savedChanges, savedUndo) = (revision, changes.count, writtenUndo.count)
        savepoints += 1
        defer {
            savepoints -= 1
            if savepoints == 0 { writtenUndo.removeAll() }
        }
        var result: T?
        do {
            try db.inSavepoint {
                result = try body()
                return .commit
            }
        } catch {
            revision = savedRevision
            changes.removeSubrange(savedChanges...)
            while writtenUndo.count > savedUndo {
                let (key, previous) = writtenUndo.removeLast()
                written[key] = previous
            }
            throw GroupCommitWriter.translate(error)
        }
        guard let result else { throw BerthError.internalError("savepoint body produced no result") }
        return result
    }

    func claimKeys(boundToVolume volume: String) throws -> [(String, String)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT namespace, name FROM claim_index INDEXED BY claim_bound_volume WHERE volume_name = ? AND phase = 'Bound' AND volume_name != ''"),
                         arguments: [volume]).map { ($0[0], $0[1]) }
    }

    func unboundClaimKeys() throws -> [(String, String)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT namespace, name FROM claim_index WHERE bind_completed = 0 ORDER BY namespace, name"))
            .map { ($0[0], $0[1]) }
    }

    func allocatedBytes(node: String, pool: String) throws -> Int64 {
        // kept up to date by triggers on volume_index, so this is one lookup, not a sum over the pool
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT bytes FROM pool_usage WHERE node = ? AND pool = ?"),
                           arguments: [node, pool]) ?? 0
    }
}
