/*
 * libFuzzer target: the arena tree builder against yajl_tree_parse().
 * On the same text (no NUL, no comments, at most 64 levels, no string
 * that decodes to NUL) both must
 * accept or refuse it alike and build the same tree.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_arena.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	same(yajl_val, yajl_val);

static int
same(yajl_val a, yajl_val b)
{
	size_t		i;

	if (a->type != b->type)
		return (0);

	switch (a->type) {
	case yajl_t_string:
		return (!strcmp(a->u.string, b->u.string));
	case yajl_t_number:
		if (strcmp(a->u.number.r, b->u.number.r) ||
		    a->u.number.flags != b->u.number.flags)
			return (0);
		if ((a->u.number.flags & YAJL_NUMBER_INT_VALID) &&
		    a->u.number.i != b->u.number.i)
			return (0);
		return (1);
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return (0);
		for (i = 0; i < a->u.object.len; i++) {
			if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) ||
			    !same(a->u.object.values[i], b->u.object.values[i]))
				return (0);
		}
		return (1);
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return (0);
		for (i = 0; i < a->u.array.len; i++) {
			if (!same(a->u.array.values[i], b->u.array.values[i]))
				return (0);
		}
		return (1);
	default:
		return (1);
	}
}

static int
depth_of(const uint8_t *d, size_t len)
{
	size_t		i;
	int		depth, max;

	depth = max = 0;
	for (i = 0; i < len; i++) {
		if (d[i] == '[' || d[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if (d[i] == ']' || d[i] == '}') {
			depth--;
		}
	}

	return (max);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_arena	a;
	static uint8_t		storage[512];
	yajl_val		va, vy;
	char			err[128], *copy;

	json_arena_init(&a, storage, sizeof(storage));
	va = json_arena_parse(&a, (const char *)data, len, err, sizeof(err));

	/*
	 * yajl_tree_parse() reads a C string and allows comments; the
	 * arena refuses strings that decode to NUL, which yajl keeps.
	 */
	if (memchr(data, '\0', len) == NULL && memchr(data, '/', len) == NULL &&
	    depth_of(data, len) <= JSON_ARENA_DEPTH &&
	    a.error != JSON_ARENA_ENUL) {
		if ((copy = malloc(len + 1)) == NULL)
			abort();
		memcpy(copy, data, len);
		copy[len] = '\0';
		vy = yajl_tree_parse(copy, err, sizeof(err));
		free(copy);
		if ((va == NULL) != (vy == NULL))
			abort();
		if (va != NULL && !same(va, vy))
			abort();
		if (vy != NULL)
			yajl_tree_free(vy);
	}

	json_arena_reset(&a);
	return (0);
}
