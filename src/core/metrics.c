/*
 * Prometheus metrics in shared memory (see metrics.h).
 *
 * The region is a fixed open-addressing hash table of series, mapped
 * MAP_SHARED|MAP_ANONYMOUS by the parent so that every worker (forked
 * later, and re-forked after a crash) sees the same pages. A series is
 * claimed once with a compare-and-swap on its state and never moves or
 * goes away; its values only change through __atomic adds. Nothing here
 * takes a lock, so a worker that dies mid-update cannot wedge the others.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"

#define METRICS_MAX_SERIES	2048
#define METRICS_LABELS_MAX	160
#define METRICS_MAX_LABELS	3
#define METRICS_NBUCKETS	11
#define METRICS_SPIN		10000

#define SERIES_EMPTY		0
#define SERIES_CLAIMED		1
#define SERIES_READY		2

enum metric_kind {
	KIND_COUNTER,
	KIND_GAUGE,
	KIND_HISTOGRAM
};

struct metric_def {
	const char		*name;
	const char		*help;
	enum metric_kind	kind;
	int			nlabels;
	const char		*labels[METRICS_MAX_LABELS];
	/* label sets shown as 0 before anything happened ("a|b" = 2 labels) */
	const char		*defaults[8];
};

struct metrics_series {
	u_int32_t	state;
	u_int16_t	metric;
	u_int16_t	worker;		/* gauges: the owning worker, else 0 */
	u_int32_t	hash;
	char		labels[METRICS_LABELS_MAX];	/* values, '\x1f' joined */
	int64_t		value;		/* counter / gauge / histogram count */
	u_int64_t	sum_ms;		/* histogram */
	u_int64_t	buckets[METRICS_NBUCKETS];
};

struct metrics_shm {
	int64_t		started_ms;
	u_int64_t	dropped;
	struct metrics_series	series[METRICS_MAX_SERIES];
};

