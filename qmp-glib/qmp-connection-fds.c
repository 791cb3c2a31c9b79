/* qmp-connection-fds.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-channel-private.h"
#include "qmp-connection.h"
#include "qmp-connection-private.h"
#include "qmp-schema-private.h"

/* The calls of QmpConnection that hand the server file descriptors with a
 * command (SCM_RIGHTS), as g_dbus_connection_call_with_unix_fd_list()
 * does: the same calls as qmp-connection.c's, whose _finish functions
 * finish them too.
 *
 * The descriptors travel in a sendmsg() of the command's line alone, with
 * its first byte, so QEMU attaches them to that command whatever else is
 * queued or in flight.  Without out-of-band execution QEMU reads one
 * command at a time, and that is enough.  With it, QEMU's monitor thread
 * reads ahead and stores the descriptors for whichever command takes
 * descriptors next, so the channel sends a command with descriptors only
 * when every earlier command is answered, and no later in-band command
 * until it is answered (see channel_flush_locked()). */

static gboolean
fd_list_is_empty (GUnixFDList *fd_list)
{
  return fd_list == NULL || g_unix_fd_list_get_length (fd_list) == 0;
}

/* A new call for @command that owns duplicates of @fd_list's descriptors,
 * or NULL with @error set. */
static QmpCall *
fds_call_new (QmpCallKind   kind,
              const char   *command,
              JsonObject   *arguments,
              GUnixFDList  *fd_list,
              const char   *event_name,
              JsonObject   *event_match,
              GError      **error)
{
  g_autoptr(QmpCall) call = _qmp_call_new (kind, command, arguments, FALSE, event_name, event_match);

  if (fd_list != NULL && !_qmp_call_set_fds (call, fd_list, error))
    {
      g_prefix_error (error, _("Cannot duplicate the file descriptors for “%s”: "), command);
      return NULL;
    }

  return g_steal_pointer (&call);
}

