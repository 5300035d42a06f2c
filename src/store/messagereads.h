/*
 * The messagereads collection: one read receipt per message and user,
 * {_id, messageId, userId, conversationId, readAt, createdAt, updatedAt},
 * unique on {messageId, userId}. The sender's implicit read is not here.
 */

#ifndef LNK_STORE_MESSAGEREADS_H
#define LNK_STORE_MESSAGEREADS_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>

struct doclist;
struct oidlist;

/* Receipts for ids; ones that already exist are left alone. */
int	reads_insert(const bson_oid_t *, const bson_oid_t *,
	    const struct oidlist *, int64_t);
/* The receipts of a message, newest read first. */
int	reads_list(const bson_oid_t *, struct doclist *);

#endif
