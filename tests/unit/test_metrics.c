/*
 * Metrics registry: shared across fork, label rendering, gauges summed
 * per worker and cleared when a worker restarts.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/metrics.h"

static char *
render(void)
{
	size_t		len;
	char		*s;

	s = metrics_render(&len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return (s);
}

static void
test_counts_cross_fork(void **state)
{
	pid_t		pid;
	int		i, st;
	char		*s;

	/* Children forked after init add into the parent's view. */
	for (i = 0; i < 3; i++) {
		if ((pid = fork()) == 0) {
			metrics_worker_init((u_int16_t)(i + 1));
			metrics_inc(METRIC_MESSAGES_SENT, "image");
			metrics_inc(METRIC_UPLOADS, "images", "success");
			metrics_gauge_add(METRIC_CONNECTIONS, 2, "websocket");
			metrics_http("/api/messages/:id", 0x0001, 200, 30);
			_exit(0);
		}
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
	}

	s = render();
	assert_non_null(strstr(s,
	    "lnk_messages_sent_total{type=\"image\"} 3\n"));
	assert_non_null(strstr(s, "lnk_file_uploads_total{category=\"images\","
	    "result=\"success\"} 3\n"));
	assert_non_null(strstr(s,
	    "lnk_socket_connections{transport=\"websocket\"} 6\n"));
	assert_non_null(strstr(s, "http_requests_total{method=\"GET\","
	    "route=\"/api/messages/:id\",status=\"200\"} 3\n"));
	assert_non_null(strstr(s, "http_request_duration_seconds_bucket{"
	    "method=\"GET\",route=\"/api/messages/:id\",le=\"0.025\"} 0\n"));
	assert_non_null(strstr(s, "http_request_duration_seconds_bucket{"
	    "method=\"GET\",route=\"/api/messages/:id\",le=\"0.05\"} 3\n"));
	assert_non_null(strstr(s, "http_request_duration_seconds_sum{"
	    "method=\"GET\",route=\"/api/messages/:id\"} 0.090\n"));
	free(s);

	/* Worker 2 restarts: its connections are gone, the rest stay. */
	metrics_worker_init(2);
	s = render();
	assert_non_null(strstr(s,
	    "lnk_socket_connections{transport=\"websocket\"} 4\n"));
	free(s);
}

static void
test_labels_escaped_and_zero_label(void **state)
{
	char		*s;

	metrics_worker_init(9);
	metrics_inc(METRIC_SOCKET_EVENTS, "we\"ird\\name\n");
	metrics_inc(METRIC_SERVICE_OFFERS);
	metrics_add(METRIC_BOOKING_REQUESTS, 5);
	metrics_gauge_set(METRIC_DB_STATUS, 1, "mongodb");
	metrics_gauge_set(METRIC_DB_STATUS, 0, "mongodb");

	s = render();
	assert_non_null(strstr(s,
	    "lnk_socket_events_total{event=\"we\\\"ird\\\\name\\n\"} 1\n"));
	assert_non_null(strstr(s, "\nlnk_service_offers_total 1\n"));
	assert_non_null(strstr(s, "\nlnk_booking_requests_total 5\n"));
	assert_non_null(strstr(s,
	    "database_connection_status{database_type=\"mongodb\"} 0\n"));
	assert_non_null(strstr(s, "# TYPE http_request_duration_seconds "
	    "histogram\n"));
	free(s);
}

static void
test_wrong_kind_ignored(void **state)
{
	char		*s;

	/* A counter update on a gauge (and vice versa) is a no-op. */
	metrics_inc(METRIC_CONNECTIONS, "polling");
	metrics_gauge_add(METRIC_MESSAGES_SENT, 7, "text");
	s = render();
	assert_non_null(strstr(s,
	    "lnk_socket_connections{transport=\"polling\"} 0\n"));
	assert_non_null(strstr(s, "lnk_messages_sent_total{type=\"text\"} 0\n"));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_cross_fork),
		cmocka_unit_test(test_labels_escaped_and_zero_label),
		cmocka_unit_test(test_wrong_kind_ignored),
	};

	metrics_init();
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
