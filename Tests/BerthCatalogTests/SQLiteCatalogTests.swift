@testable import BerthCatalog
import BerthModel
import BerthTestSupport
import Foundation
import GRDB
import GRDBSQLite
import Testing

@Suite struct SQLiteCatalogTests {
    let dir = TemporaryDirectory()
    var path: String { dir.sub("catalog.sqlite") }

    func claim(_ name: String) -> PersistentVolumeClaim {
        var c = PersistentVolumeClaim(namespace: "default", name: name)
        c.spec.accessModes = ["ReadWriteOnce"]
        c.spec.resources = .init(requests: ["storage": Quantity(bytes: 1 << 30)])
        return c
    }

    func volume(_ name: String) -> PersistentVolume {
        var pv = PersistentVolume(name: name)
        pv.spec.capacity = ["storage": Quantity(bytes: 1 << 30)]
        pv.spec.accessModes = ["ReadWriteOnce"]
        pv.spec.hostPath = .init(path: "/tmp/x")
        return pv
    }

    @Test func createSetsIdentityAndRevision() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let created = try await catalog.write { tx in try tx.create(self.claim("a")) }
        #expect(!created.uid.isEmpty)
        #expect(created.metadata.creationTimestamp != nil)
        #expect(created.revision == 1)
        let again = try await catalog.write { tx in try tx.create(self.claim("b")) }
        #expect(again.revision == 2)
        #expect(catalog.currentRevision == 2)
    }

    /// A transaction that writes more objects than half the cache holds keeps the rest as bytes
    /// only: its later writes are still read back as written, within it and after it, and every
    /// change still decodes.
    @Test func aLargeTransactionKeepsOnlyTheBytesOfItsLaterObjects() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let n = catalog.cache.typedPerTransaction + 100
        let watch = try await catalog.watch(after: catalog.currentRevision)
        try await catalog.write { tx in
            for i in 0..<n { try tx.create(self.volume("pv-\(i)")) }
            // the last one was written past the cap: read back from SQLite, at its new revision
            var last = try #require(try tx.get(PersistentVolume.self, name: "pv-\(n - 1)"))
            #expect(last.revision == Int64(n))
            last.setPhase("Available")
            try tx.update(last)
            #expect(try tx.get(PersistentVolume.self, name: "pv-\(n - 1)")?.phase == "Available")
        }
        var changes: [Change] = []
        for try await batch in watch {
            changes += batch
            if changes.count >= n + 1 { break }
        }
        #expect(changes.count == n + 1)
        #expect(changes.prefix(catalog.cache.typedPerTransaction).allSatisfy { $0.typed != nil })
        #expect(changes.dropFirst(catalog.cache.typedPerTransaction).allSatisfy { $0.typed == nil })
        let decoded = try changes.map { try $0.decode(PersistentVolume.self) }
        #expect(decoded.map(\.name) == (0..<n).map { "pv-\($0)" } + ["pv-\(n - 1)"])
        #expect(decoded.last?.phase == "Available")
        let stored = try await catalog.read { tx in try tx.get(PersistentVolume.self, name: "pv-\(n - 1)") }
        #expect(stored?.phase == "Available")
        #expect(stored?.revision == Int64(n + 1))
    }

    /// What a write transaction lists of its own writes (past the typed cap, read back from SQLite)
    /// must not reach the shared cache: rolled back, its revisions are used again by the next writes.
    @Test func rowsAWriteTransactionListsBeforeItRollsBackNeverReachTheCache() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let n = catalog.cache.typedPerTransaction + 10
        await #expect(throws: BerthError.self) {
            try await catalog.write { tx in
                for i in 0..<n { try tx.create(self.volume("pv-\(i)")) }
                _ = try tx.list(PersistentVolume.self)
                throw BerthError.invalid("rolled back")
            }
        }
        let uids = try await catalog.write { tx in try (0..<n).map { try tx.create(self.volume("pv-\($0)")).uid } }
        let listed = try await catalog.read { tx in try tx.list(PersistentVolume.self) }
        let expected = Dictionary(uniqueKeysWithValues: (0..<n).map { ("pv-\($0)", uids[$0]) })
        #expect(listed.count == n)
        let stale = listed.filter { expected[$0.name] != $0.uid }.map(\.name)
        #expect(stale.isEmpty, "\(stale.count) objects listed as they were before the rollback, e.g. \(stale.prefix(3))")
    }

    /// `mayHave(member:)` may say yes wrongly (a decode that finds nothing) but never no wrongly.
    @Test func aChangeWithoutItsTypedValueTellsWhichMembersItCannotHave() throws {
        var bound = volume("pv-a")
        bound.spec.claimRef = ObjectReference(kind: "PersistentVolumeClaim", namespace: "default", name: "c", uid: "u")
        bound.metadata.labels = ["note": "\"claimRef\": in a value"]
        func change(_ pv: PersistentVolume, typed: Bool) -> Change {
            Change(type: .added, object: StoredObject(kind: "PersistentVolume", namespace: "", name: pv.name, revision: 1, data: pv.jsonData()),
                   typed: typed ? pv : nil)
        }
        #expect(change(bound, typed: false).mayHave(member: "claimRef"))
        #expect(!change(volume("pv-b"), typed: false).mayHave(member: "claimRef"))
        #expect(!change(volume("pv-b"), typed: false).mayHave(member: "deletionTimestamp"))
        #expect(change(volume("pv-b"), typed: true).mayHave(member: "claimRef"))
        var unbound = volume("pv-c")
        unbound.metadata.annotations = ["x": "\"claimRef\": is only text here"]
        // text inside a value is escaped, so it does not look like a member name
        #expect(!change(unbound, typed: false).mayHave(member: "claimRef"))
    }

    @Test func duplicateCreateIsAlreadyExists() async throws {
        let catalog = try SQLiteCatalog(path: path)
        try await catalog.write { tx in try tx.create(self.claim("a")) }
        await #expect { try await catalog.write { tx in try tx.create(self.claim("a")) } } throws: {
            ($0 as? BerthError)?.code == .alreadyExists
        }
    }

    @Test func staleResourceVersionIsAConflictAndChangesNothing() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let first = try await catalog.write { tx in try tx.create(self.claim("a")) }
        var newer = first
        newer.metadata.labels = ["v": "2"]
        let newerCopy = newer
        try await catalog.write { tx in try tx.update(newerCopy) }
        var stale = first
        stale.metadata.labels = ["v": "stale"]
        let staleCopy = stale
        await #expect { try await catalog.write { tx in try tx.update(staleCopy) } } throws: {
            ($0 as? BerthError)?.code == .conflict
        }
        let stored = try await catalog.read { tx in try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "a") }
        #expect(stored?.metadata.labels == ["v": "2"])
    }

    @Test func noOpUpdateKeepsTheRevision() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let first = try await catalog.write { tx in try tx.create(self.claim("a")) }
        let same = try await catalog.write { tx in try tx.update(first) }
        #expect(same.revision == first.revision)
    }

    @Test func failedJobInABatchDoesNotUndoTheOthers() async throws {
        let catalog = try SQLiteCatalog(path: path)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask {
                    do {
                        try await catalog.write { tx in
                            try tx.create(self.claim("c\(i)"))
                            if i % 5 == 0 { throw BerthError.invalid("job \(i) fails after writing") }
                        }
                        return true
                    } catch { return false }
                }
            }
            var ok = 0
            for try await r in group where r { ok += 1 }
            #expect(ok == 40)
        }
        let names = try await catalog.read { tx in try tx.list(PersistentVolumeClaim.self).map(\.name) }
        #expect(names.count == 40)
        #expect(!names.contains("c0") && !names.contains("c45"))
    }

    @Test func aLoneFailedJobLeavesNothingBehind() async throws {
        // alone in its transaction a job runs without a savepoint: its failure must still undo
        // every write it made, publish nothing and keep the revision
        let catalog = try SQLiteCatalog(path: path)
        try await catalog.write { tx in try tx.create(self.claim("kept")) }
        let before = catalog.currentRevision
        let watch = try await catalog.watch(after: before)
        await #expect(throws: BerthError.self) {
            try await catalog.write { tx in
                for i in 0..<300 { try tx.create(self.claim("gone-\(i)")) }
                var kept = try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "kept")!
                kept.metadata.labels = ["changed": "yes"]
                try tx.update(kept)
                throw BerthError.invalid("fails after writing")
            }
        }
        #expect(catalog.currentRevision == before)
        let (names, kept) = try await catalog.read { tx in
            (try tx.list(PersistentVolumeClaim.self).map(\.name), try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "kept"))
        }
        #expect(names == ["kept"])
        #expect(kept?.metadata.labels == nil)
        // the next write takes the next revision, and is the first change a watcher sees
        try await catalog.write { tx in try tx.create(self.claim("after")) }
        var iterator = watch.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(first.map(\.object.name) == ["after"])
        #expect(first.first?.revision == before + 1)
    }

    @Test func finalizersDelayDeletion() async throws {
        let catalog = try SQLiteCatalog(path: path)
        var c = claim("a")
        c.metadata.finalizers = ["example.com/hold"]
        let held = c
        try await catalog.write { tx in try tx.create(held) }
        let marked = try await catalog.write { tx in try tx.delete(PersistentVolumeClaim.self, namespace: "default", name: "a", uid: nil) }
        #expect(marked?.metadata.deletionTimestamp != nil)
        try await catalog.write { tx in
            var cur = try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "a")!
            cur.metadata.finalizers = nil
            try tx.update(cur)
        }
        let gone = try await catalog.read { tx in try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "a") }
        #expect(gone == nil)
    }

    @Test func watchResumesFromARevisionAndReportsGoneWhenCompacted() async throws {
        let catalog = try SQLiteCatalog(path: path, retainedChanges: 10)
        for i in 0..<5 { try await catalog.write { tx in try tx.create(self.claim("w\(i)")) } }
        let stream = try await catalog.watch(after: 2)
        var seen: [Int64] = []
        for try await batch in stream {
            seen += batch.map(\.revision)
            if seen.count >= 3 { break }
        }
        #expect(seen == [3, 4, 5])
        for i in 5..<1100 { try await catalog.write { tx in try tx.create(self.claim("w\(i)")) } }
        let subscribers = catalog.feed.subscriberCount
        await #expect { _ = try await catalog.watch(after: 2) } throws: { ($0 as? BerthError)?.code == .gone }
        // the refused watch leaves no subscription behind to hold later commits
        #expect(catalog.feed.subscriberCount == subscribers)
    }

    @Test func aLiveBatchKeepsOnlyWhatTheBacklogDidNotCoverAndTheWatchWants() {
        func change(_ revision: Int64, _ kind: String) -> Change {
            Change(type: .added, object: StoredObject(kind: kind, namespace: "", name: "o\(revision)", revision: revision, data: Data()))
        }
        let claim = PersistentVolumeClaim.info.kind, volume = PersistentVolume.info.kind
        let batch = [change(5, claim), change(6, volume), change(7, claim)]
        // wholly new, every kind: the same array
        #expect(SQLiteCatalog.unseen(batch, after: 4, kinds: nil).map(\.revision) == [5, 6, 7])
        // partly covered by the backlog: only what came after it
        #expect(SQLiteCatalog.unseen(batch, after: 5, kinds: nil).map(\.revision) == [6, 7])
        // wholly covered: nothing, so nothing is repeated
        #expect(SQLiteCatalog.unseen(batch, after: 7, kinds: nil).isEmpty)
        // one kind, partly covered
        #expect(SQLiteCatalog.unseen(batch, after: 5, kinds: [claim]).map(\.revision) == [7])
        #expect(SQLiteCatalog.unseen(batch, after: 4, kinds: [volume]).map(\.revision) == [6])
    }

    @Test func aWatchOfOneKindSkipsOthersWithoutLosingOrRepeatingItsOwn() async throws {
        let catalog = try SQLiteCatalog(path: path)
        // revisions 1-2 claims, 3-4 volumes: the backlog after 1 ends with changes of another kind
        try await catalog.write { tx in
            try tx.create(self.claim("k1"))
            try tx.create(self.claim("k2"))
            try tx.create(self.volume("v1"))
            try tx.create(self.volume("v2"))
        }
        let stream = try await catalog.watch(after: 1, kinds: [PersistentVolumeClaim.info.kind])
        try await catalog.write { tx in
            try tx.create(self.volume("v3"))
            try tx.create(self.claim("k3"))
        }
        // the backlog is one batch, the later commit another, each with only the claims
        var batches: [[String]] = []
        for try await batch in stream {
            batches.append(batch.map(\.object.name))
            if batches.count == 2 { break }
        }
        #expect(batches == [["k2"], ["k3"]])
    }

    @Test func reopenKeepsObjectsAndRevision() async throws {
        do {
            let catalog = try SQLiteCatalog(path: path)
            try await catalog.write { tx in try tx.create(self.claim("a")) }
        }
        let reopened = try SQLiteCatalog(path: path)
        #expect(reopened.currentRevision == 1)
        let c = try await reopened.read { tx in try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "a") }
        #expect(c != nil)
    }

    @Test func refusesACatalogFromANewerBerth() async throws {
        do { _ = try SQLiteCatalog(path: path) }
        let db = try DatabaseQueue(path: path)
        try await db.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        #expect {
            _ = try SQLiteCatalog(path: path)
        } throws: { ($0 as? BerthError)?.message.contains("newer berth") == true }
    }

    @Test func writerRunsWithSynchronousFull() async throws {
        let catalog = try SQLiteCatalog(path: path)
        let mode = try await catalog.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(mode == 2)
        let checkpoint = try await catalog.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(checkpoint == SQLiteCatalog.checkpointPages)
        let journal = try await catalog.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func sqliteKeepsNoMemoryStatistics() async throws {
        // with statistics on, every SQLite allocation takes one process-wide mutex
        let catalog = try SQLiteCatalog(path: path)
        try await catalog.write { tx in try tx.create(self.claim("a")) }
        #expect(sqlite3_memory_used() == 0)
    }

    @Test func schemaRefusesTwoBoundVolumesForOneClaim() async throws {
        let catalog = try SQLiteCatalog(path: path)
        @Sendable func boundPV(_ name: String) -> PersistentVolume {
            var pv = PersistentVolume(name: name)
            pv.spec.capacity = ["storage": Quantity(bytes: 1 << 30)]
            pv.spec.accessModes = ["ReadWriteOnce"]
            pv.spec.hostPath = .init(path: "/tmp/x")
            pv.spec.claimRef = ObjectReference(namespace: "default", name: "a", uid: "same-uid")
            pv.status = .init(phase: "Bound")
            return pv
        }
        try await catalog.write { tx in try tx.create(boundPV("one")) }
        await #expect { try await catalog.write { tx in try tx.create(boundPV("two")) } } throws: {
            ($0 as? BerthError)?.code == .conflict
        }
    }
}

