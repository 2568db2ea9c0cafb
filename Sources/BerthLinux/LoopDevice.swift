import CLoop
import Glibc

/// A loop device bound to a backing file, found or attached through the kernel interface
/// (loop-control and the loop ioctls), never through losetup.
public struct LoopDevice: Sendable, Hashable {
    /// The device number N of `/dev/loopN`.
    public let number: Int32
    public var path: String { "/dev/loop\(number)" }

    public init(number: Int32) { self.number = number }

    /// The attachment of the file at `backing` if one exists, else a new one.
    ///
    /// The kernel lets one file be attached twice, and two read-write devices on one file corrupt
    /// its filesystem, so an existing attachment (same st_dev and st_ino) is always adopted.
    /// The corresponding calls are `ioctl(LOOP_CTL_GET_FREE)` and `ioctl(LOOP_CONFIGURE)`.
    ///
    /// No autoclear: it would detach the device the moment this call closes it, and a device left
    /// attached by a crash is adopted by the next call instead of leaking.
    ///
    /// - Parameter adopt: false for a file this process has just created: no attachment of it can
    ///   exist, and one that matches its (device, inode) is a stale attachment of a deleted file
    ///   whose inode number was reused, which must never be taken for it.
    public static func attach(backing: String, tag: String, adopt: Bool = true) throws(SystemError) -> (device: LoopDevice, adopted: Bool) {
        let file = try sys("open", backing) { open(backing, O_RDWR | O_CLOEXEC | O_NOFOLLOW) }
        defer { close(file) }
        var st = stat()
        try sys("fstat", backing) { fstat(file, &st) }
        if adopt, let existing = find(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) { return (existing, true) }
        let control = try sys("open", "/dev/loop-control") { open("/dev/loop-control", O_RDWR | O_CLOEXEC) }
        defer { close(control) }
        var flags = BERTH_LO_FLAGS_DIRECT_IO
        for attempt in 0..<64 {
            // serialises allocators that follow the same protocol (systemd, util-linux); the EBUSY
            // retry below is what makes a race with anyone else safe
            _ = flock(control, LOCK_EX)
            let nr = berth_loop_ctl_get_free(control)
            guard nr >= 0 else {
                _ = flock(control, LOCK_UN)
                throw SystemError("ioctl(LOOP_CTL_GET_FREE)", path: "/dev/loop-control", errno: -nr)
            }
            let devicePath = "/dev/loop\(nr)"
            let dev = open(devicePath, O_RDWR | O_CLOEXEC)
            if dev < 0 {
                let e = errno
                _ = flock(control, LOCK_UN)
                if e == ENOENT || e == ENXIO { continue }
                throw SystemError("open", path: devicePath, errno: e)
            }
            var rc = berth_loop_configure(dev, file, flags, tag)
            if rc == -EINVAL, flags & BERTH_LO_FLAGS_DIRECT_IO != 0 {
                // the backing filesystem cannot do direct I/O: buffered is correct, only slower
                flags &= ~BERTH_LO_FLAGS_DIRECT_IO
                rc = berth_loop_configure(dev, file, flags, tag)
            }
            _ = flock(control, LOCK_UN)
            close(dev)
            if rc == 0 { return (LoopDevice(number: nr), false) }
            // never LOOP_CLR_FD on EBUSY: the device belongs to whoever won it
            if rc == -EBUSY {
                usleep(useconds_t(10_000 + (attempt % 8) * 5_000))
                continue
            }
            throw SystemError("ioctl(LOOP_CONFIGURE)", path: devicePath, errno: -rc)
        }
        throw SystemError("ioctl(LOOP_CONFIGURE)", path: "/dev/loop-control", errno: EBUSY)
    }

    /// The attached device whose backing file is (device, inode), if any. Matches by identity, not
    /// by the path sysfs shows, which goes stale after a rename or unlink.
    public static func find(device: UInt64, inode: UInt64) -> LoopDevice? {
        guard let dir = opendir("/sys/block") else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("loop"), let nr = Int32(name.dropFirst(4)) else { continue }
            guard access("/sys/block/\(name)/loop/backing_file", F_OK) == 0 else { continue }
            guard let status = LoopDevice(number: nr).status() else { continue }
            if status.backingDevice == device, status.backingInode == inode { return LoopDevice(number: nr) }
        }
        return nil
    }

    /// The attachment of `backing`, if one exists.
    public static func find(backing: String) -> LoopDevice? {
        var st = stat()
        guard stat(backing, &st) == 0 else { return nil }
        return find(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public struct Status: Sendable {
        public var backingDevice: UInt64
        public var backingInode: UInt64
        public var flags: UInt32
        public var tag: String
    }

    /// What the device is bound to; nil when it is not bound. The corresponding call is `ioctl(LOOP_GET_STATUS64)`.
    public func status() -> Status? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var dev: UInt64 = 0, ino: UInt64 = 0, flags: UInt32 = 0
        var tag = [CChar](repeating: 0, count: 64)
        guard berth_loop_get_status(fd, &dev, &ino, &flags, &tag) == 0 else { return nil }
        return Status(backingDevice: dev, backingInode: ino, flags: flags,
                      tag: String(decoding: tag.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The device's size in bytes. The corresponding call is `ioctl(BLKGETSIZE64)`.
    public func size() throws(SystemError) -> Int64 {
        let fd = try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: UInt64 = 0
        let rc = berth_block_size(fd, &bytes)
        if rc < 0 { throw SystemError("ioctl(BLKGETSIZE64)", path: path, errno: -rc) }
        return Int64(bytes)
    }

    /// Makes the device re-read its backing file's size. The corresponding call is `ioctl(LOOP_SET_CAPACITY)`.
    public func refreshCapacity() throws(SystemError) {
        let fd = try sys("open", path) { open(path, O_RDWR | O_CLOEXEC) }
        defer { close(fd) }
        let rc = berth_loop_set_capacity(fd)
        if rc < 0 { throw SystemError("ioctl(LOOP_SET_CAPACITY)", path: path, errno: -rc) }
    }

    /// Detaches the device and waits until the kernel has really released it: LOOP_CLR_FD only
    /// marks a device that is still open elsewhere for detaching later.
    public func detach(timeout: Duration = .seconds(10)) throws(SystemError) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENXIO { return }
            throw SystemError("open", path: path, errno: errno)
        }
        let rc = berth_loop_clear(fd)
        close(fd)
        if rc < 0, rc != -ENXIO { throw SystemError("ioctl(LOOP_CLR_FD)", path: path, errno: -rc) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while status() != nil {
            if clock.now > deadline { throw SystemError("ioctl(LOOP_CLR_FD) (still in use)", path: path, errno: EBUSY) }
            usleep(2_000)
        }
    }
}
