/*
 * Engine.IO wire format: polling payloads, base64, sids, query strings.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engineio/eio_packet.h"

/* Collects "type:data" (binary as hex) for each packet of a payload. */
static int
walk(const char *body, size_t len, char *out, size_t outlen)
{
	struct eio_buf	scratch;
	struct eio_pkt	pkt;
	size_t		off, i, o;
	int		r, n;

	eio_buf_init(&scratch);
	off = 0;
	o = 0;
	n = 0;
	out[0] = '\0';
	while ((r = eio_payload_next((const u_int8_t *)body, len, &off,
	    &pkt, &scratch)) == 1) {
		o += snprintf(out + o, outlen - o, "%s%d%s:", n++ ? "|" : "",
		    pkt.type, pkt.binary ? "b" : "");
		for (i = 0; i < pkt.len; i++) {
			if (pkt.binary)
				o += snprintf(out + o, outlen - o, "%02x",
				    pkt.data[i]);
			else
				o += snprintf(out + o, outlen - o, "%c",
				    pkt.data[i]);
		}
	}
	eio_buf_free(&scratch);

	return (r);
}

static void
test_payload_text_packets(void **state)
{
	char	out[256];
	const char body[] = "4test1\x1e" "4test2\x1e" "2\x1e" "3probe";

	assert_int_equal(walk(body, sizeof(body) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "4:test1|4:test2|2:|3:probe");
}

static void
test_payload_binary_packets(void **state)
{
	char	out[256];
	const char body[] = "4hello\x1e" "bAQIDBA==";

	assert_int_equal(walk(body, sizeof(body) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "4:hello|4b:01020304");
}

static void
test_payload_parse_errors(void **state)
{
	char	out[256];

	/* unknown type, empty body, empty record, trailing separator */
	assert_int_equal(walk("abc", 3, out, sizeof(out)), -1);
	assert_int_equal(walk("", 0, out, sizeof(out)), -1);
	assert_int_equal(walk("4a\x1e\x1e" "4b", 6, out, sizeof(out)), -1);
	assert_int_equal(walk("4a\x1e", 3, out, sizeof(out)), -1);
	/* bad base64: wrong length, bad chars, padding in the middle */
	assert_int_equal(walk("bAQID", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "4b:010203");
	assert_int_equal(walk("bAQIDB", 6, out, sizeof(out)), -1);
	assert_int_equal(walk("bAQ*D", 5, out, sizeof(out)), -1);
	assert_int_equal(walk("bA=ID", 5, out, sizeof(out)), -1);
	/* type 7 does not exist */
	assert_int_equal(walk("7", 1, out, sizeof(out)), -1);
}

static void
test_payload_encode_roundtrip(void **state)
{
	struct eio_buf	b;
	const u_int8_t	bin[] = { 0x00, 0x1e, 0xff };
	char		out[256];

	eio_buf_init(&b);
	eio_payload_add(&b, 4, 0, "hello", 5);
	eio_payload_add(&b, 4, 1, bin, sizeof(bin));
	eio_payload_add(&b, 6, 0, NULL, 0);
	assert_int_equal(b.len, strlen("4hello\x1e" "bAB7/\x1e" "6"));
	assert_memory_equal(b.data, "4hello\x1e" "bAB7/\x1e" "6", b.len);

	assert_int_equal(walk((const char *)b.data, b.len, out, sizeof(out)),
	    0);
	assert_string_equal(out, "4:hello|4b:001eff|6:");
	eio_buf_free(&b);
}

static void
test_base64_lengths(void **state)
{
	const u_int8_t	in[] = "abcdef";
	char		enc[16];
	struct eio_buf	dec;
	size_t		n;

	for (n = 0; n <= 6; n++) {
		memset(enc, 0, sizeof(enc));
		eio_b64_encode(in, n, enc);
		assert_int_equal(strlen(enc), eio_b64_encoded_len(n));
		eio_buf_init(&dec);
		assert_int_equal(eio_b64_decode(enc, strlen(enc), &dec), 0);
		assert_int_equal(dec.len, n);
		if (n > 0)
			assert_memory_equal(dec.data, in, n);
		eio_buf_free(&dec);
	}
}

static void
test_sid_names_worker(void **state)
{
	u_int8_t	rnd[EIO_SID_RANDOM];
	char		sid[EIO_SID_LEN + 1];
	int		w;

	memset(rnd, 0xab, sizeof(rnd));
	for (w = 1; w < 256; w++) {
		eio_sid_make(w, rnd, sid);
		assert_int_equal(strlen(sid), EIO_SID_LEN);
		assert_null(strpbrk(sid, "+/="));
		assert_int_equal(eio_sid_worker(sid), w);
	}

	assert_int_equal(eio_sid_worker("short"), -1);
	assert_int_equal(eio_sid_worker("AAAAAAAAAAAAAAAAAAA*"), -1);
	assert_int_equal(eio_sid_worker("AAAAAAAAAAAAAAAAAAAAA"), -1);
}

static void
test_query_lookup(void **state)
{
	char	v[16];

	assert_int_equal(eio_query_get("EIO=4&transport=polling&t=x", "EIO",
	    v, sizeof(v)), 1);
	assert_string_equal(v, "4");
	assert_int_equal(eio_query_get("EIO=4&transport=polling", "transport",
	    v, sizeof(v)), 1);
	assert_string_equal(v, "polling");
	assert_int_equal(eio_query_get("xEIO=4", "EIO", v, sizeof(v)), 0);
	assert_int_equal(eio_query_get("EIO", "EIO", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(eio_query_get("token=a%2Bb+c%zz", "token", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "a+b c%zz");
	assert_int_equal(eio_query_get("t=0123456789abcdefg", "t", v,
	    sizeof(v)), -1);
	assert_int_equal(eio_query_get(NULL, "t", v, sizeof(v)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_text_packets),
		cmocka_unit_test(test_payload_binary_packets),
		cmocka_unit_test(test_payload_parse_errors),
		cmocka_unit_test(test_payload_encode_roundtrip),
		cmocka_unit_test(test_base64_lengths),
		cmocka_unit_test(test_sid_names_worker),
		cmocka_unit_test(test_query_lookup),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
