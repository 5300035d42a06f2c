/*
 * The message-type table (src/domain/msg_types.c) against the OpenAPI
 * document: its three enums of types must be the table's names, so that
 * a type added to the table and not to the document fails here.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "core/metrics.h"
#include "domain/msg_types.h"
#include "lib/valid.h"

#define OPENAPI		"../../assets/docs/openapi.json"
#define LIST_PATH	"/api/conversations/{id}/messages"

static yajl_val	doc;

static yajl_val
get(yajl_val obj, const char *key)
{
	const char	*path[2] = { key, NULL };

	return (yajl_tree_get(obj, path, yajl_t_any));
}

/* The enum equals the table's names with flags, in the table's order. */
static void
same_names(yajl_val en, int flags, const char *where)
{
	const struct msg_type	*t;
	size_t			i;

	if (en == NULL || !YAJL_IS_ARRAY(en))
		fail_msg("%s: no enum", where);

	i = 0;
	for (t = msg_types; t->name != NULL; t++) {
		if ((t->flags & flags) != flags)
			continue;
		if (i >= en->u.array.len)
			fail_msg("%s lacks %s", where, t->name);
		if (!YAJL_IS_STRING(en->u.array.values[i]) ||
		    strcmp(en->u.array.values[i]->u.string, t->name))
			fail_msg("%s[%zu] is not %s", where, i, t->name);
		i++;
	}
	if (i != en->u.array.len)
		fail_msg("%s has %zu more than the table", where,
		    en->u.array.len - i);
}

static yajl_val
schema_type_enum(const char *schema)
{
	const char	*path[] = { "components", "schemas", schema,
			    "properties", "type", "enum", NULL };

	return (yajl_tree_get(doc, path, yajl_t_array));
}

static void
test_message_enum(void **state)
{
	same_names(schema_type_enum("Message"), MSG_TYPE_ANY,
	    "Message.type");
}

static void
test_create_enum(void **state)
{
	same_names(schema_type_enum("MessageCreate"), MSG_TYPE_CLIENT,
	    "MessageCreate.type");
}

static void
test_list_filter_enum(void **state)
{
	const char	*path[] = { "paths", LIST_PATH, "get", "parameters",
			    NULL };
	yajl_val	params, p, name;
	size_t		i;

	params = yajl_tree_get(doc, path, yajl_t_array);
	assert_non_null(params);
	for (i = 0; i < params->u.array.len; i++) {
		p = params->u.array.values[i];
		name = get(p, "name");
		if (name != NULL && YAJL_IS_STRING(name) &&
		    !strcmp(name->u.string, "type")) {
			same_names(get(get(p, "schema"), "enum"),
			    MSG_TYPE_LIST, "GET " LIST_PATH " ?type=");
			return;
		}
	}
	fail_msg("GET " LIST_PATH " has no type parameter");
}

/* A typed route named in the table is a documented POST. */
static void
test_routes_documented(void **state)
{
	const struct msg_type	*t;
	const char		*path[] = { "paths", NULL, "post", NULL };

	for (t = msg_types; t->name != NULL; t++) {
		if (t->route == NULL)
			continue;
		path[1] = t->route;
		if (yajl_tree_get(doc, path, yajl_t_object) == NULL)
			fail_msg("%s: POST %s is not in %s", t->name,
			    t->route, OPENAPI);
	}
}

/* The error texts are the table's: "system" only where it is allowed. */
static void
test_error_texts(void **state)
{
	struct valid	v;
	char		list[256], want[320];

	valid_init(&v);
	assert_non_null(msg_type_check(&v, "type", "system", MSG_TYPE_LIST));
	assert_null(msg_type_check(&v, "type", "system", MSG_TYPE_CLIENT));
	assert_null(msg_type_check(&v, "type", "nope", MSG_TYPE_LIST));
	assert_int_equal(v.n, 2);

	msg_type_list(list, sizeof(list), MSG_TYPE_CLIENT);
	assert_non_null(strstr(list, "text, image, "));
	assert_null(strstr(list, "system"));
	(void)snprintf(want, sizeof(want), "type must be one of the "
	    "following values: %s", list);
	assert_string_equal(v.msgs[0], want);

	msg_type_list(list, sizeof(list), MSG_TYPE_LIST);
	assert_non_null(strstr(list, ", system"));
	(void)snprintf(want, sizeof(want), "type must be one of the "
	    "following values: %s", list);
	assert_string_equal(v.msgs[1], want);
}

/* A type's own counter goes up with lnk_messages_sent_total{type}. */
static void
test_counters(void **state)
{
	char	*s;
	size_t	len;

	msg_type_count("service_offer");
	msg_type_count("text");
	assert_non_null(s = metrics_render(&len));
	assert_non_null(strstr(s,
	    "lnk_messages_sent_total{type=\"service_offer\"} 1\n"));
	assert_non_null(strstr(s, "lnk_service_offers_total 1\n"));
	assert_non_null(strstr(s, "lnk_booking_requests_total 0\n"));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_enum),
		cmocka_unit_test(test_create_enum),
		cmocka_unit_test(test_list_filter_enum),
		cmocka_unit_test(test_routes_documented),
		cmocka_unit_test(test_error_texts),
		cmocka_unit_test(test_counters),
	};
	FILE		*fp;
	char		*buf, err[256];
	long		len;

	if ((fp = fopen(OPENAPI, "r")) == NULL ||
	    fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 ||
	    (buf = calloc(1, (size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "test_msg_types: cannot read %s\n", OPENAPI);
		return (1);
	}
	fclose(fp);
	if ((doc = yajl_tree_parse(buf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "test_msg_types: %s: %s\n", OPENAPI, err);
		return (1);
	}
	free(buf);

	metrics_init();
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
