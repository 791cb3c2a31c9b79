/* test-tls.c: QMP over TLS against real QEMU
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The certificates are made here with certtool (gnutls-bin): a CA and a
 * server certificate for 127.0.0.1, another CA, a server certificate for
 * another host name, and a client certificate.  QEMU 10.0 (the binary in
 * QMP_TEST_QEMU10) serves the monitor over TLS; QEMU 7.2 (QMP_TEST_QEMU or
 * the one in PATH) stops answering a TLS client after its greeting, where
 * the connection must end with its timeout.
 */

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <qmp-glib.h>

#include "qmp-test-tls.h"
#include "qmp-test-utils.h"

/* ------------------------------------------------------- certificates */

static QmpTestCerts *certs;

/* QEMU's tls-creds-x509 dir: ca-cert.pem, server-cert.pem, server-key.pem. */
static void
make_creds_dir (const char *dir,
                const char *server)
{
  const char *from[] = { "ca-cert.pem", NULL, NULL };
  const char *to[] = { "ca-cert.pem", "server-cert.pem", "server-key.pem" };
  g_autofree char *cert = g_strconcat (server, "-cert.pem", NULL);
  g_autofree char *key = g_strconcat (server, "-key.pem", NULL);
  g_autofree char *path = qmp_test_certs_path (certs, dir);

  from[1] = cert;
  from[2] = key;
  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (from); i++)
    {
      g_autofree char *contents = NULL;
      g_autofree char *source = qmp_test_certs_path (certs, from[i]);
      g_autofree char *target = g_build_filename (path, to[i], NULL);
      g_autoptr(GError) error = NULL;

      g_file_get_contents (source, &contents, NULL, &error);
      g_assert_no_error (error);
      g_file_set_contents (target, contents, -1, &error);
      g_assert_no_error (error);
    }
}

static void
make_certificates (void)
{
  certs = qmp_test_certs_new ("rsa");
  qmp_test_certs_make (certs, "ca", NULL, "cn = qmp-glib test ca\nca\ncert_signing_key\n");
  qmp_test_certs_make (certs, "wrong-ca", NULL, "cn = qmp-glib test wrong-ca\nca\ncert_signing_key\n");
  qmp_test_certs_make (certs, "server", "ca",
                       "cn = 127.0.0.1\nip_address = 127.0.0.1\ndns_name = localhost\n"
                       "tls_www_server\nencryption_key\nsigning_key\n"
                       "organization = qmp-glib tests\n");
  qmp_test_certs_make (certs, "wronghost", "ca",
                       "cn = wrong.example\ndns_name = wrong.example\n"
                       "tls_www_server\nencryption_key\nsigning_key\n"
                       "organization = qmp-glib tests\n");
  qmp_test_certs_make (certs, "client", "ca",
                       "cn = qmp-glib test client\ntls_www_client\n"
                       "encryption_key\nsigning_key\norganization = qmp-glib tests\n");
  make_creds_dir ("good", "server");
  make_creds_dir ("wronghost", "wronghost");
}

/* ---------------------------------------------------------------- QEMU */

typedef struct
{
  GSubprocess *process;
  char *address;             /* tls:127.0.0.1:PORT */
} TlsQemu;

static void
tls_qemu_free (TlsQemu *qemu)
{
  if (qemu->process != NULL)
    {
      g_subprocess_force_exit (qemu->process);
      g_subprocess_wait (qemu->process, NULL, NULL);
      g_object_unref (qemu->process);
    }
  g_free (qemu->address);
  g_free (qemu);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlsQemu, tls_qemu_free)

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* QEMU 10.0, or NULL after g_test_skip() when QMP_TEST_QEMU10 is unset
 * and skipping is allowed. */
static const char *
qemu10_binary (void)
{
  const char *binary = g_getenv ("QMP_TEST_QEMU10");

  if (binary != NULL && binary[0] != '\0')
    return binary;

  if (g_getenv ("QMP_TEST_ALLOW_SKIP") != NULL)
    g_test_skip ("QMP_TEST_QEMU10 is unset: no QEMU 10.0 to serve QMP over TLS");
  else
    g_test_fail_printf ("QMP_TEST_QEMU10 is unset: set it to a QEMU 10.0 binary "
                        "(or QMP_TEST_ALLOW_SKIP=1 to skip)");
  return NULL;
}

