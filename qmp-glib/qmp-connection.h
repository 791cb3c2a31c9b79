/* qmp-connection.h
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
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

#include "qmp-event.h"
#include "qmp-version-macros.h"

G_BEGIN_DECLS

/**
 * QmpConnectionFlags:
 * @QMP_CONNECTION_FLAGS_NONE: no flags
 * @QMP_CONNECTION_FLAGS_OOB: negotiate out-of-band execution when the
 *   server offers it, so that commands can be sent with
 *   %QMP_EXECUTE_FLAGS_OOB
 * @QMP_CONNECTION_FLAGS_GUEST_AGENT: the peer is the QEMU guest agent
 *   (`qemu-ga`), which sends no greeting: the connection synchronizes with
 *   `guest-sync-delimited` and takes its version from `guest-info`.
 *   Construction waits until the agent answers, as
 *   [method@Qmp.Connection.wait_guest_agent_async] does (a guest that
 *   still boots has no agent yet).  A peer that is not a guest agent
 *   never answers the synchronization: construct with a
 *   [property@Qmp.Connection:timeout] when unsure.  The 0xFF that the agent
 *   sends before its reply to `guest-sync-delimited` is handled whoever
 *   runs that command
 *
 * Flags for the construction of a #QmpConnection.
 *
 * ```c
 * // the guest agent's socket, given to QEMU as -chardev socket,path=...,server=on
 * g_autoptr(QmpConnection) agent =
 *   qmp_connection_new_for_address_sync ("unix:/run/vm0/qga.sock",
 *                                        QMP_CONNECTION_FLAGS_GUEST_AGENT, NULL, &error);
 * ```
 *
 * Since: 1.0
 */
typedef enum { /*< flags >*/
  QMP_CONNECTION_FLAGS_NONE        = 0,
  QMP_CONNECTION_FLAGS_OOB         = 1 << 0,
  QMP_CONNECTION_FLAGS_GUEST_AGENT = 1 << 1,
} QmpConnectionFlags;

/**
 * QmpExecuteFlags:
 * @QMP_EXECUTE_FLAGS_NONE: no flags
 * @QMP_EXECUTE_FLAGS_OOB: send the command as `exec-oob`, to be run out of
 *   band, ahead of the in-band commands that QEMU has queued; the
 *   connection must have negotiated out-of-band execution
 * @QMP_EXECUTE_FLAGS_VALIDATE: check the arguments against the server's
 *   schema ([method@Qmp.Schema.validate_arguments]) before the command is
 *   written; a mismatch fails the call with %QMP_ERROR_INVALID_ARGUMENTS
 *   and nothing is sent.  The first such call of a connection fetches the
 *   schema first, and waits for it at most the call's timeout; calls made
 *   meanwhile without the flag do not wait, and may be written before it.
 *   See [property@Qmp.Connection:validate-arguments]
 *
 * Flags for [method@Qmp.Connection.execute_async].
 *
 * ```c
 * // the typo fails with QMP_ERROR_INVALID_ARGUMENTS, and nothing is sent
 * g_autoptr(JsonObject) arguments =
 *   qmp_json_build_object ("{'driver': 'null-co', 'node_name': 'null0'}");
 * g_autoptr(JsonNode) ret =
 *   qmp_connection_execute_sync (connection, "blockdev-add", arguments,
 *                                QMP_EXECUTE_FLAGS_VALIDATE, NULL, &error);
 * ```
 *
 * Since: 1.0
 */
typedef enum { /*< flags >*/
  QMP_EXECUTE_FLAGS_NONE = 0,
  QMP_EXECUTE_FLAGS_OOB  = 1 << 0,
  QMP_EXECUTE_FLAGS_VALIDATE = 1 << 1,
} QmpExecuteFlags;

#define QMP_TYPE_CONNECTION (qmp_connection_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpConnection, qmp_connection, QMP, CONNECTION, GObject)

