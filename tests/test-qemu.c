/* test-qemu.c: QmpConnection against real qemu-system-x86_64 and
 * qemu-storage-daemon peers
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

typedef struct
{
  QmpTestPeer *peer;
  QmpConnection *connection;
  GPtrArray *events;          /* QmpEvent received through signals */
  GThread *main_thread;
  gboolean closed;
  gboolean closed_remote;
  GError *closed_error;
  guint n_closed;
} Fixture;

static void
on_event (QmpConnection *connection,
          QmpEvent      *event,
          gpointer       user_data)
{
  Fixture *fixture = user_data;

  /* Signals come in the context the connection was constructed in. */
  g_assert_true (g_thread_self () == fixture->main_thread);
  g_ptr_array_add (fixture->events, qmp_event_ref (event));
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  Fixture *fixture = user_data;

  g_assert_true (g_thread_self () == fixture->main_thread);
  fixture->closed = TRUE;
  fixture->closed_remote = remote_peer_vanished;
  g_clear_error (&fixture->closed_error);
  fixture->closed_error = error ? g_error_copy (error) : NULL;
  fixture->n_closed++;
}

static void
fixture_start (Fixture            *fixture,
               QmpTestPeerKind     kind,
               QmpConnectionFlags  flags)
{
  g_autoptr(GError) error = NULL;

  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_event_unref);
  fixture->main_thread = g_thread_self ();

  fixture->peer = qmp_test_peer_start (kind, NULL);
  g_assert_nonnull (fixture->peer);

  fixture->connection = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (fixture->peer),
                                                             flags, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->connection);

  g_signal_connect (fixture->connection, "closed", G_CALLBACK (on_closed), fixture);
}

static void
setup_none (Fixture       *fixture,
            gconstpointer  data)
{
  fixture_start (fixture, QMP_TEST_PEER_QEMU_NONE, GPOINTER_TO_UINT (data));
}

static void
setup_pc (Fixture       *fixture,
          gconstpointer  data)
{
  fixture_start (fixture, QMP_TEST_PEER_QEMU_PC_XHCI, QMP_CONNECTION_FLAGS_NONE);
}

static void
setup_qsd (Fixture       *fixture,
           gconstpointer  data)
{
  fixture_start (fixture, QMP_TEST_PEER_QSD, QMP_CONNECTION_FLAGS_NONE);
}

static void
teardown (Fixture       *fixture,
          gconstpointer  data)
{
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->peer, qmp_test_peer_free);
  g_clear_pointer (&fixture->events, g_ptr_array_unref);
  g_clear_error (&fixture->closed_error);

  /* Let the idles that hold the last references run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static JsonObject *
object_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static JsonNode *
execute (QmpConnection *connection,
         const char    *command,
         const char    *arguments_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = arguments_json ? object_from_json (arguments_json) : NULL;
  JsonNode *ret;

  ret = qmp_connection_execute_sync (connection, command, arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);

  return ret;
}

/* The version that `qemu-system-x86_64 --version` prints, which the
 * greeting must agree with. */
static void
get_installed_version (guint *major,
                       guint *minor,
                       guint *micro)
{
  const char *qemu = g_getenv ("QMP_TEST_QEMU") ? g_getenv ("QMP_TEST_QEMU") : "qemu-system-x86_64";
  const char *argv[] = { qemu, "--version", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status;
  const char *p;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);

  p = strstr (out, "version ");
  g_assert_nonnull (p);
  g_assert_cmpint (sscanf (p, "version %u.%u.%u", major, minor, micro), ==, 3);
}

static void
test_greeting (Fixture       *fixture,
               gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  guint major, minor, micro;
  g_autofree char *package = NULL;
  g_auto(GStrv) capabilities = NULL;

  get_installed_version (&major, &minor, &micro);
  g_test_message ("QEMU %u.%u.%u, package “%s”", major, minor, micro,
                  qmp_connection_get_package (connection));

  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, major);
  g_assert_cmpuint (qmp_connection_get_version_minor (connection), ==, minor);
  g_assert_cmpuint (qmp_connection_get_version_micro (connection), ==, micro);
  g_assert_true (qmp_connection_check_version (connection, major, minor, micro));
  g_assert_true (qmp_connection_check_version (connection, 2, 9, 0));
  g_assert_false (qmp_connection_check_version (connection, major, minor, micro + 1));
  g_assert_false (qmp_connection_check_version (connection, major + 1, 0, 0));

  /* Debian's QEMU names its package; the property agrees with the getter. */
  g_assert_nonnull (strstr (qmp_connection_get_package (connection), "Debian"));
  g_object_get (connection, "package", &package, "capabilities", &capabilities, NULL);
  g_assert_cmpstr (package, ==, qmp_connection_get_package (connection));

  g_assert_true (g_strv_contains (qmp_connection_get_capabilities (connection), "oob"));
  g_assert_true (g_strv_contains ((const char * const *) capabilities, "oob"));
  g_assert_cmpstr (qmp_connection_get_address (connection), ==, qmp_test_peer_get_address (fixture->peer));
  g_assert_true (G_IS_SOCKET_CONNECTION (qmp_connection_get_stream (connection)));
  g_assert_false (qmp_connection_is_closed (connection));
}

