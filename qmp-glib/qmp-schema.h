/* qmp-schema.h
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
#include <json-glib/json-glib.h>

#include "qmp-connection.h"
#include "qmp-schema-type.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_SCHEMA (qmp_schema_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpSchema, qmp_schema, QMP, SCHEMA, GObject)

QMP_AVAILABLE_IN_1_0
QmpSchema          *qmp_schema_new                  (JsonNode      *schema,
                                                     GError       **error);
QMP_AVAILABLE_IN_1_0
QmpSchema          *qmp_schema_new_from_data        (const char    *data,
                                                     gssize         length,
                                                     GError       **error);

QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_has_command          (QmpSchema     *self,
                                                     const char    *name);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_has_event            (QmpSchema     *self,
                                                     const char    *name);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_has_path             (QmpSchema     *self,
                                                     const char    *path);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_get_path_type        (QmpSchema     *self,
                                                     const char    *path);

QMP_AVAILABLE_IN_1_0
char              **qmp_schema_list_commands        (QmpSchema     *self);
QMP_AVAILABLE_IN_1_0
char              **qmp_schema_list_events          (QmpSchema     *self);

QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_get_command_arguments (QmpSchema    *self,
                                                      const char   *command);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_get_command_return   (QmpSchema     *self,
                                                     const char    *command);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_get_command_allow_oob (QmpSchema    *self,
                                                      const char   *command);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_get_command_features (QmpSchema     *self,
                                                     const char    *command);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_get_event_data       (QmpSchema     *self,
                                                     const char    *event);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_get_event_features   (QmpSchema     *self,
                                                     const char    *event);

QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_validate_arguments   (QmpSchema     *self,
                                                     const char    *command,
                                                     JsonObject    *arguments,
                                                     GError       **error);

/* QmpConnection's schema: methods of QmpConnection */
QMP_AVAILABLE_IN_1_0
void                qmp_connection_get_schema_async  (QmpConnection        *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpSchema          *qmp_connection_get_schema_finish (QmpConnection        *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
QMP_AVAILABLE_IN_1_0
QmpSchema          *qmp_connection_get_schema_sync   (QmpConnection        *self,
                                                      GCancellable         *cancellable,
                                                      GError              **error);

G_END_DECLS
