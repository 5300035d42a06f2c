/*
 * Socket.IO v5 packet codec, pure C (no Kore):
 *
 *   <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]
 *
 * followed, for types 5 and 6, by <attachments> binary Engine.IO
 * messages. Decoding follows socket.io-parser's rules (what it accepts,
 * what makes the server close the connection) and validates the JSON
 * payload strictly (RFC 8259, UTF-8, bounded depth) without building a
 * tree, so payloads can be passed on byte for byte.
 */

#ifndef LNK_SOCKETIO_SIO_PACKET_H
#define LNK_SOCKETIO_SIO_PACKET_H

#include <sys/types.h>
#include <stddef.h>

#include "engineio/eio_packet.h"

#define SIO_CONNECT		0
#define SIO_DISCONNECT		1
#define SIO_EVENT		2
#define SIO_ACK			3
#define SIO_CONNECT_ERROR	4
#define SIO_BINARY_EVENT	5
#define SIO_BINARY_ACK		6

#define SIO_MAX_ATTACHMENTS	10
#define SIO_NSP_MAX		128
#define SIO_JSON_DEPTH		64
/* Largest ack id accepted (Number.MAX_SAFE_INTEGER). */
#define SIO_ACK_ID_MAX		9007199254740991ULL

/* JSON value kinds reported by sio_json_check(). */
#define SIO_JSON_OBJECT		1
#define SIO_JSON_ARRAY		2
#define SIO_JSON_STRING		3
#define SIO_JSON_NUMBER		4
#define SIO_JSON_LITERAL	5

struct sio_packet {
	int		type;
	int		attachments;
	const char	*nsp;		/* not NUL-terminated; "/" default */
	size_t		nsp_len;
	int		has_id;
	u_int64_t	id;
	const char	*payload;	/* NULL when absent */
	size_t		payload_len;
};

/* Decodes and validates one text packet; -1 means close the client. */
int	sio_packet_decode(const char *, size_t, struct sio_packet *);

/*
 * Validates that [p, p+len) is exactly one JSON value (whitespace
 * around it allowed). Returns its kind, or -1.
 */
int	sio_json_check(const char *, size_t);

/*
 * Splits an EVENT payload (a validated array whose first element is the
 * event name): the name, still JSON-encoded (a string with quotes, or a
 * number), and the remaining elements as raw text without brackets.
 */
int	sio_event_split(const char *, size_t, const char **, size_t *,
	    const char **, size_t *);

/* Decodes a JSON string token (with quotes) into a NUL-terminated buffer. */
int	sio_json_unescape(const char *, size_t, char *, size_t);

/*
 * Checks the {"_placeholder":true,"num":N} objects of a binary packet:
 * every num must be an integer below the attachment count.
 */
int	sio_placeholders_check(const char *, size_t, int);

/* Writes "<type>[<n>-][<nsp>,][<id>]" (the payload follows). */
void	sio_packet_header(struct eio_buf *, int, int, const char *, size_t,
	    int, u_int64_t);

int	sio_event_reserved(const char *);

#endif
