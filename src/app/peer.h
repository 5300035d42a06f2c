/*
 * The other workers of this node: who they are and messages to them, over
 * kore_msg. Everything above uses this and never Kore's worker globals.
 */

#ifndef LNK_APP_PEER_H
#define LNK_APP_PEER_H

#include <sys/types.h>
#include <stddef.h>

/* Message ids of the module (Kore keeps 1..9 and 200..203 are taken). */
#define PEER_MSG_COMMIT		210	/* a draft to its conversation's worker */
#define PEER_MSG_COMMITTED	211	/* its result, back to where it came */

/* Workers of this node, and this one's id (1..count). */
u_int16_t	peer_count(void);
u_int16_t	peer_self(void);
/* The worker that owns hash: the same on every worker of the node. */
u_int16_t	peer_owner(u_int32_t);

void		peer_register(u_int8_t, void (*)(u_int16_t, const void *,
		    size_t));
void		peer_send(u_int16_t, u_int8_t, const void *, size_t);

#endif
