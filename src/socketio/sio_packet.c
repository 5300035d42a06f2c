/*
 * Socket.IO v5 packet codec (see sio_packet.h).
 */

#include <sys/types.h>

#include <string.h>

#include "lib/text.h"
#include "socketio/sio_packet.h"

struct jscan {
	const char	*p;
	const char	*end;
	int		depth;
	/* placeholder checking; -1 when not checking */
	int		nattach;
};

static int	js_value(struct jscan *);
static int	js_object(struct jscan *);
static int	js_array(struct jscan *);
static int	js_next(struct jscan *, char);
static int	js_string(struct jscan *);
static int	js_number(struct jscan *);
static int	js_literal(struct jscan *, const char *);
static void	js_ws(struct jscan *);
static int	js_utf8(struct jscan *);
static int	js_placeholder_num(const char *, const char *, int);
static int	payload_valid(int, const char *, size_t);
static int	hex4(const char *, u_int32_t *);

/* Bytes a JSON string holds as they are: printable ASCII but " and \\. */
static const u_int8_t js_plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1
};

static const char *reserved_events[] = {
	"connect", "connect_error", "disconnect", "disconnecting",
	"newListener", "removeListener", NULL
};

int
sio_packet_decode(const char *s, size_t len, struct sio_packet *p)
{
	size_t		i, start;
	int		n;

	memset(p, 0, sizeof(*p));
	p->nsp = "/";
	p->nsp_len = 1;

	if (len == 0 || s[0] < '0' + SIO_CONNECT || s[0] > '0' + SIO_BINARY_ACK)
		return (-1);
	p->type = s[0] - '0';
	i = 1;

	if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK) {
		start = i;
		n = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			n = n * 10 + (s[i] - '0');
			if (n > SIO_MAX_ATTACHMENTS)
				return (-1);
			i++;
		}
		if (i == start || i >= len || s[i] != '-')
			return (-1);
		p->attachments = n;
		i++;
	}

	/* Namespace: "/" up to a ',' (or the end: "40/custom" is fine). */
	if (i < len && s[i] == '/') {
		start = i;
		while (i < len && s[i] != ',')
			i++;
		p->nsp = s + start;
		p->nsp_len = i - start;
		if (p->nsp_len > SIO_NSP_MAX)
			return (-1);
		if (i < len)
			i++;
	}

	if (i < len && s[i] >= '0' && s[i] <= '9') {
		p->has_id = 1;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (p->id > (SIO_ACK_ID_MAX - (s[i] - '0')) / 10)
				return (-1);
			p->id = p->id * 10 + (s[i] - '0');
			i++;
		}
	}

	if (i < len) {
		p->payload = s + i;
		p->payload_len = len - i;
	}

	if (payload_valid(p->type, p->payload, p->payload_len) == -1)
		return (-1);

	if (p->attachments > 0 && sio_placeholders_check(p->payload,
	    p->payload_len, p->attachments) == -1)
		return (-1);

	return (0);
}

int
sio_json_check(const char *s, size_t len)
{
	struct jscan	js;
	int		kind;

	js.p = s;
	js.end = s + len;
	js.depth = 0;
	js.nattach = -1;

	js_ws(&js);
	if ((kind = js_value(&js)) == -1)
		return (-1);
	js_ws(&js);

	return (js.p == js.end ? kind : -1);
}

int
sio_placeholders_check(const char *s, size_t len, int nattach)
{
	struct jscan	js;

	js.p = s;
	js.end = s + len;
	js.depth = 0;
	js.nattach = nattach;

	js_ws(&js);
	if (js_value(&js) == -1)
		return (-1);
	js_ws(&js);

	return (js.p == js.end ? 0 : -1);
}

