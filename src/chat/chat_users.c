/*
 * This worker's users: one record per user with sockets here, so that
 * what is asked per user (their other sockets, their typing, whether
 * their account still exists) costs no walk over every socket.
 *
 * Accounts are checked while their sockets live. A token stays valid
 * for days, so a user deactivated (isActive: false) or deleted in the
 * database by any means, an admin tool or a script, must lose every
 * socket without waiting for it. Two checks, because a point lookup
 * costs FerretDB about 1.7 ms of CPU and a sweep of everyone online by
 * _id would cost more than the messages they send:
 *
 *  - every CHAT_CHECK_ROUND seconds each worker asks for the accounts
 *    with isActive: false (one indexed query, whatever the number
 *    online) and forgets its memo copies of them, so the guard
 *    refuses their next request; one it holds sockets of is
 *    announced on the bus, as below;
 *  - a deleted document matches no query, so each worker also looks
 *    its users up by _id, round robin, every one within
 *    CHAT_DELETED_ROUND seconds up to CHAT_DELETED_MAX lookups a
 *    second; beyond CHAT_DELETED_ROUND * CHAT_DELETED_MAX users the
 *    rate stays and the round grows. The worker that finds one tells
 *    every worker and node on the bus.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "chat/chat.h"
#include "core/job.h"
#include "domain/events.h"
#include "domain/user_watch.h"
#include "lib/doclist.h"
#include "socketio/sio.h"

#define CHAT_USER_BUCKETS	4096
#define CHAT_CHECK_ROUND	3	/* seconds between isActive queries */
#define CHAT_DELETED_ROUND	4	/* seconds */
#define CHAT_DELETED_MAX	25	/* lookups per second per worker */

struct check_user {
	bson_oid_t		oid;
	int			gone;		/* deleted or deactivated */
};

struct check_job {
	int			query;		/* ask for isActive: false */
	struct oidlist		inactive;
	size_t			n;
	size_t			done;
	struct check_user	*v;
};

static struct chat_user	*user_lookup(const bson_oid_t *);
static u_int32_t	user_hash(const bson_oid_t *);
static void		user_free(struct chat_user *);
static void		check_run(void *);
static void		check_done(void *);
static void		check_inactive(const struct oidlist *);
static void		check_revoke(const bson_oid_t *);
static void		check_free(struct check_job *);

static LIST_HEAD(, chat_user)	buckets[CHAT_USER_BUCKETS];
static TAILQ_HEAD(, chat_user)	round_q;
static size_t			nusers;
static int			checking;
static u_int64_t		last_query;

void
chat_users_init(void)
{
	size_t		i;

	for (i = 0; i < CHAT_USER_BUCKETS; i++)
		LIST_INIT(&buckets[i]);
	TAILQ_INIT(&round_q);
	nusers = 0;
	checking = 0;
	last_query = 0;
}

struct chat_user *
chat_user_find(const char *hex)
{
	bson_oid_t	oid;

	if (strlen(hex) != 24 || !bson_oid_is_valid(hex, 24))
		return (NULL);
	bson_oid_init_from_string(&oid, hex);

	return (user_lookup(&oid));
}

void
chat_user_attach(struct chat_client *c, const struct dom_caller *au)
{
	struct chat_user	*u;

	if ((u = user_lookup(&au->oid)) == NULL) {
		u = kore_calloc(1, sizeof(*u));
		bson_oid_copy(&au->oid, &u->oid);
		bson_oid_to_string(&au->oid, u->id);
		TAILQ_INIT(&u->clients);
		TAILQ_INIT(&u->typing);
		LIST_INSERT_HEAD(&buckets[user_hash(&u->oid)], u, hash);
		TAILQ_INSERT_TAIL(&round_q, u, round);
		nusers++;
	}

	/* The latest connect has looked the user up last. */
	kore_free(u->name);
	kore_free(u->avatar);
	u->name = au->name[0] != '\0' ? kore_strdup(au->name) : NULL;
	u->avatar = au->avatar[0] != '\0' ? kore_strdup(au->avatar) : NULL;

	c->user = u;
	TAILQ_INSERT_TAIL(&u->clients, c, ulist);
	u->nclients++;
}

/* The client's typing marks and presence are settled before this. */
void
chat_user_detach(struct chat_client *c)
{
	struct chat_user	*u = c->user;

	TAILQ_REMOVE(&u->clients, c, ulist);
	u->nclients--;
	if (c->online) {
		c->online = 0;
		u->nonline--;
	}
	c->user = NULL;

	if (u->nclients == 0)
		user_free(u);
}

