/*
 * Messages: the business rules of peer contract §4.2–4.3 with the fixes
 * of SPEC.md §2 (3, 5, 6, 9–13) and the additions of §3 (seq, cursor
 * paging, clientMessageId idempotency, content rules, rate limits).
 * See domain.h for the conventions. REST handlers and socket events call
 * the same functions, so a message sent either way is stored, numbered,
 * counted and announced the same way:
 *
 *   socket send_message {conversationId, message}, on a task thread:
 *	msg_input_init(&in);
 *	msg_input_parse(&in, message, &v);		(400 on v.n > 0)
 *	st = msg_send(user, &conv, &in, &draft, err, sizeof(err));
 *	msg_input_free(&in);
 *	(st 429: err is "Rate limit exceeded")
 *   then on the worker's loop, when st is MSG_PENDING:
 *	msg_commit(draft, done, arg);
 *	done(arg, res): ack {success: res->status < 300, message: res->out}
 *	or {success: false, error: res->err}
 *
 * A send is checked on its own task (msg_send), then numbered and stored
 * together with every other send waiting on the same worker (msg_commit:
 * one ordered insert and one update per conversation per batch), and
 * announced before done() is called.
 *   socket mark_read {messageId, conversationId}:
 *	msg_read(user, &msg, &conv_or_NULL, &ev, err, sizeof(err));
 */

#ifndef LNK_DOMAIN_MESSAGE_SERVICE_H
#define LNK_DOMAIN_MESSAGE_SERVICE_H

#include <sys/types.h>
#include <stdint.h>

#include <bson/bson.h>
#include <yajl/yajl_tree.h>

#include "cache/redis.h"
#include "domain/caller.h"
#include "domain/events.h"
#include "lib/json.h"

struct evq;
struct json;
struct valid;

#define MSG_CLIENT_ID_MAX	64
#define MSG_PAGE_DEFAULT	50
#define MSG_PAGE_MAX		100
#define MSG_SEARCH_DEFAULT	20
#define MSG_SEARCH_MAX		100
#define MSG_BULK_MAX		1000
#define MSG_EDIT_WINDOW_MS	(24LL * 3600 * 1000)

/* msg_send() and its typed variants: checked, waiting for msg_commit(). */
#define MSG_PENDING		202
/* msg_send_quick(): the checks need the database, call msg_send(). */
#define MSG_SLOW		1

struct msg_draft;

/* What became of a send, on the loop (msg_commit's callback). */
struct msg_result {
	int		status;		/* 201 stored, 200 stored before */
	char		err[256];
	struct json	out;		/* MSG when status < 300 */
	struct ratelimit rl;		/* rl.checked: the batch counted it */
};

/* A message to send, validated by msg_input_parse (or built by hand). */
struct msg_input {
	char		*content;	/* cleaned text (SPEC.md §3) */
	char		type[32];
	bson_t		*metadata;	/* NULL: none; URLs checked */
	int		has_reply_to;
	bson_oid_t	reply_to;
	int		has_forward;
	bson_oid_t	forwarded_from;
	char		client_id[MSG_CLIENT_ID_MAX + 1];	/* "" none */
	/* The caller already counted this send with msg_ratelimit(). */
	int		ratelimited;
};

struct msg_list_in {
	int64_t		page;		/* page-number paging, ≥ 1 */
	int64_t		limit;		/* 1..100 */
	int64_t		after_seq;	/* cursor: newer than, or -1 */
	int64_t		before_seq;	/* cursor: older than, or -1 */
	const char	*type;
	const char	*search;	/* raw user text */
	int		has_after;
	int64_t		after;		/* createdAt >= (ms) */
	int		has_before;
	int64_t		before;		/* createdAt <= (ms) */
};

struct msg_booking_in {
	const char	*package_id;
	int		has_provider;
	bson_oid_t	provider;
	int		has_date;
	int64_t		date;
	const char	*time;
	const char	*message;	/* cleaned, or NULL */
};

struct msg_location_in {
	double		latitude;
	double		longitude;
	const char	*address;	/* cleaned, or NULL */
	const char	*message;	/* cleaned, or NULL */
};

void	msg_input_init(struct msg_input *);
void	msg_input_free(struct msg_input *);
/*
 * Validates a message object {content, type, metadata, replyToId,
 * forwardedFromId, clientMessageId} into in; every problem is added to
 * v (class-validator style messages). type "system" is refused.
 */
