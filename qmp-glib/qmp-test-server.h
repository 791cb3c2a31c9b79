/* qmp-test-server.h
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
#include "qmp-version-macros.h"

G_BEGIN_DECLS

#define QMP_TYPE_TEST_SERVER (qmp_test_server_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpTestServer, qmp_test_server, QMP, TEST_SERVER, GObject)

#define QMP_TYPE_TEST_SERVER_COMMAND (qmp_test_server_command_get_type ())

QMP_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (QmpTestServerCommand, qmp_test_server_command, QMP, TEST_SERVER_COMMAND, GObject)

/**
 * QmpTestServerCheckFunc:
 * @server: the server
 * @command: a command the server received
 * @user_data: the data given to [method@Qmp.TestServer.set_check_func]
 * @error: return location for the error to answer with
 *
 * Checks a command before the server answers it, for example against a
 * QMP schema, so that a test cannot pass with arguments real QEMU would
 * refuse.  It is called on the library's worker thread.
 *
 * Returns: %TRUE if the command may go on, %FALSE with @error set to
 *   answer it with a `GenericError` carrying the error's message
 *
 * Since: 1.0
 */
typedef gboolean (*QmpTestServerCheckFunc) (QmpTestServer         *server,
                                            QmpTestServerCommand  *command,
                                            gpointer               user_data,
                                            GError               **error);

/**
 * QmpTestServerCommandFunc:
 * @server: the server
 * @command: a command the server received
 * @user_data: the data given to [method@Qmp.TestServer.set_command_func]
 *
 * Answers a command on the library's I/O thread, now or later, or leaves
 * it to the [signal@Qmp.TestServer::command] handlers.
 *
 * Returns: %TRUE if the function takes the command
 *
 * Since: 1.0
 */
typedef gboolean (*QmpTestServerCommandFunc) (QmpTestServer        *server,
                                              QmpTestServerCommand *command,
                                              gpointer              user_data);

QMP_AVAILABLE_IN_1_0
QmpTestServer *qmp_test_server_new               (void);

/* the greeting */
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_version       (QmpTestServer        *self,
                                                  guint                 major,
                                                  guint                 minor,
                                                  guint                 micro);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_package       (QmpTestServer        *self,
                                                  const char           *package);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_capabilities  (QmpTestServer        *self,
                                                  const char * const   *capabilities);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_raw_greeting  (QmpTestServer        *self,
                                                  const char           *greeting);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_guest_agent   (QmpTestServer        *self,
                                                  gboolean              guest_agent);

/* clients */
QMP_AVAILABLE_IN_1_0
gboolean       qmp_test_server_listen            (QmpTestServer        *self,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
const char    *qmp_test_server_get_address       (QmpTestServer        *self);
QMP_AVAILABLE_IN_1_0
GIOStream     *qmp_test_server_new_stream        (QmpTestServer        *self,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
QmpConnection *qmp_test_server_new_connection_sync (QmpTestServer      *self,
                                                  QmpConnectionFlags    flags,
                                                  GCancellable         *cancellable,
                                                  GError              **error);
QMP_AVAILABLE_IN_1_0
guint          qmp_test_server_get_n_clients     (QmpTestServer        *self);

/* answers */
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_reply         (QmpTestServer        *self,
                                                  const char           *command,
                                                  JsonNode             *return_value);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_error         (QmpTestServer        *self,
                                                  const char           *command,
                                                  const char           *error_class,
                                                  const char           *desc);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_unset_reply       (QmpTestServer        *self,
                                                  const char           *command);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_add_event_before_reply (QmpTestServer   *self,
                                                  const char           *command,
                                                  const char           *event_name,
                                                  JsonObject           *data);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_check_func    (QmpTestServer        *self,
                                                  QmpTestServerCheckFunc func,
                                                  gpointer              user_data,
                                                  GDestroyNotify        destroy);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_command_func  (QmpTestServer        *self,
                                                  QmpTestServerCommandFunc func,
                                                  gpointer              user_data,
                                                  GDestroyNotify        destroy);

/* events */
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_emit_event        (QmpTestServer        *self,
                                                  const char           *event_name,
                                                  JsonObject           *data,
                                                  GDateTime            *timestamp);

/* what it received */
QMP_AVAILABLE_IN_1_0
GPtrArray     *qmp_test_server_get_commands      (QmpTestServer        *self);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_next_command_async  (QmpTestServer      *self,
                                                    GCancellable       *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer            user_data);
QMP_AVAILABLE_IN_1_0
QmpTestServerCommand *qmp_test_server_next_command_finish (QmpTestServer  *self,
                                                           GAsyncResult   *result,
                                                           GError        **error);
QMP_AVAILABLE_IN_1_0
QmpTestServerCommand *qmp_test_server_next_command_sync   (QmpTestServer  *self,
                                                           GCancellable   *cancellable,
                                                           GError        **error);

/* faults */
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_close_clients     (QmpTestServer        *self);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_close_after       (QmpTestServer        *self,
                                                  gsize                 n_bytes);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_write_limit   (QmpTestServer        *self,
                                                  gint64                n_bytes);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_send_raw          (QmpTestServer        *self,
                                                  const guint8         *data,
                                                  gsize                 len);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_send_large_line   (QmpTestServer        *self,
                                                  gsize                 size);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_reading       (QmpTestServer        *self,
                                                  gboolean              reading);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_set_writing       (QmpTestServer        *self,
                                                  gboolean              writing);

/* QmpTestServerCommand */
QMP_AVAILABLE_IN_1_0
const char    *qmp_test_server_command_get_name      (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
JsonObject    *qmp_test_server_command_get_arguments (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
JsonNode      *qmp_test_server_command_get_id        (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_test_server_command_get_oob       (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
GUnixFDList   *qmp_test_server_command_get_fds       (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
guint          qmp_test_server_command_get_client    (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
gboolean       qmp_test_server_command_is_answered   (QmpTestServerCommand *self);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_command_reply         (QmpTestServerCommand *self,
                                                      JsonNode             *return_value);
QMP_AVAILABLE_IN_1_0
void           qmp_test_server_command_reply_error   (QmpTestServerCommand *self,
                                                      const char           *error_class,
                                                      const char           *desc);

G_END_DECLS
