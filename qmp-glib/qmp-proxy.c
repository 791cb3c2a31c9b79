/* qmp-proxy.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-accept-source-private.h"
#include "qmp-connection-private.h"
#include "qmp-error.h"
#include "qmp-json-private.h"
#include "qmp-proxy.h"
#include "qmp-server-channel-private.h"
#include "qmp-tls-private.h"
#include "qmp-unix-socket-private.h"
#include "qmp-worker-private.h"

/**
 * QmpProxy:
 *
 * Serves one QEMU monitor to any number of QMP clients.  QEMU takes one
 * client per monitor socket; the proxy holds that one connection (the
 * application's own [class@Qmp.Connection], which it keeps using
 * directly) and lets other clients in, on a Unix socket of its own or over
 * socket pairs.
 *
 * Each client is greeted with QEMU's version and capabilities (`oob` only
 * where the upstream connection enabled it), negotiates by itself, and
 * sees the protocol as if it were QEMU's only client: its commands go to
 * QEMU under the library's ids and their answers come back under the
 * client's own, errors as QEMU sent them, and every event.  A client that
 * goes away loses its pending answers, which are dropped when they come.
 * When the upstream connection closes, so does every client, and the
 * [signal@Qmp.Proxy::closed] signal is emitted.
 *
 * A proxy hands out control of a VM: its socket is made owner-only (0600)
 * unless the caller asks otherwise, and a client may be made read-only,
 * when only `query-*` commands pass (an allow-list).
 *
 * Commands are forwarded, and events and answers go out, on the library's
 * I/O thread, in the order QEMU sent its lines: an event that came before
 * an answer reaches the client before that answer, and a round trip
 * through the proxy waits for no main loop.  A client's answers come in
 * the order of its commands, the proxy's own (a refusal, a line that is
 * not JSON) in their turn among QEMU's.  A client is not read while 64 of
 * its commands, or more than 1 MiB of them, wait for answers, or 1 MiB of
 * answers waits for it to read, and is closed when it leaves 16 MiB of
 * events unread.  The application's own use of
 * the upstream connection is unchanged: its events are still emitted in
 * its own context.  The proxy closes when the upstream connection's
 * [signal@Qmp.Connection::closed] signal is emitted, so keep the context
 * where that connection was made running, as an application's main loop
 * does.
 *
 * Descriptors passed with a command (`getfd`, `add-fd`) go to QEMU with
 * that command; those of a command that is refused are closed.
 *
 * ```c
 * g_autoptr(QmpProxy) proxy = qmp_proxy_new (connection);
 *
 * if (!qmp_proxy_listen_unix (proxy, "/run/user/1000/vm0-monitor.sock", 0,
 *                             QMP_PROXY_CLIENT_FLAGS_NONE, &error))
 *   g_warning ("%s", error->message);
 * // qmpctl --socket /run/user/1000/vm0-monitor.sock shell
 * ```
 *
 * Since: 1.0
 */

/* A listening socket, apart from the proxy: its source on the worker must
 * not keep the proxy alive. */
typedef struct
{
  gatomicrefcount ref_count;
  GSocket *socket;
  GWeakRef proxy;
  QmpProxyClientFlags flags;
  QmpUnixSocketFile file;       /* path NULL for TCP; removed at close, if still ours */
  GTlsCertificate *certificate; /* nullable: TLS, the proxy's own */
  GTlsDatabase *client_ca;      /* with certificate: what client certificates must chain to */
  GSource *source;              /* on the worker */
} Listener;

struct _QmpProxy
{
  GObject parent_instance;

  QmpConnection *upstream;
  QmpWorker *worker;            /* kept while listening there */
  char *greeting;               /* QEMU's, as clients get it */
  gboolean oob;                 /* offered to clients */
  guint event_sink_id;
  gulong closed_id;

  GMutex lock;
  /* Protected by lock */
  gboolean closed;
  GHashTable *clients;          /* QmpServerChannel → QmpProxyClientFlags */
  GPtrArray *listeners;         /* Listener */
  GHashTable *handshakes;       /* GCancellable of each TLS handshake under way */
};

/* How long a TCP client has for its TLS handshake: one that connects and
 * says nothing must not hold a connection for ever. */
#define HANDSHAKE_TIMEOUT_SECONDS 10
#define MAX_HANDSHAKES            16   /* at once, per proxy */

enum {
  PROP_0,
  PROP_UPSTREAM,
  N_PROPS
};