int
sio_event_split(const char *s, size_t len, const char **name,
    size_t *nlen, const char **rest, size_t *rlen)
{
	struct jscan	js;
	const char	*last;

	js.p = s;
	js.end = s + len;
	js.depth = 0;
	js.nattach = -1;

	js_ws(&js);
	if (js.p == js.end || *js.p != '[')
		return (-1);
	js.p++;
	js_ws(&js);

	*name = js.p;
	if (js_value(&js) == -1)
		return (-1);
	*nlen = js.p - *name;
	js_ws(&js);

	/* The closing bracket is the last non-blank byte. */
	last = s + len;
	while (last > js.p && (last[-1] == ' ' || last[-1] == '\t' ||
	    last[-1] == '\n' || last[-1] == '\r'))
		last--;
	if (last == js.p || last[-1] != ']')
		return (-1);
	last--;

	if (*js.p == ']') {
		*rest = js.p;
		*rlen = 0;
		return (0);
	}
	if (*js.p != ',')
		return (-1);
	js.p++;
	js_ws(&js);

	while (last > js.p && (last[-1] == ' ' || last[-1] == '\t' ||
	    last[-1] == '\n' || last[-1] == '\r'))
		last--;

	*rest = js.p;
	*rlen = last - js.p;
	return (0);
}

int
sio_json_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t		i, o;
	u_int32_t	cp, lo;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"' || outlen == 0)
		return (-1);

	o = 0;
	for (i = 1; i < len - 1; i++) {
		if (s[i] != '\\') {
			if (o + 1 >= outlen)
				return (-1);
			out[o++] = s[i];
			continue;
		}
		if (++i >= len - 1)
			return (-1);
		switch (s[i]) {
		case '"': case '\\': case '/':
			cp = s[i];
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (i + 4 > len - 2)
				return (-1);
			if (hex4(s + i + 1, &cp) == -1)
				return (-1);
			i += 4;
			/* A surrogate pair becomes one code point. */
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len - 1 &&
			    s[i + 1] == '\\' && s[i + 2] == 'u') {
				if (hex4(s + i + 3, &lo) == -1)
					return (-1);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					i += 6;
				}
			}
			/* Lone surrogates and NUL would not survive in C. */
			if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return (-1);
			break;
		default:
			return (-1);
		}

		if (o + 5 >= outlen)
			return (-1);
		if (cp < 0x80) {
			out[o++] = cp;
		} else if (cp < 0x800) {
			out[o++] = 0xc0 | (cp >> 6);
			out[o++] = 0x80 | (cp & 0x3f);
		} else if (cp < 0x10000) {
			out[o++] = 0xe0 | (cp >> 12);
			out[o++] = 0x80 | ((cp >> 6) & 0x3f);
			out[o++] = 0x80 | (cp & 0x3f);
		} else {
			out[o++] = 0xf0 | (cp >> 18);
			out[o++] = 0x80 | ((cp >> 12) & 0x3f);
			out[o++] = 0x80 | ((cp >> 6) & 0x3f);
			out[o++] = 0x80 | (cp & 0x3f);
		}
	}

	if (memchr(out, '\0', o) != NULL)
		return (-1);
	out[o] = '\0';
	return (0);
}

void
sio_packet_header(struct eio_buf *b, int type, int nattach, const char *nsp,
    size_t nsplen, int has_id, u_int64_t id)
{
	eio_buf_addc(b, '0' + type);

	if (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK) {
		eio_buf_addu64(b, nattach);
		eio_buf_addc(b, '-');
	}

	if (nsp != NULL && !(nsplen == 1 && nsp[0] == '/')) {
		eio_buf_add(b, nsp, nsplen);
		eio_buf_addc(b, ',');
	}

	if (has_id)
		eio_buf_addu64(b, id);
}

int
sio_event_reserved(const char *name)
{
	int		i;

	for (i = 0; reserved_events[i] != NULL; i++) {
		if (!strcmp(name, reserved_events[i]))
			return (1);
	}

	return (0);
}

/* socket.io-parser's Decoder.isPayloadValid(). */
/* Four hex digits (the XXXX of \uXXXX) as a number. */
static int
hex4(const char *p, u_int32_t *out)
{
	int		k, h;

	*out = 0;
	for (k = 0; k < 4; k++) {
		if ((h = text_hex_digit((u_int8_t)p[k])) == -1)
			return (-1);
		*out = (*out << 4) | h;
	}

	return (0);
}

