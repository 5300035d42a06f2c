/*
 * The users collection. Uniqueness of e-mail and phone is enforced by
 * unique indexes on emailKey and phoneKey, two fields that are always set
 * (the normalised value, or "-" + the user's id when absent), because
 * FerretDB has no sparse or partial indexes.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* strcasestr */
#endif

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "lib/json.h"
#include "store/doc.h"
#include "lib/doclist.h"
#include "store/memo.h"
#include "store/store.h"
#include "store/users.h"

/*
 * Public projections are re-read by every rendered message and every
 * authenticated request: kept USERS_MEMO_TTL_MS (memo.h). The bound is
 * also how long a deactivation made outside the server takes to reach
 * the guard.
 */
#define USERS_MEMO_TTL_MS	5000
#define USERS_MEMO_CAP		65536

static int	users_find_by_key(const char *, const char *, bson_t *);
static int	users_load_one(struct user_public *);
static void	users_memo_init(void);

static pthread_once_t	memo_once = PTHREAD_ONCE_INIT;
static struct memo	memo;

/* Never leaves the server. */
static const char *const private_fields[] = {
	"password", "refreshToken", "refreshTokenHash", "refreshFamily",
	"refreshPrevHash", "refreshRotatedAt", "emailKey", "phoneKey", "__v",
	NULL
};

static const char *const me_fields[] = {
	"_id", "email", "phoneNumber", "countryCode", "name", "avatar",
	"coverImage", "isActive", "isEmailVerified", "isPhoneVerified",
	"isPremium", "isVerified", "isAdmin", "userType", "age", "bio",
	"clientType", "appearance", "offerings", "hourlyRate", "halfDayRate",
	"fullDayRate", "weekendRate", "availabilityHours", "specialServices",
	"paymentMethods", "additionalNotes", "createdAt", "updatedAt",
	"inviteCode", "inviteRewards", NULL
};

int
users_insert(const bson_t *doc, int *which)
{
	bson_error_t	err;
	bson_iter_t	it;
	int		ret;

	*which = 0;
	if (mongoc_collection_insert_one(store_coll(STORE_USERS), doc, NULL,
	    NULL, &err))
		return (STORE_OK);

	ret = store_error("users.insert", &err);
	if (ret != STORE_DUP)
		return (ret);

	/* Which key clashed: servers word the error differently; ask. */
	*which = USERS_DUP_EMAIL;
	if (bson_iter_init_find(&it, doc, "phoneKey") &&
	    BSON_ITER_HOLDS_UTF8(&it) &&
	    users_find_by_phone(bson_iter_utf8(&it, NULL), NULL) == STORE_OK)
		*which = USERS_DUP_PHONE;
	if (bson_iter_init_find(&it, doc, "emailKey") &&
	    BSON_ITER_HOLDS_UTF8(&it) &&
	    users_find_by_email(bson_iter_utf8(&it, NULL), NULL) == STORE_OK)
		*which = USERS_DUP_EMAIL;

	return (ret);
}

