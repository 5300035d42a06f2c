/*
 * The top: Kore's lifecycle hooks (app.c) and what they call that has no
 * header of its own below.
 */

#ifndef LNK_APP_APP_H
#define LNK_APP_APP_H

#include <sys/types.h>
#include <stdint.h>

/*
 * Subsystem hooks called from app.c, implemented by each layer.
 * rt_*: the realtime layer (engineio/socketio/chat).
 */
void		rt_worker_init(void);
void		rt_worker_teardown(void);
void		rt_tick(u_int64_t);

#endif
