/*
 * JSON writer and BSON → JSON conversion.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json.h"

static const char *
out(struct json *j)
{
	static char	buf[4096];
	const u_int8_t	*d;
	size_t		len;

	d = json_data(j, &len);
	memcpy(buf, d, len);
	buf[len] = '\0';
	return (buf);
}

static void
test_escapes_control_characters(void **state)
{
	struct json	j;

	json_init(&j);
	json_str(&j, "a\x1e" "b\n\"<\x01");
	assert_string_equal(out(&j), "\"a\\u001Eb\\n\\\"<\\u0001\"");
	json_free(&j);
}

static void
test_doubles_are_shortest(void **state)
{
	struct json	j;

	json_init(&j);
	json_arr_open(&j);
	json_double(&j, 0.1);
	json_double(&j, 2500.0);
	json_double(&j, 48.8566);
	json_arr_close(&j);
	assert_string_equal(out(&j), "[0.1,2500,48.8566]");
	json_free(&j);
}

static void
test_bson_oid_date_and_id_copy(void **state)
{
	struct json	j;
	bson_t		doc;
	bson_oid_t	oid;
	const char	*skip[] = { "password", NULL };

	bson_oid_init_from_string(&oid, "66aa00000000000000000001");
	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "password", "secret");
	BSON_APPEND_DATE_TIME(&doc, "createdAt", 1738326896789LL);
	BSON_APPEND_INT32(&doc, "n", 3);

	json_init(&j);
	json_bson_doc(&j, &doc, skip);
	assert_string_equal(out(&j),
	    "{\"_id\":\"66aa00000000000000000001\","
	    "\"id\":\"66aa00000000000000000001\","
	    "\"createdAt\":\"2025-01-31T12:34:56.789Z\",\"n\":3}");
	json_free(&j);
	bson_destroy(&doc);
}

static void
test_iso8601_round_trip(void **state)
{
	int64_t		ms;

	assert_int_equal(json_parse_iso8601("2025-01-31T12:34:56.789Z", &ms), 0);
	assert_true(ms == 1738326896789LL);
	assert_int_equal(json_parse_iso8601("2025-01-31", &ms), 0);
	assert_true(ms == 1738281600000LL);
	assert_int_equal(json_parse_iso8601("2025-01-31T14:34:56+02:00", &ms), 0);
	assert_true(ms == 1738326896000LL);
	assert_int_equal(json_parse_iso8601("yesterday", &ms), -1);
	assert_int_equal(json_parse_iso8601("2025-13-45", &ms), -1);
}

static void
test_parse_rejects_garbage(void **state)
{
	char		err[128];
	yajl_val	v;

	assert_null(json_parse("{bad", 4, err, sizeof(err)));
	assert_null(json_parse("{\"a\":1}\0x", 9, err, sizeof(err)));
	v = json_parse("{\"a\":\"x\",\"a\":\"y\"}", 17, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(json_get_str(v, "a"), "y");
	yajl_tree_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_control_characters),
		cmocka_unit_test(test_doubles_are_shortest),
		cmocka_unit_test(test_bson_oid_date_and_id_copy),
		cmocka_unit_test(test_iso8601_round_trip),
		cmocka_unit_test(test_parse_rejects_garbage),
	};

	return (cmocka_run_group_tests_name("json", tests, NULL, NULL));
}
