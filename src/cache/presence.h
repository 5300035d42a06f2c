/*
 * Presence and typing state in Redis, shared by every worker and node.
 * Called on task threads (synchronous hiredis, see redis.h).
 *
 * A user is online while any of their sockets, on any worker or node, is
 * connected: presence:<uid> is a sorted set of socket ids scored by the
 * time their entry expires. Workers refresh their sockets' entries while
 * connected, so a crashed node's sockets age out on their own. The
 * transitions (first socket in, last socket out) are decided atomically
 * in Redis, so exactly one socket announces them.
 */

#ifndef LNK_CACHE_PRESENCE_H
#define LNK_CACHE_PRESENCE_H

#include <sys/types.h>
#include <stdint.h>

#define PRESENCE_TTL		60	/* seconds a socket entry lives */
#define TYPING_TTL		10	/* seconds a typing mark lives */

/* 1: this socket made the user online / offline; 0: no change; -1: Redis down */
int	presence_connect(const char *, const char *, int64_t);
int	presence_disconnect(const char *, const char *, int64_t, int);
int	presence_refresh(const char *, const char *, int64_t);
/* 1 online, 0 offline, -1 unknown; *last_seen in ms (0 if unknown) */
int	presence_get(const char *, int64_t *);

int	typing_start(const char *, const char *);
int	typing_stop(const char *, const char *);

#endif