enum {
  SIGNAL_CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (QmpProxy, qmp_proxy, G_TYPE_OBJECT)

static void
listener_unref (Listener *listener)
{
  if (!g_atomic_ref_count_dec (&listener->ref_count))
    return;

  g_object_unref (listener->socket);
  g_weak_ref_clear (&listener->proxy);
  g_free (listener->file.path);
  g_clear_object (&listener->certificate);
  g_clear_object (&listener->client_ca);
  g_free (listener);
}

/* Stops accepting and removes the socket's file, if it is still ours. */
static void
listener_close (Listener *listener)
{
  if (listener->source != NULL)
    {
      g_source_destroy (listener->source);
      g_clear_pointer (&listener->source, g_source_unref);
    }
  g_socket_close (listener->socket, NULL);
  _qmp_unix_socket_file_remove (&listener->file);
}

/* ------------------------------------------------------------ commands */

static const char *
error_class (const GError *error)
{
  /* The classes QEMU has; anything else is a GenericError to a client. */
  if (error->domain == QMP_ERROR)
    switch (error->code)
      {
      case QMP_ERROR_COMMAND_NOT_FOUND: return "CommandNotFound";
      case QMP_ERROR_DEVICE_NOT_ACTIVE: return "DeviceNotActive";
      case QMP_ERROR_DEVICE_NOT_FOUND: return "DeviceNotFound";
      case QMP_ERROR_KVM_MISSING_CAP: return "KVMMissingCap";
      default: break;
      }

  return "GenericError";
}

typedef struct
{
  QmpServerChannel *channel;
  QmpServerRequest *request;
} Forward;

static void
forward_free (Forward *forward)
{
  _qmp_server_channel_unref (forward->channel);
  _qmp_server_request_free (forward->request);
  g_free (forward);
}

/* On whichever thread finished the call; for QEMU's answer, the worker,
 * just after the events QEMU sent before it went to the clients, so the
 * client gets them in QEMU's order. */
static void
on_forwarded (QmpCall  *call,
              gpointer  user_data)
{
  Forward *forward = user_data;
  g_autoptr(GError) error = _qmp_call_steal_error (call);
  g_autofree char *return_json = _qmp_call_steal_return_json (call);

  if (error == NULL)
    _qmp_server_channel_reply (forward->channel, forward->request,
                               return_json != NULL ? return_json : "{}");
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) &&
           !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    _qmp_server_channel_reply_error (forward->channel, forward->request,
                                     error_class (error), error->message);
  else
    _qmp_server_channel_skip (forward->channel, forward->request);   /* QEMU went away, and
                                                                        * the client is being closed */

  forward_free (forward);
}

/* On the worker, in the order the client sent its commands: a command goes
 * to QEMU, or is refused.  No main context is involved, so a round trip
 * through the proxy costs no more thread hops than a direct one. */
static void
on_channel_command (GObject          *owner,
                    QmpServerChannel *channel,
                    QmpServerRequest *request)
{
  QmpProxy *self = QMP_PROXY (owner);
  g_autoptr(QmpCall) call = NULL;
  QmpProxyClientFlags flags = QMP_PROXY_CLIENT_FLAGS_NONE;
  gboolean known;
  gpointer value;
  Forward *forward;

  /* Negotiation: the channel answered it */
  if (request->answered)
    {
      _qmp_server_request_free (request);
      return;
    }

  g_mutex_lock (&self->lock);
  known = !self->closed && g_hash_table_lookup_extended (self->clients, channel, NULL, &value);
  if (known)
    flags = GPOINTER_TO_UINT (value);
  g_mutex_unlock (&self->lock);

  if (!known)
    {
      _qmp_server_request_free (request);
      return;
    }

  /* An allow-list, never a deny-list */
  if ((flags & QMP_PROXY_CLIENT_FLAGS_READ_ONLY) != 0 &&
      !g_str_has_prefix (request->name, "query-"))
    {
      g_autofree char *desc =
        g_strdup_printf ("The command %s is not allowed on a read-only connection", request->name);

      /* Its descriptors are closed before the client hears of it. */
      g_clear_object (&request->fds);
      _qmp_server_channel_reply_error (channel, request, "GenericError", desc);
      _qmp_server_request_free (request);
      return;
    }

  /* The arguments go to QEMU as the client wrote them: the channel
   * checked them, and no tree is built on the way. */
  call = _qmp_call_new (QMP_CALL_COMMAND, request->name, NULL, request->oob, NULL, NULL);
  _qmp_call_take_arguments_json (call, g_steal_pointer (&request->arguments_json));

  /* The call takes duplicates, sent with its line's first byte and closed
   * then; the client's are closed now, so that once the answer comes,
   * only QEMU holds them. */
  if (request->fds != NULL)
    {
      g_autoptr(GError) error = NULL;
      gboolean ok = _qmp_call_set_fds (call, request->fds, &error);

      g_clear_object (&request->fds);
      if (!ok)
        {
          _qmp_server_channel_reply_error (channel, request, "GenericError", error->message);
          _qmp_server_request_free (request);
          return;
        }
    }

  forward = g_new0 (Forward, 1);
  forward->channel = _qmp_server_channel_ref (channel);
  forward->request = request;

  _qmp_call_set_done_func (call, on_forwarded, forward);
  _qmp_connection_submit_call (self->upstream, call, -1);
}

