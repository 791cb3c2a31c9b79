/* qmp-event-queue.h
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
#include "qmp-event.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_EVENT_QUEUE (qmp_event_queue_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpEventQueue, qmp_event_queue, QMP, EVENT_QUEUE, GObject)

/**
 * QMP_EVENT_QUEUE_DEFAULT_CAPACITY:
 *
 * The capacity of a [class@Qmp.EventQueue] made with a capacity of 0.
 *
 * Since: 1.0
 */
#define QMP_EVENT_QUEUE_DEFAULT_CAPACITY 1024

/**
 * QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES:
 *
 * The default of [property@Qmp.EventQueue:max-bytes]: 16 MiB, as the
 * default of [property@Qmp.Connection:max-queued-event-bytes].
 *
 * Since: 1.0
 */
#define QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES (G_GUINT64_CONSTANT (16) * 1024 * 1024)

QMP_AVAILABLE_IN_1_0
QmpEventQueue  *qmp_event_queue_new            (QmpConnection        *connection,
                                                const char * const   *event_names,
                                                JsonObject           *event_match,
                                                guint                 capacity);

QMP_AVAILABLE_IN_1_0
QmpConnection  *qmp_event_queue_get_connection (QmpEventQueue        *self);
QMP_AVAILABLE_IN_1_0
guint           qmp_event_queue_get_capacity   (QmpEventQueue        *self);
QMP_AVAILABLE_IN_1_0
guint64         qmp_event_queue_get_max_bytes  (QmpEventQueue        *self);
QMP_AVAILABLE_IN_1_0
void            qmp_event_queue_set_max_bytes  (QmpEventQueue        *self,
                                                guint64               max_bytes);
QMP_AVAILABLE_IN_1_0
guint           qmp_event_queue_get_length     (QmpEventQueue        *self);
QMP_AVAILABLE_IN_1_0
guint64         qmp_event_queue_get_dropped    (QmpEventQueue        *self);

QMP_AVAILABLE_IN_1_0
QmpEvent       *qmp_event_queue_pop            (QmpEventQueue        *self);

QMP_AVAILABLE_IN_1_0
void            qmp_event_queue_pop_async      (QmpEventQueue        *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent       *qmp_event_queue_pop_finish     (QmpEventQueue        *self,
                                                GAsyncResult         *result,
                                                GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent       *qmp_event_queue_pop_sync       (QmpEventQueue        *self,
                                                GCancellable         *cancellable,
                                                GError              **error);

G_END_DECLS
