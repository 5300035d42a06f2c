/*
 * The memo of verified access tokens (see token_memo.h).
 */

#include <sys/types.h>

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "lib/token_memo.h"

struct memo_slot {
	int			used;
	u_int8_t		key[crypto_generichash_BYTES];
	struct token_claims	claims;
};

static void	memo_key(const char *, const char *, u_int8_t *);
static size_t	memo_index(const u_int8_t *);

static pthread_mutex_t		memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct memo_slot		memo[TOKEN_MEMO_SLOTS];

int
token_verify_access(const char *secret, const char *token, int64_t now,
    struct token_claims *claims)
{
	struct memo_slot	*s;
	u_int8_t		key[crypto_generichash_BYTES];
	int			hit, ret;

	if (token == NULL || strlen(token) > 4096)
		return (token_verify(secret, token, TOKEN_ACCESS, now, claims));

	memo_key(secret, token, key);
	s = &memo[memo_index(key)];

	(void)pthread_mutex_lock(&memo_lock);
	hit = s->used && sodium_memcmp(s->key, key, sizeof(key)) == 0 &&
	    now < s->claims.exp;
	if (hit)
		*claims = s->claims;
	(void)pthread_mutex_unlock(&memo_lock);

	if (hit)
		return (TOKEN_OK);

	/* Expired, forged or new: the full check says which. */
	if ((ret = token_verify(secret, token, TOKEN_ACCESS, now, claims)) !=
	    TOKEN_OK)
		return (ret);

	(void)pthread_mutex_lock(&memo_lock);
	s->used = 1;
	memcpy(s->key, key, sizeof(key));
	s->claims = *claims;
	(void)pthread_mutex_unlock(&memo_lock);

	return (TOKEN_OK);
}

/* The secret is in the key: a token is only good under its own. */
static void
memo_key(const char *secret, const char *token, u_int8_t *key)
{
	crypto_generichash_state	st;

	(void)crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	(void)crypto_generichash_update(&st, (const u_int8_t *)secret,
	    strlen(secret) + 1);
	(void)crypto_generichash_update(&st, (const u_int8_t *)token,
	    strlen(token));
	(void)crypto_generichash_final(&st, key, crypto_generichash_BYTES);
}

static size_t
memo_index(const u_int8_t *key)
{
	u_int64_t	v;

	memcpy(&v, key, sizeof(v));
	return ((size_t)(v % TOKEN_MEMO_SLOTS));
}
