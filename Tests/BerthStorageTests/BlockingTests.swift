@testable import BerthLinux
import Glibc
import Testing

@Suite struct BlockingTests {
    @Test func blockingWorkRunsBelowTheCatalogWriter() async throws {
        // the nice value is per thread on Linux; the test process itself keeps its own
        let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let inPool = try await Blocking.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        #expect(inPool == Blocking.niceness)
        #expect(own != inPool)
    }
}
