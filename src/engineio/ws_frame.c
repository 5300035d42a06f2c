/*
 * RFC 6455 §5.2 frame headers as a client sends them (see ws_frame.h).
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "engineio/ws_frame.h"

static int	ws_op_known(u_int8_t);

int
ws_frame_header(const u_int8_t *buf, size_t len, u_int64_t max,
    struct ws_frame *f)
{
	u_int64_t	plen;
	size_t		need, i;

	if (len < 2)
		return (WS_FRAME_MORE);

	if (buf[0] & 0x70)
		return (WS_FRAME_PROTO);
	if (!(buf[1] & 0x80))
		return (WS_FRAME_PROTO);

	f->fin = (buf[0] & 0x80) != 0;
	f->op = buf[0] & 0x0f;
	if (!ws_op_known(f->op))
		return (WS_FRAME_PROTO);

	plen = buf[1] & 0x7f;
	if (f->op >= WS_OP_CLOSE && (plen > 125 || !f->fin))
		return (WS_FRAME_PROTO);

	switch (plen) {
	case 126:
		need = 2 + 2 + 4;
		break;
	case 127:
		need = 2 + 8 + 4;
		break;
	default:
		need = 2 + 4;
		break;
	}
	if (len < need)
		return (WS_FRAME_MORE);

	if (plen == 126) {
		plen = ((u_int64_t)buf[2] << 8) | buf[3];
	} else if (plen == 127) {
		plen = 0;
		for (i = 0; i < 8; i++)
			plen = (plen << 8) | buf[2 + i];
		/* The most significant bit must be 0. */
		if ((plen >> 63) != 0)
			return (WS_FRAME_PROTO);
	}

	if (plen > max)
		return (WS_FRAME_TOOBIG);

	f->hlen = need;
	f->len = plen;
	memcpy(f->mask, buf + need - 4, 4);

	return (WS_FRAME_OK);
}

/* Eight bytes at a time: the payload is as long as the chat message. */
void
ws_frame_unmask(u_int8_t *p, size_t len, const u_int8_t *mask)
{
	u_int64_t	m8, w;
	u_int8_t	m[8];
	size_t		i;

	for (i = 0; i < 8; i++)
		m[i] = mask[i & 3];
	memcpy(&m8, m, sizeof(m8));

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		w ^= m8;
		memcpy(p + i, &w, sizeof(w));
	}
	for (; i < len; i++)
		p[i] ^= mask[i & 3];
}

static int
ws_op_known(u_int8_t op)
{
	switch (op) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		return (1);
	}

	return (0);
}
