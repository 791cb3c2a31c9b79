/* qmp-listener.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-init-private.h"
#include "qmp-enums.h"
#include "qmp-listener.h"
#include "qmp-unix-socket-private.h"

/**
 * QmpListener:
 *
 * Listens on a Unix socket for QEMUs that connect to it, and gives a
 * ready [class@Qmp.Connection] for each.
 *
 * QEMU connects out when its monitor is a client socket:
 *
 * ```
 * qemu-system-x86_64 … -chardev socket,id=mon,path=/run/vm1/qmp.sock,server=off,reconnect-ms=1000 \
 *                      -mon chardev=mon,mode=control
 * ```
 *
 * (`reconnect=1`, in seconds, before QEMU 9.2.)  With a reconnect delay,
 * QEMU may be started before anyone listens, and it connects again when
 * its connection is closed, for instance when the manager restarts.
 *
 * Whoever can connect to the socket is trusted as the VM's QEMU, so the
 * socket is created owner-only (mode 0600) unless
 * [property@Qmp.Listener:socket-mode] says otherwise, and has that mode
 * from the moment it appears at the path.  An existing file at
 * the path is never replaced, except a stale socket that nobody listens
 * on any more.
 *
 * Each accepted connection gets the same greeting, negotiation and
 * [property@Qmp.Listener:timeout] as [func@Qmp.Connection.new_async] on a
 * stream.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpListener) listener = qmp_listener_new ("/run/vm1/qmp.sock",
 *                                                     QMP_CONNECTION_FLAGS_NONE,
 *                                                     &error);
 * g_autoptr(QmpConnection) connection = NULL;
 *
 * if (listener == NULL)
 *   g_error ("%s", error->message);
 * // blocks until a QEMU connects and is ready
 * connection = qmp_listener_accept_sync (listener, NULL, &error);
 * ```
 *
 * Since: 1.0
 */

struct _QmpListener
{
  GObject parent_instance;

  char *address;                   /* as given */
  char *path;                      /* of the socket file */
  QmpConnectionFlags flags;        /* for each connection */
  guint timeout_msec;              /* for each connection's handshake; 0: none */
  guint socket_mode;

  GSocketListener *listener;       /* NULL until initialized */
  QmpUnixSocketFile file;          /* the socket file we made */
};

static void qmp_listener_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QmpListener, qmp_listener, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      qmp_listener_initable_iface_init))

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_FLAGS,
  PROP_TIMEOUT,
  PROP_SOCKET_MODE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_SOCKET_MODE 0600

/* "unix:PATH" or a path; NULL otherwise. */
static const char *
address_get_path (const char *address)
{
  if (g_str_has_prefix (address, "unix:"))
    address += strlen ("unix:");
  else if (address[0] != '/' && address[0] != '.' && strchr (address, ':') != NULL)
    return NULL;

  return address[0] != '\0' ? address : NULL;
}

static gboolean
qmp_listener_initable_init (GInitable     *initable,
                            GCancellable  *cancellable,
                            GError       **error)
{
  QmpListener *self = QMP_LISTENER (initable);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketListener) listener = NULL;

  if (self->listener != NULL)
    return TRUE;

  if (self->address == NULL || address_get_path (self->address) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid address “%s” to listen on: expected unix:PATH or a path"),
                   self->address != NULL ? self->address : "");
      return FALSE;
    }
  g_free (self->path);
  self->path = g_strdup (address_get_path (self->address));

  /* Bound elsewhere and given its mode before it appears at the path:
   * nobody sees it, or gets in, with the wrong permissions. */
  socket = _qmp_unix_socket_listen (self->path, self->socket_mode, &self->file, error);
  if (socket == NULL)
    return FALSE;

  listener = g_socket_listener_new ();
  if (!g_socket_listener_add_socket (listener, socket, NULL, error))
    {
      _qmp_unix_socket_file_remove (&self->file);
      return FALSE;
    }

  self->listener = g_steal_pointer (&listener);

  return TRUE;
}

