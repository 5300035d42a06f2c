/*
 * Verified access tokens, remembered. A client sends the same token
 * with every request, and checking its HS256 signature again (libjwt,
 * with OpenSSL setting up its MAC each time) was a tenth of a REST
 * send's CPU.
 *
 * Only a token that verified goes in, keyed by the BLAKE2b-256 of the
 * secret and the token, with its claims, until the token's exp: a hit
 * is the answer token_verify() would give again. Direct-mapped, one
 * mutex (task threads and the loop share it).
 */

#ifndef LNK_LIB_TOKEN_MEMO_H
#define LNK_LIB_TOKEN_MEMO_H

#include <sys/types.h>
#include <stdint.h>

#include "lib/token.h"

#define TOKEN_MEMO_SLOTS	4096

/* token_verify() for TOKEN_ACCESS, from the memo when it can. */
int	token_verify_access(const char *, const char *, int64_t,
	    struct token_claims *);

#endif
