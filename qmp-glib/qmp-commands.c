/* qmp-commands.c: typed commands of QmpConnection
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-commands.h"
#include "qmp-enums.h"
#include "qmp-error.h"
#include "qmp-json-private.h"
#include "qmp-json-template.h"
#include "qmp-schema-private.h"
#include "qmp-sync-private.h"

/* Every typed command is one of the two execute calls with arguments built
 * here: no protocol code of its own.  A Command describes the call; the
 * three public functions of each command only fill one in. */
typedef struct
{
  const char *name;
  JsonObject *arguments;      /* owned, nullable */
  const char *event_name;     /* nullable: finish on the reply alone */
  JsonObject *event_match;    /* owned, nullable */
  const char *error_event;    /* nullable: an event that fails the call */
  gboolean invalid;           /* a template refused a string of the caller's
                               * (not UTF-8): after that critical, nothing is
                               * sent, as for a g_return_if_fail() */
} Command;

static void
command_clear (Command *command)
{
  g_clear_pointer (&command->arguments, json_object_unref);
  g_clear_pointer (&command->event_match, json_object_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Command, command_clear)

/* --------------------------------------------------- running a Command */

typedef struct
{
  GCancellable *cancellable;    /* cancels whichever of the two calls is left */
  gulong cancelled_id;
  GCancellable *caller_cancellable;
  guint pending;                /* calls not yet finished */
  GError *error;                /* the first error */
  char *device;                 /* for the error event's message */
} CommandData;

static void
command_data_free (gpointer data)
{
  CommandData *command_data = data;

  if (command_data->cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (command_data->caller_cancellable, command_data->cancelled_id);
  g_clear_object (&command_data->caller_cancellable);
  g_clear_object (&command_data->cancellable);
  g_clear_error (&command_data->error);
  g_free (command_data->device);
  g_free (command_data);
}

static void
command_part_done (GTask  *task,
                   GError *error)
{
  CommandData *command_data = g_task_get_task_data (task);

  if (error != NULL && command_data->error == NULL)
    {
      command_data->error = error;
      /* The other half is not needed any more. */
      g_cancellable_cancel (command_data->cancellable);
    }
  else if (error != NULL)
    {
      g_error_free (error);
    }

  if (--command_data->pending > 0)
    return;

  if (command_data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&command_data->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_executed (GObject      *source_object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError *error = NULL;
  JsonNode *ret = qmp_connection_execute_finish (QMP_CONNECTION (source_object), result, &error);

  g_clear_pointer (&ret, json_node_unref);
  command_part_done (user_data, error);
}

static void
on_executed_until_event (GObject      *source_object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GTask *task = user_data;
  CommandData *command_data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(QmpEvent) event = NULL;

  event = qmp_connection_execute_until_event_finish (QMP_CONNECTION (source_object), result, NULL, &error);

  /* The command is done: stop waiting for the error event. */
  if (error == NULL)
    g_cancellable_cancel (command_data->cancellable);

  command_part_done (task, error);
}

static void
on_error_event (GObject      *source_object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  CommandData *command_data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(QmpEvent) event = NULL;

  event = qmp_connection_wait_event_finish (QMP_CONNECTION (source_object), result, &error);

  if (event != NULL)
    {
      error = g_error_new (QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
                           _("The guest refused to release the device “%s”"),
                           command_data->device);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           !g_cancellable_is_cancelled (command_data->caller_cancellable))
    {
      /* Cancelled by us because the command succeeded: no error. */
      g_clear_error (&error);
    }

  command_part_done (task, error);
}

static void
command_run_async (QmpConnection       *self,
                   Command             *command,
                   gpointer             source_tag,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task;
  CommandData *command_data;

  if (command->invalid)
    return;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  command_data = g_new0 (CommandData, 1);
  command_data->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, command_data, command_data_free);

  if (cancellable != NULL)
    {
      command_data->caller_cancellable = g_object_ref (cancellable);
      command_data->cancelled_id = _qmp_cancellable_forward (cancellable, command_data->cancellable);
    }

  if (command->error_event != NULL)
    {
      /* Armed first, so it cannot miss an event caused by the command. */
      command_data->pending++;
      command_data->device = g_strdup (json_object_get_string_member (command->event_match, "device"));
      qmp_connection_wait_event_async (self, command->error_event, command->event_match,
                                       command_data->cancellable, on_error_event, task);
    }

  command_data->pending++;
  if (command->event_name != NULL)
    qmp_connection_execute_until_event_async (self, command->name, command->arguments,
                                              command->event_name, command->event_match,
                                              command_data->cancellable,
                                              on_executed_until_event, task);
  else
    qmp_connection_execute_async (self, command->name, command->arguments,
                                  QMP_EXECUTE_FLAGS_NONE, command_data->cancellable,
                                  on_executed, task);
}

static gboolean
command_run_finish (QmpConnection  *self,
                    GAsyncResult   *result,
                    gpointer        source_tag,
                    GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
command_run_sync (QmpConnection  *self,
                  Command        *command,
                  GCancellable   *cancellable,
                  GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  if (command->invalid)
    return FALSE;

  if (command->event_name == NULL)
    {
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (self, command->name, command->arguments,
                                                             QMP_EXECUTE_FLAGS_NONE, cancellable, error);
      return ret != NULL;
    }

  if (command->error_event == NULL)
    {
      g_autoptr(QmpEvent) event = qmp_connection_execute_until_event_sync (self, command->name,
                                                                           command->arguments,
                                                                           command->event_name,
                                                                           command->event_match,
                                                                           NULL, cancellable, error);
      return event != NULL;
    }

  /* Two calls racing: the asynchronous version, waited for privately. */
  _QMP_RUN_IN_PRIVATE_CONTEXT (result, command_run_async (self, command, command_run_sync, cancellable,
                                                          _qmp_store_result, &result));

  return command_run_finish (self, result, command_run_sync, error);
}

/* --------------------------------------------------- the typed commands */

static void
command_init_stop (Command *command)
{
  command->name = "stop";
}

static void
command_init_cont (Command *command)
{
  command->name = "cont";
}

static void
command_init_system_powerdown (Command *command)
{
  /* Done when the guest has really shut down, not when QEMU passed the
   * request on (POWERDOWN). */
  command->name = "system_powerdown";
  command->event_name = "SHUTDOWN";
}

static void
command_init_quit (Command *command)
{
  command->name = "quit";
}

static void
command_init_blockdev_add (Command       *command,
                           QmpConnection *self,
                           const char    *filename,
                           const char    *node_name)
{
  if (_qmp_connection_has_command (self, "blockdev-add", 2, 9, 0))
    {
      /* Flat since QEMU 2.9, when blockdev-add became stable. */
      command->name = "blockdev-add";
      command->arguments =
        qmp_json_build_object ("{'driver': 'raw', 'file': {'driver': 'file', 'filename': %s},"
                               " 'node-name': %s}",
                               filename, node_name);
    }
  else
    {
      command->name = "x-blockdev-add";
      command->arguments =
        qmp_json_build_object ("{'options': {'driver': 'raw',"
                               " 'file': {'driver': 'file', 'filename': %s}, 'id': %s}}",
                               filename, node_name);
    }
  command->invalid = command->arguments == NULL;
}

static void
command_init_device_add (Command    *command,
                         const char *blockdev_id,
                         const char *device_id,
                         const char *driver,
                         const char *bus)
{
  command->name = "device_add";
  /* Every string goes through a template, so that one that is not UTF-8
   * is refused with the template's critical. */
  if (blockdev_id != NULL && bus != NULL)
    command->arguments = qmp_json_build_object ("{'driver': %s, 'id': %s, 'drive': %s, 'bus': %s}",
                                                driver, device_id, blockdev_id, bus);
  else if (blockdev_id != NULL)
    command->arguments = qmp_json_build_object ("{'driver': %s, 'id': %s, 'drive': %s}",
                                                driver, device_id, blockdev_id);
  else if (bus != NULL)
    command->arguments = qmp_json_build_object ("{'driver': %s, 'id': %s, 'bus': %s}",
                                                driver, device_id, bus);
  else
    command->arguments = qmp_json_build_object ("{'driver': %s, 'id': %s}", driver, device_id);
  command->invalid = command->arguments == NULL;
}

static void
command_init_blockdev_del (Command       *command,
                           QmpConnection *self,
                           const char    *node_name)
{
  if (_qmp_connection_has_command (self, "blockdev-del", 2, 9, 0))
    {
      command->name = "blockdev-del";
      command->arguments = qmp_json_build_object ("{'node-name': %s}", node_name);
    }
  else
    {
      command->name = "x-blockdev-del";
      command->arguments = qmp_json_build_object ("{'id': %s}", node_name);
    }
  command->invalid = command->arguments == NULL;
}

static void
command_init_device_del (Command    *command,
                         const char *device_id)
{
  /* Done when QEMU reports the device itself gone: a usb-storage's LUN
   * goes first in a DEVICE_DELETED without "device", which must not count.
   * A guest that refuses the unplug says so with
   * DEVICE_UNPLUG_GUEST_ERROR. */
  command->name = "device_del";
  command->arguments = qmp_json_build_object ("{'id': %s}", device_id);
  command->invalid = command->arguments == NULL;
  command->event_name = "DEVICE_DELETED";
  if (!command->invalid)
    command->event_match = qmp_json_build_object ("{'device': %s}", device_id);
  command->error_event = "DEVICE_UNPLUG_GUEST_ERROR";
}
/**
 * qmp_connection_stop_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU has stopped the CPUs, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Stops the virtual machine's CPUs (`stop`).
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // pause the guest; on_stopped () calls qmp_connection_stop_finish ()
 * qmp_connection_stop_async (connection, NULL, on_stopped, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_stop_async (QmpConnection       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));

  command_init_stop (&command);
  command_run_async (self, &command, qmp_connection_stop_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_stop_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.stop_async].
 *
 * ```c
 * // in on_stopped (), given to qmp_connection_stop_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_stop_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("stop: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_stop_finish (QmpConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  return command_run_finish (self, result, qmp_connection_stop_async, error);
}

/**
 * qmp_connection_stop_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Stops the virtual machine's CPUs (`stop`).
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * if (!qmp_connection_stop_sync (connection, NULL, &error))
 *   g_printerr ("cannot pause the guest: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_stop_sync (QmpConnection  *self,
                          GCancellable   *cancellable,
                          GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_stop (&command);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_cont_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU has resumed the CPUs, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Resumes the virtual machine's CPUs (`cont`).
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // resume a guest paused by stop, or started with -S
 * qmp_connection_cont_async (connection, NULL, on_resumed, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_cont_async (QmpConnection       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));

  command_init_cont (&command);
  command_run_async (self, &command, qmp_connection_cont_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_cont_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.cont_async].
 *
 * ```c
 * // in on_resumed (), given to qmp_connection_cont_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_cont_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("cont: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_cont_finish (QmpConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  return command_run_finish (self, result, qmp_connection_cont_async, error);
}

/**
 * qmp_connection_cont_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Resumes the virtual machine's CPUs (`cont`).
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * // QEMU was started with -S: set things up, then run
 * if (!qmp_connection_cont_sync (connection, NULL, &error))
 *   g_printerr ("cannot start the guest: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_cont_sync (QmpConnection  *self,
                          GCancellable   *cancellable,
                          GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_cont (&command);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_system_powerdown_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the guest has shut down, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Asks the guest to power down (`system_powerdown`, an ACPI power button press) and waits until it has: the call finishes on the `SHUTDOWN` event, not on `POWERDOWN`.
 *
 * A guest that ignores ACPI never shuts down: bound the wait with @cancellable
 * or [property@Qmp.Connection:timeout].
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // finishes once the guest has shut down, bounded by the connection's timeout
 * qmp_connection_system_powerdown_async (connection, cancellable, on_powered_down, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_system_powerdown_async (QmpConnection       *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));

  command_init_system_powerdown (&command);
  command_run_async (self, &command, qmp_connection_system_powerdown_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_system_powerdown_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.system_powerdown_async].
 *
 * ```c
 * // in on_powered_down (), given to qmp_connection_system_powerdown_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_system_powerdown_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("the guest did not shut down: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_system_powerdown_finish (QmpConnection  *self,
                                        GAsyncResult   *result,
                                        GError        **error)
{
  return command_run_finish (self, result, qmp_connection_system_powerdown_async, error);
}

/**
 * qmp_connection_system_powerdown_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Asks the guest to power down (`system_powerdown`, an ACPI power button press) and waits until it has: the call finishes on the `SHUTDOWN` event, not on `POWERDOWN`.
 *
 * A guest that ignores ACPI never shuts down: bound the wait with @cancellable
 * or [property@Qmp.Connection:timeout].
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * qmp_connection_set_timeout (connection, 60000);
 * if (!qmp_connection_system_powerdown_sync (connection, NULL, &error))
 *   qmp_connection_quit_sync (connection, NULL, NULL);  // the guest ignored the button
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_system_powerdown_sync (QmpConnection  *self,
                                      GCancellable   *cancellable,
                                      GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_system_powerdown (&command);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_quit_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU has accepted the request, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Makes QEMU exit (`quit`).  QEMU closes the connection after its reply.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // QEMU exits, and the connection closes after the reply
 * qmp_connection_quit_async (connection, NULL, on_quit, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_quit_async (QmpConnection       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));

  command_init_quit (&command);
  command_run_async (self, &command, qmp_connection_quit_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_quit_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.quit_async].
 *
 * ```c
 * // in on_quit (), given to qmp_connection_quit_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_quit_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("quit: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_quit_finish (QmpConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  return command_run_finish (self, result, qmp_connection_quit_async, error);
}

/**
 * qmp_connection_quit_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Makes QEMU exit (`quit`).  QEMU closes the connection after its reply.
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * if (!qmp_connection_quit_sync (connection, NULL, &error))
 *   g_printerr ("QEMU did not quit: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_quit_sync (QmpConnection  *self,
                          GCancellable   *cancellable,
                          GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_quit (&command);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_blockdev_add_async:
 * @self: a #QmpConnection
 * @filename: the path of the image file
 * @node_name: the name of the node
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the node exists, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Adds a raw block node over the file @filename, named @node_name: `blockdev-add` since QEMU 2.9, `x-blockdev-add` before.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * qmp_connection_blockdev_add_async (connection, "/var/lib/images/data.raw", "data0",
 *                                    NULL, on_blockdev_added, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_blockdev_add_async (QmpConnection       *self,
                                   const char          *filename,
                                   const char          *node_name,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (filename != NULL);
  g_return_if_fail (node_name != NULL);

  command_init_blockdev_add (&command, self, filename, node_name);
  command_run_async (self, &command, qmp_connection_blockdev_add_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_blockdev_add_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.blockdev_add_async].
 *
 * ```c
 * // in on_blockdev_added (), given to qmp_connection_blockdev_add_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_blockdev_add_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("blockdev-add: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_blockdev_add_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  return command_run_finish (self, result, qmp_connection_blockdev_add_async, error);
}

/**
 * qmp_connection_blockdev_add_sync:
 * @self: a #QmpConnection
 * @filename: the path of the image file
 * @node_name: the name of the node
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Adds a raw block node over the file @filename, named @node_name: `blockdev-add` since QEMU 2.9, `x-blockdev-add` before.
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * if (!qmp_connection_blockdev_add_sync (connection, "/tmp/disk.raw", "disk0", NULL, &error))
 *   g_printerr ("cannot open the image: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_blockdev_add_sync (QmpConnection  *self,
                                  const char     *filename,
                                  const char     *node_name,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (filename != NULL, FALSE);
  g_return_val_if_fail (node_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_blockdev_add (&command, self, filename, node_name);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_device_add_async:
 * @self: a #QmpConnection
 * @blockdev_id: (nullable): the block node backing the device, or %NULL
 * @device_id: the id of the device
 * @driver: the device's driver, such as `"usb-storage"`
 * @bus: (nullable): the bus to plug the device into, or %NULL for any
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the device exists, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Adds the device @device_id with @driver (`device_add`), backed by the block node @blockdev_id if not %NULL, on @bus if not %NULL.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // a USB stick over the block node "data0", on any USB bus
 * qmp_connection_device_add_async (connection, "data0", "stick0", "usb-storage", NULL,
 *                                  NULL, on_device_added, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_device_add_async (QmpConnection       *self,
                                 const char          *blockdev_id,
                                 const char          *device_id,
                                 const char          *driver,
                                 const char          *bus,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (device_id != NULL);
  g_return_if_fail (driver != NULL);

  command_init_device_add (&command, blockdev_id, device_id, driver, bus);
  command_run_async (self, &command, qmp_connection_device_add_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_device_add_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.device_add_async].
 *
 * ```c
 * // in on_device_added (), given to qmp_connection_device_add_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_device_add_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("device_add: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_device_add_finish (QmpConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return command_run_finish (self, result, qmp_connection_device_add_async, error);
}

/**
 * qmp_connection_device_add_sync:
 * @self: a #QmpConnection
 * @blockdev_id: (nullable): the block node backing the device, or %NULL
 * @device_id: the id of the device
 * @driver: the device's driver, such as `"usb-storage"`
 * @bus: (nullable): the bus to plug the device into, or %NULL for any
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Adds the device @device_id with @driver (`device_add`), backed by the block node @blockdev_id if not %NULL, on @bus if not %NULL.
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * // a keyboard: no block node
 * if (!qmp_connection_device_add_sync (connection, NULL, "kbd0", "usb-kbd", NULL, NULL, &error))
 *   g_printerr ("device_add: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_device_add_sync (QmpConnection  *self,
                                const char     *blockdev_id,
                                const char     *device_id,
                                const char     *driver,
                                const char     *bus,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (driver != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_device_add (&command, blockdev_id, device_id, driver, bus);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_blockdev_del_async:
 * @self: a #QmpConnection
 * @node_name: the name of the node
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the node is gone, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Deletes the block node @node_name: `blockdev-del` since QEMU 2.9, `x-blockdev-del` before.
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // once no device uses the node any more
 * qmp_connection_blockdev_del_async (connection, "data0", NULL, on_blockdev_deleted, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_blockdev_del_async (QmpConnection       *self,
                                   const char          *node_name,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (node_name != NULL);

  command_init_blockdev_del (&command, self, node_name);
  command_run_async (self, &command, qmp_connection_blockdev_del_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_blockdev_del_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.blockdev_del_async].
 *
 * ```c
 * // in on_blockdev_deleted (), given to qmp_connection_blockdev_del_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_blockdev_del_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("blockdev-del: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_blockdev_del_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  return command_run_finish (self, result, qmp_connection_blockdev_del_async, error);
}

/**
 * qmp_connection_blockdev_del_sync:
 * @self: a #QmpConnection
 * @node_name: the name of the node
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Deletes the block node @node_name: `blockdev-del` since QEMU 2.9, `x-blockdev-del` before.
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * if (!qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error))
 *   g_printerr ("cannot delete disk0: %s\n", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_blockdev_del_sync (QmpConnection  *self,
                                  const char     *node_name,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (node_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_blockdev_del (&command, self, node_name);
  return command_run_sync (self, &command, cancellable, error);
}

/**
 * qmp_connection_device_del_async:
 * @self: a #QmpConnection
 * @device_id: the id of the device
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the device is gone, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Unplugs the device @device_id (`device_del`) and waits until it is gone: the call finishes on the `DEVICE_DELETED` event for @device_id (not on one for a child of it), and fails if the guest refuses the unplug (`DEVICE_UNPLUG_GUEST_ERROR`).
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // finishes once the guest has let go of the device
 * qmp_connection_device_del_async (connection, "stick0", NULL, on_device_deleted, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_device_del_async (QmpConnection       *self,
                                 const char          *device_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_auto(Command) command = { 0, };

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (device_id != NULL);

  command_init_device_del (&command, device_id);
  command_run_async (self, &command, qmp_connection_device_del_async, cancellable, callback, user_data);
}

/**
 * qmp_connection_device_del_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.device_del_async].
 *
 * ```c
 * // in on_device_deleted (), given to qmp_connection_device_del_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_device_del_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("the guest kept the device: %s", error->message);
 * ```
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
qmp_connection_device_del_finish (QmpConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return command_run_finish (self, result, qmp_connection_device_del_async, error);
}

/**
 * qmp_connection_device_del_sync:
 * @self: a #QmpConnection
 * @device_id: the id of the device
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Unplugs the device @device_id (`device_del`) and waits until it is gone: the call finishes on the `DEVICE_DELETED` event for @device_id (not on one for a child of it), and fails if the guest refuses the unplug (`DEVICE_UNPLUG_GUEST_ERROR`).
 *
 * Blocks the calling thread until the call finished, without running any
 * main loop of the caller's.
 *
 * ```c
 * // unplug, then free the block node behind the device
 * if (qmp_connection_device_del_sync (connection, "disk-dev0", NULL, &error))
 *   qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error);
 * ```
 *
 * Returns: %TRUE on success
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
gboolean
qmp_connection_device_del_sync (QmpConnection  *self,
                                const char     *device_id,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_auto(Command) command = { 0, };

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  command_init_device_del (&command, device_id);
  return command_run_sync (self, &command, cancellable, error);
}

/* -------------------------------------------------------- query-status */

/* The reply is the server's to choose: "status" must be a string and
 * "running" a boolean (both are mandatory in QEMU's StatusInfo), or the
 * reply is a protocol error.  A state this version does not know is
 * QMP_RUN_STATE_OTHER, not an error. */
static QmpRunState
run_state_from_status (JsonNode  *status,
                       gboolean  *running,
                       GError   **error)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (QMP_TYPE_RUN_STATE);
  JsonObject *object = _qmp_json_node_get_object (status);
  const char *name = _qmp_json_object_get_string (object, "status");
  gboolean is_running;
  GEnumValue *value;

  if (name == NULL || !_qmp_json_object_get_boolean (object, "running", &is_running))
    {
      g_set_error_literal (error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                           _("The server’s reply to “query-status” has no status"));
      return QMP_RUN_STATE_UNKNOWN;
    }

  if (running != NULL)
    *running = is_running;

  value = g_enum_get_value_by_nick (klass, name);

  /* Never UNKNOWN for a state: that is the error's. */
  return value != NULL && value->value != QMP_RUN_STATE_UNKNOWN && value->value != QMP_RUN_STATE_OTHER
    ? (QmpRunState) value->value : QMP_RUN_STATE_OTHER;
}

static void
on_query_status (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  JsonNode *status = qmp_connection_execute_finish (QMP_CONNECTION (source_object), result, &error);

  if (status == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, status, (GDestroyNotify) json_node_unref);
}

/**
 * qmp_connection_query_status_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the status is known, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Asks for the run state of the virtual machine (`query-status`).
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * ```c
 * // on_run_state () gets the state with qmp_connection_query_status_finish ()
 * qmp_connection_query_status_async (connection, NULL, on_run_state, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_query_status_async (QmpConnection       *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (QMP_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_query_status_async);
  qmp_connection_execute_async (self, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                cancellable, on_query_status, task);
}

/**
 * qmp_connection_query_status_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @running: (out) (optional): whether the CPUs are running
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.query_status_async].
 *
 * ```c
 * // in on_run_state (), given to qmp_connection_query_status_async ()
 * g_autoptr(GError) error = NULL;
 * QmpRunState state = qmp_connection_query_status_finish (QMP_CONNECTION (source), result,
 *                                                         NULL, &error);
 * if (state == QMP_RUN_STATE_UNKNOWN)
 *   g_warning ("query-status: %s", error->message);
 * else if (state == QMP_RUN_STATE_GUEST_PANICKED)
 *   g_warning ("the guest panicked");
 * ```
 *
 * Returns: the run state; %QMP_RUN_STATE_UNKNOWN on error (and only
 *   then), %QMP_RUN_STATE_OTHER for a state this version of qmp-glib does
 *   not know
 *
 * Since: 1.0
 */
QmpRunState
qmp_connection_query_status_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    gboolean       *running,
                                    GError        **error)
{
  g_autoptr(JsonNode) status = NULL;

  if (running != NULL)
    *running = FALSE;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), QMP_RUN_STATE_UNKNOWN);
  g_return_val_if_fail (g_task_is_valid (result, self), QMP_RUN_STATE_UNKNOWN);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_query_status_async,
                        QMP_RUN_STATE_UNKNOWN);

  status = g_task_propagate_pointer (G_TASK (result), error);
  if (status == NULL)
    return QMP_RUN_STATE_UNKNOWN;

  return run_state_from_status (status, running, error);
}

