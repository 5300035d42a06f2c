/*
 * Checkpoints: conversation heads (cache/heads.h) written back to the
 * conversation documents, once a conversation has been quiet for
 * CKPT_IDLE_MS or dirty for CKPT_MAXAGE_MS, under its lock, at most
 * CKPT_BATCH a second per worker. A busy conversation costs the
 * database one update a minute, not one per message; a head Redis loses
 * before its checkpoint is repaired from the messages (msg_number.c).
 */

#ifndef LNK_DOMAIN_CONV_CHECKPOINT_H
#define LNK_DOMAIN_CONV_CHECKPOINT_H

#define CKPT_IDLE_MS		5000
#define CKPT_MAXAGE_MS		60000
#define CKPT_BATCH		64
#define CKPT_EVERY_MS		1000

/* The worker's loop: start the periodic checkpoints. */
void	conv_checkpoint_start(void);

#endif