static void
on_channel_closed (GObject          *owner,
                   QmpServerChannel *channel)
{
  QmpProxy *self = QMP_PROXY (owner);

  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->clients, channel);
  g_mutex_unlock (&self->lock);
}

static gboolean
proxy_add_client (QmpProxy             *self,
                  GIOStream            *stream,
                  QmpProxyClientFlags   flags,
                  GError              **error)
{
  g_autoptr(QmpServerChannel) channel = NULL;

  channel = _qmp_server_channel_new (stream, self->greeting, self->oob, G_OBJECT (self),
                                     on_channel_command, on_channel_closed, error);
  if (channel == NULL)
    return FALSE;
  _qmp_server_channel_set_want_trees (channel, FALSE);
  _qmp_server_channel_set_in_order (channel);

  g_mutex_lock (&self->lock);
  if (self->closed)
    {
      g_mutex_unlock (&self->lock);
      _qmp_server_channel_close (channel);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The proxy is closed"));
      return FALSE;
    }
  g_hash_table_insert (self->clients, _qmp_server_channel_ref (channel), GUINT_TO_POINTER (flags));
  g_mutex_unlock (&self->lock);

  _qmp_server_channel_start (channel);
  return TRUE;
}

/* -------------------------------------------------------------- events */

/* On the worker, with the upstream's sinks locked: each event goes to
 * every client as QEMU sent it, before any answer QEMU sent after it. */
static void
on_upstream_event (QmpEvent     *event,
                   const GError *closed_error,
                   gpointer      user_data)
{
  QmpProxy *self = user_data;
  g_autoptr(GPtrArray) clients = NULL;
  GDateTime *timestamp;
  gint64 usec = -1;
  GHashTableIter iter;
  gpointer channel;

  /* The closed signal, in the upstream's context, closes the proxy. */
  if (event == NULL)
    return;

  timestamp = qmp_event_get_timestamp (event);
  if (timestamp != NULL)
    usec = g_date_time_to_unix (timestamp) * G_USEC_PER_SEC + g_date_time_get_microsecond (timestamp);

  clients = g_ptr_array_new_with_free_func ((GDestroyNotify) _qmp_server_channel_unref);
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->clients);
  while (g_hash_table_iter_next (&iter, &channel, NULL))
    g_ptr_array_add (clients, _qmp_server_channel_ref (channel));
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_send_event (g_ptr_array_index (clients, i), qmp_event_get_name (event),
                                    qmp_event_get_data_json (event), usec);

  /* The sink's event is ours */
  qmp_event_unref (event);
}

static void
on_upstream_closed (QmpConnection *upstream,
                    gboolean       remote_peer_vanished,
                    GError        *error,
                    gpointer       user_data)
{
  g_autoptr(QmpProxy) self = g_weak_ref_get (user_data);

  if (self != NULL)
    qmp_proxy_close (self);
}

static void
weak_ref_free (gpointer  data,
               GClosure *closure)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* ---------------------------------------------------------- life cycle */

static char *
make_greeting (QmpConnection *upstream,
               gboolean       oob)
{
  g_autoptr(GString) greeting = g_string_new (NULL);
  g_autofree char *package = _qmp_json_string_quote (qmp_connection_get_package (upstream));
  const char * const *capabilities = qmp_connection_get_capabilities (upstream);
  gboolean first = TRUE;

  g_string_append_printf (greeting,
                          "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": %u, \"minor\": %u, \"major\": %u}, "
                          "\"package\": %s}, \"capabilities\": [",
                          qmp_connection_get_version_micro (upstream),
                          qmp_connection_get_version_minor (upstream),
                          qmp_connection_get_version_major (upstream),
                          package);
  for (guint i = 0; capabilities != NULL && capabilities[i] != NULL; i++)
    {
      g_autofree char *quoted = NULL;

      /* oob is offered only where the proxy can pass exec-oob on */
      if (g_str_equal (capabilities[i], "oob") && !oob)
        continue;
      quoted = _qmp_json_string_quote (capabilities[i]);
      g_string_append_printf (greeting, "%s%s", first ? "" : ", ", quoted);
      first = FALSE;
    }
  g_string_append (greeting, "]}}");

  return g_string_free (g_steal_pointer (&greeting), FALSE);
}

