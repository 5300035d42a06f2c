/*
 * The behaviour the official Engine.IO v4 and Socket.IO v5 test suites
 * expect from their reference servers (LNK_MODE=conformance only).
 */

#ifndef LNK_SOCKETIO_CONFORMANCE_H
#define LNK_SOCKETIO_CONFORMANCE_H

#include "engineio/eio.h"

extern const struct eio_server	conformance_echo_server;

void	conformance_init(void);

#endif
