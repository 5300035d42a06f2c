/*
 * The MongoDB client pool, error classification, and start-up indexes.
 *
 * Timeouts are tight on purpose: when the database is down a request
 * should fail with a quick 503, not hold a task thread for 30 seconds.
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "core/core.h"
#include "lib/doclist.h"
#include "store/store.h"

struct store_index {
	int		coll;
	const char	*name;
	const char	*keys;		/* relaxed extended JSON */
	int		unique;
};

#define STORE_SOCKET_TIMEOUT_MS	15000

static int	store_ensure_index(const struct store_index *);
static int	store_unavailable(const bson_error_t *);
static int	store_find_in(mongoc_collection_t *, const char *,
		    const bson_t *, const bson_t *, struct doclist *);
static void	*store_query_thread(void *);
static void	store_log(mongoc_log_level_t, const char *, const char *,
		    void *);

static const char *coll_names[STORE_NCOLL] = {
	"users", "conversations", "messages", "messagereads"
};

/*
 * Every index is valid on MongoDB and accepted by FerretDB v1.24: no
 * partial, sparse or text indexes. Messages without a clientMessageId
 * store their own id there, and groups store "g:<id>" as directKey, so
 * the unique indexes need no filter. {conversationId, seq} is unique:
 * it is what keeps seq gap-free and unrepeated (domain/msg_commit.c).
 *
 * Each index leads with the field its hot query is an equality on: on
 * FerretDB-on-PostgreSQL, scripts/postgres/ferretdb.sql gives every
 * index a GIN twin on its first key, which is what serves FerretDB's
 * pushed-down equality (`_jsonb->'field' @> value`); MongoDB uses the
 * index itself. Hot queries and their index:
 *   user by id, conversation by id, message by id    _id
 *   user by e-mail / phone                           emailKey, phoneKey
 *   deactivated accounts (socket revocation)         isActive
 *   a user's conversations (connect, list)           participants
 *   direct conversation of two users                 directKey
 *   history page, afterSeq / beforeSeq               bucket
 *   the sender's earlier send (clientMessageId)      clientMessageId
 *   receipts of a message                            messageId
 */
static const struct store_index indexes[] = {
	{ STORE_USERS, "emailKey_1", "{\"emailKey\": 1}", 1 },
	{ STORE_USERS, "phoneKey_1", "{\"phoneKey\": 1}", 1 },
	{ STORE_USERS, "isActive_1", "{\"isActive\": 1}", 0 },
	{ STORE_CONVERSATIONS, "participants_1_lastMessageAt_-1",
	    "{\"participants\": 1, \"lastMessageAt\": -1}", 0 },
	{ STORE_CONVERSATIONS, "directKey_1", "{\"directKey\": 1}", 1 },
	{ STORE_MESSAGES, "conversationId_1_seq_1",
	    "{\"conversationId\": 1, \"seq\": 1}", 1 },
	{ STORE_MESSAGES, "bucket_1_seq_1", "{\"bucket\": 1, \"seq\": 1}", 0 },
	{ STORE_MESSAGES, "clientMessageId_1_conversationId_1_senderId_1",
	    "{\"clientMessageId\": 1, \"conversationId\": 1, "
	    "\"senderId\": 1}", 1 },
	{ STORE_MESSAGES, "conversationId_1_createdAt_-1",
	    "{\"conversationId\": 1, \"createdAt\": -1}", 0 },
	{ STORE_MESSAGEREADS, "messageId_1_userId_1",
	    "{\"messageId\": 1, \"userId\": 1}", 1 },
	{ STORE_MESSAGEREADS, "conversationId_1_userId_1_readAt_-1",
	    "{\"conversationId\": 1, \"userId\": 1, \"readAt\": -1}", 0 },
	{ -1, NULL, NULL, 0 }
};

static mongoc_client_pool_t		*pool;
static mongoc_uri_t			*uri;
static char				dbname[128];
static __thread mongoc_client_t		*tl_client;
static __thread mongoc_collection_t	*tl_coll[STORE_NCOLL];

