/*
 * Configuration from the environment. Every variable is checked here so
 * that a bad value stops start-up with a message that names it, instead of
 * surfacing later as a confusing runtime error.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define DEV_JWT_SECRET	"lnk-chat-development-secret-do-not-use-in-production"

struct config	cfg;

static int	env_str(const char *, const char *, char *, size_t,
		    char *, size_t);
static int	env_u32(const char *, u_int32_t, u_int32_t, u_int32_t,
		    u_int32_t *, char *, size_t);
static int	env_origins(char *, size_t);
static int	env_proxies(char *, size_t);
static int	env_url(const char *, const char *, char *, size_t,
		    char *, size_t);
static int	env_token(const char *, char *, size_t, char *, size_t);

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

/*
 * dev is set when the server was started by `make run` or `kodev run`,
 * the only case in which JWT_SECRET may fall back to a built-in value.
 */
int
config_load(int dev, char *err, size_t errlen)
{
	const char	*v;
	u_int32_t	u;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = CONFIG_MODE_SERVER;

	if ((v = getenv("LNK_MODE")) != NULL && *v != '\0') {
		if (!strcmp(v, "conformance")) {
			cfg.mode = CONFIG_MODE_CONFORMANCE;
		} else if (strcmp(v, "server")) {
			snprintf(err, errlen,
			    "LNK_MODE must be 'server' or 'conformance'");
			return (-1);
		}
	}

	if (env_str("BIND_ADDRESS", "0.0.0.0", cfg.bind_addr,
	    sizeof(cfg.bind_addr), err, errlen) == -1)
		return (-1);

	v = getenv("PORT");
	if (v == NULL || *v == '\0')
		v = getenv("WEBSOCKET_PORT");
	if (v == NULL || *v == '\0')
		v = cfg.mode == CONFIG_MODE_CONFORMANCE ? "3000" : "3001";
	u = 0;
	while (*v != '\0' && isdigit((unsigned char)*v) && u < 70000)
		u = u * 10 + (*v++ - '0');
	if (*v != '\0' || u == 0 || u > 65535) {
		snprintf(err, errlen, "PORT must be a number from 1 to 65535");
		return (-1);
	}
	(void)snprintf(cfg.port, sizeof(cfg.port), "%u", u);

	if (env_str("NODE_ID", "", cfg.node_id, sizeof(cfg.node_id),
	    err, errlen) == -1)
		return (-1);

	if (env_str("MONGODB_URI", "mongodb://127.0.0.1:27017/lnk_db",
	    cfg.mongodb_uri, sizeof(cfg.mongodb_uri), err, errlen) == -1)
		return (-1);
	if (strncmp(cfg.mongodb_uri, "mongodb://", 10) &&
	    strncmp(cfg.mongodb_uri, "mongodb+srv://", 14)) {
		snprintf(err, errlen,
		    "MONGODB_URI must start with mongodb:// or mongodb+srv://");
		return (-1);
	}

	if (env_str("REDIS_HOST", "127.0.0.1", cfg.redis_host,
	    sizeof(cfg.redis_host), err, errlen) == -1)
		return (-1);
	if (env_u32("REDIS_PORT", 6379, 1, 65535, &u, err, errlen) == -1)
		return (-1);
	cfg.redis_port = (u_int16_t)u;
	if (env_str("REDIS_PASSWORD", "", cfg.redis_password,
	    sizeof(cfg.redis_password), err, errlen) == -1)
		return (-1);

	if ((v = getenv("JWT_SECRET")) != NULL && *v != '\0') {
		if (strlen(v) < 16) {
			snprintf(err, errlen,
			    "JWT_SECRET must be at least 16 characters");
			return (-1);
		}
		if (strlen(v) >= sizeof(cfg.jwt_secret)) {
			snprintf(err, errlen, "JWT_SECRET is too long");
			return (-1);
		}
		(void)snprintf(cfg.jwt_secret, sizeof(cfg.jwt_secret), "%s", v);
	} else if (dev || cfg.mode == CONFIG_MODE_CONFORMANCE) {
		(void)snprintf(cfg.jwt_secret, sizeof(cfg.jwt_secret), "%s",
		    DEV_JWT_SECRET);
		cfg.jwt_secret_is_default = 1;
	} else {
		snprintf(err, errlen, "JWT_SECRET is required "
		    "(a development default exists only under make run "
		    "or kodev run)");
		return (-1);
	}

	v = getenv("JWT_EXPIRES_IN");
	if (v == NULL || *v == '\0')
		v = "7d";
	if (config_parse_duration(v, &cfg.jwt_expires_in) == -1) {
		snprintf(err, errlen, "JWT_EXPIRES_IN must be a duration "
		    "such as 7d, 12h, 15m or a number of seconds");
		return (-1);
	}
	v = getenv("JWT_REFRESH_EXPIRES_IN");
	if (v == NULL || *v == '\0')
		v = "30d";
	if (config_parse_duration(v, &cfg.jwt_refresh_expires_in) == -1) {
		snprintf(err, errlen, "JWT_REFRESH_EXPIRES_IN must be a "
		    "duration such as 30d, 12h, 15m or a number of seconds");
		return (-1);
	}

	if (env_token("METRICS_TOKEN", cfg.metrics_token,
	    sizeof(cfg.metrics_token), err, errlen) == -1)
		return (-1);

	if (env_u32("MAX_FILE_SIZE", 10485760, 1, 10485760, &u,
	    err, errlen) == -1)
		return (-1);
	cfg.max_file_size = u;

	if (env_str("UPLOAD_PATH", "./upload/chat/", cfg.upload_path,
	    sizeof(cfg.upload_path), err, errlen) == -1)
		return (-1);
	if (env_url("PUBLIC_URL", "http://localhost:3001", cfg.public_url,
	    sizeof(cfg.public_url), err, errlen) == -1)
		return (-1);

	if (env_origins(err, errlen) == -1)
		return (-1);
	if (env_proxies(err, errlen) == -1)
		return (-1);

	if (env_u32("RATE_LIMIT_MESSAGES", 100, 1, 1000000,
	    &cfg.rate_limit_messages, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_WINDOW", 3600, 1, 86400 * 30,
	    &cfg.rate_limit_window, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_LOGINS", 20, 1, 1000000,
	    &cfg.rate_limit_logins, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_LOGINS_PER_ADDRESS", 25, 1, 1000000,
	    &cfg.rate_limit_logins_address, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_LOGINS_PER_ACCOUNT", 200, 1, 1000000,
	    &cfg.rate_limit_logins_account, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_REGISTRATIONS", 10, 1, 1000000,
	    &cfg.rate_limit_registrations, err, errlen) == -1)
		return (-1);
	if (env_u32("RATE_LIMIT_UPLOADS", 60, 1, 1000000,
	    &cfg.rate_limit_uploads, err, errlen) == -1)
		return (-1);
	if (env_u32("MESSAGE_MAX_LENGTH", 4000, 1, 100000,
	    &cfg.message_max_length, err, errlen) == -1)
		return (-1);
	if (env_u32("MAX_SOCKETS_PER_USER", 20, 1, 10000,
	    &cfg.max_sockets_per_user, err, errlen) == -1)
		return (-1);

	if (cfg.mode == CONFIG_MODE_CONFORMANCE) {
		cfg.ping_interval = 300;
		cfg.ping_timeout = 200;
		cfg.connect_timeout = 1000;
	} else {
		if (env_u32("PING_INTERVAL", 25000, 100, 600000,
		    &cfg.ping_interval, err, errlen) == -1)
			return (-1);
		if (env_u32("PING_TIMEOUT", 20000, 100, 600000,
		    &cfg.ping_timeout, err, errlen) == -1)
			return (-1);
		cfg.connect_timeout = 45000;
	}
	cfg.max_payload = 1000000;

	if (env_u32("SOCKET_QUEUE_MAX", 16777216, 65536, 1073741824,
	    &cfg.socket_queue_max, err, errlen) == -1)
		return (-1);

	return (0);
}

