/*
 * Background jobs on Kore task threads (see job.h).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "app/job.h"

struct job {
	struct kore_task	task;
	void			(*run)(void *);
	void			(*done)(void *);
	void			*arg;
};

static int	job_entry(struct kore_task *);
static void	job_finished(struct kore_task *);

int
job_start(void (*run)(void *), void (*done)(void *), void *arg)
{
	struct job	*j;

	j = kore_calloc(1, sizeof(*j));
	j->run = run;
	j->done = done;
	j->arg = arg;

	kore_task_create(&j->task, job_entry);
	kore_task_bind_callback(&j->task, job_finished);
	kore_task_run(&j->task);

	return (0);
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
}
