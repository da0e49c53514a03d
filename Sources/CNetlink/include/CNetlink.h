#ifndef CNETLINK_H
#define CNETLINK_H
// Netlink structs and constants that Swift cannot import directly are exposed here (filled in by the
// rtnetlink work); this header must stay includable on any Linux.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <net/if.h>
#endif
