/*
 * yajl trees in an arena (see json_arena.h).
 *
 * The node layout and the number flags follow yajl's own yajl_tree.c;
 * a container is linked into its parent when it opens, so a parent's
 * pending key is used at once and the stack only tracks what is open.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "lib/json_arena.h"

/* Every allocation is preceded by its size, for realloc. */
#define ARENA_ALIGN		16
#define ARENA_HDR		16
#define ARENA_BLOCK_MIN		8192

struct json_arena_block {
	struct json_arena_block	*next;
	size_t			size;
	u_int8_t		data[] __attribute__((aligned(ARENA_ALIGN)));
};

struct jt_open {
	yajl_val	v;
	size_t		cap;		/* room in keys/values */
	char		*key;		/* an object's pending key */
};

struct jt_ctx {
	struct json_arena	*a;
	yajl_val		root;
	struct jt_open		stack[JSON_ARENA_DEPTH];
	int			depth;
	int			error;		/* a refusal of ours */
};

static void	*arena_alloc(struct json_arena *, size_t);
static void	*arena_malloc(void *, size_t);
static void	*arena_realloc(void *, void *, size_t);
static void	arena_free(void *, void *);

static yajl_val	jt_node(struct jt_ctx *, yajl_type);
static char	*jt_strdup(struct jt_ctx *, const void *, size_t);
static char	*jt_text(struct jt_ctx *, const unsigned char *, size_t);
static int	jt_add(struct jt_ctx *, yajl_val);
static int	jt_open(struct jt_ctx *, yajl_type);
static int	jt_close(void *);

static int	jt_null(void *);
static int	jt_boolean(void *, int);
static int	jt_number(void *, const char *, size_t);
static int	jt_integer(const char *, long long *);
static int	jt_string(void *, const unsigned char *, size_t);
static int	jt_start_map(void *);
static int	jt_map_key(void *, const unsigned char *, size_t);
static int	jt_start_array(void *);

static const yajl_callbacks jt_callbacks = {
	jt_null,
	jt_boolean,
	NULL,
	NULL,
	jt_number,
	jt_string,
	jt_start_map,
	jt_map_key,
	jt_close,
	jt_start_array,
	jt_close
};

void
json_arena_init(struct json_arena *a, void *storage, size_t size)
{
	uintptr_t	p, q;

	/* The caller's array may be byte-aligned: start on a boundary. */
	p = (uintptr_t)storage;
	q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	a->base = (u_int8_t *)q;
	a->size = (size > q - p) ? size - (q - p) : 0;
	a->blocks = NULL;
	json_arena_reset(a);
}

void
json_arena_reset(struct json_arena *a)
{
	struct json_arena_block	*b;

	while ((b = a->blocks) != NULL) {
		a->blocks = b->next;
		free(b);
	}

	a->cur = a->base;
	a->cur_size = a->size;
	a->used = 0;
	a->last = NULL;
}

yajl_val
json_arena_parse(struct json_arena *a, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct jt_ctx		ctx;
	yajl_alloc_funcs	afs;
	yajl_handle		h;
	yajl_status		st;
	unsigned char		*msg;

	memset(&ctx, 0, sizeof(ctx));
	ctx.a = a;

	afs.malloc = arena_malloc;
	afs.realloc = arena_realloc;
	afs.free = arena_free;
	afs.ctx = a;

	if (errlen > 0)
		err[0] = '\0';
	a->error = JSON_ARENA_OK;
	if ((h = yajl_alloc(&jt_callbacks, &afs, &ctx)) == NULL) {
		a->error = JSON_ARENA_ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}

	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);

	if (st != yajl_status_ok) {
		switch (ctx.error) {
		case JSON_ARENA_EDEPTH:
			(void)snprintf(err, errlen, "JSON nested too deeply");
			break;
		case JSON_ARENA_ENUL:
			(void)snprintf(err, errlen,
			    "JSON strings must not contain NUL (\\u0000)");
			break;
		case JSON_ARENA_ENOMEM:
			(void)snprintf(err, errlen, "out of memory");
			break;
		default:
			ctx.error = JSON_ARENA_ESYNTAX;
			msg = yajl_get_error(h, 0, NULL, 0);
			(void)snprintf(err, errlen, "%s",
			    msg != NULL ? (const char *)msg : "invalid JSON");
			if (msg != NULL)
				yajl_free_error(h, msg);
			break;
		}
		a->error = ctx.error;
		yajl_free(h);
		return (NULL);
	}

	yajl_free(h);
	return (ctx.root);
}