int
users_find_by_id(const bson_oid_t *oid, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", oid);
	ret = store_find_one(STORE_USERS, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
users_find_by_email(const char *email, bson_t *out)
{
	return (users_find_by_key("emailKey", email, out));
}

int
users_find_by_phone(const char *phone, bson_t *out)
{
	return (users_find_by_key("phoneKey", phone, out));
}

static int
users_find_by_key(const char *key, const char *value, bson_t *out)
{
	bson_t		filter;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_UTF8(&filter, key, value);
	ret = store_find_one(STORE_USERS, &filter, NULL, out);
	bson_destroy(&filter);

	return (ret);
}

int
users_count_existing(const bson_oid_t *oids, size_t n, int64_t *count)
{
	struct user_public	u;
	size_t			i;
	int			ret;

	*count = 0;
	for (i = 0; i < n; i++) {
		memset(&u, 0, sizeof(u));
		bson_oid_copy(&oids[i], &u.oid);
		if ((ret = users_load_public(&u, 1)) != STORE_OK)
			return (ret);
		if (u.found)
			(*count)++;
	}

	return (STORE_OK);
}

int
users_set(const bson_oid_t *oid, const bson_t *set)
{
	bson_t		update;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT(&update, "$set", set);
	ret = store_update_id(STORE_USERS, "users.set", oid, &update);
	bson_destroy(&update);
	users_forget(oid);

	return (ret);
}

/*
 * Stores set (the refresh token's hash and family fields) only if the
 * hash still is `old`: of two concurrent refreshes with the same token,
 * exactly one wins. old NULL: a login, unconditionally.
 */
int
users_swap_refresh(const bson_oid_t *oid, const char *old, const bson_t *set)
{
	bson_t		filter, update;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", oid);
	if (old != NULL)
		BSON_APPEND_UTF8(&filter, "refreshTokenHash", old);

	bson_init(&update);
	BSON_APPEND_DOCUMENT(&update, "$set", set);

	ret = store_update(STORE_USERS, "users.swap_refresh", &filter, &update);

	bson_destroy(&filter);
	bson_destroy(&update);
	return (ret);
}

/*
 * Ends the refresh token family fam if it is still the user's (a newer
 * login has a family of its own): no refresh token of it matches again.
 */
int
users_revoke_refresh(const bson_oid_t *oid, const char *fam)
{
	bson_t		filter, update, set;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", oid);
	BSON_APPEND_UTF8(&filter, "refreshFamily", fam);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "refreshTokenHash", "");
	BSON_APPEND_UTF8(&set, "refreshFamily", "");
	BSON_APPEND_UTF8(&set, "refreshPrevHash", "");
	bson_append_document_end(&update, &set);

	ret = store_update(STORE_USERS, "users.revoke_refresh", &filter,
	    &update);

	bson_destroy(&filter);
	bson_destroy(&update);
	return (ret == STORE_NOTFOUND ? STORE_OK : ret);
}

/*
 * Memo first, then one lookup by _id per miss: FerretDB runs an $in over
 * users as a scan of the whole collection (3 s at 20,000 users).
 */
int
users_load_public(struct user_public *users, size_t n)
{
	size_t		i;
	int		ret;

	(void)pthread_once(&memo_once, users_memo_init);

	for (i = 0; i < n; i++) {
		if (memo_get(&memo, &users[i].oid, &users[i]))
			continue;
		if ((ret = users_load_one(&users[i])) != STORE_OK)
			return (ret);
		memo_put(&memo, &users[i].oid, &users[i]);
	}

	return (STORE_OK);
}

int
users_cached_public(struct user_public *u)
{
	(void)pthread_once(&memo_once, users_memo_init);

	return (memo_get(&memo, &u->oid, u));
}

/*
 * The same from the database whatever the memo holds, and the memo
 * refreshed with it: for checks that must see a change made outside the
 * server sooner than the memo's ttl (domain/user_watch.c).
 */
int
users_reload_public(struct user_public *users, size_t n)
{
	size_t		i;
	int		ret;

	(void)pthread_once(&memo_once, users_memo_init);

	for (i = 0; i < n; i++) {
		if ((ret = users_load_one(&users[i])) != STORE_OK)
			return (ret);
		memo_put(&memo, &users[i].oid, &users[i]);
	}

	return (STORE_OK);
}

/*
 * Every deactivated account, by the isActive index: one query whatever
 * the number of users (an equality FerretDB pushes down to the GIN twin
 * of isActive_1), which returns only the accounts switched off.
 */
int
users_find_inactive(struct oidlist *out)
{
	struct doclist	docs;
	bson_t		filter, opts, proj;
	bson_oid_t	oid;
	size_t		i;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_BOOL(&filter, "isActive", false);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);

	doclist_init(&docs);
	ret = store_find(STORE_USERS, "users.inactive", &filter, &opts, &docs);
	for (i = 0; ret == STORE_OK && i < docs.n; i++) {
		if (doc_oid(docs.docs[i], "_id", &oid))
			oidlist_push(out, &oid);
	}

	doclist_free(&docs);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return (ret);
}

