/*
 * Presence and typing for /chat sockets (SPEC.md §2.14, §2.15).
 *
 * Presence is counted per socket in Redis (src/cache/presence.c), so a
 * user goes offline only when their last socket on any worker or node
 * closes; the transition is announced as user_online_status to the users
 * who share a conversation with them (and to themselves), not to all.
 * When Redis is down, this worker's own sockets are all we can count.
 *
 * Typing marks expire server-side: 10 s after the last typing_start
 * without a stop, the room hears isTyping:false.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "app/app.h"
#include "app/job.h"
#include "app/metrics.h"
#include "cache/async.h"
#include "cache/presence.h"
#include "chat/chat.h"
#include "lib/json.h"
#include "socketio/bus.h"
#include "store/conversations.h"
#include "store/doclist.h"
#include "store/store.h"

#define PRESENCE_CONNECT	1
#define PRESENCE_DISCONNECT	2	/* the socket closed */
#define PRESENCE_AWAY		3	/* user_online {isOnline: false} */

struct presence_job {
	int		op;
	char		uid[25];
	char		sid[24];
	bson_oid_t	oid;
	int64_t		now;
	int		local_others;	/* this user's other sockets here */
	int		changed;
	struct oidlist	partners;
};

struct refresh_job {
	size_t		n;
	char		(*uid)[25];
	char		(*sid)[24];
	int64_t		now;
};


static void	presence_start(struct chat_client *, int, int);
static void	presence_run(void *);
static void	presence_done(void *);
static void	refresh_run(void *);
static void	refresh_done(void *);
static void	typing_mark(const char *, const char *, int);
static void	typing_announce(struct chat_client *, struct chat_typing *,
		    const char *, int);
static int	local_sockets_of(const char *, const struct chat_client *);

void
chat_presence_online(struct chat_client *c)
{
	if (c->online)
		return;

	c->online = 1;
	presence_start(c, PRESENCE_CONNECT, local_sockets_of(c->id, c));
}

void
chat_presence_offline(struct chat_client *c, int closed)
{
	if (!c->online)
		return;

	c->online = 0;
	presence_start(c, closed ? PRESENCE_DISCONNECT : PRESENCE_AWAY,
	    local_sockets_of(c->id, c));
}

/* Extends every local socket's presence entry (from chat_tick). */
void
chat_presence_refresh(void)
{
	struct refresh_job	*job;
	struct chat_client	*c;
	size_t			n;

	n = 0;
	TAILQ_FOREACH(c, &chat_clients, list) {
		if (c->online)
			n++;
	}
	if (n == 0)
		return;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->uid = calloc(n, sizeof(*job->uid))) == NULL ||
	    (job->sid = calloc(n, sizeof(*job->sid))) == NULL) {
		if (job != NULL)
			free(job->uid);
		free(job);
		return;
	}

	TAILQ_FOREACH(c, &chat_clients, list) {
		if (!c->online || job->n == n)
			continue;
		memcpy(job->uid[job->n], c->id, sizeof(job->uid[0]));
		memcpy(job->sid[job->n], c->sid, sizeof(job->sid[0]));
		job->n++;
	}
	job->now = app_now_ms();

	if (job_start(refresh_run, refresh_done, job) == -1)
		refresh_done(job);
}

/*
 * Every mark lives CHAT_TYPING_MS after its last typing_start, so a queue
 * kept in deadline order is just "renewed marks go to the tail", and the
 * tick only ever looks at the head: O(1) per event, where a Kore timer
 * per mark costs a walk of every timer of the worker.
 */
static TAILQ_HEAD(, chat_typing)	typing_q = TAILQ_HEAD_INITIALIZER(typing_q);

void
chat_typing_start(struct chat_client *c, const char *conv)
{
	struct chat_typing	*t;
	u_int64_t		now;

	TAILQ_FOREACH(t, &c->typing, list) {
		if (!strcmp(t->conv, conv))
			break;
	}

	if (t == NULL) {
		t = kore_calloc(1, sizeof(*t));
		(void)snprintf(t->conv, sizeof(t->conv), "%s", conv);
		t->client = c;
		TAILQ_INSERT_TAIL(&c->typing, t, list);
	} else {
		TAILQ_REMOVE(&typing_q, t, olist);
	}

	now = kore_time_ms();
	t->deadline = now + CHAT_TYPING_MS;
	TAILQ_INSERT_TAIL(&typing_q, t, olist);

	/* The key lives 10 s: renewing it more often than every 3 s is noise. */
	if (t->marked == 0 || now - t->marked >= 3000) {
		t->marked = now;
		typing_mark(conv, c->id, 1);
	}
	typing_announce(c, t, conv, 1);
}

/* announce: tell the room (a stop, an expiry, a leave, a disconnect). */
void
chat_typing_stop(struct chat_client *c, const char *conv, int announce)
{
	struct chat_typing	*t;

	TAILQ_FOREACH(t, &c->typing, list) {
		if (!strcmp(t->conv, conv))
			break;
	}

	if (t != NULL) {
		TAILQ_REMOVE(&c->typing, t, list);
		TAILQ_REMOVE(&typing_q, t, olist);
		kore_free(t->announce);
		kore_free(t);
	}

	typing_mark(conv, c->id, 0);
	if (announce)
		typing_announce(c, NULL, conv, 0);
}

