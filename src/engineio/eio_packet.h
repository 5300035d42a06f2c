/*
 * Engine.IO v4 wire format, pure C (no Kore): packet types, the polling
 * payload framing (records joined by 0x1e, binary as "b" + base64), the
 * session id layout and query-string lookups. Unit-tested and fuzzed on
 * its own; the server (eio_internal.h lists its files) does the I/O.
 */

#ifndef LNK_ENGINEIO_EIO_PACKET_H
#define LNK_ENGINEIO_EIO_PACKET_H

#include <sys/types.h>
#include <stddef.h>

#define EIO_OPEN		0
#define EIO_CLOSE		1
#define EIO_PING		2
#define EIO_PONG		3
#define EIO_MESSAGE		4
#define EIO_UPGRADE		5
#define EIO_NOOP		6

#define EIO_SEPARATOR		0x1e

/* 15 bytes (worker id + 14 random) as unpadded base64url: 20 chars. */
#define EIO_SID_LEN		20
#define EIO_SID_RANDOM		14

/*
 * A growable byte buffer (malloc; aborts when memory runs out). It can
 * start in caller storage (eio_buf_init_with, e.g. a stack array) and
 * moves to the heap only when it outgrows it: a frame or a bus record
 * on the hot path then costs no allocation at all.
 */
struct eio_buf {
	u_int8_t	*data;
	size_t		len;
	size_t		cap;
	int		borrowed;	/* data is the caller's storage */
};

void	eio_buf_init(struct eio_buf *);
void	eio_buf_init_with(struct eio_buf *, u_int8_t *, size_t);
void	eio_buf_free(struct eio_buf *);
void	eio_buf_reserve(struct eio_buf *, size_t);
void	eio_buf_add(struct eio_buf *, const void *, size_t);
void	eio_buf_addc(struct eio_buf *, u_int8_t);
void	eio_buf_adds(struct eio_buf *, const char *);
void	eio_buf_addu64(struct eio_buf *, u_int64_t);

/* One decoded packet; data points into the input unless base64. */
struct eio_pkt {
	int		type;
	int		binary;
	const u_int8_t	*data;
	size_t		len;
};

/*
 * A text packet (a WebSocket text frame or one polling record):
 * "<type digit><data>". Returns -1 for anything else.
 */
int	eio_packet_parse(const u_int8_t *, size_t, struct eio_pkt *);

/*
 * Walks a polling POST body. *off is the read position (start at 0).
 * Returns 1 with the next packet in pkt, 0 at the end, -1 on a parse
 * error (empty record, unknown type, bad base64). Binary records are
 * decoded into scratch, which pkt->data then points into.
 */
int	eio_payload_next(const u_int8_t *, size_t, size_t *,
	    struct eio_pkt *, struct eio_buf *);

/* Appends one packet to a polling payload (adds the separator). */
void	eio_payload_add(struct eio_buf *, int, int, const void *, size_t);

/* Standard base64 with padding. */
size_t	eio_b64_encoded_len(size_t);
void	eio_b64_encode(const u_int8_t *, size_t, char *);
int	eio_b64_decode(const char *, size_t, struct eio_buf *);

/* Session ids that name the Kore worker owning the session. */
void	eio_sid_make(u_int8_t, const u_int8_t *, char *);
int	eio_sid_worker(const char *);
/* 20-char random ids (Socket.IO socket ids) from 15 random bytes. */
void	eio_id_make(const u_int8_t *, char *);

/*
 * Query string lookup with %xx and '+' decoding. Returns 1 and the
 * NUL-terminated value, 0 when absent, -1 when it does not fit.
 */
int	eio_query_get(const char *, const char *, char *, size_t);

#endif
