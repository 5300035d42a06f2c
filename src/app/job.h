/*
 * Background jobs: run a function on a Kore task thread and get a
 * callback on the worker's event loop when it is done. Used wherever
 * blocking work (MongoDB, synchronous Redis, files) is started from the
 * event loop outside an HTTP request: socket events, start-up work.
 */

#ifndef LNK_APP_JOB_H
#define LNK_APP_JOB_H

/*
 * run(arg) executes on a task thread; done(arg) on the worker's loop
 * afterwards. The caller owns arg; done must free it.
 */
int	job_start(void (*)(void *), void (*)(void *), void *);

#endif
