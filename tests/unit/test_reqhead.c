/*
 * HTTP/1.1 request framing (src/lib/reqhead.c), security review item 8:
 * conflicting or malformed framing is refused before Kore parses it.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/reqhead.h"

static const struct reqhead_limits lim = { 8192, 1998, 11534336 };

static int
scan(const char *s, struct reqhead *rh)
{
	return (reqhead_scan((const u_int8_t *)s, strlen(s), &lim, rh));
}

static void
assert_refused(const char *s, int status)
{
	struct reqhead	rh;

	assert_int_equal(scan(s, &rh), REQHEAD_BAD);
	assert_int_equal(rh.status, status);
	assert_non_null(rh.reason);
}

static void
test_item8_sound_heads(void **state)
{
	struct reqhead	rh;
	const char	*get = "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n";
	const char	*post = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
			    "content-length: 27\r\nCONTENT-LENGTH: 027\r\n"
			    "\r\n{";

	assert_int_equal(scan(get, &rh), REQHEAD_DONE);
	assert_int_equal(rh.head_len, strlen(get));
	assert_false(rh.body_method);
	assert_false(rh.has_length);

	/* One value twice (leading zeros alike) frames it one way only. */
	assert_int_equal(scan(post, &rh), REQHEAD_DONE);
	assert_int_equal(rh.head_len, strlen(post) - 1);
	assert_true(rh.body_method);
	assert_int_equal(rh.content_length, 27);

	/* Bare LF lines and the LF LF end, as Kore reads them. */
	assert_int_equal(scan("put /x HTTP/1.1\nHost: x\nContent-Length:  5\n"
	    "\nhello", &rh), REQHEAD_DONE);
	assert_int_equal(rh.head_len, 44);
	assert_true(rh.body_method);
	assert_int_equal(rh.content_length, 5);

	/* A GET body that fits is framed, to be read and dropped. */
	assert_int_equal(scan("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
	    &rh), REQHEAD_DONE);
	assert_false(rh.body_method);
	assert_int_equal(rh.content_length, 3);
}

static void
test_item8_partial_heads_wait(void **state)
{
	struct reqhead	rh;

	assert_int_equal(scan("", &rh), REQHEAD_MORE);
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: x\r\n", &rh),
	    REQHEAD_MORE);
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: x\r\n\r", &rh),
	    REQHEAD_MORE);
}

static void
test_item8_conflicting_framing_refused(void **state)
{
	/* Content-Length with Transfer-Encoding, in either order. */
	assert_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400);
	assert_refused("POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n"
	    "Content-Length: 5\r\n\r\n", 400);
	/* Two values. */
	assert_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", 400);
	/* No length at all, or one over the body limit. */
	assert_refused("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411);
	assert_refused("PATCH / HTTP/1.1\r\nContent-Length: 11534337\r\n\r\n",
	    413);
	/* Chunked alone: Kore reads no chunked body. */
	assert_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    411);
	assert_refused("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400);
}

static void
test_item8_malformed_length_refused(void **state)
{
	const char	*bad[] = { "+27", "-1", "0x1b", "27, 27", "27 ", "2 7",
			    "", "1234567890123456789", "27a", NULL };
	char		buf[256];
	int		i;

	for (i = 0; bad[i] != NULL; i++) {
		(void)snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\n"
		    "Content-Length: %s\r\n\r\n", bad[i]);
		assert_refused(buf, 400);
	}
}

static void
test_item8_malformed_heads_refused(void **state)
{
	struct reqhead	rh;
	const char	nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";

	/* A lone CR ends a line for Kore, not for every proxy. */
	assert_refused("GET / HTTP/1.1\r\nX: a\rContent-Length: 5\r\n\r\n",
	    400);
	/* Kore reads the head as a C string: a NUL hides what follows. */
	assert_int_equal(reqhead_scan((const u_int8_t *)nul, sizeof(nul) - 1,
	    &lim, &rh), REQHEAD_BAD);
	assert_int_equal(rh.status, 400);
	assert_refused("GET /\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1 x\r\n\r\n", 400);
	/* No request line at all. */
	assert_refused("\r\n\r\n", 400);
	/*
	 * A head that ends LF LF, a body with CRLF CRLF: Kore would end the
	 * head in the body. And a blank line Kore does not see as one.
	 */
	assert_refused("POST / HTTP/1.1\nContent-Length: 8\n\nab\r\n\r\ncd",
	    400);
	assert_refused("GET / HTTP/1.1\nHost: x\n\r\n", 400);
	/* But a CRLF CRLF in the next request is not this head's business. */
	assert_int_equal(scan("GET / HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\r\n"
	    "\r\n", &rh), REQHEAD_DONE);
	assert_int_equal(rh.head_len, 24);
	/* A GET body bigger than a head may be is not read to drop it. */
	assert_refused("GET / HTTP/1.1\r\nContent-Length: 9000\r\n\r\n", 413);
}

static void
test_item10_oversized_heads(void **state)
{
	struct reqhead	rh;
	char		*buf;
	size_t		i;

	buf = malloc(lim.head_max);
	assert_non_null(buf);

	/* The request line alone fills the buffer: the URI is too long. */
	memcpy(buf, "GET /", 5);
	for (i = 5; i < lim.head_max; i++)
		buf[i] = 'a';
	assert_int_equal(reqhead_scan((u_int8_t *)buf, lim.head_max, &lim,
	    &rh), REQHEAD_BAD);
	assert_int_equal(rh.status, 414);

	/* A line ended, fields without end: they are too large. */
	memcpy(buf, "GET / HTTP/1.1\r\nX-Big: ", 23);
	assert_int_equal(reqhead_scan((u_int8_t *)buf, lim.head_max, &lim,
	    &rh), REQHEAD_BAD);
	assert_int_equal(rh.status, 431);
	free(buf);

	/* A target over Kore's URI limit, in a head that fits. */
	buf = malloc(3000);
	assert_non_null(buf);
	memcpy(buf, "GET /", 5);
	for (i = 5; i < 2100; i++)
		buf[i] = 'a';
	memcpy(buf + 2100, " HTTP/1.1\r\n\r\n", 14);
	assert_int_equal(reqhead_scan((u_int8_t *)buf, 2114, &lim, &rh),
	    REQHEAD_BAD);
	assert_int_equal(rh.status, 414);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_item8_sound_heads),
		cmocka_unit_test(test_item8_partial_heads_wait),
		cmocka_unit_test(test_item8_conflicting_framing_refused),
		cmocka_unit_test(test_item8_malformed_length_refused),
		cmocka_unit_test(test_item8_malformed_heads_refused),
		cmocka_unit_test(test_item10_oversized_heads),
	};

	return (cmocka_run_group_tests_name("reqhead", tests, NULL, NULL));
}