static void
qmp_proxy_constructed (GObject *object)
{
  QmpProxy *self = QMP_PROXY (object);
  GWeakRef *weak;

  G_OBJECT_CLASS (qmp_proxy_parent_class)->constructed (object);

  self->oob = qmp_connection_get_oob_enabled (self->upstream);
  self->greeting = make_greeting (self->upstream, self->oob);
  self->event_sink_id = _qmp_connection_add_event_sink (self->upstream, on_upstream_event, self);
  /* Through a weak reference: the upstream's context may emit "closed"
   * while the proxy's last reference goes in another thread, and a
   * disconnection does not wait for a handler that runs. */
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  self->closed_id = g_signal_connect_data (self->upstream, "closed", G_CALLBACK (on_upstream_closed),
                                           weak, weak_ref_free, G_CONNECT_DEFAULT);

  if (qmp_connection_is_closed (self->upstream))
    qmp_proxy_close (self);
}

static void proxy_close (QmpProxy *self,
                         gboolean  emit);

static void
qmp_proxy_dispose (GObject *object)
{
  QmpProxy *self = QMP_PROXY (object);

  /* Without "closed": the last reference may go in any thread, the I/O
   * thread too (where a handler that made a _sync call would block every
   * connection), and no one holds the proxy any more. */
  proxy_close (self, FALSE);

  if (self->upstream != NULL)
    {
      if (self->event_sink_id != 0)
        _qmp_connection_remove_event_sink (self->upstream, self->event_sink_id);
      self->event_sink_id = 0;
      g_clear_signal_handler (&self->closed_id, self->upstream);
    }

  G_OBJECT_CLASS (qmp_proxy_parent_class)->dispose (object);
}

static void
qmp_proxy_finalize (GObject *object)
{
  QmpProxy *self = QMP_PROXY (object);

  g_clear_object (&self->upstream);
  g_hash_table_unref (self->clients);
  g_ptr_array_unref (self->listeners);
  g_hash_table_unref (self->handshakes);
  g_free (self->greeting);
  _qmp_worker_unref (self->worker);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (qmp_proxy_parent_class)->finalize (object);
}

static void
qmp_proxy_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  QmpProxy *self = QMP_PROXY (object);

  switch (prop_id)
    {
    case PROP_UPSTREAM:
      g_value_set_object (value, self->upstream);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_proxy_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  QmpProxy *self = QMP_PROXY (object);

  switch (prop_id)
    {
    case PROP_UPSTREAM:
      self->upstream = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_proxy_class_init (QmpProxyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = qmp_proxy_constructed;
  object_class->dispose = qmp_proxy_dispose;
  object_class->finalize = qmp_proxy_finalize;
  object_class->get_property = qmp_proxy_get_property;
  object_class->set_property = qmp_proxy_set_property;

  /**
   * QmpProxy:upstream: (getter get_upstream)
   *
   * The connection to QEMU that the proxy serves.
   *
   * Since: 1.0
   */
  properties[PROP_UPSTREAM] =
    g_param_spec_object ("upstream", NULL, NULL,
                         QMP_TYPE_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QmpProxy::closed:
   * @self: the proxy
   *
   * Emitted once, when the proxy closed: because the upstream connection
   * did, or [method@Qmp.Proxy.close] was called.  Every client is closed
   * and no socket listens any more.  It is not emitted when the proxy
   * closes because its last reference went.
   *
   * ```c
   * g_signal_connect_swapped (proxy, "closed", G_CALLBACK (g_main_loop_quit), loop);
   * ```
   *
   * Since: 1.0
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
qmp_proxy_init (QmpProxy *self)
{
  self->worker = _qmp_worker_ref ();
  g_mutex_init (&self->lock);
  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) _qmp_server_channel_unref, NULL);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_unref);
  self->handshakes = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
}

/**
 * qmp_proxy_new:
 * @upstream: the connection to QEMU
 *
 * Creates a proxy that serves @upstream's QEMU to other clients.  The
 * application goes on using @upstream itself.
 *
 * ```c
 * g_autoptr(QmpProxy) proxy = qmp_proxy_new (connection);
 * ```
 *
 * Returns: (transfer full): a new #QmpProxy
 *
 * Since: 1.0
 */
QmpProxy *
qmp_proxy_new (QmpConnection *upstream)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (upstream), NULL);

  return g_object_new (QMP_TYPE_PROXY, "upstream", upstream, NULL);
}