static int
payload_valid(int type, const char *s, size_t len)
{
	const char	*name, *rest;
	size_t		nlen, rlen;
	char		buf[64];
	int		kind;

	kind = (s == NULL) ? 0 : sio_json_check(s, len);
	if (kind == -1)
		return (-1);

	switch (type) {
	case SIO_CONNECT:
		return (kind == 0 || kind == SIO_JSON_OBJECT ? 0 : -1);
	case SIO_DISCONNECT:
		return (kind == 0 ? 0 : -1);
	case SIO_CONNECT_ERROR:
		return (kind == SIO_JSON_OBJECT || kind == SIO_JSON_STRING ?
		    0 : -1);
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		if (kind != SIO_JSON_ARRAY)
			return (-1);
		if (sio_event_split(s, len, &name, &nlen, &rest, &rlen) == -1)
			return (-1);
		if (*name == '-' || (*name >= '0' && *name <= '9'))
			return (0);
		if (*name != '"')
			return (-1);
		/* Long names cannot be reserved ones. */
		if (sio_json_unescape(name, nlen, buf, sizeof(buf)) == 0 &&
		    sio_event_reserved(buf))
			return (-1);
		return (0);
	case SIO_ACK:
	case SIO_BINARY_ACK:
		return (kind == SIO_JSON_ARRAY ? 0 : -1);
	}

	return (-1);
}

static void
js_ws(struct jscan *js)
{
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\t' ||
	    *js->p == '\n' || *js->p == '\r'))
		js->p++;
}

static int
js_value(struct jscan *js)
{
	if (js->p >= js->end)
		return (-1);

	switch (*js->p) {
	case '{':
		return (js_object(js));
	case '[':
		return (js_array(js));
	case '"':
		return (js_string(js));
	case 't':
		return (js_literal(js, "true"));
	case 'f':
		return (js_literal(js, "false"));
	case 'n':
		return (js_literal(js, "null"));
	default:
		return (js_number(js));
	}
}

static int
js_object(struct jscan *js)
{
	const char	*key, *val, *num;
	size_t		klen;
	int		is_placeholder, more;

	if (++js->depth > SIO_JSON_DEPTH)
		return (-1);
	js->p++;
	js_ws(js);

	is_placeholder = 0;
	num = NULL;

	if (js->p < js->end && *js->p == '}') {
		js->p++;
		js->depth--;
		return (SIO_JSON_OBJECT);
	}

	for (;;) {
		key = js->p;
		if (js->p >= js->end || *js->p != '"' || js_string(js) == -1)
			return (-1);
		klen = js->p - key;
		js_ws(js);
		if (js->p >= js->end || *js->p != ':')
			return (-1);
		js->p++;
		js_ws(js);

		val = js->p;
		if (js_value(js) == -1)
			return (-1);

		if (js->nattach >= 0) {
			if (klen == 14 && !memcmp(key, "\"_placeholder\"", 14))
				is_placeholder = (js->p - val == 4 &&
				    !memcmp(val, "true", 4));
			else if (klen == 5 && !memcmp(key, "\"num\"", 5))
				num = val;
		}

		if ((more = js_next(js, '}')) == -1)
			return (-1);
		if (!more)
			break;
	}

	if (is_placeholder &&
	    (num == NULL || js_placeholder_num(num, js->end, js->nattach) == -1))
		return (-1);

	js->depth--;
	return (SIO_JSON_OBJECT);
}

/*
 * After a member or an element: 1 when a ',' (and the blanks after it)
 * was read, 0 when close was, -1 on anything else.
 */
static int
js_next(struct jscan *js, char close)
{
	js_ws(js);
	if (js->p >= js->end)
		return (-1);
	if (*js->p == ',') {
		js->p++;
		js_ws(js);
		return (1);
	}
	if (*js->p != close)
		return (-1);
	js->p++;
	return (0);
}