/* Upper bounds of the latency buckets, in milliseconds. */
static const u_int32_t	bucket_ms[METRICS_NBUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static const struct metric_def	defs[METRIC__COUNT] = {
	[METRIC_HTTP_REQUESTS] = { "http_requests_total",
	    "HTTP requests answered, by method, route pattern and status.",
	    KIND_COUNTER, 3, { "method", "route", "status" }, { NULL } },
	[METRIC_HTTP_DURATION] = { "http_request_duration_seconds",
	    "HTTP request latency from dispatch to response, by route.",
	    KIND_HISTOGRAM, 2, { "method", "route" }, { NULL } },
	[METRIC_CONNECTIONS] = { "lnk_socket_connections",
	    "Open Socket.IO connections, by transport.",
	    KIND_GAUGE, 1, { "transport" }, { "websocket", "polling" } },
	[METRIC_MESSAGES_SENT] = { "lnk_messages_sent_total",
	    "Messages stored, by message type.",
	    KIND_COUNTER, 1, { "type" }, { "text" } },
	[METRIC_UPLOADS] = { "lnk_file_uploads_total",
	    "File uploads, by category and result.",
	    KIND_COUNTER, 2, { "category", "result" }, { NULL } },
	[METRIC_PRESENCE_EVENTS] = { "lnk_user_presence_events_total",
	    "Users coming online (first socket) and going offline "
	    "(last socket closed).",
	    KIND_COUNTER, 1, { "event" }, { "online", "offline" } },
	[METRIC_CONVERSATIONS_CREATED] = { "lnk_conversations_created_total",
	    "Conversations created, by type.",
	    KIND_COUNTER, 1, { "type" }, { "direct", "group" } },
	[METRIC_SERVICE_OFFERS] = { "lnk_service_offers_total",
	    "Service offer messages sent.",
	    KIND_COUNTER, 0, { NULL }, { "" } },
	[METRIC_BOOKING_REQUESTS] = { "lnk_booking_requests_total",
	    "Booking request messages sent (with service offers: the "
	    "conversion rate).",
	    KIND_COUNTER, 0, { NULL }, { "" } },
	[METRIC_SOCKET_EVENTS] = { "lnk_socket_events_total",
	    "Socket.IO events received from clients, by event name.",
	    KIND_COUNTER, 1, { "event" }, { NULL } },
	[METRIC_DB_STATUS] = { "database_connection_status",
	    "1 when the dependency answered the last check, 0 when not.",
	    KIND_GAUGE, 1, { "database_type" }, { NULL } },
};

static struct metrics_series	*metrics_series(enum metric_id, u_int16_t,
			    const char *, int);
static int		metrics_labels(enum metric_id, va_list, char *,
			    size_t);
static struct metrics_series	*metrics_counter_v(enum metric_id, va_list);
static void		metrics_series_add(struct metrics_series *,
			    u_int64_t);
static u_int32_t	metrics_hash(enum metric_id, u_int16_t, const char *);
static int64_t		metrics_gauge_sum(const struct metrics_series *);
static int		metrics_render_metric(FILE *, enum metric_id);
static void		metrics_render_labels(FILE *, enum metric_id,
			    const char *, const char *, const char *);
static void		metrics_escape(FILE *, const char *, size_t);
static const char	*metrics_method(int);

static struct metrics_shm	*shm;
static struct metrics_shm	local;	/* before init (unit tests, tools) */
static u_int16_t		my_worker;

void
metrics_init(void)
{
	struct timespec		ts;
	void			*p;
	int			i, k;
	char			buf[METRICS_LABELS_MAX], *s;

	p = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	shm = (p == MAP_FAILED) ? &local : p;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	shm->started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	/* Series that should read 0 rather than be missing. */
	for (i = 0; i < METRIC__COUNT; i++) {
		for (k = 0; k < 8 && defs[i].defaults[k] != NULL; k++) {
			(void)snprintf(buf, sizeof(buf), "%s",
			    defs[i].defaults[k]);
			for (s = buf; *s != '\0'; s++) {
				if (*s == '|')
					*s = '\x1f';
			}
			(void)metrics_series(i, 0, buf, 1);
		}
	}
}

void
metrics_worker_init(u_int16_t id)
{
	int		i;

	my_worker = id;
	if (shm == NULL)
		return;

	/* A re-forked worker starts with no connections of its own. */
	for (i = 0; i < METRICS_MAX_SERIES; i++) {
		if (__atomic_load_n(&shm->series[i].state,
		    __ATOMIC_ACQUIRE) != SERIES_READY)
			continue;
		if (defs[shm->series[i].metric].kind == KIND_GAUGE &&
		    shm->series[i].worker == id)
			__atomic_store_n(&shm->series[i].value, 0,
			    __ATOMIC_RELAXED);
	}
}

void
metrics_inc(enum metric_id id, ...)
{
	va_list		ap;

	va_start(ap, id);
	metrics_series_add(metrics_counter_v(id, ap), 1);
	va_end(ap);
}

struct metrics_series *
metrics_counter(enum metric_id id, ...)
{
	struct metrics_series	*s;
	va_list			ap;

	va_start(ap, id);
	s = metrics_counter_v(id, ap);
	va_end(ap);

	return (s);
}

void
metrics_series_inc(struct metrics_series *s)
{
	metrics_series_add(s, 1);
}

void
metrics_add(enum metric_id id, u_int64_t n, ...)
{
	va_list		ap;

	va_start(ap, n);
	metrics_series_add(metrics_counter_v(id, ap), n);
	va_end(ap);
}

void
metrics_gauge_add(enum metric_id id, int64_t delta, ...)
{
	struct metrics_series	*s;
	va_list		ap;
	char		labels[METRICS_LABELS_MAX];
	int		r;

	va_start(ap, delta);
	r = metrics_labels(id, ap, labels, sizeof(labels));
	va_end(ap);
	if (r == -1 || defs[id].kind != KIND_GAUGE)
		return;

	if ((s = metrics_series(id, my_worker, labels, 1)) != NULL)
		__atomic_add_fetch(&s->value, delta, __ATOMIC_RELAXED);
}

/*
 * A node-wide value (dependency status): kept in worker 0's share, which
 * no real worker owns, so that it is not added up across workers.
 */
void
metrics_gauge_set(enum metric_id id, int64_t v, ...)
{
	struct metrics_series	*s;
	va_list		ap;
	char		labels[METRICS_LABELS_MAX];
	int		r;

	va_start(ap, v);
	r = metrics_labels(id, ap, labels, sizeof(labels));
	va_end(ap);
	if (r == -1 || defs[id].kind != KIND_GAUGE)
		return;

	if ((s = metrics_series(id, 0, labels, 1)) != NULL)
		__atomic_store_n(&s->value, v, __ATOMIC_RELAXED);
}

void
metrics_http(const char *route, int method, int status, int64_t ms)
{
	struct metrics_series	*s;
	char		labels[METRICS_LABELS_MAX], code[8];
	const char	*m;
	int		i;

	m = metrics_method(method);
	(void)snprintf(code, sizeof(code), "%d", status);

	(void)snprintf(labels, sizeof(labels), "%s\x1f%s\x1f%s", m,
	    route, code);
	if ((s = metrics_series(METRIC_HTTP_REQUESTS, 0, labels, 1)) != NULL)
		__atomic_add_fetch(&s->value, 1, __ATOMIC_RELAXED);

	if (ms < 0)
		ms = 0;
	(void)snprintf(labels, sizeof(labels), "%s\x1f%s", m, route);
	if ((s = metrics_series(METRIC_HTTP_DURATION, 0, labels, 1)) == NULL)
		return;

	/* Buckets are stored non-cumulative; the renderer adds them up. */
	for (i = 0; i < METRICS_NBUCKETS; i++) {
		if ((u_int64_t)ms <= bucket_ms[i])
			break;
	}
	if (i < METRICS_NBUCKETS)
		__atomic_add_fetch(&s->buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->sum_ms, (u_int64_t)ms, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->value, 1, __ATOMIC_RELAXED);
}

char *
metrics_render(size_t *len)
{
	struct timespec	ts;
	FILE		*fp;
	char		*buf;
	size_t		size;
	int64_t		now;
	int		i;

	if (shm == NULL)
		shm = &local;

	buf = NULL;
	size = 0;
	if ((fp = open_memstream(&buf, &size)) == NULL)
		return (NULL);

	for (i = 0; i < METRIC__COUNT; i++)
		(void)metrics_render_metric(fp, i);

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	fprintf(fp, "# HELP application_uptime_seconds Seconds since the "
	    "server started.\n# TYPE application_uptime_seconds gauge\n"
	    "application_uptime_seconds %.3f\n",
	    (double)(now - shm->started_ms) / 1000.0);
	fprintf(fp, "# HELP process_start_time_seconds Start time of the "
	    "server since the epoch.\n# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.3f\n",
	    (double)shm->started_ms / 1000.0);
	fprintf(fp, "# HELP lnk_metrics_dropped_total Updates lost because "
	    "the series table was full.\n# TYPE lnk_metrics_dropped_total "
	    "counter\nlnk_metrics_dropped_total %llu\n",
	    (unsigned long long)__atomic_load_n(&shm->dropped,
	    __ATOMIC_RELAXED));

	if (fclose(fp) != 0) {
		free(buf);
		return (NULL);
	}

	*len = size;
	return (buf);
}

/*
 * Find or create the series for (metric, worker, labels). Creation claims
 * an empty slot with a CAS and publishes it with a release store; a
 * reader that meets a slot being written waits for it (bounded, in case
 * the writer died), since it may be the very series it is looking for.
 */
static struct metrics_series *
metrics_series(enum metric_id id, u_int16_t wrk, const char *labels,
    int create)
{
	struct metrics_series	*s;
	u_int32_t	h, state, expected;
	size_t		i, n;
	int		spin;

	if (shm == NULL)
		shm = &local;

	h = metrics_hash(id, wrk, labels);
	for (n = 0; n < METRICS_MAX_SERIES; n++) {
		i = (h + n) % METRICS_MAX_SERIES;
		s = &shm->series[i];

		state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (state == SERIES_EMPTY) {
			if (!create)
				return (NULL);
			expected = SERIES_EMPTY;
			if (__atomic_compare_exchange_n(&s->state, &expected,
			    SERIES_CLAIMED, 0, __ATOMIC_ACQ_REL,
			    __ATOMIC_ACQUIRE)) {
				s->metric = id;
				s->worker = wrk;
				s->hash = h;
				(void)snprintf(s->labels, sizeof(s->labels),
				    "%s", labels);
				__atomic_store_n(&s->state, SERIES_READY,
				    __ATOMIC_RELEASE);
				return (s);
			}
			state = expected;
		}

		for (spin = 0; state == SERIES_CLAIMED && spin < METRICS_SPIN;
		    spin++) {
			(void)sched_yield();
			state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		}
		if (state != SERIES_READY)
			continue;

		if (s->hash == h && s->metric == id && s->worker == wrk &&
		    !strcmp(s->labels, labels))
			return (s);
	}

	__atomic_add_fetch(&shm->dropped, 1, __ATOMIC_RELAXED);
	return (NULL);
}

/* A counter's series for the label values in ap (NULL: not a counter). */
static struct metrics_series *
metrics_counter_v(enum metric_id id, va_list ap)
{
	char		labels[METRICS_LABELS_MAX];

	if (metrics_labels(id, ap, labels, sizeof(labels)) == -1 ||
	    defs[id].kind != KIND_COUNTER)
		return (NULL);

	return (metrics_series(id, 0, labels, 1));
}

static void
metrics_series_add(struct metrics_series *s, u_int64_t n)
{
	if (s != NULL)
		__atomic_add_fetch(&s->value, (int64_t)n, __ATOMIC_RELAXED);
}

/* The metric's label values from the arguments, joined with '\x1f'. */
static int
metrics_labels(enum metric_id id, va_list ap, char *out, size_t outlen)
{
	const char	*v;
	size_t		off, len;
	int		i;

	if ((int)id < 0 || id >= METRIC__COUNT)
		return (-1);

	off = 0;
	out[0] = '\0';
	for (i = 0; i < defs[id].nlabels; i++) {
		if ((v = va_arg(ap, const char *)) == NULL)
			v = "";
		len = strlen(v);
		if (off + len + 2 > outlen)
			return (-1);
		if (i > 0)
			out[off++] = '\x1f';
		memcpy(out + off, v, len);
		off += len;
		out[off] = '\0';
	}

	return (0);
}

/* FNV-1a over the key. */
static u_int32_t
metrics_hash(enum metric_id id, u_int16_t wrk, const char *labels)
{
	u_int32_t	h;
	const char	*p;

	h = 2166136261u;
	h = (h ^ (u_int32_t)id) * 16777619u;
	h = (h ^ wrk) * 16777619u;
	for (p = labels; *p != '\0'; p++)
		h = (h ^ (u_int8_t)*p) * 16777619u;

	return (h);
}

/* A gauge's node value: its shares on every worker with the same labels. */
static int64_t
metrics_gauge_sum(const struct metrics_series *g)
{
	const struct metrics_series	*s;
	int64_t			sum;
	int			i;

	sum = 0;
	for (i = 0; i < METRICS_MAX_SERIES; i++) {
		s = &shm->series[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) !=
		    SERIES_READY)
			continue;
		if (s->metric == g->metric && !strcmp(s->labels, g->labels))
			sum += __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	}

	return (sum);
}

