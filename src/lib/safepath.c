/*
 * Safe URL path → file mapping (see safepath.h).
 *
 * realpath() + prefix checks race with renames and trust the string; the
 * walk below holds a directory fd at each step and opens the next
 * component relative to it with O_NOFOLLOW, so neither "..", a symlink
 * planted in the tree, nor a concurrent rename can lead outside root.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/safepath.h"
#include "lib/text.h"

static int	safepath_segment_ok(const char *, size_t);

int
safepath_decode(const char *raw, char *out, size_t outlen, int *dir)
{
	const char	*p, *seg;
	size_t		o, depth;
	int		hi, lo;

	*dir = 0;
	while (*raw == '/')
		raw++;

	o = 0;
	for (p = raw; *p != '\0'; p++) {
		if (o + 1 >= outlen)
			return (-1);
		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		if ((hi = text_hex_digit(p[1])) == -1 ||
		    (lo = text_hex_digit(p[2])) == -1 || (hi | lo) == 0)
			return (-1);
		out[o++] = (char)(hi << 4 | lo);
		p += 2;
	}
	out[o] = '\0';

	if (o > 0 && out[o - 1] == '/') {
		*dir = 1;
		out[--o] = '\0';
	}
	if (o == 0)
		return (*dir || raw[0] == '\0' ? 0 : -1);

	depth = 0;
	for (seg = out; seg != NULL; ) {
		p = strchr(seg, '/');
		if (!safepath_segment_ok(seg, p ? (size_t)(p - seg) :
		    strlen(seg)))
			return (-1);
		if (++depth > SAFEPATH_MAX_DEPTH)
			return (-1);
		seg = p ? p + 1 : NULL;
	}

	return (0);
}

int
safepath_open(const char *root, const char *rel, struct stat *st)
{
	char		seg[256];
	const char	*p, *next;
	size_t		len;
	int		dfd, fd, saved;

	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);

	fd = -1;
	for (p = rel; ; p = next + 1) {
		next = strchr(p, '/');
		len = next ? (size_t)(next - p) : strlen(p);
		if (len == 0 || len >= sizeof(seg)) {
			errno = ENOENT;
			break;
		}
		memcpy(seg, p, len);
		seg[len] = '\0';

		if (next != NULL) {
			fd = openat(dfd, seg, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1) {
				/* A symlinked directory fails with ENOTDIR. */
				if (errno == ENOTDIR)
					errno = ENOENT;
				break;
			}
			(void)close(dfd);
			dfd = fd;
			fd = -1;
			continue;
		}

		/* O_NONBLOCK: a FIFO planted here must not hang the worker. */
		fd = openat(dfd, seg, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd == -1)
			break;
		if (fstat(fd, st) == -1)
			saved = errno;
		else if (!S_ISREG(st->st_mode))
			saved = S_ISDIR(st->st_mode) ? EISDIR : ENOENT;
		else
			break;
		(void)close(fd);
		fd = -1;
		errno = saved;
		break;
	}

	saved = errno;
	(void)close(dfd);
	errno = saved;

	return (fd);
}

static int
safepath_segment_ok(const char *s, size_t len)
{
	size_t		i;

	if (len == 0 || s[0] == '.')
		return (0);

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    s[i] == '\\' || s[i] == '%')
			return (0);
	}

	return (1);
}
