import Glibc

/// An exclusive lock on a file, held for the life of the process, so that two agents never share
/// one state directory. The corresponding call is `flock(LOCK_EX | LOCK_NB)`.
public final class StateLock: Sendable {
    let fd: Int32

    /// Returns nil when another process holds the lock.
    public init?(path: String) throws(SystemError) {
        let fd = try sys("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = Glibc.errno
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw SystemError("flock", path: path, errno: e)
        }
        self.fd = fd
    }

    deinit { close(fd) }
}

/// Sets a path's permission bits. The corresponding call is `chmod`.
public func setMode(_ path: String, _ mode: mode_t) throws(SystemError) {
    try sys("chmod", path) { chmod(path, mode) }
}


/// Starts this same program again, in place (same PID), with `MALLOC_ARENA_MAX=2` unless the
/// environment already says otherwise. glibc reads that variable only at process start. With its
/// default of up to eight arenas per core, memory freed by one of the agent's threads was not reused by
/// another and peak RSS was about 25% higher under load (docs/performance.md). Returns only when the
/// variable was already set or exec failed. The corresponding call is `execv(/proc/self/exe)`.
public func reexecWithMallocArenaLimit() {
    guard getenv("MALLOC_ARENA_MAX") == nil else { return }
    setenv("MALLOC_ARENA_MAX", "2", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
}

/// Raises the soft limit on open files to the hard one. Removing a volume's tree holds one
/// descriptor per directory level (each level is opened without following a symlink), and a workload
/// can nest directories deeply; at the usual soft limit of 1,024 such a tree could not be deleted.
/// The corresponding calls are `getrlimit` and `setrlimit(RLIMIT_NOFILE)`.
public func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}
