/*
 * Engine.IO v4 wire format (see eio_packet.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engineio/eio_packet.h"
#include "lib/text.h"

static void	b64url_encode(const u_int8_t *, size_t, char *);

void
eio_buf_init(struct eio_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->borrowed = 0;
}

void
eio_buf_init_with(struct eio_buf *b, u_int8_t *storage, size_t size)
{
	b->data = storage;
	b->len = 0;
	b->cap = size;
	b->borrowed = 1;
}

void
eio_buf_free(struct eio_buf *b)
{
	if (!b->borrowed)
		free(b->data);
	eio_buf_init(b);
}

void
eio_buf_reserve(struct eio_buf *b, size_t extra)
{
	u_int8_t	*p;
	size_t		cap;

	if (extra <= b->cap - b->len)
		return;

	cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra) {
		if (cap > ((size_t)-1) / 2)
			abort();
		cap *= 2;
	}

	if (b->borrowed) {
		if ((p = malloc(cap)) == NULL)
			abort();
		if (b->len > 0)
			memcpy(p, b->data, b->len);
		b->borrowed = 0;
	} else if ((p = realloc(b->data, cap)) == NULL) {
		abort();
	}
	b->data = p;
	b->cap = cap;
}

void
eio_buf_add(struct eio_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	eio_buf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void
eio_buf_addc(struct eio_buf *b, u_int8_t c)
{
	eio_buf_add(b, &c, 1);
}

void
eio_buf_adds(struct eio_buf *b, const char *s)
{
	eio_buf_add(b, s, strlen(s));
}

void
eio_buf_addu64(struct eio_buf *b, u_int64_t v)
{
	char		tmp[24];
	size_t		i;

	i = sizeof(tmp);
	do {
		tmp[--i] = '0' + (v % 10);
		v /= 10;
	} while (v != 0);

	eio_buf_add(b, tmp + i, sizeof(tmp) - i);
}

int
eio_packet_parse(const u_int8_t *data, size_t len, struct eio_pkt *pkt)
{
	if (len == 0 || data[0] < '0' + EIO_OPEN || data[0] > '0' + EIO_NOOP)
		return (-1);

	pkt->type = data[0] - '0';
	pkt->binary = 0;
	pkt->data = data + 1;
	pkt->len = len - 1;

	return (0);
}

int
eio_payload_next(const u_int8_t *body, size_t len, size_t *off,
    struct eio_pkt *pkt, struct eio_buf *scratch)
{
	const u_int8_t	*rec, *sep;
	size_t		rlen;

	if (*off > len)
		return (-1);
	if (*off == len)
		return (*off == 0 ? -1 : 0);

	rec = body + *off;
	if ((sep = memchr(rec, EIO_SEPARATOR, len - *off)) != NULL) {
		rlen = sep - rec;
		*off += rlen + 1;
		/* A trailing separator would start an empty record. */
		if (*off == len)
			return (-1);
	} else {
		rlen = len - *off;
		*off = len;
	}

	if (rlen > 0 && rec[0] == 'b') {
		scratch->len = 0;
		if (eio_b64_decode((const char *)rec + 1, rlen - 1,
		    scratch) == -1)
			return (-1);
		pkt->type = EIO_MESSAGE;
		pkt->binary = 1;
		pkt->data = scratch->data != NULL ? scratch->data :
		    (const u_int8_t *)"";
		pkt->len = scratch->len;
		return (1);
	}

	if (eio_packet_parse(rec, rlen, pkt) == -1)
		return (-1);

	return (1);
}

void
eio_payload_add(struct eio_buf *b, int type, int binary, const void *data,
    size_t len)
{
	size_t		elen;

	if (b->len > 0)
		eio_buf_addc(b, EIO_SEPARATOR);

	if (binary) {
		elen = eio_b64_encoded_len(len);
		/* 'b', the base64 text and the NUL libsodium writes. */
		eio_buf_reserve(b, elen + 2);
		b->data[b->len++] = 'b';
		eio_b64_encode(data, len, (char *)b->data + b->len);
		b->len += elen;
		return;
	}

	eio_buf_addc(b, '0' + type);
	eio_buf_add(b, data, len);
}

size_t
eio_b64_encoded_len(size_t len)
{
	return (((len + 2) / 3) * 4);
}

/* out has room for eio_b64_encoded_len(len) + 1 (a NUL is written). */
void
eio_b64_encode(const u_int8_t *in, size_t len, char *out)
{
	(void)sodium_bin2base64(out, eio_b64_encoded_len(len) + 1, in, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Strict standard base64 (libsodium): padding only at the end, every
 * character used. Node's Buffer.from(x, "base64") is laxer, but every
 * encoder a client uses produces this form.
 */
int
eio_b64_decode(const char *in, size_t len, struct eio_buf *out)
{
	const char	*end;
	size_t		n;

	if (len % 4 != 0)
		return (-1);
	if (len == 0)
		return (0);

	eio_buf_reserve(out, (len / 4) * 3);
	if (sodium_base642bin(out->data + out->len, (len / 4) * 3, in, len,
	    NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + len)
		return (-1);

	out->len += n;
	return (0);
}

void
eio_sid_make(u_int8_t worker, const u_int8_t *rnd, char *out)
{
	u_int8_t	raw[EIO_SID_RANDOM + 1];

	raw[0] = worker;
	memcpy(raw + 1, rnd, EIO_SID_RANDOM);
	b64url_encode(raw, sizeof(raw), out);
}

/* The owning worker of a sid, or -1 when it is not one of ours. */
int
eio_sid_worker(const char *sid)
{
	u_int8_t	raw[EIO_SID_RANDOM + 1];
	const char	*end;
	size_t		n;

	if (strlen(sid) != EIO_SID_LEN)
		return (-1);

	if (sodium_base642bin(raw, sizeof(raw), sid, EIO_SID_LEN, NULL, &n,
	    &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(raw) || end != sid + EIO_SID_LEN)
		return (-1);

	return (raw[0]);
}

void
eio_id_make(const u_int8_t *rnd, char *out)
{
	b64url_encode(rnd, 15, out);
}

int
eio_query_get(const char *qs, const char *name, char *out, size_t outlen)
{
	const char	*p, *end, *eq;
	size_t		nlen, o;
	int		hi, lo;

	if (qs == NULL)
		return (0);

	nlen = strlen(name);
	for (p = qs; *p != '\0'; p = (*end == '&') ? end + 1 : end) {
		if ((end = strchr(p, '&')) == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', end - p);
		if ((size_t)((eq ? eq : end) - p) != nlen ||
		    memcmp(p, name, nlen))
			continue;

		o = 0;
		for (p = eq ? eq + 1 : end; p < end; p++) {
			if (o + 1 >= outlen)
				return (-1);
			if (*p == '+') {
				out[o++] = ' ';
			} else if (*p == '%' && end - p >= 3 &&
			    (hi = text_hex_digit(p[1])) != -1 &&
			    (lo = text_hex_digit(p[2])) != -1) {
				out[o++] = (hi << 4) | lo;
				p += 2;
			} else {
				out[o++] = *p;
			}
		}
		if (outlen == 0)
			return (-1);
		out[o] = '\0';
		return (1);
	}

	return (0);
}

/* Callers pass multiples of 3 bytes, so there is never padding. */
static void
b64url_encode(const u_int8_t *in, size_t len, char *out)
{
	(void)sodium_bin2base64(out, eio_b64_encoded_len(len) + 1, in, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

