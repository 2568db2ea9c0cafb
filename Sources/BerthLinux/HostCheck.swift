import CBlkid
import Foundation
import Glibc

/// What `berth doctor` checks: whether this host can serve loop-device volumes.
public enum HostCheck {
    public struct Finding: Sendable {
        public var name: String
        public var isOK: Bool
        public var detail: String
        /// What to install or change when the check fails.
        public var fix: String
    }

    public static func run() -> [Finding] {
        var out: [Finding] = []
        let root = geteuid() == 0
        out.append(Finding(name: "root", isOK: root, detail: root ? "running as root" : "running as uid \(geteuid())",
                           fix: "run the agent as root (loop devices and mount(2) need CAP_SYS_ADMIN)"))
        let control = access("/dev/loop-control", R_OK | W_OK) == 0
        out.append(Finding(name: "/dev/loop-control", isOK: control,
                           detail: control ? "present and writable" : "missing or not writable (\(String(cString: strerror(errno))))",
                           fix: "load the loop module (modprobe loop) or run where /dev/loop-control is available (a container needs --privileged or the device)"))
        for (tool, package) in [("mkfs.ext4", "e2fsprogs"), ("resize2fs", "e2fsprogs"), ("mkfs.xfs", "xfsprogs"), ("xfs_growfs", "xfsprogs")] {
            let candidates: [String] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map { "\($0)/\(tool)" }
            let path = candidates.first { access($0, X_OK) == 0 }
            out.append(Finding(name: tool, isOK: path != nil, detail: path ?? "not found",
                               fix: "apt-get install \(package) (or your distribution's \(package))"))
        }
        var version: UnsafePointer<CChar>?
        var date: UnsafePointer<CChar>?
        let code = blkid_get_library_version(&version, &date)
        out.append(Finding(name: "libblkid", isOK: code > 0, detail: version.map { "version \(String(cString: $0))" } ?? "unknown",
                           fix: "apt-get install libblkid1"))
        return out
    }
}
