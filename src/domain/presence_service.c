/*
 * Presence rules that need the database (see presence_service.h).
 */

#include <sys/types.h>

#include "domain/presence_service.h"
#include "lib/doclist.h"
#include "store/conversations.h"
#include "store/store.h"

/* The rooms memo answers most of these: a connect asked it just before. */
void
pres_partners(const bson_oid_t *oid, struct oidlist *partners)
{
	if (convs_partners_of(oid, partners) != STORE_OK)
		partners->n = 0;
}
