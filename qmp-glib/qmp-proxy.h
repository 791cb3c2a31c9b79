/* qmp-proxy.h
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

/**
 * QmpProxyClientFlags:
 * @QMP_PROXY_CLIENT_FLAGS_NONE: the client may run any command
 * @QMP_PROXY_CLIENT_FLAGS_READ_ONLY: only `query-*` commands reach QEMU;
 *   any other is refused with a `GenericError`
 *
 * What the clients of a [class@Qmp.Proxy] may do.
 *
 * ```c
 * // A socket for monitoring tools: they may ask, not act.
 * qmp_proxy_listen_unix (proxy, "/run/vm0/qmp-ro.sock", 0600,
 *                        QMP_PROXY_CLIENT_FLAGS_READ_ONLY, &error);
 * ```
 *
 * Since: 1.0
 */
typedef enum { /*< flags >*/
  QMP_PROXY_CLIENT_FLAGS_NONE      = 0,
  QMP_PROXY_CLIENT_FLAGS_READ_ONLY = 1 << 0,
} QmpProxyClientFlags;

#define QMP_TYPE_PROXY (qmp_proxy_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpProxy, qmp_proxy, QMP, PROXY, GObject)

QMP_AVAILABLE_IN_1_0
QmpProxy      *qmp_proxy_new              (QmpConnection        *upstream);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_proxy_get_upstream     (QmpProxy             *self);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_proxy_listen_unix      (QmpProxy             *self,
                                           const char           *path,
                                           guint                 mode,
                                           QmpProxyClientFlags   flags,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_proxy_listen_tls       (QmpProxy             *self,
                                           GSocketAddress       *address,
                                           GTlsCertificate      *certificate,
                                           GTlsDatabase         *client_ca,
                                           QmpProxyClientFlags   flags,
                                           GSocketAddress      **effective_address,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_proxy_listen_tcp_insecure (QmpProxy          *self,
                                           GSocketAddress       *address,
                                           QmpProxyClientFlags   flags,
                                           GSocketAddress      **effective_address,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
GIOStream     *qmp_proxy_new_client_stream (QmpProxy            *self,
                                           QmpProxyClientFlags   flags,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
guint          qmp_proxy_get_n_clients    (QmpProxy             *self);
QMP_AVAILABLE_IN_1_0
void           qmp_proxy_close            (QmpProxy             *self);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_proxy_is_closed        (QmpProxy             *self);

G_END_DECLS