int
store_init(const char *uristr)
{
	bson_error_t		err;
	const char		*db;

	mongoc_init();
	mongoc_log_set_handler(store_log, NULL);

	if ((uri = mongoc_uri_new_with_error(uristr, &err)) == NULL) {
		core_log("MONGODB_URI: %s", err.message);
		return (-1);
	}

	if ((db = mongoc_uri_get_database(uri)) == NULL || *db == '\0')
		db = "lnk_db";
	(void)snprintf(dbname, sizeof(dbname), "%s", db);

	/* Keep what the operator set in the URI; tighten the rest. */
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_CONNECTTIMEOUTMS, 2000);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SOCKETTIMEOUTMS, STORE_SOCKET_TIMEOUT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_HEARTBEATFREQUENCYMS))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_HEARTBEATFREQUENCYMS, 2000);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_MAXPOOLSIZE))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_MAXPOOLSIZE, 64);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME))
		mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_APPNAME,
		    "lnk-chat");

	if ((pool = mongoc_client_pool_new(uri)) == NULL) {
		core_log("MONGODB_URI: cannot create the client pool");
		return (-1);
	}
	mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);

	return (0);
}

void
store_cleanup(void)
{
	if (pool != NULL)
		mongoc_client_pool_destroy(pool);
	if (uri != NULL)
		mongoc_uri_destroy(uri);
	pool = NULL;
	uri = NULL;
}

const char *
store_dbname(void)
{
	return (dbname);
}

int32_t
store_timeout_ms(void)
{
	if (uri == NULL)
		return (STORE_SOCKET_TIMEOUT_MS);

	return (mongoc_uri_get_option_as_int32(uri,
	    MONGOC_URI_SOCKETTIMEOUTMS, STORE_SOCKET_TIMEOUT_MS));
}

void
store_host(char *buf, size_t len, u_int16_t *port)
{
	const mongoc_host_list_t	*h;

	h = mongoc_uri_get_hosts(uri);
	if (h == NULL) {
		(void)snprintf(buf, len, "unknown");
		*port = 0;
		return;
	}

	(void)snprintf(buf, len, "%s", h->host);
	*port = h->port;
}

/*
 * Task threads live as long as the worker, so each keeps one pooled
 * client and its collection handles for good.
 */
mongoc_collection_t *
store_coll(int which)
{
	if (tl_client == NULL) {
		tl_client = mongoc_client_pool_pop(pool);
		memset(tl_coll, 0, sizeof(tl_coll));
	}

	if (tl_coll[which] == NULL) {
		tl_coll[which] = mongoc_client_get_collection(tl_client,
		    dbname, coll_names[which]);
	}

	return (tl_coll[which]);
}

int
store_error(const char *what, const bson_error_t *err)
{
	if (store_unavailable(err)) {
		core_log("store: %s: database unavailable: %s", what,
		    err->message);
		return (STORE_DOWN);
	}

	if (err->code == 11000 || err->code == 11001)
		return (STORE_DUP);

	core_log("store: %s: %s (domain %u, code %u)", what, err->message,
	    err->domain, err->code);
	return (STORE_ERROR);
}

/*
 * The database is away, not refusing: the driver could not reach it, or
 * the server says it cannot serve now (MongoDB's retryable states), or
 * FerretDB lost its backend (it reports that as InternalError, code 1,
 * with the driver's text: nothing else tells it from a real failure).
 */
