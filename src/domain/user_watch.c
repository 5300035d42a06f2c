/*
 * Deactivated and deleted accounts (see user_watch.h).
 */

#include <sys/types.h>

#include <string.h>

#include "domain/user_watch.h"
#include "lib/doclist.h"
#include "store/store.h"
#include "store/users.h"

int
uwatch_inactive(struct oidlist *ids)
{
	return (users_find_inactive(ids) == STORE_OK ? 0 : -1);
}

int
uwatch_gone(const bson_oid_t *oid, int *gone)
{
	struct user_public	u;

	memset(&u, 0, sizeof(u));
	bson_oid_copy(oid, &u.oid);
	if (users_reload_public(&u, 1) != STORE_OK)
		return (-1);

	*gone = !u.found || !u.active;
	return (0);
}

void
uwatch_forget(const bson_oid_t *oid)
{
	users_forget(oid);
}
