/*
 * Messages between the workers of one node: kore_msg, with a header
 * that names the sending worker's generation (a random number drawn
 * each time a worker starts) and numbers its messages.
 *
 * Why: Kore 4.1.0's parent keeps a restarted worker's old connection in
 * the cache it fans messages out from (msg.c, conncache), and its pool
 * gives the new connection the same memory, so a worker that was
 * restarted after a crash receives every message twice (once more per
 * restart). The copies arrive back to back and carry the same number;
 * wmsg delivers each message once.
 *
 * A worker announces itself to the others when it starts (wmsg_init),
 * so they learn at once that a worker died and was replaced, and can
 * drop what pointed at the one that is gone (wmsg_on_restart).
 *
 * Messages are never delivered to their sender, even when sent to
 * KORE_MSG_WORKER_ALL. Everything here runs on a worker's event loop.
 */

#ifndef LNK_ENGINEIO_WMSG_H
#define LNK_ENGINEIO_WMSG_H

#include <sys/types.h>
#include <stddef.h>

/* kore_msg ids (KORE_MSG_APP_BASE + n) of the realtime layer. */
#define WMSG_EIO_RELAY		201	/* front worker -> session owner */
#define WMSG_EIO_REPLY		202	/* session owner -> front worker */
#define WMSG_BUS		203	/* bus fan-out between workers */
#define WMSG_HELLO		204	/* a worker (re)started */

/* A message's data starts after its header; src is the sending worker. */
typedef void	(*wmsg_fn)(u_int16_t, const void *, size_t);

/*
 * A worker started (again): its generation, and when it started
 * (kore_time_ms(), CLOCK_MONOTONIC, comparable across workers).
 */
typedef void	(*wmsg_restart_fn)(u_int16_t, u_int32_t, u_int64_t);

/* Draws this worker's generation and says hello to the others. */
void		wmsg_init(void);
u_int32_t	wmsg_generation(void);

void		wmsg_register(u_int8_t, wmsg_fn);
void		wmsg_on_restart(wmsg_restart_fn);
void		wmsg_send(u_int16_t, u_int8_t, const void *, size_t);
/* The same with the data in two parts (a header and a body). */
void		wmsg_send2(u_int16_t, u_int8_t, const void *, size_t,
		    const void *, size_t);

#endif
