/*  fault_inject: an LD_PRELOAD library that makes writes fail, for the
    disk-full tests (tests/cli_faults.sh). A real full disk needs root (a
    small tmpfs or a loop device); this needs nothing.

    While the file named by SF_FAULT_TRIGGER exists, every write(),
    pwrite() and writev() of at least 4096 bytes to a file whose path ends
    in SF_FAULT_PATH (default "/data.mdb") fails:
      SF_FAULT_MODE=enospc (default): -1 with errno ENOSPC, as the kernel
                                      says when a write needs a block;
      SF_FAULT_MODE=short:            writes half (LMDB then says EIO), and
                                      statvfs() reports no free blocks.
      SF_FAULT_SLOW_MS=N:              every such write (of any size) first
                                      sleeps N ms, then goes through (a slow
                                      disk: the export-off-the-loop test).
    Other files, and every write while the trigger is absent, go through.
    Smaller writes go through too: LMDB rewrites its meta page in place (a
    full disk needs no new block for it), and a failed meta write would
    make the environment unusable (MDB_PANIC) rather than full. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_MIN 4096  /* smaller writes go through (the meta page's) */

typedef ssize_t (*s_write_fn) (int, const void *, size_t);
typedef ssize_t (*s_pwrite_fn) (int, const void *, size_t, off_t);
typedef ssize_t (*s_writev_fn) (int, const struct iovec *, int);
typedef int (*s_statvfs_fn) (const char *, struct statvfs *);

static bool
s_on (void)
{
    const char *trigger = getenv ("SF_FAULT_TRIGGER");
    return trigger && *trigger && access (trigger, F_OK) == 0;
}

static bool
s_short (void)
{
    const char *mode = getenv ("SF_FAULT_MODE");
    return mode && strcmp (mode, "short") == 0;
}

/*  Does fd name a file the faults are for? */
static bool
s_target (int fd)
{
    if (!s_on ())
        return false;
    char link[64], path[PATH_MAX];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink (link, path, sizeof path - 1);
    if (n <= 0)
        return false;
    path[n] = '\0';
    const char *want = getenv ("SF_FAULT_PATH");
    if (!want || !*want)
        want = "/data.mdb";
    size_t len = strlen (want);
    return (size_t) n >= len && strcmp (path + n - len, want) == 0;
}

/*  What a write of *count bytes to fd may do: false (fail with ENOSPC),
    or true with *count what it writes (halved in short mode). */
static bool
s_limit (int fd, size_t *count)
{
    const char *slow = getenv ("SF_FAULT_SLOW_MS");
    if (slow && atoi (slow) > 0) {
        if (s_target (fd))
            usleep ((useconds_t) atoi (slow) * 1000);
        return true;
    }
    if (*count < S_MIN || !s_target (fd))
        return true;
    if (!s_short ()) {
        errno = ENOSPC;
        return false;
    }
    *count /= 2;
    return true;
}

ssize_t
write (int fd, const void *buf, size_t count)
{
    static s_write_fn real;
    if (!real)
        real = (s_write_fn) dlsym (RTLD_NEXT, "write");
    if (!s_limit (fd, &count))
        return -1;
    return real (fd, buf, count);
}

ssize_t
pwrite (int fd, const void *buf, size_t count, off_t offset)
{
    static s_pwrite_fn real;
    if (!real)
        real = (s_pwrite_fn) dlsym (RTLD_NEXT, "pwrite");
    if (!s_limit (fd, &count))
        return -1;
    return real (fd, buf, count, offset);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t count, off_t offset)
{
    return pwrite (fd, buf, count, offset);
}

ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
    static s_writev_fn real;
    if (!real)
        real = (s_writev_fn) dlsym (RTLD_NEXT, "writev");
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total >= S_MIN && s_target (fd)) {
        if (!s_short () || iov[0].iov_len < 2) {
            errno = ENOSPC;
            return -1;
        }
        struct iovec half = { iov[0].iov_base, iov[0].iov_len / 2 };
        return real (fd, &half, 1);
    }
    return real (fd, iov, iovcnt);
}

int
statvfs (const char *path, struct statvfs *buf)
{
    static s_statvfs_fn real;
    if (!real)
        real = (s_statvfs_fn) dlsym (RTLD_NEXT, "statvfs");
    int rc = real (path, buf);
    if (rc == 0 && s_on () && s_short ())
        buf->f_bavail = buf->f_bfree = 0;
    return rc;
}
