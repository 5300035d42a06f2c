/*
 * Background jobs on Kore task threads, and the per-worker cap on Kore
 * tasks (see job.h).
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "core/job.h"

struct job {
	struct kore_task	task;
	void			(*run)(void *);
	void			(*done)(void *);
	void			*arg;
	TAILQ_ENTRY(job)	list;
};

struct job_timer {
	void			(*fn)(void *);
	void			*arg;
};

static void	job_launch(struct job *);
static void	job_timer_fired(void *, u_int64_t);
static int	job_entry(struct kore_task *);
static void	job_finished(struct kore_task *);

static TAILQ_HEAD(, job)	waiting = TAILQ_HEAD_INITIALIZER(waiting);
static u_int32_t		nwaiting;
static u_int32_t		slots_used;

int
job_start(void (*run)(void *), void (*done)(void *), void *arg)
{
	struct job	*j;

	if (slots_used >= JOB_SLOTS && nwaiting >= JOB_QUEUE_MAX)
		return (-1);

	j = kore_calloc(1, sizeof(*j));
	j->run = run;
	j->done = done;
	j->arg = arg;

	if (job_slot_take()) {
		job_launch(j);
	} else {
		TAILQ_INSERT_TAIL(&waiting, j, list);
		nwaiting++;
	}

	return (0);
}

void
job_after(int64_t ms, void (*fn)(void *), void *arg)
{
	struct job_timer	*t;

	t = kore_calloc(1, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	(void)kore_timer_add(job_timer_fired, ms > 0 ? (u_int64_t)ms : 1, t,
	    KORE_TIMER_ONESHOT);
}

int
job_slot_take(void)
{
	/* Queued jobs go first: a newcomer must not overtake them. */
	if (slots_used >= JOB_SLOTS || nwaiting > 0)
		return (0);

	slots_used++;
	return (1);
}

void
job_slot_give(void)
{
	struct job	*j;

	/* A waiting job inherits the slot. */
	if ((j = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, j, list);
		nwaiting--;
		job_launch(j);
		return;
	}

	slots_used--;
}

static void
job_launch(struct job *j)
{
	kore_task_create(&j->task, job_entry);
	kore_task_bind_callback(&j->task, job_finished);
	kore_task_run(&j->task);
}

static int
job_entry(struct kore_task *t)
{
	struct job	*j = (struct job *)t;

	j->run(j->arg);
	return (KORE_RESULT_OK);
}

static void
job_finished(struct kore_task *t)
{
	struct job	*j = (struct job *)t;

	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;

	kore_task_destroy(t);
	if (j->done != NULL)
		j->done(j->arg);
	kore_free(j);
	job_slot_give();
}

static void
job_timer_fired(void *arg, u_int64_t now)
{
	struct job_timer	*t = arg;

	(void)now;
	t->fn(t->arg);
	kore_free(t);
}
