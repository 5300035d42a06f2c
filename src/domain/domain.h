/*
 * Conventions shared by the domain services (conversation_service.h,
 * message_service.h, account.h, auth.h, packages.h), which REST handlers
 * and socket events both call.
 *
 * - A service function runs on a task thread (it blocks on MongoDB and
 *   Redis) and never touches Kore.
 * - It returns an HTTP-like status: 200/201/204 on success, 4xx with a
 *   human message in err (the REST layer's "message", the socket ack's
 *   "error"), 503 when the database is unreachable, 500 otherwise.
 * - On success it may write one JSON value into out (NULL allowed when
 *   the caller does not want it) and appends the events to announce to
 *   ev, after the state change is stored (SPEC.md §2.8, §2.10).
 */

#ifndef LNK_DOMAIN_DOMAIN_H
#define LNK_DOMAIN_DOMAIN_H

#include <sys/types.h>
#include <stddef.h>

#include <bson/bson.h>

/* err ← message; returns status. */
int	dom_fail(char *, size_t, int, const char *, ...)
	    __attribute__((format (printf, 4, 5)));
/*
 * A STORE_* error as a status and its message (404 carries what): the
 * one mapping, so no adapter sees STORE_* codes.
 */
int	dom_store_fail(char *, size_t, int, const char *);

/*
 * Copies of users and conversations (store/memo.h) on other workers and
 * nodes: dom_note_changed() queues the note that a document changed
 * ("conv", "user", or "rooms": a user's list of conversations), and
 * dom_note_members() those of a membership change; dom_note() is what
 * the bus calls with them everywhere.
 */
struct evq;
void	dom_note(const char *, const char *);
void	dom_note_changed(struct evq *, const char *, const bson_oid_t *);
void	dom_note_members(struct evq *, const bson_oid_t *, const bson_oid_t *,
	    size_t);

#endif
