@testable import BerthControllers
import Testing

/// The controller's queue of marked objects: which marks a pass serves, and which wait for the next.
@Suite struct WorkQueueTests {
    @Test func aMarkFromAChangeThePassSawIsServed() {
        let work = WorkQueue()
        let a = Key("ns", "a"), b = Key("ns", "b")
        work.mark(claim: a, revision: 10)
        work.mark(claim: b, revision: 10)
        _ = work.take()
        // while the pass runs, both are marked again: a by a change the pass's transaction saw
        // (committed before it began at revision 12), b by a later one
        work.mark(claim: a, revision: 11)
        work.mark(claim: b, revision: 13)
        work.done(claims: [a, b], seenUpTo: 12)
        let next = work.take()
        #expect(next.claims == [b: 13])
    }

    @Test func aChangeTheLastSyncSawIsNotMarkedAgainWhenNotedLate() {
        let work = WorkQueue()
        let a = Key("ns", "a")
        work.done(claims: [a], seenUpTo: 12)
        #expect(work.isSynced(claim: a, revision: 12))
        #expect(!work.isSynced(claim: a, revision: 13))
        // a full resync forgets it
        work.markAll()
        #expect(!work.isSynced(claim: a, revision: 12))
    }

    @Test func aRequeuedClaimIsNeverDroppedAsServed() {
        let work = WorkQueue()
        let a = Key("ns", "a")
        work.mark(claims: [a])
        work.done(claims: [a], seenUpTo: .max - 1)
        #expect(work.take().claims[a] != nil)
    }

    @Test func volumesKeepTheirNewestMark() {
        let work = WorkQueue()
        work.mark(volume: "pv-1", revision: 5)
        work.mark(volume: "pv-1", revision: 3)
        work.done(volumes: ["pv-1"], seenUpTo: 4)
        #expect(work.take().volumes == ["pv-1": 5])
    }

    @Test func theNotedRevisionFollowsChangesAndWatchStarts() {
        let work = WorkQueue()
        #expect(work.notedRevision == 0)
        work.markAll(notedUpTo: 40)
        #expect(work.notedRevision == 40)
        #expect(work.take().all)
        work.noted(41)
        #expect(work.notedRevision == 41)
    }
}
