/*
 * Background jobs: run a function on a Kore task thread and get a
 * callback on the worker's event loop when it is done. Used wherever
 * blocking work (MongoDB, synchronous Redis, files) is started from the
 * event loop outside an HTTP request: socket events, start-up work.
 *
 * Every Kore task holds a socketpair until it is destroyed, so a flood of
 * socket events or requests must not turn into a flood of tasks: at most
 * JOB_SLOTS run per worker (REST requests take slots too), jobs beyond
 * that wait in a FIFO of at most JOB_QUEUE_MAX, and past that a job is
 * refused. Task threads are few (task_threads), so the cap costs no
 * throughput; it only bounds memory and descriptors.
 */

#ifndef LNK_CORE_JOB_H
#define LNK_CORE_JOB_H

#include <sys/types.h>
#include <stdint.h>

#define JOB_SLOTS	256
#define JOB_QUEUE_MAX	20000

/*
 * run(arg) executes on a task thread; done(arg) on the worker's loop
 * afterwards. The caller owns arg; done must free it. Returns -1 (and
 * runs nothing) when the worker is saturated: the caller frees arg and
 * answers "busy".
 */
int	job_start(void (*)(void *), void (*)(void *), void *);

/* fn(arg) on the worker's loop in ms milliseconds (once). */
void	job_after(int64_t, void (*)(void *), void *);

/* A slot for a task the caller creates itself (api.c); 0 when none. */
int	job_slot_take(void);
void	job_slot_give(void);

#endif
