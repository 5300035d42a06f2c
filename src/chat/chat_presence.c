/*
 * Presence and typing for /chat sockets (SPEC.md §2.14, §2.15).
 *
 * Presence is counted per socket in Redis (src/cache/presence.c), so a
 * user goes offline only when their last socket on any worker or node
 * closes; the transition is announced as user_online_status to the users
 * who share a conversation with them (and to themselves), not to all.
 * When Redis is down, this worker's own sockets are all we can count.
 *
 * Entries live PRESENCE_TTL and every worker renews its sockets' every
 * PRESENCE_REFRESH_MS, and at once when its Redis connection comes back
 * (Redis may have lost them: the users it had no entry for are announced
 * online again). Worker 1 of each node sweeps the entries of sockets
 * nobody renews any more (a killed worker's, a dead node's) and
 * announces those users offline; Redis decides which sweeper announces.
 *
 * Typing marks expire server-side: 10 s after the last typing_start
 * without a stop, the room hears isTyping:false. A user's marks are kept
 * per conversation, and the room hears only their changes (a mark
 * renewed by typing_start is announced again at most every
 * TYPING_RENEW_MS, 3 s by default), so a flood of typing events is not a
 * flood of user_typing at every member.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "cache/async.h"
#include "cache/presence.h"
#include "chat/chat.h"
#include "core/config.h"
#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "domain/presence_service.h"
#include "lib/doclist.h"
#include "lib/json.h"
#include "socketio/bus.h"

#define PRESENCE_ONLINE		1	/* user_online {isOnline: true} */
#define PRESENCE_AWAY		2	/* user_online {isOnline: false} */
#define PRESENCE_CLOSE		3	/* the socket closed */

/*
 * Typing changes announced per user: a burst, then one per refill
 * period. A start beyond it is kept quiet (and so is its stop) until a
 * later typing_start finds the bucket refilled.
 */
#define TYPING_BURST		5
#define TYPING_REFILL_MS	500

struct presence_job {
	int		op;
	char		uid[25];
	char		sid[24];
	bson_oid_t	oid;
	int64_t		now;
	int		local_others;	/* this user's other online sockets here */
	int		changed;
	struct oidlist	partners;
};

/* One user to announce, from a refresh or a sweep. */
struct presence_note {
	char		uid[25];
	bson_oid_t	oid;
	int64_t		when;
	struct oidlist	partners;
};

struct refresh_job {
	size_t			n;
	char			(*uid)[25];
	char			(*sid)[24];
	int			*online;
	int64_t			now;
	int			ok;
	size_t			nnotes;
	struct presence_note	*notes;
};

struct sweep_job {
	int64_t			now;
	int			count;
	int			more;
	struct presence_note	*notes;
};

static void	presence_start(const char *, const char *, const bson_oid_t *,
		    int, int);
static void	presence_run(void *);
static void	presence_done(void *);
static void	presence_announce(const char *, int, int64_t,
		    const struct oidlist *);
static void	refresh_start(void);
static void	refresh_run(void *);
static void	refresh_done(void *);
static void	sweep_start(int64_t);
static void	sweep_run(void *);
static void	sweep_done(void *);
static void	typing_mark(const char *, const char *, int);
static int	typing_budget(struct chat_user *, u_int64_t);
static void	typing_announce(struct chat_typing *, int);
static struct chat_typing *typing_find(struct chat_user *, const char *);

/* Refresh and sweep: one of each in flight, and when the next is due. */
static int		refreshing;
static int		refresh_due = 1;
static u_int64_t	refresh_next;
static u_int64_t	redis_epoch;
static u_int64_t	redis_back;
static int		sweeping;
static u_int64_t	sweep_next;

void
chat_admit_init(struct chat_admit *a, const char *uid, const char *sid,
    int64_t now)
{
	struct chat_user	*u;

	memset(a, 0, sizeof(*a));
	if (bson_oid_is_valid(uid, strlen(uid)) && strlen(uid) == 24) {
		bson_oid_init_from_string(&a->oid, uid);
		bson_oid_to_string(&a->oid, a->uid);
	}
	(void)snprintf(a->sid, sizeof(a->sid), "%s", sid);
	a->now = now;
	a->result = PRESENCE_DOWN;
	if ((u = chat_user_find(a->uid)) != NULL)
		a->local_online = u->nonline;
	oidlist_init(&a->partners);
}

