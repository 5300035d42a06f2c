/*
 * JSON writer and BSON → JSON conversion.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json.h"
#include "lib/json_arena.h"

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
	/* Outside int64_t: never converted (found by fuzz_body). */
	json_double(&j, -3e22);
	json_double(&j, 1e300);
	json_arr_close(&j);
	assert_string_equal(out(&j), "[0.1,2500,48.8566,-3e+22,1e+300]");
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
	json_tree_free(v);
}

/* n copies of open, then n of close (close may be empty). */
static char *
nested(const char *open, const char *close, size_t n, size_t *len)
{
	size_t		ol, cl, i;
	char		*s, *p;

	ol = strlen(open);
	cl = strlen(close);
	*len = n * (ol + cl);
	s = malloc(*len + 1);
	assert_non_null(s);
	p = s;
	for (i = 0; i < n; i++, p += ol)
		memcpy(p, open, ol);
	for (i = 0; i < n; i++, p += cl)
		memcpy(p, close, cl);
	*p = '\0';

	return (s);
}

/*
 * Security review item 1: the bodies that killed a worker (a stack
 * overflow in yajl_tree_free) are refused at the depth limit, and the
 * deepest document allowed is parsed and freed.
 */
static void
test_item1_deep_documents_refused(void **state)
{
	char		err[128], *s;
	size_t		len;
	yajl_val	v;

	s = nested("[", "]", 300000, &len);
	assert_null(json_parse(s, len, err, sizeof(err)));
	assert_string_equal(err, "JSON nested too deeply");
	free(s);

	/* Unfinished, as sent: `{"a":` 170,000 times. */
	s = nested("{\"a\":", "", 170000, &len);
	assert_null(json_parse(s, len, err, sizeof(err)));
	assert_string_equal(err, "JSON nested too deeply");
	free(s);

	s = nested("{\"a\":", "}", 10000, &len);
	assert_null(json_parse(s, len, err, sizeof(err)));
	free(s);

	s = nested("[", "]", JSON_ARENA_DEPTH, &len);
	v = json_parse(s, len, err, sizeof(err));
	assert_non_null(v);
	assert_true(YAJL_IS_ARRAY(v));
	json_tree_free(v);
	free(s);
}

/* Security review item 9: "a\u0000b" is refused, never cut to "a". */
static void
test_item9_nul_in_strings_refused(void **state)
{
	char		err[128];
	const char	*bad[] = {
		"{\"content\":\"a\\u0000b\"}",
		"{\"metadata\":{\"fileUrl\":\"/upload/x\\u0000.png\"}}",
		"{\"a\\u0000b\":1}",
		"[\"\\u0000\"]",
		NULL
	};
	yajl_val	v;
	int		i;

	for (i = 0; bad[i] != NULL; i++) {
		assert_null(json_parse(bad[i], strlen(bad[i]), err,
		    sizeof(err)));
		assert_string_equal(err,
		    "JSON strings must not contain NUL (\\u0000)");
	}

	/* A raw NUL byte is no JSON at all. */
	assert_null(json_parse("\"a\0b\"", 5, err, sizeof(err)));

	/* Other escaped control characters are kept for the caller. */
	v = json_parse("[\"a\\u0001b\"]", 12, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(v->u.array.values[0]->u.string, "a\001b");
	json_tree_free(v);
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
		cmocka_unit_test(test_item1_deep_documents_refused),
		cmocka_unit_test(test_item9_nul_in_strings_refused),
	};

	return (cmocka_run_group_tests_name("json", tests, NULL, NULL));
}
