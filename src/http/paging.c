/*
 * Paging numbers from query strings (see paging.h).
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "http/paging.h"

int64_t
paging_clamp(const char *s, int64_t def, int64_t max)
{
	long long	v;
	char		*end;

	if (s == NULL)
		return (def);

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || v <= 0)
		return (def);
	if (errno == ERANGE || v > max)
		return (max);

	return ((int64_t)v);
}

int
paging_uint(const char *s, int64_t *out)
{
	long long	v;
	const char	*p;
	char		*end;

	if (s == NULL || *s == '\0' || *s == '+')
		return (-1);

	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return (-1);
	}

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end != '\0' || v < 0)
		return (-1);

	*out = (int64_t)v;
	return (0);
}
