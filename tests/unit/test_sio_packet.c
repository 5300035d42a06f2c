/*
 * Socket.IO packet codec: what socket.io-parser accepts and rejects,
 * strict JSON validation, event splitting, placeholders, encoding.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "socketio/sio_packet.h"

static int
dec(const char *s, struct sio_packet *p)
{
	return (sio_packet_decode(s, strlen(s), p));
}

static void
test_connect_forms(void **state)
{
	struct sio_packet	p;

	assert_int_equal(dec("0", &p), 0);
	assert_int_equal(p.type, SIO_CONNECT);
	assert_int_equal(p.nsp_len, 1);
	assert_null(p.payload);

	assert_int_equal(dec("0/custom", &p), 0);
	assert_int_equal(p.nsp_len, 7);
	assert_memory_equal(p.nsp, "/custom", 7);

	assert_int_equal(dec("0/custom,", &p), 0);
	assert_memory_equal(p.nsp, "/custom", 7);
	assert_null(p.payload);

	assert_int_equal(dec("0/chat,{\"token\":\"abc\"}", &p), 0);
	assert_memory_equal(p.payload, "{\"token\":\"abc\"}", p.payload_len);

	/* CONNECT payload must be an object */
	assert_int_equal(dec("0[1]", &p), -1);
	assert_int_equal(dec("0\"x\"", &p), -1);
	/* DISCONNECT has none */
	assert_int_equal(dec("1/chat,", &p), 0);
	assert_int_equal(dec("1{}", &p), -1);
}

static void
test_events_and_acks(void **state)
{
	struct sio_packet	p;

	assert_int_equal(dec("2[\"message\",1,\"2\",{\"3\":[true]}]", &p), 0);
	assert_int_equal(p.type, SIO_EVENT);
	assert_int_equal(p.has_id, 0);

	assert_int_equal(dec("2/chat,17[\"x\"]", &p), 0);
	assert_int_equal(p.has_id, 1);
	assert_int_equal(p.id, 17);
	assert_memory_equal(p.nsp, "/chat", 5);

	assert_int_equal(dec("2456[\"message-with-ack\",1]", &p), 0);
	assert_int_equal(p.id, 456);

	assert_int_equal(dec("3/chat,0[{\"ok\":true}]", &p), 0);
	assert_int_equal(p.type, SIO_ACK);
	assert_int_equal(dec("30[]", &p), 0);

	/* numeric event names are allowed */
	assert_int_equal(dec("2[42,1]", &p), 0);

	/* the suite's invalid inputs */
	assert_int_equal(dec("abc", &p), -1);
	assert_int_equal(dec("2{}", &p), -1);
	assert_int_equal(dec("2abc[\"message-with-ack\",1]", &p), -1);
	/* empty, reserved, wrong first element, ack not an array */
	assert_int_equal(dec("2[]", &p), -1);
	assert_int_equal(dec("2[\"connect\"]", &p), -1);
	assert_int_equal(dec("2[\"disconnecting\",1]", &p), -1);
	assert_int_equal(dec("2[null]", &p), -1);
	assert_int_equal(dec("3{}", &p), -1);
	assert_int_equal(dec("7", &p), -1);
	assert_int_equal(dec("", &p), -1);
	/* ack ids past 2^53 */
	assert_int_equal(dec("29007199254740992[\"x\"]", &p), -1);
	assert_int_equal(dec("29007199254740991[\"x\"]", &p), 0);
}

static void
test_binary_packets(void **state)
{
	struct sio_packet	p;

	assert_int_equal(dec("52-[\"message\",{\"_placeholder\":true,"
	    "\"num\":0},{\"_placeholder\":true,\"num\":1}]", &p), 0);
	assert_int_equal(p.type, SIO_BINARY_EVENT);
	assert_int_equal(p.attachments, 2);

	assert_int_equal(dec("62-789[{\"_placeholder\":true,\"num\":0},"
	    "{\"_placeholder\":true,\"num\":1}]", &p), 0);
	assert_int_equal(p.id, 789);

	/* num out of range, missing, not an integer */
	assert_int_equal(dec("51-[\"m\",{\"_placeholder\":true,\"num\":1}]",
	    &p), -1);
	assert_int_equal(dec("51-[\"m\",{\"_placeholder\":true}]", &p), -1);
	assert_int_equal(dec("51-[\"m\",{\"_placeholder\":true,\"num\":-1}]",
	    &p), -1);
	assert_int_equal(dec("51-[\"m\",{\"_placeholder\":true,\"num\":0.5}]",
	    &p), -1);
	/* attachment counts: missing dash, too many, not a number */
	assert_int_equal(dec("51[\"m\"]", &p), -1);
	assert_int_equal(dec("511-[\"m\"]", &p), -1);
	assert_int_equal(dec("510-[\"m\"]", &p), 0);
	assert_int_equal(dec("5x-[\"m\"]", &p), -1);
	assert_int_equal(dec("5-[\"m\"]", &p), -1);
}