static int
env_str(const char *name, const char *def, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		v = def;

	if ((size_t)snprintf(out, outlen, "%s", v) >= outlen) {
		snprintf(err, errlen, "%s is too long (max %zu bytes)",
		    name, outlen - 1);
		return (-1);
	}

	return (0);
}

static int
env_u32(const char *name, u_int32_t def, u_int32_t min, u_int32_t max,
    u_int32_t *out, char *err, size_t errlen)
{
	const char		*v;
	char			*ep;
	unsigned long long	n;

	if ((v = getenv(name)) == NULL || *v == '\0') {
		*out = def;
		return (0);
	}

	errno = 0;
	n = strtoull(v, &ep, 10);
	if (!isdigit((unsigned char)*v) || *ep != '\0' || errno != 0 ||
	    n < min || n > max) {
		snprintf(err, errlen, "%s must be a whole number from %u to %u",
		    name, min, max);
		return (-1);
	}

	*out = (u_int32_t)n;
	return (0);
}

static int
env_url(const char *name, const char *def, char *out, size_t outlen,
    char *err, size_t errlen)
{
	size_t		len;

	if (env_str(name, def, out, outlen, err, errlen) == -1)
		return (-1);

	if (strncmp(out, "http://", 7) && strncmp(out, "https://", 8)) {
		snprintf(err, errlen, "%s must be an http:// or https:// URL",
		    name);
		return (-1);
	}

	/* fileUrl is built as PUBLIC_URL + "/upload/...". */
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';

	return (0);
}

