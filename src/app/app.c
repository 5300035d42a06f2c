/*
 * Kore lifecycle hooks: configuration in the parent, per-worker services
 * after fork, the seccomp additions our libraries need, and a 1 s tick.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

#include "app/app.h"
#include "cache/redis.h"
#include "core/config.h"
#include "core/core.h"
#include "core/job.h"
#include "core/metrics.h"
#include "core/peer.h"
#include "domain/message_service.h"
#include "http/api.h"
#include "lib/password.h"
#include "store/store.h"

void		kore_parent_configure(int, char **);
void		kore_worker_configure(void);
void		kore_worker_teardown(void);

static void	app_tick(void *, u_int64_t);
static void	app_mkdirs(const char *);
static void	app_indexes_run(void *);
static void	app_indexes_done(void *);
static void	app_indexes_retry(void *, u_int64_t);

static int	indexes_ret;


/*
 * Kore's own filters cover its event loop. Added here: threads (tasks,
 * the mongoc pool: glibc 2.36 uses clone3 and rseq), mongo-c-driver's
 * socket calls, name resolution, and the file calls of uploads.
 */
KORE_SECCOMP_FILTER("lnkchat",
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(shutdown),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(statx),
	KORE_SYSCALL_ALLOW(fstatfs),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(rename),
	KORE_SYSCALL_ALLOW(renameat),
	KORE_SYSCALL_ALLOW(renameat2),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(copy_file_range),
	KORE_SYSCALL_ALLOW(mkdir),
	KORE_SYSCALL_ALLOW(mkdirat),
	KORE_SYSCALL_ALLOW(unlinkat),
	KORE_SYSCALL_ALLOW(readlink),
	KORE_SYSCALL_ALLOW(fchmod),
	KORE_SYSCALL_ALLOW(getdents64),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(sched_yield),
	KORE_SYSCALL_ALLOW(getrusage),
	KORE_SYSCALL_ALLOW(sysinfo),
	KORE_SYSCALL_ALLOW(prctl),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(pipe2),
	KORE_SYSCALL_ALLOW(eventfd2),
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(tgkill),
	KORE_SYSCALL_ALLOW(getrandom)
);

void
kore_parent_configure(int argc, char **argv)
{
	struct kore_server	*srv;
	char			err[256];
	u_int8_t		rnd[6];
	char			node_id[32];
	size_t			i;

	/* Kore logs with printf under -f; a pipe would duplicate lines. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	/* Shared by every worker forked from here on (node-wide counters). */
	metrics_init();
	msg_announced_init();

	if (config_load(err, sizeof(err)) == -1) {
		fprintf(stderr, "lnk-chat: configuration error: %s\n", err);
		exit(1);
	}

	if (cfg.jwt_secret_is_default) {
		kore_log(LOG_WARNING, "JWT_SECRET not set: using the "
		    "development default (never do this in production)");
	}

	if (cfg.node_id[0] != '\0') {
		core_set_node_id(cfg.node_id);
	} else {
		arc4random_buf(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++) {
			(void)snprintf(node_id + i * 2, sizeof(node_id) - i * 2,
			    "%02x", rnd[i]);
		}
		core_set_node_id(node_id);
	}

	if ((srv = kore_server_lookup("plain")) == NULL) {
		fprintf(stderr, "lnk-chat: kore.conf has no 'plain' server\n");
		exit(1);
	}
	/* Every connection reads through src/http/framing.c. */
	if (!kore_server_bind(srv, cfg.bind_addr, cfg.port,
	    "framing_connect")) {
		fprintf(stderr, "lnk-chat: cannot listen on %s:%s "
		    "(PORT / BIND_ADDRESS)\n", cfg.bind_addr, cfg.port);
		exit(1);
	}
	kore_server_finalize(srv);

	if (cfg.mode == CONFIG_MODE_SERVER)
		app_mkdirs(cfg.upload_path);

	kore_log(LOG_NOTICE, "lnk-chat node %s (%s mode)", core_node_id(),
	    cfg.mode == CONFIG_MODE_SERVER ? "server" : "conformance");
}

void
kore_worker_configure(void)
{
	metrics_worker_init(worker->id);

	if (password_init() == -1)
		fatal("libsodium failed to initialise");
	peer_init();

	if (cfg.mode == CONFIG_MODE_SERVER) {
		if (store_init(cfg.mongodb_uri) == -1)
			fatal("MONGODB_URI could not be parsed");
		cache_init();
		upload_worker_init();
		msg_worker_init();
		/* One worker creates the indexes, retrying until it can. */
		if (worker->id == 1)
			(void)job_start(app_indexes_run, app_indexes_done, NULL);
	}

	rt_worker_init();

	/* Kore checks timeouts only when the loop wakes: keep it awake. */
	(void)kore_timer_add(app_tick, 1000, NULL, 0);
}

void
kore_worker_teardown(void)
{
	rt_worker_teardown();
	if (cfg.mode == CONFIG_MODE_SERVER)
		store_cleanup();
}

static void
app_tick(void *arg, u_int64_t now)
{
	rt_tick(now);
}

static void
app_mkdirs(const char *path)
{
	char		buf[PATH_MAX], *p;

	(void)snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			kore_log(LOG_WARNING, "mkdir %s: %s", buf, errno_s);
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		kore_log(LOG_WARNING, "mkdir %s: %s", buf, errno_s);
}

static void
app_indexes_run(void *arg)
{
	indexes_ret = store_ensure_indexes();
}

static void
app_indexes_done(void *arg)
{
	if (indexes_ret == STORE_OK) {
		kore_log(LOG_NOTICE, "database indexes are in place");
		return;
	}

	kore_log(LOG_WARNING, "database indexes not created yet (%d), "
	    "retrying in 5 s", indexes_ret);
	(void)kore_timer_add(app_indexes_retry, 5000, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
app_indexes_retry(void *arg, u_int64_t now)
{
	(void)job_start(app_indexes_run, app_indexes_done, NULL);
}
