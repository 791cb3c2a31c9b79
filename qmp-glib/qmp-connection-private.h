/* qmp-connection-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-channel-private.h"
#include "qmp-connection.h"

G_BEGIN_DECLS

void _qmp_connection_set_context (QmpConnection *self,
                                  GMainContext  *context);

/* Called on the worker with each event (owned), or once with %NULL and
 * the reason when the connection closed. */
typedef void (*QmpEventSinkFunc) (QmpEvent     *event,
                                  const GError *closed_error,
                                  gpointer      user_data);

guint _qmp_connection_add_event_sink    (QmpConnection    *self,
                                         QmpEventSinkFunc  func,
                                         gpointer          user_data);
void  _qmp_connection_remove_event_sink (QmpConnection    *self,
                                         guint             id);
gboolean _qmp_connection_is_ready       (QmpConnection    *self);

/* A call's @timeout_msec in milliseconds: -1 for the connection's
 * timeout (as it is now), 0 for none. */
guint    _qmp_connection_resolve_timeout (QmpConnection   *self,
                                          int              timeout_msec);

/* Hands @call to the channel with @timeout_msec (-1: the connection's
 * timeout) for an _async function whose task gets @source_tag. */
void     _qmp_connection_submit_async (QmpConnection       *self,
                                       QmpCall             *call,
                                       gpointer             source_tag,
                                       int                  timeout_msec,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);

/* For QmpProxy: hands @call, whose done function is set, to the channel
 * as it is: no argument check, no GTask, no hop to a main context.  The
 * done function runs on whichever thread finishes the call; for an answer
 * that is the worker, right after the event sinks were given the events
 * the server sent before it.  @timeout_msec -1: the connection's.
 *
 * A call without a done function is waited for with _qmp_call_wait(),
 * in the thread that submitted it, which need not hold the connection
 * meanwhile (the schema's fetch). */
void     _qmp_connection_submit_call  (QmpConnection       *self,
                                       QmpCall             *call,
                                       int                  timeout_msec);

/* Submits @call and blocks until it is done; returns its error, if any. */
gboolean _qmp_connection_submit_sync  (QmpConnection       *self,
                                       QmpCall             *call,
                                       int                  timeout_msec,
                                       GCancellable        *cancellable,
                                       GError             **error);

G_END_DECLS
