/* qmp-connection-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

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

G_END_DECLS