/* Task thread, after the token and the user are checked. */
void
chat_admit_run(struct chat_admit *a)
{
	a->result = presence_connect(a->uid, a->sid, a->now,
	    cfg.max_sockets_per_user);

	/* Redis down: only this worker's sockets can be counted. */
	if (a->result == 1 ||
	    (a->result == PRESENCE_DOWN && a->local_online == 0)) {
		a->when = core_now_ms();
		pres_partners(&a->oid, &a->partners);
	}
}

/* Over the cap: in Redis, or (Redis down) among this worker's sockets. */
int
chat_admit_refused(const struct chat_admit *a)
{
	struct chat_user	*u;

	if (a->result == PRESENCE_FULL)
		return (1);
	if (a->result != PRESENCE_DOWN)
		return (0);

	u = chat_user_find(a->uid);
	return (u != NULL && u->nclients >= cfg.max_sockets_per_user);
}

/* c is the accepted socket's client, or NULL when the socket has gone. */
void
chat_admit_done(struct chat_admit *a, struct chat_client *c)
{
	int		changed;

	if (c == NULL) {
		/* Counted in, but it left before it was accepted. */
		if (a->result >= 0)
			presence_start(a->uid, a->sid, &a->oid, PRESENCE_CLOSE,
			    1);
		return;
	}

	changed = a->result == 1 ||
	    (a->result == PRESENCE_DOWN && c->user->nonline == 0);
	c->online = 1;
	c->user->nonline++;

	if (changed)
		presence_announce(a->uid, 1, a->when, &a->partners);
}

void
chat_admit_free(struct chat_admit *a)
{
	oidlist_free(&a->partners);
}

/* user_online {isOnline: true} after an away. */
void
chat_presence_online(struct chat_client *c)
{
	if (c->online)
		return;

	c->online = 1;
	c->user->nonline++;
	presence_start(c->user->id, c->sid, &c->user->oid, PRESENCE_ONLINE,
	    c->user->nonline - 1);
}

/*
 * closed: the socket is going (its entries go whether it was away or
 * not); else user_online {isOnline: false}.
 */
void
chat_presence_offline(struct chat_client *c, int closed)
{
	int		was;

	was = c->online;
	if (!was && !closed)
		return;

	if (was) {
		c->online = 0;
		c->user->nonline--;
	}
	presence_start(c->user->id, c->sid, &c->user->oid,
	    closed ? PRESENCE_CLOSE : PRESENCE_AWAY,
	    was ? (int)c->user->nonline : 1);
}

/* From the chat tick, once a second. */
void
chat_presence_tick(u_int64_t now)
{
	u_int64_t	epoch;

	/* Redis is back: it may have lost every entry, renew them now. */
	epoch = cache_async_epoch();
	if (epoch != redis_epoch) {
		redis_epoch = epoch;
		redis_back = now;
		refresh_due = 1;
	}

	if (now >= refresh_next)
		refresh_due = 1;
	if (refresh_due && !refreshing)
		refresh_start();

	/*
	 * One sweeper per node (any number of nodes is safe). Not right
	 * after a reconnect: the other nodes' sockets need their refresh
	 * first, or entries that aged while Redis was away would go.
	 */
	if (worker->id == 1 && !sweeping && now >= sweep_next &&
	    now - redis_back >= PRESENCE_REFRESH_MS)
		sweep_start(core_now_ms());
}

/*
 * A user's marks live CHAT_TYPING_MS after their last typing_start, so a
 * queue kept in deadline order is just "renewed marks go to the tail",
 * and the tick only ever looks at the head: O(1) per event, where a Kore
 * timer per mark costs a walk of every timer of the worker.
 */
static TAILQ_HEAD(, chat_typing)	typing_q = TAILQ_HEAD_INITIALIZER(typing_q);

