/*
 * JSON (a parsed yajl tree) → BSON, for the free-form objects clients may
 * store (message metadata). Keys that MongoDB would treat as operators or
 * paths ("$x", "a.b", "") are refused, as are deep or huge documents.
 * Pure C: no Kore.
 */

#ifndef LNK_LIB_JSONBSON_H
#define LNK_LIB_JSONBSON_H

#include <sys/types.h>
#include <stddef.h>

#include <bson/bson.h>
#include <yajl/yajl_tree.h>

#define JSONBSON_MAX_DEPTH	6

/*
 * Appends value v under key to doc. Returns 0, or -1 with a message in
 * err (naming the offending key) when the value cannot be stored.
 */
int	jsonbson_append(bson_t *, const char *, yajl_val, char *, size_t);

#endif
