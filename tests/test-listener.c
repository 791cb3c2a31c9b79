/* test-listener.c: QEMU connecting to us (QmpListener), and re-attaching
 * to a running QEMU, against real QEMU
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

typedef struct
{
  char *dir;
  char *path;                 /* DIR/mon.sock */
  GSubprocess *qemu;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qmp-test-listener-XXXXXX", &error);

  g_assert_no_error (error);
  fixture->dir = g_canonicalize_filename (dir, NULL);
  fixture->path = g_build_filename (fixture->dir, "mon.sock", NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->dir, NULL };

  if (fixture->qemu != NULL)
    {
      g_subprocess_force_exit (fixture->qemu);
      g_subprocess_wait (fixture->qemu, NULL, NULL);
      g_clear_object (&fixture->qemu);
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, NULL, NULL);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static const char *
qemu72_binary (void)
{
  const char *binary = g_getenv ("QMP_TEST_QEMU");

  return binary != NULL && binary[0] != '\0' ? binary : "qemu-system-x86_64";
}

/* Starts @binary with @monitor as the -chardev of its control monitor. */
static void
start_qemu (Fixture    *fixture,
            const char *binary,
            const char *chardev)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fixture->qemu = g_subprocess_launcher_spawn (launcher, &error,
                                               binary, "-M", "none", "-nodefaults",
                                               "-display", "none",
                                               "-chardev", chardev,
                                               "-mon", "chardev=mon,mode=control",
                                               NULL);
  g_assert_no_error (error);
}

/* QEMU connecting out to fixture->path, retrying every second. */
static void
start_qemu72_client (Fixture *fixture)
{
  g_autofree char *chardev = g_strdup_printf ("socket,id=mon,path=%s,server=off,reconnect=1",
                                              fixture->path);

  start_qemu (fixture, qemu72_binary (), chardev);
}

static QmpListener *
listen_on (Fixture *fixture,
           guint    mode)
{
  g_autoptr(GError) error = NULL;
  QmpListener *listener;

  listener = g_initable_new (QMP_TYPE_LISTENER, NULL, &error,
                             "address", fixture->path,
                             "timeout", 10000,
                             "socket-mode", mode,
                             NULL);
  g_assert_no_error (error);

  return listener;
}

static QmpConnection *
accept_one (QmpListener *listener)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  qmp_listener_accept_async (listener, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  connection = qmp_listener_accept_finish (listener, result, &error);
  g_assert_no_error (error);

  return connection;
}

static char *
query_status (QmpConnection *connection)
{
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GError) error = NULL;

  status = qmp_connection_execute_sync (connection, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  return g_strdup (json_object_get_string_member (json_node_get_object (status), "status"));
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));

  return st.st_mode & 07777;
}

/* ---------------------------------------------------------------- tests */

static void
test_qemu_connects_and_reconnects (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(QmpListener) listener = listen_on (fixture, 0600);
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autoptr(JsonNode) stop = NULL;
  g_autofree char *status = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (file_mode (fixture->path), ==, 0600);
  g_assert_cmpstr (qmp_listener_get_path (listener), ==, fixture->path);

  start_qemu72_client (fixture);
  first = accept_one (listener);
  /* QMP_TEST_QEMU's version: 7.2, or 10.0 under --setup=qemu10. */
  g_assert_cmpuint (qmp_connection_get_version_major (first), ==,
                    g_ascii_strtoull (qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE), NULL, 10));
  status = query_status (first);
  g_assert_cmpstr (status, ==, "running");

  /* Stopped on the first connection, seen stopped on the next one: the
   * same QEMU came back. */
  stop = qmp_connection_execute_sync (first, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  qmp_connection_close_sync (first, NULL, &error);
  g_assert_no_error (error);

  second = accept_one (listener);
  g_clear_pointer (&status, g_free);
  status = query_status (second);
  g_assert_cmpstr (status, ==, "paused");
}

/* The manager starts QEMU before it listens: QEMU retries until it can
 * connect. */
static void
test_qemu_first (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(QmpListener) listener = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autofree char *status = NULL;

  start_qemu72_client (fixture);
  listener = listen_on (fixture, 0600);
  connection = accept_one (listener);
  status = query_status (connection);
  g_assert_cmpstr (status, ==, "running");
}

static void
test_qemu10_reconnect_ms (Fixture       *fixture,
                          gconstpointer  data)
{
  const char *binary = g_getenv ("QMP_TEST_QEMU10");
  g_autoptr(QmpListener) listener = NULL;
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autofree char *chardev = NULL;
  g_autoptr(GError) error = NULL;

  if (binary == NULL || binary[0] == '\0')
    {
      if (g_getenv ("QMP_TEST_ALLOW_SKIP") != NULL)
        g_test_skip ("QMP_TEST_QEMU10 is unset");
      else
        g_test_fail_printf ("QMP_TEST_QEMU10 is unset: set it to a QEMU 10.0 binary "
                            "(or QMP_TEST_ALLOW_SKIP=1 to skip)");
      return;
    }

  listener = listen_on (fixture, 0600);
  chardev = g_strdup_printf ("socket,id=mon,path=%s,server=off,reconnect-ms=100", fixture->path);
  start_qemu (fixture, binary, chardev);
  first = accept_one (listener);
  g_assert_cmpuint (qmp_connection_get_version_major (first), ==, 10);
  qmp_connection_close_sync (first, NULL, &error);
  g_assert_no_error (error);

  second = accept_one (listener);
  g_free (query_status (second));
}