/**
 * qmp_connection_execute_with_fds_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"getfd"`
 * @arguments: (nullable): the command's arguments
 * @fd_list: (nullable): the file descriptors to send with the command
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command on the server, as [method@Qmp.Connection.execute_async]
 * does, and hands the server the file descriptors of @fd_list with it
 * (`SCM_RIGHTS`), as [method@Gio.DBusConnection.call_with_unix_fd_list]
 * does.  Finish it with [method@Qmp.Connection.execute_with_fds_finish].
 *
 * The call duplicates the descriptors before it returns: the caller keeps
 * @fd_list and its descriptors, and may close them at once.  The
 * duplicates are closed once they are sent (the server then has its own),
 * or when the call fails before that.
 *
 * The descriptors travel with the first byte of the command's line, so
 * the server attaches them to this command, whatever else is in flight.
 * On a connection that negotiated out-of-band execution, the command is
 * sent only once every command sent before it is answered, and no later
 * in-band command is sent until it is answered: QEMU's monitor reads
 * ahead there, and would give the descriptors to whichever command takes
 * descriptors first.  (Out-of-band commands still go out: none of QEMU's
 * takes descriptors.)  %QMP_EXECUTE_FLAGS_OOB cannot be used with
 * descriptors.
 *
 * On a connection that is not a Unix domain socket the call fails with
 * %G_IO_ERROR_NOT_SUPPORTED, and nothing is sent.  A cancellation or
 * timeout before the command's first byte is written means that neither
 * the command nor the descriptors are sent.
 *
 * What the server does with the descriptors is up to the command: `getfd`
 * keeps one under a name until `closefd`, `add-fd` keeps one in a set until
 * `remove-fd`; a command that does not take descriptors leaves them to be
 * closed by the server.  [method@Qmp.Connection.getfd_sync] and
 * [method@Qmp.Connection.add_fd_sync] are typed calls for those two.
 *
 * ```c
 * g_autoptr(GUnixFDList) fds = g_unix_fd_list_new_from_array (&fd, 1);
 * g_autoptr(JsonObject) arguments = json_object_new ();
 *
 * json_object_set_string_member (arguments, "fdname", "vnc0");
 * qmp_connection_execute_with_fds_async (connection, "getfd", arguments, fds,
 *                                        QMP_EXECUTE_FLAGS_NONE, NULL,
 *                                        on_getfd_done, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_with_fds_async (QmpConnection       *self,
                                       const char          *command,
                                       JsonObject          *arguments,
                                       GUnixFDList         *fd_list,
                                       QmpExecuteFlags      flags,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;
  GError *error = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list));
  g_return_if_fail (fd_list_is_empty (fd_list) || (flags & QMP_EXECUTE_FLAGS_OOB) == 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = fds_call_new (QMP_CALL_COMMAND, command, arguments, fd_list, NULL, NULL, &error);
  if (call == NULL)
    {
      g_task_report_error (self, callback, user_data, qmp_connection_execute_async, error);
      return;
    }

  /* The check may have to wait for the schema: it keeps the duplicates,
   * since the caller may close its descriptors as soon as this returns. */
  if (_qmp_connection_check_fds_call_async (self, qmp_connection_execute_async, command,
                                            arguments, _qmp_call_get_fds (call), flags,
                                            NULL, NULL, cancellable, callback, user_data))
    return;

  _qmp_connection_submit_async (self, call, qmp_connection_execute_async, -1,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_with_fds_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_with_fds_async].
 *
 * ```c
 * g_autoptr(JsonNode) ret = qmp_connection_execute_with_fds_finish (QMP_CONNECTION (source),
 *                                                                   result, &error);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_with_fds_finish (QmpConnection  *self,
                                        GAsyncResult   *result,
                                        GError        **error)
{
  return qmp_connection_execute_finish (self, result, error);
}

/**
 * qmp_connection_execute_with_fds_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"getfd"`
 * @arguments: (nullable): the command's arguments
 * @fd_list: (nullable): the file descriptors to send with the command
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command on the server with the file descriptors of @fd_list,
 * blocking the calling thread until the reply came; see
 * [method@Qmp.Connection.execute_with_fds_async].  The caller keeps
 * its list: the call sends duplicates.
 *
 * ```c
 * int pair[2];
 * g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
 * g_autoptr(JsonNode) ret = NULL;
 *
 * socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
 * g_unix_fd_list_append (fds, pair[0], NULL);
 * close (pair[0]);   // the list has its own copy, and the call sends another
 * ret = qmp_connection_execute_with_fds_sync (connection, "getfd",
 *                                             arguments, fds,
 *                                             QMP_EXECUTE_FLAGS_NONE,
 *                                             NULL, &error);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_with_fds_sync (QmpConnection    *self,
                                      const char       *command,
                                      JsonObject       *arguments,
                                      GUnixFDList      *fd_list,
                                      QmpExecuteFlags   flags,
                                      GCancellable     *cancellable,
                                      GError          **error)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list), NULL);
  g_return_val_if_fail (fd_list_is_empty (fd_list) || (flags & QMP_EXECUTE_FLAGS_OOB) == 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_connection_check_call_sync (self, command, arguments, flags, -1, cancellable, error))
    return NULL;

  call = fds_call_new (QMP_CALL_COMMAND, command, arguments, fd_list, NULL, NULL, error);
  if (call == NULL)
    return NULL;

  if (!_qmp_connection_submit_sync (self, call, -1, cancellable, error))
    return NULL;

  return _qmp_call_steal_return (call);
}

/**
 * qmp_connection_execute_until_event_with_fds_async:
 * @self: a #QmpConnection
 * @command: the name of the command
 * @arguments: (nullable): the command's arguments
 * @fd_list: (nullable): the file descriptors to send with the command
 * @event_name: the event that finishes the call
 * @event_match: (nullable): members that the event's data must have
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call finished
 * @user_data: (closure callback): data for @callback
 *
 * [method@Qmp.Connection.execute_until_event_async] with file descriptors
 * sent with the command, as [method@Qmp.Connection.execute_with_fds_async]
 * sends them.  Finish it with
 * [method@Qmp.Connection.execute_until_event_with_fds_finish].
 *
 * ```c
 * // a command that takes descriptors and finishes on an event
 * qmp_connection_execute_until_event_with_fds_async (connection, command, arguments, fds,
 *                                                    event_name, event_match, NULL,
 *                                                    on_done, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_until_event_with_fds_async (QmpConnection       *self,
                                                   const char          *command,
                                                   JsonObject          *arguments,
                                                   GUnixFDList         *fd_list,
                                                   const char          *event_name,
                                                   JsonObject          *event_match,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;
  GError *error = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list));
  g_return_if_fail (event_name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = fds_call_new (QMP_CALL_UNTIL_EVENT, command, arguments, fd_list,
                       event_name, event_match, &error);
  if (call == NULL)
    {
      g_task_report_error (self, callback, user_data, qmp_connection_execute_until_event_async,
                           error);
      return;
    }

  if (_qmp_connection_check_fds_call_async (self, qmp_connection_execute_until_event_async,
                                            command, arguments, _qmp_call_get_fds (call),
                                            QMP_EXECUTE_FLAGS_NONE, event_name, event_match,
                                            cancellable, callback, user_data))
    return;

  _qmp_connection_submit_async (self, call, qmp_connection_execute_until_event_async, -1,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_until_event_with_fds_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_until_event_with_fds_async].
 *
 * ```c
 * g_autoptr(JsonNode) ret = NULL;
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_with_fds_finish (QMP_CONNECTION (source), result,
 *                                                       &ret, &error);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_with_fds_finish (QmpConnection  *self,
                                                    GAsyncResult   *result,
                                                    JsonNode      **return_value,
                                                    GError        **error)
{
  return qmp_connection_execute_until_event_finish (self, result, return_value, error);
}

/**
 * qmp_connection_execute_until_event_with_fds_sync:
 * @self: a #QmpConnection
 * @command: the name of the command
 * @arguments: (nullable): the command's arguments
 * @fd_list: (nullable): the file descriptors to send with the command
 * @event_name: the event that finishes the call
 * @event_match: (nullable): members that the event's data must have
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * [method@Qmp.Connection.execute_until_event_sync] with file descriptors
 * sent with the command, as [method@Qmp.Connection.execute_with_fds_async]
 * sends them.
 *
 * ```c
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_with_fds_sync (connection, command, arguments, fds,
 *                                                     event_name, event_match, NULL,
 *                                                     NULL, &error);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_with_fds_sync (QmpConnection  *self,
                                                  const char     *command,
                                                  JsonObject     *arguments,
                                                  GUnixFDList    *fd_list,
                                                  const char     *event_name,
                                                  JsonObject     *event_match,
                                                  JsonNode      **return_value,
                                                  GCancellable   *cancellable,
                                                  GError        **error)
{
  g_autoptr(QmpCall) call = NULL;

  if (return_value != NULL)
    *return_value = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list), NULL);
  g_return_val_if_fail (event_name != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_connection_check_call_sync (self, command, arguments, QMP_EXECUTE_FLAGS_NONE, -1,
                                        cancellable, error))
    return NULL;

  call = fds_call_new (QMP_CALL_UNTIL_EVENT, command, arguments, fd_list,
                       event_name, event_match, error);
  if (call == NULL)
    return NULL;

  if (!_qmp_connection_submit_sync (self, call, -1, cancellable, error))
    return NULL;

  if (return_value != NULL)
    *return_value = _qmp_call_steal_return (call);

  return _qmp_call_steal_event (call);
}
