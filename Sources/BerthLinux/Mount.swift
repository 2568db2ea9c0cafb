import Glibc

/// Mounting and unmounting filesystems with mount(2), and reading /proc/self/mountinfo.
public enum Mount {
    /// Mounts `device` (a filesystem of `type`) at `target`. Options known to mount(8) as flags
    /// (ro, noatime, nosuid, …) become flags; the rest go to the filesystem as data.
    /// The corresponding call is `mount(2)`.
    public static func mount(device: String, at target: String, type: String, options: [String]) throws(SystemError) {
        var flags: UInt = 0
        var data: [String] = []
        for option in options {
            switch option {
            case "ro": flags |= UInt(MS_RDONLY)
            case "rw": flags &= ~UInt(MS_RDONLY)
            case "noatime": flags |= UInt(MS_NOATIME)
            case "nodiratime": flags |= UInt(MS_NODIRATIME)
            case "relatime": flags |= UInt(MS_RELATIME)
            case "strictatime": flags |= UInt(MS_STRICTATIME)
            case "nosuid": flags |= UInt(MS_NOSUID)
            case "nodev": flags |= UInt(MS_NODEV)
            case "noexec": flags |= UInt(MS_NOEXEC)
            case "sync": flags |= UInt(MS_SYNCHRONOUS)
            case "dirsync": flags |= UInt(MS_DIRSYNC)
            case "defaults", "auto", "async", "suid", "dev", "exec", "atime", "diratime": break
            default: data.append(option)
            }
        }
        let dataText = data.joined(separator: ",")
        try sys("mount", "\(device) on \(target)") { Glibc.mount(device, target, type, flags, dataText.isEmpty ? nil : dataText) }
    }

    /// Makes `source` (a directory) appear at `target` too. The corresponding call is `mount(2)` with MS_BIND.
    public static func bind(_ source: String, at target: String) throws(SystemError) {
        try sys("mount(MS_BIND)", "\(source) on \(target)") { Glibc.mount(source, target, nil, UInt(MS_BIND), nil) }
    }

    /// Whether this process may mount (it runs as root). The corresponding call is `geteuid`.
    public static var isPermitted: Bool { geteuid() == 0 }

    /// Whether something is mounted exactly at `target`.
    public static func isMountPoint(_ target: String) -> Bool { entry(at: target) != nil }

    /// Unmounts `target`; one that is not mounted is success. The corresponding call is `umount2(2)`.
    public static func unmount(_ target: String) throws(SystemError) {
        if umount2(target, 0) == 0 { return }
        let e = errno
        if e == EINVAL || e == ENOENT { return }
        throw SystemError("umount2", path: target, errno: e)
    }

    /// One line of /proc/self/mountinfo.
    public struct Entry: Sendable, Equatable {
        public var major: UInt32
        public var minor: UInt32
        public var target: String
        public var type: String
    }

    /// Every mount of this mount namespace.
    public static func table() -> [Entry] {
        guard let text = try? readProcFile("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { return nil }
            let numbers = fields[2].split(separator: ":")
            guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else { return nil }
            return Entry(major: major, minor: minor, target: unescape(String(fields[4])), type: String(fields[dash + 1]))
        }
    }

    /// The mount at exactly `target`, if any (the last one, which is the one visible). `target` is
    /// resolved first, as the kernel records it: a path through a symlink would otherwise never match.
    public static func entry(at target: String) -> Entry? {
        let resolved = resolved(target)
        return table().last { $0.target == resolved }
    }

    /// `path` with every symlink resolved (realpath), or `path` itself when it does not resolve.
    public static func resolved(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func readProcFile(_ path: String) throws(SystemError) -> String {
        let fd = try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SystemError("read", path: path, errno: errno) }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
