/* qmp-commands-fds.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-commands.h"
#include "qmp-error.h"

/* The typed commands for QEMU's two stores of descriptors: named ones
 * (`getfd`, `closefd`), which a command such as `add_client` or
 * `netdev_add` takes by name, and descriptor sets (`add-fd`, `remove-fd`,
 * `query-fdsets`), which block and character devices open as
 * `/dev/fdset/N`.  Each is execute_with_fds plus a check of the reply:
 * what QEMU assigned is peer data, checked before it is believed.
 *
 * Ownership, for all of them: the caller's descriptor stays the caller's
 * (the call sends a duplicate); QEMU's copy stays in QEMU until `closefd`,
 * a command that takes it, or `remove-fd`. */

/* The result of add-fd. */
typedef struct
{
  gint64 fdset_id;
  gint64 fd;
} AddFdResult;

/* The reply @ret of the command the task stands for, checked and turned
 * into the task's result; FALSE with @error set if it is not what QEMU
 * sends. */
static gboolean
reply_check (gpointer    source_tag,
             JsonNode   *ret,
             gpointer   *result,
             GError    **error);

static GUnixFDList *
fd_list_for (int      fd,
             GError **error)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();

  if (g_unix_fd_list_append (list, fd, error) < 0)
    return NULL;

  return g_steal_pointer (&list);
}

static GError *
bad_reply (const char *command)
{
  return g_error_new (QMP_ERROR, QMP_ERROR_PROTOCOL,
                      _("The server’s reply to “%s” is not what the command returns"), command);
}

static gboolean
add_fd_reply_check (JsonNode     *ret,
                    AddFdResult  *out,
                    GError      **error)
{
  JsonObject *object;
  JsonNode *fdset_id;
  JsonNode *fd;

  if (!JSON_NODE_HOLDS_OBJECT (ret))
    goto bad;
  object = json_node_get_object (ret);
  fdset_id = json_object_get_member (object, "fdset-id");
  fd = json_object_get_member (object, "fd");
  if (fdset_id == NULL || !JSON_NODE_HOLDS_VALUE (fdset_id) ||
      json_node_get_value_type (fdset_id) != G_TYPE_INT64 || json_node_get_int (fdset_id) < 0 ||
      fd == NULL || !JSON_NODE_HOLDS_VALUE (fd) ||
      json_node_get_value_type (fd) != G_TYPE_INT64 || json_node_get_int (fd) < 0)
    goto bad;

  out->fdset_id = json_node_get_int (fdset_id);
  out->fd = json_node_get_int (fd);
  return TRUE;

bad:
  g_propagate_error (error, bad_reply ("add-fd"));
  return FALSE;
}

/* query-fdsets: [{"fdset-id": int, "fds": [{"fd": int, "opaque"?: str}]}] */
static gboolean
fdsets_reply_check (JsonNode  *ret,
                    GError   **error)
{
  JsonArray *sets;

  if (!JSON_NODE_HOLDS_ARRAY (ret))
    goto bad;

  sets = json_node_get_array (ret);
  for (guint i = 0; i < json_array_get_length (sets); i++)
    {
      JsonNode *set_node = json_array_get_element (sets, i);
      JsonObject *set;
      JsonNode *fds;

      if (!JSON_NODE_HOLDS_OBJECT (set_node))
        goto bad;
      set = json_node_get_object (set_node);
      if (json_object_get_member (set, "fdset-id") == NULL ||
          json_node_get_value_type (json_object_get_member (set, "fdset-id")) != G_TYPE_INT64)
        goto bad;
      fds = json_object_get_member (set, "fds");
      if (fds == NULL || !JSON_NODE_HOLDS_ARRAY (fds))
        goto bad;
      for (guint j = 0; j < json_array_get_length (json_node_get_array (fds)); j++)
        {
          JsonNode *fd_node = json_array_get_element (json_node_get_array (fds), j);
          JsonNode *member;

          if (!JSON_NODE_HOLDS_OBJECT (fd_node))
            goto bad;
          member = json_object_get_member (json_node_get_object (fd_node), "fd");
          if (member == NULL || json_node_get_value_type (member) != G_TYPE_INT64)
            goto bad;
          member = json_object_get_member (json_node_get_object (fd_node), "opaque");
          if (member != NULL && json_node_get_value_type (member) != G_TYPE_STRING)
            goto bad;
        }
    }

  return TRUE;

bad:
  g_propagate_error (error, bad_reply ("query-fdsets"));
  return FALSE;
}