void
chat_typing_start(struct chat_client *c, const char *conv)
{
	struct chat_user	*u = c->user;
	struct chat_typing	*t;
	u_int64_t		now;

	now = kore_time_ms();
	if ((t = typing_find(u, conv)) == NULL) {
		t = kore_calloc(1, sizeof(*t));
		(void)snprintf(t->conv, sizeof(t->conv), "%s", conv);
		t->user = u;
		TAILQ_INSERT_TAIL(&u->typing, t, list);
	} else {
		TAILQ_REMOVE(&typing_q, t, olist);
	}

	t->by = c;
	t->deadline = now + CHAT_TYPING_MS;
	TAILQ_INSERT_TAIL(&typing_q, t, olist);

	/* The key lives 10 s: renewing it more often than every 3 s is noise. */
	if (t->marked == 0 || now - t->marked >= 3000) {
		t->marked = now;
		typing_mark(conv, u->id, 1);
	}

	/* A change (within the bucket), or a lasting one seen again. */
	if (t->announced == 0) {
		if (typing_budget(u, now))
			typing_announce(t, 1);
	} else if (now - t->announced >= cfg.typing_renew_ms) {
		typing_announce(t, 1);
	}
}

/* announce: tell the room (a stop, an expiry, a leave, a disconnect). */
void
chat_typing_stop(struct chat_client *c, const char *conv, int announce)
{
	struct chat_typing	*t;

	if ((t = typing_find(c->user, conv)) == NULL)
		return;

	/* Nothing to take back if the start was never heard. */
	if (announce && t->announced != 0) {
		t->by = c;
		typing_announce(t, 0);
	}
	typing_mark(conv, c->user->id, 0);

	TAILQ_REMOVE(&c->user->typing, t, list);
	TAILQ_REMOVE(&typing_q, t, olist);
	kore_free(t->announce);
	kore_free(t);
}

/* The socket is going: the marks it made last end with it. */
void
chat_typing_clear(struct chat_client *c)
{
	struct chat_typing	*t, *next;
	char			conv[25];

	for (t = TAILQ_FIRST(&c->user->typing); t != NULL; t = next) {
		next = TAILQ_NEXT(t, list);
		if (t->by != c)
			continue;
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
		chat_typing_stop(t->by, conv, 1);
	}
}

static struct chat_typing *
typing_find(struct chat_user *u, const char *conv)
{
	struct chat_typing	*t;

	TAILQ_FOREACH(t, &u->typing, list) {
		if (!strcmp(t->conv, conv))
			return (t);
	}

	return (NULL);
}

static int
typing_budget(struct chat_user *u, u_int64_t now)
{
	u_int64_t	add;

	if (u->typing_refill == 0) {
		u->typing_tokens = TYPING_BURST;
		u->typing_refill = now;
	}

	add = (now - u->typing_refill) / TYPING_REFILL_MS;
	if (add > 0) {
		u->typing_refill += add * TYPING_REFILL_MS;
		if (add > TYPING_BURST || u->typing_tokens + add > TYPING_BURST)
			u->typing_tokens = TYPING_BURST;
		else
			u->typing_tokens += add;
	}

	if (u->typing_tokens == 0)
		return (0);

	u->typing_tokens--;
	return (1);
}

