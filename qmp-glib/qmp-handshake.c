/* qmp-handshake.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <glib/gi18n-lib.h>
#include <gio/gunixsocketaddress.h>

#include "qmp-error.h"
#include "qmp-handshake-private.h"
#include "qmp-json-private.h"
#include "qmp-sync-private.h"
#include "qmp-tls-private.h"

/* Everything a QmpConnection does before it is usable: connect, read the
 * greeting, negotiate capabilities; for a guest agent, synchronise and ask
 * its version.  It all runs on the worker, bounded by one deadline. */

typedef struct
{
  QmpWorker *worker;
  char *address;                   /* nullable */
  GIOStream *stream;               /* nullable until connected */
  QmpConnectionFlags flags;
  QmpChannel *channel;
  QmpPeerInfo *info;

  GSocketConnectable *connectable;
  gboolean tls;                    /* a tls: address */
  gboolean tls_done;               /* its TLS handshake succeeded */
  GTlsDatabase *tls_database;      /* nullable: the system's CAs */
  GTlsCertificate *tls_certificate; /* nullable: no client certificate */
  GCancellable *cancellable;       /* ours: fires on the caller's or on the timeout */
  GCancellable *caller_cancellable;
  gulong caller_cancelled_id;
  GSource *timeout_source;
  guint timeout_msec;
  gboolean timed_out;

  QmpHandshakeChannelFunc channel_func;
  QmpHandshakeDoneFunc done_func;
  gpointer user_data;
} QmpHandshake;

void
_qmp_peer_info_free (QmpPeerInfo *info)
{
  g_free (info->package);
  g_strfreev (info->capabilities);
  g_free (info);
}

static void
handshake_free (QmpHandshake *handshake)
{
  g_clear_pointer (&handshake->worker, _qmp_worker_unref);
  g_clear_pointer (&handshake->address, g_free);
  g_clear_object (&handshake->stream);
  g_clear_pointer (&handshake->channel, _qmp_channel_unref);
  g_clear_pointer (&handshake->info, _qmp_peer_info_free);
  g_clear_object (&handshake->connectable);
  g_clear_object (&handshake->tls_database);
  g_clear_object (&handshake->tls_certificate);
  g_clear_object (&handshake->cancellable);
  g_clear_object (&handshake->caller_cancellable);
  g_free (handshake);
}