/* From the chat tick, once a second; now in milliseconds. */
void
chat_users_check(u_int64_t now)
{
	struct check_job	*job;
	struct chat_user	*u;
	size_t			i, k;

	if (checking || nusers == 0)
		return;

	k = (nusers + CHAT_DELETED_ROUND - 1) / CHAT_DELETED_ROUND;
	if (k > CHAT_DELETED_MAX)
		k = CHAT_DELETED_MAX;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->v = calloc(k, sizeof(*job->v))) == NULL) {
		free(job);
		return;
	}
	oidlist_init(&job->inactive);

	if (now - last_query >= CHAT_CHECK_ROUND * 1000) {
		job->query = 1;
		last_query = now;
	}

	for (i = 0; i < k; i++) {
		u = TAILQ_FIRST(&round_q);
		TAILQ_REMOVE(&round_q, u, round);
		TAILQ_INSERT_TAIL(&round_q, u, round);
		bson_oid_copy(&u->oid, &job->v[i].oid);
	}
	job->n = k;

	checking = 1;
	if (job_start(check_run, check_done, job) == -1) {
		checking = 0;
		check_free(job);
	}
}

void
chat_user_revoke(const char *hex)
{
	struct chat_user	*u;
	struct chat_client	*c;
	struct sio_socket	*s;
	u_int64_t		*ids;
	size_t			i, n;

	if ((u = chat_user_find(hex)) == NULL)
		return;

	/* Each disconnect frees its client, and the last one the user. */
	n = 0;
	ids = kore_calloc(u->nclients, sizeof(*ids));
	TAILQ_FOREACH(c, &u->clients, ulist)
		ids[n++] = c->sock;

	for (i = 0; i < n; i++) {
		if ((s = sio_socket_find(ids[i])) != NULL)
			sio_disconnect(s);
	}
	kore_free(ids);

	kore_log(LOG_NOTICE, "chat: user %s is deactivated or deleted, "
	    "%zu socket(s) closed", hex, n);
}

static struct chat_user *
user_lookup(const bson_oid_t *oid)
{
	struct chat_user	*u;

	LIST_FOREACH(u, &buckets[user_hash(oid)], hash) {
		if (bson_oid_equal(&u->oid, oid))
			return (u);
	}

	return (NULL);
}

/* FNV-1a over the 12 bytes. */
static u_int32_t
user_hash(const bson_oid_t *oid)
{
	u_int32_t	h;
	size_t		i;

	h = 2166136261u;
	for (i = 0; i < sizeof(oid->bytes); i++) {
		h ^= oid->bytes[i];
		h *= 16777619u;
	}

	return (h % CHAT_USER_BUCKETS);
}

static void
user_free(struct chat_user *u)
{
	LIST_REMOVE(u, hash);
	TAILQ_REMOVE(&round_q, u, round);
	nusers--;
	kore_free(u->name);
	kore_free(u->avatar);
	kore_free(u);
}

/* Task thread: stops at the first failure (the database is away). */
static void
check_run(void *arg)
{
	struct check_job	*job = arg;

	if (job->query && uwatch_inactive(&job->inactive) == -1)
		return;

	for (job->done = 0; job->done < job->n; job->done++) {
		if (uwatch_gone(&job->v[job->done].oid,
		    &job->v[job->done].gone) == -1)
			break;
	}
}

static void
check_done(void *arg)
{
	struct check_job	*job = arg;
	size_t			i;

	check_inactive(&job->inactive);
	for (i = 0; i < job->done; i++) {
		if (job->v[i].gone)
			check_revoke(&job->v[i].oid);
	}

	checking = 0;
	check_free(job);
}

/*
 * Every worker runs the query itself and forgets its own memo copies;
 * a user it holds sockets of is news for all, so that no other worker
 * lets them reconnect on a copy it has not dropped yet.
 */
static void
check_inactive(const struct oidlist *ids)
{
	size_t		i;

	for (i = 0; i < ids->n; i++) {
		uwatch_forget(&ids->v[i]);
		if (user_lookup(&ids->v[i]) != NULL)
			check_revoke(&ids->v[i]);
	}
}

/*
 * Every worker of every node (this one included) hears it: the memo
 * copies go, so the guard refuses the user's requests and connects at
 * once, and the sockets close.
 */
static void
check_revoke(const bson_oid_t *oid)
{
	struct evq	q;
	char		hex[25];

	bson_oid_to_string(oid, hex);
	evq_init(&q);
	evq_note(&q, "user", hex);
	evq_note(&q, "revoke", hex);
	evq_publish(&q);
	evq_clear(&q);
}

static void
check_free(struct check_job *job)
{
	oidlist_free(&job->inactive);
	free(job->v);
	free(job);
}
