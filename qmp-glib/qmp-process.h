/* qmp-process.h
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

#define QMP_TYPE_PROCESS (qmp_process_get_type ())

/**
 * QMP_PROCESS_FIRST_FD:
 *
 * The number that the first descriptor handed to
 * [func@Qmp.Process.new_with_fds_async] has in QEMU; the next ones follow.
 *
 * Since: 1.0
 */
#define QMP_PROCESS_FIRST_FD 4

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpProcess, qmp_process, QMP, PROCESS, GObject)

QMP_AVAILABLE_IN_1_0
void           qmp_process_new_async      (const char * const   *argv,
                                           QmpConnectionFlags    flags,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpProcess    *qmp_process_new_finish     (GAsyncResult         *result,
                                           GError              **error);
QMP_AVAILABLE_IN_1_0
QmpProcess    *qmp_process_new_sync       (const char * const   *argv,
                                           QmpConnectionFlags    flags,
                                           GCancellable         *cancellable,
                                           GError              **error);

QMP_AVAILABLE_IN_1_0
void           qmp_process_new_with_fds_async  (const char * const   *argv,
                                                GUnixFDList          *fd_list,
                                                QmpConnectionFlags    flags,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpProcess    *qmp_process_new_with_fds_finish (GAsyncResult         *result,
                                                GError              **error);
QMP_AVAILABLE_IN_1_0
QmpProcess    *qmp_process_new_with_fds_sync   (const char * const   *argv,
                                                GUnixFDList          *fd_list,
                                                QmpConnectionFlags    flags,
                                                GCancellable         *cancellable,
                                                GError              **error);

QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_process_get_connection (QmpProcess           *self);
QMP_AVAILABLE_IN_1_0
GSubprocess   *qmp_process_get_subprocess (QmpProcess           *self);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_process_get_argv  (QmpProcess           *self);
QMP_AVAILABLE_IN_1_0
guint          qmp_process_get_shutdown_timeout (QmpProcess     *self);
QMP_AVAILABLE_IN_1_0
void           qmp_process_set_shutdown_timeout (QmpProcess     *self,
                                                 guint           timeout_msec);

QMP_AVAILABLE_IN_1_0
void           qmp_process_shutdown_async  (QmpProcess           *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_process_shutdown_finish (QmpProcess           *self,
                                            GAsyncResult         *result,
                                            GError              **error);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_process_shutdown_sync   (QmpProcess           *self,
                                            GCancellable         *cancellable,
                                            GError              **error);

G_END_DECLS
