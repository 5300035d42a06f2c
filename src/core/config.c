/*
 * Configuration from the environment. Every variable is checked here so
 * that a bad value stops start-up with a message that names it, instead of
 * surfacing later as a confusing runtime error.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define DEV_JWT_SECRET	"lnk-chat-development-secret-do-not-use-in-production"

struct config	cfg;

static const char	*config_value(const struct config_directive *);
static void		*config_field(const struct config_directive *);
static int		 config_number(const struct config_directive *,
			    const char *, u_int32_t *);

static int	parse_mode(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_env(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_str(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_port(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_u32(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_mongodb(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_url(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_secret(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_duration(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_token(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_origins(const struct config_directive *, const char *,
		    char *, size_t);
static int	parse_proxies(const struct config_directive *, const char *,
		    char *, size_t);

/* The offset and size of a field of struct config. */
#define F(f)	offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define NONE	0, 0

/*
 * Every variable, in the order they are checked (the first bad one is
 * the one reported). LNK_MODE comes first: the conformance defaults
 * depend on it. README.md's table lists the same names and defaults
 * (tests/unit/test_config.c); "" there is "–", "random" or "required".
 */
const struct config_directive	config_directives[] = {
	{ "LNK_MODE", NULL, parse_mode, "server", NULL, 0, 0, 0, NONE,
	    "server, or conformance: the protocol layer alone" },
	{ "LNK_ENV", NULL, parse_env, "", NULL, 0, 0, 0, F(development),
	    "development allows the built-in JWT_SECRET (make run)" },
	{ "BIND_ADDRESS", NULL, parse_str, "0.0.0.0", NULL, 0, 0, 0,
	    F(bind_addr), "listen address" },
	{ "PORT", "WEBSOCKET_PORT", parse_port, "3001", "3000", 0, 1, 65535,
	    F(port), "HTTP + Socket.IO port" },
	{ "NODE_ID", NULL, parse_str, "", NULL, 0, 0, 0, F(node_id),
	    "this node's name on the Redis bus (random when unset)" },
	{ "MONGODB_URI", NULL, parse_mongodb,
	    "mongodb://127.0.0.1:27017/lnk_db", NULL, 0, 0, 0, F(mongodb_uri),
	    "MongoDB (or FerretDB)" },
	{ "REDIS_HOST", NULL, parse_str, "127.0.0.1", NULL, 0, 0, 0,
	    F(redis_host), "Redis host" },
	{ "REDIS_PORT", NULL, parse_u32, "6379", NULL, 0, 1, 65535,
	    F(redis_port), "Redis port" },
	{ "REDIS_PASSWORD", NULL, parse_str, "", NULL, 0, 0, 0,
	    F(redis_password), "Redis password" },
	{ "JWT_SECRET", NULL, parse_secret, "", NULL, 0, 16, 0, F(jwt_secret),
	    "HS256 secret" },
	{ "JWT_EXPIRES_IN", NULL, parse_duration, "7d", NULL, 0, 0, 0,
	    F(jwt_expires_in), "access token lifetime" },
	{ "JWT_REFRESH_EXPIRES_IN", NULL, parse_duration, "30d", NULL, 0, 0, 0,
	    F(jwt_refresh_expires_in), "refresh token lifetime" },
	{ "METRICS_TOKEN", NULL, parse_token, "", NULL, 0, 16, 0,
	    F(metrics_token), "bearer token for /api/metrics" },
	{ "MAX_FILE_SIZE", NULL, parse_u32, "10485760", NULL, 0, 1, 10485760,
	    F(max_file_size), "upload limit in bytes" },
	{ "UPLOAD_PATH", NULL, parse_str, "./upload/chat/", NULL, 0, 0, 0,
	    F(upload_path), "where uploads are stored" },
	{ "PUBLIC_URL", NULL, parse_url, "http://localhost:3001", NULL, 0, 0,
	    0, F(public_url), "base of fileUrl" },
	{ "CORS_ORIGINS", NULL, parse_origins, "http://localhost:3000", "*", 0,
	    0, 0, NONE, "allowed origins, comma list or *" },
	{ "TRUSTED_PROXIES", NULL, parse_proxies, NETADDR_LOOPBACK, NULL, 0, 0,
	    0, NONE, "proxies believed about the client address" },
	{ "RATE_LIMIT_MESSAGES", NULL, parse_u32, "100", NULL, 0, 1, 1000000,
	    F(rate_limit_messages), "messages per user per window" },
	{ "RATE_LIMIT_WINDOW", NULL, parse_u32, "3600", NULL, 0, 1, 86400 * 30,
	    F(rate_limit_window), "rate limit window (seconds)" },
	{ "RATE_LIMIT_LOGINS", NULL, parse_u32, "20", NULL, 0, 1, 1000000,
	    F(rate_limit_logins), "failed logins per account and address" },
	{ "RATE_LIMIT_LOGINS_PER_ADDRESS", NULL, parse_u32, "25", NULL, 0, 1,
	    1000000, F(rate_limit_logins_address),
	    "failed logins per address" },
	{ "RATE_LIMIT_LOGINS_PER_ACCOUNT", NULL, parse_u32, "200", NULL, 0, 1,
	    1000000, F(rate_limit_logins_account),
	    "failed logins per account" },
	{ "RATE_LIMIT_REGISTRATIONS", NULL, parse_u32, "10", NULL, 0, 1,
	    1000000, F(rate_limit_registrations),
	    "registrations per address" },
	{ "RATE_LIMIT_UPLOADS", NULL, parse_u32, "60", NULL, 0, 1, 1000000,
	    F(rate_limit_uploads), "uploads per user" },
	{ "MESSAGE_MAX_LENGTH", NULL, parse_u32, "4000", NULL, 0, 1, 100000,
	    F(message_max_length), "characters per message" },
	{ "MAX_SOCKETS_PER_USER", NULL, parse_u32, "20", NULL, 0, 1, 10000,
	    F(max_sockets_per_user), "/chat sockets per user" },
	{ "TYPING_RENEW_MS", NULL, parse_u32, "3000", NULL, 0, 0, 60000,
	    F(typing_renew_ms), "a lasting typing mark announced again (ms)" },
	/* The conformance suites expect their own heartbeat. */
	{ "PING_INTERVAL", NULL, parse_u32, "25000", "300", CONFIG_FIXED, 100,
	    600000, F(ping_interval), "Engine.IO ping interval (ms)" },
	{ "PING_TIMEOUT", NULL, parse_u32, "20000", "200", CONFIG_FIXED, 100,
	    600000, F(ping_timeout), "Engine.IO ping timeout (ms)" },
	{ "SOCKET_QUEUE_MAX", NULL, parse_u32, "16777216", NULL, 0, 65536,
	    1073741824, F(socket_queue_max),
	    "bytes queued for a client that does not read" },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NONE, NULL }
};

