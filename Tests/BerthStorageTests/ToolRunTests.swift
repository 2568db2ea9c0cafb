import BerthLinux
import Foundation
import Testing

/// Running the system tools (mkfs, resize2fs, e2fsck) through posix_spawn, from the blocking pool as
/// the provisioners do.
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

    /// A tool that runs past its time is killed, and says so; the agent's open files (the catalog,
    /// sockets, devices) do not reach it.
    @Test func aToolIsKilledAfterItsTimeAndInheritsNoDescriptors() async throws {
        let start = ContinuousClock.now
        do {
            _ = try await Blocking.run { try Filesystem.run(["sleep", "10"], timeout: .milliseconds(300)) }
            Issue.record("a tool past its timeout did not throw")
        } catch let e as ToolError {
            #expect(e.status == 128 + SIGKILL && "\(e)".contains("killed after running longer"), "\(e)")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        let kept = open("/dev/null", O_RDONLY)  // not close-on-exec
        defer { close(kept) }
        #expect(kept > 2)
        let fds = try await Blocking.run { try Filesystem.run(["sh", "-c", "ls /proc/$$/fd"]) }
        #expect(fds.split(separator: "\n").sorted() == ["0", "1", "2"], "the tool saw descriptors \(fds)")
    }
}