static void
handshake_finish (QmpHandshake *handshake,
                  GError       *error)
{
  QmpPeerInfo *info = NULL;

  if (handshake->timeout_source != NULL)
    {
      g_source_destroy (handshake->timeout_source);
      g_clear_pointer (&handshake->timeout_source, g_source_unref);
    }

  if (handshake->caller_cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (handshake->caller_cancellable, handshake->caller_cancelled_id);

  if (error != NULL)
    {
      if (handshake->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (&error);
          error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               _("Timed out after %u ms while connecting to the QMP server"),
                               handshake->timeout_msec);
        }
      else if (handshake->tls_done && g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
        {
          /* How QEMU with verify-peer=on refuses a client without a
           * certificate under TLS 1.3: after the handshake, at the first
           * read. */
          g_prefix_error (&error, _("The server at “%s” closed the TLS connection (does it require a client certificate?): "),
                          handshake->address);
        }
    }
  else
    {
      info = g_steal_pointer (&handshake->info);
    }

  handshake->done_func (info, error, handshake->user_data);
  handshake_free (handshake);
}

/* An unsigned decimal number within a guint at *@p, which is moved past it. */
static gboolean
parse_version_number (const char **p,
                      guint       *value)
{
  guint64 number = 0;

  if (!g_ascii_isdigit (**p))
    return FALSE;

  for (; g_ascii_isdigit (**p); (*p)++)
    {
      number = number * 10 + (guint) (**p - '0');
      if (number > G_MAXUINT)
        return FALSE;
    }

  *value = (guint) number;
  return TRUE;
}

/* The guest agent's "MAJOR.MINOR[.MICRO]", anything after it ignored
 * ("-rc1"): what the peer sends is not trusted to fit. */
static gboolean
parse_guest_version (const char  *version,
                     QmpPeerInfo *info)
{
  const char *p = version;

  if (!parse_version_number (&p, &info->version_major) || *p++ != '.' ||
      !parse_version_number (&p, &info->version_minor))
    return FALSE;

  info->version_micro = 0;
  if (*p == '.' && g_ascii_isdigit (p[1]))
    {
      p++;
      return parse_version_number (&p, &info->version_micro);
    }

  return TRUE;
}

/* The greeting is the server's to choose: every member is type-checked. */
static gboolean
parse_greeting (QmpPeerInfo  *info,
                JsonNode     *root,
                GError      **error)
{
  JsonObject *qmp = _qmp_json_node_get_object (root);
  JsonObject *version = _qmp_json_object_get_object (qmp, "version");
  JsonObject *qemu = _qmp_json_object_get_object (version, "qemu");
  JsonArray *capabilities = _qmp_json_object_get_array (qmp, "capabilities");
  const char *package = _qmp_json_object_get_string (version, "package");
  g_autoptr(GStrvBuilder) builder = NULL;
  const char *names[] = { "major", "minor", "micro" };
  guint *values[] = { &info->version_major, &info->version_minor, &info->version_micro };

  if (qemu == NULL || capabilities == NULL)
    goto malformed;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      gint64 value;

      if (!_qmp_json_object_get_int (qemu, names[i], &value) || value < 0 || value > G_MAXUINT)
        goto malformed;

      *values[i] = (guint) value;
    }

  /* Optional: absent when it is not a string. */
  info->package = g_strdup (package != NULL ? package : "");

  /* Capabilities this library does not know are ignored; so are ones that
   * are not even strings. */
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (capabilities); i++)
    {
      const char *capability = _qmp_json_node_get_string (json_array_get_element (capabilities, i));

      if (capability != NULL)
        g_strv_builder_add (builder, capability);
    }
  info->capabilities = g_strv_builder_end (builder);

  return TRUE;

malformed:
  g_set_error_literal (error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                       _("The server’s QMP greeting is malformed"));
  return FALSE;
}

static void
on_negotiated (QmpCall  *call,
               gpointer  user_data)
{
  QmpHandshake *handshake = user_data;
  GError *error = _qmp_call_steal_error (call);

  if (error == NULL)
    _qmp_channel_set_negotiated (handshake->channel, handshake->info->oob_enabled);

  handshake_finish (handshake, error);
}

static void
on_greeting (QmpCall  *call,
             gpointer  user_data)
{
  QmpHandshake *handshake = user_data;
  QmpPeerInfo *info = handshake->info;
  g_autoptr(JsonNode) greeting = _qmp_call_steal_return (call);
  g_autoptr(QmpCall) negotiate = NULL;
  GError *error = _qmp_call_steal_error (call);

  if (error == NULL)
    parse_greeting (info, greeting, &error);

  if (error != NULL)
    {
      handshake_finish (handshake, error);
      return;
    }

  info->oob_enabled = (handshake->flags & QMP_CONNECTION_FLAGS_OOB) != 0 &&
                      g_strv_contains ((const char * const *) info->capabilities, "oob");
  negotiate = _qmp_call_new_capabilities (info->oob_enabled);
  _qmp_call_set_done_func (negotiate, on_negotiated, handshake);
  _qmp_channel_submit (handshake->channel, negotiate, handshake->cancellable, 0);
}

static void
on_guest_info (QmpCall  *call,
               gpointer  user_data)
{
  QmpHandshake *handshake = user_data;
  QmpPeerInfo *info = handshake->info;
  g_autoptr(JsonNode) reply = _qmp_call_steal_return (call);
  GError *error = _qmp_call_steal_error (call);

  if (error == NULL)
    {
      /* A guest is untrusted: its reply is type-checked like any peer's. */
      const char *version = _qmp_json_object_get_string (_qmp_json_node_get_object (reply), "version");

      if (version == NULL || !parse_guest_version (version, info))
        error = g_error_new_literal (QMP_ERROR, QMP_ERROR_PROTOCOL,
                                     _("The guest agent’s reply to “guest-info” has no version"));
    }

  info->package = g_strdup ("");
  info->capabilities = g_new0 (char *, 1);

  handshake_finish (handshake, error);
}

