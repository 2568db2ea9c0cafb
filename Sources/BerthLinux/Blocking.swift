import Foundation
import Glibc

/// Runs blocking work (fsync, directory walks) on threads outside Swift's cooperative pool.
///
/// A pool of its own threads rather than a concurrent DispatchQueue: on Linux such a queue runs only
/// about as many items at once as there are cores, and fsync-bound work then queues up behind two
/// threads that mostly wait for the disk.
public enum Blocking {
    static let pool = BlockingPool(threads: 16)

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
        while true {
            lock.lock()
            while queue.isEmpty { lock.wait() }
            let item = queue.removeFirst()
            lock.unlock()
            item()
        }
    }
}