/*
 * A bearer secret: optional, else 16 or more characters of RFC 6750's
 * token68 alphabet, so that it travels in an Authorization header as is.
 */
static int
env_token(const char *name, char *out, size_t outlen, char *err,
    size_t errlen)
{
	size_t		len;

	if (env_str(name, "", out, outlen, err, errlen) == -1)
		return (-1);
	if ((len = strlen(out)) == 0)
		return (0);

	if (len < 16 || strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != len) {
		snprintf(err, errlen, "%s must be at least 16 characters of "
		    "A-Z a-z 0-9 - . _ ~ + / =", name);
		return (-1);
	}

	return (0);
}

static int
env_origins(char *err, size_t errlen)
{
	const char	*v;
	char		*copy, *p, *tok;

	if ((v = getenv("CORS_ORIGINS")) == NULL || *v == '\0')
		v = cfg.mode == CONFIG_MODE_CONFORMANCE ?
		    "*" : "http://localhost:3000";

	if ((copy = strdup(v)) == NULL) {
		snprintf(err, errlen, "CORS_ORIGINS: out of memory");
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
			snprintf(err, errlen, "CORS_ORIGINS entries must be "
			    "http(s) origins or *, got '%s'", tok);
			free(copy);
			return (-1);
		}
		if (cfg.cors_count == CONFIG_MAX_ORIGINS) {
			snprintf(err, errlen, "CORS_ORIGINS has more than %d "
			    "entries", CONFIG_MAX_ORIGINS);
			free(copy);
			return (-1);
		}
		if ((cfg.cors_origins[cfg.cors_count++] = strdup(tok)) == NULL) {
			snprintf(err, errlen, "CORS_ORIGINS: out of memory");
			free(copy);
			return (-1);
		}
	}

	free(copy);
	return (0);
}

/* Default: loopback, where the shipped nginx (conf/nginx.conf) runs. */
static int
env_proxies(char *err, size_t errlen)
{
	const char	*v;

	if ((v = getenv("TRUSTED_PROXIES")) == NULL || *v == '\0')
		v = NETADDR_LOOPBACK;

	if (netaddr_parse_list(v, cfg.trusted_proxies, NETADDR_MAX_NETS,
	    &cfg.trusted_count) == -1) {
		snprintf(err, errlen, "TRUSTED_PROXIES must be 'none' or a "
		    "comma list of at most %d addresses or networks "
		    "(10.0.0.0/8, ::1)", NETADDR_MAX_NETS);
		return (-1);
	}

	return (0);
}
