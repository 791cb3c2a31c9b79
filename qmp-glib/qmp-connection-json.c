/* qmp-connection-json.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "qmp-channel-private.h"
#include "qmp-connection.h"
#include "qmp-connection-private.h"
#include "qmp-json-private.h"
#include "qmp-schema-private.h"

/* The calls of QmpConnection that take the arguments as JSON text and
 * give the return as JSON text: for languages that read and write JSON
 * themselves (the Python override), no JsonNode is built on either side.
 * They are execute_json calls, whose _finish finishes them too. */

static gboolean
needs_tree (QmpConnection   *self,
            QmpExecuteFlags  flags)
{
  /* The schema checks a JsonObject. */
  return (flags & QMP_EXECUTE_FLAGS_VALIDATE) != 0 || qmp_connection_get_validate_arguments (self);
}

/* @arguments_json as it goes on the command's line, checked to be one
 * JSON object; in @tree too when the schema is to check it. */
static gboolean
take_arguments (const char  *command,
                const char  *arguments_json,
                gboolean     want_tree,
                char       **line_text,
                JsonObject **tree,
                GError     **error)
{
  gsize len = strlen (arguments_json);
  g_autoptr(GError) local_error = NULL;
  const char *p = arguments_json;

  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;

  if (!_qmp_json_check (arguments_json, len, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The arguments of “%s” are not valid JSON: %s"), command, local_error->message);
      return FALSE;
    }
  if (*p != '{')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The arguments of “%s” are not a JSON object"), command);
      return FALSE;
    }

  if (want_tree)
    {
      g_autoptr(JsonNode) node = _qmp_json_parse (arguments_json, len, NULL, NULL);

      g_assert (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
      *tree = json_object_ref (json_node_get_object (node));
    }

  /* In valid JSON a line break can only be white space: a command is one
   * line (the library's own servers read lines). */
  *line_text = g_strdup (arguments_json);
  g_strdelimit (*line_text, "\r\n", ' ');

  return TRUE;
}

/**
 * qmp_connection_execute_text_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments_json: (nullable): the command's arguments as the text of a
 *   JSON object, or %NULL for none
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command on the server, as [method@Qmp.Connection.execute_json_async]
 * does, with arguments given as JSON text: JSON text in, JSON text out,
 * and no #JsonNode built on either side.  Call
 * [method@Qmp.Connection.execute_text_finish] from @callback to get the
 * `return` member of the reply as the server wrote it.
 *
 * @arguments_json is checked to be one JSON object and sent as it is, so
 * its numbers keep their lexemes too (`18446744073709551615`).  When it
 * is not, the call fails with %G_IO_ERROR_INVALID_ARGUMENT and nothing is
 * sent.  This is for languages that write JSON themselves:
 *
 * ```python
 * connection.execute_text_async("qom-get",
 *                               json.dumps({"path": "/machine", "property": "type"}),
 *                               Qmp.ExecuteFlags.NONE, None, on_reply)
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_text_async (QmpConnection       *self,
                                   const char          *command,
                                   const char          *arguments_json,
                                   QmpExecuteFlags      flags,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;
  g_autoptr(JsonObject) tree = NULL;
  g_autofree char *line_text = NULL;
  GError *error = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (arguments_json != NULL &&
      !take_arguments (command, arguments_json, needs_tree (self, flags), &line_text, &tree, &error))
    {
      g_task_report_error (self, callback, user_data, qmp_connection_execute_json_async, error);
      return;
    }

  /* A check that waits for the schema makes the call itself, from the
   * tree (json-glib's numbers then). */
  if (_qmp_connection_check_call_async (self, qmp_connection_execute_json_async, command, tree,
                                        flags, NULL, NULL, cancellable, callback, user_data))
    return;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, NULL,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  if (line_text != NULL)
    _qmp_call_take_arguments_json (call, g_steal_pointer (&line_text));
  _qmp_connection_submit_async (self, call, qmp_connection_execute_json_async, -1,
                                cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_text_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_text_async], as
 * [method@Qmp.Connection.execute_json_finish] does.
 *
 * ```c
 * // in the callback given to qmp_connection_execute_text_async ()
 * g_autofree char *json = qmp_connection_execute_text_finish (QMP_CONNECTION (source),
 *                                                             result, &error);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply as the
 *   server wrote it (valid JSON, checked when it came), or %NULL on error
 *
 * Since: 1.0
 */
char *
qmp_connection_execute_text_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  return qmp_connection_execute_json_finish (self, result, error);
}

/**
 * qmp_connection_execute_text_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments_json: (nullable): the command's arguments as the text of a
 *   JSON object, or %NULL for none
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command on the server, blocking the calling thread until the
 * reply came, with arguments given as JSON text, and gives its result as
 * the JSON text the server sent (see
 * [method@Qmp.Connection.execute_text_async]).  Arguments that are not
 * one JSON object fail the call with %G_IO_ERROR_INVALID_ARGUMENT, and
 * nothing is sent.
 *
 * ```c
 * g_autofree char *json =
 *   qmp_connection_execute_text_sync (connection, "migrate-set-parameters",
 *                                     "{\"max-bandwidth\": 18446744073709551615}",
 *                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply as the
 *   server wrote it, or %NULL on error
 *
 * Since: 1.0
 */
char *
qmp_connection_execute_text_sync (QmpConnection    *self,
                                  const char       *command,
                                  const char       *arguments_json,
                                  QmpExecuteFlags   flags,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  g_autoptr(QmpCall) call = NULL;
  g_autoptr(JsonObject) tree = NULL;
  g_autofree char *line_text = NULL;
  gboolean want_tree;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  want_tree = needs_tree (self, flags);
  if (arguments_json != NULL &&
      !take_arguments (command, arguments_json, want_tree, &line_text, &tree, error))
    return NULL;

  if (want_tree &&
      !_qmp_connection_check_call_sync (self, command, tree, flags, -1, cancellable, error))
    return NULL;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, NULL,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  if (line_text != NULL)
    _qmp_call_take_arguments_json (call, g_steal_pointer (&line_text));
  if (!_qmp_connection_submit_sync (self, call, -1, cancellable, error))
    return NULL;

  return _qmp_call_steal_return_json (call);
}
