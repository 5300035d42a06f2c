/*
 * Prometheus metrics. Counters live in shared memory so that a scrape
 * on any worker shows the whole node (see src/app/metrics.c).
 */

#ifndef LNK_APP_METRICS_H
#define LNK_APP_METRICS_H

#include <stdint.h>

void	metrics_http(const char *, int, int, int64_t);

#endif
