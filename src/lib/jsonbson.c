/*
 * JSON → BSON for client-supplied objects (see jsonbson.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "lib/jsonbson.h"

static int	jsonbson_value(bson_t *, const char *, yajl_val, int, char *,
		    size_t);
static int	jsonbson_key_ok(const char *);

int
jsonbson_append(bson_t *doc, const char *key, yajl_val v, char *err,
    size_t errlen)
{
	return (jsonbson_value(doc, key, v, 0, err, errlen));
}

static int
jsonbson_value(bson_t *doc, const char *key, yajl_val v, int depth,
    char *err, size_t errlen)
{
	bson_t		child;
	char		idx[24];
	size_t		i;
	int64_t		n;

	if (depth > JSONBSON_MAX_DEPTH) {
		(void)snprintf(err, errlen, "%s is nested too deeply", key);
		return (-1);
	}

	if (v == NULL || YAJL_IS_NULL(v)) {
		BSON_APPEND_NULL(doc, key);
		return (0);
	}

	if (YAJL_IS_STRING(v)) {
		BSON_APPEND_UTF8(doc, key, v->u.string);
		return (0);
	}

	if (YAJL_IS_INTEGER(v)) {
		n = YAJL_GET_INTEGER(v);
		if (n >= INT32_MIN && n <= INT32_MAX)
			BSON_APPEND_INT32(doc, key, (int32_t)n);
		else
			BSON_APPEND_INT64(doc, key, n);
		return (0);
	}

	if (YAJL_IS_DOUBLE(v)) {
		BSON_APPEND_DOUBLE(doc, key, YAJL_GET_DOUBLE(v));
		return (0);
	}

	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		BSON_APPEND_BOOL(doc, key, YAJL_IS_TRUE(v));
		return (0);
	}

	if (YAJL_IS_OBJECT(v)) {
		BSON_APPEND_DOCUMENT_BEGIN(doc, key, &child);
		for (i = 0; i < v->u.object.len; i++) {
			if (!jsonbson_key_ok(v->u.object.keys[i])) {
				bson_append_document_end(doc, &child);
				(void)snprintf(err, errlen, "%s has an invalid "
				    "key (keys must not be empty, start with "
				    "'$' or contain '.')", key);
				return (-1);
			}
			if (jsonbson_value(&child, v->u.object.keys[i],
			    v->u.object.values[i], depth + 1, err,
			    errlen) == -1) {
				bson_append_document_end(doc, &child);
				return (-1);
			}
		}
		bson_append_document_end(doc, &child);
		return (0);
	}

	if (YAJL_IS_ARRAY(v)) {
		BSON_APPEND_ARRAY_BEGIN(doc, key, &child);
		for (i = 0; i < v->u.array.len; i++) {
			(void)snprintf(idx, sizeof(idx), "%zu", i);
			if (jsonbson_value(&child, idx, v->u.array.values[i],
			    depth + 1, err, errlen) == -1) {
				bson_append_array_end(doc, &child);
				return (-1);
			}
		}
		bson_append_array_end(doc, &child);
		return (0);
	}

	/* A number yajl could not represent (e.g. 1e999). */
	(void)snprintf(err, errlen, "%s holds a number out of range", key);
	return (-1);
}

static int
jsonbson_key_ok(const char *k)
{
	return (k[0] != '\0' && k[0] != '$' && strchr(k, '.') == NULL);
}