static int
metrics_render_metric(FILE *fp, enum metric_id id)
{
	const struct metric_def	*d;
	const struct metrics_series	*s, *o;
	u_int64_t		cum, count;
	char			le[32];
	int			i, k, seen;

	d = &defs[id];
	fprintf(fp, "# HELP %s %s\n", d->name, d->help);
	fprintf(fp, "# TYPE %s %s\n", d->name,
	    d->kind == KIND_COUNTER ? "counter" :
	    d->kind == KIND_GAUGE ? "gauge" : "histogram");

	for (i = 0; i < METRICS_MAX_SERIES; i++) {
		s = &shm->series[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) !=
		    SERIES_READY || s->metric != id)
			continue;

		switch (d->kind) {
		case KIND_COUNTER:
			fprintf(fp, "%s", d->name);
			metrics_render_labels(fp, id, s->labels, NULL, NULL);
			fprintf(fp, " %lld\n", (long long)__atomic_load_n(
			    &s->value, __ATOMIC_RELAXED));
			break;
		case KIND_GAUGE:
			/* One line per label set: the first share found. */
			seen = 0;
			for (k = 0; k < i && !seen; k++) {
				o = &shm->series[k];
				if (__atomic_load_n(&o->state,
				    __ATOMIC_ACQUIRE) == SERIES_READY &&
				    o->metric == id &&
				    !strcmp(o->labels, s->labels))
					seen = 1;
			}
			if (seen)
				break;
			fprintf(fp, "%s", d->name);
			metrics_render_labels(fp, id, s->labels, NULL, NULL);
			fprintf(fp, " %lld\n", (long long)metrics_gauge_sum(s));
			break;
		case KIND_HISTOGRAM:
			cum = 0;
			for (k = 0; k < METRICS_NBUCKETS; k++) {
				cum += __atomic_load_n(&s->buckets[k],
				    __ATOMIC_RELAXED);
				(void)snprintf(le, sizeof(le), "%g",
				    bucket_ms[k] / 1000.0);
				fprintf(fp, "%s_bucket", d->name);
				metrics_render_labels(fp, id, s->labels,
				    "le", le);
				fprintf(fp, " %llu\n", (unsigned long long)cum);
			}
			count = (u_int64_t)__atomic_load_n(&s->value,
			    __ATOMIC_RELAXED);
			fprintf(fp, "%s_bucket", d->name);
			metrics_render_labels(fp, id, s->labels, "le", "+Inf");
			fprintf(fp, " %llu\n", (unsigned long long)count);
			fprintf(fp, "%s_sum", d->name);
			metrics_render_labels(fp, id, s->labels, NULL, NULL);
			fprintf(fp, " %.3f\n", (double)__atomic_load_n(
			    &s->sum_ms, __ATOMIC_RELAXED) / 1000.0);
			fprintf(fp, "%s_count", d->name);
			metrics_render_labels(fp, id, s->labels, NULL, NULL);
			fprintf(fp, " %llu\n", (unsigned long long)count);
			break;
		}
	}

	return (0);
}

