#ifndef CNETLINK_H
#define CNETLINK_H
// Netlink structs and constants that Swift cannot import directly are exposed here; this header must stay
// includable on any Linux. Function-like macros (NLMSG_ALIGN, RTA_*, NLA_*) are not imported by Swift, so the
// Swift side aligns by hand; the helper below covers what needs _GNU_SOURCE.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/genetlink.h>
#include <linux/devlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>  /* sockaddr_ll: gratuitous ARP from sriov-cni */
#include <linux/if_ether.h>     /* ETH_P_ARP, ETH_P_ALL */

/// Moves the calling thread (only that thread) into the network namespace open at `fd`: `setns(fd, CLONE_NEWNET)`.
/// Returns 0, or -1 with errno set.
int cnetlink_setns_net(int fd);

/// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as if `rootfd` were `/`
/// (absolute links and `..` stay inside it). Returns a descriptor, or -1 with errno (ENOSYS when the kernel
/// or libc lacks openat2, E2BIG/EINVAL on an unsupported request).
int cnetlink_openat2_in_root(int rootfd, const char *path, int flags, unsigned int mode);

/// Moves the calling thread (only that thread) into a new, empty network namespace: `unshare(CLONE_NEWNET)`.
/// Returns 0, or -1 with errno set.
int cnetlink_unshare_net(void);

/// 1 when `fd` is open on a network namespace (an nsfs file such as /var/run/netns/X or /proc/PID/ns/net), else 0.
int cnetlink_is_netns(int fd);

#endif
