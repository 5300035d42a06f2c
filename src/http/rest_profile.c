/*
 * /api/users/profile/packages: the caller's service packages, which
 * service-offer and booking-request messages refer to.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "http/api.h"
#include "lib/valid.h"
#include "store/store.h"
#include "store/users.h"

static void	packages_list(struct api_ctx *);
static void	packages_create(struct api_ctx *);
static void	packages_update(struct api_ctx *);
static void	packages_delete(struct api_ctx *);
static int	packages_fields(struct api_ctx *, bson_t *, int);
static void	packages_reply_one(struct api_ctx *, const char *, int);

const struct api_route users_routes[] = {
	{ API_GET, "/api/users/profile/packages", API_AUTH, packages_list },
	{ API_POST, "/api/users/profile/packages", API_AUTH, packages_create },
	{ API_PUT, "/api/users/profile/packages/:packageId", API_AUTH,
	    packages_update },
	{ API_DELETE, "/api/users/profile/packages/:packageId", API_AUTH,
	    packages_delete },
	{ 0, NULL, 0, NULL }
};

static const char *currencies[] = { "FCFA", "EUR", "USD", NULL };

static void
packages_list(struct api_ctx *ctx)
{
	struct json	*j;
	bson_t		user;
	bson_iter_t	it, arr;
	int		ret;

	if ((ret = users_find_by_id(&ctx->user.oid, &user)) != STORE_OK) {
		api_store_error(ctx, ret);
		return;
	}

	j = api_out(ctx);
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
	api_reply(ctx, 200);
}

static void
packages_create(struct api_ctx *ctx)
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
	if (packages_fields(ctx, &pkg, 1) == -1) {
		bson_destroy(&pkg);
		return;
	}
	BSON_APPEND_DATE_TIME(&pkg, "createdAt", now);
	BSON_APPEND_DATE_TIME(&pkg, "updatedAt", now);

	ret = users_package_push(&ctx->user.oid, &pkg);
	bson_destroy(&pkg);
	if (ret != STORE_OK) {
		api_store_error(ctx, ret);
		return;
	}

	packages_reply_one(ctx, pid, 201);
}

static void
packages_update(struct api_ctx *ctx)
{
	bson_t		set;
	bson_oid_t	oid;
	const char	*pid;
	int		ret;

	if (api_param_oid(ctx, 0, &oid) == -1)
		return;
	pid = api_param(ctx, 0);

	bson_init(&set);
	if (packages_fields(ctx, &set, 0) == -1) {
		bson_destroy(&set);
		return;
	}
	BSON_APPEND_DATE_TIME(&set, "updatedAt", core_now_ms());

	ret = users_package_set(&ctx->user.oid, pid, &set);
	bson_destroy(&set);
	if (ret == STORE_NOTFOUND) {
		api_error(ctx, 404, "Package not found");
		return;
	}
	if (ret != STORE_OK) {
		api_store_error(ctx, ret);
		return;
	}

	packages_reply_one(ctx, pid, 200);
}

static void
packages_delete(struct api_ctx *ctx)
{
	struct json	*j;
	bson_oid_t	oid;
	int		ret;

	if (api_param_oid(ctx, 0, &oid) == -1)
		return;
	ret = users_package_pull(&ctx->user.oid, api_param(ctx, 0));
	if (ret == STORE_NOTFOUND) {
		api_error(ctx, 404, "Package not found");
		return;
	}
	if (ret != STORE_OK) {
		api_store_error(ctx, ret);
		return;
	}

	j = api_out(ctx);
	json_obj_open(j);
	json_kstr(j, "message", "Package deleted successfully");
	json_obj_close(j);
	api_reply(ctx, 200);
}

/*
 * Validates the body into BSON fields. On create every required field
 * must be there; on update only the fields present are checked and set.
 */
static int
packages_fields(struct api_ctx *ctx, bson_t *out, int create)
{
	struct valid	v;
	yajl_val	body, arr, e;
	const char	*title, *cur, *dur, *desc;
	double		price;
	int		active, has_price, has_active;
	size_t		i;
	bson_t		sarr;
	char		key[24];

	body = api_body(ctx);
	valid_init(&v);

	title = valid_string(&v, body, "title", create, 1, 200);
	arr = valid_array(&v, body, "services", create);
	if (arr != NULL) {
		if (arr->u.array.len < 1 || arr->u.array.len > 6)
			valid_fail(&v, "services must contain between 1 and 6 "
			    "elements");
		for (i = 0; i < arr->u.array.len; i++) {
			e = arr->u.array.values[i];
			if (!YAJL_IS_STRING(e) || e->u.string[0] == '\0' ||
			    strlen(e->u.string) > 200) {
				valid_fail(&v, "each value in services must be "
				    "a non-empty string");
				break;
			}
		}
	}
	has_price = valid_number(&v, body, "price", create, &price);
	if (has_price && price < 0)
		valid_fail(&v, "price must not be less than 0");
	cur = valid_enum(&v, body, "currency", currencies, 0);
	dur = valid_string(&v, body, "duration", 0, 0, 200);
	desc = valid_string(&v, body, "description", 0, 0, 2000);
	has_active = valid_bool(&v, body, "isActive", 0, &active);

	if (api_valid_reply(ctx, &v))
		return (-1);

	if (title != NULL)
		BSON_APPEND_UTF8(out, "title", title);
	if (arr != NULL) {
		BSON_APPEND_ARRAY_BEGIN(out, "services", &sarr);
		for (i = 0; i < arr->u.array.len; i++) {
			(void)snprintf(key, sizeof(key), "%zu", i);
			BSON_APPEND_UTF8(&sarr, key,
			    arr->u.array.values[i]->u.string);
		}
		bson_append_array_end(out, &sarr);
	}
	if (has_price)
		BSON_APPEND_DOUBLE(out, "price", price);
	if (cur != NULL)
		BSON_APPEND_UTF8(out, "currency", cur);
	else if (create)
		BSON_APPEND_UTF8(out, "currency", "FCFA");
	if (dur != NULL)
		BSON_APPEND_UTF8(out, "duration", dur);
	if (desc != NULL)
		BSON_APPEND_UTF8(out, "description", desc);
	if (has_active)
		BSON_APPEND_BOOL(out, "isActive", active);
	else if (create)
		BSON_APPEND_BOOL(out, "isActive", true);

	return (0);
}

static void
packages_reply_one(struct api_ctx *ctx, const char *pid, int status)
{
	struct json	*j;
	bson_t		pkg;
	int		ret;

	if ((ret = users_package_find(&ctx->user.oid, pid, &pkg)) !=
	    STORE_OK) {
		api_store_error(ctx, ret);
		return;
	}

	j = api_out(ctx);
	json_obj_open(j);
	json_key(j, "package");
	users_json_package(j, &pkg);
	json_obj_close(j);
	bson_destroy(&pkg);

	api_reply(ctx, status);
}
