/* qmp-connection-full.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "qmp-channel-private.h"
#include "qmp-connection.h"
#include "qmp-connection-private.h"
#include "qmp-schema-private.h"

/* The calls of QmpConnection with a timeout of their own, as GDBus takes
 * timeout_msec per call: the same calls as qmp-connection.c's, whose
 * _finish functions finish them too. */

/**
 * qmp_connection_execute_full_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @timeout_msec: how long the call may take, in milliseconds: 0 for no
 *   limit, -1 for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * [method@Qmp.Connection.execute_async] with a timeout of its own, as
 * GDBus takes one per call; finish it with
 * [method@Qmp.Connection.execute_full_finish].
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // at most 10 s for this call, whatever the connection's timeout
 * qmp_connection_execute_full_async (connection, "query-block", NULL,
 *                                    QMP_EXECUTE_FLAGS_NONE, 10000, NULL,
 *                                    on_block_info, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_full_async (QmpConnection       *self,
                                   const char          *command,
                                   JsonObject          *arguments,
                                   QmpExecuteFlags      flags,
                                   int                  timeout_msec,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (timeout_msec >= -1);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (_qmp_connection_check_full_call_async (self, qmp_connection_execute_async, command, arguments,
                                             flags, NULL, NULL, timeout_msec, cancellable,
                                             callback, user_data))
    return;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, arguments,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  _qmp_connection_submit_async (self, call, qmp_connection_execute_async, timeout_msec,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_full_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_full_async].
 *
 * ```c
 * // in on_block_info (), given to qmp_connection_execute_full_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(JsonNode) ret = qmp_connection_execute_full_finish (QMP_CONNECTION (source),
 *                                                               result, &error);
 * if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
 *   g_warning ("query-block took more than 10 s");
 * else if (ret == NULL)
 *   g_warning ("query-block: %s", error->message);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_full_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  return qmp_connection_execute_finish (self, result, error);
}

/**
 * qmp_connection_execute_full_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @timeout_msec: how long the call may take, in milliseconds: 0 for no
 *   limit, -1 for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * [method@Qmp.Connection.execute_sync] with a timeout of its own.
 *
 * ```c
 * // one slow command on a connection whose calls otherwise take 2 s at most
 * ret = qmp_connection_execute_full_sync (connection, "query-qmp-schema", NULL,
 *                                         QMP_EXECUTE_FLAGS_NONE, 30000,
 *                                         NULL, &error);
 * ```
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_full_sync (QmpConnection    *self,
                                  const char       *command,
                                  JsonObject       *arguments,
                                  QmpExecuteFlags   flags,
                                  int               timeout_msec,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (timeout_msec >= -1, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_connection_check_call_sync (self, command, arguments, flags, timeout_msec,
                                        cancellable, error))
    return NULL;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, arguments,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  if (!_qmp_connection_submit_sync (self, call, timeout_msec, cancellable, error))
    return NULL;

  return _qmp_call_steal_return (call);
}

/**
 * qmp_connection_execute_until_event_full_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"device_del"`
 * @arguments: (nullable): the command's arguments
 * @event_name: the event that finishes the call, such as `"DEVICE_DELETED"`
 * @event_match: (nullable): members that the event's data must have
 * @timeout_msec: how long the call may take, in milliseconds: 0 for no
 *   limit, -1 for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call finished
 * @user_data: (closure callback): data for @callback
 *
 * [method@Qmp.Connection.execute_until_event_async] with a timeout of its
 * own; finish it with [method@Qmp.Connection.execute_until_event_full_finish].
 * A timeout says what was missing: the reply, the event, or both.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // arguments and match as for qmp_connection_execute_until_event_async ();
 * // the guest gets 30 s to let go of the device
 * qmp_connection_execute_until_event_full_async (connection, "device_del", arguments,
 *                                                "DEVICE_DELETED", match, 30000,
 *                                                NULL, on_unplugged, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_until_event_full_async (QmpConnection       *self,
                                               const char          *command,
                                               JsonObject          *arguments,
                                               const char          *event_name,
                                               JsonObject          *event_match,
                                               int                  timeout_msec,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (event_name != NULL);
  g_return_if_fail (timeout_msec >= -1);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (_qmp_connection_check_full_call_async (self, qmp_connection_execute_until_event_async,
                                             command, arguments, QMP_EXECUTE_FLAGS_NONE,
                                             event_name, event_match, timeout_msec, cancellable,
                                             callback, user_data))
    return;

  call = _qmp_call_new (QMP_CALL_UNTIL_EVENT, command, arguments, FALSE, event_name, event_match);
  _qmp_connection_submit_async (self, call, qmp_connection_execute_until_event_async, timeout_msec,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_until_event_full_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_until_event_full_async].
 *
 * ```c
 * // in on_unplugged (), given to qmp_connection_execute_until_event_full_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_full_finish (QMP_CONNECTION (source), result,
 *                                                   NULL, &error);
 * if (event == NULL)
 *   g_warning ("%s", error->message);  // a timeout says what was missing
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_full_finish (QmpConnection  *self,
                                                GAsyncResult   *result,
                                                JsonNode      **return_value,
                                                GError        **error)
{
  return qmp_connection_execute_until_event_finish (self, result, return_value, error);
}

/**
 * qmp_connection_execute_until_event_full_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"device_del"`
 * @arguments: (nullable): the command's arguments
 * @event_name: the event that finishes the call, such as `"DEVICE_DELETED"`
 * @event_match: (nullable): members that the event's data must have
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @timeout_msec: how long the call may take, in milliseconds: 0 for no
 *   limit, -1 for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * [method@Qmp.Connection.execute_until_event_sync] with a timeout of its
 * own.  A timeout says what was missing: the reply, the event, or both.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * g_autoptr(JsonNode) ret = NULL;
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_full_sync (connection, "system_powerdown", NULL,
 *                                                 "SHUTDOWN", NULL, &ret, 60000,
 *                                                 NULL, &error);
 * if (event == NULL)
 *   g_printerr ("system_powerdown: %s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_full_sync (QmpConnection  *self,
                                              const char     *command,
                                              JsonObject     *arguments,
                                              const char     *event_name,
                                              JsonObject     *event_match,
                                              JsonNode      **return_value,
                                              int             timeout_msec,
                                              GCancellable   *cancellable,
                                              GError        **error)
{
  g_autoptr(QmpCall) call = NULL;

  if (return_value != NULL)
    *return_value = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (event_name != NULL, NULL);
  g_return_val_if_fail (timeout_msec >= -1, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_connection_check_call_sync (self, command, arguments, QMP_EXECUTE_FLAGS_NONE,
                                        timeout_msec, cancellable, error))
    return NULL;

  call = _qmp_call_new (QMP_CALL_UNTIL_EVENT, command, arguments, FALSE, event_name, event_match);
  if (!_qmp_connection_submit_sync (self, call, timeout_msec, cancellable, error))
    return NULL;

  if (return_value != NULL)
    *return_value = _qmp_call_steal_return (call);

  return _qmp_call_steal_event (call);
}

/**
 * qmp_connection_wait_event_full_async:
 * @self: a #QmpConnection
 * @event_name: (nullable): the name of the event, or %NULL for any
 * @event_match: (nullable): members that the event's data must have
 * @timeout_msec: how long to wait, in milliseconds: 0 for no limit, -1
 *   for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the event came or the wait failed
 * @user_data: (closure callback): data for @callback
 *
 * [method@Qmp.Connection.wait_event_async] with a timeout of its own;
 * finish it with [method@Qmp.Connection.wait_event_full_finish].
 *
 * ```c
 * // give up waiting for the guest's shutdown after 2 minutes
 * qmp_connection_wait_event_full_async (connection, "SHUTDOWN", NULL, 120000, NULL,
 *                                       on_shutdown, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_wait_event_full_async (QmpConnection       *self,
                                      const char          *event_name,
                                      JsonObject          *event_match,
                                      int                  timeout_msec,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (timeout_msec >= -1);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = _qmp_call_new (QMP_CALL_WAIT_EVENT, NULL, NULL, FALSE, event_name, event_match);
  _qmp_connection_submit_async (self, call, qmp_connection_wait_event_async, timeout_msec,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_wait_event_full_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.wait_event_full_async].
 *
 * ```c
 * // in on_shutdown (), given to qmp_connection_wait_event_full_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_wait_event_full_finish (QMP_CONNECTION (source), result, &error);
 * if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
 *   g_print ("still running after 2 minutes\n");
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_wait_event_full_finish (QmpConnection  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  return qmp_connection_wait_event_finish (self, result, error);
}

/**
 * qmp_connection_wait_event_full_sync:
 * @self: a #QmpConnection
 * @event_name: (nullable): the name of the event, or %NULL for any
 * @event_match: (nullable): members that the event's data must have
 * @timeout_msec: how long to wait, in milliseconds: 0 for no limit, -1
 *   for the connection's [property@Qmp.Connection:timeout]
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * [method@Qmp.Connection.wait_event_sync] with a timeout of its own.
 *
 * ```c
 * // any event within the next second
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_wait_event_full_sync (connection, NULL, NULL, 1000, NULL, &error);
 * if (event == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
 *   g_printerr ("%s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_wait_event_full_sync (QmpConnection  *self,
                                     const char     *event_name,
                                     JsonObject     *event_match,
                                     int             timeout_msec,
                                     GCancellable   *cancellable,
                                     GError        **error)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (timeout_msec >= -1, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  call = _qmp_call_new (QMP_CALL_WAIT_EVENT, NULL, NULL, FALSE, event_name, event_match);
  if (!_qmp_connection_submit_sync (self, call, timeout_msec, cancellable, error))
    return NULL;

  return _qmp_call_steal_event (call);
}
