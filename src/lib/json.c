/*
 * JSON writer and BSON → JSON conversion (see json.h).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "lib/json_arena.h"

static void	json_check(yajl_gen_status);
static void	json_number_shortest(struct json *, double);
static int	json_skipped(const char *, const char * const *);

/*
 * yajl_gen_alloc() costs a handful of mallocs and the first bytes of
 * output a few reallocs more. Every thread (the event loop, each task
 * thread) keeps a few finished generators, cleared, with their buffers,
 * so building an event payload or a response usually allocates nothing.
 */
#define JSON_CACHE		4
#define JSON_CACHE_MAXBUF	65536

static __thread yajl_gen	json_cache[JSON_CACHE];
static __thread int		json_cached;

void
json_init(struct json *j)
{
	if (json_cached > 0) {
		j->g = json_cache[--json_cached];
		return;
	}

	if ((j->g = yajl_gen_alloc(NULL)) == NULL)
		abort();

	/*
	 * Invalid UTF-8 never leaves the server: input was validated by
	 * the parser, and this stops anything that slipped past.
	 */
	yajl_gen_config(j->g, yajl_gen_validate_utf8, 1);
}

void
json_free(struct json *j)
{
	const unsigned char	*buf;
	size_t			len;

	if (j->g == NULL)
		return;

	/* A generator that wrote a big document gives its memory back. */
	if (json_cached < JSON_CACHE &&
	    yajl_gen_get_buf(j->g, &buf, &len) == yajl_gen_status_ok &&
	    len <= JSON_CACHE_MAXBUF) {
		yajl_gen_clear(j->g);
		yajl_gen_reset(j->g, NULL);
		json_cache[json_cached++] = j->g;
	} else {
		yajl_gen_free(j->g);
	}
	j->g = NULL;
}

void
json_reset(struct json *j)
{
	json_free(j);
	json_init(j);
}

const u_int8_t *
json_data(struct json *j, size_t *len)
{
	const unsigned char	*buf;

	json_check(yajl_gen_get_buf(j->g, &buf, len));
	return (buf);
}

void
json_obj_open(struct json *j)
{
	json_check(yajl_gen_map_open(j->g));
}

void
json_obj_close(struct json *j)
{
	json_check(yajl_gen_map_close(j->g));
}

void
json_arr_open(struct json *j)
{
	json_check(yajl_gen_array_open(j->g));
}

void
json_arr_close(struct json *j)
{
	json_check(yajl_gen_array_close(j->g));
}

void
json_key(struct json *j, const char *k)
{
	json_check(yajl_gen_string(j->g, (const unsigned char *)k, strlen(k)));
}

void
json_str(struct json *j, const char *s)
{
	json_strn(j, s, strlen(s));
}

void
json_strn(struct json *j, const char *s, size_t len)
{
	yajl_gen_status		st;

	st = yajl_gen_string(j->g, (const unsigned char *)s, len);
	if (st == yajl_gen_invalid_string) {
		/* Stored data should never get here; keep the document valid. */
		json_check(yajl_gen_string(j->g,
		    (const unsigned char *)"\xef\xbf\xbd", 3));
		return;
	}

	json_check(st);
}

void
json_int(struct json *j, int64_t v)
{
	json_check(yajl_gen_integer(j->g, v));
}

void
json_double(struct json *j, double v)
{
	if (v != v || v > 1e308 || v < -1e308) {
		json_null(j);
		return;
	}

	/*
	 * Whole numbers print like JSON.stringify does: 2500, not 2500.0.
	 * The range first: converting a double outside int64_t is undefined.
	 */
	if (v < 9e15 && v > -9e15 && v == (double)(int64_t)v) {
		json_int(j, (int64_t)v);
		return;
	}

	json_number_shortest(j, v);
}

void
json_bool(struct json *j, int v)
{
	json_check(yajl_gen_bool(j->g, v != 0));
}

void
json_null(struct json *j)
{
	json_check(yajl_gen_null(j->g));
}

void
json_oid(struct json *j, const bson_oid_t *oid)
{
	char		hex[25];

	bson_oid_to_string(oid, hex);
	json_strn(j, hex, 24);
}

