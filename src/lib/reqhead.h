/*
 * The framing of an HTTP/1.1 request (RFC 9112 §6.3), read from the
 * bytes of its head before the HTTP parser sees them: where the head
 * ends, whether a body follows and how long it is, and whether the
 * head is so ambiguous that it must be refused (a server and a proxy
 * in front of it would disagree on where the next request starts).
 *
 * The head ends at its first empty line and its lines end at CRLF or a
 * bare LF (RFC 9112 §2.2). Kore 4.1.0's parser reads it otherwise (the
 * first CRLF CRLF anywhere, else LF LF; lines at every CR or LF), so a
 * head on which the two would disagree is refused: both always see
 * the same fields. Pure C: no Kore, unit-tested and fuzzed on its own.
 */

#ifndef LNK_LIB_REQHEAD_H
#define LNK_LIB_REQHEAD_H

#include <sys/types.h>
#include <stddef.h>

#define REQHEAD_MORE		0	/* the head has not ended yet */
#define REQHEAD_DONE		1	/* a head, and its framing is sound */
#define REQHEAD_BAD		2	/* refused: status and reason say why */

struct reqhead_limits {
	size_t		head_max;	/* bytes a head may take */
	size_t		target_max;	/* request-target, in bytes */
	u_int64_t	body_max;	/* Content-Length, 0: any */
};

struct reqhead {
	size_t		head_len;	/* up to and with the blank line */
	int		body_method;	/* POST, PUT, PATCH */
	int		has_length;
	u_int64_t	content_length;	/* 0 without Content-Length */
	int		has_coding;	/* a Transfer-Encoding field */

	int		status;		/* 400, 411, 413, 414 or 431 */
	const char	*reason;
};

/*
 * Scans the len bytes received so far. REQHEAD_MORE: wait for more
 * (never when len has reached head_max: that is a 414 or a 431).
 */
int	reqhead_scan(const u_int8_t *, size_t, const struct reqhead_limits *,
	    struct reqhead *);

#endif
