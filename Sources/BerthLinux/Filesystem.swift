import CSpawn
import Foundation

/// A tool (mkfs, resize2fs, …) that failed: what ran, its exit status and what it said.
public struct ToolError: Error, Sendable, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let stderr: String

    public var description: String {
        let said = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(command.joined(separator: " ")) exited with status \(status)\(said.isEmpty ? "" : ": \(said)")"
    }
}

/// Making and growing filesystems with their own tools.
public enum Filesystem {
    /// The filesystem types berth formats.
    public static let supported = ["ext4", "xfs"]
    /// mkfs.xfs refuses anything smaller.
    public static let xfsMinimumBytes: Int64 = 300 * 1024 * 1024

    /// Formats `target` (a device, or a backing file before any device shows it) as `type` with the
    /// given UUID. It must have been probed empty: mkfs.ext4 silently overwrites an existing
    /// filesystem when it has no terminal.
    ///
    /// The block (ext4) and sector (xfs) size are 4096 bytes whatever `target` reports: a file
    /// reports none, and the loop device that later shows it may have 4096-byte sectors (one with
    /// direct I/O on a 4Kn disk), on which a filesystem of 1 KiB blocks or 512-byte sectors would
    /// not mount. 4096 mounts on every sector size up to the page size.
    /// - Parameter file: `target` opened (without following a symlink) by the caller: the tool is
    ///   given this descriptor (as `/dev/fd/3`) rather than the path; errors still name `target`.
    public static func make(_ type: String, on target: String, uuid: String, file: Int32? = nil) throws {
        let given = file == nil ? target : "/dev/fd/3"
        let command: [String]
        switch type {
        case "ext4":
            // the backing file is fresh and sparse, so it reads as zeros: nothing to zero again, and
            // nothing to discard (a discard of the whole device cost about 1.3 ms of an 8 ms mkfs here)
            command = ["mkfs.ext4", "-q", "-b", "4096", "-U", uuid, "-m", "0", "-E", "assume_storage_prezeroed=1,nodiscard", given]
        case "xfs":
            command = ["mkfs.xfs", "-q", "-K", "-s", "size=4096", "-m", "uuid=\(uuid)", given]
        default:
            throw ToolError(command: ["mkfs.\(type)"], status: -1, stderr: "berth formats only \(supported.joined(separator: " and "))")
        }
        do {
            try run(command, timeout: makeTimeout, inheriting: file)
        } catch let e as ToolError {
            throw ToolError(command: e.command.map { $0 == given ? target : $0 }, status: e.status, stderr: e.stderr)
        }
    }

    /// How long mkfs may take on a fresh, sparse file before it is taken for hung. (Checks and
    /// resizes of existing filesystems have no limit: killing one midway could damage the data.)
    static let makeTimeout: Duration = .seconds(600)

    /// Grows the filesystem on `device` (mounted at `mountPoint`) to fill the device.
    public static func grow(_ type: String, device: String, mountPoint: String) throws {
        switch type {
        case "xfs": try run(["xfs_growfs", mountPoint])
        default: try run(["resize2fs", device])
        }
    }

    /// The absolute path of a tool in the system directories, where mkfs and friends live.
    static func locate(_ tool: String) -> String? {
        if tool.hasPrefix("/") { return tool }
        return ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a tool to completion; a non-zero exit is a `ToolError` carrying its stderr. Returns
    /// what it wrote to stdout (the first MiB of each stream is kept). A tool still running after
    /// `timeout`, when one is given, is killed. `inheriting` is a descriptor the tool gets as its 3.
    ///
    /// posix_spawn directly rather than swift-subprocess (docs/design.md): spawning /bin/true
    /// took 1.09 ms through swift-subprocess's `run` (its monitor and I/O threads, and the hops
    /// between them and the caller) and 0.52 ms through posix_spawn and waitpid; mkfs is on the
    /// path of every loop volume's creation. Callers are threads of the blocking pool.
    @discardableResult
    public static func run(_ command: [String], timeout: Duration? = nil, inheriting file: Int32? = nil) throws -> String {
        let executable: String
        var argv = command
        if let tool = command.first, let path = locate(tool) {
            // straight to the tool, not through env(1): one exec less per mkfs
            executable = path
        } else {
            executable = "/usr/bin/env"
            argv = ["env"] + command
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        func failure(_ what: String, _ errno: Int32) -> ToolError {
            ToolError(command: command, status: -1, stderr: "cannot run: \(what) failed: \(String(cString: strerror(errno))) (errno \(errno))")
        }
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        var rc = berth_pipe_cloexec(&outPipe)
        guard rc == 0 else { throw failure("pipe2", rc) }
        rc = berth_pipe_cloexec(&errPipe)
        guard rc == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw failure("pipe2", rc)
        }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let spawned = berth_spawn(&pid, executable, cArgs, cEnv, outPipe[1], errPipe[1], file ?? -1)
        close(outPipe[1])
        close(errPipe[1])
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        guard spawned == 0 else { throw failure("posix_spawn(\(executable))", spawned) }
        // both pipes are read as the tool writes, so that neither can fill and stall it; the tool's
        // exit is watched through a pidfd in the same poll, so that the time limit covers a tool
        // that closed its output and runs on
        let pidfd = berth_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        let limit = 1 << 20
        var output: [UInt8] = [], errors: [UInt8] = []
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var timedOut = false
        var pollFailure: Int32 = 0
        var exited = false
        while fds.contains(where: { $0.fd >= 0 }) {
            var ms: Int32 = exited ? 0 : -1
            if !exited, let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero {
                    timedOut = true
                    break
                }
                ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), ms)
            if ready < 0 {
                if errno == EINTR { continue }
                pollFailure = errno
                break
            }
            // exited, and nothing more to read now (its own children may still hold the pipes:
            // they are not waited for)
            if exited, ready == 0 { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 {
                    let room = max(0, limit - (i == 0 ? output.count : errors.count))
                    if i == 0 { output += buffer[0..<min(n, room)] } else { errors += buffer[0..<min(n, room)] }
                } else if n == 0 || errno != EINTR {
                    fds[i].fd = -1
                }
            }
            if fds[2].fd >= 0, fds[2].revents != 0 {
                // exited: what it wrote before is still read, without waiting for more
                exited = true
                fds[2].fd = -1
            }
        }
        var status: Int32 = 0
        if timedOut || pollFailure != 0 { kill(pid, SIGKILL) }
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw failure("waitpid", errno) }
        }
        let said = String(decoding: errors, as: UTF8.self)
        if pollFailure != 0 { throw failure("poll", pollFailure) }
        if timedOut, let timeout {
            throw ToolError(command: command, status: 128 + SIGKILL, stderr: said + "(killed after running longer than \(timeout))")
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            if code == 0 { return String(decoding: output, as: UTF8.self) }
            throw ToolError(command: command, status: code, stderr: said)
        }
        throw ToolError(command: command, status: 128 + signal, stderr: said + "(killed by signal \(signal))")
    }
}
