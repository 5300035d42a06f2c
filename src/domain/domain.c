/*
 * Shared helpers of the domain services (see domain.h).
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>

#include "domain/domain.h"
#include "store/store.h"

int
dom_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list		ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}

	return (status);
}

int
dom_store_fail(char *err, size_t errlen, int ret, const char *notfound)
{
	switch (ret) {
	case STORE_NOTFOUND:
		return (dom_fail(err, errlen, 404, "%s", notfound));
	case STORE_DOWN:
		return (dom_fail(err, errlen, 503,
		    "Database unavailable, try again later"));
	case STORE_DUP:
		return (dom_fail(err, errlen, 409, "Conflict"));
	default:
		return (dom_fail(err, errlen, 500, "Internal server error"));
	}
}
