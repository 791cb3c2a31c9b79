/* qmpctl-proxy.c: qmpctl proxy, one QEMU monitor for many clients
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gi18n.h>

#include "qmpctl.h"

gboolean
qmpctl_parse_listen_address (const char  *address,
                             char       **path,
                             GError     **error)
{
  const char *rest = address;

  /* As QmpListener reads its address: a string with a colon that does not
   * start like a path has a scheme. */
  if (g_str_has_prefix (address, "unix:"))
    rest = address + strlen ("unix:");
  else if (g_str_has_prefix (address, "tcp:") || g_str_has_prefix (address, "tls:"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“proxy” listens on a Unix socket only, not on “%s”: give a path or unix:PATH"),
                   address);
      return FALSE;
    }
  else if (address[0] != '/' && address[0] != '.' && strchr (address, ':') != NULL)
    rest = NULL;

  if (rest == NULL || rest[0] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid address “%s” to listen on: expected unix:PATH or a path"), address);
      return FALSE;
    }

  *path = g_strdup (rest);
  return TRUE;
}

typedef struct
{
  gboolean interrupted;
  gboolean upstream_closed;
  GError *upstream_error;      /* why it closed, nullable */
  char *shutdown_reason;       /* of QEMU's SHUTDOWN event, "" without one */
} Proxy;

static void
on_shutdown (QmpConnection *connection,
             QmpEvent      *event,
             gpointer       user_data)
{
  Proxy *proxy = user_data;
  JsonObject *data = qmp_event_get_data (event);
  JsonNode *reason = data != NULL ? json_object_get_member (data, "reason") : NULL;

  g_free (proxy->shutdown_reason);
  if (reason != NULL && JSON_NODE_HOLDS_VALUE (reason) &&
      json_node_get_value_type (reason) == G_TYPE_STRING)
    proxy->shutdown_reason = g_strdup (json_node_get_string (reason));
  else
    proxy->shutdown_reason = g_strdup ("");
}

/* QmpConnection emits the events that came before the close first: a
 * SHUTDOWN, if any, has been seen. */
static void
on_upstream_closed (QmpConnection *connection,
                    gboolean       remote_peer_vanished,
                    GError        *error,
                    gpointer       user_data)
{
  Proxy *proxy = user_data;

  proxy->upstream_closed = TRUE;
  if (error != NULL && proxy->upstream_error == NULL)
    proxy->upstream_error = g_error_copy (error);
}

static void
on_interrupted (GCancellable *cancellable,
                Proxy        *proxy)
{
  proxy->interrupted = TRUE;
}

int
qmpctl_proxy (QmpConnection *connection,
              const char    *path,
              guint          mode,
              gboolean       read_only,
              GCancellable  *cancellable)
{
  Proxy proxy = { 0, };
  g_autoptr(QmpProxy) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  const char *prgname = g_get_prgname ();
  gulong shutdown_id, closed_id, cancelled_id;
  int status = QMPCTL_EXIT_OK;

  /* Why it ends: a signal, or QEMU's SHUTDOWN (if any) and then the close. */
  shutdown_id = g_signal_connect (connection, "event::SHUTDOWN", G_CALLBACK (on_shutdown), &proxy);
  closed_id = g_signal_connect (connection, "closed", G_CALLBACK (on_upstream_closed), &proxy);

  server = qmp_proxy_new (connection);
  if (!qmp_proxy_listen_unix (server, path, mode,
                              read_only ? QMP_PROXY_CLIENT_FLAGS_READ_ONLY : QMP_PROXY_CLIENT_FLAGS_NONE,
                              &error))
    {
      /* A proxy made on a closed connection is closed: its "closed"
       * signal, still to come, says why. */
      if (!qmp_connection_is_closed (connection))
        {
          g_autofree char *text = qmpctl_format_error (error);

          g_printerr ("%s\n", text);
          status = QMPCTL_EXIT_FAILED;
          goto out;
        }
    }
  else
    {
      /* Scripts wait for this line before they connect: the socket
       * listens already. */
      version = g_strdup_printf ("%u.%u.%u",
                                 qmp_connection_get_version_major (connection),
                                 qmp_connection_get_version_minor (connection),
                                 qmp_connection_get_version_micro (connection));
      if (read_only)
        g_printerr (_("%s: Listening on %s for read-only clients of QEMU %s\n"), prgname, path, version);
      else
        g_printerr (_("%s: Listening on %s for clients of QEMU %s\n"), prgname, path, version);
    }

  /* Until a signal, or QEMU goes: the connection's "closed" comes once,
   * in this context, also when it closed before it was connected to. */
  cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_interrupted), &proxy, NULL);
  while (!proxy.interrupted && !proxy.upstream_closed)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_disconnect (cancellable, cancelled_id);

  /* Stops listening, closes every client and removes the socket. */
  qmp_proxy_close (server);

  if (proxy.interrupted)
    g_printerr (_("%s: Interrupted: the proxy on %s is closed\n"), prgname, path);
  else if (proxy.shutdown_reason != NULL)
    g_printerr (_("%s: QEMU shut down (%s): the proxy on %s is closed\n"),
                prgname, proxy.shutdown_reason[0] != '\0' ? proxy.shutdown_reason : "?", path);
  else
    {
      /* Gone without a SHUTDOWN: killed, crashed, the link broke, or a
       * qemu-storage-daemon, which has no such event, quit. */
      g_printerr (_("%s: QEMU went away without a SHUTDOWN event (%s): the proxy on %s is closed\n"),
                  prgname,
                  proxy.upstream_error != NULL ? proxy.upstream_error->message
                                                     : _("The server closed the connection"),
                  path);
      status = QMPCTL_EXIT_FAILED;
    }

out:
  g_signal_handler_disconnect (connection, shutdown_id);
  g_signal_handler_disconnect (connection, closed_id);
  g_clear_error (&proxy.upstream_error);
  g_free (proxy.shutdown_reason);

  return status;
}
