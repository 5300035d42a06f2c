/*
 * Prometheus metrics for the whole node.
 *
 * The series live in one shared memory region mapped by the parent
 * before the workers fork, and every update is an atomic add, so a scrape
 * of GET /api/metrics on any worker shows the sum over all workers and
 * task threads. Every function here is safe from any thread (worker loop
 * or task thread) and never calls Kore.
 *
 * Usage from the other layers (label values in the order listed below;
 * pass exactly as many as the metric has labels):
 *
 *	metrics_inc(METRIC_MESSAGES_SENT, "text");
 *	metrics_inc(METRIC_UPLOADS, "images", "success");
 *	metrics_inc(METRIC_SERVICE_OFFERS);
 *	metrics_gauge_add(METRIC_CONNECTIONS, 1, "websocket");
 *	metrics_gauge_add(METRIC_CONNECTIONS, -1, "websocket");
 *
 * Label values should come from small fixed sets (a route pattern, a
 * message type), never from user input: the number of series is bounded
 * (METRICS_MAX_SERIES) and updates beyond it are counted in
 * lnk_metrics_dropped_total instead.
 *
 * Gauges are kept per worker and summed at scrape time; a worker that
 * restarts after a crash clears its own share (metrics_worker_init), so
 * a dead worker's connections do not linger in the totals.
 */

#ifndef LNK_CORE_METRICS_H
#define LNK_CORE_METRICS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

enum metric_id {
	/* counter {method, route, status}: every HTTP response (api.c,
	 * the file servers; realtime may add "/socket.io/"). */
	METRIC_HTTP_REQUESTS = 0,
	/* histogram {method, route}: HTTP latency, filled by
	 * metrics_http() together with METRIC_HTTP_REQUESTS. */
	METRIC_HTTP_DURATION,
	/* gauge {transport}: open Socket.IO connections, "websocket" or
	 * "polling" (+1 on connect, -1 on close; an upgrade moves one). */
	METRIC_CONNECTIONS,
	/* counter {type}: messages stored, by message type (the names
	 * of domain's table, src/domain/msg_types.c), REST and socket
	 * alike; the types with a counter of their own bump it too. */
	METRIC_MESSAGES_SENT,
	/* counter {category, result}: uploads; category "images",
	 * "videos", "audio", "documents" or "unknown"; result "success",
	 * "rejected_type", "mismatch", "too_large", "bad_image",
	 * "no_file", "rate_limited" or "error". */
	METRIC_UPLOADS,
	/* counter {event}: "online" (first socket of a user) and
	 * "offline" (last socket closed). */
	METRIC_PRESENCE_EVENTS,
	/* counter {type}: conversations created, "direct" or "group"
	 * (a deduplicated direct conversation is not a new one). */
	METRIC_CONVERSATIONS_CREATED,
	/* counter {}: service offers sent (the conversion's numerator). */
	METRIC_SERVICE_OFFERS,
	/* counter {}: booking requests sent. */
	METRIC_BOOKING_REQUESTS,
	/* counter {event}: Socket.IO events received from clients, by
	 * event name (only the names the server handles). */
	METRIC_SOCKET_EVENTS,
	/* gauge {database_type}: 1 up, 0 down ("mongodb", "redis"); set
	 * by the scrape itself. */
	METRIC_DB_STATUS,
	METRIC__COUNT
};

/* Parent, before fork: map the shared region (kore_parent_configure). */
void	metrics_init(void);
/* Each worker at start: remember its id, clear its gauges. */
void	metrics_worker_init(u_int16_t);

/* Counters: add 1 (or n). Labels: as many const char * as the metric has. */
void	metrics_inc(enum metric_id, ...);
void	metrics_add(enum metric_id, u_int64_t, ...);

/*
 * A counter's series resolved once, for counters bumped on every event
 * (metrics_inc joins and looks up the labels on each call). NULL when
 * the table is full; metrics_series_inc(NULL) does nothing.
 */
struct metrics_series;
struct metrics_series	*metrics_counter(enum metric_id, ...);
void			metrics_series_inc(struct metrics_series *);

/* Gauges: change this worker's share by delta, or set the node value. */
void	metrics_gauge_add(enum metric_id, int64_t, ...);
void	metrics_gauge_set(enum metric_id, int64_t, ...);

/*
 * One finished HTTP request: counts METRIC_HTTP_REQUESTS and observes
 * METRIC_HTTP_DURATION. route is the pattern ("/api/messages/:id"), not
 * the path, so that ids do not explode the series.
 */
void	metrics_http(const char *, int, int, int64_t);

/*
 * The Prometheus text exposition (format 0.0.4) of everything, in a
 * malloc'd buffer the caller frees; *len gets its length. NULL when out
 * of memory.
 */
char	*metrics_render(size_t *);

#endif
