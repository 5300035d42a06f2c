/*
 * Presence rules that need the database: whom a user's online status
 * concerns. The counting itself is Redis's (cache/presence.h); the
 * announcing is the socket adapter's (chat/chat_presence.c).
 */

#ifndef LNK_DOMAIN_PRESENCE_SERVICE_H
#define LNK_DOMAIN_PRESENCE_SERVICE_H

#include <bson/bson.h>

struct oidlist;

/*
 * Task thread. Everyone the user shares a visible conversation with; a
 * failed lookup leaves none (the user's own sockets are still told).
 */
void	pres_partners(const bson_oid_t *, struct oidlist *);

#endif