/**
 * qmp_connection_query_status_sync:
 * @self: a #QmpConnection
 * @running: (out) (optional): whether the CPUs are running
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Asks for the run state of the virtual machine (`query-status`), blocking
 * the calling thread.
 *
 * ```c
 * gboolean running = FALSE;
 * QmpRunState state = qmp_connection_query_status_sync (connection, &running, NULL, &error);
 *
 * if (state == QMP_RUN_STATE_UNKNOWN)
 *   g_printerr ("query-status: %s\n", error->message);
 * else
 *   g_print ("%s (CPUs %s)\n", qmp_run_state_to_string (state),
 *            running ? "running" : "stopped");
 * ```
 *
 * Returns: the run state; %QMP_RUN_STATE_UNKNOWN on error (and only
 *   then), %QMP_RUN_STATE_OTHER for a state this version of qmp-glib does
 *   not know
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
QmpRunState
qmp_connection_query_status_sync (QmpConnection  *self,
                                  gboolean       *running,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  g_autoptr(JsonNode) status = NULL;

  if (running != NULL)
    *running = FALSE;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), QMP_RUN_STATE_UNKNOWN);
  g_return_val_if_fail (error == NULL || *error == NULL, QMP_RUN_STATE_UNKNOWN);

  status = qmp_connection_execute_sync (self, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                        cancellable, error);
  if (status == NULL)
    return QMP_RUN_STATE_UNKNOWN;

  return run_state_from_status (status, running, error);
}

/**
 * qmp_run_state_to_string:
 * @state: a run state
 *
 * Gives QEMU's name of a run state, the `status` that `query-status`
 * reports: `paused` for %QMP_RUN_STATE_PAUSED, `finish-migrate` for
 * %QMP_RUN_STATE_FINISH_MIGRATE.  It is the nick of the enum value, and
 * `to_string()` in Vala.
 *
 * ```c
 * g_print ("QEMU is %s\n", qmp_run_state_to_string (state));
 * ```
 *
 * Returns: QEMU's name of @state, or `unknown` for
 *   %QMP_RUN_STATE_UNKNOWN (which is no state of QEMU's)
 *
 * Since: 1.0
 */
const char *
qmp_run_state_to_string (QmpRunState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (QMP_TYPE_RUN_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  g_return_val_if_fail (value != NULL, NULL);

  /* The class of a static type is never freed: the nick outlives klass. */
  return value->value_nick;
}