QMP_AVAILABLE_IN_1_0
void           qmp_connection_new_for_address_async  (const char           *address,
                                                      QmpConnectionFlags    flags,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_connection_new_for_address_finish (GAsyncResult         *result,
                                                      GError              **error);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_connection_new_for_address_sync   (const char           *address,
                                                      QmpConnectionFlags    flags,
                                                      GCancellable         *cancellable,
                                                      GError              **error);
QMP_AVAILABLE_IN_1_0
void           qmp_connection_new_async              (GIOStream            *stream,
                                                      QmpConnectionFlags    flags,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_connection_new_finish             (GAsyncResult         *result,
                                                      GError              **error);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_connection_new_sync               (GIOStream            *stream,
                                                      QmpConnectionFlags    flags,
                                                      GCancellable         *cancellable,
                                                      GError              **error);

QMP_AVAILABLE_IN_1_0
guint               qmp_connection_get_version_major (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
guint               qmp_connection_get_version_minor (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
guint               qmp_connection_get_version_micro (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
const char         *qmp_connection_get_package       (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_connection_get_capabilities  (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_connection_check_version     (QmpConnection *self,
                                                      guint          major,
                                                      guint          minor,
                                                      guint          micro);
QMP_AVAILABLE_IN_1_0
GIOStream          *qmp_connection_get_stream        (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
const char         *qmp_connection_get_address       (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
QmpConnectionFlags  qmp_connection_get_flags         (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_connection_get_oob_enabled   (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_connection_is_closed         (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
guint               qmp_connection_get_timeout       (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
void                qmp_connection_set_timeout       (QmpConnection *self,
                                                      guint          timeout_msec);
QMP_AVAILABLE_IN_1_0
guint64             qmp_connection_get_max_message_size (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
void                qmp_connection_set_max_message_size (QmpConnection *self,
                                                         guint64        max_message_size);
QMP_AVAILABLE_IN_1_0
guint               qmp_connection_get_max_queued_events      (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
void                qmp_connection_set_max_queued_events      (QmpConnection *self,
                                                               guint          max_queued_events);
QMP_AVAILABLE_IN_1_0
guint64             qmp_connection_get_max_queued_event_bytes (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
void                qmp_connection_set_max_queued_event_bytes (QmpConnection *self,
                                                               guint64        max_queued_event_bytes);
QMP_AVAILABLE_IN_1_0
guint64             qmp_connection_get_dropped_events         (QmpConnection *self);

QMP_AVAILABLE_IN_1_0
gboolean            qmp_connection_get_validate_arguments (QmpConnection *self);
QMP_AVAILABLE_IN_1_0
void                qmp_connection_set_validate_arguments (QmpConnection *self,
                                                           gboolean       validate);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_async  (QmpConnection        *self,
                                         const char           *command,
                                         JsonObject           *arguments,
                                         QmpExecuteFlags       flags,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_finish (QmpConnection        *self,
                                         GAsyncResult         *result,
                                         GError              **error);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_sync   (QmpConnection        *self,
                                         const char           *command,
                                         JsonObject           *arguments,
                                         QmpExecuteFlags       flags,
                                         GCancellable         *cancellable,
                                         GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_json_async  (QmpConnection        *self,
                                              const char           *command,
                                              JsonObject           *arguments,
                                              QmpExecuteFlags       flags,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
QMP_AVAILABLE_IN_1_0
char     *qmp_connection_execute_json_finish (QmpConnection        *self,
                                              GAsyncResult         *result,
                                              GError              **error);
QMP_AVAILABLE_IN_1_0
char     *qmp_connection_execute_json_sync   (QmpConnection        *self,
                                              const char           *command,
                                              JsonObject           *arguments,
                                              QmpExecuteFlags       flags,
                                              GCancellable         *cancellable,
                                              GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_text_async  (QmpConnection        *self,
                                              const char           *command,
                                              const char           *arguments_json,
                                              QmpExecuteFlags       flags,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
QMP_AVAILABLE_IN_1_0
char     *qmp_connection_execute_text_finish (QmpConnection        *self,
                                              GAsyncResult         *result,
                                              GError              **error);
QMP_AVAILABLE_IN_1_0
char     *qmp_connection_execute_text_sync   (QmpConnection        *self,
                                              const char           *command,
                                              const char           *arguments_json,
                                              QmpExecuteFlags       flags,
                                              GCancellable         *cancellable,
                                              GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_until_event_async  (QmpConnection        *self,
                                                     const char           *command,
                                                     JsonObject           *arguments,
                                                     const char           *event_name,
                                                     JsonObject           *event_match,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_finish (QmpConnection        *self,
                                                     GAsyncResult         *result,
                                                     JsonNode            **return_value,
                                                     GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_sync   (QmpConnection        *self,
                                                     const char           *command,
                                                     JsonObject           *arguments,
                                                     const char           *event_name,
                                                     JsonObject           *event_match,
                                                     JsonNode            **return_value,
                                                     GCancellable         *cancellable,
                                                     GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_wait_event_async  (QmpConnection        *self,
                                            const char           *event_name,
                                            JsonObject           *event_match,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_wait_event_finish (QmpConnection        *self,
                                            GAsyncResult         *result,
                                            GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_wait_event_sync   (QmpConnection        *self,
                                            const char           *event_name,
                                            JsonObject           *event_match,
                                            GCancellable         *cancellable,
                                            GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_full_async  (QmpConnection        *self,
                                              const char           *command,
                                              JsonObject           *arguments,
                                              QmpExecuteFlags       flags,
                                              int                   timeout_msec,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_full_finish (QmpConnection        *self,
                                              GAsyncResult         *result,
                                              GError              **error);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_full_sync   (QmpConnection        *self,
                                              const char           *command,
                                              JsonObject           *arguments,
                                              QmpExecuteFlags       flags,
                                              int                   timeout_msec,
                                              GCancellable         *cancellable,
                                              GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_with_fds_async  (QmpConnection        *self,
                                                  const char           *command,
                                                  JsonObject           *arguments,
                                                  GUnixFDList          *fd_list,
                                                  QmpExecuteFlags       flags,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_with_fds_finish (QmpConnection        *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
JsonNode *qmp_connection_execute_with_fds_sync   (QmpConnection        *self,
                                                  const char           *command,
                                                  JsonObject           *arguments,
                                                  GUnixFDList          *fd_list,
                                                  QmpExecuteFlags       flags,
                                                  GCancellable         *cancellable,
                                                  GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_until_event_with_fds_async  (QmpConnection        *self,
                                                              const char           *command,
                                                              JsonObject           *arguments,
                                                              GUnixFDList          *fd_list,
                                                              const char           *event_name,
                                                              JsonObject           *event_match,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_with_fds_finish (QmpConnection        *self,
                                                              GAsyncResult         *result,
                                                              JsonNode            **return_value,
                                                              GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_with_fds_sync   (QmpConnection        *self,
                                                              const char           *command,
                                                              JsonObject           *arguments,
                                                              GUnixFDList          *fd_list,
                                                              const char           *event_name,
                                                              JsonObject           *event_match,
                                                              JsonNode            **return_value,
                                                              GCancellable         *cancellable,
                                                              GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_execute_until_event_full_async  (QmpConnection        *self,
                                                          const char           *command,
                                                          JsonObject           *arguments,
                                                          const char           *event_name,
                                                          JsonObject           *event_match,
                                                          int                   timeout_msec,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_full_finish (QmpConnection        *self,
                                                          GAsyncResult         *result,
                                                          JsonNode            **return_value,
                                                          GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_execute_until_event_full_sync   (QmpConnection        *self,
                                                          const char           *command,
                                                          JsonObject           *arguments,
                                                          const char           *event_name,
                                                          JsonObject           *event_match,
                                                          JsonNode            **return_value,
                                                          int                   timeout_msec,
                                                          GCancellable         *cancellable,
                                                          GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_wait_event_full_async  (QmpConnection        *self,
                                                 const char           *event_name,
                                                 JsonObject           *event_match,
                                                 int                   timeout_msec,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_wait_event_full_finish (QmpConnection        *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);
QMP_AVAILABLE_IN_1_0
QmpEvent *qmp_connection_wait_event_full_sync   (QmpConnection        *self,
                                                 const char           *event_name,
                                                 JsonObject           *event_match,
                                                 int                   timeout_msec,
                                                 GCancellable         *cancellable,
                                                 GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_wait_guest_agent_async  (QmpConnection        *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
QMP_AVAILABLE_IN_1_0
gboolean  qmp_connection_wait_guest_agent_finish (QmpConnection        *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
gboolean  qmp_connection_wait_guest_agent_sync   (QmpConnection        *self,
                                                  GCancellable         *cancellable,
                                                  GError              **error);

QMP_AVAILABLE_IN_1_0
void      qmp_connection_close_async  (QmpConnection        *self,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
QMP_AVAILABLE_IN_1_0
gboolean  qmp_connection_close_finish (QmpConnection        *self,
                                       GAsyncResult         *result,
                                       GError              **error);
QMP_AVAILABLE_IN_1_0
gboolean  qmp_connection_close_sync   (QmpConnection        *self,
                                       GCancellable         *cancellable,
                                       GError              **error);

G_END_DECLS
