/*
 * Presence and typing state in Redis, shared by every worker and node.
 * Called on task threads (synchronous hiredis, see redis.h).
 *
 * A user is online while any of their sockets, on any worker or node, is
 * connected and not marked away (user_online {isOnline: false}):
 * presence:<uid> is a sorted set of those socket ids scored by the time
 * their entry expires, sockets:<uid> the same for every connected socket
 * (what the per-user cap counts), and presence:expiry indexes all of
 * them by expiry for the sweep. Workers refresh their sockets' entries
 * while connected; the entries of a killed worker's or a dead node's
 * sockets expire, and the sweep removes them.
 *
 * A user counts as announced online exactly while presence:<uid> is not
 * empty, and every transition (empty to not, not to empty) is decided
 * inside one Lua script, so across workers and nodes exactly one caller
 * sees it and announces it.
 */

#ifndef LNK_CACHE_PRESENCE_H
#define LNK_CACHE_PRESENCE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define PRESENCE_TTL		30	/* seconds a socket entry lives */
#define PRESENCE_REFRESH_MS	10000	/* live sockets renew it this often */
#define PRESENCE_SWEEP_MS	5000	/* expired entries are swept this often */
#define PRESENCE_SWEEP_MAX	1000	/* entries looked at per sweep */
#define TYPING_TTL		10	/* seconds a typing mark lives */

#define PRESENCE_DOWN		-1	/* Redis unavailable */
#define PRESENCE_FULL		-2	/* the user has cap sockets already */

/*
 * 1: this socket made the user online; 0: no change (or the socket has
 * closed meanwhile); PRESENCE_DOWN; PRESENCE_FULL when cap > 0 and the
 * user already has cap live sockets (the socket is then not counted).
 */
int	presence_connect(const char *, const char *, int64_t, u_int32_t);
/* 1: the user went offline with it; closed: the socket is gone for good. */
int	presence_disconnect(const char *, const char *, int64_t, int);

struct presence_entry {
	const char	*uid;
	const char	*sid;
	int		online;		/* not away */
	int		changed;	/* out: made the user online again */
};

/*
 * Renews n sockets' entries in a few round trips. changed is set where
 * the user had no online entry left (Redis lost its data, or the sweep
 * took an entry whose refresh was late) and is online again. 0, or
 * PRESENCE_DOWN (nothing is known then).
 */
int	presence_refresh(struct presence_entry *, size_t, int64_t);

struct presence_gone {
	char		uid[25];
	int64_t		last_seen;	/* ms: the last refresh of its sockets */
};

/*
 * Removes the entries expired by now and fills gone with the users that
 * went offline with that (at most PRESENCE_SWEEP_MAX). Of several
 * sweepers, on any node, exactly one gets each user. Returns how many,
 * or PRESENCE_DOWN; *more is set when there may be more to sweep.
 */
int	presence_sweep(int64_t, struct presence_gone *, int *);

#endif