static void *
arena_alloc(struct json_arena *a, size_t n)
{
	struct json_arena_block	*b;
	size_t			need, bsize;
	u_int8_t		*p;

	if (n > SIZE_MAX / 2)
		return (NULL);
	need = ARENA_HDR + ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));

	if (a->cur == NULL || a->cur_size - a->used < need) {
		bsize = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
		if ((b = malloc(sizeof(*b) + bsize)) == NULL)
			return (NULL);
		b->size = bsize;
		b->next = a->blocks;
		a->blocks = b;
		a->cur = b->data;
		a->cur_size = bsize;
		a->used = 0;
	}

	p = a->cur + a->used;
	memcpy(p, &n, sizeof(n));
	a->used += need;
	a->last = p + ARENA_HDR;

	return (p + ARENA_HDR);
}

static void *
arena_malloc(void *ctx, size_t n)
{
	return (arena_alloc(ctx, n));
}

/* The newest allocation grows in place when its block has room. */
static void *
arena_realloc(void *ctx, void *ptr, size_t n)
{
	struct json_arena	*a = ctx;
	size_t			old, have, need;
	u_int8_t		*hdr;
	void			*p;

	if (ptr == NULL)
		return (arena_alloc(a, n));

	hdr = (u_int8_t *)ptr - ARENA_HDR;
	memcpy(&old, hdr, sizeof(old));
	if (n <= old)
		return (ptr);

	if (ptr == a->last) {
		have = (a->cur + a->used) - (u_int8_t *)ptr;
		need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
		if (need <= have + (a->cur_size - a->used)) {
			a->used += need - have;
			memcpy(hdr, &n, sizeof(n));
			return (ptr);
		}
	}

	if ((p = arena_alloc(a, n)) == NULL)
		return (NULL);
	memcpy(p, ptr, old);

	return (p);
}

static void
arena_free(void *ctx, void *ptr)
{
	/* Everything goes at json_arena_reset(). */
	(void)ctx;
	(void)ptr;
}

static yajl_val
jt_node(struct jt_ctx *ctx, yajl_type type)
{
	yajl_val	v;

	if ((v = arena_alloc(ctx->a, sizeof(*v))) == NULL) {
		ctx->error = JSON_ARENA_ENOMEM;
		return (NULL);
	}
	memset(v, 0, sizeof(*v));
	v->type = type;

	return (v);
}

static char *
jt_strdup(struct jt_ctx *ctx, const void *s, size_t len)
{
	char		*p;

	if ((p = arena_alloc(ctx->a, len + 1)) == NULL) {
		ctx->error = JSON_ARENA_ENOMEM;
		return (NULL);
	}
	memcpy(p, s, len);
	p[len] = '\0';

	return (p);
}

/* A string or key: as C strings they would end at a NUL, so refuse it. */
static char *
jt_text(struct jt_ctx *ctx, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL) {
		ctx->error = JSON_ARENA_ENUL;
		return (NULL);
	}

	return (jt_strdup(ctx, s, len));
}

