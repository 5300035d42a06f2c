/*
 * libFuzzer target: WebSocket frame headers, read as the reader does:
 * frame after frame from a buffer, with every prefix of a frame asking
 * for more bytes and never claiming more than it was given.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/ws_frame.h"

#define MAX	1048576

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ws_frame	f, g;
	uint8_t		*buf;
	size_t		off, i;
	int		r;

	if ((buf = malloc(len + 1)) == NULL)
		abort();
	memcpy(buf, data, len);

	off = 0;
	while (off < len) {
		r = ws_frame_header(buf + off, len - off, MAX, &f);
		if (r != WS_FRAME_OK)
			break;
		if (f.hlen < 6 || f.hlen > WS_FRAME_HDR_MAX ||
		    f.hlen > len - off || f.len > MAX)
			abort();
		/* A shorter prefix of the header is never complete. */
		for (i = 0; i < f.hlen; i++) {
			if (ws_frame_header(buf + off, i, MAX, &g) ==
			    WS_FRAME_OK)
				abort();
		}
		if (f.len > len - off - f.hlen)
			break;
		ws_frame_unmask(buf + off + f.hlen, f.len, f.mask);
		ws_frame_unmask(buf + off + f.hlen, f.len, f.mask);
		if (memcmp(buf + off + f.hlen, data + off + f.hlen, f.len))
			abort();
		off += f.hlen + f.len;
	}

	free(buf);
	return (0);
}
