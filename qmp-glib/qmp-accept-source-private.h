/* qmp-accept-source-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a failed accept() waits before it is tried again: the process or
 * the system is out of descriptors or memory (EMFILE, ENFILE, ENOBUFS),
 * and the listening socket stays readable all that time. */
#define QMP_ACCEPT_RETRY_MSEC 100

/* Called with each accepted client (transfer none), in the context the
 * source is attached to. */
typedef void (*QmpAcceptFunc) (GSocket  *client,
                               gpointer  user_data);

/* A source that accepts the clients of the listening @socket (made
 * non-blocking) and hands each to its callback, a QmpAcceptFunc given to
 * g_source_set_callback() with G_SOURCE_FUNC().  A failed accept is tried
 * again at once, once (an error of one connection, ECONNABORTED, is gone
 * then); a second failure stops watching @socket for
 * QMP_ACCEPT_RETRY_MSEC, so that a socket that stays readable cannot make
 * the context's thread spin, and accepting resumes by itself when the
 * shortage ends.  The pause is the source's own ready time: destroying
 * the source ends it too. */
GSource *_qmp_accept_source_new (GSocket *socket);

G_END_DECLS
