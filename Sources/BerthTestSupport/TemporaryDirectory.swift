import BerthLinux
import Foundation

/// A directory under /tmp that is removed when the test is done with it.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(prefix: String = "berth-test") {
        let template = "/tmp/\(prefix).XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed for \(template)")
        path = String(cString: bytes.withUnsafeBufferPointer { $0.baseAddress! })
    }

    public func sub(_ name: String) -> String { path + "/" + name }

    /// Unmounts whatever is still mounted below this directory (a pod's bind mounts, a loop volume an
    /// agent left mounted when it stopped), deepest first, then removes the directory. Only mounts
    /// inside this test's own directory are touched.
    deinit { remove() }

    /// Removes the directory now (also done when the object goes away): first every agent this
    /// process started with its state under here is killed (one left running would mount pods' volumes
    /// again), then what is mounted below is unmounted, deepest first, then the directory goes.
    public func remove() {
        AgentProcess.killAll(under: path)
        let prefix = path + "/"
        // a target can be mounted more than once (stacked or propagated mounts): repeat until none is left
        for _ in 0..<8 {
            // the whole mount table (Foundation reads only the first 4 KiB of a /proc file)
            let mounted = Mount.table().map(\.target).filter { $0.hasPrefix(prefix) }
            if mounted.isEmpty { break }
            for target in mounted.sorted(by: { $0.count > $1.count }) { _ = umount2(target, 0) }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
