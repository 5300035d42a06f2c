/*
 * Content rules (lib/text) and client JSON → BSON (lib/jsonbson).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json.h"
#include "lib/jsonbson.h"
#include "lib/text.h"

static void
test_clean_drops_controls_keeps_newline_tab(void **state)
{
	const char	in[] = "a\x01" "b\r\n\tc\x7f" "d\xc2\x85" "e";
	char		*out;
	size_t		len, chars;
	int		blank;

	(void)state;
	assert_int_equal(text_clean(in, sizeof(in) - 1, &out, &len, &chars,
	    &blank), TEXT_OK);
	assert_string_equal(out, "ab\n\tcde");
	assert_int_equal(len, 7);
	assert_int_equal(chars, 7);
	assert_int_equal(blank, 0);
	free(out);
}

static void
test_clean_counts_code_points(void **state)
{
	const char	in[] = "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80";	/* été 😀 */
	char		*out;
	size_t		len, chars;

	(void)state;
	assert_int_equal(text_clean(in, sizeof(in) - 1, &out, &len, &chars,
	    NULL), TEXT_OK);
	assert_int_equal(len, sizeof(in) - 1);
	assert_int_equal(chars, 5);
	assert_int_equal(text_utf8_len(out), 5);
	free(out);
}

static void
test_clean_rejects_bad_utf8(void **state)
{
	static const char *bad[] = {
		"\xc0\xaf",		/* overlong '/' */
		"\xed\xa0\x80",		/* surrogate */
		"\xf4\x90\x80\x80",	/* > U+10FFFF */
		"\xe2\x82",		/* truncated */
		"\x80",			/* lone continuation */
		"\xff",
	};
	char		*out;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(text_clean(bad[i], strlen(bad[i]), &out,
		    NULL, NULL, NULL), TEXT_BADUTF8);
		assert_null(out);
	}
	/* An embedded NUL is not text either. */
	assert_int_equal(text_clean("a\0b", 3, &out, NULL, NULL, NULL),
	    TEXT_BADUTF8);
}

static void
test_clean_blank(void **state)
{
	char		*out;
	size_t		chars;
	int		blank;

	(void)state;
	assert_int_equal(text_clean(" \n\t\x01 ", 5, &out, NULL, &chars,
	    &blank), TEXT_OK);
	assert_int_equal(blank, 1);
	assert_int_equal(chars, 4);
	free(out);
	assert_int_equal(text_clean("", 0, &out, NULL, &chars, &blank),
	    TEXT_OK);
	assert_int_equal(blank, 1);
	assert_int_equal(chars, 0);
	free(out);
}

static void
test_regex_escape(void **state)
{
	char	*s;

	(void)state;
	s = text_regex_escape("(a+)+$ [x] .*\\ é");
	assert_string_equal(s, "\\(a\\+\\)\\+\\$ \\[x\\] \\.\\*\\\\ é");
	free(s);
}

static bson_t *
convert(const char *json, int *rc, char *err, size_t errlen)
{
	yajl_val	v;
	bson_t		*doc;
	char		perr[128];

	v = json_parse(json, strlen(json), perr, sizeof(perr));
	assert_non_null(v);
	doc = bson_new();
	*rc = jsonbson_append(doc, "metadata", v, err, errlen);
	json_tree_free(v);
	return (doc);
}

static void
test_jsonbson_types(void **state)
{
	bson_t		*doc;
	bson_iter_t	it;
	char		err[128];
	int		rc;

	(void)state;
	doc = convert("{\"a\":1,\"b\":1.5,\"c\":\"x\",\"d\":[true,null],"
	    "\"e\":{\"f\":5000000000}}", &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	bson_iter_init(&it, doc);
	assert_true(bson_iter_find_descendant(&it, "metadata.a", &it));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_INT32);
	bson_iter_init(&it, doc);
	assert_true(bson_iter_find_descendant(&it, "metadata.b", &it));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_DOUBLE);
	bson_iter_init(&it, doc);
	assert_true(bson_iter_find_descendant(&it, "metadata.e.f", &it));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_INT64);
	bson_iter_init(&it, doc);
	assert_true(bson_iter_find_descendant(&it, "metadata.d.1", &it));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_NULL);
	bson_destroy(doc);
}

static void
test_jsonbson_refuses_operator_keys_and_depth(void **state)
{
	bson_t		*doc;
	char		err[128];
	int		rc;

	(void)state;
	doc = convert("{\"$where\":1}", &rc, err, sizeof(err));
	assert_int_equal(rc, -1);
	bson_destroy(doc);
	doc = convert("{\"a.b\":1}", &rc, err, sizeof(err));
	assert_int_equal(rc, -1);
	bson_destroy(doc);
	doc = convert("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":"
	    "{\"h\":1}}}}}}}}", &rc, err, sizeof(err));
	assert_int_equal(rc, -1);
	bson_destroy(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_drops_controls_keeps_newline_tab),
		cmocka_unit_test(test_clean_counts_code_points),
		cmocka_unit_test(test_clean_rejects_bad_utf8),
		cmocka_unit_test(test_clean_blank),
		cmocka_unit_test(test_regex_escape),
		cmocka_unit_test(test_jsonbson_types),
		cmocka_unit_test(test_jsonbson_refuses_operator_keys_and_depth),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
