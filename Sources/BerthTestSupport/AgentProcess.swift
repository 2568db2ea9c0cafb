import BerthClient
import BerthModel
import Foundation
import Synchronization

/// The real `berth` binary: built by `swift build` before the tests (scripts/test does it).
public enum BerthBinary {
    public static var path: String {
        if let p = ProcessInfo.processInfo.environment["BERTH_BINARY"], !p.isEmpty { return p }
        // Sources/BerthTestSupport/AgentProcess.swift -> package root
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/berth").path
    }
}

/// A running `berth agent` in its own state directory, stopped (or killed) by the test.
public final class AgentProcess: @unchecked Sendable {
    public let stateDir: String
    public let socket: String
    public let logPath: String
    public private(set) var process: Process?
    let extraArguments: [String]

    public init(stateDir: String, arguments: [String] = []) {
        self.stateDir = stateDir
        self.socket = stateDir + "/berth.sock"
        self.logPath = stateDir + ".log"
        self.extraArguments = arguments
    }

    public var client: APIClient { APIClient(endpoint: .unix(socket)) }

    /// Starts the agent and waits until it answers; `failpoint` arms BERTH_FAILPOINT.
    public func start(failpoint: String? = nil, resync: Int = 1) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BerthBinary.path)
        p.arguments = ["agent", "--state-dir", stateDir, "--resync", String(resync), "--log-level", "debug"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["BERTH_FAILPOINT"] = failpoint
        p.environment = env
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        logFile.seekToEndOfFile()
        p.standardOutput = logFile
        p.standardError = logFile
        try p.run()
        process = p
        Self.running.withLock { $0[p.processIdentifier] = stateDir }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if !p.isRunning { throw BerthError.internalError("agent exited at start: \(log())") }
            if let r = try? await client.send(.GET, "/readyz"), r.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BerthError.internalError("agent did not become ready: \(log())")
    }

    /// SIGTERM, then wait for exit; returns the exit status.
    @discardableResult
    public func stop() async -> Int32 {
        guard let p = process else { return 0 }
        if p.isRunning { p.terminate() }
        return await waitForExit()
    }

    /// Agents started and not yet seen to exit: pid → state directory.
    static let running = Mutex<[pid_t: String]>([:])

    /// Kills (SIGKILL) every agent this process started whose state directory lies under `path`, and
    /// waits until each is gone, so that nothing mounts there any more.
    public static func killAll(under path: String) {
        let victims = running.withLock { map in map.filter { $0.value == path || $0.value.hasPrefix(path + "/") }.map(\.key) }
        for pid in victims {
            Foundation.kill(pid, SIGKILL)
            // gone, or a zombie waiting to be reaped: either way it runs no more
            for _ in 0..<200 {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                if stat.isEmpty || stat.contains(") Z ") { break }
                usleep(10_000)
            }
            running.withLock { _ = $0.removeValue(forKey: pid) }
        }
    }

    /// kill -9.
    public func kill() async {
        guard let p = process else { return }
        if p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
        await waitForExit()
    }

    /// Waits until the process has exited (for example after hitting a failpoint).
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(20)) async -> Int32 {
        guard let p = process else { return 0 }
        let deadline = ContinuousClock.now + timeout
        while p.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        Self.running.withLock { _ = $0.removeValue(forKey: p.processIdentifier) }
        process = nil
        return p.terminationStatus
    }

    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)).map { String($0.suffix(4000)) } ?? ""
    }

    deinit {
        if let p = process, p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
    }
}

/// Polls until `condition` holds or the timeout passes.
public func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        // an error (the agent restarting, say) counts as "not yet"
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// The random-kill walk of the crash tests: `rounds` times, an agent starts in `stateDir`, is asked
/// from another task to apply `manifest(round)` and then to delete some claims made in earlier rounds
/// (their names from `claimName(round, index)`, `perRound` a round), and is killed with SIGKILL at a
/// random moment after the requests start (`delays` ms): before, during or after the volume work
/// they cause. Returns the seed and what happened each round, for failure messages.
/// `BERTH_RANDOM_SEED` replays a walk; without it the seed is the time.
public func killAtRandomMoments(stateDir: String, rounds: Int, perRound: Int, deletesPerRound: Int, delays: Range<Int>,
                                claimName: (Int, Int) -> String, manifest: (Int) -> String) async throws -> String {
    let seed = UInt64(ProcessInfo.processInfo.environment["BERTH_RANDOM_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
    var rng = SeededRandom(seed: seed)
    var history: [String] = []
    for round in 0..<rounds {
        let agent = AgentProcess(stateDir: stateDir)
        try await agent.start()
        let yaml = manifest(round)
        let doomed = round == 0 ? [] : Array(Set((0..<deletesPerRound).map { _ in claimName(rng.below(round), rng.below(perRound)) })).sorted()
        let requests = Task.detached { [socket = agent.socket] in
            _ = try? runCLI(["apply", "-f", "-"], socket: socket, stdin: yaml)
            if !doomed.isEmpty { _ = try? runCLI(["delete", "pvc"] + doomed + ["--wait=false"], socket: socket, stdin: nil) }
        }
        let delay = delays.lowerBound + rng.below(delays.count)
        history.append("round \(round): kill after \(delay) ms")
        try await Task.sleep(for: .milliseconds(delay))
        await agent.kill()
        await requests.value
    }
    return "seed \(seed): \(history.joined(separator: "; "))"
}

/// Waits until no volume work is in flight: every claim Bound and not being deleted, one PV per
/// claim, every PV Bound and neither being provisioned nor deleted.
public func volumesConverged(_ agent: AgentProcess, timeout: Duration = .seconds(60)) async throws -> Bool {
    try await eventually(timeout: timeout) {
        let claims = try await agent.client.list(.persistentVolumeClaim, namespace: nil).items
        let pvs = try await agent.client.list(.persistentVolume, namespace: nil).items
        return claims.allSatisfy { $0["status"]?["phase"]?.stringValue == "Bound" && $0["metadata"]?["deletionTimestamp"] == nil }
            && pvs.count == claims.count
            && pvs.allSatisfy { pv in
                pv["status"]?["phase"]?.stringValue == "Bound" && pv["metadata"]?["deletionTimestamp"] == nil
                    && pv["metadata"]?["annotations"]?[Keys.provisioning] == nil && pv["metadata"]?["annotations"]?[Keys.deleting] == nil
            }
    }
}

/// Runs the `berth` CLI and captures its output.
public struct CLIResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public func runCLI(_ arguments: [String], socket: String?, stdin: String? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: BerthBinary.path)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["BERTH_SOCKET"] = socket
    p.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Watches `path` in the background, collecting `"TYPE name"` for each event until `last` is seen.
public func collectWatch(_ api: APIClient, _ path: String, until last: String) -> Task<[String], any Error> {
    Task {
        var seen: [String] = []
        try await api.watch(path) { event in
            seen.append("\(event["type"]?.stringValue ?? "") \(event["object"]?["metadata"]?["name"]?.stringValue ?? "")")
            return !seen.contains(last)
        }
        return seen
    }
}
