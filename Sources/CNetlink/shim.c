// setns(2) is declared by glibc only under _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <sched.h>
#include "CNetlink.h"

int cnetlink_setns_net(int fd) {
    return setns(fd, CLONE_NEWNET);
}

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

int cnetlink_openat2_in_root(int rootfd, const char *path, int flags, unsigned int mode) {
#ifdef SYS_openat2
    struct open_how how = {0};
    how.flags = (unsigned long long)flags;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
#else
    (void)rootfd; (void)path; (void)flags; (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}

int cnetlink_unshare_net(void) {
    return unshare(CLONE_NEWNET);
}

#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <linux/nsfs.h>
#include <linux/magic.h>

int cnetlink_is_netns(int fd) {
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type >= 0) {
        return type == CLONE_NEWNET;
    }
    // Kernels before 4.11 have no NS_GET_NSTYPE: accept an nsfs (or old procfs) namespace file.
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) {
        return 0;
    }
    return fs.f_type == NSFS_MAGIC || fs.f_type == PROC_SUPER_MAGIC;
}