@Suite struct CatalogShutdownTests {
    let dir = TemporaryDirectory()

    @Test func aClosedCatalogRefusesNewWatches() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        catalog.close()
        await #expect { _ = try await catalog.watch(after: 0) } throws: { ($0 as? BerthError)?.code == .unavailable }
    }
}

@Suite struct PoolUsageTests {
    let dir = TemporaryDirectory()

    func pv(_ name: String, _ gi: Int64, pool: String = "default") -> PersistentVolume {
        var pv = PersistentVolume(name: name)
        pv.spec.capacity = ["storage": Quantity(bytes: gi << 30)]
        pv.spec.accessModes = ["ReadWriteOnce"]
        pv.spec.hostPath = .init(path: "/p/\(name)")
        pv.metadata.setAnnotation(Keys.node, "n")
        pv.metadata.setAnnotation(Keys.pool, pool)
        return pv
    }

    @Test func allocationFollowsCreatesResizesAndDeletes() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        try await catalog.write { tx in
            try tx.create(self.pv("a", 1))
            try tx.create(self.pv("b", 2))
            try tx.create(self.pv("other", 5, pool: "fast"))
        }
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "default") } == 3 << 30)
        try await catalog.write { tx in
            var b = try tx.get(PersistentVolume.self, name: "b")!
            b.spec.capacity = ["storage": Quantity(bytes: 4 << 30)]
            try tx.update(b)
            try tx.delete(PersistentVolume.self, namespace: "", name: "a", uid: nil)
        }
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "default") } == 4 << 30)
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "fast") } == 5 << 30)
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "none") } == 0)
    }

    /// A Bound volume that is growing counts at the size reserved for it; any other volume at its
    /// capacity, which is also what matching sees.
    @Test func aGrowthReservationCountsOnlyWhileTheVolumeIsBound() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        try await catalog.write { tx in
            var b = self.pv("b", 2)
            b.metadata.setAnnotation(Keys.resizeReserved, String(Int64(6) << 30))
            b.setPhase("Bound")
            try tx.create(b)
            var a = self.pv("a", 1)
            a.metadata.setAnnotation(Keys.resizeReserved, String(Int64(6) << 30))
            a.setPhase("Available")
            try tx.create(a)
        }
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "default") } == 7 << 30)
        let fits = try await catalog.read { tx in
            try tx.volumeCandidates(storageClass: "", accessModes: AccessModeSet(["ReadWriteOnce"]), volumeMode: "Filesystem",
                                    minBytes: 2 << 30, limit: 1)
        }
        #expect(fits.isEmpty, "a 1Gi volume is not a candidate for 2Gi, whatever its annotation")
        try await catalog.write { tx in
            var b = try tx.get(PersistentVolume.self, name: "b")!
            b.setPhase("Released")
            try tx.update(b)
        }
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "default") } == 3 << 30)
    }
}