void
users_forget(const bson_oid_t *oid)
{
	(void)pthread_once(&memo_once, users_memo_init);
	memo_forget(&memo, oid);
}

/* Those of users whose name contains text, ignoring (ASCII) case. */
void
users_filter_by_name(const struct user_public *users, size_t n,
    const char *text, struct oidlist *out)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (users[i].found && strcasestr(users[i].name, text) != NULL)
			oidlist_add(out, &users[i].oid);
	}
}

int
users_package_push(const bson_oid_t *uid, const bson_t *pkg)
{
	bson_t		update, push;
	int		ret;

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$push", &push);
	BSON_APPEND_DOCUMENT(&push, "servicePackages", pkg);
	bson_append_document_end(&update, &push);

	ret = store_update_id(STORE_USERS, "users.package_push", uid, &update);
	bson_destroy(&update);

	return (ret);
}

static int	users_package_lookup(const bson_oid_t *, const char *, int *,
		    bson_t *);

/*
 * set holds the package's fields. FerretDB has no positional "$" update,
 * so the element is addressed by index, guarded by its _id in the filter:
 * if the array changed in between, nothing matches and we look again.
 */
int
users_package_set(const bson_oid_t *uid, const char *pid, const bson_t *set)
{
	bson_t		filter, update, s;
	bson_iter_t	it;
	char		key[128];
	int		ret, idx, attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		if ((ret = users_package_lookup(uid, pid, &idx, NULL)) != STORE_OK)
			return (ret);

		bson_init(&filter);
		BSON_APPEND_OID(&filter, "_id", uid);
		(void)snprintf(key, sizeof(key), "servicePackages.%d._id", idx);
		BSON_APPEND_UTF8(&filter, key, pid);

		bson_init(&update);
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &s);
		if (bson_iter_init(&it, set)) {
			while (bson_iter_next(&it)) {
				(void)snprintf(key, sizeof(key),
				    "servicePackages.%d.%s", idx,
				    bson_iter_key(&it));
				bson_append_value(&s, key, -1,
				    bson_iter_value(&it));
			}
		}
		bson_append_document_end(&update, &s);

		ret = store_update(STORE_USERS, "users.package_set", &filter,
		    &update);

		bson_destroy(&filter);
		bson_destroy(&update);

		if (ret != STORE_NOTFOUND)
			return (ret);
	}

	return (STORE_NOTFOUND);
}

/*
 * The package pid of user uid: its index in servicePackages (idx) and
 * a copy of it (out, initialised here), either may be NULL.
 */
static int
users_package_lookup(const bson_oid_t *uid, const char *pid, int *idx,
    bson_t *out)
{
	bson_t		user, pkg;
	bson_iter_t	it, arr, pit;
	const u_int8_t	*data;
	u_int32_t	len;
	int		ret, i;

	if ((ret = users_find_by_id(uid, &user)) != STORE_OK)
		return (ret);

	ret = STORE_NOTFOUND;
	if (bson_iter_init_find(&it, &user, "servicePackages") &&
	    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
		for (i = 0; bson_iter_next(&arr); i++) {
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&pkg, data, len))
				continue;
			if (bson_iter_init_find(&pit, &pkg, "_id") &&
			    BSON_ITER_HOLDS_UTF8(&pit) &&
			    !strcmp(bson_iter_utf8(&pit, NULL), pid)) {
				if (idx != NULL)
					*idx = i;
				if (out != NULL)
					bson_copy_to(&pkg, out);
				ret = STORE_OK;
				break;
			}
		}
	}

	bson_destroy(&user);
	return (ret);
}

/*
 * FerretDB's $pull only matches whole values, so the stored element is
 * read first and pulled by exact equality (which also makes a concurrent
 * edit of that package a miss rather than a lost update).
 */
