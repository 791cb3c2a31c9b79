/* qmp-listener.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/stat.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qmp-listener.h"

/**
 * QmpListener:
 *
 * Listens on a Unix socket for QEMUs that connect to it, and gives a ready
 * [class@Qmp.Connection] for each: the greeting read and the capabilities
 * negotiated, as [ctor@Qmp.Connection.new_for_address_sync] does.  QEMU is
 * then the client, started with
 *
 * ```
 * -chardev socket,id=mon0,path=PATH,server=off,reconnect=1 -mon chardev=mon0,mode=control
 * ```
 *
 * (`reconnect-ms=1000` on QEMU 9.2 and later), so that a manager can start
 * QEMU before it listens, and QEMU finds the manager again after the
 * manager restarted.
 *
 * Whoever connects is trusted as the VM's QEMU, so the socket is made
 * owner-only (mode 0600) before it starts listening.
 *
 * ```c
 * g_autoptr(QmpListener) listener = qmp_listener_new ("/run/vms/vm1/qmp.sock",
 *                                                     QMP_CONNECTION_FLAGS_NONE, &error);
 * // … start QEMU with server=off on that path …
 * g_autoptr(QmpConnection) connection = qmp_listener_accept_sync (listener, NULL, &error);
 * ```
 *
 * Since: 1.0
 */

struct _QmpListener
{
  GObject parent_instance;

  char *path;                   /* the socket's path, unlinked on close */
  QmpConnectionFlags flags;     /* for every connection */
  guint timeout_msec;           /* bounds each greeting and negotiation */
  GSocketListener *listener;    /* NULL once closed */
};

G_DEFINE_FINAL_TYPE (QmpListener, qmp_listener, G_TYPE_OBJECT)

static void
qmp_listener_dispose (GObject *object)
{
  qmp_listener_close (QMP_LISTENER (object));

  G_OBJECT_CLASS (qmp_listener_parent_class)->dispose (object);
}

static void
qmp_listener_finalize (GObject *object)
{
  QmpListener *self = QMP_LISTENER (object);

  g_free (self->path);

  G_OBJECT_CLASS (qmp_listener_parent_class)->finalize (object);
}

static void
qmp_listener_class_init (QmpListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qmp_listener_dispose;
  object_class->finalize = qmp_listener_finalize;
}

static void
qmp_listener_init (QmpListener *self)
{
}

/**
 * qmp_listener_new:
 * @path: (type filename): the path of the Unix socket to create
 * @flags: flags for every connection, as for
 *   [ctor@Qmp.Connection.new_for_address_sync]
 * @error: return location for a #GError
 *
 * Creates the Unix socket @path, owner-only (mode 0600), and listens on
 * it.  A file already at @path is an error (%G_IO_ERROR_EXISTS, or the
 * error of bind()): remove a stale socket first.
 *
 * ```c
 * g_autoptr(QmpListener) listener = qmp_listener_new ("/run/vms/vm1/qmp.sock",
 *                                                     QMP_CONNECTION_FLAGS_OOB, &error);
 * ```
 *
 * Returns: (transfer full): a new #QmpListener, or %NULL on error
 *
 * Since: 1.0
 */
