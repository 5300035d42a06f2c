/*
 * RFC 6455 client frame headers and unmasking (src/engineio/ws_frame.c),
 * and eio_buf's borrowed storage the frame writers use.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engineio/eio_packet.h"
#include "engineio/ws_frame.h"

#define MAX		1048576

/* A masked client frame of op with the payload, as a browser sends it. */
static size_t
client_frame(u_int8_t *out, int fin, int op, const char *payload,
    size_t len)
{
	static const u_int8_t	mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t			n, i;

	out[0] = (fin ? 0x80 : 0) | op;
	if (len < 126) {
		out[1] = 0x80 | len;
		n = 2;
	} else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = len >> 8;
		out[3] = len & 0xff;
		n = 4;
	} else {
		out[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = ((u_int64_t)len >> (56 - 8 * i)) & 0xff;
		n = 10;
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n + i] = payload[i] ^ mask[i & 3];

	return (n + len);
}

/* The header of buf parses complete, with these fields. */
static void
expect_frame(const u_int8_t *buf, size_t n, int fin, int op, size_t hlen,
    u_int64_t len, struct ws_frame *f)
{
	assert_int_equal(ws_frame_header(buf, n, MAX, f), WS_FRAME_OK);
	assert_int_equal(f->fin, fin);
	assert_int_equal(f->op, op);
	assert_int_equal(f->hlen, hlen);
	assert_int_equal(f->len, len);
}

static void
test_small_text_frame(void **state)
{
	u_int8_t	buf[64];
	struct ws_frame	f;
	size_t		n;

	n = client_frame(buf, 1, WS_OP_TEXT, "42/chat,[\"x\"]", 13);
	expect_frame(buf, n, 1, WS_OP_TEXT, 6, 13, &f);
	ws_frame_unmask(buf + f.hlen, f.len, f.mask);
	assert_memory_equal(buf + f.hlen, "42/chat,[\"x\"]", 13);
}

static void
test_partial_headers_want_more(void **state)
{
	u_int8_t	buf[70000];
	struct ws_frame	f;
	char		payload[300];
	size_t		i;

	memset(payload, 'a', sizeof(payload));
	(void)client_frame(buf, 1, WS_OP_TEXT, payload, sizeof(payload));
	/* 2 + 2 (16-bit length) + 4 (mask): every shorter prefix waits. */
	for (i = 0; i < 8; i++)
		assert_int_equal(ws_frame_header(buf, i, MAX, &f),
		    WS_FRAME_MORE);
	assert_int_equal(ws_frame_header(buf, 8, MAX, &f), WS_FRAME_OK);
	assert_int_equal(f.len, 300);
	assert_int_equal(f.hlen, 8);
}

static void
test_64bit_length(void **state)
{
	static u_int8_t	buf[70000 + 14];
	static char	payload[70000];
	struct ws_frame	f;
	size_t		n;

	memset(payload, 'b', sizeof(payload));
	n = client_frame(buf, 1, WS_OP_BINARY, payload, sizeof(payload));
	for (n = 0; n < 14; n++)
		assert_int_equal(ws_frame_header(buf, n, MAX, &f),
		    WS_FRAME_MORE);
	assert_int_equal(ws_frame_header(buf, 14, MAX, &f), WS_FRAME_OK);
	assert_int_equal(f.len, 70000);
	assert_int_equal(f.hlen, 14);

	/* Over the limit: refused from the header alone. */
	assert_int_equal(ws_frame_header(buf, 14, 65536, &f),
	    WS_FRAME_TOOBIG);

	/* The top bit of a 64-bit length must be clear. */
	buf[2] |= 0x80;
	assert_int_equal(ws_frame_header(buf, 14, MAX, &f), WS_FRAME_PROTO);
}

static void
test_protocol_errors(void **state)
{
	u_int8_t	buf[300];
	struct ws_frame	f;
	char		big[200];
	size_t		n;

	/* Unmasked client frame. */
	n = client_frame(buf, 1, WS_OP_TEXT, "hi", 2);
	buf[1] &= 0x7f;
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);

	/* RSV bits without an extension. */
	n = client_frame(buf, 1, WS_OP_TEXT, "hi", 2);
	buf[0] |= 0x40;
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);

	/* Reserved opcodes. */
	n = client_frame(buf, 1, 0x3, "hi", 2);
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);
	n = client_frame(buf, 1, 0xb, "hi", 2);
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);

	/* Fragmented or long control frames. */
	n = client_frame(buf, 0, WS_OP_PING, "hi", 2);
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);
	memset(big, 'c', sizeof(big));
	n = client_frame(buf, 1, WS_OP_PING, big, 126);
	assert_int_equal(ws_frame_header(buf, n, MAX, &f), WS_FRAME_PROTO);

	/* A ping of 125 bytes is fine. */
	n = client_frame(buf, 1, WS_OP_PING, big, 125);
	expect_frame(buf, n, 1, WS_OP_PING, 6, 125, &f);
}

static void
test_fragments_parse(void **state)
{
	u_int8_t	buf[64];
	struct ws_frame	f;
	size_t		n;

	n = client_frame(buf, 0, WS_OP_TEXT, "42/ch", 5);
	expect_frame(buf, n, 0, WS_OP_TEXT, 6, 5, &f);

	n = client_frame(buf, 1, WS_OP_CONT, "at", 2);
	expect_frame(buf, n, 1, WS_OP_CONT, 6, 2, &f);
}

/* Every length and alignment against the byte-by-byte definition. */
static void
test_unmask_matches_definition(void **state)
{
	static const u_int8_t	mask[4] = { 0x01, 0x80, 0xff, 0x5a };
	u_int8_t		a[80], b[80];
	size_t			len, off, i;

	for (off = 0; off < 8; off++) {
		for (len = 0; len + off <= sizeof(a); len++) {
			for (i = 0; i < sizeof(a); i++)
				a[i] = b[i] = (u_int8_t)(i * 7 + 3);
			ws_frame_unmask(a + off, len, mask);
			for (i = 0; i < len; i++)
				b[off + i] ^= mask[i % 4];
			assert_memory_equal(a, b, sizeof(a));
		}
	}
}

static void
test_eio_buf_borrowed_storage(void **state)
{
	struct eio_buf	b;
	u_int8_t	stack[8];

	eio_buf_init_with(&b, stack, sizeof(stack));
	eio_buf_add(&b, "1234567", 7);
	assert_ptr_equal(b.data, stack);

	/* Outgrowing the caller's array moves to the heap, contents kept. */
	eio_buf_add(&b, "89abcdef", 8);
	assert_ptr_not_equal(b.data, stack);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.data, "123456789abcdef", 15);
	assert_memory_equal(stack, "1234567", 7);
	eio_buf_free(&b);
	assert_null(b.data);

	/* Freeing a buffer that never left the stack frees nothing. */
	eio_buf_init_with(&b, stack, sizeof(stack));
	eio_buf_addc(&b, 'x');
	eio_buf_free(&b);
	assert_int_equal(b.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_text_frame),
		cmocka_unit_test(test_partial_headers_want_more),
		cmocka_unit_test(test_64bit_length),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_fragments_parse),
		cmocka_unit_test(test_unmask_matches_definition),
		cmocka_unit_test(test_eio_buf_borrowed_storage),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
