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
