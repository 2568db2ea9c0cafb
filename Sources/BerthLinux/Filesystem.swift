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

    /// Formats `device` as `type` with the given UUID. The device must have been probed empty:
    /// mkfs.ext4 silently overwrites an existing filesystem when it has no terminal.
    public static func make(_ type: String, on device: String, uuid: String) throws {
        switch type {
        case "ext4":
            // the backing file is fresh and sparse, so it reads as zeros: nothing to zero again
            try run(["mkfs.ext4", "-q", "-U", uuid, "-m", "0", "-E", "assume_storage_prezeroed=1", device])
        case "xfs":
            try run(["mkfs.xfs", "-q", "-m", "uuid=\(uuid)", device])
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
        let process = Process()
        // straight to the tool, not through env(1): one exec less per mkfs
        if let tool = command.first, let path = locate(tool) {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = Array(command.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ToolError(command: command, status: -1, stderr: "cannot run: \(error)")
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolError(command: command, status: process.terminationStatus, stderr: String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
