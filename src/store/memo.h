/*
 * Per-process copies of what nearly every request re-reads, with a bound
 * on how stale they may be: a user's public projection and active flag
 * (the guard, every rendered sender), a conversation's membership (every
 * participant check). A miss is one indexed lookup by _id; FerretDB
 * spends about 1 ms of CPU on each, more than the rest of a request.
 *
 * An entry lives ttl ms after it was read. Changes made through the
 * server drop the entry at once here and, through the bus, on every
 * other worker and node (memo_forget); the ttl bounds what a change
 * made elsewhere (an admin tool, a script) takes to be seen.
 *
 * Thread-safe: task threads share one table per kind.
 */

#ifndef LNK_STORE_MEMO_H
#define LNK_STORE_MEMO_H

#include <sys/types.h>
#include <pthread.h>
#include <stdint.h>

#include <bson/bson.h>

#define MEMO_SLOTS	4096

struct memo_entry;

struct memo {
	pthread_mutex_t		lock;
	size_t			valsize;	/* 0: sized per entry */
	int64_t			ttl_ms;
	size_t			cap;
	size_t			n;
	struct memo_entry	*slots[MEMO_SLOTS];
};

void	memo_init(struct memo *, size_t, int64_t, size_t);
/* 1 and *val filled when a fresh entry is there, else 0. */
int	memo_get(struct memo *, const bson_oid_t *, void *);
void	memo_put(struct memo *, const bson_oid_t *, const void *);
/* Documents (a memo of valsize 0): a copy in out, or 0. */
int	memo_get_doc(struct memo *, const bson_oid_t *, bson_t *);
void	memo_put_doc(struct memo *, const bson_oid_t *, const bson_t *);
void	memo_forget(struct memo *, const bson_oid_t *);

#endif
