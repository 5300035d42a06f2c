/*
 * Mapping a URL path to a file under a root directory without ever
 * leaving it: strict decoding and segment checks, then an openat() walk
 * that refuses symbolic links at every step. Pure C, no Kore.
 */

#ifndef LNK_LIB_SAFEPATH_H
#define LNK_LIB_SAFEPATH_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

#define SAFEPATH_MAX_DEPTH	8

/*
 * Decodes the percent escapes of a URL path once and checks it: every
 * segment must be non-empty, not "." or "..", not start with '.' (hidden
 * and temp files), and hold no NUL, control byte, backslash or '%' left
 * after decoding (double encoding). A trailing '/' is allowed and
 * reported in *dir. The result (no leading '/') goes to out.
 * 0 when the path is acceptable, -1 when not.
 */
int	safepath_decode(const char *, char *, size_t, int *);

/*
 * Opens rel (as produced by safepath_decode) below the directory root,
 * read-only, following no symbolic link anywhere below root. Returns the
 * fd of a regular file with *st filled, or -1 with errno set (EISDIR for
 * a directory, ELOOP for a symlink, ENOENT, ...).
 */
int	safepath_open(const char *, const char *, struct stat *);

#endif
