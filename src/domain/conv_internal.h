/*
 * What the conversation service's files share (conversation_service.c,
 * conv_list.c, conv_group.c); not for other files.
 */

#ifndef LNK_DOMAIN_CONV_INTERNAL_H
#define LNK_DOMAIN_CONV_INTERNAL_H

#include <sys/types.h>

extern const char	*conv_not_found;

/*
 * 200 when n participants make a conversation (CONV_MIN_PARTICIPANTS ..
 * CONV_MAX_PARTICIPANTS), else the 400 that says so.
 */
int	conv_size_check(size_t, char *, size_t);

#endif
