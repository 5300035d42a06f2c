/*
 * yajl trees in an arena: yajl's parser, with callbacks that build the
 * same struct yajl_val_s nodes yajl_tree_parse() builds (so json_get()
 * and the YAJL_IS_/YAJL_GET_ macros work on them), but out of memory
 * the caller owns. Parsing a socket event's arguments then costs no
 * malloc and no free: yajl_tree_parse() makes a dozen of each.
 *
 * The first block is the caller's storage (a static or stack array,
 * or none: NULL and 0);
 * when a document outgrows it, further blocks come from the heap until
 * json_arena_reset(). Trees live until the next reset: never pass them
 * to yajl_tree_free(). Pure C: no Kore, unit-tested on its own.
 */

#ifndef LNK_LIB_JSON_ARENA_H
#define LNK_LIB_JSON_ARENA_H

#include <sys/types.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

/* Deeper documents are refused (as the Socket.IO codec refuses them). */
#define JSON_ARENA_DEPTH	64

/* Why the last json_arena_parse() failed (json_arena.error). */
#define JSON_ARENA_OK		0
#define JSON_ARENA_ESYNTAX	1	/* not one JSON value */
#define JSON_ARENA_EDEPTH	2	/* deeper than JSON_ARENA_DEPTH */
#define JSON_ARENA_ENUL		3	/* a string or key holds \u0000 */
#define JSON_ARENA_ENOMEM	4

struct json_arena_block;

struct json_arena {
	u_int8_t		*base;		/* the caller's storage */
	size_t			size;
	u_int8_t		*cur;		/* the block being filled */
	size_t			cur_size;
	size_t			used;
	void			*last;		/* the newest allocation */
	struct json_arena_block	*blocks;	/* heap blocks, newest first */
	int			error;		/* JSON_ARENA_E*, or 0 */
};

void		json_arena_init(struct json_arena *, void *, size_t);
/* Forgets every tree; gives heap blocks back. */
void		json_arena_reset(struct json_arena *);

/*
 * Parses exactly one JSON value of len bytes (no NUL needed). Returns
 * the tree, or NULL with a message in err and the reason in a->error.
 *
 * Every reader of a tree takes its strings as C strings, so a string
 * or key that decodes to a NUL ("a\u0000b") is refused rather than
 * silently cut at the NUL.
 */
yajl_val	json_arena_parse(struct json_arena *, const char *, size_t,
		    char *, size_t);

#endif