#undef F
#undef NONE

/*
 * Parses "7d", "15m", "12h", "30s" or a plain number of seconds.
 */
int
config_parse_duration(const char *s, long *out)
{
	char		*ep;
	long		v, mul;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return (-1);

	errno = 0;
	v = strtol(s, &ep, 10);
	if (errno != 0 || v <= 0)
		return (-1);

	mul = 1;
	if (*ep != '\0') {
		switch (*ep) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return (-1);
		}
		if (ep[1] != '\0')
			return (-1);
	}

	if (v > LONG_MAX / mul || v * mul > 10L * 365 * 86400)
		return (-1);

	*out = v * mul;
	return (0);
}

int
config_origin_allowed(const char *origin)
{
	size_t		i;

	if (origin == NULL)
		return (0);
	if (cfg.cors_any)
		return (1);

	for (i = 0; i < cfg.cors_count; i++) {
		if (!strcmp(cfg.cors_origins[i], origin))
			return (1);
	}

	return (0);
}

int
config_load(char *err, size_t errlen)
{
	const struct config_directive	*d;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = CONFIG_MODE_SERVER;

	for (d = config_directives; d->name != NULL; d++) {
		if (d->parse(d, config_value(d), err, errlen) == -1)
			return (-1);
	}

	/* Not variables: the values the clients are known to work with. */
	cfg.connect_timeout = cfg.mode == CONFIG_MODE_CONFORMANCE ?
	    1000 : 45000;
	cfg.max_payload = 1000000;

	return (0);
}

