/*
 * The message types (see msg_types.h). One row per type: what a client
 * may send, what a listing may filter by, what is counted beyond
 * lnk_messages_sent_total{type}. "system" is written by the server only
 * (never accepted from a client), but a listing may ask for it.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/metrics.h"
#include "domain/msg_types.h"
#include "lib/valid.h"

#define C	MSG_TYPE_CLIENT
#define L	MSG_TYPE_LIST

const struct msg_type	msg_types[] = {
	{ "text",		C | L,	-1,			NULL },
	{ "image",		C | L,	-1,			NULL },
	{ "file",		C | L,	-1,			NULL },
	{ "video",		C | L,	-1,			NULL },
	{ "audio",		C | L,	-1,			NULL },
	{ "service_offer",	C | L,	METRIC_SERVICE_OFFERS,
	    "/api/conversations/{id}/messages/service-offer" },
	{ "booking_request",	C | L,	METRIC_BOOKING_REQUESTS,
	    "/api/conversations/{id}/messages/booking-request" },
	{ "location",		C | L,	-1,
	    "/api/conversations/{id}/messages/location" },
	{ "system",		L,	-1,			NULL },
	{ NULL,			0,	-1,			NULL }
};

#undef C
#undef L

const struct msg_type *
msg_type_find(const char *name, int flags)
{
	const struct msg_type	*t;

	if (name == NULL)
		return (NULL);

	for (t = msg_types; t->name != NULL; t++) {
		if ((t->flags & flags) == flags && !strcmp(t->name, name))
			return (t);
	}

	return (NULL);
}

/* The text of lib/valid.c's valid_enum(), which the clients know. */
const struct msg_type *
msg_type_check(struct valid *v, const char *key, const char *name, int flags)
{
	const struct msg_type	*t;
	char			list[256];

	if ((t = msg_type_find(name, flags)) != NULL)
		return (t);

	msg_type_list(list, sizeof(list), flags);
	valid_fail(v, "%s must be one of the following values: %s", key, list);
	return (NULL);
}

void
msg_type_list(char *out, size_t outlen, int flags)
{
	const struct msg_type	*t;
	size_t			off;
	int			n;

	off = 0;
	out[0] = '\0';
	for (t = msg_types; t->name != NULL && off < outlen; t++) {
		if ((t->flags & flags) != flags)
			continue;
		n = snprintf(out + off, outlen - off, "%s%s",
		    off > 0 ? ", " : "", t->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void
msg_type_count(const char *name)
{
	const struct msg_type	*t;

	metrics_inc(METRIC_MESSAGES_SENT, name);
	if ((t = msg_type_find(name, MSG_TYPE_ANY)) != NULL &&
	    t->counter != -1)
		metrics_inc((enum metric_id)t->counter);
}