static int
store_unavailable(const bson_error_t *err)
{
	static const uint32_t	codes[] = {
		6,	/* HostUnreachable */
		7,	/* HostNotFound */
		50,	/* MaxTimeMSExpired */
		89,	/* NetworkTimeout */
		91,	/* ShutdownInProgress */
		189,	/* PrimarySteppedDown */
		262,	/* ExceededTimeLimit */
		9001,	/* SocketException */
		10107,	/* NotWritablePrimary */
		11600,	/* InterruptedAtShutdown */
		11602,	/* InterruptedDueToReplStateChange */
		13435,	/* NotPrimaryNoSecondaryOk */
		13436,	/* NotPrimaryOrSecondary */
	};
	size_t			i;

	if (err->domain == MONGOC_ERROR_SERVER_SELECTION ||
	    err->domain == MONGOC_ERROR_STREAM ||
	    (err->domain == MONGOC_ERROR_CLIENT &&
	    err->code == MONGOC_ERROR_CLIENT_AUTHENTICATE))
		return (1);

	if (err->domain != MONGOC_ERROR_SERVER &&
	    err->domain != MONGOC_ERROR_QUERY &&
	    err->domain != MONGOC_ERROR_COMMAND &&
	    err->domain != MONGOC_ERROR_COLLECTION &&
	    err->domain != MONGOC_ERROR_WRITE_CONCERN)
		return (0);

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (err->code == codes[i])
			return (1);
	}

	return (err->code == 1 && (strstr(err->message,
	    "failed to connect to") != NULL || strstr(err->message,
	    "conn closed") != NULL || strstr(err->message,
	    "connection refused") != NULL));
}

int
store_ping(int64_t *ms)
{
	bson_t		cmd, reply;
	bson_error_t	err;
	int64_t		start;
	int		ok;

	start = core_now_ms();
	(void)store_coll(STORE_USERS);

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "ping", 1);
	ok = mongoc_client_command_simple(tl_client, dbname, &cmd, NULL,
	    &reply, &err);
	bson_destroy(&cmd);
	bson_destroy(&reply);

	*ms = core_now_ms() - start;
	if (!ok)
		return (store_error("ping", &err));

	return (STORE_OK);
}

int
store_find_one(int coll, const bson_t *filter, const bson_t *opts,
    bson_t *out)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_error_t		err;
	bson_t			o;
	int			ret;

	bson_init(&o);
	if (opts != NULL)
		bson_copy_to_excluding_noinit(opts, &o, "limit", NULL);
	BSON_APPEND_INT64(&o, "limit", 1);

	cur = mongoc_collection_find_with_opts(store_coll(coll), filter,
	    &o, NULL);
	bson_destroy(&o);

	ret = STORE_NOTFOUND;
	if (mongoc_cursor_next(cur, &doc)) {
		if (out != NULL)
			bson_copy_to(doc, out);
		ret = STORE_OK;
	} else if (mongoc_cursor_error(cur, &err)) {
		ret = store_error("find_one", &err);
	}

	mongoc_cursor_destroy(cur);
	return (ret);
}

int
store_find(int coll, const char *what, const bson_t *filter,
    const bson_t *opts, struct doclist *out)
{
	return (store_find_in(store_coll(coll), what, filter, opts, out));
}

static int
store_find_in(mongoc_collection_t *coll, const char *what,
    const bson_t *filter, const bson_t *opts, struct doclist *out)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_error_t		err;
	int			ret;

	cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	while (mongoc_cursor_next(cur, &doc))
		doclist_push(out, doc);

	ret = STORE_OK;
	if (mongoc_cursor_error(cur, &err))
		ret = store_error(what, &err);

	mongoc_cursor_destroy(cur);
	return (ret);
}

void
store_find_all(struct store_query *q, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		q[i].threaded = 0;
		if (i == 0 ||
		    (q[i].client = mongoc_client_pool_try_pop(pool)) == NULL)
			continue;
		if (pthread_create(&q[i].tid, NULL, store_query_thread,
		    &q[i]) == 0)
			q[i].threaded = 1;
		else
			mongoc_client_pool_push(pool, q[i].client);
	}

	for (i = 0; i < n; i++) {
		if (!q[i].threaded)
			q[i].ret = store_find(q[i].coll, q[i].what, q[i].filter,
			    q[i].opts, q[i].out);
	}
	for (i = 0; i < n; i++) {
		if (q[i].threaded)
			(void)pthread_join(q[i].tid, NULL);
	}
}

/* One of store_find_all's on its own client, given back after. */
static void *
store_query_thread(void *arg)
{
	struct store_query	*q = arg;
	mongoc_collection_t	*coll;

	coll = mongoc_client_get_collection(q->client, dbname,
	    coll_names[q->coll]);
	q->ret = store_find_in(coll, q->what, q->filter, q->opts, q->out);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(pool, q->client);

	return (NULL);
}