/* Links v into the open container (or makes it the root). */
static int
jt_add(struct jt_ctx *ctx, yajl_val v)
{
	struct jt_open	*o;
	yajl_val	c;
	size_t		cap;
	void		*keys, *vals;

	if (v == NULL)
		return (0);

	if (ctx->depth == 0) {
		ctx->root = v;
		return (1);
	}

	o = &ctx->stack[ctx->depth - 1];
	c = o->v;

	if (YAJL_IS_OBJECT(c)) {
		if (o->key == NULL)
			return (0);
		if (c->u.object.len == o->cap) {
			cap = o->cap ? o->cap * 2 : 4;
			keys = arena_realloc(ctx->a, c->u.object.keys,
			    cap * sizeof(char *));
			vals = arena_realloc(ctx->a, c->u.object.values,
			    cap * sizeof(yajl_val));
			if (keys == NULL || vals == NULL) {
				ctx->error = JSON_ARENA_ENOMEM;
				return (0);
			}
			c->u.object.keys = keys;
			c->u.object.values = vals;
			o->cap = cap;
		}
		c->u.object.keys[c->u.object.len] = o->key;
		c->u.object.values[c->u.object.len] = v;
		c->u.object.len++;
		o->key = NULL;
		return (1);
	}

	if (c->u.array.len == o->cap) {
		cap = o->cap ? o->cap * 2 : 4;
		vals = arena_realloc(ctx->a, c->u.array.values,
		    cap * sizeof(yajl_val));
		if (vals == NULL) {
			ctx->error = JSON_ARENA_ENOMEM;
			return (0);
		}
		c->u.array.values = vals;
		o->cap = cap;
	}
	c->u.array.values[c->u.array.len++] = v;

	return (1);
}

static int
jt_open(struct jt_ctx *ctx, yajl_type type)
{
	yajl_val	v;

	if (ctx->depth == JSON_ARENA_DEPTH) {
		ctx->error = JSON_ARENA_EDEPTH;
		return (0);
	}

	if ((v = jt_node(ctx, type)) == NULL || !jt_add(ctx, v))
		return (0);

	ctx->stack[ctx->depth].v = v;
	ctx->stack[ctx->depth].cap = 0;
	ctx->stack[ctx->depth].key = NULL;
	ctx->depth++;

	return (1);
}

static int
jt_close(void *arg)
{
	struct jt_ctx	*ctx = arg;

	if (ctx->depth == 0)
		return (0);
	ctx->depth--;

	return (1);
}

static int
jt_null(void *arg)
{
	return (jt_add(arg, jt_node(arg, yajl_t_null)));
}

static int
jt_boolean(void *arg, int b)
{
	return (jt_add(arg, jt_node(arg, b ? yajl_t_true : yajl_t_false)));
}

/* As yajl_tree.c: the text, and which of i and d hold its value. */
static int
jt_number(void *arg, const char *s, size_t len)
{
	struct jt_ctx	*ctx = arg;
	yajl_val	v;
	char		*end;

	if ((v = jt_node(ctx, yajl_t_number)) == NULL)
		return (0);
	if ((v->u.number.r = jt_strdup(ctx, s, len)) == NULL)
		return (0);

	v->u.number.flags = 0;

	if (jt_integer(v->u.number.r, &v->u.number.i) == 0)
		v->u.number.flags |= YAJL_NUMBER_INT_VALID;

	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;

	return (jt_add(ctx, v));
}

/*
 * yajl_parse_integer()'s rule: digits after an optional '-' whose
 * magnitude fits a long long (so LLONG_MIN itself does not).
 */
static int
jt_integer(const char *s, long long *out)
{
	long long	v;
	int		neg, d;

	neg = (*s == '-');
	if (neg)
		s++;
	if (*s == '\0')
		return (-1);

	for (v = 0; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		d = *s - '0';
		if (v > (LLONG_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}

	*out = neg ? -v : v;
	return (0);
}

static int
jt_string(void *arg, const unsigned char *s, size_t len)
{
	struct jt_ctx	*ctx = arg;
	yajl_val	v;

	if ((v = jt_node(ctx, yajl_t_string)) == NULL)
		return (0);
	if ((v->u.string = jt_text(ctx, s, len)) == NULL)
		return (0);

	return (jt_add(ctx, v));
}

static int
jt_start_map(void *arg)
{
	return (jt_open(arg, yajl_t_object));
}

static int
jt_map_key(void *arg, const unsigned char *s, size_t len)
{
	struct jt_ctx	*ctx = arg;
	struct jt_open	*o;

	if (ctx->depth == 0)
		return (0);
	o = &ctx->stack[ctx->depth - 1];
	if ((o->key = jt_text(ctx, s, len)) == NULL)
		return (0);

	return (1);
}

static int
jt_start_array(void *arg)
{
	return (jt_open(arg, yajl_t_array));
}