/* The environment's value, its alias's, else the default (for the mode). */
static const char *
config_value(const struct config_directive *d)
{
	const char	*v;
	int		conf;

	conf = cfg.mode == CONFIG_MODE_CONFORMANCE &&
	    d->def_conformance != NULL;
	if (conf && (d->flags & CONFIG_FIXED))
		return (d->def_conformance);

	if ((v = getenv(d->name)) != NULL && *v != '\0')
		return (v);
	if (d->alias != NULL && (v = getenv(d->alias)) != NULL && *v != '\0')
		return (v);

	return (conf ? d->def_conformance : d->def);
}

static void *
config_field(const struct config_directive *d)
{
	return ((char *)&cfg + d->off);
}

/* A whole number in d's bounds; leading signs and blanks are refused. */
static int
config_number(const struct config_directive *d, const char *v, u_int32_t *out)
{
	char			*ep;
	unsigned long long	n;

	errno = 0;
	n = strtoull(v, &ep, 10);
	if (!isdigit((unsigned char)*v) || *ep != '\0' || errno != 0 ||
	    n < d->min || n > d->max)
		return (-1);

	*out = (u_int32_t)n;
	return (0);
}

static int
parse_mode(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	if (!strcmp(v, "conformance")) {
		cfg.mode = CONFIG_MODE_CONFORMANCE;
	} else if (strcmp(v, "server")) {
		snprintf(err, errlen, "%s must be 'server' or 'conformance'",
		    d->name);
		return (-1);
	}

	return (0);
}

/* Any other value is production; only this one word relaxes a check. */
static int
parse_env(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	*(int *)config_field(d) = !strcmp(v, "development");
	return (0);
}

static int
parse_str(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	if ((size_t)snprintf(config_field(d), d->size, "%s", v) >= d->size) {
		snprintf(err, errlen, "%s is too long (max %zu bytes)",
		    d->name, d->size - 1);
		return (-1);
	}

	return (0);
}

/* Kept as text: kore_server_bind() takes the port as a string. */
static int
parse_port(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	u_int32_t	u;

	if (config_number(d, v, &u) == -1) {
		snprintf(err, errlen, "%s must be a number from %u to %u",
		    d->name, d->min, d->max);
		return (-1);
	}

	(void)snprintf(config_field(d), d->size, "%u", u);
	return (0);
}

/* Into a field of 2, 4 or 8 bytes (REDIS_PORT, most, MAX_FILE_SIZE). */
static int
parse_u32(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	u_int32_t	u;

	if (config_number(d, v, &u) == -1) {
		snprintf(err, errlen, "%s must be a whole number from %u to %u",
		    d->name, d->min, d->max);
		return (-1);
	}

	switch (d->size) {
	case sizeof(u_int16_t):
		*(u_int16_t *)config_field(d) = (u_int16_t)u;
		break;
	case sizeof(u_int32_t):
		*(u_int32_t *)config_field(d) = u;
		break;
	case sizeof(u_int64_t):
		*(u_int64_t *)config_field(d) = u;
		break;
	default:
		abort();
	}

	return (0);
}

