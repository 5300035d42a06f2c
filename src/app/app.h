/*
 * Process-wide glue: Kore lifecycle hooks, logging, the per-worker tick.
 */

#ifndef LNK_APP_APP_H
#define LNK_APP_APP_H

#include <sys/types.h>
#include <stdint.h>

/* Wall clock in milliseconds since the epoch (task-thread safe). */
int64_t		app_now_ms(void);
/* Log a line from any thread (Kore's logger is not thread-safe). */
void		app_log(const char *, ...)
		    __attribute__((format (printf, 1, 2)));

/* Node identity used by the bus to skip its own Redis publishes. */
const char	*app_node_id(void);

/*
 * Subsystem hooks called from app.c, implemented by each layer.
 * rt_*: the realtime layer (engineio/socketio/chat).
 */
void		rt_worker_init(void);
void		rt_worker_teardown(void);
void		rt_tick(u_int64_t);

/* Uploads (src/http/rest_uploads.c): libvips, once per worker. */
void		upload_worker_init(void);

#endif
