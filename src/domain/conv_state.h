/*
 * A conversation as it is now: its document (from the memo, or from the
 * database) with its live head (cache/heads.h: seq, newest message, sent
 * counts) laid over it when the head is at least as new. Every read of a
 * conversation goes through here; writers under the lock read it fresh.
 * STORE_* results (store/store.h).
 */

#ifndef LNK_DOMAIN_CONV_STATE_H
#define LNK_DOMAIN_CONV_STATE_H

#include <bson/bson.h>

struct conv_head;
struct convs_head;
struct doclist;

int	conv_state(const bson_oid_t *, bson_t *);
int	conv_state_fresh(const bson_oid_t *, bson_t *);
/* Lays the heads over documents a query returned (one round trip). */
void	conv_state_overlay(struct doclist *);
/* out ← doc with h over it, or a copy of doc when h is older. */
void	conv_state_apply(const bson_t *, const struct conv_head *, bson_t *);
/* The store's view of a Redis head (pointers into h). */
void	conv_state_head(const struct conv_head *, struct convs_head *);

#endif