typedef struct
{
  const char *path;
  gint spinning;
} Watch;

#define REFUSED 0x10000

/* Spins until a file appears at the watch's path, and returns its mode as
 * first seen, with REFUSED if a connection to it right then is refused. */
static gpointer
watch_first_mode (gpointer data)
{
  Watch *watch = data;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (watch->path);
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  guint seen;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);

  g_atomic_int_set (&watch->spinning, TRUE);
  /* Yielding now and then: under valgrind, a thread that only spins
   * starves the others; every time would miss the moment. */
  for (guint i = 1; g_lstat (watch->path, &st) != 0; i++)
    if (i % 256 == 0)
      g_thread_yield ();

  seen = st.st_mode & 07777;
  if (!g_socket_connect (socket, address, NULL, &error))
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
      seen |= REFUSED;
    }

  return GUINT_TO_POINTER (seen);
}

static void
test_socket_mode (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;

  /* Nobody sees the file with other permissions, not even for the moment
   * between making it and setting its mode, or finds it not listening: a
   * watcher spinning on the path sees 0660 from the first, and connects. */
  for (guint i = 0; i < 20; i++)
    {
      Watch watch = { fixture->path, FALSE };
      GThread *watcher = g_thread_new ("watcher", watch_first_mode, &watch);
      g_autoptr(QmpListener) listener = NULL;

      while (!g_atomic_int_get (&watch.spinning))
        g_thread_yield ();
      listener = listen_on (fixture, 0660);

      g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (watcher)), ==, 0660);
      g_assert_cmpuint (file_mode (fixture->path), ==, 0660);

      /* Closing removes the socket file. */
      qmp_listener_close (listener);
      g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
    }

  /* And nothing else is left in the directory. */
  dir = g_dir_open (fixture->dir, 0, &error);
  g_assert_no_error (error);
  g_assert_null (g_dir_read_name (dir));
}

static void
test_existing_files (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(QmpListener) first = NULL;
  g_autoptr(QmpListener) second = NULL;
  g_autoptr(GSocket) stale = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  /* A file that is not a socket stays as it is. */
  g_file_set_contents (fixture->path, "precious", -1, &error);
  g_assert_no_error (error);
  first = qmp_listener_new (fixture->path, QMP_CONNECTION_FLAGS_NONE, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_null (first);
  g_clear_error (&error);
  g_file_get_contents (fixture->path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "precious");
  g_assert_cmpint (g_unlink (fixture->path), ==, 0);

  /* A socket that nobody listens on (its owner died) is replaced. */
  stale = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (fixture->path);
  g_socket_bind (stale, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_close (stale, &error);
  g_assert_no_error (error);
  first = qmp_listener_new (fixture->path, QMP_CONNECTION_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (fixture->path), ==, 0600);

  /* A socket someone listens on is not. */
  second = qmp_listener_new (fixture->path, QMP_CONNECTION_FLAGS_NONE, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_null (second);
  g_assert_true (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  second = qmp_listener_new ("tcp:127.0.0.1:4444", QMP_CONNECTION_FLAGS_NONE, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (second);
}

/* A peer that connects and never greets fails that accept with the
 * timeout; the listener goes on. */
static void
test_silent_peer_times_out (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(QmpListener) listener = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) silent = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  listener = g_initable_new (QMP_TYPE_LISTENER, NULL, &error,
                             "address", fixture->path,
                             "timeout", 2000,
                             NULL);
  g_assert_no_error (error);

  address = g_unix_socket_address_new (fixture->path);
  silent = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  /* A real QEMU connects behind the silent peer and waits in the backlog
   * (the listener accepts one at a time, in order): by the time it is
   * accepted it has long started, so the two seconds are left for its
   * greeting and negotiation alone. */
  start_qemu72_client (fixture);

  qmp_listener_accept_async (listener, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  connection = qmp_listener_accept_finish (listener, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (connection);
  g_clear_error (&error);

  /* Then the real QEMU is accepted: the same two seconds are enough for its
   * greeting and negotiation, also under valgrind on a loaded machine. */
  connection = accept_one (listener);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==,
                    g_ascii_strtoull (qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE), NULL, 10));
}

/* Cancelling a wait for a QEMU fails it with G_IO_ERROR_CANCELLED; the
 * listener stays usable. */
static void
test_accept_cancelled (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(QmpListener) listener = listen_on (fixture, 0600);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_listener_accept_async (listener, cancellable, qmp_test_store_result, &slot);
  g_cancellable_cancel (cancellable);
  result = qmp_test_wait_result (&slot);
  connection = qmp_listener_accept_finish (listener, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (connection);

  start_qemu72_client (fixture);
  connection = accept_one (listener);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==,
                    g_ascii_strtoull (qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE), NULL, 10));
}

/* Re-attaching, the example of docs/tls.md: a manager restarts, connects
 * again to the socket of a QEMU it started before and rebuilds its state
 * from queries. */
static gboolean
has_node (JsonArray  *nodes,
          const char *node_name)
{
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = json_array_get_object_element (nodes, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (node, "node-name", NULL), node_name) == 0)
        return TRUE;
    }

  return FALSE;
}

static gboolean
reattach (const char  *address,
          GError     **error)
{
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) nodes = NULL;
  g_autoptr(JsonNode) jobs = NULL;
  JsonArray *array;

  connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, error,
                               "address", address,
                               "timeout", 10000,
                               NULL);
  if (connection == NULL)
    return FALSE;

  // the run state: {"status": "paused", "running": false, …}
  status = qmp_connection_execute_sync (connection, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, error);
  if (status == NULL)
    return FALSE;
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "paused");

  // the block graph: every node by its node-name
  nodes = qmp_connection_execute_sync (connection, "query-named-block-nodes", NULL,
                                       QMP_EXECUTE_FLAGS_NONE, NULL, error);
  if (nodes == NULL)
    return FALSE;
  // src0, dst0 and the filter node the mirror job inserted above src0
  g_assert_true (has_node (json_node_get_array (nodes), "src0"));
  g_assert_true (has_node (json_node_get_array (nodes), "dst0"));

  // the jobs still running, with their state and progress
  jobs = qmp_connection_execute_sync (connection, "query-jobs", NULL,
                                      QMP_EXECUTE_FLAGS_NONE, NULL, error);
  if (jobs == NULL)
    return FALSE;
  array = json_node_get_array (jobs);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 0), "id"),
                   ==, "mirror0");

  // the job's events of the meantime are gone: its end comes as an event
  // on this connection, its current state from query-jobs above
  return qmp_connection_close_sync (connection, NULL, error);
}

