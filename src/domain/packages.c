/*
 * Service packages (see packages.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "domain/domain.h"
#include "domain/packages.h"
#include "lib/json.h"
#include "store/store.h"
#include "store/users.h"

static void	package_bson(bson_t *, const struct package_fields *, int);
static int	package_reply_one(const struct dom_caller *, const char *, int,
		    struct json *, char *, size_t);

int
package_list(const struct dom_caller *u, struct json *j, char *err,
    size_t errlen)
{
	bson_t		user;
	bson_iter_t	it, arr;
	int		ret;

	if ((ret = users_find_by_id(&u->oid, &user)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Not found"));

	json_obj_open(j);
	json_key(j, "packages");
	json_arr_open(j);
	if (bson_iter_init_find(&it, &user, "servicePackages") &&
	    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr))
			json_bson_value(j, &arr);
	}
	json_arr_close(j);
	json_obj_close(j);
	bson_destroy(&user);

	return (200);
}

int
package_create(const struct dom_caller *u, const struct package_fields *f,
    struct json *out, char *err, size_t errlen)
{
	bson_t		pkg;
	bson_oid_t	oid;
	char		pid[25];
	int64_t		now;
	int		ret;

	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, pid);
	now = core_now_ms();

	bson_init(&pkg);
	BSON_APPEND_UTF8(&pkg, "_id", pid);
	package_bson(&pkg, f, 1);
	BSON_APPEND_DATE_TIME(&pkg, "createdAt", now);
	BSON_APPEND_DATE_TIME(&pkg, "updatedAt", now);

	ret = users_package_push(&u->oid, &pkg);
	bson_destroy(&pkg);
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Not found"));

	return (package_reply_one(u, pid, 201, out, err, errlen));
}

int
package_update(const struct dom_caller *u, const char *pid,
    const struct package_fields *f, struct json *out, char *err,
    size_t errlen)
{
	bson_t		set;
	int		ret;

	bson_init(&set);
	package_bson(&set, f, 0);
	BSON_APPEND_DATE_TIME(&set, "updatedAt", core_now_ms());

	ret = users_package_set(&u->oid, pid, &set);
	bson_destroy(&set);
	if (ret != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Package not found"));

	return (package_reply_one(u, pid, 200, out, err, errlen));
}

int
package_delete(const struct dom_caller *u, const char *pid, char *err,
    size_t errlen)
{
	int		ret;

	if ((ret = users_package_pull(&u->oid, pid)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Package not found"));

	return (200);
}

/* The fields present; on create the defaults of those absent. */
static void
package_bson(bson_t *out, const struct package_fields *f, int create)
{
	bson_t		sarr;
	char		key[24];
	size_t		i;

	if (f->title != NULL)
		BSON_APPEND_UTF8(out, "title", f->title);
	if (f->has_services) {
		BSON_APPEND_ARRAY_BEGIN(out, "services", &sarr);
		for (i = 0; i < f->nservices; i++) {
			(void)snprintf(key, sizeof(key), "%zu", i);
			BSON_APPEND_UTF8(&sarr, key, f->services[i]);
		}
		bson_append_array_end(out, &sarr);
	}
	if (f->has_price)
		BSON_APPEND_DOUBLE(out, "price", f->price);
	if (f->currency != NULL)
		BSON_APPEND_UTF8(out, "currency", f->currency);
	else if (create)
		BSON_APPEND_UTF8(out, "currency", "FCFA");
	if (f->duration != NULL)
		BSON_APPEND_UTF8(out, "duration", f->duration);
	if (f->description != NULL)
		BSON_APPEND_UTF8(out, "description", f->description);
	if (f->has_active)
		BSON_APPEND_BOOL(out, "isActive", f->active);
	else if (create)
		BSON_APPEND_BOOL(out, "isActive", true);
}

static int
package_reply_one(const struct dom_caller *u, const char *pid, int status,
    struct json *j, char *err, size_t errlen)
{
	bson_t		pkg;
	int		ret;

	if ((ret = users_package_find(&u->oid, pid, &pkg)) != STORE_OK)
		return (dom_store_fail(err, errlen, ret, "Not found"));

	json_obj_open(j);
	json_key(j, "package");
	users_json_package(j, &pkg);
	json_obj_close(j);
	bson_destroy(&pkg);

	return (status);
}