static void
qmp_listener_initable_iface_init (GInitableIface *iface)
{
  iface->init = qmp_listener_initable_init;
}

static void
qmp_listener_dispose (GObject *object)
{
  QmpListener *self = QMP_LISTENER (object);

  qmp_listener_close (self);
  g_clear_object (&self->listener);

  G_OBJECT_CLASS (qmp_listener_parent_class)->dispose (object);
}

static void
qmp_listener_finalize (GObject *object)
{
  QmpListener *self = QMP_LISTENER (object);

  g_free (self->address);
  g_free (self->path);

  G_OBJECT_CLASS (qmp_listener_parent_class)->finalize (object);
}

static void
qmp_listener_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QmpListener *self = QMP_LISTENER (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;

    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;

    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout_msec);
      break;

    case PROP_SOCKET_MODE:
      g_value_set_uint (value, self->socket_mode);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_listener_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  QmpListener *self = QMP_LISTENER (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      self->address = g_value_dup_string (value);
      break;

    case PROP_FLAGS:
      self->flags = g_value_get_flags (value);
      break;

    case PROP_TIMEOUT:
      self->timeout_msec = g_value_get_uint (value);
      break;

    case PROP_SOCKET_MODE:
      self->socket_mode = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_listener_class_init (QmpListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _qmp_init_i18n ();

  object_class->dispose = qmp_listener_dispose;
  object_class->finalize = qmp_listener_finalize;
  object_class->get_property = qmp_listener_get_property;
  object_class->set_property = qmp_listener_set_property;

  /**
   * QmpListener:address: (getter get_address)
   *
   * Where to listen: `unix:PATH` or a plain path of a Unix socket.
   *
   * Since: 1.0
   */
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpListener:flags:
   *
   * The flags each accepted connection is constructed with.
   *
   * Since: 1.0
   */
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL,
                        QMP_TYPE_CONNECTION_FLAGS,
                        QMP_CONNECTION_FLAGS_NONE,
                        (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpListener:timeout:
   *
   * The [property@Qmp.Connection:timeout] of each accepted connection, in
   * milliseconds; 0 means none.  It bounds the greeting and the
   * negotiation of a peer that connected (not the wait for a peer to
   * connect): a peer that connects and stays silent fails its accept with
   * %G_IO_ERROR_TIMED_OUT.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpListener:socket-mode:
   *
   * The permissions of the socket file, such as `0660` to let the group
   * connect.  The default, `0600`, lets only the owner (and root) connect.
   * The socket file appears at its path with this mode already set.
   *
   * Since: 1.0
   */
  properties[PROP_SOCKET_MODE] =
    g_param_spec_uint ("socket-mode", NULL, NULL,
                       0, 0777, DEFAULT_SOCKET_MODE,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qmp_listener_init (QmpListener *self)
{
  self->socket_mode = DEFAULT_SOCKET_MODE;
}

/**
 * qmp_listener_new:
 * @address: where to listen: `unix:PATH` or a path
 * @flags: flags for each accepted connection
 * @error: return location for a #GError
 *
 * Creates the socket at @address, owner-only, and listens on it.  To set
 * [property@Qmp.Listener:timeout] or [property@Qmp.Listener:socket-mode],
 * construct with g_initable_new().
 *
 * ```c
 * g_autoptr(QmpListener) listener =
 *   g_initable_new (QMP_TYPE_LISTENER, NULL, &error,
 *                   "address", "unix:/run/vm1/qmp.sock",
 *                   "timeout", 10000,      // for each QEMU's greeting
 *                   "socket-mode", 0660,   // let the group connect too
 *                   NULL);
 * ```
 *
 * Returns: (transfer full): a new #QmpListener, or %NULL with @error set
 *   (%G_IO_ERROR_EXISTS for a file that is not a socket,
 *   %G_IO_ERROR_ADDRESS_IN_USE when something listens there)
 *
 * Since: 1.0
 */
QmpListener *
qmp_listener_new (const char          *address,
                  QmpConnectionFlags   flags,
                  GError             **error)
{
  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (QMP_TYPE_LISTENER, NULL, error,
                         "address", address,
                         "flags", flags,
                         NULL);
}

/**
 * qmp_listener_get_address:
 * @self: a #QmpListener
 *
 * Gets the address the listener was made with.
 *
 * ```c
 * g_print ("QEMU may connect to %s\n", qmp_listener_get_address (listener));
 * ```
 *
 * Returns: the address
 *
 * Since: 1.0
 */
const char *
qmp_listener_get_address (QmpListener *self)
{
  g_return_val_if_fail (QMP_IS_LISTENER (self), NULL);

  return self->address;
}

/**
 * qmp_listener_get_path:
 * @self: a #QmpListener
 *
 * Gets the path of the socket file, to give to QEMU's
 * `-chardev socket,path=…,server=off`.
 *
 * ```c
 * g_autofree char *chardev =
 *   g_strdup_printf ("socket,id=mon,path=%s,server=off,reconnect-ms=1000",
 *                    qmp_listener_get_path (listener));
 * ```
 *
 * Returns: (nullable): the path, or %NULL if construction failed
 *
 * Since: 1.0
 */
const char *
qmp_listener_get_path (QmpListener *self)
{
  g_return_val_if_fail (QMP_IS_LISTENER (self), NULL);

  return self->path;
}

static void
on_connection_ready (GObject      *source_object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GObject *connection;
  GError *error = NULL;

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
  int priority;
  GError *error = NULL;

  stream = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source_object), result, NULL, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* Arguments are evaluated in any order: nothing reads @task in the
   * call that takes it. */
  priority = g_task_get_priority (task);
  cancellable = g_task_get_cancellable (task);
  g_async_initable_new_async (QMP_TYPE_CONNECTION, priority, cancellable,
                              on_connection_ready, g_steal_pointer (&task),
                              "stream", stream,
                              "flags", self->flags,
                              "timeout", self->timeout_msec,
                              NULL);
}

/**
 * qmp_listener_accept_async:
 * @self: a #QmpListener
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when a QEMU connected and is ready, or
 *   on error
 * @user_data: (closure callback): data for @callback
 *
 * Waits for the next QEMU to connect, then reads its greeting and
 * negotiates capabilities.  Call [method@Qmp.Listener.accept_finish] from
 * @callback.  Call it again for the next QEMU, such as the same one
 * reconnecting after its connection was closed.
 *
 * ```c
 * static void
 * on_qemu (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(QmpConnection) connection =
 *     qmp_listener_accept_finish (QMP_LISTENER (source), result, &error);
 *
 *   // a peer that did not greet in time fails this accept only:
 *   // accept again for the next one
 *   if (connection != NULL)
 *     g_print ("QEMU %u connected\n", qmp_connection_get_version_major (connection));
 * }
 *
 * qmp_listener_accept_async (listener, NULL, on_qemu, NULL);
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

  g_return_if_fail (QMP_IS_LISTENER (self));
  g_return_if_fail (self->listener != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_listener_accept_async);

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
 * connection = qmp_listener_accept_finish (listener, result, &error);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
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
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_listener_accept_sync:
 * @self: a #QmpListener
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Waits for the next QEMU to connect, then reads its greeting and
 * negotiates capabilities, blocking the calling thread.
 *
 * ```c
 * // the manager restarted: the QEMU it started earlier reconnects
 * g_autoptr(QmpConnection) connection = qmp_listener_accept_sync (listener, NULL, &error);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
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
  g_return_val_if_fail (self->listener != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

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
 * Stops listening and removes the socket file (if it is still the one the
 * listener made).  Connections accepted already stay open.  Also done
 * when the listener is finalized.
 *
 * ```c
 * qmp_listener_close (listener);
 * ```
 *
 * Since: 1.0
 */
void
qmp_listener_close (QmpListener *self)
{
  g_return_if_fail (QMP_IS_LISTENER (self));

  if (self->listener != NULL)
    g_socket_listener_close (self->listener);
  _qmp_unix_socket_file_remove (&self->file);
}
