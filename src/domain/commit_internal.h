/*
 * What the files of the group commit share (see msg_commit.c for the
 * whole story): msg_commit.c runs the batches and their locks,
 * msg_number.c numbers and stores the drafts, msg_heads.c moves the
 * heads and renders the replies and events. Not for other files.
 */

#ifndef LNK_DOMAIN_COMMIT_INTERNAL_H
#define LNK_DOMAIN_COMMIT_INTERNAL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <bson/bson.h>

#include "cache/heads.h"
#include "domain/msg_internal.h"
#include "lib/doclist.h"

/* Each resolved collision of a conversation is progress, up to this. */
#define COMMIT_ATTEMPTS		8

/* One conversation of a batch. */
struct commit_conv {
	bson_oid_t		id;
	bson_t			doc;		/* membership, read positions */
	int			has_doc;
	struct conv_head	head;		/* what the batch moves on */
	int			live;		/* head kept in Redis */
	int64_t			seq;		/* the last number given */
	int64_t			doc_seq;	/* the head's, as read */
	struct msg_draft	*first;		/* first and last stored */
	struct msg_draft	*last;
	struct oidlist		revive;
	bson_t			tail;		/* the newest the head missed */
	int			has_tail;
	int			moved;		/* the head goes forward */
	int			attempts;
	bson_t			after;
	int			has_after;
};

TAILQ_HEAD(draft_list, msg_draft);

struct commit_batch {
	struct draft_list	drafts;
	size_t			n;
};

/* Task thread, in this order, under the locks (msg_number.c) ... */
void	commit_load(struct commit_conv *, struct commit_batch *,
	    struct conv_head *);
void	commit_store(struct commit_batch *);
void	commit_replays(struct commit_batch *);
void	commit_tally(struct commit_batch *);
/* ... (msg_heads.c) and, the last two, after them. */
void	commit_heads(struct commit_conv *, size_t);
void	commit_render(struct commit_batch *);

/* d's answer is status with msg (NULL: the err already set, or a default). */
void	commit_fail(struct msg_draft *, int, const char *);

#endif
