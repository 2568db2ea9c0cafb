import Foundation

/// Whether this machine can run the privileged tests (real loop devices, mkfs, mount), and whether
/// they must: with `BERTH_REQUIRE_PRIVILEGED_TESTS=1` (set by CI) they run, and fail, instead of skipping.
public enum Privileged {
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["BERTH_REQUIRE_PRIVILEGED_TESTS"] == "1" }

    public static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
            && ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static var shouldRun: Bool { isAvailable || isRequired }
}

/// Runs a shell command; its status and output (stdout then stderr).
@discardableResult
public func shell(_ command: String) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    // the system tools (mkfs, losetup, sfdisk) live in sbin, which a test runner's PATH may lack
    p.arguments = ["-c", "PATH=\"$PATH:/usr/sbin:/sbin\"; " + command]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