/* To the room but the socket that typed. */
static void
typing_announce(struct chat_typing *t, int on)
{
	struct chat_user	*u = t->user;
	struct json		j;
	const u_int8_t		*data;
	size_t			len;
	char			room[CHAT_ROOM_LEN];

	chat_conv_room(room, t->conv);
	if (on)
		t->announced = kore_time_ms();

	if (on && t->announce != NULL) {
		bus_emit(room, "user_typing", t->announce, t->announce_len,
		    t->by->sid);
		return;
	}

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "conversationId", t->conv);
	json_kstr(&j, "userId", u->id);
	json_kbool(&j, "isTyping", on);
	if (on) {
		json_key(&j, "user");
		json_obj_open(&j);
		json_kstr(&j, "id", u->id);
		if (u->name != NULL)
			json_kstr(&j, "name", u->name);
		if (u->avatar != NULL)
			json_kstr(&j, "avatar", u->avatar);
		json_obj_close(&j);
	}
	json_obj_close(&j);
	data = json_data(&j, &len);

	if (on) {
		t->announce = kore_malloc(len);
		memcpy(t->announce, data, len);
		t->announce_len = len;
	}

	bus_emit(room, "user_typing", (const char *)data, len, t->by->sid);
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
presence_start(const char *uid, const char *sid, const bson_oid_t *oid,
    int op, int local_others)
{
	struct presence_job	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return;

	job->op = op;
	memcpy(job->uid, uid, sizeof(job->uid));
	(void)snprintf(job->sid, sizeof(job->sid), "%s", sid);
	bson_oid_copy(oid, &job->oid);
	job->now = core_now_ms();
	job->local_others = local_others;
	oidlist_init(&job->partners);

	/* Saturated: the entry still ages out and is swept. */
	if (job_start(presence_run, presence_done, job) == -1) {
		job->changed = 0;
		presence_done(job);
	}
}

static void
presence_run(void *arg)
{
	struct presence_job	*job = arg;

	if (job->op == PRESENCE_ONLINE)
		job->changed = presence_connect(job->uid, job->sid, job->now,
		    0);
	else
		job->changed = presence_disconnect(job->uid, job->sid,
		    job->now, job->op == PRESENCE_CLOSE);

	/* Redis down: only this worker's sockets can be counted. */
	if (job->changed == PRESENCE_DOWN)
		job->changed = job->local_others == 0;

	if (job->changed == 1)
		pres_partners(&job->oid, &job->partners);
}

static void
presence_done(void *arg)
{
	struct presence_job	*job = arg;

	if (job->changed == 1) {
		presence_announce(job->uid, job->op == PRESENCE_ONLINE,
		    job->now, &job->partners);
	}

	oidlist_free(&job->partners);
	free(job);
}

/* user_online_status to the user's own room and their partners'. */
static void
presence_announce(const char *uid, int online, int64_t when,
    const struct oidlist *partners)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len, i;
	char		room[CHAT_ROOM_LEN], hex[25];

	metrics_inc(METRIC_PRESENCE_EVENTS, online ? "online" : "offline");

	json_init(&j);
	json_obj_open(&j);
	json_kstr(&j, "userId", uid);
	json_kbool(&j, "isOnline", online);
	json_kdate(&j, "lastSeen", when);
	json_obj_close(&j);
	data = json_data(&j, &len);

	chat_user_room(room, uid);
	bus_emit(room, "user_online_status", (const char *)data, len, NULL);
	for (i = 0; i < partners->n; i++) {
		bson_oid_to_string(&partners->v[i], hex);
		if (!strcmp(hex, uid))
			continue;
		chat_user_room(room, hex);
		bus_emit(room, "user_online_status", (const char *)data, len,
		    NULL);
	}
	json_free(&j);
}

/* Renews every local socket's entries (away ones too: the cap counts them). */
static void
refresh_start(void)
{
	struct refresh_job	*job;
	struct chat_client	*c;
	size_t			n, i;

	refresh_due = 0;
	refresh_next = kore_time_ms() + PRESENCE_REFRESH_MS;

	n = 0;
	TAILQ_FOREACH(c, &chat_clients, list)
		n++;
	if (n == 0)
		return;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->uid = calloc(n, sizeof(*job->uid))) == NULL ||
	    (job->sid = calloc(n, sizeof(*job->sid))) == NULL ||
	    (job->online = calloc(n, sizeof(*job->online))) == NULL) {
		if (job != NULL) {
			free(job->uid);
			free(job->sid);
		}
		free(job);
		refresh_due = 1;
		return;
	}

	i = 0;
	TAILQ_FOREACH(c, &chat_clients, list) {
		memcpy(job->uid[i], c->user->id, sizeof(job->uid[0]));
		memcpy(job->sid[i], c->sid, sizeof(job->sid[0]));
		job->online[i] = c->online;
		i++;
	}
	job->n = n;
	job->now = core_now_ms();

	refreshing = 1;
	if (job_start(refresh_run, refresh_done, job) == -1)
		refresh_done(job);
}

