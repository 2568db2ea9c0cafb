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

