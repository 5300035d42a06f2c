/*
 * multipart/form-data (RFC 7578) without holding the body in memory: the
 * body is read through a pread-like callback in bounded windows, and the
 * result is where a part's data lies (offset and length), so the caller
 * can copy it straight to its destination. Pure C, no Kore.
 */

#ifndef LNK_LIB_MULTIPART_H
#define LNK_LIB_MULTIPART_H

#include <sys/types.h>
#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX	72	/* RFC 2046: at most 70 chars */
#define MULTIPART_NAME_MAX	128
#define MULTIPART_FILENAME_MAX	512
#define MULTIPART_TYPE_MAX	128

/* Read len bytes at off into buf: bytes read, 0 at the end, -1 on error. */
typedef ssize_t	(*multipart_read_fn)(void *, void *, size_t, size_t);

struct multipart_part {
	char	name[MULTIPART_NAME_MAX];
	char	filename[MULTIPART_FILENAME_MAX];	/* raw bytes, unchecked */
	char	content_type[MULTIPART_TYPE_MAX];
	int	has_filename;
	size_t	offset;		/* first data byte in the body */
	size_t	length;		/* data bytes */
};

/*
 * The boundary of a Content-Type header value "multipart/form-data;
 * boundary=..." (quoted or not, other parameters allowed). 0 when found,
 * -1 when the type is not multipart/form-data or has no valid boundary.
 */
int	multipart_boundary(const char *, char *, size_t);

/*
 * Finds the first part whose field name is name and that carries a
 * filename. 1 when found (*out filled), 0 when the body is well formed
 * but has no such part, -1 when the body is not valid multipart or
 * cannot be read.
 */
int	multipart_find_file(multipart_read_fn, void *, size_t, const char *,
	    const char *, struct multipart_part *);

#endif
