/*
 * Prometheus metrics (placeholder until the metrics work lands: counts
 * nothing yet).
 */

#include <sys/types.h>

#include "app/metrics.h"

void
metrics_http(const char *route, int method, int status, int64_t ms)
{
	(void)route;
	(void)method;
	(void)status;
	(void)ms;
}
