/*
 * /api/users/profile/packages: the caller's service packages, HTTP
 * adapters over domain/packages.h.
 */

#include <sys/types.h>

#include <string.h>

#include "domain/packages.h"
#include "http/api.h"
#include "lib/valid.h"

static void	rp_list(struct api_ctx *);
static void	rp_create(struct api_ctx *);
static void	rp_update(struct api_ctx *);
static void	rp_delete(struct api_ctx *);
static int	rp_fields(struct api_ctx *, struct package_fields *, int);

const struct api_route users_routes[] = {
	{ API_GET, "/api/users/profile/packages", API_AUTH, rp_list },
	{ API_POST, "/api/users/profile/packages", API_AUTH, rp_create },
	{ API_PUT, "/api/users/profile/packages/:packageId", API_AUTH,
	    rp_update },
	{ API_DELETE, "/api/users/profile/packages/:packageId", API_AUTH,
	    rp_delete },
	{ 0, NULL, 0, NULL }
};

static const char *currencies[] = { "FCFA", "EUR", "USD", NULL };

static void
rp_list(struct api_ctx *ctx)
{
	char		err[256];

	api_domain_reply(ctx, package_list(&ctx->user, api_out(ctx), err,
	    sizeof(err)), err);
}

static void
rp_create(struct api_ctx *ctx)
{
	struct package_fields	f;
	char			err[256];

	if (rp_fields(ctx, &f, 1) == -1)
		return;

	api_domain_reply(ctx, package_create(&ctx->user, &f, api_out(ctx),
	    err, sizeof(err)), err);
}

static void
rp_update(struct api_ctx *ctx)
{
	struct package_fields	f;
	bson_oid_t		oid;
	char			err[256];

	if (api_param_oid(ctx, 0, &oid) == -1)
		return;
	if (rp_fields(ctx, &f, 0) == -1)
		return;

	api_domain_reply(ctx, package_update(&ctx->user, api_param(ctx, 0),
	    &f, api_out(ctx), err, sizeof(err)), err);
}

static void
rp_delete(struct api_ctx *ctx)
{
	struct json	*j;
	bson_oid_t	oid;
	char		err[256];
	int		status;

	if (api_param_oid(ctx, 0, &oid) == -1)
		return;

	status = package_delete(&ctx->user, api_param(ctx, 0), err,
	    sizeof(err));
	if (status != 200) {
		api_domain_reply(ctx, status, err);
		return;
	}

	j = api_out(ctx);
	json_obj_open(j);
	json_kstr(j, "message", "Package deleted successfully");
	json_obj_close(j);
	api_reply(ctx, 200);
}

/*
 * Validates the body into f. On create every required field must be
 * there; on update only the fields present are checked.
 */
static int
rp_fields(struct api_ctx *ctx, struct package_fields *f, int create)
{
	struct valid	v;
	yajl_val	body, arr, e;
	size_t		i;

	body = api_body(ctx);
	valid_init(&v);
	memset(f, 0, sizeof(*f));

	f->title = valid_string(&v, body, "title", create, 1, 200);
	arr = valid_array(&v, body, "services", create);
	if (arr != NULL) {
		if (arr->u.array.len < 1 ||
		    arr->u.array.len > PACKAGE_SERVICES_MAX)
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
	f->has_price = valid_number(&v, body, "price", create, &f->price);
	if (f->has_price && f->price < 0)
		valid_fail(&v, "price must not be less than 0");
	f->currency = valid_enum(&v, body, "currency", currencies, 0);
	f->duration = valid_string(&v, body, "duration", 0, 0, 200);
	f->description = valid_string(&v, body, "description", 0, 0, 2000);
	f->has_active = valid_bool(&v, body, "isActive", 0, &f->active);

	if (api_valid_reply(ctx, &v))
		return (-1);

	/* Valid: at most PACKAGE_SERVICES_MAX strings. */
	if (arr != NULL) {
		f->has_services = 1;
		f->nservices = arr->u.array.len;
		for (i = 0; i < f->nservices; i++)
			f->services[i] = arr->u.array.values[i]->u.string;
	}

	return (0);
}
