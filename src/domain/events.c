/*
 * The event queue a domain operation fills (see events.h). Plain malloc:
 * queues are filled in task threads, where Kore's allocator is not safe.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/events.h"
#include "lib/json.h"

static struct evt	*evq_new(struct evq *, int, const char *);

static void		(*sink)(struct evq *);

void
evq_init(struct evq *q)
{
	TAILQ_INIT(q);
}

void
evq_clear(struct evq *q)
{
	struct evt	*e;

	while ((e = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, e, list);
		free(e->data);
		free(e);
	}
}

void
evq_emit(struct evq *q, const char *room, const char *name, struct json *j)
{
	const u_int8_t	*data;
	size_t		len;

	data = json_data(j, &len);
	evq_emit_raw(q, room, name, data, len);
}

void
evq_emit_raw(struct evq *q, const char *room, const char *name,
    const void *data, size_t len)
{
	struct evt	*e;

	e = evq_new(q, EVT_EMIT, room);
	(void)snprintf(e->name, sizeof(e->name), "%s", name);
	if ((e->data = malloc(len + 1)) == NULL)
		abort();
	memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
}

void
evq_join(struct evq *q, const char *room, const char *target)
{
	struct evt	*e;

	e = evq_new(q, EVT_JOIN, room);
	(void)snprintf(e->arg, sizeof(e->arg), "%s", target);
}

void
evq_leave(struct evq *q, const char *room, const char *target)
{
	struct evt	*e;

	e = evq_new(q, EVT_LEAVE, room);
	(void)snprintf(e->arg, sizeof(e->arg), "%s", target);
}

void
evq_note(struct evq *q, const char *topic, const char *arg)
{
	struct evt	*e;

	e = evq_new(q, EVT_NOTE, topic);
	(void)snprintf(e->arg, sizeof(e->arg), "%s", arg);
}

void
evq_set_sink(void (*fn)(struct evq *))
{
	sink = fn;
}

void
evq_publish(struct evq *q)
{
	if (sink != NULL)
		sink(q);
}

static struct evt *
evq_new(struct evq *q, int kind, const char *room)
{
	struct evt	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();

	e->kind = kind;
	(void)snprintf(e->room, sizeof(e->room), "%s", room);
	TAILQ_INSERT_TAIL(q, e, list);

	return (e);
}