/**
 * qmp_proxy_get_upstream: (get-property upstream)
 * @self: a #QmpProxy
 *
 * Gets the connection to QEMU that the proxy serves.
 *
 * ```c
 * QmpConnection *connection = qmp_proxy_get_upstream (proxy);
 * ```
 *
 * Returns: (transfer none): the upstream connection
 *
 * Since: 1.0
 */
QmpConnection *
qmp_proxy_get_upstream (QmpProxy *self)
{
  g_return_val_if_fail (QMP_IS_PROXY (self), NULL);

  return self->upstream;
}

static Listener *
listener_new (GSocket             *socket,
              QmpProxy            *proxy,
              QmpProxyClientFlags  flags)
{
  Listener *listener = g_new0 (Listener, 1);

  g_atomic_ref_count_init (&listener->ref_count);
  listener->socket = g_object_ref (socket);
  g_weak_ref_init (&listener->proxy, proxy);
  listener->flags = flags;

  return listener;
}

static void on_incoming (GSocket  *client,
                         gpointer  user_data);

/* Starts accepting on @listener's socket, on the worker; takes @listener. */
static gboolean
proxy_add_listener (QmpProxy  *self,
                    Listener  *listener,
                    GError   **error)
{
  listener->source = _qmp_accept_source_new (listener->socket);
  g_atomic_ref_count_inc (&listener->ref_count);
  g_source_set_callback (listener->source, G_SOURCE_FUNC (on_incoming), listener,
                         (GDestroyNotify) listener_unref);
  g_source_set_static_name (listener->source, "[qmp-glib] proxy listen");

  g_mutex_lock (&self->lock);
  if (self->closed)
    {
      g_mutex_unlock (&self->lock);
      listener_close (listener);
      listener_unref (listener);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The proxy is closed"));
      return FALSE;
    }
  g_ptr_array_add (self->listeners, listener);
  /* Under the lock: a close now finds the source attached, to destroy */
  g_source_attach (listener->source, _qmp_worker_get_context (self->worker));
  g_mutex_unlock (&self->lock);

  return TRUE;
}

/* A TLS client between its connection and the end of its handshake */
typedef struct
{
  GWeakRef proxy;
  QmpProxyClientFlags flags;
  GCancellable *cancellable;    /* by the timeout, or the proxy's close */
  GSource *timeout;             /* on the worker */
} Handshake;

static void
handshake_free (Handshake *handshake)
{
  g_weak_ref_clear (&handshake->proxy);
  g_clear_object (&handshake->cancellable);
  if (handshake->timeout != NULL)
    {
      g_source_destroy (handshake->timeout);
      g_source_unref (handshake->timeout);
    }
  g_free (handshake);
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* A client certificate is taken only when it chains to the CA database
 * given: glib-networking asks this signal for every one a server gets. */
static gboolean
on_accept_certificate (GTlsConnection       *connection,
                       GTlsCertificate      *peer_certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  return errors == 0;
}

/* On the worker: the client proved who it is, or not. */
static void
on_handshake_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Handshake *handshake = user_data;
  g_autoptr(QmpProxy) self = g_weak_ref_get (&handshake->proxy);
  g_autoptr(GError) error = NULL;
  gboolean added = FALSE;

  if (self != NULL)
    {
      g_mutex_lock (&self->lock);
      g_hash_table_remove (self->handshakes, handshake->cancellable);
      g_mutex_unlock (&self->lock);
    }

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    g_debug ("proxy: a TLS client was refused: %s", error->message);
  else if (self != NULL)
    added = proxy_add_client (self, G_IO_STREAM (source), handshake->flags, NULL);

  if (!added)
    g_io_stream_close (G_IO_STREAM (source), NULL, NULL);

  handshake_free (handshake);
}

/* On the worker: a TCP client must show a certificate that chains to the
 * listener's CA before it gets a greeting. */