static void
test_negotiation (Fixture       *fixture,
                  gconstpointer  data)
{
  QmpConnectionFlags flags = GPOINTER_TO_UINT (data);
  QmpConnection *connection = fixture->connection;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) yank = NULL;

  g_assert_cmpuint (qmp_connection_get_flags (connection), ==, flags);

  yank = qmp_connection_execute_sync (connection, "query-yank", NULL, QMP_EXECUTE_FLAGS_OOB, NULL, &error);
  if (flags & QMP_CONNECTION_FLAGS_OOB)
    {
      /* QEMU refuses exec-oob unless "oob" was enabled in qmp_capabilities:
       * this passing proves the negotiation asked for it. */
      g_assert_true (qmp_connection_get_oob_enabled (connection));
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_ARRAY (yank));
    }
  else
    {
      g_assert_false (qmp_connection_get_oob_enabled (connection));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
      g_assert_null (yank);
    }

  /* In-band commands work either way. */
  json_node_unref (execute (connection, "query-status", NULL));
}

static void
test_queries (Fixture       *fixture,
              gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autoptr(JsonNode) status = execute (connection, "query-status", NULL);
  g_autoptr(JsonNode) version = execute (connection, "query-version", NULL);
  JsonObject *qemu;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (status));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "running");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (status), "running"));

  qemu = json_object_get_object_member (json_node_get_object (version), "qemu");
  g_assert_cmpint (json_object_get_int_member (qemu, "major"), ==, qmp_connection_get_version_major (connection));
  g_assert_cmpint (json_object_get_int_member (qemu, "minor"), ==, qmp_connection_get_version_minor (connection));
  g_assert_cmpint (json_object_get_int_member (qemu, "micro"), ==, qmp_connection_get_version_micro (connection));
}

static void
test_unknown_command (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) empty = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  ret = qmp_connection_execute_sync (fixture->connection, "no-such-command", NULL,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "The command no-such-command has not been found");
  g_clear_error (&error);

  /* The same through the asynchronous path; and a GenericError. */
  qmp_connection_execute_async (fixture->connection, "getfd",
                                empty, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (fixture->connection, result, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_nonnull (error->message);

  /* The connection is unharmed. */
  json_node_unref (execute (fixture->connection, "query-status", NULL));
}

static void
wait_for_events (Fixture *fixture,
                 guint    n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (fixture->events->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (fixture->events->len, >=, n);
}

static void
assert_timestamp_between (QmpEvent *event,
                          gint64    before_usec,
                          gint64    after_usec)
{
  GDateTime *timestamp = qmp_event_get_timestamp (event);
  gint64 usec;

  g_assert_nonnull (timestamp);
  usec = g_date_time_to_unix (timestamp) * G_USEC_PER_SEC + g_date_time_get_microsecond (timestamp);
  g_assert_cmpint (usec, >=, before_usec);
  g_assert_cmpint (usec, <=, after_usec);
}

static void
test_stop_cont_signals (Fixture       *fixture,
                        gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  gint64 before, after;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  g_signal_connect (connection, "event::STOP", G_CALLBACK (on_event), fixture);
  g_signal_connect (connection, "event::RESUME", G_CALLBACK (on_event), fixture);

  before = g_get_real_time ();
  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_no_error (error);
  wait_for_events (fixture, 1);
  after = g_get_real_time ();

  g_assert_cmpstr (qmp_event_get_name (fixture->events->pdata[0]), ==, "STOP");
  assert_timestamp_between (fixture->events->pdata[0], before, after);

  before = g_get_real_time ();
  json_node_unref (execute (connection, "cont", NULL));
  wait_for_events (fixture, 2);
  after = g_get_real_time ();

  g_assert_cmpstr (qmp_event_get_name (fixture->events->pdata[1]), ==, "RESUME");
  assert_timestamp_between (fixture->events->pdata[1], before, after);

  /* Only the events with a connected handler were queued: a query-status
   * round trip brings no third one. */
  json_node_unref (execute (connection, "query-status", NULL));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (fixture->events->len, ==, 2);
}

static void
test_until_event_before_return (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  /* QEMU sends STOP before the return of "stop". */
  event = qmp_connection_execute_until_event_sync (fixture->connection, "stop", NULL,
                                                   "STOP", NULL, &ret, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "STOP");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (ret)), ==, 0);
  g_clear_pointer (&event, qmp_event_unref);
  g_clear_pointer (&ret, json_node_unref);

  /* And RESUME before the return of "cont", asynchronously. */
  qmp_connection_execute_until_event_async (fixture->connection, "cont", NULL, "RESUME", NULL,
                                            NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  event = qmp_connection_execute_until_event_finish (fixture->connection, result, &ret, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "RESUME");
  g_assert_nonnull (ret);
}

static void
test_quit (Fixture       *fixture,
           gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  int status;

  json_node_unref (execute (connection, "quit", NULL));

  qmp_test_wait_flag (&fixture->closed);
  g_assert_cmpuint (fixture->n_closed, ==, 1);
  g_assert_true (fixture->closed_remote);
  g_assert_error (fixture->closed_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (qmp_connection_is_closed (connection));

  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);

  status = qmp_test_peer_wait_exit (fixture->peer, 10000);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  /* closed is emitted once, whatever comes after. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (fixture->n_closed, ==, 1);
}

static void
test_timeout_stopped_peer (Fixture       *fixture,
                           gconstpointer  data)
{
  QmpConnection *connection = fixture->connection;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  gint64 start;

  qmp_connection_set_timeout (connection, 300);
  g_assert_cmpuint (qmp_connection_get_timeout (connection), ==, 300);

  qmp_test_peer_kill_signal (fixture->peer, SIGSTOP);

  start = g_get_monotonic_time ();
  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  g_assert_false (qmp_connection_is_closed (connection));
  g_clear_error (&error);

  qmp_test_peer_kill_signal (fixture->peer, SIGCONT);

  /* The late reply to the timed-out call is dropped; this one gets its own. */
  ret = execute (connection, "query-version", NULL);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "qemu"));
}

