/*
 * The message types, in one table (msg_types.c). Adding a type is a row
 * there (and, for a typed route, its sender in msg_send.c); validation,
 * the listing filter, their error texts, the counters and the OpenAPI
 * enums (checked by tests/unit/test_msg_types.c) all follow the table.
 */

#ifndef LNK_DOMAIN_MSG_TYPES_H
#define LNK_DOMAIN_MSG_TYPES_H

#include <sys/types.h>

struct valid;

/* A client may set it as "type" (POST .../messages, send_message). */
#define MSG_TYPE_CLIENT		0x01
/* GET .../messages?type= may filter by it. */
#define MSG_TYPE_LIST		0x02
/* Every type that exists: what a stored message may carry. */
#define MSG_TYPE_ANY		0x00

struct msg_type {
	const char	*name;
	int		flags;
	/* A counter of its own, bumped with METRIC_MESSAGES_SENT; or -1. */
	int		counter;
	/* The typed route that builds its metadata, NULL when none. */
	const char	*route;
};

/* The table, ended by a row whose name is NULL. */
extern const struct msg_type	msg_types[];

/* The type named s that has every flag of flags, or NULL. */
const struct msg_type	*msg_type_find(const char *, int);
/* As msg_type_find, else fails v with the list of the allowed names. */
const struct msg_type	*msg_type_check(struct valid *, const char *,
			    const char *, int);
/* "text, image, ...": the names with flags, for error texts. */
void			 msg_type_list(char *, size_t, int);
/* A stored message of type name: its counters. */
void			 msg_type_count(const char *);

#endif