int
users_package_pull(const bson_oid_t *uid, const char *pid)
{
	bson_t		filter, update, pull, pkg, reply;
	bson_iter_t	it;
	bson_error_t	err;
	int		ret;

	if ((ret = users_package_find(uid, pid, &pkg)) != STORE_OK)
		return (ret);

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", uid);

	bson_init(&update);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$pull", &pull);
	BSON_APPEND_DOCUMENT(&pull, "servicePackages", &pkg);
	bson_append_document_end(&update, &pull);

	ret = STORE_OK;
	if (!mongoc_collection_update_one(store_coll(STORE_USERS), &filter,
	    &update, NULL, &reply, &err)) {
		ret = store_error("users.package_pull", &err);
	} else if (bson_iter_init_find(&it, &reply, "modifiedCount") &&
	    bson_iter_as_int64(&it) == 0) {
		ret = STORE_NOTFOUND;
	}

	bson_destroy(&reply);
	bson_destroy(&pkg);
	bson_destroy(&filter);
	bson_destroy(&update);
	return (ret);
}

/* Copies the package `pid` of user `uid` into out (initialised here). */
int
users_package_find(const bson_oid_t *uid, const char *pid, bson_t *out)
{
	return (users_package_lookup(uid, pid, NULL, out));
}

void
users_json_public(struct json *j, const struct user_public *u)
{
	json_obj_open(j);
	json_koid(j, "_id", &u->oid);
	json_koid(j, "id", &u->oid);
	if (u->name[0] != '\0')
		json_kstr(j, "name", u->name);
	if (u->avatar[0] != '\0')
		json_kstr(j, "avatar", u->avatar);
	json_kbool(j, "isVerified", u->is_verified);
	json_kbool(j, "isPremium", u->is_premium);
	json_obj_close(j);
}

void
users_json_self(struct json *j, const bson_t *doc)
{
	json_bson_doc(j, doc, private_fields);
}

void
users_json_me(struct json *j, const bson_t *doc)
{
	bson_iter_t	it;
	size_t		i;

	json_obj_open(j);
	for (i = 0; me_fields[i] != NULL; i++) {
		if (!bson_iter_init_find(&it, doc, me_fields[i]))
			continue;
		json_key(j, me_fields[i]);
		json_bson_value(j, &it);
		if (i == 0) {
			json_key(j, "id");
			json_bson_value(j, &it);
		}
	}
	json_obj_close(j);
}

void
users_json_package(struct json *j, const bson_t *pkg)
{
	json_bson_doc(j, pkg, NULL);
}

static int
users_load_one(struct user_public *u)
{
	bson_t		filter, opts, proj, doc;
	const char	*v;
	int		ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", &u->oid);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "name", 1);
	BSON_APPEND_INT32(&proj, "avatar", 1);
	BSON_APPEND_INT32(&proj, "isVerified", 1);
	BSON_APPEND_INT32(&proj, "isPremium", 1);
	BSON_APPEND_INT32(&proj, "isActive", 1);
	bson_append_document_end(&opts, &proj);

	ret = store_find_one(STORE_USERS, &filter, &opts, &doc);
	bson_destroy(&filter);
	bson_destroy(&opts);

	u->found = 0;
	u->name[0] = '\0';
	u->avatar[0] = '\0';
	u->is_verified = 0;
	u->is_premium = 0;
	u->active = 0;
	if (ret == STORE_NOTFOUND)
		return (STORE_OK);
	if (ret != STORE_OK)
		return (ret);

	u->found = 1;
	if ((v = doc_str(&doc, "name")) != NULL)
		(void)snprintf(u->name, sizeof(u->name), "%s", v);
	if ((v = doc_str(&doc, "avatar")) != NULL)
		(void)snprintf(u->avatar, sizeof(u->avatar), "%s", v);
	u->is_verified = doc_bool(&doc, "isVerified", 0);
	u->is_premium = doc_bool(&doc, "isPremium", 0);
	u->active = doc_bool(&doc, "isActive", 1);
	bson_destroy(&doc);

	return (STORE_OK);
}

static void
users_memo_init(void)
{
	memo_init(&memo, sizeof(struct user_public), USERS_MEMO_TTL_MS,
	    USERS_MEMO_CAP);
}