/* QMP_TEST_QEMU, or NULL after g_test_skip() when it is no QEMU 7.x (as
 * under meson test --setup=qemu10): what these tests check is how 7.2
 * fails over TLS, and the 7.2 pass runs them. */
static const char *
qemu72_binary (void)
{
  const char *binary = g_getenv ("QMP_TEST_QEMU");
  const char *version = qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE);

  if (version != NULL && !g_str_has_prefix (version, "7."))
    {
      g_test_skip_printf ("QMP_TEST_QEMU is QEMU %s, and this test is about 7.2", version);
      return NULL;
    }
  return binary != NULL && binary[0] != '\0' ? binary : "qemu-system-x86_64";
}

/* Starts @binary serving its monitor over TLS with the credentials of
 * @creds (a directory of certs), on a listening socket made here and
 * passed as fd 3: it listens before QEMU runs, so no port is raced for
 * and nothing is polled. */
static TlsQemu *
tls_qemu_start (const char *binary,
                const char *creds,
                gboolean    verify_peer)
{
  g_autoptr(TlsQemu) qemu = g_new0 (TlsQemu, 1);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = qmp_test_certs_path (certs, creds);
  g_autofree char *object = NULL;
  int fd;

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  any = g_inet_socket_address_new (loopback, 0);
  g_socket_bind (listener, any, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  qemu->address = g_strdup_printf ("tls:127.0.0.1:%u",
                                   g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  object = g_strdup_printf ("tls-creds-x509,id=tls0,dir=%s,endpoint=server,verify-peer=%s",
                            dir, verify_peer ? "on" : "off");
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fd = dup (g_socket_get_fd (listener));
  g_assert_cmpint (fd, >=, 0);
  g_subprocess_launcher_take_fd (launcher, fd, 3);
  qemu->process = g_subprocess_launcher_spawn (launcher, &error,
                                               binary, "-M", "none", "-nodefaults",
                                               "-display", "none",
                                               "-object", object,
                                               "-chardev", "socket,id=mon,fd=3,server=on,wait=off,tls-creds=tls0",
                                               "-mon", "chardev=mon,mode=control",
                                               NULL);
  g_assert_no_error (error);

  return g_steal_pointer (&qemu);
}

/* A connection to @qemu that trusts the CA @ca_name. */
static QmpConnection *
connect_qemu (TlsQemu          *qemu,
              const char       *ca_name,
              GTlsCertificate  *certificate,
              guint             timeout_msec,
              GError          **error)
{
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, ca_name);

  return qmp_test_connect_tls (qemu->address, ca, certificate, timeout_msec, error);
}

static void
assert_query_status (QmpConnection *connection)
{
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GError) error = NULL;

  status = qmp_connection_execute_sync (connection, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_object_get_string_member (json_node_get_object (status), "status"));
}

/* ---------------------------------------------------------------- tests */

static void
test_tls_good_ca (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", FALSE);
  connection = connect_qemu (qemu, "ca", NULL, 10000, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, 10);
  g_object_get (connection, "stream", &stream, NULL);
  g_assert_true (G_IS_TLS_CONNECTION (stream));
  assert_query_status (connection);

  qmp_connection_close_sync (connection, NULL, &error);
  g_assert_no_error (error);
}

static void
test_tls_client_certificate (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(GTlsCertificate) me = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", TRUE);
  me = qmp_test_certs_load (certs, "client", NULL);
  connection = connect_qemu (qemu, "ca", me, 10000, &error);
  g_assert_no_error (error);
  assert_query_status (connection);
}

/* The client's certificate with the server's key: found before
 * connecting, in words that say so; QEMU would only have ended the
 * handshake.  The right pair then gets in. */
static void
test_tls_mismatched_client_key (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(GTlsCertificate) mismatched = NULL;
  g_autoptr(GTlsCertificate) me = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", TRUE);
  mismatched = qmp_test_certs_load (certs, "client", "server");
  connection = connect_qemu (qemu, "ca", mismatched, 10000, &error);
  g_assert_null (connection);
  g_test_message ("%s", error->message);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "The private key does not match the certificate"));
  g_clear_error (&error);

  me = qmp_test_certs_load (certs, "client", NULL);
  connection = connect_qemu (qemu, "ca", me, 10000, &error);
  g_assert_no_error (error);
  assert_query_status (connection);
}