static void
start_handshake (QmpProxy          *self,
                 Listener          *listener,
                 GSocketConnection *connection)
{
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  Handshake *handshake;
  gboolean full;

  /* Each handshake takes a thread of GIO's shared pool (glib-networking
   * runs it there) until it ends: clients that connect and say nothing
   * would hold them all, for the whole process, and a legitimate client
   * would wait behind them.  Past the bound, a client is refused at once. */
  g_mutex_lock (&self->lock);
  full = g_hash_table_size (self->handshakes) >= MAX_HANDSHAKES;
  g_mutex_unlock (&self->lock);
  if (full)
    {
      g_debug ("proxy: %u TLS handshakes run already: a client is refused", MAX_HANDSHAKES);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }

  tls = g_tls_server_connection_new (G_IO_STREAM (connection), listener->certificate, &error);
  if (tls == NULL)
    {
      g_warning ("proxy: cannot serve TLS: %s", error->message);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), listener->client_ca);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);

  handshake = g_new0 (Handshake, 1);
  g_weak_ref_init (&handshake->proxy, self);
  handshake->flags = listener->flags;
  handshake->cancellable = g_cancellable_new ();
  handshake->timeout = g_timeout_source_new_seconds (HANDSHAKE_TIMEOUT_SECONDS);
  g_source_set_callback (handshake->timeout, on_handshake_timeout,
                         g_object_ref (handshake->cancellable), g_object_unref);
  g_source_set_static_name (handshake->timeout, "[qmp-glib] proxy TLS handshake timeout");
  g_source_attach (handshake->timeout, _qmp_worker_get_context (self->worker));

  g_mutex_lock (&self->lock);
  g_hash_table_add (self->handshakes, g_object_ref (handshake->cancellable));
  g_mutex_unlock (&self->lock);

  /* The worker's context is its thread's default: the callback comes
   * there. */
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    handshake->cancellable, on_handshake_done, handshake);
}

/* On the worker, for each client that a listening socket accepted */
static void
on_incoming (GSocket  *client,
             gpointer  user_data)
{
  Listener *listener = user_data;
  g_autoptr(QmpProxy) self = g_weak_ref_get (&listener->proxy);
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_connection_factory_create_connection (client);
  if (self != NULL && listener->certificate != NULL && !qmp_proxy_is_closed (self))
    start_handshake (self, listener, connection);
  else if (self == NULL || !proxy_add_client (self, G_IO_STREAM (connection), listener->flags, NULL))
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/**
 * qmp_proxy_listen_unix:
 * @self: a #QmpProxy
 * @path: where to make the socket
 * @mode: the socket's permissions, or 0 for 0600 (the owner only)
 * @flags: what the clients of this socket may do
 * @error: return location for a #GError
 *
 * Makes a Unix socket at @path for clients to connect to, with the
 * permissions @mode from the start.  An existing file at @path is replaced
 * only if it is a stale socket (nothing listens on it); anything else
 * fails with %G_IO_ERROR_EXISTS or %G_IO_ERROR_ADDRESS_IN_USE.  The socket
 * is removed when the proxy closes.  A proxy may listen on several
 * sockets, for example one read-only.
 *
 * ```c
 * qmp_proxy_listen_unix (proxy, "/run/user/1000/vm0.sock", 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error);
 * qmp_proxy_listen_unix (proxy, "/run/user/1000/vm0-ro.sock", 0660,
 *                        QMP_PROXY_CLIENT_FLAGS_READ_ONLY, &error);
 * ```
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
qmp_proxy_listen_unix (QmpProxy             *self,
                       const char           *path,
                       guint                 mode,
                       QmpProxyClientFlags   flags,
                       GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  QmpUnixSocketFile file = { NULL, };
  Listener *listener;

  g_return_val_if_fail (QMP_IS_PROXY (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail ((mode & ~0777u) == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (qmp_proxy_is_closed (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The proxy is closed"));
      return FALSE;
    }

  socket = _qmp_unix_socket_listen (path, mode != 0 ? mode : 0600, &file, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);

  listener = listener_new (socket, self, flags);
  listener->file = file;

  return proxy_add_listener (self, listener, error);
}

/* A TCP socket bound to @address, listening; its address in @effective. */
static GSocket *
bind_tcp (GSocketAddress  *address,
          GSocketAddress **effective,
          GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL ||
      !g_socket_bind (socket, address, TRUE, error) ||
      !g_socket_listen (socket, error))
    return NULL;
  g_socket_set_blocking (socket, FALSE);

  if (effective != NULL)
    {
      *effective = g_socket_get_local_address (socket, error);
      if (*effective == NULL)
        return NULL;
    }

  return g_steal_pointer (&socket);
}

