/*
 * What runs on top of the realtime layer, chosen at link time: the
 * server module links src/app/rt_chat.c (the /chat namespace), the
 * conformance fixture (tests/conformance/fixture.c, `make conformance`)
 * its reference servers instead. src/app/rt.c calls these after the
 * transport and protocol layers are up, in every worker.
 */

#ifndef LNK_APP_RT_APP_H
#define LNK_APP_RT_APP_H

#include <sys/types.h>

void	rt_app_init(void);
void	rt_app_teardown(void);
void	rt_app_tick(u_int64_t);

#endif
