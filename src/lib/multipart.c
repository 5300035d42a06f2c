/*
 * multipart/form-data locator (see multipart.h).
 *
 * The body is scanned in MP_WINDOW-sized reads with memmem; a window
 * overlaps the previous one by the delimiter's length minus one so that
 * a delimiter split across two reads is still found. Part headers are
 * bounded (MP_HEADER_MAX) and so is the number of parts, so a hostile
 * body costs one linear scan at most.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/multipart.h"

#define MP_WINDOW	(64 * 1024)
#define MP_HEADER_MAX	8192
#define MP_MAX_PARTS	64

struct mp {
	multipart_read_fn	rd;
	void			*arg;
	size_t			len;
	char			delim[4 + MULTIPART_BOUNDARY_MAX + 1];
	size_t			dlen;		/* "\r\n--" + boundary */
	u_int8_t		*win;
};

static int	mp_read_full(struct mp *, void *, size_t, size_t);
static int	mp_search(struct mp *, size_t, size_t *);
static int	mp_headers(const char *, size_t, struct multipart_part *);
static void	mp_disposition(const char *, struct multipart_part *);
static const char *mp_param(const char *, char *, size_t, char *, size_t);
static void	mp_copy_trimmed(char *, size_t, const char *, size_t);
static void	mp_ext_value(const char *, char *, size_t);
static int	mp_is_bchar(int);

int
multipart_boundary(const char *ctype, char *out, size_t outlen)
{
	const char	*p;
	char		name[32], value[MULTIPART_BOUNDARY_MAX + 8];
	size_t		len;

	if (ctype == NULL)
		return (-1);

	for (p = ctype; *p == ' ' || *p == '\t'; p++)
		;
	if (strncasecmp(p, "multipart/form-data", 19))
		return (-1);
	p += 19;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ';')
			return (-1);
		p = mp_param(p + 1, name, sizeof(name), value, sizeof(value));
		if (p == NULL)
			return (-1);
		if (strcasecmp(name, "boundary"))
			continue;

		len = strlen(value);
		if (len == 0 || len > 70 || len + 1 > outlen ||
		    value[len - 1] == ' ')
			return (-1);
		for (p = value; *p != '\0'; p++) {
			if (!mp_is_bchar((unsigned char)*p))
				return (-1);
		}
		memcpy(out, value, len + 1);
		return (0);
	}

	return (-1);
}

int
multipart_find_file(multipart_read_fn rd, void *arg, size_t len,
    const char *boundary, const char *field, struct multipart_part *out)
{
	struct multipart_part	part;
	struct mp		m;
	char			hdr[MP_HEADER_MAX + 1], *e;
	size_t			p, n, blen, end, data;
	int			parts, ret;

	memset(&m, 0, sizeof(m));
	m.rd = rd;
	m.arg = arg;
	m.len = len;

	blen = strlen(boundary);
	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX)
		return (-1);
	m.dlen = (size_t)snprintf(m.delim, sizeof(m.delim), "\r\n--%s",
	    boundary);
	if ((m.win = malloc(MP_WINDOW)) == NULL)
		return (-1);

	ret = -1;

	/* The first delimiter may open the body (no CRLF before it). */
	n = len < m.dlen - 2 ? len : m.dlen - 2;
	if (mp_read_full(&m, hdr, n, 0) == -1)
		goto done;
	if (n == m.dlen - 2 && !memcmp(hdr, m.delim + 2, n)) {
		p = n;
	} else {
		if (mp_search(&m, 0, &p) != 0)
			goto done;
		p += m.dlen;
	}

	for (parts = 0; parts < MP_MAX_PARTS; parts++) {
		/* After a delimiter: "--" closes, else padding and CRLF. */
		n = len - p < sizeof(hdr) - 1 ? len - p : sizeof(hdr) - 1;
		if (n < 2 || mp_read_full(&m, hdr, n, p) == -1)
			goto done;
		hdr[n] = '\0';
		if (hdr[0] == '-' && hdr[1] == '-') {
			ret = 0;
			goto done;
		}

		for (e = hdr; e < hdr + n && (*e == ' ' || *e == '\t'); e++)
			;
		if (e + 2 > hdr + n || e[0] != '\r' || e[1] != '\n')
			goto done;
		p += (size_t)(e - hdr) + 2;

		/* Part headers end with an empty line (possibly at once). */
		n = len - p < MP_HEADER_MAX ? len - p : MP_HEADER_MAX;
		if (mp_read_full(&m, hdr, n, p) == -1)
			goto done;
		hdr[n] = '\0';
		memset(&part, 0, sizeof(part));
		if (n >= 2 && hdr[0] == '\r' && hdr[1] == '\n') {
			data = p + 2;
		} else {
			e = memmem(hdr, n, "\r\n\r\n", 4);
			if (e == NULL)
				goto done;
			if (mp_headers(hdr, (size_t)(e - hdr), &part) == -1)
				goto done;
			data = p + (size_t)(e - hdr) + 4;
		}

		if (mp_search(&m, data, &end) != 0)
			goto done;

		if (part.has_filename && !strcmp(part.name, field)) {
			part.offset = data;
			part.length = end - data;
			*out = part;
			ret = 1;
			goto done;
		}

		p = end + m.dlen;
	}

done:
	free(m.win);
	return (ret);
}

static int
mp_read_full(struct mp *m, void *buf, size_t n, size_t off)
{
	ssize_t		r;
	size_t		got;

	for (got = 0; got < n; got += (size_t)r) {
		r = m->rd(m->arg, (u_int8_t *)buf + got, n - got, off + got);
		if (r <= 0)
			return (-1);
	}

	return (0);
}