int
store_find_each(int (*find)(const bson_oid_t *, bson_t *),
    const struct oidlist *ids, struct doclist *out)
{
	bson_t		doc;
	size_t		i;
	int		ret;

	for (i = 0; i < ids->n; i++) {
		ret = find(&ids->v[i], &doc);
		if (ret == STORE_NOTFOUND)
			continue;
		if (ret != STORE_OK)
			return (ret);
		doclist_push(out, &doc);
		bson_destroy(&doc);
	}

	return (STORE_OK);
}

int
store_update(int coll, const char *what, const bson_t *filter,
    const bson_t *update)
{
	bson_t		reply;
	bson_iter_t	it;
	bson_error_t	err;
	int		ret;

	ret = STORE_OK;
	if (!mongoc_collection_update_one(store_coll(coll), filter, update,
	    NULL, &reply, &err)) {
		ret = store_error(what, &err);
	} else if (bson_iter_init_find(&it, &reply, "matchedCount") &&
	    bson_iter_as_int64(&it) == 0) {
		ret = STORE_NOTFOUND;
	}

	bson_destroy(&reply);
	return (ret);
}

int
store_update_id(int coll, const char *what, const bson_oid_t *id,
    const bson_t *update)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", id);
	ret = store_update(coll, what, &filter, update);
	bson_destroy(&filter);

	return (ret);
}

void
store_append_oids(bson_t *doc, const char *key, const bson_oid_t *v,
    size_t n)
{
	bson_t		arr;
	char		idx[24];
	size_t		i;

	BSON_APPEND_ARRAY_BEGIN(doc, key, &arr);
	for (i = 0; i < n; i++) {
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		BSON_APPEND_OID(&arr, idx, &v[i]);
	}
	bson_append_array_end(doc, &arr);
}

/* Returns the count, or a negative STORE_* error. */
int64_t
store_count(int coll, const bson_t *filter)
{
	bson_error_t	err;
	int64_t		n;

	n = mongoc_collection_count_documents(store_coll(coll), filter,
	    NULL, NULL, NULL, &err);
	if (n < 0)
		return (store_error("count", &err));

	return (n);
}

int
store_ensure_indexes(void)
{
	int		i, ret, first;

	/* One bad index must not keep the others from being created. */
	first = STORE_OK;
	for (i = 0; indexes[i].name != NULL; i++) {
		if ((ret = store_ensure_index(&indexes[i])) != STORE_OK &&
		    first == STORE_OK)
			first = ret;
	}

	return (first);
}

static int
store_ensure_index(const struct store_index *ix)
{
	bson_t		*keys, cmd, arr, spec, reply;
	bson_error_t	err;
	int		ok;

	if ((keys = bson_new_from_json((const u_int8_t *)ix->keys, -1,
	    &err)) == NULL) {
		core_log("store: index %s: %s", ix->name, err.message);
		return (STORE_ERROR);
	}

	bson_init(&cmd);
	BSON_APPEND_UTF8(&cmd, "createIndexes", coll_names[ix->coll]);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &spec);
	BSON_APPEND_DOCUMENT(&spec, "key", keys);
	BSON_APPEND_UTF8(&spec, "name", ix->name);
	if (ix->unique)
		BSON_APPEND_BOOL(&spec, "unique", true);
	bson_append_document_end(&arr, &spec);
	bson_append_array_end(&cmd, &arr);

	(void)store_coll(ix->coll);
	ok = mongoc_client_write_command_with_opts(tl_client, dbname, &cmd,
	    NULL, &reply, &err);

	bson_destroy(&cmd);
	bson_destroy(&reply);
	bson_destroy(keys);

	if (!ok)
		return (store_error(ix->name, &err));

	return (STORE_OK);
}

/* The driver's debug chatter (monitor retries) stays out of our log. */
static void
store_log(mongoc_log_level_t level, const char *domain, const char *msg,
    void *arg)
{
	if (level > MONGOC_LOG_LEVEL_WARNING)
		return;

	core_log("mongoc %s: %s", domain, msg);
}