static void
test_tls_wrong_ca (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", FALSE);
  connection = connect_qemu (qemu, "wrong-ca", NULL, 10000, &error);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_null (connection);
  g_test_message ("wrong CA: %s", error->message);
}

static void
test_tls_wrong_host (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  /* Signed by the right CA, but for wrong.example, not 127.0.0.1. */
  qemu = tls_qemu_start (binary, "wronghost", FALSE);
  connection = connect_qemu (qemu, "ca", NULL, 10000, &error);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_null (connection);
  g_test_message ("wrong host: %s", error->message);
}

static void
test_tls_missing_client_certificate (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", TRUE);
  connection = connect_qemu (qemu, "ca", NULL, 10000, &error);
  g_assert_nonnull (error);
  g_test_message ("missing client certificate: %s %d %s",
                  g_quark_to_string (error->domain), error->code, error->message);
  g_assert_true (error->domain == G_TLS_ERROR);
  g_assert_null (connection);
}

static void
test_tls_qemu72_times_out (void)
{
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (qemu72_binary () == NULL)
    return;
  qemu = tls_qemu_start (qemu72_binary (), "good", FALSE);
  connection = connect_qemu (qemu, "ca", NULL, 2000, &error);
  g_assert_nonnull (error);
  g_test_message ("QEMU 7.2: %s %d %s",
                  g_quark_to_string (error->domain), error->code, error->message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (connection);
}

/* Without a timeout, over TLS construction is bounded all the same. */
static void
test_tls_qemu72_default_timeout (void)
{
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  if (qemu72_binary () == NULL)
    return;
  qemu = tls_qemu_start (qemu72_binary (), "good", FALSE);
  connection = connect_qemu (qemu, "ca", NULL, 0, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (connection);
}

/* TLS settings with an address in clear are refused, not ignored. */
static void
test_tls_settings_need_tls_address (void)
{
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = qmp_test_connect_tls ("tcp:127.0.0.1:1", ca, NULL, 10000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (connection);
  g_clear_error (&error);

  connection = qmp_test_connect_tls ("tls:127.0.0.1", ca, NULL, 10000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (connection);
}

/* A QEMU that stops reading while a TLS connection to it closes: closing
 * TLS writes a close_notify, which its socket will not take, and the
 * shared I/O thread must not wait for it, or every connection would
 * stall.  Here another connection (to another QEMU) works meanwhile, and
 * the close itself finishes. */
typedef struct
{
  GMutex lock;
  GCond cond;
  QmpConnection *tls;
  QmpConnection *other;
  gboolean closed;
  gboolean other_answered;
} StalledClose;

static gpointer
stalled_close_thread (gpointer user_data)
{
  StalledClose *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) status = NULL;

  qmp_connection_close_sync (state->tls, NULL, &error);
  g_assert_no_error (error);
  g_mutex_lock (&state->lock);
  state->closed = TRUE;
  g_cond_signal (&state->cond);
  g_mutex_unlock (&state->lock);

  status = qmp_connection_execute_sync (state->other, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_mutex_lock (&state->lock);
  state->other_answered = TRUE;
  g_cond_signal (&state->cond);
  g_mutex_unlock (&state->lock);

  return NULL;
}

static void
on_big_call_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  /* The connection closed under it */
  ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
  g_assert_null (ret);
  g_assert_nonnull (error);
  (*(guint *) user_data)++;
}

static void
test_tls_stalled_peer_close (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(QmpTestPeer) peer = NULL;
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpConnection) other = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) base = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(GThread) thread = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = NULL;
  StalledClose state = { 0 };
  GSocket *socket;
  gint64 deadline;
  guint n_done = 0;
  gboolean in_time;

  if (binary == NULL)
    return;
  peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  if (peer == NULL)
    return;
  other = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);

  qemu = tls_qemu_start (binary, "good", FALSE);
  connection = connect_qemu (qemu, "ca", NULL, 10000, &error);
  g_assert_no_error (error);
  assert_query_status (connection);
  qmp_connection_set_timeout (connection, 0);

  /* QEMU stops; a 32 MiB command fills the sockets between them */
  g_subprocess_send_signal (qemu->process, SIGSTOP);
  big = g_malloc (32 * 1024 * 1024 + 1);
  memset (big, 'x', 32 * 1024 * 1024);
  big[32 * 1024 * 1024] = '\0';
  json_object_set_string_member (arguments, "command-line", big);
  qmp_connection_execute_async (connection, "human-monitor-command", arguments,
                                QMP_EXECUTE_FLAGS_NONE, NULL, on_big_call_done, &n_done);

  g_object_get (connection, "stream", &stream, NULL);
  g_object_get (stream, "base-io-stream", &base, NULL);
  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (base));
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_socket_condition_check (socket, G_IO_OUT) != 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (g_socket_condition_check (socket, G_IO_OUT), ==, 0);

  g_mutex_init (&state.lock);
  g_cond_init (&state.cond);
  state.tls = connection;
  state.other = other;
  thread = g_thread_new ("stalled-close", stalled_close_thread, &state);

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_mutex_lock (&state.lock);
  while (!state.other_answered && g_cond_wait_until (&state.cond, &state.lock, deadline))
    ;
  in_time = state.other_answered;
  g_mutex_unlock (&state.lock);

  /* Else QEMU's death frees the I/O thread, and the thread can end */
  g_subprocess_send_signal (qemu->process, SIGKILL);
  g_subprocess_send_signal (qemu->process, SIGCONT);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_true (in_time);
  g_assert_true (state.closed);

  while (n_done == 0)
    g_main_context_iteration (NULL, TRUE);
  g_mutex_clear (&state.lock);
  g_cond_clear (&state.cond);
}

