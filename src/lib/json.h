/*
 * The one JSON writer (yajl_gen) and the BSON → JSON conversion every
 * response and event goes through, plus small readers over yajl trees.
 * Pure C: no Kore, so it is unit-tested and fuzzed on its own.
 */

#ifndef LNK_LIB_JSON_H
#define LNK_LIB_JSON_H

#include <sys/types.h>
#include <stddef.h>

#include <bson/bson.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct json {
	yajl_gen	g;
};

/* Writer. Errors (misuse) are programming bugs and abort. */
void		json_init(struct json *);
void		json_free(struct json *);
void		json_reset(struct json *);
const u_int8_t	*json_data(struct json *, size_t *);

void		json_obj_open(struct json *);
void		json_obj_close(struct json *);
void		json_arr_open(struct json *);
void		json_arr_close(struct json *);
void		json_key(struct json *, const char *);
void		json_str(struct json *, const char *);
void		json_strn(struct json *, const char *, size_t);
void		json_int(struct json *, int64_t);
void		json_double(struct json *, double);
void		json_bool(struct json *, int);
void		json_null(struct json *);
void		json_oid(struct json *, const bson_oid_t *);
void		json_date(struct json *, int64_t);
void		json_yajl(struct json *, const yajl_val);
/* Embeds one complete JSON value written by another struct json. */
void		json_raw(struct json *, const char *, size_t);
/*
 * Whether a string is written as is between quotes (printable ASCII,
 * no quote, no backslash): callers that frame a known name, such as an
 * event name, skip the writer then.
 */
int		json_plain(const char *, size_t);

/* key + value shorthands */
void		json_kstr(struct json *, const char *, const char *);
void		json_kint(struct json *, const char *, int64_t);
void		json_kbool(struct json *, const char *, int);
void		json_koid(struct json *, const char *, const bson_oid_t *);
void		json_kdate(struct json *, const char *, int64_t);

/*
 * BSON → JSON: ObjectIds become 24-hex strings, dates ISO-8601 with
 * milliseconds and Z, documents objects and arrays arrays. A document's
 * _id is followed by an "id" copy. Keys listed in skip (NULL-terminated)
 * are left out so the caller can write them itself or keep them private.
 */
void		json_bson_value(struct json *, const bson_iter_t *);
void		json_bson_fields(struct json *, const bson_t *,
		    const char * const *);
void		json_bson_doc(struct json *, const bson_t *,
		    const char * const *);

/* ISO-8601 "YYYY-MM-DDTHH:MM:SS.mmmZ" into a 25-byte buffer. */
void		json_iso8601(int64_t, char *, size_t);
int		json_parse_iso8601(const char *, int64_t *);

/*
 * The one parser for every JSON the server reads: json_arena_parse()
 * (nesting bounded by JSON_ARENA_DEPTH, NUL in strings refused) into a
 * tree of its own, which json_tree_free() gives back whole, without
 * recursion. Never pass such a tree to yajl_tree_free(). NULL and a
 * message in err when the text is refused.
 */
yajl_val	json_parse(const char *, size_t, char *, size_t);
void		json_tree_free(yajl_val);

/* Readers over a parsed tree. */
yajl_val	json_get(yajl_val, const char *);
const char	*json_get_str(yajl_val, const char *);

#endif