static void
test_construct_timeout_stopped_peer (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) connection = NULL;

  g_assert_nonnull (peer);
  qmp_test_peer_kill_signal (peer, SIGSTOP);

  /* The kernel accepts the connection for the stopped QEMU, which then never
   * greets: only the timeout ends the wait. */
  connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                               "address", qmp_test_peer_get_address (peer),
                               "timeout", 500,
                               NULL);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  qmp_test_peer_kill_signal (peer, SIGCONT);
}

static void
test_construct_bad_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qmp-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "nobody.sock", NULL);

  connection = qmp_connection_new_for_address_sync (path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  connection = qmp_connection_new_for_address_sync ("bogus:thing", QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  connection = qmp_connection_new_for_address_sync ("tcp:localhost", QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  g_rmdir (dir);
}

static void
test_construct_async (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  g_assert_nonnull (peer);
  qmp_connection_new_for_address_async (qmp_test_peer_get_address (peer),
                                        QMP_CONNECTION_FLAGS_OOB, NULL,
                                        qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_for_address_finish (result, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_get_oob_enabled (connection));
  g_assert_false (qmp_connection_is_closed (connection));
  g_assert_true (qmp_connection_close_sync (connection, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_is_closed (connection));
}

/* -------------------------------------------------------- -M pc hotplug */

static void
test_hotplug_keyboard (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = object_from_json ("{\"id\": \"kbd0\"}");
  g_autoptr(JsonObject) match = object_from_json ("{\"device\": \"kbd0\"}");
  g_autoptr(QmpEvent) event = NULL;

  json_node_unref (execute (fixture->connection, "device_add",
                            "{\"driver\": \"usb-kbd\", \"id\": \"kbd0\", \"bus\": \"xhci.0\"}"));

  event = qmp_connection_execute_until_event_sync (fixture->connection, "device_del", arguments,
                                                   "DEVICE_DELETED", match, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "DEVICE_DELETED");
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "device"), ==, "kbd0");
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "path"), ==,
                   "/machine/peripheral/kbd0");
}

