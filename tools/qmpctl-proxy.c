/* qmpctl-proxy.c: qmpctl proxy, one QEMU monitor for many clients
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gi18n.h>

#include "qmpctl.h"

void
qmpctl_listen_clear (QmpctlListen *listen)
{
  g_clear_pointer (&listen->path, g_free);
  g_clear_pointer (&listen->host, g_free);
  g_clear_object (&listen->address);
  g_clear_object (&listen->certificate);
  g_clear_object (&listen->client_ca);
}

/* HOST:PORT, as the client side's tcp: and tls: addresses read it
 * (g_network_address_parse): an IPv6 HOST in brackets.  The PORT must be
 * there, and may be 0. */
static gboolean
parse_host_port (const char    *address,
                 const char    *rest,
                 QmpctlListen  *listen,
                 GError       **error)
{
  g_autofree char *host = NULL;
  const char *colon;
  guint64 port;

  if (rest[0] == '[')
    {
      const char *bracket = strchr (rest, ']');

      if (bracket != NULL && bracket[1] == ':')
        {
          host = g_strndup (rest + 1, bracket - rest - 1);
          colon = bracket + 1;
        }
      else
        colon = NULL;
    }
  else
    {
      colon = strrchr (rest, ':');
      if (colon != NULL)
        host = g_strndup (rest, colon - rest);
    }

  if (colon == NULL || host == NULL || host[0] == '\0' ||
      (rest[0] != '[' && strchr (host, ':') != NULL) ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 0, G_MAXUINT16, &port, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid address “%s” to listen on: expected tls:HOST:PORT or tcp:HOST:PORT, "
                     "with an IPv6 HOST in brackets ([::1]) and a PORT from 0 (any free port) to 65535"),
                   address);
      return FALSE;
    }

  listen->host = g_steal_pointer (&host);
  listen->port = (guint16) port;

  return TRUE;
}

gboolean
qmpctl_parse_listen_address (const char    *address,
                             QmpctlListen  *listen,
                             GError       **error)
{
  const char *rest = address;

  /* As QmpListener reads its address: a string with a colon that does not
   * start like a path has a scheme. */
  if (g_str_has_prefix (address, "tls:") || g_str_has_prefix (address, "tcp:"))
    {
      listen->kind = address[1] == 'l' ? QMPCTL_LISTEN_TLS : QMPCTL_LISTEN_TCP;
      /* "tcp:" and "tls:" have the same length */
      return parse_host_port (address, address + strlen ("tcp:"), listen, error);
    }

  if (g_str_has_prefix (address, "unix:"))
    rest = address + strlen ("unix:");
  else if (address[0] != '/' && address[0] != '.' && strchr (address, ':') != NULL)
    rest = NULL;

  if (rest == NULL || rest[0] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid address “%s” to listen on: expected unix:PATH, a path, "
                     "tls:HOST:PORT or tcp:HOST:PORT"), address);
      return FALSE;
    }

  listen->kind = QMPCTL_LISTEN_UNIX;
  listen->path = g_strdup (rest);
  return TRUE;
}

/* The first address of the host: a literal needs no resolver. */
static GSocketAddress *
resolve (const char    *host,
         guint16        port,
         GCancellable  *cancellable,
         GError       **error)
{
  g_autoptr(GInetAddress) literal = g_inet_address_new_from_string (host);
  g_autoptr(GResolver) resolver = NULL;
  GList *addresses;
  GSocketAddress *address;

  if (literal != NULL)
    return g_inet_socket_address_new (literal, port);

  resolver = g_resolver_get_default ();
  addresses = g_resolver_lookup_by_name (resolver, host, cancellable, error);
  if (addresses == NULL)
    return NULL;
  address = g_inet_socket_address_new (addresses->data, port);
  g_resolver_free_addresses (addresses);

  return address;
}

