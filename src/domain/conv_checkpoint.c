/*
 * Checkpoints of conversation heads (see conv_checkpoint.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "core/core.h"
#include "core/job.h"
#include "domain/conv_checkpoint.h"
#include "domain/conv_lock.h"
#include "domain/conv_state.h"
#include "store/conversations.h"
#include "store/store.h"

static void	ckpt_tick(void *);
static void	ckpt_run(void *);
static void	ckpt_done(void *);
static void	ckpt_write(struct conv_head *);

void
conv_checkpoint_start(void)
{
	job_after(CKPT_EVERY_MS, ckpt_tick, NULL);
}

static void
ckpt_tick(void *arg)
{
	(void)arg;
	if (job_start(ckpt_run, ckpt_done, NULL) == -1)
		job_after(CKPT_EVERY_MS, ckpt_tick, NULL);
}

static void
ckpt_done(void *arg)
{
	(void)arg;
	job_after(CKPT_EVERY_MS, ckpt_tick, NULL);
}

/* Task thread. A conversation busy elsewhere waits for the next round. */
static void
ckpt_run(void *arg)
{
	bson_oid_t		ids[CKPT_BATCH];
	struct conv_lock	locks[CKPT_BATCH];
	struct conv_head	heads[CKPT_BATCH];
	int			got[CKPT_BATCH];
	int64_t			now;
	size_t			n, i, k;

	(void)arg;
	now = core_now_ms();
	if (heads_due(now - CKPT_IDLE_MS, now - CKPT_MAXAGE_MS, ids,
	    CKPT_BATCH, &n) == -1 || n == 0)
		return;

	conv_trylock_many(ids, locks, got, n);
	memset(heads, 0, sizeof(heads));
	for (i = 0, k = 0; i < n; i++) {
		if (got[i] && locks[i].remote)
			bson_oid_copy(&ids[i], &heads[k++].id);
	}
	if (heads_get(heads, k) == 0) {
		for (i = 0; i < k; i++)
			ckpt_write(&heads[i]);
		heads_free(heads, k);
	}
	conv_unlock_many(locks, got, n);
}

static void
ckpt_write(struct conv_head *h)
{
	struct convs_head	ch;
	int			ret;

	if (!h->found || h->checked >= h->seq) {
		/* Gone, or written already: nothing is due. */
		if (!h->found)
			(void)heads_drop(&h->id);
		else
			(void)heads_checked(h);
		return;
	}

	conv_state_head(h, &ch);
	ret = convs_write_head(&ch);
	if (ret == STORE_OK)
		(void)heads_checked(h);
	else if (ret == STORE_NOTFOUND)
		(void)heads_drop(&h->id);	/* the document is newer */
	else
		core_log("checkpoint: conversation head not written (%d)",
		    ret);
}
