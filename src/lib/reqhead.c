/*
 * HTTP/1.1 request framing (see reqhead.h).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <sys/types.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/reqhead.h"

/* The longest Content-Length taken: 10^18 - 1, far past any limit. */
#define REQHEAD_DIGITS_MAX	18

struct reqhead_field {
	const char	*name;
	int		(*fn)(struct reqhead *, const u_int8_t *, size_t);
};

static const u_int8_t *reqhead_blank(const u_int8_t *, size_t, size_t *);
static int	reqhead_kore_end(struct reqhead *, const u_int8_t *, size_t,
		    const struct reqhead_limits *);
static int	reqhead_refuse(struct reqhead *, int, const char *);
static int	reqhead_line(const u_int8_t **, const u_int8_t *,
		    const u_int8_t **, size_t *);
static int	reqhead_request_line(struct reqhead *, const u_int8_t *,
		    size_t, const struct reqhead_limits *);
static int	reqhead_field(struct reqhead *, const u_int8_t *, size_t);
static int	reqhead_length(struct reqhead *, const u_int8_t *, size_t);
static int	reqhead_coding(struct reqhead *, const u_int8_t *, size_t);
static int	reqhead_framing(struct reqhead *,
		    const struct reqhead_limits *);

static const struct reqhead_field fields[] = {
	{ "content-length",	reqhead_length },
	{ "transfer-encoding",	reqhead_coding },
	{ NULL,			NULL }
};

static const char *body_methods[] = { "POST", "PUT", "PATCH", NULL };

int
reqhead_scan(const u_int8_t *buf, size_t len,
    const struct reqhead_limits *lim, struct reqhead *rh)
{
	const u_int8_t	*p, *line, *blank;
	size_t		llen, i;
	int		n, r;

	memset(rh, 0, sizeof(*rh));
	if (len > lim->head_max)
		len = lim->head_max;

	if ((blank = reqhead_blank(buf, len, &rh->head_len)) == NULL) {
		if (len < lim->head_max)
			return (REQHEAD_MORE);
		if (memchr(buf, '\n', len) == NULL)
			return (reqhead_refuse(rh, 414,
			    "Request URI too long"));
		return (reqhead_refuse(rh, 431,
		    "Request header fields too large"));
	}

	/*
	 * Kore reads the head as C strings and breaks lines at a lone CR;
	 * a proxy may do neither, and would see other fields than we do.
	 */
	for (i = 0; i < (size_t)(blank - buf); i++) {
		if (buf[i] == '\0' || (buf[i] == '\r' && buf[i + 1] != '\n'))
			return (reqhead_refuse(rh, 400,
			    "Malformed request head"));
	}

	p = buf;
	for (n = 0; reqhead_line(&p, blank, &line, &llen); n++) {
		if (n == 0)
			r = reqhead_request_line(rh, line, llen, lim);
		else
			r = reqhead_field(rh, line, llen);
		if (r != REQHEAD_DONE)
			return (r);
	}
	if (n == 0)
		return (reqhead_refuse(rh, 400, "Malformed request line"));

	if ((r = reqhead_framing(rh, lim)) != REQHEAD_DONE)
		return (r);

	return (reqhead_kore_end(rh, buf, len, lim));
}

/*
 * Where the head ends (RFC 9112 §2.2): the first empty line, CRLF or a
 * bare LF. Returns the LF that ends the last field line (or the request
 * line), and the head's length with the empty line in *head_len.
 */
static const u_int8_t *
reqhead_blank(const u_int8_t *buf, size_t len, size_t *head_len)
{
	const u_int8_t	*p, *end;

	end = buf + len;
	for (p = buf; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
		if (end - p >= 2 && p[1] == '\n') {
			*head_len = (size_t)(p - buf) + 2;
			return (p);
		}
		if (end - p >= 3 && p[1] == '\r' && p[2] == '\n') {
			*head_len = (size_t)(p - buf) + 3;
			return (p);
		}
	}

	return (NULL);
}

/*
 * Kore finds the end its own way, in what it is handed: the first CRLF
 * CRLF anywhere, else the first LF LF. Handed this request's head and
 * the body bytes read with it, it must end the head where the empty
 * line is (else a body holding CRLF CRLF after a head that ended LF LF
 * would be taken for fields).
 */
static int
reqhead_kore_end(struct reqhead *rh, const u_int8_t *buf, size_t len,
    const struct reqhead_limits *lim)
{
	const u_int8_t	*k;
	size_t		scope, klen;

	scope = rh->head_len;
	if (rh->body_method && rh->content_length > lim->head_max - scope)
		scope = lim->head_max;
	else
		scope += rh->content_length;
	if (scope > len)
		scope = len;

	if ((k = memmem(buf, scope, "\r\n\r\n", 4)) != NULL)
		klen = (size_t)(k - buf) + 4;
	else if ((k = memmem(buf, scope, "\n\n", 2)) != NULL)
		klen = (size_t)(k - buf) + 2;
	else
		klen = 0;

	if (klen != rh->head_len)
		return (reqhead_refuse(rh, 400, "Malformed request head"));

	return (REQHEAD_DONE);
}