static void
execute_json (QmpConnection *connection,
              const char    *command,
              const char    *arguments_json)
{
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (arguments_json != NULL)
    {
      arguments = json_from_string (arguments_json, &error);
      g_assert_no_error (error);
    }
  reply = qmp_connection_execute_sync (connection, command,
                                       arguments ? json_node_get_object (arguments) : NULL,
                                       QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
}

static void
test_reattach (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  const char *address;
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(GError) error = NULL;

  if (peer == NULL)
    return;
  address = qmp_test_peer_get_address (peer);

  first = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                          "address", address, "timeout", 10000, NULL);
  g_assert_no_error (error);

  /* State that outlives the connection: a stopped VM, two block nodes and
   * a mirror job that runs slowly for long. */
  execute_json (first, "stop", NULL);
  execute_json (first, "blockdev-add",
                "{\"driver\": \"null-co\", \"node-name\": \"src0\", \"size\": 1073741824}");
  execute_json (first, "blockdev-add",
                "{\"driver\": \"null-co\", \"node-name\": \"dst0\", \"size\": 1073741824}");
  execute_json (first, "blockdev-mirror",
                "{\"job-id\": \"mirror0\", \"device\": \"src0\", \"target\": \"dst0\","
                " \"sync\": \"full\", \"speed\": 1}");

  /* The manager goes away. */
  qmp_connection_close_sync (first, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&first);

  reattach (address, &error);
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/listener/qemu-connects-and-reconnects", Fixture, NULL,
              fixture_setup, test_qemu_connects_and_reconnects, fixture_teardown);
  g_test_add ("/listener/qemu-first", Fixture, NULL,
              fixture_setup, test_qemu_first, fixture_teardown);
  g_test_add ("/listener/qemu10-reconnect-ms", Fixture, NULL,
              fixture_setup, test_qemu10_reconnect_ms, fixture_teardown);
  g_test_add ("/listener/socket-mode", Fixture, NULL,
              fixture_setup, test_socket_mode, fixture_teardown);
  g_test_add ("/listener/existing-files", Fixture, NULL,
              fixture_setup, test_existing_files, fixture_teardown);
  g_test_add ("/listener/silent-peer-times-out", Fixture, NULL,
              fixture_setup, test_silent_peer_times_out, fixture_teardown);
  g_test_add ("/listener/accept-cancelled", Fixture, NULL,
              fixture_setup, test_accept_cancelled, fixture_teardown);
  g_test_add ("/reattach/queries", Fixture, NULL,
              fixture_setup, test_reattach, fixture_teardown);

  return g_test_run ();
}
