/*
 * Query-string numbers for lists (SPEC.md §2.5): page and limit are
 * clamped, never an error; cursors must be well-formed.
 */

#ifndef LNK_HTTP_PAGING_H
#define LNK_HTTP_PAGING_H

#include <sys/types.h>
#include <stdint.h>

/*
 * The leading integer of s (parseInt-like: "12abc" is 12). Missing,
 * non-numeric, zero or negative gives def; above max gives max.
 */
int64_t	paging_clamp(const char *, int64_t, int64_t);
/* A non-negative integer, all digits: 0 and *out, or -1. */
int	paging_uint(const char *, int64_t *);

#endif
