#include "CLoop.h"

#include <errno.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>

int berth_loop_ctl_get_free(int control_fd) {
    int nr = ioctl(control_fd, LOOP_CTL_GET_FREE);
    return nr < 0 ? -errno : nr;
}

int berth_loop_configure(int dev_fd, int backing_fd, uint32_t flags, const char *tag) {
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (uint32_t)backing_fd;
    config.info.lo_flags = flags;
    if (tag) strncpy((char *)config.info.lo_file_name, tag, LO_NAME_SIZE - 1);
    return ioctl(dev_fd, LOOP_CONFIGURE, &config) < 0 ? -errno : 0;
}

int berth_loop_get_status(int dev_fd, uint64_t *backing_dev, uint64_t *backing_ino, uint32_t *flags, char *tag) {
    struct loop_info64 info;
    memset(&info, 0, sizeof info);
    if (ioctl(dev_fd, LOOP_GET_STATUS64, &info) < 0) return -errno;
    *backing_dev = info.lo_device;
    *backing_ino = info.lo_inode;
    *flags = info.lo_flags;
    memcpy(tag, info.lo_file_name, LO_NAME_SIZE);
    tag[LO_NAME_SIZE - 1] = 0;
    return 0;
}

int berth_loop_clear(int dev_fd) {
    return ioctl(dev_fd, LOOP_CLR_FD) < 0 ? -errno : 0;
}

int berth_loop_set_capacity(int dev_fd) {
    return ioctl(dev_fd, LOOP_SET_CAPACITY, 0) < 0 ? -errno : 0;
}

int berth_block_size(int dev_fd, uint64_t *bytes) {
    return ioctl(dev_fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
}
