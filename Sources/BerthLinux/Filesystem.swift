import Foundation
import Subprocess
import SystemPackage

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

    /// Formats `device` as `type` with the given UUID. The device must have been probed empty:
    /// mkfs.ext4 silently overwrites an existing filesystem when it has no terminal.
    public static func make(_ type: String, on device: String, uuid: String) throws {
        switch type {
        case "ext4":
            // the backing file is fresh and sparse, so it reads as zeros: nothing to zero again, and
            // nothing to discard (a discard of the whole device cost about 1.3 ms of an 8 ms mkfs here)
            try run(["mkfs.ext4", "-q", "-U", uuid, "-m", "0", "-E", "assume_storage_prezeroed=1,nodiscard", device])
        case "xfs":
            try run(["mkfs.xfs", "-q", "-K", "-m", "uuid=\(uuid)", device])
        default:
            throw ToolError(command: ["mkfs.\(type)"], status: -1, stderr: "berth formats only \(supported.joined(separator: " and "))")
        }
    }

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

    /// Runs a tool to completion; a non-zero exit is a `ToolError` carrying its stderr.
    @discardableResult
    public static func run(_ command: [String]) throws -> String {
        // swift-subprocess rather than Foundation's Process: spawning /bin/true took 1.5 ms through
        // it and 5–52 ms through Process here, which was most of a loop volume's create time beside mkfs.
        // Callers are threads of the blocking pool, so waiting here ties up no cooperative thread.
        let executable: Executable
        var arguments = Array(command.dropFirst())
        if let tool = command.first, let path = locate(tool) {
            // straight to the tool, not through env(1): one exec less per mkfs
            executable = .path(FilePath(path))
        } else {
            executable = .path("/usr/bin/env")
            arguments = command
        }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                let r = try await Subprocess.run(executable, arguments: Arguments(arguments), environment: .inherit.updating(["PATH": path]),
                                                 input: .none, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
                outcome.set(.success((r.terminationStatus, r.standardOutput, r.standardError)))
            } catch {
                outcome.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        switch outcome.get() {
        case .failure(let error):
            throw ToolError(command: command, status: -1, stderr: "cannot run: \(error)")
        case .success(let (status, output, errors)):
            switch status {
            case .exited(0): return output
            case .exited(let code): throw ToolError(command: command, status: code, stderr: errors)
            case .signaled(let signal): throw ToolError(command: command, status: 128 + signal, stderr: errors + "(killed by signal \(signal))")
            }
        }
    }

    /// What a tool run came to, handed from the task that ran it to the waiting thread.
    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Result<(TerminationStatus, String, String), any Error> = .failure(CancellationError())
        func set(_ v: Result<(TerminationStatus, String, String), any Error>) { lock.withLock { value = v } }
        func get() -> Result<(TerminationStatus, String, String), any Error> { lock.withLock { value } }
    }
}
