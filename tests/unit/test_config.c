/*
 * The configuration table (src/core/config.c): README.md's table lists
 * exactly its variables with the same defaults; the loop applies the
 * defaults; JWT_SECRET has a default only under LNK_ENV=development.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"

#define README		"../../README.md"
#define SECTION		"### Configuration (environment)"
#define MAX_ROWS	64

struct row {
	char	name[64];
	char	alias[64];
	char	def[128];
	int	seen;
};

static struct row	rows[MAX_ROWS];
static size_t		nrows;

static void
trim(char *s)
{
	size_t	len;

	while (*s == ' ')
		memmove(s, s + 1, strlen(s));
	len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
}

/*
 * "| `A` / `B` | 1 / 2 | ..." is two rows; "| `PORT` (or `WEBSOCKET_PORT`)
 * | 3001 |" names an alias.
 */
static void
readme_row(char *line)
{
	char	*names, *defs, *p, *q, *d, *alias;
	size_t	first;

	names = line + 1;
	if ((defs = strchr(names, '|')) == NULL)
		return;
	*defs++ = '\0';
	if ((p = strchr(defs, '|')) == NULL)
		return;
	*p = '\0';

	first = nrows;
	alias = strstr(names, "(or ");
	for (p = names; (p = strchr(p, '`')) != NULL; p = q + 1) {
		if ((q = strchr(p + 1, '`')) == NULL)
			fail_msg("README: unbalanced ` in %s", names);
		*q = '\0';
		if (alias != NULL && p > alias && nrows > first) {
			(void)snprintf(rows[nrows - 1].alias,
			    sizeof(rows[0].alias), "%s", p + 1);
			continue;
		}
		assert_true(nrows < MAX_ROWS);
		(void)snprintf(rows[nrows++].name, sizeof(rows[0].name), "%s",
		    p + 1);
	}

	/* " / " between values; a bare slash is in one (127.0.0.0/8). */
	for (d = defs; d != NULL; d = p) {
		if ((p = strstr(d, " / ")) != NULL) {
			*p = '\0';
			p += 3;
		}
		if (first == nrows)
			fail_msg("README: more defaults than names in %s",
			    names);
		trim(d);
		(void)snprintf(rows[first++].def, sizeof(rows[0].def), "%s",
		    d);
	}
	if (first != nrows)
		fail_msg("README: fewer defaults than names near %s",
		    rows[first].name);
}

static void
readme_load(void)
{
	FILE	*fp;
	char	line[4096];
	int	in;

	if ((fp = fopen(README, "r")) == NULL)
		fail_msg("cannot read %s", README);

	in = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, SECTION))
			in = 1;
		else if (in && !strncmp(line, "#", 1))
			break;
		else if (in && !strncmp(line, "| `", 3))
			readme_row(line);
	}
	fclose(fp);

	if (nrows == 0)
		fail_msg("%s: no table under %s", README, SECTION);
}

/* "" in the table is a dash in the README, or a word that says why. */
static int
same_default(const char *table, const char *readme)
{
	if (*table == '\0')
		return (!strcmp(readme, "–") || !strcmp(readme, "random") ||
		    !strcmp(readme, "required"));
	return (!strcmp(table, readme));
}

static void
test_readme_matches_table(void **state)
{
	const struct config_directive	*d;
	size_t				i;

	readme_load();
	for (d = config_directives; d->name != NULL; d++) {
		for (i = 0; i < nrows; i++) {
			if (!strcmp(rows[i].name, d->name))
				break;
		}
		if (i == nrows)
			fail_msg("README.md's table lacks %s", d->name);
		if (rows[i].seen++)
			fail_msg("README.md lists %s twice", d->name);
		if (!same_default(d->def, rows[i].def))
			fail_msg("README.md: %s defaults to '%s', the table to "
			    "'%s'", d->name, rows[i].def, d->def);
		if (strcmp(d->alias != NULL ? d->alias : "", rows[i].alias))
			fail_msg("README.md: %s's alias is '%s', the table's "
			    "'%s'", d->name, rows[i].alias,
			    d->alias != NULL ? d->alias : "");
	}
	for (i = 0; i < nrows; i++) {
		if (!rows[i].seen)
			fail_msg("README.md lists %s, which config.c does not "
			    "read", rows[i].name);
	}
}