/**
 * qmp_proxy_listen_tls:
 * @self: a #QmpProxy
 * @address: the address and port to listen on (a #GInetSocketAddress;
 *   port 0 picks a free one)
 * @certificate: the proxy's own certificate, with its private key
 * @client_ca: the certificate authorities a client's certificate must
 *   chain to
 * @flags: what the clients of this socket may do
 * @effective_address: (out) (optional) (transfer full): where the
 *   proxy listens, with the port it got
 * @error: return location for a #GError
 *
 * Listens on TCP at @address for clients that speak TLS and prove who
 * they are: the proxy shows @certificate, asks every client for its
 * certificate, and lets in only a client whose certificate chains to
 * @client_ca.  A client without a certificate, or with one from another
 * authority, never gets a greeting, and neither does one that has not
 * finished its handshake within 10 seconds.  A proxy hands out full
 * control of a VM: this is the way to listen beyond the local machine
 * (see [method@Qmp.Proxy.listen_tcp_insecure] for the exception).
 *
 * A client connects with the address `tls:HOST:PORT` and the
 * [property@Qmp.Connection:tls-database] and
 * [property@Qmp.Connection:tls-certificate] properties, or `qmpctl
 * --tls-ca --tls-cert --tls-key`.  Descriptors cannot travel over TCP.
 *
 * A @certificate without a private key, or whose private key is not its
 * own, fails with %G_TLS_ERROR_BAD_CERTIFICATE, and nothing listens:
 * otherwise every client's handshake would fail, with no word of why.
 *
 * ```c
 * g_autoptr(GTlsCertificate) certificate =
 *   g_tls_certificate_new_from_files ("/etc/pki/qmp/server-cert.pem",
 *                                     "/etc/pki/qmp/server-key.pem", &error);
 * g_autoptr(GTlsDatabase) client_ca = g_tls_file_database_new ("/etc/pki/qmp/ca-cert.pem", &error);
 * g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("0.0.0.0", 4444);
 *
 * if (!qmp_proxy_listen_tls (proxy, address, certificate, client_ca,
 *                            QMP_PROXY_CLIENT_FLAGS_NONE, NULL, &error))
 *   g_warning ("%s", error->message);
 * ```
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
qmp_proxy_listen_tls (QmpProxy             *self,
                      GSocketAddress       *address,
                      GTlsCertificate      *certificate,
                      GTlsDatabase         *client_ca,
                      QmpProxyClientFlags   flags,
                      GSocketAddress      **effective_address,
                      GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  Listener *listener;

  g_return_val_if_fail (QMP_IS_PROXY (self), FALSE);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), FALSE);
  g_return_val_if_fail (G_IS_TLS_DATABASE (client_ca), FALSE);
  g_return_val_if_fail (effective_address == NULL || *effective_address == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (qmp_proxy_is_closed (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The proxy is closed"));
      return FALSE;
    }

  /* Made before listening: no TLS backend (glib-networking missing) is an
   * error now, not a refused client later. */
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE,
                           _("TLS is not available (is glib-networking installed?)"));
      return FALSE;
    }

  /* A key that is not the certificate's would fail every client's
   * handshake, each with words that do not say why. */
  if (!_qmp_tls_check_certificate (certificate, error))
    return FALSE;

  socket = bind_tcp (address, &effective, error);
  if (socket == NULL)
    return FALSE;

  listener = listener_new (socket, self, flags);
  listener->certificate = g_object_ref (certificate);
  listener->client_ca = g_object_ref (client_ca);
  if (!proxy_add_listener (self, listener, error))
    return FALSE;

  if (effective_address != NULL)
    *effective_address = g_steal_pointer (&effective);
  return TRUE;
}

/**
 * qmp_proxy_listen_tcp_insecure:
 * @self: a #QmpProxy
 * @address: the address and port to listen on (a #GInetSocketAddress;
 *   port 0 picks a free one)
 * @flags: what the clients of this socket may do
 * @effective_address: (out) (optional) (transfer full): where the
 *   proxy listens, with the port it got
 * @error: return location for a #GError
 *
 * Listens on plain TCP at @address, with neither encryption nor any check
 * of who connects: anyone who can reach the port gets the monitor, that
 * is full control of the VM (or, with
 * %QMP_PROXY_CLIENT_FLAGS_READ_ONLY, everything `query-*` shows).  Use
 * it only where every local user may have that, on `127.0.0.1` of a
 * single-user machine or inside a private network namespace, say; use
 * [method@Qmp.Proxy.listen_tls] or [method@Qmp.Proxy.listen_unix]
 * otherwise.  The name says so on purpose.
 *
 * ```c
 * g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 4444);
 *
 * // A test rig where every local user may drive the VM
 * if (!qmp_proxy_listen_tcp_insecure (proxy, address, QMP_PROXY_CLIENT_FLAGS_NONE, NULL, &error))
 *   g_warning ("%s", error->message);
 * // qmpctl --socket tcp:127.0.0.1:4444 query-status
 * ```
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
qmp_proxy_listen_tcp_insecure (QmpProxy             *self,
                               GSocketAddress       *address,
                               QmpProxyClientFlags   flags,
                               GSocketAddress      **effective_address,
                               GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) effective = NULL;

  g_return_val_if_fail (QMP_IS_PROXY (self), FALSE);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (effective_address == NULL || *effective_address == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (qmp_proxy_is_closed (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The proxy is closed"));
      return FALSE;
    }

  socket = bind_tcp (address, &effective, error);
  if (socket == NULL ||
      !proxy_add_listener (self, listener_new (socket, self, flags), error))
    return FALSE;

  if (effective_address != NULL)
    *effective_address = g_steal_pointer (&effective);
  return TRUE;
}

/**
 * qmp_proxy_new_client_stream:
 * @self: a #QmpProxy
 * @flags: what the client may do
 * @error: return location for a #GError
 *
 * Makes a new client over a socket pair and returns the client's end, for
 * a client in this process or one handed the descriptor.
 *
 * ```c
 * g_autoptr(GIOStream) stream = qmp_proxy_new_client_stream (proxy, QMP_PROXY_CLIENT_FLAGS_READ_ONLY, &error);
 * g_autoptr(QmpConnection) monitor = qmp_connection_new_sync (stream, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
 * ```
 *
 * Returns: (transfer full): the client's end, or %NULL with @error set
 *
 * Since: 1.0
 */
