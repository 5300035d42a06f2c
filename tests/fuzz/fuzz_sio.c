/*
 * libFuzzer target: the Socket.IO packet decoder and the JSON checks
 * behind it. Anything decoded must point inside the input, an accepted
 * EVENT must split into name + arguments, and the name must unescape
 * or be refused without touching memory it does not own.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_packet.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sio_packet	p;
	const char		*s, *name, *rest;
	size_t			nlen, rlen;
	char			*copy, buf[64];

	/* A private copy so ASan sees reads past the end. */
	if ((copy = malloc(len + 1)) == NULL)
		return (0);
	memcpy(copy, data, len);
	s = copy;

	(void)sio_json_check(s, len);
	(void)sio_placeholders_check(s, len, (len % 11));

	if (sio_packet_decode(s, len, &p) == 0) {
		if (p.type < SIO_CONNECT || p.type > SIO_BINARY_ACK)
			abort();
		if (p.attachments < 0 || p.attachments > SIO_MAX_ATTACHMENTS)
			abort();
		if (p.nsp_len > 1 && (p.nsp < s || p.nsp + p.nsp_len > s + len))
			abort();
		if (p.payload != NULL && (p.payload < s ||
		    p.payload + p.payload_len > s + len))
			abort();
		if (p.type == SIO_EVENT || p.type == SIO_BINARY_EVENT) {
			if (sio_event_split(p.payload, p.payload_len, &name,
			    &nlen, &rest, &rlen) == -1)
				abort();
			if (rest < p.payload ||
			    rest + rlen > p.payload + p.payload_len)
				abort();
			/* Arguments are a valid JSON array once bracketed. */
			if (*name == '"')
				(void)sio_json_unescape(name, nlen, buf,
				    sizeof(buf));
		}
	}

	free(copy);
	return (0);
}
