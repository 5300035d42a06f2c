/*
 * The ground: clock, log, node identity (see core.h).
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <kore/kore.h>

#include "core/core.h"

static pthread_mutex_t	log_lock = PTHREAD_MUTEX_INITIALIZER;
static char		node_id[32];

int64_t
core_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
core_log(const char *fmt, ...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	printf("[wrk %u]: %s\n", worker != NULL ? worker->id : 0, buf);
	pthread_mutex_unlock(&log_lock);
}

const char *
core_node_id(void)
{
	return (node_id);
}

void
core_set_node_id(const char *id)
{
	(void)snprintf(node_id, sizeof(node_id), "%s", id);
}
