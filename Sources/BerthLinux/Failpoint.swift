import Foundation
import Glibc

/// Crash injection for tests: with `BERTH_FAILPOINT=name[,name…]`, reaching `hit("name")` kills the
/// process with SIGKILL, exactly as a crash would (no flush, no defer, no atexit).
public enum Failpoint {
    static let armed: Set<String> = Set(
        (ProcessInfo.processInfo.environment["BERTH_FAILPOINT"] ?? "").split(separator: ",").map(String.init))

    public static func hit(_ name: StaticString) {
        guard !armed.isEmpty, armed.contains("\(name)") else { return }
        kill(getpid(), SIGKILL)
    }
}

/// Runs blocking work (fsync, directory walks) on a thread outside Swift's cooperative pool.
public enum Blocking {
    static let queue = DispatchQueue(label: "berth.blocking", qos: .userInitiated, attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
