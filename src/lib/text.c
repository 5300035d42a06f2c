/*
 * Plain-text rules for user content (see text.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "lib/text.h"

static int	text_decode(const unsigned char *, size_t, u_int32_t *);
static int	text_is_space(u_int32_t);

int
text_clean(const char *in, size_t len, char **out, size_t *outlen,
    size_t *nchars, int *blank)
{
	const unsigned char	*p;
	char			*buf;
	size_t			off, n, chars;
	u_int32_t		cp;
	int			sz, only_space;

	*out = NULL;
	if ((buf = malloc(len + 1)) == NULL)
		abort();

	p = (const unsigned char *)in;
	off = 0;
	n = 0;
	chars = 0;
	only_space = 1;

	while (off < len) {
		if ((sz = text_decode(p + off, len - off, &cp)) == -1) {
			free(buf);
			return (TEXT_BADUTF8);
		}

		/* C0 (but \t and \n), DEL and C1 controls are dropped. */
		if ((cp < 0x20 && cp != '\t' && cp != '\n') ||
		    (cp >= 0x7f && cp <= 0x9f)) {
			off += (size_t)sz;
			continue;
		}

		memcpy(buf + n, p + off, (size_t)sz);
		n += (size_t)sz;
		off += (size_t)sz;
		chars++;
		if (!text_is_space(cp))
			only_space = 0;
	}

	buf[n] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = n;
	if (nchars != NULL)
		*nchars = chars;
	if (blank != NULL)
		*blank = only_space;

	return (TEXT_OK);
}

size_t
text_utf8_len(const char *s)
{
	size_t		n;

	for (n = 0; *s != '\0'; s++) {
		/* Count every byte that does not continue a sequence. */
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}

	return (n);
}

char *
text_regex_escape(const char *s)
{
	static const char	meta[] = "\\^$.|?*+()[]{}-/#&~<>=!:,";
	char			*out, *o;
	size_t			len;

	len = strlen(s);
	if ((out = malloc(len * 2 + 1)) == NULL)
		abort();

	for (o = out; *s != '\0'; s++) {
		if (strchr(meta, *s) != NULL)
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';

	return (out);
}

/*
 * One code point from p (at most len bytes). Returns its length, or -1
 * for anything that is not strict UTF-8 (RFC 3629), NUL included.
 */
static int
text_decode(const unsigned char *p, size_t len, u_int32_t *cp)
{
	u_int32_t	c, min;
	int		n, i;

	c = p[0];
	if (c == 0)
		return (-1);
	if (c < 0x80) {
		*cp = c;
		return (1);
	}

	if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return (-1);
	}

	if ((size_t)n > len)
		return (-1);

	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (-1);
		c = (c << 6) | (p[i] & 0x3f);
	}

	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (-1);

	*cp = c;
	return (n);
}

static int
text_is_space(u_int32_t cp)
{
	switch (cp) {
	case ' ':
	case '\t':
	case '\n':
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
	case 0xfeff:
		return (1);
	default:
		return (cp >= 0x2000 && cp <= 0x200b);
	}
}

int
text_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
