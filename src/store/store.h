/*
 * MongoDB access: one mongoc_client_pool_t per worker, a client per task
 * thread, one file per collection. Callers run on task threads only.
 */

#ifndef LNK_STORE_STORE_H
#define LNK_STORE_STORE_H

#include <sys/types.h>

#include <pthread.h>

#include <mongoc/mongoc.h>

#define STORE_OK		0
#define STORE_NOTFOUND		-1
#define STORE_DUP		-2
#define STORE_DOWN		-3	/* unreachable or timed out: 503 */
#define STORE_ERROR		-4	/* anything else: 500, logged */

#define STORE_USERS		0
#define STORE_CONVERSATIONS	1
#define STORE_MESSAGES		2
#define STORE_MESSAGEREADS	3
#define STORE_NCOLL		4

int			store_init(const char *);
void			store_cleanup(void);
mongoc_collection_t	*store_coll(int);
int			store_error(const char *, const bson_error_t *);
int			store_ping(int64_t *);
int			store_ensure_indexes(void);
const char		*store_dbname(void);
/* How long a database call may block (the URI's socketTimeoutMS). */
int32_t			store_timeout_ms(void);
void			store_host(char *, size_t, u_int16_t *);

/* helpers shared by the collection files */
struct doclist;

int			store_find_one(int, const bson_t *, const bson_t *,
			    bson_t *);
/* Every match appended to a doclist. */
int			store_find(int, const char *, const bson_t *,
			    const bson_t *, struct doclist *);
/*
 * Several finds at once: the first on the caller's client, each other
 * on a thread of its own with a spare client of the pool (inline when
 * none is spare), so a read that needs several queries waits for the
 * slowest, not for their sum. ret: each one's STORE_*.
 */
struct store_query {
	int		coll;
	const char	*what;
	const bson_t	*filter;
	const bson_t	*opts;
	struct doclist	*out;
	int		ret;
	/* store.c's: the thread that runs it, if any, and its client. */
	pthread_t	tid;
	int		threaded;
	mongoc_client_t	*client;
};
void			store_find_all(struct store_query *, size_t);
int64_t			store_count(int, const bson_t *);
/*
 * By _id, one lookup each with find (FerretDB scans the collection for
 * an $in): those found, in the order of the ids.
 */
struct oidlist;
int			store_find_each(int (*)(const bson_oid_t *, bson_t *),
			    const struct oidlist *, struct doclist *);
/* update_one; STORE_NOTFOUND when nothing matched. */
int			store_update(int, const char *, const bson_t *,
			    const bson_t *);
int			store_update_id(int, const char *, const bson_oid_t *,
			    const bson_t *);
/* key: [oid, ...] */
void			store_append_oids(bson_t *, const char *,
			    const bson_oid_t *, size_t);

#endif
