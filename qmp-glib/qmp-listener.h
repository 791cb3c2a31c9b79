/* qmp-listener.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "qmp-connection.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_LISTENER (qmp_listener_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpListener, qmp_listener, QMP, LISTENER, GObject)

QMP_AVAILABLE_IN_1_0
QmpListener   *qmp_listener_new           (const char           *address,
                                           QmpConnectionFlags    flags,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
const char    *qmp_listener_get_address   (QmpListener          *self);
QMP_AVAILABLE_IN_1_0
const char    *qmp_listener_get_path      (QmpListener          *self);
QMP_AVAILABLE_IN_1_0
void           qmp_listener_accept_async  (QmpListener          *self,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_listener_accept_finish (QmpListener          *self,
                                           GAsyncResult         *result,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_listener_accept_sync   (QmpListener          *self,
                                           GCancellable         *cancellable,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
void           qmp_listener_close         (QmpListener          *self);

G_END_DECLS