static void
on_guest_synced (GError   *error,
                 gpointer  user_data)
{
  QmpHandshake *handshake = user_data;
  g_autoptr(QmpCall) guest_info = NULL;

  if (error != NULL)
    {
      handshake_finish (handshake, error);
      return;
    }

  /* The version the properties report, as the greeting gives it for QEMU. */
  guest_info = _qmp_call_new (QMP_CALL_COMMAND, "guest-info", NULL, FALSE, NULL, NULL);
  _qmp_call_set_done_func (guest_info, on_guest_info, handshake);
  _qmp_channel_submit (handshake->channel, guest_info, handshake->cancellable, 0);
}

/* The guest agent sends no greeting, may have a half-written reply of an
 * earlier client in its pipe, and may not run yet (a guest that boots):
 * guest-sync-delimited, repeated until answered, makes it send 0xFF, up
 * to which the channel drops its input, then our token. */
static void
handshake_start_guest_agent (QmpHandshake *handshake)
{
  _qmp_channel_start (handshake->channel);
  _qmp_guest_sync_start (handshake->channel, 0, handshake->cancellable, on_guest_synced, handshake);
}

/* ------------------------------------------------ guest agent resync */

/* The first retry comes after GUEST_SYNC_FIRST_MSEC, each next one after
 * twice as long, up to GUEST_SYNC_MAX_MSEC: an agent that runs answers at
 * once, one that boots is not flooded. */
#define GUEST_SYNC_FIRST_MSEC 100
#define GUEST_SYNC_MAX_MSEC   2000

/* What _qmp_guest_sync_set_intervals() made of them, read when a sync
 * starts: a test sets them before it starts one. */
static guint guest_sync_first_msec = GUEST_SYNC_FIRST_MSEC;
static guint guest_sync_max_msec = GUEST_SYNC_MAX_MSEC;

typedef struct
{
  guint ref_count;                 /* on the worker only */
  QmpWorker *worker;
  QmpChannel *channel;
  GCancellable *cancellable;       /* ours: the caller's, the timeout, or done */
  GCancellable *caller_cancellable;
  gulong caller_cancelled_id;
  GSource *retry_source;
  GSource *timeout_source;
  guint timeout_msec;
  guint interval_msec;
  guint max_interval_msec;
  GQueue attempts;                 /* the live ones, oldest first */
  gboolean timed_out;
  gboolean finished;
  QmpGuestSyncDoneFunc done_func;
  gpointer user_data;
} GuestSync;

typedef struct
{
  GuestSync *sync;
  gint64 token;
  GCancellable *cancellable;       /* its own: fires with the sync's, or when abandoned */
  gulong forwarded_id;             /* on the sync's cancellable */
  GList link;                      /* in sync->attempts while it is live */
  gboolean abandoned;
} GuestSyncAttempt;

static void guest_sync_send (GuestSync *sync);

static void
guest_sync_unref (GuestSync *sync)
{
  if (--sync->ref_count > 0)
    return;

  g_assert (sync->retry_source == NULL && sync->timeout_source == NULL);
  g_assert (g_queue_is_empty (&sync->attempts));
  _qmp_channel_unref (sync->channel);
  g_object_unref (sync->cancellable);
  g_clear_object (&sync->caller_cancellable);
  _qmp_worker_unref (sync->worker);
  g_free (sync);
}

