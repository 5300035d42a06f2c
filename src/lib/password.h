/*
 * Password hashing: Argon2id through libsodium for new hashes; bcrypt
 * hashes imported from the original service still verify (libxcrypt).
 */

#ifndef LNK_LIB_PASSWORD_H
#define LNK_LIB_PASSWORD_H

#define PASSWORD_HASH_MAX	128

#define PASSWORD_OK		0
#define PASSWORD_MISMATCH	-1
#define PASSWORD_REHASH		1	/* matched, but stored with an old scheme */

int	password_init(void);
int	password_hash(const char *, char *, size_t);
int	password_verify(const char *, const char *);

#endif