static int
js_array(struct jscan *js)
{
	int	more;

	if (++js->depth > SIO_JSON_DEPTH)
		return (-1);
	js->p++;
	js_ws(js);

	if (js->p < js->end && *js->p == ']') {
		js->p++;
		js->depth--;
		return (SIO_JSON_ARRAY);
	}

	for (;;) {
		if (js_value(js) == -1)
			return (-1);
		if ((more = js_next(js, ']')) == -1)
			return (-1);
		if (!more)
			break;
	}

	js->depth--;
	return (SIO_JSON_ARRAY);
}

static int
js_string(struct jscan *js)
{
	const u_int8_t	*p, *end = (const u_int8_t *)js->end;
	u_int8_t	c;
	int		k;

	js->p++;
	while (js->p < js->end) {
		/* Runs of plain characters are the common case. */
		p = (const u_int8_t *)js->p;
		while (p < end && js_plain[*p])
			p++;
		js->p = (const char *)p;
		if (js->p >= js->end)
			break;

		c = *js->p;
		if (c == '"') {
			js->p++;
			return (SIO_JSON_STRING);
		}
		if (c < 0x20)
			return (-1);
		if (c >= 0x80) {
			if (js_utf8(js) == -1)
				return (-1);
			continue;
		}
		if (c == '\\') {
			if (++js->p >= js->end)
				return (-1);
			switch (*js->p) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				break;
			case 'u':
				for (k = 0; k < 4; k++) {
					if (++js->p >= js->end)
						return (-1);
					c = *js->p;
					if (!((c >= '0' && c <= '9') ||
					    (c >= 'a' && c <= 'f') ||
					    (c >= 'A' && c <= 'F')))
						return (-1);
				}
				break;
			default:
				return (-1);
			}
		}
		js->p++;
	}

	return (-1);
}

/* One UTF-8 sequence: no overlongs, no surrogates, at most U+10FFFF. */
static int
js_utf8(struct jscan *js)
{
	const u_int8_t	*p = (const u_int8_t *)js->p;
	size_t		left = js->end - js->p;
	u_int32_t	cp;
	int		n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 1;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 2;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 3;
		cp = p[0] & 0x07;
	} else {
		return (-1);
	}

	if (left < (size_t)n + 1)
		return (-1);

	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (-1);
		cp = (cp << 6) | (p[i] & 0x3f);
	}

	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (-1);

	js->p += n + 1;
	return (0);
}

static int
js_number(struct jscan *js)
{
	if (js->p < js->end && *js->p == '-')
		js->p++;
	if (js->p >= js->end)
		return (-1);

	if (*js->p == '0') {
		js->p++;
	} else if (*js->p >= '1' && *js->p <= '9') {
		while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
			js->p++;
	} else {
		return (-1);
	}

	if (js->p < js->end && *js->p == '.') {
		js->p++;
		if (js->p >= js->end || *js->p < '0' || *js->p > '9')
			return (-1);
		while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
			js->p++;
	}

	if (js->p < js->end && (*js->p == 'e' || *js->p == 'E')) {
		js->p++;
		if (js->p < js->end && (*js->p == '+' || *js->p == '-'))
			js->p++;
		if (js->p >= js->end || *js->p < '0' || *js->p > '9')
			return (-1);
		while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
			js->p++;
	}

	return (SIO_JSON_NUMBER);
}

static int
js_literal(struct jscan *js, const char *word)
{
	size_t		len;

	len = strlen(word);
	if ((size_t)(js->end - js->p) < len || memcmp(js->p, word, len))
		return (-1);
	js->p += len;

	return (SIO_JSON_LITERAL);
}

/* A placeholder's num: a plain non-negative integer below nattach. */
static int
js_placeholder_num(const char *p, const char *end, int nattach)
{
	int		n;

	if (p >= end || *p < '0' || *p > '9')
		return (-1);

	n = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		n = n * 10 + (*p - '0');
		if (n >= nattach)
			return (-1);
		p++;
	}

	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return (-1);

	return (0);
}
