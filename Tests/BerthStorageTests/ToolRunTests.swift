import BerthLinux
import Foundation
import Testing

/// Running the system tools (mkfs, resize2fs, e2fsck) through swift-subprocess, from the blocking
/// pool as the provisioners do.
@Suite struct ToolRunTests {
    @Test func outputComesBackAndAFailureCarriesItsStatusAndStderr() async throws {
        let out = try await Blocking.run { try Filesystem.run(["sh", "-c", "echo made; echo noise >&2"]) }
        #expect(out == "made\n")
        do {
            _ = try await Blocking.run { try Filesystem.run(["sh", "-c", "echo 'mkfs.ext4: Device size reported to be zero.' >&2; exit 1"]) }
            Issue.record("a failing tool did not throw")
        } catch let e as ToolError {
            #expect(e.status == 1 && e.stderr.contains("Device size reported to be zero"), "\(e)")
            #expect("\(e)".contains("sh -c"), "the error names the command: \(e)")
        }
        do {
            _ = try await Blocking.run { try Filesystem.run(["berth-no-such-tool-here"]) }
            Issue.record("a missing tool did not throw")
        } catch let e as ToolError {
            #expect(e.status != 0)
        }
    }

    /// The sbin directories are on the tool's PATH even when the agent's is not.
    @Test func sbinIsOnThePath() async throws {
        let path = try await Blocking.run { try Filesystem.run(["sh", "-c", "echo $PATH"]) }
        #expect(path.contains("/usr/sbin") && path.contains("/sbin"))
    }
}
