/*
 * Access and refresh tokens: HS256 JWTs signed and checked with libjwt.
 * Pure C (no Kore) so the checks are unit-tested on their own.
 */

#ifndef LNK_LIB_TOKEN_H
#define LNK_LIB_TOKEN_H

#include <sys/types.h>
#include <stdint.h>

#define TOKEN_ACCESS		1
#define TOKEN_REFRESH		2

#define TOKEN_OK		0
#define TOKEN_INVALID		-1	/* malformed, bad signature, bad alg */
#define TOKEN_EXPIRED		-2
#define TOKEN_WRONG_TYPE	-3
#define TOKEN_NOT_YET_VALID	-4	/* nbf or iat ahead of now + skew */

/* Seconds of clock difference tolerated on nbf and iat. */
#define TOKEN_SKEW		60

#define TOKEN_ID_LEN		32	/* jti and family: 16 random bytes, hex */

struct token_claims {
	char		uid[25];
	int		typ;
	int64_t		iat;
	int64_t		exp;
	char		jti[TOKEN_ID_LEN + 1];
	char		fam[TOKEN_ID_LEN + 1];	/* refresh: its family, or "" */
};

/*
 * Returns a malloc'd token or NULL. A refresh token carries the family
 * (fam) it was given: the login it was rotated from (token_new_id).
 */
char	*token_issue(const char *, const char *, int, int64_t, int64_t,
	    const char *);
int	token_verify(const char *, const char *, int, int64_t,
	    struct token_claims *);
/* A random id of TOKEN_ID_LEN hex digits (and a NUL). */
void	token_new_id(char *);

#endif
