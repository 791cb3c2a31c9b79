/* qmp-run-state-tracker.h
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

#include "qmp-commands.h"
#include "qmp-connection.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_RUN_STATE_TRACKER (qmp_run_state_tracker_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpRunStateTracker, qmp_run_state_tracker, QMP, RUN_STATE_TRACKER, GObject)

QMP_AVAILABLE_IN_1_0
void                qmp_run_state_tracker_new_async  (QmpConnection        *connection,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpRunStateTracker *qmp_run_state_tracker_new_finish (GAsyncResult         *result,
                                                      GError              **error);
QMP_AVAILABLE_IN_1_0
QmpRunStateTracker *qmp_run_state_tracker_new_sync   (QmpConnection        *connection,
                                                      GCancellable         *cancellable,
                                                      GError              **error);

QMP_AVAILABLE_IN_1_0
QmpConnection      *qmp_run_state_tracker_get_connection (QmpRunStateTracker *self);
QMP_AVAILABLE_IN_1_0
QmpRunState         qmp_run_state_tracker_get_run_state  (QmpRunStateTracker *self);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_run_state_tracker_get_running    (QmpRunStateTracker *self);

G_END_DECLS
