/* test-commands.c: the typed commands of QmpConnection, and QmpProcess
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* The qemu-system-x86_64 that QmpProcess launches: QMP_TEST_QEMU's, as
 * for the peers of qmp_test_peer_start(), and named in the test's log. */
static const char *
qemu_binary (void)
{
  qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE);
  return g_getenv ("QMP_TEST_QEMU") ? g_getenv ("QMP_TEST_QEMU") : "qemu-system-x86_64";
}

static gboolean
pid_is_gone (GPid pid)
{
  /* Gone, or a zombie waiting for a reaper that is not us. */
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *state;

  if (kill (pid, 0) < 0 && errno == ESRCH)
    return TRUE;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return TRUE;
  state = strrchr (stat, ')');
  return state != NULL && state[1] == ' ' && state[2] == 'Z';
}

static void
assert_pid_goes (GPid pid)
{
  for (guint i = 0; i < 3000 && !pid_is_gone (pid); i++)
    g_usleep (10 * 1000);
  g_assert_true (pid_is_gone (pid));
}

static GPid
subprocess_pid (GSubprocess *subprocess)
{
  const char *identifier = g_subprocess_get_identifier (subprocess);

  g_assert_nonnull (identifier);
  return (GPid) g_ascii_strtoll (identifier, NULL, 10);
}

/* ------------------------------------------------- typed, real -M pc */

typedef struct
{
  QmpTestPeer *peer;
  QmpConnection *connection;
  guint n_powerdown;
} Fixture;

static void
setup_pc (Fixture       *fixture,
          gconstpointer  data)
{
  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_PC_XHCI, NULL);
  g_assert_nonnull (fixture->peer);
  fixture->connection = qmp_test_peer_connect (fixture->peer, QMP_CONNECTION_FLAGS_NONE);
}

