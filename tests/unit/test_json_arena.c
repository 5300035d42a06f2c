/*
 * yajl trees in an arena (src/lib/json_arena.c): the same trees
 * yajl_tree_parse() builds, out of the caller's storage and heap blocks.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json.h"
#include "lib/json_arena.h"

/* Both trees written back with the one JSON writer must be identical. */
static void
assert_same_as_yajl(struct json_arena *a, const char *text)
{
	struct json	ja, jy;
	yajl_val	va, vy;
	const u_int8_t	*da, *dy;
	size_t		la, ly;
	char		err[128], *copy;

	va = json_arena_parse(a, text, strlen(text), err, sizeof(err));
	assert_non_null(va);
	copy = strdup(text);
	vy = yajl_tree_parse(copy, err, sizeof(err));
	free(copy);
	assert_non_null(vy);

	json_init(&ja);
	json_init(&jy);
	json_yajl(&ja, va);
	json_yajl(&jy, vy);
	da = json_data(&ja, &la);
	dy = json_data(&jy, &ly);
	assert_int_equal(la, ly);
	assert_memory_equal(da, dy, la);
	json_free(&ja);
	json_free(&jy);
	yajl_tree_free(vy);
}

static void
test_same_trees_as_yajl(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[4096];

	json_arena_init(&a, storage, sizeof(storage));
	assert_same_as_yajl(&a,
	    "[{\"conversationId\":\"6561f0c2a1b2c3d4e5f60718\"}]");
	assert_same_as_yajl(&a, "{\"a\":[1,2.5,-3e2,true,false,null],"
	    "\"b\":{\"c\":{\"d\":\"\\u00e9\\n\\\"x\\\"\"}},\"e\":[]}");
	assert_same_as_yajl(&a, "\"just a string\"");
	assert_same_as_yajl(&a, "12345678901234567890");
	assert_same_as_yajl(&a, "[[[[[]]]],{},\"\\ud83d\\ude00\"]");
	json_arena_reset(&a);
}

static void
test_lookups_and_numbers(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[2048];
	yajl_val		v, n;
	char			err[128];
	const char		*doc = "{\"isOnline\":true,\"n\":42,"
				    "\"big\":1e400,\"f\":0.5,\"s\":\"x\"}";

	json_arena_init(&a, storage, sizeof(storage));
	v = json_arena_parse(&a, doc, strlen(doc), err, sizeof(err));
	assert_non_null(v);
	assert_true(YAJL_IS_TRUE(json_get(v, "isOnline")));
	assert_string_equal(json_get_str(v, "s"), "x");

	n = json_get(v, "n");
	assert_true(YAJL_IS_INTEGER(n));
	assert_int_equal(YAJL_GET_INTEGER(n), 42);

	n = json_get(v, "f");
	assert_false(YAJL_IS_INTEGER(n));
	assert_true(YAJL_IS_DOUBLE(n));

	/* Out of range for both: the text is kept, no flag is set. */
	n = json_get(v, "big");
	assert_true(YAJL_IS_NUMBER(n));
	assert_false(YAJL_IS_INTEGER(n));
	assert_false(YAJL_IS_DOUBLE(n));
	assert_string_equal(n->u.number.r, "1e400");
	json_arena_reset(&a);
}

static void
test_no_nul_needed(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[1024];
	yajl_val		v;
	char			err[128];
	const char		*text = "[\"a\"]garbage";

	json_arena_init(&a, storage, sizeof(storage));
	v = json_arena_parse(&a, text, 5, err, sizeof(err));
	assert_non_null(v);
	assert_true(YAJL_IS_ARRAY(v));
	assert_string_equal(YAJL_GET_STRING(v->u.array.values[0]), "a");
	json_arena_reset(&a);
}

static void
test_errors(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[1024];
	char			err[128], deep[200];
	size_t			i;

	json_arena_init(&a, storage, sizeof(storage));
	assert_null(json_arena_parse(&a, "{\"a\":", 5, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(json_arena_parse(&a, "[1,]", 4, err, sizeof(err)));
	assert_null(json_arena_parse(&a, "[1] [2]", 7, err, sizeof(err)));
	assert_null(json_arena_parse(&a, "/* c */ 1", 9, err, sizeof(err)));
	assert_null(json_arena_parse(&a, "\"\xff\"", 3, err, sizeof(err)));

	/* 65 levels: refused, as the Socket.IO codec refuses them. */
	for (i = 0; i < 65; i++)
		deep[i] = '[';
	for (i = 0; i < 65; i++)
		deep[65 + i] = ']';
	assert_null(json_arena_parse(&a, deep, 130, err, sizeof(err)));
	assert_string_equal(err, "JSON nested too deeply");
	assert_int_equal(a.error, JSON_ARENA_EDEPTH);
	assert_non_null(json_arena_parse(&a, deep + 1, 128, err,
	    sizeof(err)));
	assert_int_equal(a.error, JSON_ARENA_OK);
	assert_null(json_arena_parse(&a, "[1,]", 4, err, sizeof(err)));
	assert_int_equal(a.error, JSON_ARENA_ESYNTAX);
	json_arena_reset(&a);
}

/* Security review item 9: a string or key decoding to NUL is refused. */
static void
test_item9_nul_refused(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[1024];
	char			err[128];
	const char		*s = "[{\"content\":\"a\\u0000b\"}]";
	const char		*k = "[{\"a\\u0000\":1}]";

	json_arena_init(&a, storage, sizeof(storage));
	assert_null(json_arena_parse(&a, s, strlen(s), err, sizeof(err)));
	assert_int_equal(a.error, JSON_ARENA_ENUL);
	assert_null(json_arena_parse(&a, k, strlen(k), err, sizeof(err)));
	assert_int_equal(a.error, JSON_ARENA_ENUL);
	json_arena_reset(&a);
}

/* A document far bigger than the storage spills into heap blocks. */
static void
test_outgrows_storage(void **state)
{
	struct json_arena	a;
	u_int8_t		storage[256];
	struct json		j;
	yajl_val		v;
	const u_int8_t		*d;
	size_t			len, i;
	char			err[128], key[16];

	json_init(&j);
	json_obj_open(&j);
	for (i = 0; i < 500; i++) {
		(void)snprintf(key, sizeof(key), "k%zu", i);
		json_kint(&j, key, (int64_t)i);
	}
	json_obj_close(&j);
	d = json_data(&j, &len);

	json_arena_init(&a, storage, sizeof(storage));
	for (i = 0; i < 3; i++) {
		v = json_arena_parse(&a, (const char *)d, len, err,
		    sizeof(err));
		assert_non_null(v);
		assert_int_equal(v->u.object.len, 500);
		assert_string_equal(v->u.object.keys[499], "k499");
		assert_int_equal(YAJL_GET_INTEGER(json_get(v, "k250")), 250);
		assert_non_null(a.blocks);
		json_arena_reset(&a);
		assert_null(a.blocks);
	}
	json_free(&j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_trees_as_yajl),
		cmocka_unit_test(test_lookups_and_numbers),
		cmocka_unit_test(test_no_nul_needed),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_item9_nul_refused),
		cmocka_unit_test(test_outgrows_storage),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