static void
refresh_run(void *arg)
{
	struct refresh_job	*job = arg;
	struct presence_entry	*v;
	size_t			i, k;

	if ((v = calloc(job->n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < job->n; i++) {
		v[i].uid = job->uid[i];
		v[i].sid = job->sid[i];
		v[i].online = job->online[i];
	}

	/* A connection from before a Redis restart fails once: again. */
	if (presence_refresh(v, job->n, job->now) == PRESENCE_DOWN &&
	    presence_refresh(v, job->n, job->now) == PRESENCE_DOWN) {
		free(v);
		return;
	}
	job->ok = 1;

	for (i = 0; i < job->n; i++)
		job->nnotes += v[i].changed;
	if (job->nnotes > 0 &&
	    (job->notes = calloc(job->nnotes, sizeof(*job->notes))) == NULL)
		job->nnotes = 0;

	for (i = 0, k = 0; i < job->n && k < job->nnotes; i++) {
		if (!v[i].changed)
			continue;
		memcpy(job->notes[k].uid, v[i].uid, sizeof(job->notes[k].uid));
		bson_oid_init_from_string(&job->notes[k].oid, v[i].uid);
		job->notes[k].when = job->now;
		oidlist_init(&job->notes[k].partners);
		pres_partners(&job->notes[k].oid, &job->notes[k].partners);
		k++;
	}
	free(v);
}

static void
refresh_done(void *arg)
{
	struct refresh_job	*job = arg;
	struct chat_user	*u;
	size_t			i;

	refreshing = 0;
	/* Failed: again at the next tick, until Redis answers. */
	if (!job->ok)
		refresh_due = 1;

	for (i = 0; i < job->nnotes; i++) {
		/* Only if still true: it may have gone away meanwhile. */
		if ((u = chat_user_find(job->notes[i].uid)) != NULL &&
		    u->nonline > 0) {
			presence_announce(job->notes[i].uid, 1,
			    job->notes[i].when, &job->notes[i].partners);
		}
		oidlist_free(&job->notes[i].partners);
	}

	free(job->notes);
	free(job->uid);
	free(job->sid);
	free(job->online);
	free(job);
}

static void
sweep_start(int64_t now)
{
	struct sweep_job	*job;

	sweep_next = kore_time_ms() + PRESENCE_SWEEP_MS;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->now = now;

	sweeping = 1;
	if (job_start(sweep_run, sweep_done, job) == -1) {
		sweeping = 0;
		free(job);
	}
}

static void
sweep_run(void *arg)
{
	struct sweep_job	*job = arg;
	struct presence_gone	*gone;
	int			i;

	if ((gone = calloc(PRESENCE_SWEEP_MAX, sizeof(*gone))) == NULL)
		return;

	job->count = presence_sweep(job->now, gone, &job->more);
	if (job->count > 0 &&
	    (job->notes = calloc(job->count, sizeof(*job->notes))) == NULL)
		job->count = 0;

	for (i = 0; i < job->count; i++) {
		memcpy(job->notes[i].uid, gone[i].uid,
		    sizeof(job->notes[i].uid));
		bson_oid_init_from_string(&job->notes[i].oid, gone[i].uid);
		job->notes[i].when = gone[i].last_seen;
		oidlist_init(&job->notes[i].partners);
		pres_partners(&job->notes[i].oid,
		    &job->notes[i].partners);
	}
	free(gone);
}

static void
sweep_done(void *arg)
{
	struct sweep_job	*job = arg;
	int			i;

	sweeping = 0;
	/* A full batch: there may be more, go on at the next tick. */
	if (job->more)
		sweep_next = 0;

	for (i = 0; i < job->count; i++) {
		presence_announce(job->notes[i].uid, 0, job->notes[i].when,
		    &job->notes[i].partners);
		oidlist_free(&job->notes[i].partners);
	}

	free(job->notes);
	free(job);
}
