import BerthLinux
import BerthTestSupport
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

    /// More than a pipe holds, on both streams, and all of it read, with and without a time limit
    /// (with one, the tool's exit is watched through a pidfd beside the pipes).
    @Test func everythingAToolWritesIsRead() async throws {
        let script = "head -c 300000 /dev/zero | tr '\\0' a; head -c 100000 /dev/zero | tr '\\0' b >&2"
        for timeout: Duration? in [nil, .seconds(60)] {
            let out = try await Blocking.run { try Filesystem.run(["sh", "-c", script], timeout: timeout) }
            #expect(out.utf8.count == 300_000 && out.utf8.allSatisfy { $0 == UInt8(ascii: "a") })
            do {
                _ = try await Blocking.run { try Filesystem.run(["sh", "-c", script + "; exit 3"], timeout: timeout) }
                Issue.record("a failing tool did not throw")
            } catch let e as ToolError {
                #expect(e.status == 3 && e.stderr.utf8.count == 100_000)
            }
        }
    }

    /// A file handed over by descriptor (how mkfs gets a backing file, so that it never follows a
    /// path that could have been swapped for a symlink) is the tool's descriptor 3, and nothing else is.
    @Test func aFileCanBeHandedOverAsDescriptor3() async throws {
        let dir = TemporaryDirectory()
        try Data("handed over".utf8).write(to: URL(fileURLWithPath: dir.sub("f")))
        let root = try SafeDirectory(path: dir.path)
        let file = try root.openRegularFile("f")
        defer { close(file) }
        let out = try await Blocking.run { try Filesystem.run(["sh", "-c", "cat /dev/fd/3; ls /proc/$$/fd"], inheriting: file) }
        #expect(out.hasPrefix("handed over"))
        #expect(out.dropFirst("handed over".count).split(separator: "\n").sorted() == ["0", "1", "2", "3"], "\(out)")
        try FileManager.default.createSymbolicLink(atPath: dir.sub("link"), withDestinationPath: dir.sub("f"))
        #expect(throws: SystemError.self) { _ = try root.openRegularFile("link") }
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
