/*
 * libFuzzer target: request heads (src/lib/reqhead.c), as read off a
 * connection before Kore parses them. Nothing may read outside the
 * bytes given; a head found ends within them, after a line; a refusal
 * has a status and a reason; a sound head's body fits its limits; and
 * more bytes never move a found head's end nor turn it into "wait".
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/reqhead.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reqhead_limits	lim;
	struct reqhead		rh, more;
	uint8_t			*copy;
	int			r;

	/* Exact size, so ASan sees any read past the end. */
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, data, len);

	lim.head_max = 1024;
	lim.target_max = 200;
	lim.body_max = 100000;
	r = reqhead_scan(copy, len, &lim, &rh);

	switch (r) {
	case REQHEAD_MORE:
		if (len >= lim.head_max)
			abort();
		break;
	case REQHEAD_DONE:
		if (rh.head_len < 2 || rh.head_len > len ||
		    rh.head_len > lim.head_max || copy[rh.head_len - 1] != '\n')
			abort();
		if (!rh.body_method &&
		    rh.content_length > lim.head_max - rh.head_len)
			abort();
		if (rh.has_coding || (rh.body_method && (!rh.has_length ||
		    rh.content_length > lim.body_max)))
			abort();
		break;
	case REQHEAD_BAD:
		if (rh.reason == NULL || (rh.status != 400 &&
		    rh.status != 411 && rh.status != 413 &&
		    rh.status != 414 && rh.status != 431))
			abort();
		break;
	default:
		abort();
	}

	/*
	 * The prefix without its last byte: a head found then is the same
	 * head now, or refused (the byte may show Kore would end it later).
	 */
	if (len > 0 && reqhead_scan(copy, len - 1, &lim, &more) ==
	    REQHEAD_DONE && (r == REQHEAD_MORE ||
	    (r == REQHEAD_DONE && more.head_len != rh.head_len)))
		abort();

	free(copy);
	return (0);
}
