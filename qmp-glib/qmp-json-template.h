/* qmp-json-template.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <stdarg.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "qmp-connection.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

QMP_AVAILABLE_IN_1_0
JsonObject *qmp_json_build_object                (const char           *format,
                                                  ...);
QMP_AVAILABLE_IN_1_0
JsonObject *qmp_json_build_object_va             (const char           *format,
                                                  va_list               args);

QMP_AVAILABLE_IN_1_0
void        qmp_connection_execute_printf_async  (QmpConnection        *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data,
                                                  const char           *format,
                                                  ...);
QMP_AVAILABLE_IN_1_0
JsonNode   *qmp_connection_execute_printf_finish (QmpConnection        *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
JsonNode   *qmp_connection_execute_printf_sync   (QmpConnection        *self,
                                                  GCancellable         *cancellable,
                                                  GError              **error,
                                                  const char           *format,
                                                  ...);

G_END_DECLS
