/*
 * The users collection: accounts, credentials, service packages, and the
 * public projection every other response embeds.
 */

#ifndef LNK_STORE_USERS_H
#define LNK_STORE_USERS_H

#include <bson/bson.h>

struct json;
struct oidlist;

struct user_public {
	bson_oid_t	oid;
	int		found;
	char		name[256];
	char		avatar[1024];
	int		is_verified;
	int		is_premium;
	int		active;		/* isActive (never rendered) */
};

int	users_insert(const bson_t *, int *);
int	users_find_by_id(const bson_oid_t *, bson_t *);
int	users_find_by_email(const char *, bson_t *);
int	users_find_by_phone(const char *, bson_t *);
int	users_count_existing(const bson_oid_t *, size_t, int64_t *);
int	users_set(const bson_oid_t *, const bson_t *);
int	users_swap_refresh(const bson_oid_t *, const char *, const bson_t *);
int	users_revoke_refresh(const bson_oid_t *, const char *);
/* Fills each entry's fields from its oid; found = 0 for a missing one. */
int	users_load_public(struct user_public *, size_t);
/* The memo's copy only (no database): 1 when it holds a fresh one. */
int	users_cached_public(struct user_public *);
/* The same read from the database, not the memo (which it refreshes). */
int	users_reload_public(struct user_public *, size_t);
/* The ids of every account with isActive: false. */
int	users_find_inactive(struct oidlist *);
/* After a change to a user: the next load reads the database. */
void	users_forget(const bson_oid_t *);
void	users_filter_by_name(const struct user_public *, size_t, const char *,
	    struct oidlist *);

int	users_package_push(const bson_oid_t *, const bson_t *);
int	users_package_set(const bson_oid_t *, const char *, const bson_t *);
int	users_package_pull(const bson_oid_t *, const char *);
int	users_package_find(const bson_oid_t *, const char *, bson_t *);

/* {_id, id, name, avatar, isVerified, isPremium} (SPEC.md §2.4) */
void	users_json_public(struct json *, const struct user_public *);
/* The caller's own account: everything but credentials. */
void	users_json_self(struct json *, const bson_t *);
/* The curated subset of GET /api/auth/me. */
void	users_json_me(struct json *, const bson_t *);
void	users_json_package(struct json *, const bson_t *);

#define USERS_DUP_EMAIL		1
#define USERS_DUP_PHONE		2

#endif
