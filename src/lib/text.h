/*
 * Plain-text rules for user content (SPEC.md §3): valid UTF-8, control
 * characters other than newline and tab removed, lengths counted in
 * characters (code points), and regex escaping for search filters.
 * Pure C: no Kore, no allocator but malloc.
 */

#ifndef LNK_LIB_TEXT_H
#define LNK_LIB_TEXT_H

#include <sys/types.h>
#include <stddef.h>

#define TEXT_OK		0
#define TEXT_BADUTF8	-1

/*
 * Copies in[0..len) to a malloc'd NUL-terminated *out without C0/C1
 * control characters (except \n and \t) and DEL. Rejects invalid UTF-8
 * (overlong forms, surrogates, > U+10FFFF, truncated sequences, NUL).
 * *nchars is the number of code points kept; *blank is 1 when nothing
 * but white space remains.
 */
int	text_clean(const char *, size_t, char **, size_t *, size_t *, int *);

/* Number of code points of a valid UTF-8 string. */
size_t	text_utf8_len(const char *);

/*
 * A malloc'd copy of s with every PCRE metacharacter escaped, so that a
 * user's search text is matched literally by $regex.
 */
char	*text_regex_escape(const char *);

/* The value of a hex digit (either case), or -1. */
int	text_hex_digit(int);

#endif
