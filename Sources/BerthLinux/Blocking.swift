import Foundation
import Glibc

/// Runs blocking work (fsync, directory walks) on threads outside Swift's cooperative pool.
///
/// A pool of its own threads rather than a concurrent DispatchQueue: on Linux such a queue runs only
/// about as many items at once as there are cores, and fsync-bound work then queues up behind two
/// threads that mostly wait for the disk.
///
/// Its threads run at nice 10. The catalog's single writer is what limits how fast volumes are
/// made; the disk work here is many volumes at once, mostly waiting for fsync, but fsync in a VM
/// also costs CPU, and at equal priority it took the writer's core. In alternating runs of
/// `berth-bench --provision 2000` nice 10 was faster in 8 of 9 pairs, by about 10 % on average
/// (docs/performance.md). Tools started from these threads (mkfs, mount) inherit it, which matters
/// only when the host's CPUs are busy.
public enum Blocking {
    static let pool = BlockingPool(threads: 16)
    static let niceness: Int32 = 10

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.submit { continuation.resume(with: Result { try body() }) }
        }
    }
}

final class BlockingPool: @unchecked Sendable {
    private let lock = NSCondition()
    private var queue: [@Sendable () -> Void] = []

    init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "berth-blocking-\(i)"
            thread.start()
        }
    }

    func submit(_ item: @escaping @Sendable () -> Void) {
        lock.lock()
        queue.append(item)
        lock.signal()
        lock.unlock()
    }

    private func work() {
        // on Linux the nice value is per thread, and `who` 0 is the calling thread
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Blocking.niceness)
        while true {
            lock.lock()
            while queue.isEmpty { lock.wait() }
            let item = queue.removeFirst()
            lock.unlock()
            item()
        }
    }
}
