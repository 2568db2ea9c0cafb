import Glibc

/// A directory opened by file descriptor, through which volume content is created and removed
/// without ever following a symlink (openat/mkdirat/unlinkat with O_NOFOLLOW and AT_SYMLINK_NOFOLLOW).
///
/// The root itself is opened by path (an administrator's storage root may sit behind a symlink);
/// everything below it is reached one component at a time, refusing symlinks.
public final class SafeDirectory {
    public let fd: Int32
    public let path: String

    /// Opens an existing directory. The corresponding call is `open(O_DIRECTORY)`.
    public init(path: String) throws(SystemError) {
        self.path = path
        self.fd = try sys("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Creates `path` and its parents (mode 0755) when missing, then opens it.
    public static func makeRoot(path: String) throws(SystemError) -> SafeDirectory {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0, Glibc.errno != EEXIST {
                throw SystemError("mkdir", path: current, errno: Glibc.errno)
            }
        }
        return try SafeDirectory(path: path)
    }

    /// Opens a child directory without following a symlink. The corresponding call is `openat(O_NOFOLLOW)`.
    public func openChild(_ name: String) throws(SystemError) -> SafeDirectory {
        try Self.checkName(name, in: path)
        let child = try sys("openat", "\(path)/\(name)") { openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        return SafeDirectory(fd: child, path: "\(path)/\(name)")
    }

    /// Walks a relative path (`a/b/c`) one component at a time, refusing symlinks.
    public func openDescendant(_ relative: String) throws(SystemError) -> SafeDirectory {
        var dir = self
        for part in relative.split(separator: "/") where !part.isEmpty {
            dir = try dir.openChild(String(part))
        }
        return dir
    }

    /// Creates a child directory; returns false when it already existed (as a directory).
    @discardableResult
    public func makeChild(_ name: String, mode: mode_t = 0o755) throws(SystemError) -> Bool {
        try Self.checkName(name, in: path)
        if mkdirat(fd, name, mode) == 0 { return true }
        let e = Glibc.errno
        guard e == EEXIST else { throw SystemError("mkdirat", path: "\(path)/\(name)", errno: e) }
        guard kind(of: name) == .directory else { throw SystemError("mkdirat", path: "\(path)/\(name)", errno: ENOTDIR) }
        return false
    }

    public enum EntryKind: Sendable { case missing, directory, file, symlink, other }

    /// The type of a child, without following a symlink. The corresponding call is `fstatat(AT_SYMLINK_NOFOLLOW)`.
    public func kind(of name: String) -> EntryKind {
        var st = stat()
        if fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Writes a whole file atomically (temp file, fsync, rename, fsync of this directory); without
    /// `durable`, the two fsyncs are left out (atomic, but may be lost in a power cut).
    public func writeFile(_ name: String, contents: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        try Self.checkName(name, in: path)
        let temp = Self.temporaryName(of: name)
        _ = unlinkat(fd, temp, 0)
        let file = try sys("openat", "\(path)/\(temp)") {
            openat(fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        }
        defer { close(file) }
        var offset = 0
        while offset < contents.count {
            let n = contents.withUnsafeBytes { buf in write(file, buf.baseAddress! + offset, buf.count - offset) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SystemError("write", path: "\(path)/\(temp)", errno: Glibc.errno)
            }
            offset += n
        }
        if durable { try sys("fsync", "\(path)/\(temp)") { fsync(file) } }
        try sys("renameat", "\(path)/\(name)") { renameat(fd, temp, fd, name) }
        if durable { try sync() }
    }

    /// The name `writeFile` and `setSymlink` write under before renaming into place; a crash between
    /// the two leaves a file of this name behind, which the next write replaces.
    public static func temporaryName(of name: String) -> String { ".\(name).tmp" }

    /// Reads a regular file (not through a symlink); nil when it does not exist.
    public func readFile(_ name: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8]? {
        try Self.checkName(name, in: path)
        // O_NONBLOCK: a FIFO planted under this name must not hang the reader
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if file < 0 {
            let e = Glibc.errno
            if e == ENOENT { return nil }
            throw SystemError("openat", path: "\(path)/\(name)", errno: e)
        }
        defer { close(file) }
        var st = stat()
        try sys("fstat", "\(path)/\(name)") { fstat(file, &st) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw SystemError("read (not a regular file)", path: "\(path)/\(name)", errno: EINVAL)
        }
        var out: [UInt8] = []
        // sized to the file (these are small identity and marker files), not a fixed 64 KiB buffer
        var buf = [UInt8](repeating: 0, count: max(1, min(Int(st.st_size) + 1, limit)))
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { read(file, $0.baseAddress!, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SystemError("read", path: "\(path)/\(name)", errno: Glibc.errno)
            }
            if n == 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// Creates a sparse regular file of `bytes` and flushes it (file and entry); false when it
    /// already existed (it is left as it is: never truncated, never reused blindly).
    /// The corresponding calls are `openat(O_CREAT|O_EXCL|O_NOFOLLOW)` and `ftruncate`.
    public func createSparseFile(_ name: String, bytes: Int64, mode: mode_t = 0o600) throws(SystemError) -> Bool {
        try Self.checkName(name, in: path)
        let file = openat(fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if file < 0 {
            let e = Glibc.errno
            if e == EEXIST, kind(of: name) == .file { return false }
            throw SystemError("openat", path: "\(path)/\(name)", errno: e)
        }
        defer { close(file) }
        do {
            try sys("ftruncate", "\(path)/\(name)") { ftruncate(file, off_t(bytes)) }
            try sys("fsync", "\(path)/\(name)") { fsync(file) }
            try sync()
        } catch {
            _ = unlinkat(fd, name, 0)
            throw error
        }
        return true
    }

    /// Opens a regular file for reading without following a symlink; the caller closes the
    /// descriptor. Tools and libraries that take a path are then given `/proc/self/fd/N` (or, for a
    /// tool, the descriptor itself), so that they reach this file and nothing swapped in for it.
    /// The corresponding call is `openat(O_NOFOLLOW)`.
    public func openRegularFile(_ name: String) throws(SystemError) -> Int32 {
        try Self.checkName(name, in: path)
        let file = try sys("openat", "\(path)/\(name)") { openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        var st = stat()
        guard fstat(file, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(file)
            throw SystemError("openat", path: "\(path)/\(name)", errno: EINVAL)
        }
        return file
    }

    /// Grows a regular file to `bytes` (never shrinks it) and flushes it.
    public func growFile(_ name: String, to bytes: Int64) throws(SystemError) {
        try Self.checkName(name, in: path)
        let file = try sys("openat", "\(path)/\(name)") { openat(fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(file) }
        var st = stat()
        try sys("fstat", "\(path)/\(name)") { fstat(file, &st) }
        guard Int64(st.st_size) < bytes else { return }
        try sys("ftruncate", "\(path)/\(name)") { ftruncate(file, off_t(bytes)) }
        try sys("fsync", "\(path)/\(name)") { fsync(file) }
    }

    /// The size of a regular child file, nil when missing. Does not follow a symlink.
    public func fileSize(_ name: String) -> Int64? {
        var st = stat()
        guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Points a symlink named `name` at `target`, replacing an older link atomically.
    public func setSymlink(_ name: String, to target: String) throws(SystemError) {
        try Self.checkName(name, in: path)
        let temp = Self.temporaryName(of: name)
        _ = unlinkat(fd, temp, 0)
        try sys("symlinkat", "\(path)/\(temp)") { symlinkat(target, fd, temp) }
        try sys("renameat", "\(path)/\(name)") { renameat(fd, temp, fd, name) }
        try sync()
    }

    /// Flushes this directory's entries to disk. The corresponding call is `fsync`.
    public func sync() throws(SystemError) {
        try sys("fsync", path) { fsync(fd) }
    }

    /// Names of the entries in this directory (without `.` and `..`).
    public func entries() throws(SystemError) -> [String] {
        let dupFD = try sys("dup", path) { dup(fd) }
        guard let dir = fdopendir(dupFD) else {
            let e = Glibc.errno
            close(dupFD)
            throw SystemError("fdopendir", path: path, errno: e)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a child and everything below it. Symlinks are unlinked, never followed; nothing outside
    /// this directory is touched. Returns false when the child did not exist.
    @discardableResult
    public func removeTree(_ name: String) throws(SystemError) -> Bool {
        try Self.checkName(name, in: path)
        switch kind(of: name) {
        case .missing:
            return false
        case .directory:
            let child = try openChild(name)
            for entry in try child.entries() {
                try child.removeTree(entry)
            }
            try sys("unlinkat", "\(path)/\(name)") { unlinkat(fd, name, AT_REMOVEDIR) }
        default:
            try sys("unlinkat", "\(path)/\(name)") { unlinkat(fd, name, 0) }
        }
        return true
    }

    /// Removes a child that is a symlink, a regular file or an empty directory — never anything below
    /// it (a directory that still holds something, such as a bind mount that did not come off, is an
    /// error rather than a deletion of what it shows). Missing is success.
    public func removeShallow(_ name: String) throws(SystemError) {
        try Self.checkName(name, in: path)
        switch kind(of: name) {
        case .missing: return
        case .directory: try sys("unlinkat(AT_REMOVEDIR)", "\(path)/\(name)") { unlinkat(fd, name, AT_REMOVEDIR) }
        default: try sys("unlinkat", "\(path)/\(name)") { unlinkat(fd, name, 0) }
        }
    }

    /// Refuses names that would leave this directory.
    static func checkName(_ name: String, in path: String) throws(SystemError) {
        if name.isEmpty || name == "." || name == ".." || name.contains("/") {
            throw SystemError("check-name", path: "\(path)/\(name)", errno: EINVAL)
        }
    }
}

/// Facts about the filesystem under a path.
public enum FileSystemInfo {
    /// Total size in bytes of the filesystem holding `path`. The corresponding call is `statvfs`.
    public static func totalBytes(path: String) throws(SystemError) -> Int64 {
        var st = statvfs()
        try sys("statvfs", path) { statvfs(path, &st) }
        return Int64(st.f_blocks) * Int64(st.f_frsize)
    }

    /// The host's name. The corresponding call is `gethostname`.
    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