/* {name="value",...} from the joined values, plus an optional extra. */
static void
metrics_render_labels(FILE *fp, enum metric_id id, const char *values,
    const char *xname, const char *xvalue)
{
	const struct metric_def	*d;
	const char		*p, *e;
	int			i, n;

	d = &defs[id];
	if (d->nlabels == 0 && xname == NULL)
		return;

	n = 0;
	fputc('{', fp);
	p = values;
	for (i = 0; i < d->nlabels; i++) {
		if ((e = strchr(p, '\x1f')) == NULL)
			e = p + strlen(p);
		fprintf(fp, "%s%s=\"", n++ ? "," : "", d->labels[i]);
		metrics_escape(fp, p, (size_t)(e - p));
		fputc('"', fp);
		p = (*e == '\0') ? e : e + 1;
	}
	if (xname != NULL)
		fprintf(fp, "%s%s=\"%s\"", n ? "," : "", xname, xvalue);
	fputc('}', fp);
}

/* Label values escape backslash, double quote and newline. */
static void
metrics_escape(FILE *fp, const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\':
			fputs("\\\\", fp);
			break;
		case '"':
			fputs("\\\"", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		default:
			fputc(s[i], fp);
			break;
		}
	}
}

/* Kore's HTTP_METHOD_* bits (see api.h) to their names. */
static const char *
metrics_method(int method)
{
	switch (method) {
	case 0x0001:
		return ("GET");
	case 0x0002:
		return ("POST");
	case 0x0004:
		return ("PUT");
	case 0x0010:
		return ("DELETE");
	case 0x0020:
		return ("HEAD");
	case 0x0040:
		return ("OPTIONS");
	case 0x0080:
		return ("PATCH");
	default:
		return ("OTHER");
	}
}