static void
test_hotplug_storage_child_event (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = object_from_json ("{\"id\": \"stor0\"}");
  g_autoptr(JsonObject) match = object_from_json ("{\"device\": \"stor0\"}");
  g_autoptr(QmpEvent) event = NULL;
  gboolean saw_child = FALSE;

  g_signal_connect (fixture->connection, "event::DEVICE_DELETED", G_CALLBACK (on_event), fixture);

  json_node_unref (execute (fixture->connection, "blockdev-add",
                            "{\"driver\": \"null-co\", \"node-name\": \"disk0\"}"));
  json_node_unref (execute (fixture->connection, "device_add",
                            "{\"driver\": \"usb-storage\", \"id\": \"stor0\", \"drive\": \"disk0\","
                            " \"bus\": \"xhci.0\"}"));

  event = qmp_connection_execute_until_event_sync (fixture->connection, "device_del", arguments,
                                                   "DEVICE_DELETED", match, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "device"), ==, "stor0");
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "path"), ==,
                   "/machine/peripheral/stor0");

  /* QEMU sent the LUN's DEVICE_DELETED, without "device", first: it did
   * not finish the call. */
  wait_for_events (fixture, 2);
  for (guint i = 0; i < fixture->events->len; i++)
    {
      JsonObject *event_data = qmp_event_get_data (fixture->events->pdata[i]);

      if (!json_object_has_member (event_data, "device"))
        {
          saw_child = TRUE;
          g_assert_true (g_str_has_prefix (json_object_get_string_member (event_data, "path"),
                                           "/machine/peripheral/stor0/"));
        }
      else
        {
          /* The child came before the device itself. */
          g_assert_true (saw_child);
        }
    }
  g_assert_true (saw_child);

  json_node_unref (execute (fixture->connection, "blockdev-del", "{\"node-name\": \"disk0\"}"));
}

/* ------------------------------------------------ qemu-storage-daemon */

static void
test_qsd_block_job (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) nodes = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(JsonObject) match = object_from_json ("{\"id\": \"job0\", \"status\": \"concluded\"}");
  g_autoptr(QmpEvent) event = NULL;
  g_autofree char *image = g_build_filename (qmp_test_peer_get_dir (fixture->peer), "disk.img", NULL);
  g_autofree char *arguments_json = NULL;
  gboolean found = FALSE;
  JsonArray *array;

  json_node_unref (execute (fixture->connection, "blockdev-add",
                            "{\"driver\": \"null-co\", \"node-name\": \"n0\"}"));
  nodes = execute (fixture->connection, "query-named-block-nodes", NULL);
  array = json_node_get_array (nodes);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (array, i), "node-name"), "n0") == 0)
      found = TRUE;
  g_assert_true (found);

  /* blockdev-create runs as a job: it finishes on JOB_STATUS_CHANGE with
   * the job's id and "concluded", not on the earlier statuses. */
  arguments_json = g_strdup_printf ("{\"job-id\": \"job0\", \"options\": {\"driver\": \"file\","
                                    " \"filename\": \"%s\", \"size\": 1048576}}", image);
  arguments = object_from_json (arguments_json);
  event = qmp_connection_execute_until_event_sync (fixture->connection, "blockdev-create", arguments,
                                                   "JOB_STATUS_CHANGE", match, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "status"), ==, "concluded");
  g_assert_true (g_file_test (image, G_FILE_TEST_IS_REGULAR));

  json_node_unref (execute (fixture->connection, "job-dismiss", "{\"id\": \"job0\"}"));
  json_node_unref (execute (fixture->connection, "blockdev-del", "{\"node-name\": \"n0\"}"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, setup, data, func) \
  g_test_add (path, Fixture, GUINT_TO_POINTER (data), setup, func, teardown)

  ADD ("/qemu/greeting", setup_none, QMP_CONNECTION_FLAGS_NONE, test_greeting);
  ADD ("/qemu/negotiation/oob", setup_none, QMP_CONNECTION_FLAGS_OOB, test_negotiation);
  ADD ("/qemu/negotiation/no-oob", setup_none, QMP_CONNECTION_FLAGS_NONE, test_negotiation);
  ADD ("/qemu/queries", setup_none, QMP_CONNECTION_FLAGS_NONE, test_queries);
  ADD ("/qemu/unknown-command", setup_none, QMP_CONNECTION_FLAGS_NONE, test_unknown_command);
  ADD ("/qemu/stop-cont-signals", setup_none, QMP_CONNECTION_FLAGS_NONE, test_stop_cont_signals);
  ADD ("/qemu/until-event/before-return", setup_none, QMP_CONNECTION_FLAGS_OOB, test_until_event_before_return);
  ADD ("/qemu/quit", setup_none, QMP_CONNECTION_FLAGS_NONE, test_quit);
  ADD ("/qemu/timeout/stopped-peer", setup_none, QMP_CONNECTION_FLAGS_NONE, test_timeout_stopped_peer);
  g_test_add_func ("/qemu/construct/timeout-stopped-peer", test_construct_timeout_stopped_peer);
  g_test_add_func ("/qemu/construct/bad-address", test_construct_bad_address);
  g_test_add_func ("/qemu/construct/async", test_construct_async);
  ADD ("/qemu/hotplug/keyboard", setup_pc, 0, test_hotplug_keyboard);
  ADD ("/qemu/hotplug/storage-child-event", setup_pc, 0, test_hotplug_storage_child_event);
  ADD ("/qsd/block-job", setup_qsd, 0, test_qsd_block_job);

#undef ADD

  return g_test_run ();
}