void
json_date(struct json *j, int64_t ms)
{
	char		buf[32];

	json_iso8601(ms, buf, sizeof(buf));
	json_str(j, buf);
}

void
json_yajl(struct json *j, const yajl_val v)
{
	size_t		i;

	if (v == NULL) {
		json_null(j);
		return;
	}

	switch (v->type) {
	case yajl_t_string:
		json_str(j, v->u.string);
		break;
	case yajl_t_number:
		if (YAJL_IS_INTEGER(v))
			json_int(j, v->u.number.i);
		else
			json_double(j, v->u.number.d);
		break;
	case yajl_t_object:
		json_obj_open(j);
		for (i = 0; i < v->u.object.len; i++) {
			json_key(j, v->u.object.keys[i]);
			json_yajl(j, v->u.object.values[i]);
		}
		json_obj_close(j);
		break;
	case yajl_t_array:
		json_arr_open(j);
		for (i = 0; i < v->u.array.len; i++)
			json_yajl(j, v->u.array.values[i]);
		json_arr_close(j);
		break;
	case yajl_t_true:
		json_bool(j, 1);
		break;
	case yajl_t_false:
		json_bool(j, 0);
		break;
	default:
		json_null(j);
		break;
	}
}

/*
 * yajl has no "raw value" call; a number token is emitted verbatim, so
 * it carries a value that our own writer already produced (never input).
 */
void
json_raw(struct json *j, const char *v, size_t len)
{
	json_check(yajl_gen_number(j->g, v, len));
}

int
json_plain(const char *s, size_t len)
{
	const u_int8_t	*p = (const u_int8_t *)s;
	size_t		i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return (0);
	}

	return (1);
}

void
json_kstr(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	if (v == NULL)
		json_null(j);
	else
		json_str(j, v);
}

void
json_kint(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_int(j, v);
}

void
json_kbool(struct json *j, const char *k, int v)
{
	json_key(j, k);
	json_bool(j, v);
}

void
json_koid(struct json *j, const char *k, const bson_oid_t *oid)
{
	json_key(j, k);
	json_oid(j, oid);
}

void
json_kdate(struct json *j, const char *k, int64_t ms)
{
	json_key(j, k);
	json_date(j, ms);
}

void
json_bson_value(struct json *j, const bson_iter_t *it)
{
	bson_iter_t		child;
	const char		*s;
	u_int32_t		len;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_OID:
		json_oid(j, bson_iter_oid(it));
		break;
	case BSON_TYPE_DATE_TIME:
		json_date(j, bson_iter_date_time(it));
		break;
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		json_strn(j, s, len);
		break;
	case BSON_TYPE_INT32:
		json_int(j, bson_iter_int32(it));
		break;
	case BSON_TYPE_INT64:
		json_int(j, bson_iter_int64(it));
		break;
	case BSON_TYPE_DOUBLE:
		json_double(j, bson_iter_double(it));
		break;
	case BSON_TYPE_BOOL:
		json_bool(j, bson_iter_bool(it));
		break;
	case BSON_TYPE_DOCUMENT:
		if (!bson_iter_recurse(it, &child)) {
			json_null(j);
			break;
		}
		json_obj_open(j);
		while (bson_iter_next(&child)) {
			json_key(j, bson_iter_key(&child));
			json_bson_value(j, &child);
		}
		json_obj_close(j);
		break;
	case BSON_TYPE_ARRAY:
		if (!bson_iter_recurse(it, &child)) {
			json_null(j);
			break;
		}
		json_arr_open(j);
		while (bson_iter_next(&child))
			json_bson_value(j, &child);
		json_arr_close(j);
		break;
	default:
		json_null(j);
		break;
	}
}

void
json_bson_fields(struct json *j, const bson_t *doc, const char * const *skip)
{
	bson_iter_t		it;
	const char		*key;

	if (!bson_iter_init(&it, doc))
		return;

	while (bson_iter_next(&it)) {
		key = bson_iter_key(&it);
		if (json_skipped(key, skip))
			continue;
		json_key(j, key);
		json_bson_value(j, &it);
		if (!strcmp(key, "_id")) {
			json_key(j, "id");
			json_bson_value(j, &it);
		}
	}
}

