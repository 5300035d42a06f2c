/*
 * Events produced by domain operations. A domain function stores first,
 * then appends what must be announced to an event queue; the worker hands
 * the queue to evq_publish() once the operation (a task) has finished, in
 * order.
 *
 * Kinds:
 *  EVT_EMIT   emit event `name` with JSON array of args `data` to `room`
 *  EVT_JOIN   every socket in room `room` (e.g. "user:<id>") joins `arg`
 *  EVT_LEAVE  every socket in room `room` leaves `arg`
 *  EVT_NOTE   every worker of every node hears `room` (a topic) about
 *             `arg`: "conv" <id> / "user" <id> changed, drop copies
 * A JOIN placed before an EMIT is applied everywhere before that EMIT is
 * delivered (SPEC.md §2.8).
 */

#ifndef LNK_DOMAIN_EVENTS_H
#define LNK_DOMAIN_EVENTS_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stddef.h>

#define EVT_EMIT	1
#define EVT_JOIN	2
#define EVT_LEAVE	3
#define EVT_NOTE	4

#define EVT_ROOM_MAX	64
#define EVT_NAME_MAX	32

struct json;

struct evt {
	int			kind;
	char			room[EVT_ROOM_MAX];
	char			arg[EVT_ROOM_MAX];	/* JOIN/LEAVE target */
	char			name[EVT_NAME_MAX];	/* EMIT event name */
	char			*data;			/* EMIT: JSON object */
	size_t			len;
	TAILQ_ENTRY(evt)	list;
};

TAILQ_HEAD(evq, evt);

void	evq_init(struct evq *);
void	evq_clear(struct evq *);
/* Takes a copy of the JSON object written into j (one value). */
void	evq_emit(struct evq *, const char *, const char *, struct json *);
void	evq_emit_raw(struct evq *, const char *, const char *,
	    const void *, size_t);
void	evq_join(struct evq *, const char *, const char *);
void	evq_leave(struct evq *, const char *, const char *);
void	evq_note(struct evq *, const char *, const char *);

/*
 * Delivers every event of the queue to local sockets, other workers and
 * other nodes, in order, through the sink the top of the program set
 * (src/app/rt.c hands it to the bus): the domain does not know who
 * listens. Without a sink the events go nowhere. Called on a worker's
 * event loop, never in a task thread.
 */
void	evq_publish(struct evq *);
void	evq_set_sink(void (*)(struct evq *));

#endif
