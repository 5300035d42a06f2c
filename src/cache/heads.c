/*
 * Conversation heads in Redis (see heads.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/heads.h"
#include "cache/redis.h"
#include "core/core.h"

#define HEAD_TTL_MS	(2LL * 24 * 3600 * 1000)
#define DIRTY		"conv:dirty"
#define DIRTY_FIRST	"conv:dirty:first"
#define ARGS_MAX	(10 + 2 * HEADS_MEMBERS_MAX)

static void	heads_key(char *, size_t, const bson_oid_t *);
static void	heads_parse(struct conv_head *, const redisReply *);
static int64_t	heads_num(const redisReply *);

static const char *checked_lua =
    "if redis.call('HGET', KEYS[1], 'seq') == ARGV[1] then "
    "redis.call('HSET', KEYS[1], 'ck', ARGV[1]) "
    "redis.call('ZREM', KEYS[2], ARGV[2]) "
    "redis.call('ZREM', KEYS[3], ARGV[2]) end return 1";

static const char *text_lua =
    "if redis.call('HGET', KEYS[1], 'mid') == ARGV[1] then "
    "redis.call('HSET', KEYS[1], 'text', ARGV[2]) end return 1";

int
heads_get(struct conv_head *v, size_t n)
{
	struct cache_pipe	p;
	int			ret;

	(void)cache_pipe_begin(&p);
	heads_get_queue(&p, v, n);
	ret = heads_get_collect(&p, v, n);
	cache_pipe_end(&p);

	return (ret);
}

void
heads_get_queue(struct cache_pipe *p, struct conv_head *v, size_t n)
{
	char		key[64];
	size_t		i;

	for (i = 0; i < n; i++) {
		v[i].found = 0;
		v[i].text = NULL;
		v[i].nsent = 0;
		heads_key(key, sizeof(key), &v[i].id);
		cache_pipe_cmd(p, "HGETALL %s", key);
	}
}

int
heads_get_collect(struct cache_pipe *p, struct conv_head *v, size_t n)
{
	redisReply	*r;
	size_t		i;

	for (i = 0; i < n; i++) {
		if ((r = cache_pipe_reply(p)) == NULL) {
			heads_free(v, n);
			return (-1);
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
			heads_parse(&v[i], r);
		freeReplyObject(r);
	}

	return (0);
}

int
heads_put(const struct conv_head *v, size_t n)
{
	struct cache_pipe	p;
	redisReply		*r;
	const char		*argv[ARGS_MAX];
	size_t			lens[ARGS_MAX], i, k, a;
	char			key[64], cid[25], seq[24], at[24], mid[25];
	char			now[24], ttl[24];
	char			ukeys[HEADS_MEMBERS_MAX][32];
	char			uvals[HEADS_MEMBERS_MAX][24];
	int			ret;

	if (n == 0)
		return (0);
	if (cache_pipe_begin(&p) == -1)
		return (-1);

	(void)snprintf(now, sizeof(now), "%lld", (long long)core_now_ms());
	(void)snprintf(ttl, sizeof(ttl), "%lld", (long long)HEAD_TTL_MS);

	for (i = 0; i < n; i++) {
		heads_key(key, sizeof(key), &v[i].id);
		bson_oid_to_string(&v[i].id, cid);
		bson_oid_to_string(&v[i].last_id, mid);
		(void)snprintf(seq, sizeof(seq), "%lld", (long long)v[i].seq);
		(void)snprintf(at, sizeof(at), "%lld",
		    (long long)v[i].last_at);

		a = 0;
		argv[a++] = "HSET";
		argv[a++] = key;
		argv[a++] = "seq";
		argv[a++] = seq;
		argv[a++] = "mid";
		argv[a++] = mid;
		argv[a++] = "at";
		argv[a++] = at;
		argv[a++] = "text";
		argv[a++] = v[i].text != NULL ? v[i].text : "";
		for (k = 0; k < v[i].nsent && k < HEADS_MEMBERS_MAX; k++) {
			bson_oid_to_string(&v[i].users[k], cid);
			(void)snprintf(ukeys[k], sizeof(ukeys[k]), "u:%s",
			    cid);
			(void)snprintf(uvals[k], sizeof(uvals[k]), "%lld",
			    (long long)v[i].sent[k]);
			argv[a++] = ukeys[k];
			argv[a++] = uvals[k];
		}
		for (k = 0; k < a; k++)
			lens[k] = strlen(argv[k]);
		cache_pipe_argv(&p, (int)a, argv, lens);

		bson_oid_to_string(&v[i].id, cid);
		cache_pipe_cmd(&p, "PEXPIRE %s %s", key, ttl);
		cache_pipe_cmd(&p, "ZADD " DIRTY " %s %s", now, cid);
		cache_pipe_cmd(&p, "ZADD " DIRTY_FIRST " NX %s %s", now, cid);
	}

	ret = 0;
	for (i = 0; i < 4 * n; i++) {
		if ((r = cache_pipe_reply(&p)) == NULL) {
			ret = -1;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR)
			ret = -1;
		freeReplyObject(r);
	}
	cache_pipe_end(&p);

	return (ret);
}

int
heads_set_text(const bson_oid_t *conv, const bson_oid_t *mid,
    const char *text)
{
	redisReply	*r;
	char		key[64], hex[25];

	heads_key(key, sizeof(key), conv);
	bson_oid_to_string(mid, hex);
	if ((r = cache_command("EVAL %s 1 %s %s %s", text_lua, key, hex,
	    text)) == NULL)
		return (-1);
	freeReplyObject(r);

	return (0);
}

int
heads_due(int64_t idle_before, int64_t first_before, bson_oid_t *out,
    size_t max, size_t *n)
{
	struct cache_pipe	p;
	redisReply		*r;
	bson_oid_t		oid;
	size_t			i, k, j;
	int			ret;

	*n = 0;
	if (cache_pipe_begin(&p) == -1)
		return (-1);
	cache_pipe_cmd(&p, "ZRANGEBYSCORE " DIRTY " -inf %lld LIMIT 0 %d",
	    (long long)idle_before, (int)max);
	cache_pipe_cmd(&p, "ZRANGEBYSCORE " DIRTY_FIRST " -inf %lld LIMIT 0 %d",
	    (long long)first_before, (int)max);

	ret = 0;
	for (k = 0; k < 2; k++) {
		if ((r = cache_pipe_reply(&p)) == NULL) {
			ret = -1;
			break;
		}
		for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
		    *n < max; i++) {
			if (r->element[i]->type != REDIS_REPLY_STRING ||
			    r->element[i]->len != 24 ||
			    !bson_oid_is_valid(r->element[i]->str, 24))
				continue;
			bson_oid_init_from_string(&oid, r->element[i]->str);
			for (j = 0; j < *n; j++) {
				if (bson_oid_equal(&out[j], &oid))
					break;
			}
			if (j == *n)
				bson_oid_copy(&oid, &out[(*n)++]);
		}
		freeReplyObject(r);
	}
	cache_pipe_end(&p);

	return (ret);
}

int
heads_checked(const struct conv_head *h)
{
	redisReply	*r;
	char		key[64], cid[25];

	heads_key(key, sizeof(key), &h->id);
	bson_oid_to_string(&h->id, cid);
	if ((r = cache_command("EVAL %s 3 %s " DIRTY " " DIRTY_FIRST
	    " %lld %s", checked_lua, key, (long long)h->seq, cid)) == NULL)
		return (-1);
	freeReplyObject(r);

	return (0);
}

int
heads_drop(const bson_oid_t *conv)
{
	struct cache_pipe	p;
	char			key[64], cid[25];

	if (cache_pipe_begin(&p) == -1)
		return (-1);
	heads_key(key, sizeof(key), conv);
	bson_oid_to_string(conv, cid);
	cache_pipe_cmd(&p, "DEL %s", key);
	cache_pipe_cmd(&p, "ZREM " DIRTY " %s", cid);
	cache_pipe_cmd(&p, "ZREM " DIRTY_FIRST " %s", cid);
	cache_pipe_end(&p);

	return (0);
}

void
heads_free(struct conv_head *v, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		free(v[i].text);
		v[i].text = NULL;
	}
}

int64_t
heads_sent_of(const struct conv_head *h, const bson_oid_t *user)
{
	size_t		i;

	for (i = 0; i < h->nsent; i++) {
		if (bson_oid_equal(&h->users[i], user))
			return (h->sent[i]);
	}

	return (-1);
}

void
heads_set_sent(struct conv_head *h, const bson_oid_t *user, int64_t n)
{
	size_t		i;

	for (i = 0; i < h->nsent; i++) {
		if (bson_oid_equal(&h->users[i], user)) {
			h->sent[i] = n;
			return;
		}
	}
	if (h->nsent < HEADS_MEMBERS_MAX) {
		bson_oid_copy(user, &h->users[h->nsent]);
		h->sent[h->nsent++] = n;
	}
}

static void
heads_key(char *buf, size_t len, const bson_oid_t *conv)
{
	char		hex[25];

	bson_oid_to_string(conv, hex);
	(void)snprintf(buf, len, "conv:head:%s", hex);
}

static void
heads_parse(struct conv_head *h, const redisReply *r)
{
	const redisReply	*k, *v;
	bson_oid_t		oid;
	size_t			i;

	for (i = 0; i + 1 < r->elements; i += 2) {
		k = r->element[i];
		v = r->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (!strcmp(k->str, "seq")) {
			h->seq = heads_num(v);
			h->found = 1;
		} else if (!strcmp(k->str, "at")) {
			h->last_at = heads_num(v);
		} else if (!strcmp(k->str, "ck")) {
			h->checked = heads_num(v);
		} else if (!strcmp(k->str, "mid") && v->len == 24 &&
		    bson_oid_is_valid(v->str, 24)) {
			bson_oid_init_from_string(&h->last_id, v->str);
		} else if (!strcmp(k->str, "text")) {
			free(h->text);
			if ((h->text = strdup(v->str)) == NULL)
				abort();
		} else if (k->len == 26 && !strncmp(k->str, "u:", 2) &&
		    bson_oid_is_valid(k->str + 2, 24)) {
			bson_oid_init_from_string(&oid, k->str + 2);
			heads_set_sent(h, &oid, heads_num(v));
		}
	}
}

static int64_t
heads_num(const redisReply *v)
{
	return (strtoll(v->str, NULL, 10));
}
