/* snap_io: whole reads and writes of a file descriptor, retried on EINTR. */
#ifndef SNAP_IO_H
#define SNAP_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to `n` bytes at `off`: the count read (less than `n` only at the
 * end of the file), or -1 with errno set. */
ssize_t snap_pread_full(int fd, void *buf, size_t n, off_t off);
/* Write all `n` bytes: 0, or -1 with errno set. */
int snap_write_all(int fd, const void *p, size_t n);
/* Write all `n` bytes at `off`: 0, or -1 with errno set. */
int snap_pwrite_all(int fd, const void *p, size_t n, off_t off);

#endif
