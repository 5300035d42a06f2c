/*
 * The conformance fixture: the server module's code with this file in
 * place of src/app/rt_chat.c (rt_app.h), built by `make conformance`
 * into var/conformance/fixture.so, so the server itself carries none of
 * it. It runs the reference servers of the official suites on our
 * stack:
 *
 *  /engine.io/  engine.io: socket.on("data", d => socket.send(d))
 *  /socket.io/  socket.io: on "/" emit("auth", auth), "message" ->
 *               emit("message-back", ...args), "message-with-ack" ->
 *               ack(...args); on "/custom" emit("auth", auth).
 *
 * Plus, for our own e2e tests of the transport (tests/e2e/
 * realtime_transport.test.mjs), "/test": the same as "/" and a
 * connect-time refusal when auth.refuse is set.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "app/rt_app.h"
#include "engineio/eio.h"
#include "lib/json.h"
#include "socketio/bus.h"
#include "socketio/sio.h"

/* route /engine.io/ (conf/conformance.conf): a raw echo */
int		rt_engineio(struct http_request *);

static void	echo_open(struct eio_session *);
static void	echo_message(struct eio_session *, const u_int8_t *, size_t,
		    int);
static void	echo_close(struct eio_session *, const char *);

static void	main_connect(struct sio_socket *, const char *, size_t);
static void	main_event(struct sio_socket *, const struct sio_event *);
static void	custom_event(struct sio_socket *, const struct sio_event *);
static void	test_connect(struct sio_socket *, const char *, size_t);
static void	test_event(struct sio_socket *, const struct sio_event *);
static void	nsp_disconnect(struct sio_socket *, const char *);

static const struct eio_server echo_server = {
	"engine.io echo",
	echo_open,
	echo_message,
	echo_close
};

static const struct sio_nsp_ops main_ops = {
	main_connect, main_event, nsp_disconnect
};
static const struct sio_nsp_ops custom_ops = {
	main_connect, custom_event, nsp_disconnect
};
static const struct sio_nsp_ops test_ops = {
	test_connect, test_event, nsp_disconnect
};

int
rt_engineio(struct http_request *req)
{
	return (eio_http(req, &echo_server));
}

void
rt_app_init(void)
{
	(void)sio_namespace_register("/", &main_ops);
	(void)sio_namespace_register("/custom", &custom_ops);
	(void)sio_namespace_register("/test", &test_ops);
}

void
rt_app_teardown(void)
{
}

void
rt_app_tick(u_int64_t now)
{
}

static void
echo_open(struct eio_session *s)
{
}

static void
echo_message(struct eio_session *s, const u_int8_t *data, size_t len,
    int binary)
{
	eio_send(s, data, len, binary ? EIO_SEND_BINARY : 0);
}

static void
echo_close(struct eio_session *s, const char *reason)
{
}

static void
main_connect(struct sio_socket *s, const char *auth, size_t len)
{
	sio_accept(s);
	sio_emit(s, "auth", auth, len);
}

static void
main_event(struct sio_socket *s, const struct sio_event *ev)
{
	if (!strcmp(ev->name, "message")) {
		sio_emit_bin(s, "message-back", ev->args, ev->args_len,
		    ev->att, ev->natt);
	} else if (!strcmp(ev->name, "message-with-ack") && ev->has_ack) {
		sio_ack_bin(s, ev->ack_id, ev->args, ev->args_len,
		    ev->att, ev->natt);
	}
}

static void
custom_event(struct sio_socket *s, const struct sio_event *ev)
{
}

/* auth {"refuse": "..."} is refused with that message and data. */
static void
test_connect(struct sio_socket *s, const char *auth, size_t len)
{
	yajl_val	v;
	const char	*refuse;
	char		err[64];

	v = json_parse(auth, len, err, sizeof(err));
	if (v != NULL && (refuse = json_get_str(v, "refuse")) != NULL) {
		sio_reject(s, refuse, "{\"reason\":\"refused by test\"}", 28);
		json_tree_free(v);
		return;
	}
	if (v != NULL)
		json_tree_free(v);

	main_connect(s, auth, len);
}

static void
test_event(struct sio_socket *s, const struct sio_event *ev)
{
	if (!strcmp(ev->name, "disconnect-me")) {
		sio_disconnect(s);
		return;
	}
	if (!strcmp(ev->name, "join")) {
		sio_join(s, "test-room");
		if (ev->has_ack)
			sio_ack(s, ev->ack_id, "true", 4);
		return;
	}
	if (!strcmp(ev->name, "room")) {
		bus_emit_nsp("/test", "test-room", "room-message",
		    ev->args + 1, ev->args_len - 2, sio_socket_sid(s));
		return;
	}

	main_event(s, ev);
}

static void
nsp_disconnect(struct sio_socket *s, const char *reason)
{
}
