/*
 * Kore 4.1.0's internals, behind one small shim. The module reaches
 * past Kore's documented API in a few places, for speed (WebSocket
 * reads and writes, see src/engineio/ws_reader.c and eio_ws.c), for
 * HTTP framing (src/http/framing.c) and for worker messages
 * (src/core/peer.c). Each such use is a function here, named for what
 * it does, so that a Kore upgrade is checked in this one file: the
 * build stops below on any other Kore, and kx_check() stops a worker
 * that finds another Kore at run time.
 *
 * Everything here runs on a worker's event loop.
 */

#ifndef LNK_CORE_KX_H
#define LNK_CORE_KX_H

#include <sys/types.h>
#include <stddef.h>

#include <kore/kore.h>

/*
 * Kore 4.1.0 defines no version macro; these are what this file relies
 * on and what 4.1.0 introduced or changed (worker ids from
 * KORE_WORKER_BASE, the keymgr/acme ids, netbuf and event flags).
 */
#if !defined(KORE_WORKER_BASE) || KORE_WORKER_BASE != 2 || \
    !defined(KORE_WORKER_KEYMGR) || KORE_WORKER_KEYMGR != 2000 || \
    !defined(KORE_WORKER_ACME) || KORE_WORKER_ACME != 2001 || \
    !defined(NETBUF_CALL_CB_ALWAYS) || !defined(CONN_WS_CLOSE_SENT) || \
    !defined(KORE_EVENT_READ) || !defined(KORE_EVENT_WRITE) || \
    !defined(KORE_MSG_WORKER_ALL)
#error "src/core/kx.c is written against Kore 4.1.0's internals: check it"
#endif

#define KX_KORE_VERSION		"4.1."

/* Stops the worker unless the running Kore is 4.1.x. */
void		kx_check(void);

/* Workers */
u_int16_t	kx_worker_count(void);
u_int16_t	kx_worker_id(void);
void		kx_msg_queue(const void *, size_t);
void		kx_msg_flush(void);

/* Connections */
int		kx_conn_established(struct connection *);
int		kx_conn_plain(struct connection *);
void		kx_conn_pause_read(struct connection *);
int		kx_conn_hold_write(struct connection *);
void		kx_conn_release_write(struct connection *);
void		kx_conn_queue(struct connection *, const void *, size_t);
int		kx_conn_flush(struct connection *);
int		kx_conn_sending(struct connection *);
int		kx_conn_backlogged(struct connection *, size_t, int);

/* WebSocket connections */
int		kx_ws_open(struct connection *);
int		kx_ws_close_once(struct connection *);
void		kx_ws_deliver(struct connection *, u_int8_t, const void *,
		    size_t);

/* The receive netbuf */
void		kx_rnb_take(struct connection *, u_int8_t *, size_t,
		    int (*)(struct netbuf *), void *);
void		*kx_rnb_give_back(struct connection *,
		    int (*)(struct netbuf *));
size_t		kx_rnb_consume(struct netbuf *);
struct connection *kx_rnb_conn(struct netbuf *);
void		*kx_rnb_arg(struct netbuf *);

#endif