static void
on_executed (GObject      *source_object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonNode) ret = NULL;
  GError *error = NULL;
  gpointer value = NULL;

  ret = qmp_connection_execute_with_fds_finish (QMP_CONNECTION (source_object), result, &error);
  if (ret == NULL || !reply_check (g_task_get_source_tag (task), ret, &value, &error))
    g_task_return_error (task, error);
  else if (value != NULL)
    g_task_return_pointer (task, value, g_free);
  else
    g_task_return_boolean (task, TRUE);
}

/* Runs @command with @fd (-1: none) for the task of @source_tag. */
static void
typed_async (QmpConnection       *self,
             gpointer             source_tag,
             const char          *command,
             JsonObject          *arguments,
             int                  fd,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GUnixFDList) fds = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, source_tag);
  if (fd >= 0 && (fds = fd_list_for (fd, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  qmp_connection_execute_with_fds_async (self, command, arguments, fds, QMP_EXECUTE_FLAGS_NONE,
                                         cancellable, on_executed, g_steal_pointer (&task));
}

static gpointer
typed_sync (QmpConnection  *self,
            gpointer        source_tag,
            const char     *command,
            JsonObject     *arguments,
            int             fd,
            GCancellable   *cancellable,
            GError        **error)
{
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(JsonNode) ret = NULL;
  gpointer value = NULL;

  if (fd >= 0 && (fds = fd_list_for (fd, error)) == NULL)
    return NULL;

  ret = qmp_connection_execute_with_fds_sync (self, command, arguments, fds, QMP_EXECUTE_FLAGS_NONE,
                                              cancellable, error);
  if (ret == NULL || !reply_check (source_tag, ret, &value, error))
    return NULL;

  /* The boolean commands have no value: any non-NULL pointer says yes. */
  return value != NULL ? value : GINT_TO_POINTER (TRUE);
}

static gboolean
typed_finish_boolean (QmpConnection  *self,
                      GAsyncResult   *result,
                      gpointer        source_tag,
                      GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* -------------------------------------------------------- getfd/closefd */

/**
 * qmp_connection_getfd_async:
 * @self: a #QmpConnection
 * @fdname: the name QEMU is to keep the descriptor under
 * @fd: the descriptor to hand QEMU
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Hands QEMU a duplicate of @fd to keep under the name @fdname (`getfd`),
 * for a later command that takes a descriptor by name, such as
 * `add_client` or `netdev_add`.  @fd stays the caller's.  QEMU's copy
 * stays in QEMU until a command takes it or
 * [method@Qmp.Connection.closefd_async] closes it; a name given again
 * replaces (and closes) the descriptor it had.
 *
 * ```c
 * qmp_connection_getfd_async (connection, "vnc0", pair[1], NULL, on_getfd, self);
 * close (pair[1]);   // QEMU gets a duplicate
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_getfd_async (QmpConnection       *self,
                            const char          *fdname,
                            int                  fd,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (fdname != NULL);
  g_return_if_fail (fd >= 0);

  json_object_set_string_member (arguments, "fdname", fdname);
  typed_async (self, qmp_connection_getfd_async, "getfd", arguments, fd,
               cancellable, callback, user_data);
}

/**
 * qmp_connection_getfd_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.getfd_async].
 *
 * ```c
 * if (!qmp_connection_getfd_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("getfd failed: %s", error->message);
 * ```
 *
 * Returns: %TRUE if QEMU keeps the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_getfd_finish (QmpConnection  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  return typed_finish_boolean (self, result, qmp_connection_getfd_async, error);
}

/**
 * qmp_connection_getfd_sync:
 * @self: a #QmpConnection
 * @fdname: the name QEMU is to keep the descriptor under
 * @fd: the descriptor to hand QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Hands QEMU a duplicate of @fd under the name @fdname; see
 * [method@Qmp.Connection.getfd_async].
 *
 * ```c
 * // a VNC client on one end of a socket pair, QEMU's server on the other
 * socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
 * if (qmp_connection_getfd_sync (connection, "vnc0", pair[1], NULL, &error))
 *   {
 *     close (pair[1]);   // QEMU has its own copy
 *     // then add_client {"protocol": "vnc", "fdname": "vnc0"}
 *   }
 * ```
 *
 * Returns: %TRUE if QEMU keeps the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_getfd_sync (QmpConnection  *self,
                           const char     *fdname,
                           int             fd,
                           GCancellable   *cancellable,
                           GError        **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (fdname != NULL, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json_object_set_string_member (arguments, "fdname", fdname);
  return typed_sync (self, qmp_connection_getfd_async, "getfd", arguments, fd,
                     cancellable, error) != NULL;
}

/**
 * qmp_connection_closefd_async:
 * @self: a #QmpConnection
 * @fdname: the name given to [method@Qmp.Connection.getfd_async]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Closes QEMU's descriptor named @fdname (`closefd`).  A name that a
 * command took already is gone: QEMU then fails with a %QMP_ERROR.
 *
 * ```c
 * qmp_connection_closefd_async (connection, "vnc0", NULL, on_closefd, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_closefd_async (QmpConnection       *self,
                              const char          *fdname,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (fdname != NULL);

  json_object_set_string_member (arguments, "fdname", fdname);
  typed_async (self, qmp_connection_closefd_async, "closefd", arguments, -1,
               cancellable, callback, user_data);
}

/**
 * qmp_connection_closefd_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.closefd_async].
 *
 * ```c
 * if (!qmp_connection_closefd_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("closefd failed: %s", error->message);
 * ```
 *
 * Returns: %TRUE if QEMU closed the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_closefd_finish (QmpConnection  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  return typed_finish_boolean (self, result, qmp_connection_closefd_async, error);
}

/**
 * qmp_connection_closefd_sync:
 * @self: a #QmpConnection
 * @fdname: the name given to [method@Qmp.Connection.getfd_sync]
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Closes QEMU's descriptor named @fdname; see
 * [method@Qmp.Connection.closefd_async].
 *
 * ```c
 * // a name that no command took: give QEMU its descriptor back
 * qmp_connection_closefd_sync (connection, "tap0", NULL, &error);
 * ```
 *
 * Returns: %TRUE if QEMU closed the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_closefd_sync (QmpConnection  *self,
                             const char     *fdname,
                             GCancellable   *cancellable,
                             GError        **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (fdname != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json_object_set_string_member (arguments, "fdname", fdname);
  return typed_sync (self, qmp_connection_closefd_async, "closefd", arguments, -1,
                     cancellable, error) != NULL;
}

/* ------------------------------------------------------ descriptor sets */

static JsonObject *
add_fd_arguments (gint64      fdset_id,
                  const char *opaque)
{
  JsonObject *arguments = json_object_new ();

  if (fdset_id >= 0)
    json_object_set_int_member (arguments, "fdset-id", fdset_id);
  if (opaque != NULL)
    json_object_set_string_member (arguments, "opaque", opaque);

  return arguments;
}

/**
 * qmp_connection_add_fd_async:
 * @self: a #QmpConnection
 * @fd: the descriptor to hand QEMU
 * @fdset_id: the set to add it to, or -1 for a new set
 * @opaque: (nullable): a note kept with the descriptor, shown by
 *   `query-fdsets`
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Adds a duplicate of @fd to a descriptor set of QEMU (`add-fd`), which a
 * block or character device then opens as `/dev/fdset/N`.  @fd stays the
 * caller's.  QEMU's copy stays in the set until
 * [method@Qmp.Connection.remove_fd_async] removes it (QEMU closes it once
 * nothing opened from the set uses it any more); a set lives while it
 * has descriptors.  To have a set removed again when the command that
 * was to use it fails, run that command with
 * [method@Qmp.Connection.execute_with_fdset_async].
 *
 * ```c
 * qmp_connection_add_fd_async (connection, image_fd, -1, "disk.img", NULL, on_added, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_add_fd_async (QmpConnection       *self,
                             int                  fd,
                             gint64               fdset_id,
                             const char          *opaque,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(JsonObject) arguments = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (fd >= 0);
  g_return_if_fail (fdset_id >= -1);

  arguments = add_fd_arguments (fdset_id, opaque);
  typed_async (self, qmp_connection_add_fd_async, "add-fd", arguments, fd,
               cancellable, callback, user_data);
}

/**
 * qmp_connection_add_fd_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @out_fdset_id: (out) (optional): the set QEMU put the descriptor in
 * @out_fd: (out) (optional): the number of the descriptor in QEMU
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.add_fd_async].  A reply without a
 * non-negative `fdset-id` and `fd` is a %QMP_ERROR_PROTOCOL error.
 *
 * ```c
 * gint64 set, fd;
 *
 * if (qmp_connection_add_fd_finish (QMP_CONNECTION (source), result, &set, &fd, &error))
 *   g_print ("in set %" G_GINT64_FORMAT " as descriptor %" G_GINT64_FORMAT "\n", set, fd);
 * ```
 *
 * Returns: %TRUE if QEMU added the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_add_fd_finish (QmpConnection  *self,
                              GAsyncResult   *result,
                              gint64         *out_fdset_id,
                              gint64         *out_fd,
                              GError        **error)
{
  g_autofree AddFdResult *value = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_add_fd_async,
                        FALSE);

  value = g_task_propagate_pointer (G_TASK (result), error);
  if (value == NULL)
    return FALSE;

  if (out_fdset_id != NULL)
    *out_fdset_id = value->fdset_id;
  if (out_fd != NULL)
    *out_fd = value->fd;

  return TRUE;
}

/**
 * qmp_connection_add_fd_sync:
 * @self: a #QmpConnection
 * @fd: the descriptor to hand QEMU
 * @fdset_id: the set to add it to, or -1 for a new set
 * @opaque: (nullable): a note kept with the descriptor
 * @out_fdset_id: (out) (optional): the set QEMU put the descriptor in
 * @out_fd: (out) (optional): the number of the descriptor in QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Adds a duplicate of @fd to a descriptor set of QEMU; see
 * [method@Qmp.Connection.add_fd_async].
 *
 * ```c
 * int fd = open ("disk.img", O_RDONLY | O_CLOEXEC);
 * gint64 set;
 *
 * if (qmp_connection_add_fd_sync (connection, fd, -1, "disk.img", &set, NULL,
 *                                 NULL, &error))
 *   {
 *     close (fd);   // QEMU has its own copy
 *     // then blockdev-add {"driver": "file", "filename": "/dev/fdset/<set>", ...}
 *   }
 * ```
 *
 * Returns: %TRUE if QEMU added the descriptor
 *
 * Since: 1.0
 */
gboolean
qmp_connection_add_fd_sync (QmpConnection  *self,
                            int             fd,
                            gint64          fdset_id,
                            const char     *opaque,
                            gint64         *out_fdset_id,
                            gint64         *out_fd,
                            GCancellable   *cancellable,
                            GError        **error)
{
  g_autoptr(JsonObject) arguments = NULL;
  g_autofree AddFdResult *value = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (fdset_id >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  arguments = add_fd_arguments (fdset_id, opaque);
  value = typed_sync (self, qmp_connection_add_fd_async, "add-fd", arguments, fd,
                      cancellable, error);
  if (value == NULL)
    return FALSE;

  if (out_fdset_id != NULL)
    *out_fdset_id = value->fdset_id;
  if (out_fd != NULL)
    *out_fd = value->fd;

  return TRUE;
}

static JsonObject *
remove_fd_arguments (gint64 fdset_id,
                     gint64 fd)
{
  JsonObject *arguments = json_object_new ();

  json_object_set_int_member (arguments, "fdset-id", fdset_id);
  if (fd >= 0)
    json_object_set_int_member (arguments, "fd", fd);

  return arguments;
}

/**
 * qmp_connection_remove_fd_async:
 * @self: a #QmpConnection
 * @fdset_id: the set
 * @fd: the descriptor (its number in QEMU) to remove, or -1 for all of
 *   the set's
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Removes a descriptor, or the whole set, from QEMU's descriptor sets
 * (`remove-fd`).  QEMU closes a removed descriptor once no device opened
 * from the set uses it, and forgets the set when it has none left.
 *
 * ```c
 * qmp_connection_remove_fd_async (connection, set, -1, NULL, on_removed, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_remove_fd_async (QmpConnection       *self,
                                gint64               fdset_id,
                                gint64               fd,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(JsonObject) arguments = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (fdset_id >= 0);
  g_return_if_fail (fd >= -1);

  arguments = remove_fd_arguments (fdset_id, fd);
  typed_async (self, qmp_connection_remove_fd_async, "remove-fd", arguments, -1,
               cancellable, callback, user_data);
}

/**
 * qmp_connection_remove_fd_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.remove_fd_async].
 *
 * ```c
 * if (!qmp_connection_remove_fd_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("remove-fd failed: %s", error->message);
 * ```
 *
 * Returns: %TRUE if QEMU removed the descriptor or set
 *
 * Since: 1.0
 */
gboolean
qmp_connection_remove_fd_finish (QmpConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  return typed_finish_boolean (self, result, qmp_connection_remove_fd_async, error);
}

/**
 * qmp_connection_remove_fd_sync:
 * @self: a #QmpConnection
 * @fdset_id: the set
 * @fd: the descriptor (its number in QEMU) to remove, or -1 for all of
 *   the set's
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Removes a descriptor, or the whole set, from QEMU's descriptor sets;
 * see [method@Qmp.Connection.remove_fd_async].
 *
 * ```c
 * // the disk is gone: its set can go too
 * qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error);
 * qmp_connection_remove_fd_sync (connection, set, -1, NULL, &error);
 * ```
 *
 * Returns: %TRUE if QEMU removed the descriptor or set
 *
 * Since: 1.0
 */
gboolean
qmp_connection_remove_fd_sync (QmpConnection  *self,
                               gint64          fdset_id,
                               gint64          fd,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autoptr(JsonObject) arguments = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (fdset_id >= 0, FALSE);
  g_return_val_if_fail (fd >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  arguments = remove_fd_arguments (fdset_id, fd);
  return typed_sync (self, qmp_connection_remove_fd_async, "remove-fd", arguments, -1,
                     cancellable, error) != NULL;
}

/**
 * qmp_connection_query_fdsets_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Asks QEMU for its descriptor sets (`query-fdsets`).
 *
 * ```c
 * qmp_connection_query_fdsets_async (connection, NULL, on_fdsets, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_query_fdsets_async (QmpConnection       *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (QMP_IS_CONNECTION (self));

  typed_async (self, qmp_connection_query_fdsets_async, "query-fdsets", NULL, -1,
               cancellable, callback, user_data);
}

/**
 * qmp_connection_query_fdsets_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.query_fdsets_async].
 *
 * ```c
 * g_autoptr(JsonArray) sets = qmp_connection_query_fdsets_finish (QMP_CONNECTION (source),
 *                                                                 result, &error);
 * ```
 *
 * Returns: (transfer full): the sets, each an object with an integer
 *   `fdset-id` and an array `fds` of objects with an integer `fd` and
 *   maybe a string `opaque` (checked: another shape is a
 *   %QMP_ERROR_PROTOCOL error), or %NULL on error
 *
 * Since: 1.0
 */
JsonArray *
qmp_connection_query_fdsets_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_query_fdsets_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_connection_query_fdsets_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Asks QEMU for its descriptor sets; see
 * [method@Qmp.Connection.query_fdsets_finish] for what it returns.
 *
 * ```c
 * g_autoptr(JsonArray) sets = qmp_connection_query_fdsets_sync (connection, NULL, &error);
 *
 * for (guint i = 0; sets != NULL && i < json_array_get_length (sets); i++)
 *   g_print ("set %" G_GINT64_FORMAT "\n",
 *            json_object_get_int_member (json_array_get_object_element (sets, i), "fdset-id"));
 * ```
 *
 * Returns: (transfer full): the sets, or %NULL on error
 *
 * Since: 1.0
 */
JsonArray *
qmp_connection_query_fdsets_sync (QmpConnection  *self,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return typed_sync (self, qmp_connection_query_fdsets_async, "query-fdsets", NULL, -1,
                     cancellable, error);
}

static gboolean
reply_check (gpointer    source_tag,
             JsonNode   *ret,
             gpointer   *result,
             GError    **error)
{
  *result = NULL;

  if (source_tag == qmp_connection_add_fd_async)
    {
      g_autofree AddFdResult *value = g_new0 (AddFdResult, 1);

      if (!add_fd_reply_check (ret, value, error))
        return FALSE;
      *result = g_steal_pointer (&value);
    }
  else if (source_tag == qmp_connection_query_fdsets_async)
    {
      if (!fdsets_reply_check (ret, error))
        return FALSE;
      *result = json_array_ref (json_node_get_array (ret));
    }

  return TRUE;
}

/* ---------------------------------------- a command that uses a set */

typedef struct
{
  gint64 fdset_id;
  char *command;
  GError *error;       /* the command's error, kept while the set goes */
} FdsetCall;

static void
fdset_call_free (FdsetCall *data)
{
  g_free (data->command);
  g_clear_error (&data->error);
  g_free (data);
}

static void
on_fdset_removed (GObject      *source_object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FdsetCall *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!qmp_connection_remove_fd_finish (QMP_CONNECTION (source_object), result, &error))
    g_debug ("Could not remove the descriptor set %" G_GINT64_FORMAT " after “%s” failed: %s",
             data->fdset_id, data->command, error->message);

  g_task_return_error (task, g_steal_pointer (&data->error));
}

static void
on_fdset_command_done (GObject      *source_object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpConnection *self = QMP_CONNECTION (source_object);
  FdsetCall *data = g_task_get_task_data (task);
  JsonNode *ret;

  ret = qmp_connection_execute_finish (self, result, &data->error);
  if (ret != NULL)
    {
      g_task_return_pointer (task, ret, (GDestroyNotify) json_node_unref);
      return;
    }

  /* Not cancellable: the set must go even when the caller gave up. */
  qmp_connection_remove_fd_async (self, data->fdset_id, -1, NULL, on_fdset_removed,
                                  g_steal_pointer (&task));
}

/**
 * qmp_connection_execute_with_fdset_async:
 * @self: a #QmpConnection
 * @fdset_id: the descriptor set that @command uses
 * @command: the name of the command, such as `"blockdev-add"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the command and, if it failed,
 *   the removal of the set are done
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command, which uses the descriptor set @fdset_id (added with
 * [method@Qmp.Connection.add_fd_async]), and removes the set from QEMU
 * again if the command fails, so that a failed command leaves no
 * descriptor behind in QEMU.  The result is the command's, its error the
 * command's error even if the removal failed too (on a connection that
 * closed meanwhile, the set may stay in QEMU).  A call cancelled
 * after the command was sent still removes the set; a device that QEMU
 * opened from it keeps its own descriptor.
 *
 * Finish it with [method@Qmp.Connection.execute_with_fdset_finish].
 *
 * ```c
 * qmp_connection_execute_with_fdset_async (connection, set, "blockdev-add", node,
 *                                          QMP_EXECUTE_FLAGS_NONE, NULL, on_node_added, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_with_fdset_async (QmpConnection       *self,
                                         gint64               fdset_id,
                                         const char          *command,
                                         JsonObject          *arguments,
                                         QmpExecuteFlags      flags,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FdsetCall *data;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (fdset_id >= 0);
  g_return_if_fail (command != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_execute_with_fdset_async);
  data = g_new0 (FdsetCall, 1);
  data->fdset_id = fdset_id;
  data->command = g_strdup (command);
  g_task_set_task_data (task, data, (GDestroyNotify) fdset_call_free);

  qmp_connection_execute_async (self, command, arguments, flags, cancellable,
                                on_fdset_command_done, g_steal_pointer (&task));
}

/**
 * qmp_connection_execute_with_fdset_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_with_fdset_async].
 *
 * ```c
 * g_autoptr(JsonNode) ret = qmp_connection_execute_with_fdset_finish (QMP_CONNECTION (source),
 *                                                                     result, &error);
 * // NULL: the command failed, and the set is gone from QEMU again
 * ```
 *
 * Returns: (transfer full): the `return` member of the command's reply,
 *   or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_with_fdset_finish (QmpConnection  *self,
                                          GAsyncResult   *result,
                                          GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        qmp_connection_execute_with_fdset_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_connection_execute_with_fdset_sync:
 * @self: a #QmpConnection
 * @fdset_id: the descriptor set that @command uses
 * @command: the name of the command, such as `"blockdev-add"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command, which uses the descriptor set @fdset_id, and removes the
 * set again if the command fails; see
 * [method@Qmp.Connection.execute_with_fdset_async].
 *
 * ```c
 * if (!qmp_connection_add_fd_sync (connection, fd, -1, NULL, &set, NULL, NULL, &error))
 *   return FALSE;
 * path = g_strdup_printf ("/dev/fdset/%" G_GINT64_FORMAT, set);
 * // ... arguments of blockdev-add with "filename": path
 * ret = qmp_connection_execute_with_fdset_sync (connection, set, "blockdev-add",
 *                                               arguments, QMP_EXECUTE_FLAGS_NONE,
 *                                               NULL, &error);
 * // on failure, the set is gone from QEMU again
 * ```
 *
 * Returns: (transfer full): the `return` member of the command's reply,
 *   or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_with_fdset_sync (QmpConnection    *self,
                                        gint64            fdset_id,
                                        const char       *command,
                                        JsonObject       *arguments,
                                        QmpExecuteFlags   flags,
                                        GCancellable     *cancellable,
                                        GError          **error)
{
  g_autoptr(GError) remove_error = NULL;
  GError *command_error = NULL;
  JsonNode *ret;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (fdset_id >= 0, NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ret = qmp_connection_execute_sync (self, command, arguments, flags, cancellable, &command_error);
  if (ret != NULL)
    return ret;

  if (!qmp_connection_remove_fd_sync (self, fdset_id, -1, NULL, &remove_error))
    g_debug ("Could not remove the descriptor set %" G_GINT64_FORMAT " after “%s” failed: %s",
             fdset_id, command, remove_error->message);

  g_propagate_error (error, command_error);
  return NULL;
}