static void
guest_sync_finish (GuestSync *sync,
                   GError    *error)
{
  g_assert (!sync->finished);
  sync->finished = TRUE;

  if (sync->retry_source != NULL)
    {
      g_source_destroy (sync->retry_source);
      g_clear_pointer (&sync->retry_source, g_source_unref);
    }
  if (sync->timeout_source != NULL)
    {
      g_source_destroy (sync->timeout_source);
      g_clear_pointer (&sync->timeout_source, g_source_unref);
    }
  if (sync->caller_cancelled_id != 0)
    {
      _qmp_cancellable_disconnect_nowait (sync->caller_cancellable, sync->caller_cancelled_id);
      sync->caller_cancelled_id = 0;
    }

  if (error != NULL && sync->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("Timed out after %u ms waiting for the guest agent to answer"),
                           sync->timeout_msec);
    }

  /* The attempts still unanswered are dropped: replies that come later
   * are read and ignored. */
  g_cancellable_cancel (sync->cancellable);

  sync->done_func (error, sync->user_data);
  guest_sync_unref (sync);   /* the reference of the running wait */
}

static void
on_guest_sync_attempt_done (QmpCall  *call,
                            gpointer  user_data)
{
  GuestSyncAttempt *attempt = user_data;
  GuestSync *sync = attempt->sync;
  g_autoptr(JsonNode) ret = _qmp_call_steal_return (call);
  GError *error = _qmp_call_steal_error (call);

  if (attempt->forwarded_id != 0)
    _qmp_cancellable_disconnect_nowait (sync->cancellable, attempt->forwarded_id);
  g_object_unref (attempt->cancellable);
  if (!attempt->abandoned)
    g_queue_unlink (&sync->attempts, &attempt->link);

  /* An abandoned attempt ends cancelled, or (when its answer was read
   * before the cancellation took effect) answered: either way, the
   * answers that count are the live attempts'. */
  if (sync->finished || attempt->abandoned)
    {
      g_clear_error (&error);
    }
  else
    {
      if (error == NULL &&
          !(JSON_NODE_HOLDS_VALUE (ret) && json_node_get_value_type (ret) == G_TYPE_INT64 &&
            json_node_get_int (ret) == attempt->token))
        error = g_error_new_literal (QMP_ERROR, QMP_ERROR_PROTOCOL,
                                     _("The guest agent answered the synchronization with another value"));

      guest_sync_finish (sync, error);
    }

  guest_sync_unref (sync);
  g_free (attempt);
}

static gboolean
on_guest_sync_retry (gpointer user_data)
{
  GuestSync *sync = user_data;

  g_clear_pointer (&sync->retry_source, g_source_unref);
  guest_sync_send (sync);

  return G_SOURCE_REMOVE;
}

/* One attempt, with its own token and id: the earlier ones stay valid, so
 * an agent that answers an old one late is still heard; but only the last
 * QMP_GUEST_SYNC_MAX_ATTEMPTS, or an agent that reads and never answers
 * would have the channel hold every attempt for ever. */
static void
guest_sync_send (GuestSync *sync)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(QmpCall) call = NULL;
  GuestSyncAttempt *attempt = g_new0 (GuestSyncAttempt, 1);

  /* Cancelled, the oldest leaves the channel (a line not yet begun is
   * never sent); its answer, if one comes, is dropped as an unknown id. */
  if (sync->attempts.length == QMP_GUEST_SYNC_MAX_ATTEMPTS)
    {
      GuestSyncAttempt *oldest = g_queue_pop_head_link (&sync->attempts)->data;

      oldest->abandoned = TRUE;
      g_cancellable_cancel (oldest->cancellable);
    }

  attempt->sync = sync;
  attempt->token = g_random_int_range (1, G_MAXINT32);
  attempt->cancellable = g_cancellable_new ();
  attempt->forwarded_id = _qmp_cancellable_forward (sync->cancellable, attempt->cancellable);
  attempt->link.data = attempt;
  g_queue_push_tail_link (&sync->attempts, &attempt->link);
  sync->ref_count++;
  json_object_set_int_member (arguments, "id", attempt->token);

  sync->retry_source = g_timeout_source_new (sync->interval_msec);
  g_source_set_static_name (sync->retry_source, "[qmp-glib] guest agent resync");
  g_source_set_callback (sync->retry_source, on_guest_sync_retry, sync, NULL);
  g_source_attach (sync->retry_source, _qmp_worker_get_context (sync->worker));
  sync->interval_msec = MIN (sync->interval_msec * 2, sync->max_interval_msec);

  call = _qmp_call_new (QMP_CALL_COMMAND, "guest-sync-delimited", arguments, FALSE, NULL, NULL);
  _qmp_call_set_unlimited (call);
  /* The attempts, the retries and the timeout share the sync's state on
   * the worker. */
  _qmp_call_set_done_on_worker (call);
  _qmp_call_set_done_func (call, on_guest_sync_attempt_done, attempt);
  /* May finish at once (a closed channel): after the timer is set. */
  _qmp_channel_submit (sync->channel, call, attempt->cancellable, 0);
}

