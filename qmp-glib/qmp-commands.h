/* qmp-commands.h: typed commands of QmpConnection
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include "qmp-connection.h"

G_BEGIN_DECLS

/**
 * QmpRunState:
 * @QMP_RUN_STATE_UNKNOWN: no state is known: the query failed, or has not
 *   been answered yet
 * @QMP_RUN_STATE_DEBUG: `debug`
 * @QMP_RUN_STATE_INMIGRATE: `inmigrate`
 * @QMP_RUN_STATE_INTERNAL_ERROR: `internal-error`
 * @QMP_RUN_STATE_IO_ERROR: `io-error`
 * @QMP_RUN_STATE_PAUSED: `paused`
 * @QMP_RUN_STATE_POSTMIGRATE: `postmigrate`
 * @QMP_RUN_STATE_PRELAUNCH: `prelaunch`
 * @QMP_RUN_STATE_FINISH_MIGRATE: `finish-migrate`
 * @QMP_RUN_STATE_RESTORE_VM: `restore-vm`
 * @QMP_RUN_STATE_RUNNING: `running`
 * @QMP_RUN_STATE_SAVE_VM: `save-vm`
 * @QMP_RUN_STATE_SHUTDOWN: `shutdown`
 * @QMP_RUN_STATE_SUSPENDED: `suspended`
 * @QMP_RUN_STATE_WATCHDOG: `watchdog`
 * @QMP_RUN_STATE_GUEST_PANICKED: `guest-panicked`
 * @QMP_RUN_STATE_COLO: `colo`
 * @QMP_RUN_STATE_OTHER: a state that QEMU reported and this version of
 *   qmp-glib does not know
 *
 * The run state of a virtual machine, as `query-status` reports it.  The
 * nick of each value is QEMU's name for it.
 *
 * ```c
 * QmpRunState state = qmp_connection_query_status_sync (connection, NULL, NULL, &error);
 *
 * if (state == QMP_RUN_STATE_PAUSED)
 *   qmp_connection_cont_sync (connection, NULL, &error);
 * ```
 *
 * Since: 1.0
 */
typedef enum {
  QMP_RUN_STATE_UNKNOWN,
  QMP_RUN_STATE_DEBUG,
  QMP_RUN_STATE_INMIGRATE,
  QMP_RUN_STATE_INTERNAL_ERROR,
  QMP_RUN_STATE_IO_ERROR,
  QMP_RUN_STATE_PAUSED,
  QMP_RUN_STATE_POSTMIGRATE,
  QMP_RUN_STATE_PRELAUNCH,
  QMP_RUN_STATE_FINISH_MIGRATE,
  QMP_RUN_STATE_RESTORE_VM,
  QMP_RUN_STATE_RUNNING,
  QMP_RUN_STATE_SAVE_VM,
  QMP_RUN_STATE_SHUTDOWN,
  QMP_RUN_STATE_SUSPENDED,
  QMP_RUN_STATE_WATCHDOG,
  QMP_RUN_STATE_GUEST_PANICKED,
  QMP_RUN_STATE_COLO,
  QMP_RUN_STATE_OTHER,
} QmpRunState;

QMP_AVAILABLE_IN_1_0
void     qmp_connection_stop_async (QmpConnection       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_stop_finish (QmpConnection *self,
                                     GAsyncResult  *result,
                                     GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_stop_sync (QmpConnection *self,
                                   GCancellable  *cancellable,
                                   GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_cont_async (QmpConnection       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_cont_finish (QmpConnection *self,
                                     GAsyncResult  *result,
                                     GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_cont_sync (QmpConnection *self,
                                   GCancellable  *cancellable,
                                   GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_system_powerdown_async (QmpConnection       *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_system_powerdown_finish (QmpConnection *self,
                                                 GAsyncResult  *result,
                                                 GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_system_powerdown_sync (QmpConnection *self,
                                               GCancellable  *cancellable,
                                               GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_quit_async (QmpConnection       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_quit_finish (QmpConnection *self,
                                     GAsyncResult  *result,
                                     GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_quit_sync (QmpConnection *self,
                                   GCancellable  *cancellable,
                                   GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_blockdev_add_async (QmpConnection       *self,
                                            const char          *filename,
                                            const char          *node_name,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_blockdev_add_finish (QmpConnection *self,
                                             GAsyncResult  *result,
                                             GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_blockdev_add_sync (QmpConnection *self,
                                           const char    *filename,
                                           const char    *node_name,
                                           GCancellable  *cancellable,
                                           GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_device_add_async (QmpConnection       *self,
                                          const char          *blockdev_id,
                                          const char          *device_id,
                                          const char          *driver,
                                          const char          *bus,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_device_add_finish (QmpConnection *self,
                                           GAsyncResult  *result,
                                           GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_device_add_sync (QmpConnection *self,
                                         const char    *blockdev_id,
                                         const char    *device_id,
                                         const char    *driver,
                                         const char    *bus,
                                         GCancellable  *cancellable,
                                         GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_blockdev_del_async (QmpConnection       *self,
                                            const char          *node_name,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_blockdev_del_finish (QmpConnection *self,
                                             GAsyncResult  *result,
                                             GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_blockdev_del_sync (QmpConnection *self,
                                           const char    *node_name,
                                           GCancellable  *cancellable,
                                           GError        **error);

QMP_AVAILABLE_IN_1_0
void     qmp_connection_device_del_async (QmpConnection       *self,
                                          const char          *device_id,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_device_del_finish (QmpConnection *self,
                                           GAsyncResult  *result,
                                           GError        **error);
QMP_AVAILABLE_IN_1_0
gboolean qmp_connection_device_del_sync (QmpConnection *self,
                                         const char    *device_id,
                                         GCancellable  *cancellable,
                                         GError        **error);

QMP_AVAILABLE_IN_1_0
void        qmp_connection_query_status_async  (QmpConnection        *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpRunState qmp_connection_query_status_finish (QmpConnection        *self,
                                                GAsyncResult         *result,
                                                gboolean             *running,
                                                GError              **error);
QMP_AVAILABLE_IN_1_0
QmpRunState qmp_connection_query_status_sync   (QmpConnection        *self,
                                                gboolean             *running,
                                                GCancellable         *cancellable,
                                                GError              **error);

QMP_AVAILABLE_IN_1_0
const char *qmp_run_state_to_string (QmpRunState state);

G_END_DECLS
