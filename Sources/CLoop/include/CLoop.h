#ifndef BERTH_CLOOP_H
#define BERTH_CLOOP_H

#include <stdint.h>

/* Thin wrappers around the loop-device and block-device ioctls. Each returns 0 (or a
   non-negative result) on success and -errno on failure, so that Swift never reads errno
   after an intervening call. Constants and layouts are the kernel's <linux/loop.h>. */

#define BERTH_LO_FLAGS_READ_ONLY 1u
#define BERTH_LO_FLAGS_AUTOCLEAR 4u
#define BERTH_LO_FLAGS_DIRECT_IO 16u

/* ioctl(LOOP_CTL_GET_FREE) on /dev/loop-control: the number of a free (possibly new) device. */
int berth_loop_ctl_get_free(int control_fd);

/* ioctl(LOOP_CONFIGURE): attaches backing_fd to the loop device dev_fd with flags and a tag
   (stored in lo_file_name, at most 63 bytes). -EBUSY when another process won the device. */
int berth_loop_configure(int dev_fd, int backing_fd, uint32_t flags, const char *tag);

/* ioctl(LOOP_GET_STATUS64): the st_dev/st_ino of the backing file, the flags and the tag.
   -ENXIO when the device is not attached. tag must hold 64 bytes. */
int berth_loop_get_status(int dev_fd, uint64_t *backing_dev, uint64_t *backing_ino, uint32_t *flags, char *tag);

/* ioctl(LOOP_CLR_FD). Succeeds lazily (sets autoclear) while the device is open elsewhere. */
int berth_loop_clear(int dev_fd);

/* ioctl(LOOP_SET_CAPACITY): re-reads the backing file's size. */
int berth_loop_set_capacity(int dev_fd);

/* ioctl(BLKGETSIZE64): the size of a block device in bytes. */
int berth_block_size(int dev_fd, uint64_t *bytes);

#endif
