/*
 * libFuzzer target: a REST request body as src/http/api.c reads it
 * (json_arena_parse() into a heap arena, then an object), and what the
 * handlers do with it: look fields up, write it back (json_yajl()),
 * store free-form values as BSON (jsonbson_append(), message
 * metadata). Nothing may crash, recurse without bound or leak, the
 * tree's depth never passes JSON_ARENA_DEPTH, no string holds a NUL
 * before its end, and what is written back parses to the same text.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/json_arena.h"
#include "lib/jsonbson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	check_tree(yajl_val, int);
static void	round_trip(yajl_val);

static void
check_tree(yajl_val v, int depth)
{
	size_t		i;

	if (depth > JSON_ARENA_DEPTH)
		abort();

	switch (v->type) {
	case yajl_t_object:
		for (i = 0; i < v->u.object.len; i++)
			check_tree(v->u.object.values[i], depth + 1);
		break;
	case yajl_t_array:
		for (i = 0; i < v->u.array.len; i++)
			check_tree(v->u.array.values[i], depth + 1);
		break;
	default:
		break;
	}
}

static void
round_trip(yajl_val v)
{
	struct json	a, b;
	const u_int8_t	*da, *db;
	size_t		la, lb;
	yajl_val	w;
	char		err[128];

	json_init(&a);
	json_yajl(&a, v);
	da = json_data(&a, &la);

	if ((w = json_parse((const char *)da, la, err, sizeof(err))) == NULL)
		abort();
	json_init(&b);
	json_yajl(&b, w);
	db = json_data(&b, &lb);
	if (la != lb || memcmp(da, db, la))
		abort();

	json_tree_free(w);
	json_free(&b);
	json_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_arena	arena;
	bson_t			doc;
	yajl_val		v;
	size_t			i;
	char			err[256];

	json_arena_init(&arena, NULL, 0);
	v = json_arena_parse(&arena, (const char *)data, len, err,
	    sizeof(err));
	if (v == NULL) {
		if (arena.error == JSON_ARENA_OK)
			abort();
		json_arena_reset(&arena);
		return (0);
	}

	check_tree(v, 1);
	round_trip(v);

	if (YAJL_IS_OBJECT(v)) {
		(void)json_get_str(v, "content");
		bson_init(&doc);
		for (i = 0; i < v->u.object.len; i++) {
			if (v->u.object.keys[i][0] == '\0')
				continue;
			(void)jsonbson_append(&doc, v->u.object.keys[i],
			    v->u.object.values[i], err, sizeof(err));
		}
		bson_destroy(&doc);
	}

	json_arena_reset(&arena);
	return (0);
}