void
chat_typing_clear(struct chat_client *c)
{
	struct chat_typing	*t;
	char			conv[25];

	while ((t = TAILQ_FIRST(&c->typing)) != NULL) {
		memcpy(conv, t->conv, sizeof(conv));
		chat_typing_stop(c, conv, 1);
	}
}

/* From the chat tick: the room hears isTyping:false for stale marks. */
void
chat_typing_expire(u_int64_t now)
{
	struct chat_typing	*t;
	char			conv[25];

	while ((t = TAILQ_FIRST(&typing_q)) != NULL && t->deadline <= now) {
		memcpy(conv, t->conv, sizeof(conv));
		chat_typing_stop(t->client, conv, 1);
	}
}

static void
typing_announce(struct chat_client *c, struct chat_typing *t,
    const char *conv, int on)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;
	char		room[CHAT_ROOM_LEN];

	chat_conv_room(room, conv);

	/* A held key repeats the start on every keystroke batch. */
	if (on && t != NULL && t->announce != NULL) {
		bus_emit(room, "user_typing", t->announce, t->announce_len,
		    c->sid);
		return;
	}

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "conversationId", conv);
	json_kstr(&j, "userId", c->id);
	json_kbool(&j, "isTyping", on);
	if (on) {
		json_key(&j, "user");
		json_obj_open(&j);
		json_kstr(&j, "id", c->id);
		if (c->name != NULL)
			json_kstr(&j, "name", c->name);
		if (c->avatar != NULL)
			json_kstr(&j, "avatar", c->avatar);
		json_obj_close(&j);
	}
	json_obj_close(&j);
	data = json_data(&j, &len);

	if (on && t != NULL) {
		t->announce = kore_malloc(len);
		memcpy(t->announce, data, len);
		t->announce_len = len;
	}

	bus_emit(room, "user_typing", (const char *)data, len, c->sid);
	json_free(&j);
}

/*
 * typing:<conv>:<user> in Redis (10 s TTL), as the original kept it.
 * Fire and forget on the loop's own Redis connection: a typing event is
 * too small and too frequent to be worth a task thread.
 */
static void
typing_mark(const char *conv, const char *uid, int on)
{
	if (on) {
		(void)cache_async_command("SETEX typing:%s:%s %d true", conv,
		    uid, TYPING_TTL);
	} else {
		(void)cache_async_command("DEL typing:%s:%s", conv, uid);
	}
}

static void
presence_start(struct chat_client *c, int op, int local_others)
{
	struct presence_job	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return;

	job->op = op;
	memcpy(job->uid, c->id, sizeof(job->uid));
	memcpy(job->sid, c->sid, sizeof(job->sid));
	bson_oid_copy(&c->oid, &job->oid);
	job->now = app_now_ms();
	job->local_others = local_others;
	oidlist_init(&job->partners);

	/* Saturated: the entry still ages out after PRESENCE_TTL. */
	if (job_start(presence_run, presence_done, job) == -1) {
		job->changed = 0;
		presence_done(job);
	}
}

static void
presence_run(void *arg)
{
	struct presence_job	*job = arg;

	if (job->op == PRESENCE_CONNECT)
		job->changed = presence_connect(job->uid, job->sid, job->now);
	else
		job->changed = presence_disconnect(job->uid, job->sid,
		    job->now, job->op == PRESENCE_DISCONNECT);

	/* Redis down: only this worker's sockets can be counted. */
	if (job->changed == -1)
		job->changed = job->local_others == 0;

	if (job->changed == 1 &&
	    convs_partners_of(&job->oid, &job->partners) != STORE_OK)
		job->partners.n = 0;
}

static void
presence_done(void *arg)
{
	struct presence_job	*job = arg;
	struct json		j;
	const u_int8_t		*data;
	size_t			len, i;
	char			room[CHAT_ROOM_LEN], hex[25];

	if (job->changed != 1)
		goto out;

	metrics_inc(METRIC_PRESENCE_EVENTS,
	    job->op == PRESENCE_CONNECT ? "online" : "offline");

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "userId", job->uid);
	json_kbool(&j, "isOnline", job->op == PRESENCE_CONNECT);
	json_kdate(&j, "lastSeen", job->now);
	json_obj_close(&j);
	data = json_data(&j, &len);

	chat_user_room(room, job->uid);
	bus_emit(room, "user_online_status", (const char *)data, len, NULL);
	for (i = 0; i < job->partners.n; i++) {
		bson_oid_to_string(&job->partners.v[i], hex);
		if (!strcmp(hex, job->uid))
			continue;
		chat_user_room(room, hex);
		bus_emit(room, "user_online_status", (const char *)data, len,
		    NULL);
	}
	json_free(&j);

out:
	oidlist_free(&job->partners);
	free(job);
}

static void
refresh_run(void *arg)
{
	struct refresh_job	*job = arg;
	size_t			i;

	for (i = 0; i < job->n; i++) {
		if (presence_refresh(job->uid[i], job->sid[i], job->now) == -1)
			break;
	}
}

static void
refresh_done(void *arg)
{
	struct refresh_job	*job = arg;

	free(job->uid);
	free(job->sid);
	free(job);
}

static int
local_sockets_of(const char *uid, const struct chat_client *self)
{
	struct chat_client	*c;
	int			n;

	n = 0;
	TAILQ_FOREACH(c, &chat_clients, list) {
		if (c != self && c->online && !strcmp(c->id, uid))
			n++;
	}

	return (n);
}
