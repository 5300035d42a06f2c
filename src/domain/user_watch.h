/*
 * Accounts switched off (isActive: false) or deleted behind the
 * server's back, by an admin tool or a script: what the socket adapter
 * (chat/chat_users.c) asks while the users' sockets live, since a token
 * stays valid for days.
 */

#ifndef LNK_DOMAIN_USER_WATCH_H
#define LNK_DOMAIN_USER_WATCH_H

#include <bson/bson.h>

struct oidlist;

/* Task thread. The ids of every account with isActive: false; -1 on failure. */
int	uwatch_inactive(struct oidlist *);
/*
 * Task thread. *gone ← the account is deleted or deactivated, read from
 * the database whatever the memo holds (which it refreshes); -1 when the
 * database did not answer.
 */
int	uwatch_gone(const bson_oid_t *, int *);
/* The memo copy of the account goes: the next request reads it again. */
void	uwatch_forget(const bson_oid_t *);

#endif