gboolean
qmpctl_prepare_listen (QmpctlListen  *listen,
                       const char    *cert_file,
                       const char    *key_file,
                       const char    *client_ca_file,
                       GCancellable  *cancellable,
                       GError       **error)
{
  if (listen->kind == QMPCTL_LISTEN_UNIX)
    return TRUE;

  listen->address = resolve (listen->host, listen->port, cancellable, error);
  if (listen->address == NULL)
    return FALSE;

  if (listen->kind == QMPCTL_LISTEN_TLS)
    {
      g_assert (cert_file != NULL && key_file != NULL && client_ca_file != NULL);
      /* GLib's messages name a file, not which option gave it. */
      listen->certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
      if (listen->certificate == NULL)
        {
          g_prefix_error (error, _("--proxy-cert %s, --proxy-key %s: "), cert_file, key_file);
          return FALSE;
        }
      listen->client_ca = g_tls_file_database_new (client_ca_file, error);
      if (listen->client_ca == NULL)
        {
          g_prefix_error (error, _("--proxy-client-ca %s: "), client_ca_file);
          return FALSE;
        }
    }

  return TRUE;
}

/* tls:HOST:PORT as a client gives it, with the port the proxy got. */
static char *
format_inet_address (const char     *scheme,
                     GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  GInetAddress *host = g_inet_socket_address_get_address (inet);
  g_autofree char *text = g_inet_address_to_string (host);
  guint16 port = g_inet_socket_address_get_port (inet);

  if (g_inet_address_get_family (host) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("%s:[%s]:%u", scheme, text, port);
  return g_strdup_printf ("%s:%s:%u", scheme, text, port);
}

/* Listens where @listen says; @where is then what the messages call it. */
static gboolean
listen_on (QmpProxy      *server,
           QmpctlListen  *listen,
           guint          mode,
           gboolean       read_only,
           char         **where,
           GError       **error)
{
  QmpProxyClientFlags flags = read_only ? QMP_PROXY_CLIENT_FLAGS_READ_ONLY : QMP_PROXY_CLIENT_FLAGS_NONE;
  g_autoptr(GSocketAddress) effective = NULL;

  switch (listen->kind)
    {
    case QMPCTL_LISTEN_UNIX:
      *where = g_strdup (listen->path);
      return qmp_proxy_listen_unix (server, listen->path, mode, flags, error);

    case QMPCTL_LISTEN_TLS:
      *where = format_inet_address ("tls", listen->address);
      if (!qmp_proxy_listen_tls (server, listen->address, listen->certificate, listen->client_ca,
                                 flags, &effective, error))
        return FALSE;
      break;

    case QMPCTL_LISTEN_TCP:
      *where = format_inet_address ("tcp", listen->address);
      if (!qmp_proxy_listen_tcp_insecure (server, listen->address, flags, &effective, error))
        return FALSE;
      break;

    default:
      g_assert_not_reached ();
    }

  /* Port 0 picked one: the clients need to know which. */
  g_free (*where);
  *where = format_inet_address (listen->kind == QMPCTL_LISTEN_TLS ? "tls" : "tcp", effective);
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
              QmpctlListen  *listen,
              guint          mode,
              gboolean       read_only,
              GCancellable  *cancellable)
{
  Proxy proxy = { 0, };
  g_autoptr(QmpProxy) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = NULL;
  g_autofree char *path = NULL;   /* where it listens, for the messages */
  const char *prgname = g_get_prgname ();
  gulong shutdown_id, closed_id, cancelled_id;
  int status = QMPCTL_EXIT_OK;

  /* Why it ends: a signal, or QEMU's SHUTDOWN (if any) and then the close. */
  shutdown_id = g_signal_connect (connection, "event::SHUTDOWN", G_CALLBACK (on_shutdown), &proxy);
  closed_id = g_signal_connect (connection, "closed", G_CALLBACK (on_upstream_closed), &proxy);

  server = qmp_proxy_new (connection);
  if (!listen_on (server, listen, mode, read_only, &path, &error))
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

  /* Stops listening, closes every client and removes a Unix socket. */
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
