/*
 * Validation helpers (see valid.h). Messages follow class-validator's
 * defaults so clients of the original see familiar text.
 */

#include <sys/types.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/json.h"
#include "lib/valid.h"

void
valid_init(struct valid *v)
{
	v->n = 0;
}

void
valid_fail(struct valid *v, const char *fmt, ...)
{
	va_list		ap;

	if (v->n == VALID_MAX_MSGS)
		return;

	va_start(ap, fmt);
	(void)vsnprintf(v->msgs[v->n], sizeof(v->msgs[v->n]), fmt, ap);
	va_end(ap);
	v->n++;
}

const char *
valid_string(struct valid *v, yajl_val obj, const char *key, int required,
    size_t min, size_t max)
{
	yajl_val	val;
	size_t		len;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s should not be empty", key);
		return (NULL);
	}

	if (!YAJL_IS_STRING(val)) {
		valid_fail(v, "%s must be a string", key);
		return (NULL);
	}

	len = strlen(val->u.string);
	if (len < min) {
		valid_fail(v, "%s should not be empty", key);
		return (NULL);
	}
	if (len > max) {
		valid_fail(v, "%s must be shorter than or equal to %zu "
		    "characters", key, max);
		return (NULL);
	}

	return (val->u.string);
}

const char *
valid_enum(struct valid *v, yajl_val obj, const char *key,
    const char **values, int required)
{
	const char	*s;
	char		list[256];
	size_t		i, off;

	if ((s = valid_string(v, obj, key, required, 0, 64)) == NULL)
		return (NULL);

	for (i = 0; values[i] != NULL; i++) {
		if (!strcmp(values[i], s))
			return (s);
	}

	off = 0;
	list[0] = '\0';
	for (i = 0; values[i] != NULL && off < sizeof(list); i++) {
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", values[i]);
	}
	valid_fail(v, "%s must be one of the following values: %s", key, list);

	return (NULL);
}

int
valid_int(struct valid *v, yajl_val obj, const char *key, int required,
    int64_t *out)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s must be an integer number", key);
		return (0);
	}

	if (!YAJL_IS_INTEGER(val)) {
		valid_fail(v, "%s must be an integer number", key);
		return (0);
	}

	*out = YAJL_GET_INTEGER(val);
	return (1);
}

int
valid_number(struct valid *v, yajl_val obj, const char *key, int required,
    double *out)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required) {
			valid_fail(v, "%s must be a number conforming to the "
			    "specified constraints", key);
		}
		return (0);
	}

	if (!YAJL_IS_NUMBER(val) || !isfinite(YAJL_GET_DOUBLE(val))) {
		valid_fail(v, "%s must be a number conforming to the "
		    "specified constraints", key);
		return (0);
	}

	*out = YAJL_GET_DOUBLE(val);
	return (1);
}

int
valid_bool(struct valid *v, yajl_val obj, const char *key, int required,
    int *out)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s must be a boolean value", key);
		return (0);
	}

	if (!YAJL_IS_TRUE(val) && !YAJL_IS_FALSE(val)) {
		valid_fail(v, "%s must be a boolean value", key);
		return (0);
	}

	*out = YAJL_IS_TRUE(val);
	return (1);
}

/*
 * A structural check (one @, a dotted domain, no spaces or controls):
 * deliverability is the mail server's business, not ours.
 */
int
valid_email(struct valid *v, yajl_val obj, const char *key, char *out,
    size_t outlen)
{
	const char	*s, *at, *dot, *p;

	if ((s = valid_string(v, obj, key, 0, 0, 254)) == NULL)
		return (0);

	at = strchr(s, '@');
	dot = at != NULL ? strrchr(at, '.') : NULL;
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    dot == NULL || dot == at + 1 || dot[1] == '\0' ||
	    strlen(s) >= outlen) {
		valid_fail(v, "Invalid email format");
		return (0);
	}

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			valid_fail(v, "Invalid email format");
			return (0);
		}
	}

	(void)snprintf(out, outlen, "%s", s);
	return (1);
}

int
valid_oid(struct valid *v, yajl_val obj, const char *key, int required,
    bson_oid_t *out)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s must be a mongodb id", key);
		return (0);
	}

	if (!YAJL_IS_STRING(val) || !valid_is_oid(val->u.string)) {
		valid_fail(v, "%s must be a mongodb id", key);
		return (0);
	}

	bson_oid_init_from_string(out, val->u.string);
	return (1);
}

yajl_val
valid_array(struct valid *v, yajl_val obj, const char *key, int required)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s must be an array", key);
		return (NULL);
	}

	if (!YAJL_IS_ARRAY(val)) {
		valid_fail(v, "%s must be an array", key);
		return (NULL);
	}

	return (val);
}

yajl_val
valid_object(struct valid *v, yajl_val obj, const char *key, int required)
{
	yajl_val	val;

	val = json_get(obj, key);
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (required)
			valid_fail(v, "%s must be an object", key);
		return (NULL);
	}

	if (!YAJL_IS_OBJECT(val)) {
		valid_fail(v, "%s must be an object", key);
		return (NULL);
	}

	return (val);
}

int
valid_is_oid(const char *s)
{
	return (s != NULL && strlen(s) == 24 && bson_oid_is_valid(s, 24));
}

int
valid_is_safe_url(const char *s)
{
	const char	*p;

	if (s == NULL)
		return (0);

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '\\')
			return (0);
	}

	if (!strncasecmp(s, "https://", 8) && s[8] != '\0')
		return (1);
	if (!strncasecmp(s, "http://", 7) && s[7] != '\0')
		return (1);
	if (!strncmp(s, "/upload/", 8) && strstr(s, "..") == NULL)
		return (1);

	return (0);
}