void	msg_input_parse(struct msg_input *, yajl_val, struct valid *);
/* Cleans user text (content rules): NULL + message in v when invalid. */
char	*msg_clean_text(struct valid *, const char *, const char *, size_t,
	    int);

/*
 * Counts one send against RATE_LIMIT_MESSAGES per RATE_LIMIT_WINDOW (a
 * send whose input is not marked ratelimited is counted by its batch).
 * Returns 429 when over the limit, else 200. rl is filled for headers
 * (without Redis the worker counts alone: cache/redis.h).
 */
int	msg_ratelimit(const struct dom_caller *, struct ratelimit *);

/*
 * MSG_PENDING with *draft set: checked, to be handed to msg_commit();
 * else 400 bad reply/forward, 404 not a participant, 429 rate limited.
 * The commit's result is 201 stored and announced (new_message,
 * message_received, conversation_updated), or 200 when clientMessageId
 * names a message this sender already stored there (returned as is,
 * nothing announced). Task thread.
 */
int	msg_send(const struct dom_caller *, const bson_oid_t *,
	    const struct msg_input *, struct msg_draft **, char *, size_t);
/*
 * The same on the worker's loop, from what is in memory only (the
 * membership memo): MSG_SLOW when that is not enough (a reply or a
 * forward to check, a conversation not in the memo).
 */
int	msg_send_quick(const struct dom_caller *, const bson_oid_t *,
	    const struct msg_input *, struct msg_draft **, char *, size_t);
int	msg_send_offer(const struct dom_caller *, const bson_oid_t *,
	    const char *, const char *, struct msg_input *,
	    struct msg_draft **, char *, size_t);
int	msg_send_booking(const struct dom_caller *, const bson_oid_t *,
	    const struct msg_booking_in *, struct msg_input *,
	    struct msg_draft **, char *, size_t);
int	msg_send_location(const struct dom_caller *, const bson_oid_t *,
	    const struct msg_location_in *, struct msg_input *,
	    struct msg_draft **, char *, size_t);

/* Worker start: drafts from the other workers, checkpoints. */
void	msg_worker_init(void);
/* In the parent, before the workers fork (msg_announced.c). */
void	msg_announced_init(void);

/*
 * The worker's loop: number, store and announce draft (it is the
 * commit's from now on), then done(arg, result) on the loop.
 */
void	msg_commit(struct msg_draft *, void (*)(void *,
	    const struct msg_result *), void *);
/* The requester is gone: draft is still stored and announced. */
void	msg_commit_detach(struct msg_draft *);
/* A draft that will not be committed after all. */
void	msg_draft_discard(struct msg_draft *);

/* 200 {messages, pagination}. */
int	msg_list(const struct dom_caller *, const bson_oid_t *,
	    const struct msg_list_in *, struct json *, char *, size_t);
/* 200 [MSG + conversationId populated], newest first. */
int	msg_search(const struct dom_caller *, const char *, int64_t,
	    struct json *, char *, size_t);
int	msg_get(const struct dom_caller *, const bson_oid_t *, struct json *,
	    char *, size_t);
/* 200 MSG; 403 not the sender; 400 older than 24 h. */
int	msg_edit(const struct dom_caller *, const bson_oid_t *, const char *,
	    struct json *, struct evq *, char *, size_t);
/* 204; 403 not the sender. Blanks the content everywhere. */
int	msg_delete(const struct dom_caller *, const bson_oid_t *, struct evq *,
	    char *, size_t);
/* 204: delete for the caller only. */
int	msg_hide(const struct dom_caller *, const bson_oid_t *, struct evq *,
	    char *, size_t);
/*
 * 204: the caller has read the message and everything before it. conv,
 * when not NULL, must be the message's conversation (socket mark_read
 * names both): 404 otherwise.
 */
int	msg_read(const struct dom_caller *, const bson_oid_t *,
	    const bson_oid_t *, struct evq *, char *, size_t);
int	msg_read_bulk(const struct dom_caller *, const bson_oid_t *,
	    const bson_oid_t *, size_t, struct evq *, char *, size_t);
/* 201 MSG (react) / 200 MSG (unreact); announced as message_updated. */
int	msg_react(const struct dom_caller *, const bson_oid_t *, const char *,
	    struct json *, struct evq *, char *, size_t);
int	msg_unreact(const struct dom_caller *, const bson_oid_t *,
	    struct json *, struct evq *, char *, size_t);
/* 200 [{_id, id, messageId, userId: {...}, readAt, ...}]. */
int	msg_reads(const struct dom_caller *, const bson_oid_t *, struct json *,
	    char *, size_t);

#endif
