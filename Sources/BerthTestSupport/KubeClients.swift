import Foundation

/// kubectl and the official Kubernetes Python client, installed by scripts/test into a virtual
/// environment it owns (`.build/kube-clients`). With `BERTH_REQUIRE_KUBE_CLIENTS=1` (scripts/test
/// sets it) the tests that use them run, and fail, instead of skipping when they are missing.
public enum KubeClients {
    static var env: [String: String] { ProcessInfo.processInfo.environment }

    public static var kubectl: String { env["BERTH_KUBECTL"] ?? "" }
    public static var python: String { env["BERTH_KUBE_PYTHON"] ?? "" }
    public static var isRequired: Bool { env["BERTH_REQUIRE_KUBE_CLIENTS"] == "1" }
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: kubectl) && FileManager.default.isExecutableFile(atPath: python)
    }
    public static var shouldRun: Bool { isAvailable || isRequired }

    /// The package's root, for files the tests run (Tests/KubeClients/python_client.py).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Runs a program under coreutils' `timeout` (a hung client fails the test instead of stalling it).
/// Output goes through files, so that a chatty program never blocks on a full pipe.
public func runProgram(_ path: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                       timeoutSeconds: Int = 60) throws -> CLIResult {
    let base = NSTemporaryDirectory() + "berth-run-" + UUID().uuidString
    let fm = FileManager.default
    _ = fm.createFile(atPath: base + ".out", contents: nil)
    _ = fm.createFile(atPath: base + ".err", contents: nil)
    _ = fm.createFile(atPath: base + ".in", contents: Data((stdin ?? "").utf8))
    defer { for s in [".out", ".err", ".in"] { try? fm.removeItem(atPath: base + s) } }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["-k", "5", String(timeoutSeconds), path] + arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: base + ".in"))
    try p.run()
    p.waitUntilExit()
    func read(_ s: String) -> String { (try? String(contentsOfFile: base + s, encoding: .utf8)) ?? "" }
    return CLIResult(status: p.terminationStatus, stdout: read(".out"), stderr: read(".err"))
}
