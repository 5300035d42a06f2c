/*
 * Shared helpers of the domain services (see domain.h).
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>

#include <string.h>

#include "domain/domain.h"
#include "domain/events.h"
#include "store/conversations.h"
#include "store/store.h"
#include "store/users.h"

int
dom_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list		ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}

	return (status);
}

int
dom_store_fail(char *err, size_t errlen, int ret, const char *notfound)
{
	switch (ret) {
	case STORE_NOTFOUND:
		return (dom_fail(err, errlen, 404, "%s", notfound));
	case STORE_DOWN:
		return (dom_fail(err, errlen, 503,
		    "Database unavailable, try again later"));
	case STORE_DUP:
		return (dom_fail(err, errlen, 409, "Conflict"));
	default:
		return (dom_fail(err, errlen, 500, "Internal server error"));
	}
}

/*
 * A note from the bus (EVT_NOTE): another worker or node changed what
 * this one keeps copies of (store/memo.h).
 */
void
dom_note(const char *topic, const char *hex)
{
	bson_oid_t	oid;

	if (strlen(hex) != 24 || !bson_oid_is_valid(hex, 24))
		return;
	bson_oid_init_from_string(&oid, hex);

	if (!strcmp(topic, "conv"))
		convs_forget(&oid);
	else if (!strcmp(topic, "rooms"))
		convs_forget_rooms(&oid);
	else if (!strcmp(topic, "user"))
		users_forget(&oid);
}

/* Membership changed: the rooms of every member, the conversation. */
void
dom_note_members(struct evq *ev, const bson_oid_t *conv,
    const bson_oid_t *users, size_t n)
{
	size_t		i;

	dom_note_changed(ev, "conv", conv);
	for (i = 0; i < n; i++)
		dom_note_changed(ev, "rooms", &users[i]);
}

void
dom_note_changed(struct evq *ev, const char *topic, const bson_oid_t *oid)
{
	char		hex[25];

	if (ev == NULL)
		return;
	bson_oid_to_string(oid, hex);
	evq_note(ev, topic, hex);
}
