/*
 * Who is asking: the authenticated user every rule of the domain takes,
 * whichever adapter (REST or socket) authenticated them.
 */

#ifndef LNK_DOMAIN_CALLER_H
#define LNK_DOMAIN_CALLER_H

#include <bson/bson.h>

struct dom_caller {
	bson_oid_t	oid;
	char		id[25];
	char		name[256];
	char		avatar[1024];
	int		is_verified;
	int		is_premium;
};

#endif
