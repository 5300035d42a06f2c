/*
 * What the files of the conversations collection share and nobody else
 * needs: conversations.c (memo, reads, rooms), convs_heads.c (the heads
 * of the send path), convs_update.c (reads, marks, groups), convs_doc.c
 * (readers over a document).
 */

#ifndef LNK_STORE_CONVS_INTERNAL_H
#define LNK_STORE_CONVS_INTERNAL_H

#include <bson/bson.h>

struct oidlist;

/* Every participant of doc (as it was, may be NULL) and of more. */
void	convs_forget_all_rooms(const bson_t *, const struct oidlist *);

#endif