static int
reqhead_refuse(struct reqhead *rh, int status, const char *reason)
{
	rh->status = status;
	rh->reason = reason;

	return (REQHEAD_BAD);
}

/* The next non-empty line before end (lines end at any CR or LF). */
static int
reqhead_line(const u_int8_t **p, const u_int8_t *end, const u_int8_t **line,
    size_t *len)
{
	const u_int8_t	*s;

	while (*p < end && (**p == '\r' || **p == '\n'))
		(*p)++;
	if (*p == end)
		return (0);

	s = *p;
	while (*p < end && **p != '\r' && **p != '\n')
		(*p)++;
	*line = s;
	*len = (size_t)(*p - s);

	return (1);
}

/* method SP request-target SP HTTP-version, nothing more or less. */
static int
reqhead_request_line(struct reqhead *rh, const u_int8_t *s, size_t len,
    const struct reqhead_limits *lim)
{
	const u_int8_t	*tok[3], *p, *end;
	size_t		toklen[3];
	int		n, i;

	end = s + len;
	p = s;
	for (n = 0; p < end; n++) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		if (n == 3)
			return (reqhead_refuse(rh, 400,
			    "Malformed request line"));
		tok[n] = p;
		while (p < end && *p != ' ')
			p++;
		toklen[n] = (size_t)(p - tok[n]);
	}
	if (n != 3)
		return (reqhead_refuse(rh, 400, "Malformed request line"));

	if (toklen[1] > lim->target_max)
		return (reqhead_refuse(rh, 414, "Request URI too long"));

	for (i = 0; body_methods[i] != NULL; i++) {
		if (toklen[0] == strlen(body_methods[i]) &&
		    !strncasecmp((const char *)tok[0], body_methods[i],
		    toklen[0]))
			rh->body_method = 1;
	}

	return (REQHEAD_DONE);
}

/*
 * name ":" OWS value. Lines without a colon, or with a name Kore would
 * not take (whitespace before the colon), are Kore's to refuse.
 */
static int
reqhead_field(struct reqhead *rh, const u_int8_t *s, size_t len)
{
	const u_int8_t	*colon, *v, *end;
	size_t		nlen;
	int		i;

	if ((colon = memchr(s, ':', len)) == NULL)
		return (REQHEAD_DONE);
	nlen = (size_t)(colon - s);
	end = s + len;
	v = colon + 1;
	while (v < end && isspace(*v))
		v++;

	for (i = 0; fields[i].name != NULL; i++) {
		if (nlen == strlen(fields[i].name) &&
		    !strncasecmp((const char *)s, fields[i].name, nlen))
			return (fields[i].fn(rh, v, (size_t)(end - v)));
	}

	return (REQHEAD_DONE);
}

/* 1*DIGIT: no sign, no list, no space; repeated only with one value. */
static int
reqhead_length(struct reqhead *rh, const u_int8_t *v, size_t len)
{
	u_int64_t	n;
	size_t		i;

	if (len == 0 || len > REQHEAD_DIGITS_MAX)
		return (reqhead_refuse(rh, 400, "Invalid Content-Length"));

	n = 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (reqhead_refuse(rh, 400,
			    "Invalid Content-Length"));
		n = n * 10 + (v[i] - '0');
	}

	if (rh->has_length && rh->content_length != n)
		return (reqhead_refuse(rh, 400,
		    "Conflicting Content-Length headers"));

	rh->has_length = 1;
	rh->content_length = n;

	return (REQHEAD_DONE);
}

/* Kore reads no chunked body: any coding is noted, then refused. */
static int
reqhead_coding(struct reqhead *rh, const u_int8_t *v, size_t len)
{
	(void)v;
	(void)len;

	rh->has_coding = 1;

	return (REQHEAD_DONE);
}

static int
reqhead_framing(struct reqhead *rh, const struct reqhead_limits *lim)
{
	if (rh->has_coding) {
		if (rh->has_length)
			return (reqhead_refuse(rh, 400, "Content-Length "
			    "together with Transfer-Encoding"));
		if (rh->body_method)
			return (reqhead_refuse(rh, 411, "Transfer-Encoding "
			    "is not supported: send Content-Length"));
		return (reqhead_refuse(rh, 400,
		    "Transfer-Encoding is not supported"));
	}

	/* Kore would answer these two itself, bare, and reset the rest. */
	if (rh->body_method && !rh->has_length)
		return (reqhead_refuse(rh, 411, "Content-Length required"));
	if (rh->body_method && lim->body_max > 0 &&
	    rh->content_length > lim->body_max)
		return (reqhead_refuse(rh, 413, "Request body too large"));

	/*
	 * Kore reads no body for GET, HEAD, DELETE or OPTIONS: one is read
	 * here and dropped, so it cannot pass for the next request. It must
	 * fit with the head.
	 */
	if (!rh->body_method && rh->content_length > 0 &&
	    rh->content_length > lim->head_max - rh->head_len)
		return (reqhead_refuse(rh, 413,
		    "Request body too large for its method"));

	return (REQHEAD_DONE);
}