static void
clear_env(void)
{
	const struct config_directive	*d;

	for (d = config_directives; d->name != NULL; d++) {
		unsetenv(d->name);
		if (d->alias != NULL)
			unsetenv(d->alias);
	}
}

static void
test_defaults(void **state)
{
	char	err[256];

	clear_env();
	setenv("JWT_SECRET", "unit-test-secret-0123456789", 1);
	assert_int_equal(config_load(err, sizeof(err)), 0);
	assert_string_equal(cfg.port, "3001");
	assert_int_equal(cfg.redis_port, 6379);
	assert_int_equal(cfg.max_file_size, 10485760);
	assert_int_equal(cfg.jwt_expires_in, 7 * 86400);
	assert_int_equal(cfg.rate_limit_logins_account, 200);
	assert_int_equal(cfg.ping_interval, 25000);
	assert_int_equal(cfg.socket_queue_max, 16777216);
	assert_int_equal(cfg.connect_timeout, 45000);
	assert_int_equal(cfg.cors_count, 1);
	assert_false(cfg.jwt_secret_is_default);

	/* The conformance suites' heartbeat, whatever the environment. */
	setenv("LNK_MODE", "conformance", 1);
	setenv("PING_INTERVAL", "5000", 1);
	setenv("WEBSOCKET_PORT", "4000", 1);
	assert_int_equal(config_load(err, sizeof(err)), 0);
	assert_int_equal(cfg.ping_interval, 300);
	assert_string_equal(cfg.port, "4000");
	assert_true(cfg.cors_any);
	clear_env();
}

static void
test_development_secret(void **state)
{
	char	err[256];

	clear_env();
	assert_int_equal(config_load(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "JWT_SECRET is required"));
	assert_non_null(strstr(err, "LNK_ENV=development"));

	setenv("LNK_ENV", "production", 1);
	assert_int_equal(config_load(err, sizeof(err)), -1);

	setenv("LNK_ENV", "development", 1);
	assert_int_equal(config_load(err, sizeof(err)), 0);
	assert_true(cfg.jwt_secret_is_default);

	/* The conformance suites run without one. */
	setenv("LNK_ENV", "", 1);
	setenv("LNK_MODE", "conformance", 1);
	assert_int_equal(config_load(err, sizeof(err)), 0);
	assert_true(cfg.jwt_secret_is_default);
	unsetenv("LNK_MODE");

	/* kodev run no longer counts: $_ is not a setting. */
	setenv("LNK_ENV", "", 1);
	setenv("_", "/usr/bin/kodev", 1);
	assert_int_equal(config_load(err, sizeof(err)), -1);
	clear_env();
}

static void
test_errors_name_the_variable(void **state)
{
	char	err[256];

	clear_env();
	setenv("JWT_SECRET", "unit-test-secret-0123456789", 1);
	setenv("REDIS_PORT", "0", 1);
	assert_int_equal(config_load(err, sizeof(err)), -1);
	assert_string_equal(err,
	    "REDIS_PORT must be a whole number from 1 to 65535");
	unsetenv("REDIS_PORT");
	setenv("JWT_REFRESH_EXPIRES_IN", "soon", 1);
	assert_int_equal(config_load(err, sizeof(err)), -1);
	assert_string_equal(err, "JWT_REFRESH_EXPIRES_IN must be a duration "
	    "such as 30d, 12h, 15m or a number of seconds");
	clear_env();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_matches_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_development_secret),
		cmocka_unit_test(test_errors_name_the_variable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