static gboolean
on_guest_sync_timeout (gpointer user_data)
{
  GuestSync *sync = user_data;

  sync->timed_out = TRUE;
  g_clear_pointer (&sync->timeout_source, g_source_unref);
  g_cancellable_cancel (sync->cancellable);

  return G_SOURCE_REMOVE;
}

static gboolean
guest_sync_start_on_worker (gpointer user_data)
{
  GuestSync *sync = user_data;

  /* Cancelled already: nothing is sent. */
  if (g_cancellable_is_cancelled (sync->cancellable))
    {
      guest_sync_finish (sync, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                    _("Operation was cancelled")));
      return G_SOURCE_REMOVE;
    }

  if (sync->timeout_msec > 0)
    {
      sync->timeout_source = g_timeout_source_new (sync->timeout_msec);
      g_source_set_static_name (sync->timeout_source, "[qmp-glib] guest agent resync timeout");
      g_source_set_callback (sync->timeout_source, on_guest_sync_timeout, sync, NULL);
      g_source_attach (sync->timeout_source, _qmp_worker_get_context (sync->worker));
    }

  guest_sync_send (sync);

  return G_SOURCE_REMOVE;
}

void
_qmp_guest_sync_start (QmpChannel           *channel,
                       guint                 timeout_msec,
                       GCancellable         *cancellable,
                       QmpGuestSyncDoneFunc  done_func,
                       gpointer              user_data)
{
  GuestSync *sync = g_new0 (GuestSync, 1);

  sync->ref_count = 1;
  sync->worker = _qmp_worker_ref ();
  sync->channel = _qmp_channel_ref (channel);
  sync->cancellable = g_cancellable_new ();
  sync->timeout_msec = timeout_msec;
  sync->interval_msec = guest_sync_first_msec;
  sync->max_interval_msec = guest_sync_max_msec;
  sync->done_func = done_func;
  sync->user_data = user_data;

  if (cancellable != NULL)
    {
      sync->caller_cancellable = g_object_ref (cancellable);
      sync->caller_cancelled_id = _qmp_cancellable_forward (cancellable, sync->cancellable);
    }

  _qmp_worker_invoke (sync->worker, guest_sync_start_on_worker, sync, NULL);
}

void
_qmp_guest_sync_set_intervals (guint first_msec,
                               guint max_msec)
{
  guest_sync_first_msec = first_msec > 0 ? first_msec : GUEST_SYNC_FIRST_MSEC;
  guest_sync_max_msec = max_msec > 0 ? max_msec : GUEST_SYNC_MAX_MSEC;
  g_assert (guest_sync_first_msec <= guest_sync_max_msec);
}

