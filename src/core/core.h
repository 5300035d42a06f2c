/*
 * The ground every layer may use: the clock, the log, the node's
 * identity. Thread-safe; nothing here knows what the server does.
 */

#ifndef LNK_CORE_CORE_H
#define LNK_CORE_CORE_H

#include <sys/types.h>
#include <stdint.h>

/* Wall clock in milliseconds since the epoch (task-thread safe). */
int64_t		core_now_ms(void);
/* Log a line from any thread (Kore's logger is not thread-safe). */
void		core_log(const char *, ...)
		    __attribute__((format (printf, 1, 2)));

/* Node identity used by the bus to skip its own Redis publishes. */
const char	*core_node_id(void);
/* Set once, in the parent, before the workers fork (app.c). */
void		core_set_node_id(const char *);

#endif
