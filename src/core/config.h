/*
 * Configuration from the environment (SPEC.md §4). Loaded once in the
 * parent before the workers fork, read-only afterwards.
 */

#ifndef LNK_CORE_CONFIG_H
#define LNK_CORE_CONFIG_H

#include <sys/types.h>
#include <stddef.h>

#include "lib/netaddr.h"

#define CONFIG_MAX_ORIGINS	16

enum config_mode {
	CONFIG_MODE_SERVER = 0,
	/* Protocol layer only, for the official Socket.IO suites. */
	CONFIG_MODE_CONFORMANCE
};

struct config {
	enum config_mode	mode;
	char			bind_addr[64];
	char			port[8];
	char			node_id[16];

	char			mongodb_uri[1024];
	char			redis_host[256];
	u_int16_t		redis_port;
	char			redis_password[256];

	/* LNK_ENV=development: the built-in JWT_SECRET is allowed. */
	int			development;

	char			jwt_secret[512];
	int			jwt_secret_is_default;
	long			jwt_expires_in;
	long			jwt_refresh_expires_in;

	/* Bearer token for /api/metrics and health details; "" = none. */
	char			metrics_token[257];

	size_t			max_file_size;
	char			upload_path[512];
	char			public_url[512];

	char			*cors_origins[CONFIG_MAX_ORIGINS];
	size_t			cors_count;
	int			cors_any;

	u_int32_t		rate_limit_messages;
	u_int32_t		rate_limit_window;
	u_int32_t		rate_limit_logins;	/* account + address */
	u_int32_t		rate_limit_logins_address;
	u_int32_t		rate_limit_logins_account;
	u_int32_t		rate_limit_registrations;
	u_int32_t		rate_limit_uploads;
	u_int32_t		message_max_length;
	u_int32_t		max_sockets_per_user;
	u_int32_t		typing_renew_ms;

	/* Peers whose X-Real-IP / X-Forwarded-For are believed. */
	struct netaddr_net	trusted_proxies[NETADDR_MAX_NETS];
	size_t			trusted_count;

	/* Engine.IO timings (ms) and limits. */
	u_int32_t		ping_interval;
	u_int32_t		ping_timeout;
	u_int32_t		connect_timeout;
	u_int32_t		max_payload;
	/* Bytes queued for a client that does not read, before it is dropped. */
	u_int32_t		socket_queue_max;
};

/* Read in conformance mode as def_conformance, whatever the environment. */
#define CONFIG_FIXED	0x01

/*
 * One environment variable: read (else alias, else the default for the
 * mode), checked against min..max where that means something, stored at
 * off (size bytes) into cfg by parse, which names it in err when bad.
 */
struct config_directive {
	const char	*name;
	const char	*alias;
	int		(*parse)(const struct config_directive *, const char *,
			    char *, size_t);
	const char	*def;
	const char	*def_conformance;
	int		flags;
	u_int32_t	min;
	u_int32_t	max;
	size_t		off;
	size_t		size;
	const char	*help;
};

extern struct config			cfg;
/* Every variable, ended by a NULL name (config.c). */
extern const struct config_directive	config_directives[];

int	config_load(char *, size_t);
int	config_parse_duration(const char *, long *);
int	config_origin_allowed(const char *);

#endif