/* On the worker, with a connected stream: wait for the greeting. */
static void
handshake_start_channel (QmpHandshake *handshake)
{
  g_autoptr(QmpCall) greeting = NULL;
  g_autoptr(QmpChannel) channel = NULL;
  GError *error = NULL;

  handshake->channel = handshake->channel_func (handshake->stream, handshake->user_data, &error);
  if (handshake->channel == NULL)
    {
      handshake_finish (handshake, error);
      return;
    }

  if ((handshake->flags & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0)
    {
      handshake_start_guest_agent (handshake);
      return;
    }

  /* The submission may finish the handshake at once (a cancellable that
   * fired already), which frees it: the channel is held here. */
  channel = _qmp_channel_ref (handshake->channel);
  greeting = _qmp_call_new (QMP_CALL_GREETING, NULL, NULL, FALSE, NULL, NULL);
  _qmp_call_set_done_func (greeting, on_greeting, handshake);
  _qmp_channel_submit (channel, greeting, handshake->cancellable, 0);
  if (!_qmp_channel_is_closed (channel))
    _qmp_channel_start (channel);
}

static void
on_tls_handshake (GObject      *source_object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  QmpHandshake *handshake = user_data;
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source_object), result, &error))
    {
      /* The domain stays G_TLS_ERROR (or G_IO_ERROR for a transport
       * failure): the caller can tell a refused certificate. */
      g_prefix_error (&error, _("TLS handshake with “%s” failed: "), handshake->address);
      handshake_finish (handshake, error);
      return;
    }

  handshake->tls_done = TRUE;
  handshake_start_channel (handshake);
}

/* Wraps the connected stream in TLS.  The server's certificate must chain
 * up to the given database (or the system's) and name the address's
 * host: nothing connects to accept-certificate, so anything else fails
 * the handshake. */
static void
handshake_start_tls (QmpHandshake *handshake)
{
  g_autoptr(GIOStream) tls = NULL;
  GError *error = NULL;

  tls = g_tls_client_connection_new (handshake->stream, handshake->connectable, &error);
  if (tls == NULL)
    {
      g_prefix_error (&error, _("Could not connect to “%s”: "), handshake->address);
      handshake_finish (handshake, error);
      return;
    }

  if (handshake->tls_database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), handshake->tls_database);
  if (handshake->tls_certificate != NULL)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), handshake->tls_certificate);

  g_set_object (&handshake->stream, tls);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    handshake->cancellable, on_tls_handshake, handshake);
}

static void
on_connected (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  QmpHandshake *handshake = user_data;
  GSocketConnection *connection;
  GError *error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source_object), result, &error);
  if (connection == NULL)
    {
      g_prefix_error (&error, _("Could not connect to “%s”: "), handshake->address);
      handshake_finish (handshake, error);
      return;
    }

  /* Commands are small and a reply is waited for: Nagle's algorithm would
   * only add latency. */
  if (G_IS_TCP_CONNECTION (connection))
    g_socket_set_option (g_socket_connection_get_socket (connection),
                         IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  handshake->stream = G_IO_STREAM (connection);
  if (handshake->tls)
    handshake_start_tls (handshake);
  else
    handshake_start_channel (handshake);
}

static gboolean
handshake_on_worker (gpointer user_data)
{
  QmpHandshake *handshake = user_data;

  if (handshake->stream == NULL)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();

      g_socket_client_connect_async (client, handshake->connectable, handshake->cancellable,
                                     on_connected, handshake);
    }
  else
    {
      handshake_start_channel (handshake);
    }

  return G_SOURCE_REMOVE;
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  QmpHandshake *handshake = user_data;

  handshake->timed_out = TRUE;
  g_cancellable_cancel (handshake->cancellable);
  g_clear_pointer (&handshake->timeout_source, g_source_unref);

  return G_SOURCE_REMOVE;
}

static GSocketConnectable *
parse_address (const char  *address,
               gboolean    *tls,
               GError     **error)
{
  const char *path = address;

  *tls = g_str_has_prefix (address, "tls:");
  if (g_str_has_prefix (address, "tcp:") || *tls)
    {
      GSocketConnectable *connectable;
      g_autoptr(GError) local_error = NULL;

      /* "tcp:" and "tls:" have the same length */
      connectable = g_network_address_parse (address + strlen ("tcp:"), 0, &local_error);
      if (connectable == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (connectable)) == 0)
        {
          g_clear_object (&connectable);
          if (*tls)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         _("Invalid address “%s”: expected tls:HOST:PORT"), address);
          else
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         _("Invalid address “%s”: expected tcp:HOST:PORT"), address);
          return NULL;
        }

      return connectable;
    }

  if (g_str_has_prefix (address, "unix:"))
    path = address + strlen ("unix:");
  else if (strchr (address, ':') != NULL && address[0] != '/' && address[0] != '.')
    path = NULL;   /* some other scheme */

  if (path == NULL || *path == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid address “%s”: expected unix:PATH, tcp:HOST:PORT, tls:HOST:PORT or a path"),
                   address);
      return NULL;
    }

  return G_SOCKET_CONNECTABLE (g_unix_socket_address_new (path));
}