/*
 * The next delimiter at or after from: "\r\n--boundary" followed by "--"
 * or by optional padding and CRLF (RFC 2046). 0 and *at, or -1.
 */
static int
mp_search(struct mp *m, size_t from, size_t *at)
{
	u_int8_t	*hit, tail[80];
	size_t		pos, n, t, k;

	pos = from;
	while (pos < m->len && m->len - pos >= m->dlen) {
		n = m->len - pos < MP_WINDOW ? m->len - pos : MP_WINDOW;
		if (mp_read_full(m, m->win, n, pos) == -1)
			return (-1);
		hit = memmem(m->win, n, m->delim, m->dlen);
		if (hit == NULL) {
			if (pos + n == m->len)
				break;
			pos += n - (m->dlen - 1);
			continue;
		}

		*at = pos + (size_t)(hit - m->win);
		t = m->len - (*at + m->dlen);
		if (t > sizeof(tail))
			t = sizeof(tail);
		if (mp_read_full(m, tail, t, *at + m->dlen) == -1)
			return (-1);
		for (k = 0; k < t && (tail[k] == ' ' || tail[k] == '\t'); k++)
			;
		if ((t >= 2 && tail[0] == '-' && tail[1] == '-') ||
		    (k + 1 < t && tail[k] == '\r' && tail[k + 1] == '\n'))
			return (0);

		/* The boundary text inside data: keep looking after it. */
		pos = *at + 1;
	}

	return (-1);
}

/* Header lines of one part; Content-Disposition and Content-Type. */
static int
mp_headers(const char *h, size_t len, struct multipart_part *part)
{
	const char	*line, *eol, *colon, *end;
	char		value[MP_HEADER_MAX + 1];
	size_t		nlen;

	end = h + len;
	for (line = h; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			return (-1);
		nlen = (size_t)(colon - line);

		mp_copy_trimmed(value, sizeof(value), colon + 1,
		    (size_t)(eol - colon - 1));
		if (nlen == 19 && !strncasecmp(line, "content-disposition", 19))
			mp_disposition(value, part);
		else if (nlen == 12 && !strncasecmp(line, "content-type", 12))
			mp_copy_trimmed(part->content_type,
			    sizeof(part->content_type), value, strlen(value));
		if (eol == end)
			break;
	}

	return (0);
}

/* form-data; name="x"; filename="y"; filename*=UTF-8''z */
static void
mp_disposition(const char *v, struct multipart_part *part)
{
	const char	*p;
	char		name[32], value[MULTIPART_FILENAME_MAX];
	int		ext;

	if (strncasecmp(v, "form-data", 9))
		return;

	ext = 0;
	for (p = v + 9; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ';')
			break;
		p = mp_param(p + 1, name, sizeof(name), value, sizeof(value));
		if (p == NULL)
			break;
		if (!strcasecmp(name, "name")) {
			mp_copy_trimmed(part->name, sizeof(part->name), value,
			    strlen(value));
		} else if (!strcasecmp(name, "filename") && !ext) {
			mp_copy_trimmed(part->filename,
			    sizeof(part->filename), value, strlen(value));
			part->has_filename = 1;
		} else if (!strcasecmp(name, "filename*")) {
			/* RFC 5987 wins over the plain parameter. */
			mp_ext_value(value, part->filename,
			    sizeof(part->filename));
			part->has_filename = 1;
			ext = 1;
		}
	}

	if (part->filename[0] == '\0')
		part->has_filename = 0;
}

/*
 * One parameter "name=value" or name="quoted \"value\"" starting at p
 * (after the ';'). Returns where parsing stopped, NULL when malformed.
 */
static const char *
mp_param(const char *p, char *name, size_t nlen, char *value, size_t vlen)
{
	size_t		n, v;

	while (*p == ' ' || *p == '\t')
		p++;

	for (n = 0; *p != '\0' && *p != '=' && *p != ';' && *p != ' ' &&
	    *p != '\t'; p++) {
		if (n + 1 < nlen)
			name[n++] = *p;
	}
	name[n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=' || n == 0)
		return (NULL);
	p++;
	while (*p == ' ' || *p == '\t')
		p++;

	v = 0;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			/*
			 * Browsers send backslashes as they are ("C:\x"), curl
			 * escapes quote and backslash: only those two pairs
			 * are escapes.
			 */
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (v + 1 < vlen)
				value[v++] = *p;
		}
		if (*p != '"')
			return (NULL);
		p++;
	} else {
		for (; *p != '\0' && *p != ';' && *p != ' ' && *p != '\t';
		    p++) {
			if (v + 1 < vlen)
				value[v++] = *p;
		}
	}
	value[v] = '\0';

	return (p);
}

static void
mp_copy_trimmed(char *out, size_t outlen, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* charset'lang'percent-encoded (RFC 5987); the bytes are kept as sent. */
static void
mp_ext_value(const char *v, char *out, size_t outlen)
{
	const char	*p;
	size_t		o;
	unsigned int	c;

	if ((p = strchr(v, '\'')) == NULL || (p = strchr(p + 1, '\'')) == NULL)
		p = v;
	else
		p++;

	for (o = 0; *p != '\0' && o + 1 < outlen; p++) {
		if (*p == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2]) &&
		    sscanf(p + 1, "%2x", &c) == 1) {
			out[o++] = (char)c;
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* RFC 2046 bchars (printable ASCII minus a few is what clients send). */
static int
mp_is_bchar(int c)
{
	return (c >= 0x20 && c < 0x7f && c != '"' && c != '\\');
}