static int
parse_mongodb(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	if (parse_str(d, v, err, errlen) == -1)
		return (-1);

	if (strncmp(v, "mongodb://", 10) && strncmp(v, "mongodb+srv://", 14)) {
		snprintf(err, errlen,
		    "%s must start with mongodb:// or mongodb+srv://", d->name);
		return (-1);
	}

	return (0);
}

static int
parse_url(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	char		*out;
	size_t		len;

	if (parse_str(d, v, err, errlen) == -1)
		return (-1);

	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		snprintf(err, errlen, "%s must be an http:// or https:// URL",
		    d->name);
		return (-1);
	}

	/* fileUrl is built as PUBLIC_URL + "/upload/...". */
	out = config_field(d);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';

	return (0);
}

/*
 * Required, but for LNK_ENV=development (make run) and the conformance
 * mode: there a built-in secret is used, and the log says so.
 */
static int
parse_secret(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	size_t		len;

	if ((len = strlen(v)) == 0) {
		if (!cfg.development && cfg.mode != CONFIG_MODE_CONFORMANCE) {
			snprintf(err, errlen, "%s is required (the "
			    "development default needs LNK_ENV=development, "
			    "which make run sets)", d->name);
			return (-1);
		}
		v = DEV_JWT_SECRET;
		cfg.jwt_secret_is_default = 1;
	} else if (len < d->min) {
		snprintf(err, errlen, "%s must be at least %u characters",
		    d->name, d->min);
		return (-1);
	} else if (len >= d->size) {
		snprintf(err, errlen, "%s is too long", d->name);
		return (-1);
	}

	(void)snprintf(config_field(d), d->size, "%s", v);
	return (0);
}

static int
parse_duration(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	if (config_parse_duration(v, config_field(d)) == -1) {
		snprintf(err, errlen, "%s must be a duration such as %s, 12h, "
		    "15m or a number of seconds", d->name, d->def);
		return (-1);
	}

	return (0);
}

/*
 * A bearer secret: optional, else 16 or more characters of RFC 6750's
 * token68 alphabet, so that it travels in an Authorization header as is.
 */
static int
parse_token(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	size_t		len;

	if (parse_str(d, v, err, errlen) == -1)
		return (-1);
	if ((len = strlen(v)) == 0)
		return (0);

	if (len < d->min || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != len) {
		snprintf(err, errlen, "%s must be at least %u characters of "
		    "A-Z a-z 0-9 - . _ ~ + / =", d->name, d->min);
		return (-1);
	}

	return (0);
}

static int
parse_origins(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	char		*copy, *p, *tok;

	if ((copy = strdup(v)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return (-1);
	}

	p = copy;
	while ((tok = strsep(&p, ",")) != NULL) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (!strcmp(tok, "*")) {
			cfg.cors_any = 1;
			continue;
		}
		if (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8)) {
			snprintf(err, errlen, "%s entries must be "
			    "http(s) origins or *, got '%s'", d->name, tok);
			free(copy);
			return (-1);
		}
		if (cfg.cors_count == CONFIG_MAX_ORIGINS) {
			snprintf(err, errlen, "%s has more than %d "
			    "entries", d->name, CONFIG_MAX_ORIGINS);
			free(copy);
			return (-1);
		}
		if ((cfg.cors_origins[cfg.cors_count++] = strdup(tok)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", d->name);
			free(copy);
			return (-1);
		}
	}

	free(copy);
	return (0);
}

/* Default: loopback, where the shipped nginx (conf/nginx.conf) runs. */
static int
parse_proxies(const struct config_directive *d, const char *v, char *err,
    size_t errlen)
{
	if (netaddr_parse_list(v, cfg.trusted_proxies, NETADDR_MAX_NETS,
	    &cfg.trusted_count) == -1) {
		snprintf(err, errlen, "%s must be 'none' or a "
		    "comma list of at most %d addresses or networks "
		    "(10.0.0.0/8, ::1)", d->name, NETADDR_MAX_NETS);
		return (-1);
	}

	return (0);
}