/* GSocketClient with TLS on gives a GTcpWrapperConnection: a
 * GSocketConnection whose socket carries the TLS records.  Its replies
 * must be read through the stream, by the worker and by _sync callers
 * that read for themselves, never from the socket. */
static void
on_client_event (GSocketClient      *client,
                 GSocketClientEvent  event,
                 GSocketConnectable *connectable,
                 GIOStream          *connection,
                 gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING)
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), user_data);
}

static void
test_tls_socket_client_stream (void)
{
  const char *binary = qemu10_binary ();
  g_autoptr(TlsQemu) qemu = NULL;
  g_autoptr(GTlsDatabase) ca = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL)
    return;

  qemu = tls_qemu_start (binary, "good", FALSE);
  ca = qmp_test_certs_load_ca (certs, "ca");
  client = g_socket_client_new ();
  g_socket_client_set_tls (client, TRUE);
  g_signal_connect (client, "event", G_CALLBACK (on_client_event), ca);
  g_assert_true (g_str_has_prefix (qemu->address, "tls:"));
  stream = g_socket_client_connect_to_host (client, qemu->address + strlen ("tls:"), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_TCP_WRAPPER_CONNECTION (stream));

  connection = qmp_connection_new_sync (G_IO_STREAM (stream), QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, 10);
  for (guint i = 0; i < 100; i++)
    assert_query_status (connection);
  /* An event, read by the worker */
  event = qmp_connection_execute_until_event_sync (connection, "stop", NULL, "STOP", NULL,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "STOP");

  qmp_connection_close_sync (connection, NULL, &error);
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  make_certificates ();

  g_test_add_func ("/tls/good-ca", test_tls_good_ca);
  g_test_add_func ("/tls/client-certificate", test_tls_client_certificate);
  g_test_add_func ("/tls/mismatched-client-key", test_tls_mismatched_client_key);
  g_test_add_func ("/tls/wrong-ca", test_tls_wrong_ca);
  g_test_add_func ("/tls/wrong-host", test_tls_wrong_host);
  g_test_add_func ("/tls/missing-client-certificate", test_tls_missing_client_certificate);
  g_test_add_func ("/tls/qemu72-times-out", test_tls_qemu72_times_out);
  g_test_add_func ("/tls/qemu72-default-timeout", test_tls_qemu72_default_timeout);
  g_test_add_func ("/tls/settings-need-tls-address", test_tls_settings_need_tls_address);
  g_test_add_func ("/tls/stalled-peer-close", test_tls_stalled_peer_close);
  g_test_add_func ("/tls/socket-client-stream", test_tls_socket_client_stream);

  ret = g_test_run ();
  g_clear_pointer (&certs, qmp_test_certs_free);

  return ret;
}