static void
test_json_validation(void **state)
{
	const char	*ok[] = {
		"{}", "[]", " [ 1 , -0.5e+3, \"a\\u00e9\\n\", true, null ] ",
		"\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"{\"a\":{\"b\":[{}]}}", "0", "-1.25E-7", NULL
	};
	const char	*bad[] = {
		"", "[", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", ".5",
		"+1", "tru", "nul", "[1] x", "\"\\x\"", "\"\\u12g4\"",
		"\"a\x01\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"",
		"\"\xe2\x82\"", "{1:2}", "[1 2]", "'a'", NULL
	};
	char		deep[200];
	int		i;

	for (i = 0; ok[i] != NULL; i++)
		assert_int_not_equal(sio_json_check(ok[i], strlen(ok[i])), -1);
	for (i = 0; bad[i] != NULL; i++) {
		if (sio_json_check(bad[i], strlen(bad[i])) != -1)
			fail_msg("accepted: %s", bad[i]);
	}

	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(sio_json_check(deep, sizeof(deep)), -1);
	assert_int_equal(sio_json_check(deep + 100 - SIO_JSON_DEPTH,
	    SIO_JSON_DEPTH * 2), SIO_JSON_ARRAY);
}

static void
test_event_split_and_unescape(void **state)
{
	const char	*s = " [ \"a\\\"b\\u00e9\" , 1, {\"x\":[2]} ] ";
	const char	*name, *rest;
	size_t		nlen, rlen;
	char		buf[32];

	assert_int_equal(sio_event_split(s, strlen(s), &name, &nlen, &rest,
	    &rlen), 0);
	assert_int_equal(sio_json_unescape(name, nlen, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a\"b\xc3\xa9");
	assert_int_equal(rlen, strlen("1, {\"x\":[2]}"));
	assert_memory_equal(rest, "1, {\"x\":[2]}", rlen);

	s = "[\"only\"]";
	assert_int_equal(sio_event_split(s, strlen(s), &name, &nlen, &rest,
	    &rlen), 0);
	assert_int_equal(rlen, 0);

	/* surrogate pairs, lone surrogates, NUL */
	assert_int_equal(sio_json_unescape("\"\\ud83d\\ude00\"", 14, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "\xf0\x9f\x98\x80");
	assert_int_equal(sio_json_unescape("\"\\ud83d\"", 8, buf,
	    sizeof(buf)), -1);
	assert_int_equal(sio_json_unescape("\"a\\u0000\"", 9, buf,
	    sizeof(buf)), -1);
	assert_int_equal(sio_json_unescape("\"\\u00\"", 6, buf,
	    sizeof(buf)), -1);
	/* too long for the buffer */
	assert_int_equal(sio_json_unescape("\"abcdef\"", 8, buf, 4), -1);
}

static void
test_header_encoding(void **state)
{
	struct eio_buf	b;

	eio_buf_init(&b);
	sio_packet_header(&b, SIO_EVENT, 0, "/", 1, 0, 0);
	eio_buf_adds(&b, "|");
	sio_packet_header(&b, SIO_ACK, 0, "/chat", 5, 1, 17);
	eio_buf_adds(&b, "|");
	sio_packet_header(&b, SIO_BINARY_ACK, 2, "/", 1, 1, 789);
	eio_buf_adds(&b, "|");
	sio_packet_header(&b, SIO_CONNECT_ERROR, 0, "/random", 7, 0, 0);
	eio_buf_addc(&b, '\0');
	assert_string_equal((char *)b.data, "2|3/chat,17|62-789|4/random,");
	eio_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_forms),
		cmocka_unit_test(test_events_and_acks),
		cmocka_unit_test(test_binary_packets),
		cmocka_unit_test(test_json_validation),
		cmocka_unit_test(test_event_split_and_unescape),
		cmocka_unit_test(test_header_encoding),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
