/*
 * Request validation in the style of the original's class-validator
 * DTOs: every failed rule adds a message, and the 400 lists them all.
 */

#ifndef LNK_LIB_VALID_H
#define LNK_LIB_VALID_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>
#include <yajl/yajl_tree.h>

#define VALID_MAX_MSGS	16

struct valid {
	char	msgs[VALID_MAX_MSGS][160];
	size_t	n;
};

void		valid_init(struct valid *);
void		valid_fail(struct valid *, const char *, ...)
		    __attribute__((format (printf, 2, 3)));

/*
 * Each getter returns NULL / 0 when the key is absent (adding a message
 * if it was required) and adds a message when the value is wrong.
 * Numeric getters return 1 when a valid value was stored in *out.
 */
const char	*valid_string(struct valid *, yajl_val, const char *, int,
		    size_t, size_t);
const char	*valid_enum(struct valid *, yajl_val, const char *,
		    const char **, int);
int		valid_int(struct valid *, yajl_val, const char *, int,
		    int64_t *);
int		valid_number(struct valid *, yajl_val, const char *, int,
		    double *);
int		valid_bool(struct valid *, yajl_val, const char *, int, int *);
int		valid_email(struct valid *, yajl_val, const char *, char *,
		    size_t);
int		valid_oid(struct valid *, yajl_val, const char *, int,
		    bson_oid_t *);
yajl_val	valid_array(struct valid *, yajl_val, const char *, int);
yajl_val	valid_object(struct valid *, yajl_val, const char *, int);

/* Is s a 24-hex ObjectId? */
int		valid_is_oid(const char *);
/* http(s) URL or a path under /upload/ (SPEC.md §3 content rules) */
int		valid_is_safe_url(const char *);

#endif
