/* qmp-event.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_EVENT (qmp_event_get_type ())

typedef struct _QmpEvent QmpEvent;

QMP_AVAILABLE_IN_1_0
GType       qmp_event_get_type      (void) G_GNUC_CONST;
QMP_AVAILABLE_IN_1_0
QmpEvent   *qmp_event_new           (const char *name,
                                     JsonObject *data,
                                     GDateTime  *timestamp);
QMP_AVAILABLE_IN_1_0
QmpEvent   *qmp_event_ref           (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
void        qmp_event_unref         (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
const char *qmp_event_get_name      (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
JsonObject *qmp_event_get_data      (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
const char *qmp_event_get_data_json (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
GDateTime  *qmp_event_get_timestamp (QmpEvent   *self);
QMP_AVAILABLE_IN_1_0
gboolean    qmp_event_matches       (QmpEvent   *self,
                                     const char *event_name,
                                     JsonObject *event_match);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpEvent, qmp_event_unref)

G_END_DECLS
