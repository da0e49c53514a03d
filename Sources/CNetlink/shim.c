// setns(2) is declared by glibc only under _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <sched.h>
#include "CNetlink.h"

int cnetlink_setns_net(int fd) {
    return setns(fd, CLONE_NEWNET);
}
