/*
 * Engine.IO timers (see eio_internal.h): heartbeats (ping, then wait
 * for the pong), sessions to drop after this loop pass, upgrades that
 * never finished, and the 0 ms timer that makes a woken request run.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "engineio/eio.h"
#include "engineio/eio_internal.h"
#include "engineio/eio_packet.h"

static void	timer_arm(u_int64_t);
static void	timer_fire(void *, u_int64_t);
static void	upgrade_timeouts(struct eio_squeue *, u_int64_t);
static void	kick_fire(void *, u_int64_t);

static struct eio_squeue	ping_q;
static struct eio_squeue	pong_q;
static struct eio_squeue	drop_q;
static struct kore_timer	*timer;
static u_int64_t		timer_due;
static int			kick_pending;

void
timer_init(void)
{
	TAILQ_INIT(&ping_q);
	TAILQ_INIT(&pong_q);
	TAILQ_INIT(&drop_q);
	timer = NULL;
	timer_due = 0;
	kick_pending = 0;
}

/* Every session waiting for a ping or a pong: probes gone stale. */
void
timer_tick_upgrades(u_int64_t now)
{
	upgrade_timeouts(&ping_q, now);
	upgrade_timeouts(&pong_q, now);
}

/*
 * Heartbeats. Every session uses the same intervals, so appending keeps
 * each queue sorted by deadline; one Kore timer covers both heads.
 */
void
timer_set(struct eio_session *s, int tq, u_int64_t due)
{
	if (s->tq == TQ_PING)
		TAILQ_REMOVE(&ping_q, s, tlist);
	else if (s->tq == TQ_PONG)
		TAILQ_REMOVE(&pong_q, s, tlist);
	else if (s->tq == TQ_DROP)
		TAILQ_REMOVE(&drop_q, s, tlist);

	s->tq = tq;
	s->due = due;

	if (tq == TQ_PING)
		TAILQ_INSERT_TAIL(&ping_q, s, tlist);
	else if (tq == TQ_PONG)
		TAILQ_INSERT_TAIL(&pong_q, s, tlist);
	else if (tq == TQ_DROP)
		TAILQ_INSERT_TAIL(&drop_q, s, tlist);

	if (tq != TQ_NONE)
		timer_arm(due);
}

static void
timer_arm(u_int64_t due)
{
	u_int64_t	now;

	if (timer != NULL) {
		if (timer_due <= due)
			return;
		kore_timer_remove(timer);
	}

	now = kore_time_ms();
	timer_due = due;
	timer = kore_timer_add(timer_fire, due > now ? due - now : 0, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
timer_fire(void *arg, u_int64_t unused)
{
	struct eio_session	*s;
	u_int64_t		now;

	timer = NULL;
	now = kore_time_ms();

	while ((s = TAILQ_FIRST(&drop_q)) != NULL)
		sess_destroy(s, "transport error", EIO_CLOSE);

	while ((s = TAILQ_FIRST(&pong_q)) != NULL && s->due <= now)
		sess_destroy(s, "ping timeout", EIO_CLOSE);

	while ((s = TAILQ_FIRST(&ping_q)) != NULL && s->due <= now) {
		timer_set(s, TQ_PONG, s->due + eio_conf.ping_timeout);
		if (s->transport == T_WEBSOCKET && s->ws.kind != EP_NONE) {
			ep_ws_text(&s->ws, EIO_PING, NULL, 0);
		} else {
			sess_queue(s, EIO_PING, 0, NULL, 0);
			sess_flush(s);
		}
	}

	if ((s = TAILQ_FIRST(&pong_q)) != NULL)
		timer_arm(s->due);
	if ((s = TAILQ_FIRST(&ping_q)) != NULL)
		timer_arm(s->due);
}

/* Upgrades that did not finish within 10 s give up the probe. */
static void
upgrade_timeouts(struct eio_squeue *q, u_int64_t now)
{
	struct eio_session	*s;

	TAILQ_FOREACH(s, q, tlist) {
		if (s->probe.kind != EP_NONE &&
		    now - s->probe_since > UPGRADE_TIMEOUT_MS) {
			ep_ws_close(&s->probe);
			s->upgrading = 0;
		}
	}
}

/*
 * Kore runs woken requests in http_process(); one woken from inside it
 * (a POST answering the parked GET) would wait for the next loop pass,
 * which epoll may delay until the next timer. A 0 ms timer makes that
 * pass come at once.
 */
void
wake(struct http_request *req)
{
	http_request_wakeup(req);

	if (!kick_pending) {
		kick_pending = 1;
		(void)kore_timer_add(kick_fire, 0, NULL, KORE_TIMER_ONESHOT);
	}
}

static void
kick_fire(void *arg, u_int64_t now)
{
	kick_pending = 0;
}
