/*
 * Argon2id with the OWASP minimum (19 MiB, 2 passes): slow enough for an
 * attacker, cheap enough that eight task threads hashing at once stay
 * within a few hundred MiB.
 */

#include <sys/types.h>

#include <crypt.h>
#include <string.h>

#include <sodium.h>

#include "lib/password.h"

#define PASSWORD_OPSLIMIT	2
#define PASSWORD_MEMLIMIT	(19U * 1024 * 1024)

int
password_init(void)
{
	return (sodium_init() < 0 ? -1 : 0);
}

int
password_hash(const char *pw, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES)
		return (-1);

	if (crypto_pwhash_str(out, pw, strlen(pw), PASSWORD_OPSLIMIT,
	    PASSWORD_MEMLIMIT) != 0)
		return (-1);

	return (0);
}

int
password_verify(const char *hash, const char *pw)
{
	struct crypt_data	cd;
	const char		*r;

	if (hash == NULL || pw == NULL)
		return (PASSWORD_MISMATCH);

	if (!strncmp(hash, "$argon2", 7)) {
		if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
			return (PASSWORD_MISMATCH);
		if (crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
		    PASSWORD_MEMLIMIT) != 0)
			return (PASSWORD_REHASH);
		return (PASSWORD_OK);
	}

	/* bcrypt ($2a$, $2b$, $2y$) from the NestJS service's users. */
	if (!strncmp(hash, "$2", 2)) {
		memset(&cd, 0, sizeof(cd));
		r = crypt_r(pw, hash, &cd);
		if (r == NULL || strlen(r) != strlen(hash) ||
		    sodium_memcmp(r, hash, strlen(hash)) != 0)
			return (PASSWORD_MISMATCH);
		return (PASSWORD_REHASH);
	}

	return (PASSWORD_MISMATCH);
}