GIOStream *
qmp_proxy_new_client_stream (QmpProxy             *self,
                             QmpProxyClientFlags   flags,
                             GError              **error)
{
  g_autoptr(GSocketConnection) client_connection = NULL;
  g_autoptr(GSocketConnection) server_connection = NULL;

  g_return_val_if_fail (QMP_IS_PROXY (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_server_socket_pair (&client_connection, &server_connection, error))
    return NULL;
  if (!proxy_add_client (self, G_IO_STREAM (server_connection), flags, error))
    return NULL;

  return G_IO_STREAM (g_steal_pointer (&client_connection));
}

/**
 * qmp_proxy_get_n_clients:
 * @self: a #QmpProxy
 *
 * Gets the number of clients connected now.
 *
 * ```c
 * g_print ("%u clients\n", qmp_proxy_get_n_clients (proxy));
 * ```
 *
 * Returns: the number of clients
 *
 * Since: 1.0
 */
guint
qmp_proxy_get_n_clients (QmpProxy *self)
{
  guint n;

  g_return_val_if_fail (QMP_IS_PROXY (self), 0);

  g_mutex_lock (&self->lock);
  n = g_hash_table_size (self->clients);
  g_mutex_unlock (&self->lock);

  return n;
}

/**
 * qmp_proxy_is_closed:
 * @self: a #QmpProxy
 *
 * Gets whether the proxy closed.
 *
 * ```c
 * if (qmp_proxy_is_closed (proxy))
 *   g_print ("QEMU went away\n");
 * ```
 *
 * Returns: %TRUE once the proxy closed
 *
 * Since: 1.0
 */
gboolean
qmp_proxy_is_closed (QmpProxy *self)
{
  gboolean closed;

  g_return_val_if_fail (QMP_IS_PROXY (self), TRUE);

  g_mutex_lock (&self->lock);
  closed = self->closed;
  g_mutex_unlock (&self->lock);

  return closed;
}

/**
 * qmp_proxy_close:
 * @self: a #QmpProxy
 *
 * Closes every client and every socket of the proxy; the upstream
 * connection stays open.  The [signal@Qmp.Proxy::closed] signal is
 * emitted.  Closing a closed proxy does nothing.
 *
 * ```c
 * qmp_proxy_close (proxy);
 * ```
 *
 * Since: 1.0
 */
void
qmp_proxy_close (QmpProxy *self)
{
  g_return_if_fail (QMP_IS_PROXY (self));

  proxy_close (self, TRUE);
}

static void
proxy_close (QmpProxy *self,
             gboolean  emit)
{
  g_autoptr(GHashTable) clients = NULL;
  g_autoptr(GHashTable) handshakes = NULL;
  g_autoptr(GPtrArray) listeners = NULL;
  GHashTableIter iter;
  gpointer channel;
  gpointer cancellable;

  g_mutex_lock (&self->lock);
  if (self->closed)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->closed = TRUE;
  clients = g_steal_pointer (&self->clients);
  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) _qmp_server_channel_unref, NULL);
  listeners = g_steal_pointer (&self->listeners);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_unref);
  handshakes = g_steal_pointer (&self->handshakes);
  self->handshakes = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < listeners->len; i++)
    listener_close (g_ptr_array_index (listeners, i));

  /* Their clients are closed when the handshakes end */
  g_hash_table_iter_init (&iter, handshakes);
  while (g_hash_table_iter_next (&iter, &cancellable, NULL))
    g_cancellable_cancel (cancellable);

  g_hash_table_iter_init (&iter, clients);
  while (g_hash_table_iter_next (&iter, &channel, NULL))
    _qmp_server_channel_close (channel);

  if (emit)
    g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
}
