/*
 * The server's application on the realtime layer: the chat namespace
 * (see rt_app.h). Only in the server mode: the chat needs the database
 * that app.c brings up there.
 */

#include <sys/types.h>

#include "app/rt_app.h"
#include "chat/chat.h"
#include "core/config.h"

void
rt_app_init(void)
{
	if (cfg.mode == CONFIG_MODE_SERVER)
		chat_init();
}

void
rt_app_teardown(void)
{
	if (cfg.mode == CONFIG_MODE_SERVER)
		chat_teardown();
}

void
rt_app_tick(u_int64_t now)
{
	if (cfg.mode == CONFIG_MODE_SERVER)
		chat_tick(now);
}
