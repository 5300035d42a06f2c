/*
 * RFC 6455 client frames, pure C (no Kore): the header of a frame a
 * client sent (always masked) and the unmasking of its payload.
 * Unit-tested and fuzzed on its own; src/engineio/ws_reader.c reads
 * the bytes off Kore connections.
 */

#ifndef LNK_ENGINEIO_WS_FRAME_H
#define LNK_ENGINEIO_WS_FRAME_H

#include <sys/types.h>
#include <stddef.h>

#define WS_OP_CONT		0x0
#define WS_OP_TEXT		0x1
#define WS_OP_BINARY		0x2
#define WS_OP_CLOSE		0x8
#define WS_OP_PING		0x9
#define WS_OP_PONG		0xa

/* The longest header: 2 + 8 (64-bit length) + 4 (mask). */
#define WS_FRAME_HDR_MAX	14

/* ws_frame_header() results. */
#define WS_FRAME_OK		0	/* header complete (payload maybe not) */
#define WS_FRAME_MORE		1	/* need more bytes for the header */
#define WS_FRAME_PROTO		2	/* protocol error: close 1002 */
#define WS_FRAME_TOOBIG		3	/* over the limit: close 1009 */

/* Close codes the reader sends. */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_TOOBIG		1009

struct ws_frame {
	int		fin;
	u_int8_t	op;
	size_t		hlen;		/* header bytes, mask included */
	u_int64_t	len;		/* payload bytes */
	u_int8_t	mask[4];
};

/*
 * Parses the frame header at the start of buf (len bytes available).
 * Rejects unmasked frames, RSV bits, unknown opcodes, fragmented or
 * long control frames and 64-bit lengths with the top bit set; a
 * payload longer than max is WS_FRAME_TOOBIG. (Non-minimal length
 * encodings are accepted, as Kore and most servers do.)
 */
int	ws_frame_header(const u_int8_t *, size_t, u_int64_t,
	    struct ws_frame *);

/* XORs len payload bytes with the mask, in place. */
void	ws_frame_unmask(u_int8_t *, size_t, const u_int8_t *);

#endif
