/*
 * The other workers of this node: who they are, and messages to them.
 * Everything above uses this and never Kore's worker globals or
 * kore_msg directly.
 *
 * Messages are kore_msg with a header that names the sending worker's
 * generation (a random number drawn each time a worker starts) and
 * numbers its messages. Why: Kore 4.1.0's parent keeps a restarted
 * worker's old connection in the cache it fans messages out from
 * (msg.c, conncache), and its pool gives the new connection the same
 * memory, so a worker that was restarted after a crash receives every
 * message twice (once more per restart). The copies arrive back to back
 * and carry the same number; each message is delivered once.
 *
 * A worker announces itself to the others when it starts (peer_init),
 * so they learn at once that a worker died and was replaced, and can
 * drop what pointed at the one that is gone (peer_on_restart).
 *
 * Messages are never delivered to their sender, even when sent to
 * PEER_ALL. Everything here runs on a worker's event loop.
 */

#ifndef LNK_CORE_PEER_H
#define LNK_CORE_PEER_H

#include <sys/types.h>
#include <stddef.h>

/* Every message id of the module, in one place (Kore keeps 1..9). */
#define PEER_EIO_RELAY		201	/* front worker -> session owner */
#define PEER_EIO_REPLY		202	/* session owner -> front worker */
#define PEER_BUS		203	/* bus fan-out between workers */
#define PEER_HELLO		204	/* a worker (re)started */
#define PEER_COMMIT		210	/* a draft to its conversation's worker */
#define PEER_COMMITTED		211	/* its result, back to where it came */

/* Every worker of the node but the sender. */
#define PEER_ALL		0xffff

/* A message's data starts after its header; src is the sending worker. */
typedef void	(*peer_fn)(u_int16_t, const void *, size_t);

/*
 * A worker started (again): its generation, and when it started
 * (monotonic ms, comparable across workers).
 */
typedef void	(*peer_restart_fn)(u_int16_t, u_int32_t, u_int64_t);

/* Draws this worker's generation and says hello to the others. */
void		peer_init(void);
u_int32_t	peer_generation(void);

/* Workers of this node, and this one's id (1..count). */
u_int16_t	peer_count(void);
u_int16_t	peer_self(void);
/* The worker that owns hash: the same answer on every worker. */
u_int16_t	peer_owner(u_int32_t);

void		peer_register(u_int8_t, peer_fn);
void		peer_on_restart(peer_restart_fn);
/* The clock a restart's start time is on (monotonic, node-wide). */
u_int64_t	peer_clock_ms(void);
void		peer_send(u_int16_t, u_int8_t, const void *, size_t);
/* The same with the data in two parts (a header and a body). */
void		peer_send2(u_int16_t, u_int8_t, const void *, size_t,
		    const void *, size_t);

#endif