QmpListener *
qmp_listener_new (const char          *path,
                  QmpConnectionFlags   flags,
                  GError             **error)
{
  g_autoptr(QmpListener) self = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                         error);
  if (socket == NULL)
    return NULL;

  address = g_unix_socket_address_new (path);
  if (!g_socket_bind (socket, address, FALSE, error))
    return NULL;

  /* Owner-only before anyone can connect: connect() fails until listen(). */
  if (g_chmod (path, 0600) < 0)
    {
      int saved_errno = errno;

      g_unlink (path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not make “%s” owner-only: %s"), path, g_strerror (saved_errno));
      return NULL;
    }

  if (!g_socket_listen (socket, error))
    {
      g_unlink (path);
      return NULL;
    }

  self = g_object_new (QMP_TYPE_LISTENER, NULL);
  self->path = g_strdup (path);
  self->flags = flags;
  self->listener = g_socket_listener_new ();
  if (!g_socket_listener_add_socket (self->listener, socket, NULL, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * qmp_listener_get_path:
 * @self: a #QmpListener
 *
 * Gets the path of the socket.
 *
 * ```c
 * g_autofree char *chardev = g_strdup_printf ("socket,id=mon0,path=%s,server=off,reconnect=1",
 *                                            qmp_listener_get_path (listener));
 * ```
 *
 * Returns: (type filename): the path
 *
 * Since: 1.0
 */
const char *
qmp_listener_get_path (QmpListener *self)
{
  g_return_val_if_fail (QMP_IS_LISTENER (self), NULL);

  return self->path;
}

/**
 * qmp_listener_set_timeout:
 * @self: a #QmpListener
 * @timeout_msec: milliseconds, 0 for none
 *
 * Sets the [property@Qmp.Connection:timeout] of the connections accepted
 * from now on: it bounds the greeting and the negotiation of each, and
 * then every call (as for a connection made to an address).  A peer that
 * connects and says nothing fails its accept with %G_IO_ERROR_TIMED_OUT.
 *
 * ```c
 * // a peer that connects and says nothing fails its accept after 10 s
 * qmp_listener_set_timeout (listener, 10000);
 * ```
 *
 * Since: 1.0
 */
void
qmp_listener_set_timeout (QmpListener *self,
                          guint        timeout_msec)
{
  g_return_if_fail (QMP_IS_LISTENER (self));

  self->timeout_msec = timeout_msec;
}

static gboolean
listener_check_open (QmpListener  *self,
                     GError      **error)
{
  if (self->listener != NULL)
    return TRUE;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The listener is closed"));
  return FALSE;
}

static void
on_connection_ready (GObject      *source_object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GObject *connection;

  connection = g_async_initable_new_finish (G_ASYNC_INITABLE (source_object), result, &error);
  if (connection == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, connection, g_object_unref);
}

static void
on_accepted (GObject      *source_object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpListener *self = g_task_get_source_object (task);
  g_autoptr(GSocketConnection) stream = NULL;
  GCancellable *cancellable;
  GError *error = NULL;

  stream = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source_object), result, NULL, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* Before the task is handed on: arguments have no order. */
  cancellable = g_task_get_cancellable (task);
  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT,
                              cancellable, on_connection_ready,
                              g_steal_pointer (&task),
                              "stream", stream,
                              "flags", self->flags,
                              "timeout", self->timeout_msec,
                              NULL);
}

/**
 * qmp_listener_accept_async:
 * @self: a #QmpListener
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when a QEMU connected and its
 *   connection is ready, or the accept failed
 * @user_data: (closure callback): data for @callback
 *
 * Waits for the next QEMU to connect, then reads its greeting and
 * negotiates as [ctor@Qmp.Connection.new_for_address_sync] does.  Finish
 * it with [method@Qmp.Listener.accept_finish]; call it again for the next
 * connection (a QEMU with `reconnect=` connects again after its connection
 * closed).
 *
 * ```c
 * static void
 * on_accepted (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(QmpConnection) connection =
 *     qmp_listener_accept_finish (QMP_LISTENER (source), result, &error);
 *
 *   // … then accept the next one
 *   qmp_listener_accept_async (QMP_LISTENER (source), NULL, on_accepted, user_data);
 * }
 *
 * qmp_listener_accept_async (listener, NULL, on_accepted, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_listener_accept_async (QmpListener         *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (QMP_IS_LISTENER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_listener_accept_async);

  if (!listener_check_open (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_socket_listener_accept_async (self->listener, cancellable, on_accepted, g_steal_pointer (&task));
}

/**
 * qmp_listener_accept_finish:
 * @self: a #QmpListener
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Listener.accept_async].
 *
 * ```c
 * g_autoptr(QmpConnection) connection = qmp_listener_accept_finish (QMP_LISTENER (source),
 *                                                                  result, &error);
 * ```
 *
 * Returns: (transfer full): a ready connection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_listener_accept_finish (QmpListener   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (QMP_IS_LISTENER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_listener_accept_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_listener_accept_sync:
 * @self: a #QmpListener
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Blocks until the next QEMU connected and its connection is ready; see
 * [method@Qmp.Listener.accept_async].
 *
 * ```c
 * g_autoptr(QmpConnection) connection = qmp_listener_accept_sync (listener, NULL, &error);
 *
 * if (connection != NULL)
 *   qmp_connection_cont_sync (connection, NULL, &error);
 * ```
 *
 * Returns: (transfer full): a ready connection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_listener_accept_sync (QmpListener   *self,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GSocketConnection) stream = NULL;

  g_return_val_if_fail (QMP_IS_LISTENER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!listener_check_open (self, error))
    return NULL;

  stream = g_socket_listener_accept (self->listener, NULL, cancellable, error);
  if (stream == NULL)
    return NULL;

  return g_initable_new (QMP_TYPE_CONNECTION, cancellable, error,
                         "stream", stream,
                         "flags", self->flags,
                         "timeout", self->timeout_msec,
                         NULL);
}

/**
 * qmp_listener_close:
 * @self: a #QmpListener
 *
 * Stops listening and removes the socket file.  Connections accepted
 * before stay open; accepts still waiting fail.
 *
 * ```c
 * // no more QEMUs: the socket file goes, accepted connections stay
 * qmp_listener_close (listener);
 * ```
 *
 * Since: 1.0
 */
void
qmp_listener_close (QmpListener *self)
{
  g_return_if_fail (QMP_IS_LISTENER (self));

  if (self->listener == NULL)
    return;

  g_socket_listener_close (self->listener);
  g_clear_object (&self->listener);
  g_unlink (self->path);
}