void
_qmp_handshake_start (const char              *address,
                      GIOStream               *stream,
                      QmpConnectionFlags       flags,
                      GTlsDatabase            *tls_database,
                      GTlsCertificate         *tls_certificate,
                      guint                    timeout_msec,
                      GCancellable            *cancellable,
                      QmpHandshakeChannelFunc  channel_func,
                      QmpHandshakeDoneFunc     done_func,
                      gpointer                 user_data)
{
  QmpHandshake *handshake;
  GError *error = NULL;

  handshake = g_new0 (QmpHandshake, 1);
  handshake->worker = _qmp_worker_ref ();
  handshake->address = g_strdup (address);
  handshake->stream = stream != NULL ? g_object_ref (stream) : NULL;
  handshake->flags = flags;
  handshake->tls_database = tls_database != NULL ? g_object_ref (tls_database) : NULL;
  handshake->tls_certificate = tls_certificate != NULL ? g_object_ref (tls_certificate) : NULL;
  handshake->info = g_new0 (QmpPeerInfo, 1);
  handshake->channel_func = channel_func;
  handshake->done_func = done_func;
  handshake->user_data = user_data;
  handshake->cancellable = g_cancellable_new ();
  handshake->timeout_msec = timeout_msec;

  if (stream == NULL)
    {
      if (address == NULL)
        {
          handshake_finish (handshake,
                            g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                 _("Neither an address nor a stream was given")));
          return;
        }

      handshake->connectable = parse_address (address, &handshake->tls, &error);
      if (handshake->connectable == NULL)
        {
          handshake_finish (handshake, error);
          return;
        }
    }

  /* TLS settings that would not be used are a mistake to report, never
   * a connection made in clear. */
  if (!handshake->tls && (tls_database != NULL || tls_certificate != NULL))
    {
      handshake_finish (handshake,
                        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                             _("A TLS database or certificate was given, but the address is not a tls: address")));
      return;
    }

  /* A client certificate whose key is not its own is found here, not by
   * the server, whose refusal would not say why. */
  if (tls_certificate != NULL && !_qmp_tls_check_certificate (tls_certificate, &error))
    {
      g_prefix_error (&error, _("TLS client certificate for “%s”: "), address);
      handshake_finish (handshake, error);
      return;
    }

  if (cancellable != NULL)
    {
      handshake->caller_cancellable = g_object_ref (cancellable);
      handshake->caller_cancelled_id = _qmp_cancellable_forward (cancellable, handshake->cancellable);
    }

  /* QEMU 7.2 stops answering a TLS client after its greeting: over TLS,
   * construction is always bounded. */
  if (handshake->tls && timeout_msec == 0)
    handshake->timeout_msec = timeout_msec = QMP_TLS_DEFAULT_TIMEOUT_MSEC;

  /* One deadline for connecting, the greeting and the negotiation, so a
   * stopped QEMU cannot hang construction. */
  if (timeout_msec > 0)
    {
      handshake->timeout_source = g_timeout_source_new (timeout_msec);
      g_source_set_static_name (handshake->timeout_source, "[qmp-glib] construction timeout");
      g_source_set_callback (handshake->timeout_source, on_handshake_timeout, handshake, NULL);
      g_source_attach (handshake->timeout_source, _qmp_worker_get_context (handshake->worker));
    }

  _qmp_worker_invoke (handshake->worker, handshake_on_worker, handshake, NULL);
}