/// The index tables are written only with what changed; these check that they still hold exactly
/// what the objects say after every kind of change.
@Suite struct IndexTableTests {
    let dir = TemporaryDirectory()

    /// PV "v": 1Gi, ReadWriteOnce, host path.
    func volume() -> PersistentVolume {
        var pv = PersistentVolume(name: "v")
        pv.spec.capacity = ["storage": Quantity(bytes: 1 << 30)]
        pv.spec.accessModes = ["ReadWriteOnce"]
        pv.spec.hostPath = .init(path: "/p/v")
        return pv
    }

    func volumeRow(_ catalog: SQLiteCatalog, _ name: String) async throws -> [String] {
        try await catalog.pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT class, phase, access_bits, volume_mode, capacity_bytes, claim_namespace, claim_name, claim_uid,
                    state, node, pool, deleting FROM volume_index WHERE name = ?
                """, arguments: [name])
            guard let row else { return [] }
            return (0..<row.count).map { (row[$0] as DatabaseValue).description }
        }
    }

    func expected(_ catalog: SQLiteCatalog, _ name: String) async throws -> [String] {
        let pv = try await catalog.read { try $0.get(PersistentVolume.self, name: name)! }
        let row = SQLiteTransaction.VolumeRow(pv)
        func text(_ s: String?) -> String { s.map { "\"\($0)\"" } ?? "NULL" }
        return [text(row.storageClass), text(row.phase), "\(row.accessBits)", text(row.volumeMode), "\(row.capacityBytes)",
                text(row.claimNamespace), text(row.claimName), text(row.claimUID), text(row.state), text(row.node),
                text(row.pool), row.deleting ? "1" : "0"]
    }

    @Test func theVolumeIndexFollowsEveryKindOfChange() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        var pv = volume()
        pv.metadata.setAnnotation(Keys.node, "n")
        pv.metadata.setAnnotation(Keys.pool, "default")
        pv.metadata.finalizers = ["test/keep"]
        try await catalog.write { [pv] tx in try tx.create(pv) }
        #expect(try await volumeRow(catalog, "v") == expected(catalog, "v"))
        let edits: [@Sendable (inout PersistentVolume) -> Void] = [
            { $0.setPhase("Available") },                                       // binding columns only
            { $0.metadata.labels = ["tier": "gold"] },                          // nothing indexed
            { $0.spec.claimRef = ObjectReference(namespace: "ns", name: "c", uid: "u1"); $0.setPhase("Bound") },
            { $0.spec.capacity = ["storage": Quantity(bytes: 3 << 30)] },      // a static column
            { $0.metadata.setAnnotation(Keys.deleting, "true") },
            { $0.spec.claimRef = nil; $0.setPhase("Released"); $0.spec.storageClassName = "fast" },
        ]
        for edit in edits {
            try await catalog.write { tx in
                var current = try tx.get(PersistentVolume.self, name: "v")!
                edit(&current)
                try tx.update(current)
            }
            #expect(try await volumeRow(catalog, "v") == expected(catalog, "v"))
        }
        #expect(try await catalog.read { try $0.allocatedBytes(node: "n", pool: "default") } == 3 << 30)
        try await catalog.write { tx in _ = try tx.delete(PersistentVolume.self, namespace: "", name: "v", uid: nil) }
        #expect(try await volumeRow(catalog, "v") == expected(catalog, "v"))
        #expect(try await volumeRow(catalog, "v").last == "1")
    }

    @Test func anIndexRowThatDisagreesWithItsObjectIsRewrittenWhole() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        let pv = volume()
        try await catalog.write { tx in try tx.create(pv) }
        // the row damaged behind the catalog's back (in columns a phase change does not write), then
        // missing altogether: each time the next phase change writes it whole again
        let damage = ["UPDATE volume_index SET class = 'wrong', volume_mode = 'Block' WHERE name = 'v'",
                      "DELETE FROM volume_index WHERE name = 'v'"]
        for (sql, phase) in zip(damage, ["Available", "Released"]) {
            try await catalog.pool.write { db in try db.execute(sql: sql) }
            try await catalog.write { tx in
                var current = try tx.get(PersistentVolume.self, name: "v")!
                current.setPhase(phase)
                try tx.update(current)
            }
            #expect(try await volumeRow(catalog, "v") == expected(catalog, "v"))
        }
    }

    @Test func theClaimIndexFollowsBindingAndUnbinding() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        var claim = PersistentVolumeClaim(namespace: "ns", name: "c")
        claim.spec.accessModes = ["ReadWriteOnce"]
        claim.spec.resources = .init(requests: ["storage": Quantity(bytes: 1 << 30)])
        try await catalog.write { [claim] tx in try tx.create(claim) }
        func row() async throws -> [String] {
            try await catalog.pool.read { db in
                let r = try Row.fetchOne(db, sql: "SELECT phase, volume_name, bind_completed FROM claim_index WHERE namespace = 'ns' AND name = 'c'")!
                return [r[0], r[1], "\(r[2] as Int)"]
            }
        }
        #expect(try await row() == ["Pending", "", "0"])
        try await catalog.write { tx in
            var c = try tx.get(PersistentVolumeClaim.self, namespace: "ns", name: "c")!
            c.spec.volumeName = "v"
            c.metadata.setAnnotation(Keys.bindCompleted, "yes")
            c.status = .init(phase: "Bound")
            try tx.update(c)
        }
        #expect(try await row() == ["Bound", "v", "1"])
        try await catalog.write { tx in
            var c = try tx.get(PersistentVolumeClaim.self, namespace: "ns", name: "c")!
            c.metadata.labels = ["a": "b"]
            try tx.update(c)
        }
        #expect(try await row() == ["Bound", "v", "1"])
        try await catalog.write { tx in
            var c = try tx.get(PersistentVolumeClaim.self, namespace: "ns", name: "c")!
            c.status = .init(phase: "Lost")
            try tx.update(c)
        }
        #expect(try await row() == ["Lost", "v", "1"])
    }

    @Test func unusedVolumeIndexesAreGone() async throws {
        let catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        let names = try await catalog.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'volume_index' AND sql IS NOT NULL ORDER BY name")
        }
        #expect(names == ["volume_bound_claim", "volume_claim", "volume_match"])
    }
}

@Suite struct ObjectCacheTests {
    func entry(_ name: String, revision: Int64) -> ObjectCache.Entry {
        ObjectCache.Entry(revision: revision, object: PersistentVolume(name: name))
    }

    @Test func whatWasPutLastSurvivesHalfTheLimitOfLaterPutsAndTheCacheStaysBounded() {
        let cache = ObjectCache(limit: 8)
        for i in 0..<4 { cache.put("pv-\(i)", entry("pv-\(i)", revision: Int64(i))) }
        // four more: the first four move to the old generation, still there
        cache.merge(Dictionary(uniqueKeysWithValues: (4..<8).map { ("pv-\($0)", entry("pv-\($0)", revision: Int64($0))) }), removing: [])
        #expect((0..<8).allSatisfy { cache.get("pv-\($0)") != nil })
        // four more again: the oldest four are gone, the rest is held
        for i in 8..<12 { cache.put("pv-\(i)", entry("pv-\(i)", revision: Int64(i))) }
        #expect((0..<4).allSatisfy { cache.get("pv-\($0)") == nil })
        #expect((4..<12).allSatisfy { cache.get("pv-\($0)") != nil })
        for i in 12..<100 {
            cache.put("pv-\(i)", entry("pv-\(i)", revision: Int64(i)))
            #expect(cache.count <= 8)
        }
    }

    @Test func anOlderRevisionNeverReplacesANewerOneAndADeletionRemovesBothGenerations() {
        let cache = ObjectCache(limit: 4)
        cache.put("a", entry("a", revision: 5))
        cache.put("b", entry("b", revision: 1))
        cache.put("c", entry("c", revision: 1)) // "a" and "b" move to the old generation
        cache.put("a", entry("a", revision: 3))
        #expect(cache.get("a")?.revision == 5)
        cache.put("a", entry("a", revision: 7)) // a newer one in the young generation shadows the old
        #expect(cache.get("a")?.revision == 7)
        cache.merge([:], removing: ["a"])
        #expect(cache.get("a") == nil)
    }
}