void
json_bson_doc(struct json *j, const bson_t *doc, const char * const *skip)
{
	json_obj_open(j);
	json_bson_fields(j, doc, skip);
	json_obj_close(j);
}

void
json_iso8601(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		secs;
	int64_t		frac;

	secs = (time_t)(ms / 1000);
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs -= 1;
	}

	gmtime_r(&secs, &tm);
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
}

/*
 * Accepts what JavaScript's Date.toISOString() and class-validator's
 * IsDateString accept in practice: a date, optionally with a time,
 * fractional seconds and Z or a ±hh:mm offset.
 */
int
json_parse_iso8601(const char *s, int64_t *out)
{
	struct tm	tm;
	const char	*p;
	int64_t		ms, off;
	int		digits, sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return (-1);

	ms = 0;
	off = 0;
	if (*p == 'T' || *p == ' ') {
		if ((p = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return (-1);
		if (*p == ':') {
			if ((p = strptime(p + 1, "%S", &tm)) == NULL)
				return (-1);
		}
		if (*p == '.') {
			p++;
			digits = 0;
			while (*p >= '0' && *p <= '9') {
				if (digits < 3)
					ms = ms * 10 + (*p - '0');
				digits++;
				p++;
			}
			if (digits == 0)
				return (-1);
			while (digits++ < 3)
				ms *= 10;
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 ||
			    oh > 23 || om > 59)
				return (-1);
			off = sign * (oh * 3600 + om * 60);
			p += 6;
		}
	}

	if (*p != '\0')
		return (-1);

	*out = ((int64_t)timegm(&tm) - off) * 1000 + ms;
	return (0);
}

/*
 * The tree's root node is copied to the head of the document, so the
 * root json_parse() hands out is also the handle that frees it.
 */
struct json_doc {
	struct yajl_val_s	root;
	struct json_arena	arena;
};

yajl_val
json_parse(const char *data, size_t len, char *err, size_t errlen)
{
	struct json_doc		*doc;
	yajl_val		v;

	if ((doc = malloc(sizeof(*doc))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}

	json_arena_init(&doc->arena, NULL, 0);
	if ((v = json_arena_parse(&doc->arena, data, len, err,
	    errlen)) == NULL) {
		json_arena_reset(&doc->arena);
		free(doc);
		return (NULL);
	}

	/* Nothing in the tree points at the root: a copy is the same. */
	doc->root = *v;

	return (&doc->root);
}

void
json_tree_free(yajl_val v)
{
	struct json_doc		*doc;

	if (v == NULL)
		return;

	doc = (struct json_doc *)v;
	json_arena_reset(&doc->arena);
	free(doc);
}

yajl_val
json_get(yajl_val obj, const char *key)
{
	size_t		i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return (NULL);

	/* The last duplicate wins, as in JSON.parse(). */
	for (i = obj->u.object.len; i > 0; i--) {
		if (!strcmp(obj->u.object.keys[i - 1], key))
			return (obj->u.object.values[i - 1]);
	}

	return (NULL);
}

const char *
json_get_str(yajl_val obj, const char *key)
{
	yajl_val	v;

	if ((v = json_get(obj, key)) == NULL || !YAJL_IS_STRING(v))
		return (NULL);

	return (v->u.string);
}

static void
json_check(yajl_gen_status st)
{
	if (st != yajl_gen_status_ok) {
		fprintf(stderr, "json: yajl_gen error %d\n", st);
		abort();
	}
}

static int
json_skipped(const char *key, const char * const *skip)
{
	size_t		i;

	if (skip == NULL)
		return (0);

	for (i = 0; skip[i] != NULL; i++) {
		if (!strcmp(skip[i], key))
			return (1);
	}

	return (0);
}

/*
 * yajl prints doubles with %.20g (0.1 → 0.10000000000000000555); use the
 * shortest form that reads back as the same double, as JSON.stringify does.
 */
static void
json_number_shortest(struct json *j, double v)
{
	char		buf[40];
	int		prec, n;

	n = 0;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}

	json_check(yajl_gen_number(j->g, buf, (size_t)n));
}
