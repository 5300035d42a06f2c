/*
 * What the message files share (msg_input.c, msg_send.c, msg_commit.c,
 * msg_number.c, msg_heads.c, msg_doubt.c, msg_route.c,
 * msg_read.c, msg_change.c, message_service.c); not for other layers.
 */

#ifndef LNK_DOMAIN_MSG_INTERNAL_H
#define LNK_DOMAIN_MSG_INTERNAL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <bson/bson.h>

#include "domain/events.h"
#include "domain/message_service.h"
#include "lib/doclist.h"
#include "store/messages.h"

struct conv_lock;
struct userset;
struct user_public;

/*
 * A send that passed every check but numbering: what msg_send() hands
 * over and msg_commit() stores (see msg_commit.c for its life).
 */
struct msg_draft {
	TAILQ_ENTRY(msg_draft)	list;
	struct dom_caller		user;
	bson_oid_t		conv;
	char			*content;
	char			type[32];
	bson_t			*metadata;
	int			has_reply_to;
	bson_oid_t		reply_to;
	int			has_forward;
	bson_oid_t		forwarded_from;
	char			client_id[MSG_CLIENT_ID_MAX + 1];
	struct doclist		replies;	/* the replied-to message */
	int			ratelimit;	/* the commit counts it */
	int64_t			deadline;	/* a busy conversation: 503 */
	int64_t			not_before;
	int64_t			backoff;	/* ms, while its lock is busy */

	/* The commit's: the task fills them, the loop reads them after. */
	struct msgs_new		m;
	bson_t			doc;		/* as stored */
	int			has_doc;
	int			held;		/* its conversation was busy */
	int			doubt;		/* may be stored (msg_doubt.c) */
	int			has_id;		/* m.id drawn (msg_commit) */
	void			*cc;
	struct msg_draft	*replay_of;	/* the same send, earlier */
	struct msg_result	res;
	struct evq		ev;

	void			(*done)(void *, const struct msg_result *);
	void			*arg;

	/* msg_route.c: a draft committed by another worker of the node. */
	u_int64_t		route_id;
	u_int16_t		route_origin;
	u_int16_t		route_to;	/* the owner it went to, */
	u_int64_t		route_at;	/* when (peer_clock_ms) */
};

extern const char	*msg_not_found;
extern const char	*msg_conv_not_found;

void	msg_draft_free(struct msg_draft *);
/* msg_doubt.c: announce id's events if it turns out to be stored. */
void	msg_doubt_add(const bson_oid_t *, struct evq *);
/* The same for a draft whose storing worker died: d is kept, rendered. */
void	msg_doubt_draft(struct msg_draft *);
/* msg_announced.c: what this node announced last, across its workers. */
void	msg_announced_note(const bson_oid_t *);
int	msg_announced(const bson_oid_t *);
/* d->ev += what a stored d announces (msg_heads.c). */
void	msg_render_stored(struct msg_draft *);
/* msg_commit() without routing: this worker owns the conversation. */
void	msg_commit_here(struct msg_draft *, void (*)(void *,
	    const struct msg_result *), void *);
/* msg_route.c: 1 when d went to the worker that owns its conversation. */
void	msg_route_init(void);
int	msg_route(struct msg_draft *);

/*
 * A message the caller may see: it exists, is not deleted (for all or
 * for them), and its conversation passes the participant check. conv,
 * when not NULL, gets the conversation.
 */
int	msg_load(const struct dom_caller *, const bson_oid_t *, bson_t *,
	    bson_t *, char *, size_t);
int	msg_lock_load(const struct dom_caller *, const bson_oid_t *,
	    const bson_oid_t *, struct conv_lock *, bson_t *, bson_t *,
	    char *, size_t);
/* The typed sends' text replaces what the input had. */
void	msg_set_content(struct msg_input *, const char *);
/* out ← MSG (sender and reply populated); ev ← event, when not NULL. */
int	msg_render_one(const struct dom_caller *, const bson_t *, struct json *,
	    struct evq *, const char *, char *, size_t);
void	msg_caller(const struct dom_caller *, struct user_public *);
/* An event carrying msg, a rendered MSG (cj_message). */
void	msg_emit_message(struct evq *, const char *, const char *,
	    const bson_oid_t *, struct json *);
void	msg_emit_conv_updated(struct evq *, const bson_t *,
	    const bson_oid_t *);
void	msg_emit_read(struct evq *, const bson_oid_t *, const bson_oid_t *,
	    const bson_oid_t *, int64_t);

#endif
