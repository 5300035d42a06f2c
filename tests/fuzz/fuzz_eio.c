/*
 * libFuzzer target: Engine.IO polling payloads. Every payload that
 * parses must survive a round trip through the encoder unchanged in
 * meaning (same packets, same bytes).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_packet.h"

#define MAXPKT	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct copy {
	int		type;
	int		binary;
	u_int8_t	*data;
	size_t		len;
};

static int
collect(const u_int8_t *body, size_t len, struct copy *out, int *n)
{
	struct eio_buf	scratch;
	struct eio_pkt	pkt;
	size_t		off;
	int		r;

	eio_buf_init(&scratch);
	off = 0;
	*n = 0;
	while ((r = eio_payload_next(body, len, &off, &pkt, &scratch)) == 1) {
		if (off > len)
			abort();
		if (*n < MAXPKT) {
			out[*n].type = pkt.type;
			out[*n].binary = pkt.binary;
			out[*n].len = pkt.len;
			out[*n].data = malloc(pkt.len + 1);
			if (pkt.len > 0)
				memcpy(out[*n].data, pkt.data, pkt.len);
			(*n)++;
		}
	}
	eio_buf_free(&scratch);

	return (r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct copy	a[MAXPKT], b[MAXPKT];
	struct eio_buf	enc;
	int		na, nb, i;
	char		val[32];
	char		*qs;

	if ((qs = malloc(len + 1)) != NULL) {
		memcpy(qs, data, len);
		qs[len] = '\0';
		(void)eio_query_get(qs, "sid", val, sizeof(val));
		(void)eio_sid_worker(qs);
		free(qs);
	}

	if (collect(data, len, a, &na) == 0 && na < MAXPKT) {
		eio_buf_init(&enc);
		for (i = 0; i < na; i++)
			eio_payload_add(&enc, a[i].type, a[i].binary,
			    a[i].data, a[i].len);
		/* Text data may hold a separator: then framing differs. */
		if (collect(enc.data, enc.len, b, &nb) == 0 && nb == na) {
			for (i = 0; i < na; i++) {
				if (a[i].type != b[i].type ||
				    a[i].binary != b[i].binary ||
				    a[i].len != b[i].len || (a[i].len > 0 &&
				    memcmp(a[i].data, b[i].data, a[i].len)))
					abort();
				free(b[i].data);
			}
		} else if (nb > 0) {
			for (i = 0; i < nb; i++)
				free(b[i].data);
		}
		eio_buf_free(&enc);
	}
	for (i = 0; i < na; i++)
		free(a[i].data);

	return (0);
}