static void
teardown (Fixture       *fixture,
          gconstpointer  data)
{
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->peer, qmp_test_peer_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_hotplug_storage (Fixture       *fixture,
                      gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autofree char *image = g_build_filename (qmp_test_peer_get_dir (fixture->peer), "disk.raw", NULL);
  g_autofree char *zeros = g_malloc0 (1024 * 1024);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  g_assert_true (g_file_set_contents (image, zeros, 1024 * 1024, &error));

  g_assert_true (qmp_connection_blockdev_add_sync (connection, image, "disk0", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_device_add_sync (connection, "disk0", "stor0", "usb-storage", "xhci.0",
                                                 NULL, &error));
  g_assert_no_error (error);

  /* device_del finishes on stor0's own DEVICE_DELETED, which QEMU sends
   * after the one for the LUN (which has no "device"). */
  qmp_connection_device_del_async (connection, "stor0", NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_device_del_finish (connection, result, &error));
  g_assert_no_error (error);

  /* Gone for real: deleting it again fails. */
  g_assert_false (qmp_connection_device_del_sync (connection, "stor0", NULL, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
}

static void
test_stop_cont_status (Fixture       *fixture,
                       gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  gboolean running = TRUE;

  /* The peer starts with -S. */
  g_assert_cmpint (qmp_connection_query_status_sync (connection, &running, NULL, &error), ==,
                   QMP_RUN_STATE_PRELAUNCH);
  g_assert_no_error (error);
  g_assert_false (running);

  g_assert_true (qmp_connection_cont_sync (connection, NULL, &error));
  g_assert_cmpint (qmp_connection_query_status_sync (connection, &running, NULL, &error), ==,
                   QMP_RUN_STATE_RUNNING);
  g_assert_true (running);

  qmp_connection_stop_async (connection, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_stop_finish (connection, result, &error));
  g_clear_object (&result);

  qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_cmpint (qmp_connection_query_status_finish (connection, result, &running, &error), ==,
                   QMP_RUN_STATE_PAUSED);
  g_assert_no_error (error);
  g_assert_false (running);
}

static void
on_powerdown (QmpConnection *connection,
              QmpEvent      *event,
              gpointer       user_data)
{
  Fixture *fixture = user_data;

  fixture->n_powerdown++;
}

static void
test_system_powerdown_real (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  g_signal_connect (fixture->connection, "event::POWERDOWN", G_CALLBACK (on_powerdown), fixture);
  g_assert_true (qmp_connection_cont_sync (fixture->connection, NULL, &error));

  /* There is no guest OS: QEMU passes the request on (POWERDOWN), and no
   * SHUTDOWN ever comes, so only the cancellable ends the call. */
  qmp_connection_system_powerdown_async (fixture->connection, cancellable,
                                         qmp_test_store_result, &slot);
  while (fixture->n_powerdown == 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (slot);

  g_cancellable_cancel (cancellable);
  result = qmp_test_wait_result (&slot);
  g_assert_false (qmp_connection_system_powerdown_finish (fixture->connection, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_quit_real (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (qmp_connection_quit_sync (fixture->connection, NULL, &error));
  g_assert_no_error (error);

  status = qmp_test_peer_wait_exit (fixture->peer, 10000);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* The typed commands use nothing that QEMU has deprecated or marked
 * unstable: with -compat …=reject QEMU refuses such a command or argument,
 * and with deprecated-output=hide leaves out such members (7.2 and 10.0
 * differ in what they mark). */
static void
setup_pc_strict (Fixture       *fixture,
                 gconstpointer  data)
{
  const char *strict[] = {
    "-compat", "deprecated-input=reject,deprecated-output=hide,unstable-input=reject", NULL
  };

  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_PC_XHCI, strict);
  g_assert_nonnull (fixture->peer);
  fixture->connection = qmp_test_peer_connect (fixture->peer, QMP_CONNECTION_FLAGS_NONE);
}

static void
test_no_deprecated (Fixture       *fixture,
                    gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autofree char *image = g_build_filename (qmp_test_peer_get_dir (fixture->peer), "disk.raw", NULL);
  g_autoptr(GError) error = NULL;
  gboolean running = TRUE;
  int status;

  g_assert_true (g_file_set_contents (image, "", 0, &error));

  g_assert_cmpint (qmp_connection_query_status_sync (connection, &running, NULL, &error), ==,
                   QMP_RUN_STATE_PRELAUNCH);
  g_assert_no_error (error);
  g_assert_false (running);
  g_assert_true (qmp_connection_cont_sync (connection, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_stop_sync (connection, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (qmp_connection_query_status_sync (connection, &running, NULL, &error), ==,
                   QMP_RUN_STATE_PAUSED);
  g_assert_no_error (error);

  g_assert_true (qmp_connection_blockdev_add_sync (connection, image, "disk0", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_device_add_sync (connection, NULL, "kbd0", "usb-kbd", "xhci.0",
                                                 NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_device_del_sync (connection, "kbd0", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_blockdev_del_sync (connection, "disk0", NULL, &error));
  g_assert_no_error (error);

  g_assert_true (qmp_connection_quit_sync (connection, NULL, &error));
  g_assert_no_error (error);
  status = qmp_test_peer_wait_exit (fixture->peer, 10000);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* --------------------------------------------------------- typed, mock */

/* A client of @server, which greets as QEMU @major.@minor.0 without
 * capabilities */
static QmpConnection *
server_connect_version (QmpTestServer *server,
                        guint          major,
                        guint          minor)
{
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;

  qmp_test_server_set_version (server, major, minor, 0);
  qmp_test_server_set_capabilities (server, NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  return connection;
}

static QmpConnection *
server_connect (QmpTestServer *server)
{
  return server_connect_version (server, 7, 2);
}

/* Emits @name with @data_json (nullable) at @seconds */
static void
server_emit (QmpTestServer *server,
             const char    *name,
             const char    *data_json,
             gint64         seconds)
{
  g_autoptr(JsonNode) data = data_json ? json_from_string (data_json, NULL) : NULL;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (seconds);

  qmp_test_server_emit_event (server, name, data ? json_node_get_object (data) : NULL, when);
}

static void
test_old_qemu_blockdev (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect_version (server, 2, 6);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  JsonObject *arguments;
  JsonObject *options;

  /* Before QEMU 2.9: x-blockdev-add with "options" and "id". */
  qmp_connection_blockdev_add_async (connection, "/dev/rbd0", "drive0", NULL,
                                     qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "x-blockdev-add");
  arguments = qmp_test_server_command_get_arguments (command);
  g_assert_cmpuint (json_object_get_size (arguments), ==, 1);
  options = json_object_get_object_member (arguments, "options");
  g_assert_cmpstr (json_object_get_string_member (options, "driver"), ==, "raw");
  g_assert_cmpstr (json_object_get_string_member (options, "id"), ==, "drive0");
  g_assert_false (json_object_has_member (options, "node-name"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (options, "file"), "filename"),
                   ==, "/dev/rbd0");
  qmp_test_server_command_reply (command, NULL);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_blockdev_add_finish (connection, result, &error));
  g_clear_object (&result);
  g_clear_object (&command);

  /* And x-blockdev-del with "id". */
  qmp_connection_blockdev_del_async (connection, "drive0", NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "x-blockdev-del");
  g_assert_cmpstr (json_object_get_string_member (qmp_test_server_command_get_arguments (command), "id"),
                   ==, "drive0");
  qmp_test_server_command_reply_error (command, "GenericError", "in use");
  result = qmp_test_wait_result (&slot);
  g_assert_false (qmp_connection_blockdev_del_finish (connection, result, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "in use");
}

/* query-status as QEMU 7.2 and 10.0 really answer it (10.0 dropped
 * "singlestep"), and as a later QEMU might: only "status" and "running"
 * are read, members the library does not know are ignored, and a state
 * it does not know is QMP_RUN_STATE_OTHER without an error. */
static void
test_query_status_versions (void)
{
  static const struct {
    guint major, minor;
    const char *reply;
    QmpRunState state;
    gboolean running;
  } cases[] = {
    { 7, 2, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}",
      QMP_RUN_STATE_RUNNING, TRUE },
    { 10, 0, "{\"status\": \"running\", \"running\": true}", QMP_RUN_STATE_RUNNING, TRUE },
    { 10, 0, "{\"status\": \"prelaunch\", \"running\": false}", QMP_RUN_STATE_PRELAUNCH, FALSE },
    { 99, 0, "{\"status\": \"paused\", \"running\": false, \"new-member\": {\"a\": [1]}}",
      QMP_RUN_STATE_PAUSED, FALSE },
    { 99, 0, "{\"status\": \"some-new-state\", \"running\": true}", QMP_RUN_STATE_OTHER, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QmpTestServer) server = qmp_test_server_new ();
      g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
      g_autoptr(QmpConnection) connection = server_connect_version (server, cases[i].major, cases[i].minor);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(JsonNode) reply = json_from_string (cases[i].reply, NULL);
      g_autoptr(GError) error = NULL;
      GAsyncResult *slot = NULL;
      gboolean running = !cases[i].running;

      g_test_message ("QEMU %u.%u: %s", cases[i].major, cases[i].minor, cases[i].reply);
      qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &slot);
      command = qmp_test_held_next (held, "query-status");
      g_assert_null (qmp_test_server_command_get_arguments (command));
      qmp_test_server_command_reply (command, reply);
      result = qmp_test_wait_result (&slot);
      g_assert_cmpint (qmp_connection_query_status_finish (connection, result, &running, &error), ==,
                       cases[i].state);
      g_assert_no_error (error);
      g_assert_cmpint (running, ==, cases[i].running);
    }
}

static void
test_device_add_arguments (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect (server);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  JsonObject *arguments;

  /* "drive" and "bus" only when given. */
  qmp_connection_device_add_async (connection, NULL, "kbd0", "usb-kbd", NULL, NULL,
                                   qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "device_add");
  arguments = qmp_test_server_command_get_arguments (command);
  g_assert_cmpuint (json_object_get_size (arguments), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (arguments, "driver"), ==, "usb-kbd");
  g_assert_cmpstr (json_object_get_string_member (arguments, "id"), ==, "kbd0");
  qmp_test_server_command_reply (command, NULL);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_device_add_finish (connection, result, &error));
}

static void
test_system_powerdown_shutdown (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect (server);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_connection_system_powerdown_async (connection, NULL, qmp_test_store_result, &slot);
  {
    g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (held, "system_powerdown");

    server_emit (server, "POWERDOWN", NULL, 1795573265);
    qmp_test_server_command_reply (command, NULL);
  }

  /* POWERDOWN and the return are not enough: a round trip proves both
   * were read. */
  qmp_test_server_set_reply (server, "query-version", NULL);
  {
    g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "query-version", NULL,
                                                           QMP_EXECUTE_FLAGS_NONE, NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (ret);
  }
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (slot);

  server_emit (server, "SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}", 1795573266);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_system_powerdown_finish (connection, result, &error));
  g_assert_no_error (error);
}

static void
test_device_del_guest_error (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect (server);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_connection_device_del_async (connection, "nic0", NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "device_del");
  g_assert_cmpstr (json_object_get_string_member (qmp_test_server_command_get_arguments (command), "id"),
                   ==, "nic0");
  qmp_test_server_command_reply (command, NULL);
  /* Another device's refusal does not count; nic0's does. */
  server_emit (server, "DEVICE_UNPLUG_GUEST_ERROR", "{\"device\": \"nic1\", \"path\": \"/x\"}", 1);
  server_emit (server, "DEVICE_UNPLUG_GUEST_ERROR", "{\"device\": \"nic0\", \"path\": \"/y\"}", 1);
  result = qmp_test_wait_result (&slot);
  g_assert_false (qmp_connection_device_del_finish (connection, result, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_nonnull (strstr (error->message, "nic0"));
}

static gpointer
device_del_thread (gpointer data)
{
  QmpConnection *connection = data;
  GError *error = NULL;

  if (!qmp_connection_device_del_sync (connection, "nic2", NULL, &error))
    return error;

  return NULL;
}

static void
test_device_del_sync (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect (server);
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;

  thread = g_thread_new ("device-del", device_del_thread, connection);
  command = qmp_test_held_next (held, "device_del");
  qmp_test_server_command_reply (command, NULL);
  server_emit (server, "DEVICE_DELETED", "{\"path\": \"/machine/peripheral/nic2/child\"}", 1);
  server_emit (server, "DEVICE_DELETED", "{\"device\": \"nic2\"}", 1);
  error = g_thread_join (thread);
  g_assert_no_error (error);
}

static void
on_order_event (QmpConnection *connection,
                QmpEvent      *event,
                gpointer      user_data)
{
  guint *n_events = user_data;

  (*n_events)++;
}

/* QEMU sends STOP before the return of "stop": both in one write, the
 * signal must still come before the callback (they share a context). */
static void
test_event_before_reply_order (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = server_connect (server);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *lines = NULL;
  GAsyncResult *slot = NULL;
  guint n_events = 0;

  g_signal_connect (connection, "event::STOP", G_CALLBACK (on_order_event), &n_events);
  qmp_connection_stop_async (connection, NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "stop");
  id = json_to_string (qmp_test_server_command_get_id (command), FALSE);
  lines = g_strdup_printf ("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
                           "{\"return\": {}, \"id\": %s}\r\n", id);
  qmp_test_server_send_raw (server, (const guint8 *) lines, strlen (lines));

  result = qmp_test_wait_result (&slot);
  g_assert_cmpuint (n_events, ==, 1);
  g_assert_true (qmp_connection_stop_finish (connection, result, &error));
}

/* ---------------------------------------------------------- QmpProcess */
static void
on_exited (QmpProcess *process,
           int         wait_status,
           gpointer    user_data)
{
  int *status = user_data;

  *status = wait_status;
}

static void
test_process_launch (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;
  GSubprocess *subprocess;
  gboolean running = FALSE;
  int exited_status = -1;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (process, "exited", G_CALLBACK (on_exited), &exited_status);

  connection = qmp_process_get_connection (process);
  g_assert_true (QMP_IS_CONNECTION (connection));
  g_assert_true (qmp_connection_get_oob_enabled (connection));
  g_assert_cmpstrv (qmp_process_get_argv (process), argv);
  g_assert_cmpint (qmp_connection_query_status_sync (connection, &running, NULL, &error), ==,
                   QMP_RUN_STATE_RUNNING);
  g_assert_true (running);

  subprocess = qmp_process_get_subprocess (process);
  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (subprocess));
  g_assert_cmpint (g_subprocess_get_exit_status (subprocess), ==, 0);

  /* "exited" comes in this thread's context. */
  while (exited_status == -1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (WIFEXITED (exited_status));
}

static void
test_process_launch_async (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_process_new_async (argv, QMP_CONNECTION_FLAGS_NONE, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  process = qmp_process_new_finish (result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  g_assert_true (qmp_connection_stop_sync (qmp_process_get_connection (process), NULL, &error));

  qmp_process_shutdown_async (process, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_process_shutdown_finish (process, result, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (qmp_process_get_subprocess (process)), ==, 0);
}

static void
test_process_bad_argument (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-display", "none", "-bogus-option", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (process);
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED);
  /* QEMU's own words, not "connection closed". */
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "-bogus-option"));
  g_assert_nonnull (strstr (error->message, "invalid option"));
}

static void
test_process_missing_binary (void)
{
  const char *argv[] = { "qmp-glib-no-such-qemu", "-M", "none", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (process);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "qmp-glib-no-such-qemu"));
}

/* After start-up QEMU's standard error is not kept: a QEMU that writes
 * there (here, its "log" trace backend, a line for every command) cannot
 * fill the program's memory.  What QEMU's descriptor 2 is, is seen from
 * /proc: the memfd that QmpProcess gave it, empty. */
static void
test_process_stderr_after_start_up (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none",
                         "-trace", "enable=monitor_qmp_cmd_in_band", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) state = NULL;
  g_autofree char *fd_path = NULL;
  g_autofree char *target = NULL;
  QmpConnection *connection;
  struct stat st;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  connection = qmp_process_get_connection (process);

  /* The event is on, so each command below makes QEMU write a line. */
  json_object_set_string_member (arguments, "name", "monitor_qmp_cmd_in_band");
  state = qmp_connection_execute_sync (connection, "trace-event-get-state", arguments,
                                       QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_array_get_length (json_node_get_array (state)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_node_get_array (state), 0),
                                                  "state"), ==, "enabled");

  for (int i = 0; i < 500; i++)
    {
      g_assert_cmpint (qmp_connection_query_status_sync (connection, NULL, NULL, &error), ==,
                       QMP_RUN_STATE_RUNNING);
      g_assert_no_error (error);
    }

  fd_path = g_strdup_printf ("/proc/%s/fd/2",
                             g_subprocess_get_identifier (qmp_process_get_subprocess (process)));
  target = g_file_read_link (fd_path, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (target, "/memfd:qemu-stderr"));
  g_assert_cmpint (stat (fd_path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);
  g_assert_cmpint (st.st_blocks, ==, 0);

  /* The writes that fail do not trouble QEMU. */
  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (qmp_process_get_subprocess (process)), ==, 0);
}

/* A shell script of @body in a directory of its own, to launch as QEMU
 * (the monitor is its descriptor 3); its path, for fake_qemu_free() */
static char *
fake_qemu_new (const char *body)
{
  g_autofree char *dir = g_dir_make_tmp ("qmp-test-XXXXXX", NULL);
  g_autofree char *text = g_strconcat ("#!/bin/sh\n", body, NULL);
  char *script = g_build_filename (dir, "fake-qemu", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (script, text, -1, &error));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  return script;
}

static void
fake_qemu_free (char *script)
{
  g_autofree char *dir = g_path_get_dirname (script);

  g_unlink (script);
  g_rmdir (dir);
  g_free (script);
}

/* During start-up QEMU's standard error is kept up to 1 MiB: a program
 * that writes 3 MB there and dies is quoted from what fits, and what it
 * wrote after that is gone. */
static void
test_process_stderr_bounded (void)
{
  char *script = fake_qemu_new ("head -c 3000000 /dev/zero | tr '\\000' A >&2\n"
                                "echo the-last-words >&2\n"
                                "exit 3\n");
  const char *argv[] = { script, NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  const char *quoted;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (process);
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "exit status 3"));
  g_assert_null (strstr (error->message, "the-last-words"));
  /* The last 4 KiB of the first MiB. */
  quoted = strstr (error->message, "AAAA");
  g_assert_nonnull (quoted);
  g_assert_cmpuint (strlen (quoted), ==, 4096);
  g_assert_cmpuint (strspn (quoted, "A"), ==, 4096);

  fake_qemu_free (script);
}

/* A live program that is not QEMU (it greets badly and stays): the error
 * is the protocol's, not "cancelled". */
static void
test_process_not_qmp (void)
{
  char *script = fake_qemu_new ("printf '{\"QMP\": {\"version\": 1}}\\r\\n' >&3\n"
                                "exec sleep 30\n");
  const char *argv[] = { script, NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (process);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);

  fake_qemu_free (script);
}

static void
test_process_storage_daemon (void)
{
  const char *qsd = g_getenv ("QMP_TEST_QSD") ? g_getenv ("QMP_TEST_QSD") : "qemu-storage-daemon";
  const char *argv[] = { qsd, NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;

  qmp_test_report_peer (QMP_TEST_PEER_QSD);
  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  json_object_set_string_member (arguments, "driver", "null-co");
  json_object_set_string_member (arguments, "node-name", "n0");
  ret = qmp_connection_execute_sync (qmp_process_get_connection (process), "blockdev-add", arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (qmp_process_get_subprocess (process)), ==, 0);
}

static void
test_process_unref_kills (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", NULL };
  g_autoptr(GError) error = NULL;
  QmpProcess *process;
  GPid pid;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  pid = subprocess_pid (qmp_process_get_subprocess (process));

  g_object_unref (process);
  assert_pid_goes (pid);
}

static void
test_process_shutdown_kills_stopped (void)
{
  const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", NULL };
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *subprocess;

  process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  subprocess = qmp_process_get_subprocess (process);

  /* A QEMU that answers nothing is killed once the timeout passed. */
  qmp_process_set_shutdown_timeout (process, 300);
  kill (subprocess_pid (subprocess), SIGSTOP);
  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (subprocess));
  g_assert_cmpint (g_subprocess_get_term_sig (subprocess), ==, SIGKILL);
}

static void
test_process_no_orphan (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *pid_file = NULL;
  g_autofree char *pid_text = NULL;
  g_autoptr(GError) error = NULL;
  GPid pid;

  if (g_test_subprocess ())
    {
      const char *argv[] = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", NULL };
      QmpProcess *process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (g_file_set_contents (g_getenv ("QMP_TEST_PID_FILE"),
                                          g_subprocess_get_identifier (qmp_process_get_subprocess (process)),
                                          -1, NULL));
      /* A crash: no dispose, no shutdown. */
      abort ();
    }

  dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_assert_no_error (error);
  pid_file = g_build_filename (dir, "pid", NULL);
  g_setenv ("QMP_TEST_PID_FILE", pid_file, TRUE);

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_unsetenv ("QMP_TEST_PID_FILE");

  g_assert_true (g_file_get_contents (pid_file, &pid_text, NULL, &error));
  pid = (GPid) g_ascii_strtoll (pid_text, NULL, 10);
  g_assert_cmpint (pid, >, 0);

  /* The kernel killed QEMU with the program that launched it. */
  assert_pid_goes (pid);

  g_unlink (pid_file);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/commands/hotplug-storage", Fixture, NULL, setup_pc, test_hotplug_storage, teardown);
  g_test_add ("/commands/stop-cont-status", Fixture, NULL, setup_pc, test_stop_cont_status, teardown);
  g_test_add ("/commands/system-powerdown/real", Fixture, NULL, setup_pc, test_system_powerdown_real, teardown);
  g_test_add ("/commands/quit", Fixture, NULL, setup_pc, test_quit_real, teardown);
  g_test_add ("/commands/no-deprecated", Fixture, NULL, setup_pc_strict, test_no_deprecated, teardown);
  g_test_add_func ("/commands/old-qemu-blockdev", test_old_qemu_blockdev);
  g_test_add_func ("/commands/query-status/versions", test_query_status_versions);
  g_test_add_func ("/commands/device-add-arguments", test_device_add_arguments);
  g_test_add_func ("/commands/system-powerdown/shutdown", test_system_powerdown_shutdown);
  g_test_add_func ("/commands/device-del/guest-error", test_device_del_guest_error);
  g_test_add_func ("/commands/device-del/sync", test_device_del_sync);
  g_test_add_func ("/commands/event-before-reply-order", test_event_before_reply_order);

  g_test_add_func ("/process/launch", test_process_launch);
  g_test_add_func ("/process/launch-async", test_process_launch_async);
  g_test_add_func ("/process/bad-argument", test_process_bad_argument);
  g_test_add_func ("/process/missing-binary", test_process_missing_binary);
  g_test_add_func ("/process/storage-daemon", test_process_storage_daemon);
  g_test_add_func ("/process/not-qmp", test_process_not_qmp);
  g_test_add_func ("/process/stderr-after-start-up", test_process_stderr_after_start_up);
  g_test_add_func ("/process/stderr-bounded", test_process_stderr_bounded);
  g_test_add_func ("/process/unref-kills", test_process_unref_kills);
  g_test_add_func ("/process/shutdown-kills-stopped", test_process_shutdown_kills_stopped);
  g_test_add_func ("/process/no-orphan", test_process_no_orphan);

  return g_test_run ();
}
