/* test-mock-server.c: QmpConnection against QmpTestServer
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The library tests its public test server by using it: these were the
 * scripted-mock tests of test-mock.c (the same cases, under
 * /mock-server/), for what no real peer does on demand.  The handler
 * keeps every command it is given, so that each test answers them when
 * and how it wants.
 */

#include <stdio.h>
#include <string.h>

#include <qmp-glib.h>

#define MAX_IN_FLIGHT 8

typedef struct
{
  QmpTestServer *server;
  QmpConnection *conn;
  GQueue held;              /* QmpTestServerCommand, not yet answered */
  guint n_closed;
  gboolean closed_remote;   /* remote_peer_vanished of the last "closed" */
  GError *closed_error;
} Fixture;

static gboolean
on_command (QmpTestServer        *server,
            QmpTestServerCommand *command,
            gpointer              user_data)
{
  Fixture *f = user_data;

  g_queue_push_tail (&f->held, g_object_ref (command));
  return TRUE;
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  Fixture *f = user_data;

  f->n_closed++;
  f->closed_remote = remote_peer_vanished;
  g_clear_error (&f->closed_error);
  f->closed_error = error ? g_error_copy (error) : NULL;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_queue_init (&f->held);
  f->server = qmp_test_server_new ();
  g_signal_connect (f->server, "command", G_CALLBACK (on_command), f);
  f->conn = qmp_test_server_new_connection_sync (f->server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (f->conn, "closed", G_CALLBACK (on_closed), f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->conn != NULL)
    g_signal_handlers_disconnect_by_data (f->conn, f);
  g_clear_object (&f->conn);
  g_queue_clear_full (&f->held, g_object_unref);
  g_clear_object (&f->server);
  g_clear_error (&f->closed_error);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* The next command the handler was given */
static QmpTestServerCommand *
wait_held (Fixture    *f,
           const char *name)
{
  QmpTestServerCommand *command;

  while (f->held.length == 0)
    g_main_context_iteration (NULL, TRUE);
  command = g_queue_pop_head (&f->held);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, name);
  return command;
}

static JsonNode *
json (const char *text)
{
  return json_from_string (text, NULL);
}

static void
assert_json (JsonNode   *node,
             const char *expected_text)
{
  g_autoptr(JsonNode) expected = json (expected_text);
  g_autofree char *actual = node ? json_to_string (node, FALSE) : g_strdup ("(null)");

  g_assert_nonnull (expected);
  if (node == NULL || !json_node_equal (node, expected))
    g_assert_cmpstr (actual, ==, expected_text);   /* fails, with both texts */
}

static void
assert_event (QmpEvent   *event,
              const char *name,
              const char *data_text)
{
  g_autoptr(JsonNode) data = NULL;

  g_assert_nonnull (event);
  g_assert_cmpstr (qmp_event_get_name (event), ==, name);
  if (qmp_event_get_data (event) != NULL)
    data = json_node_init_object (json_node_alloc (), qmp_event_get_data (event));
  if (data_text == NULL)
    g_assert_null (data);
  else
    assert_json (data, data_text);
}

/* Runs what is ready now, without blocking */
static void
iterate_pending (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Asserts that the call whose result goes to @slot has not finished:
 * callbacks ready before the caller's last step would have run. */
static void
assert_pending (GAsyncResult **slot)
{
  iterate_pending ();
  g_assert_null (*slot);
}

/* The string member "tag" of a command's arguments */
static const char *
command_tag (QmpTestServerCommand *command)
{
  JsonObject *arguments = qmp_test_server_command_get_arguments (command);

  if (arguments == NULL)
    return NULL;
  return json_object_get_string_member_with_default (arguments, "tag", NULL);
}

static JsonObject *
tag_arguments (const char *tag)
{
  JsonObject *arguments = json_object_new ();

  json_object_set_string_member (arguments, "tag", tag);
  return arguments;
}

/* A query answered by the test: proves that the library read everything
 * the server sent before, and still works. */
static void
round_trip (Fixture *f)
{
  static guint n;
  g_autofree char *tag = g_strdup_printf ("rt%u", ++n);
  g_autofree char *text = g_strdup_printf ("{\"rt\": %u}", n);
  g_autoptr(JsonObject) arguments = tag_arguments (tag);
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) answer = json (text);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (f->conn, "query-status", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-status");
  g_assert_cmpstr (command_tag (command), ==, tag);
  qmp_test_server_command_reply (command, answer);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_no_error (error);
  assert_json (ret, text);
}

/* A line that breaks the protocol closes the connection with
 * QMP_ERROR_PROTOCOL; the pending call and every later call fail so. */
static void
test_protocol_violation (Fixture       *f,
                         gconstpointer  data)
{
  const char *template = data;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *line = NULL;

  qmp_connection_execute_async (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-status");

  /* The line carries the command's own id where the template says */
  id = json_to_string (qmp_test_server_command_get_id (command), FALSE);
  parts = g_strsplit (template, "@ID@", -1);
  joined = g_strjoinv (id, parts);
  line = g_strconcat (joined, "\r\n", NULL);
  qmp_test_server_send_raw (f->server, (const guint8 *) line, strlen (line));

  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_clear_error (&error);

  while (f->n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (qmp_connection_is_closed (f->conn));
  g_assert_false (f->closed_remote);
  g_assert_error (f->closed_error, QMP_ERROR, QMP_ERROR_PROTOCOL);

  ret = qmp_connection_execute_sync (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_cmpuint (f->n_closed, ==, 1);
}

/* A reply with an unknown id is dropped; the connection goes on. */
static void
test_protocol_unknown_id (Fixture       *f,
                          gconstpointer  data)
{
  static const char wrong[] = "{\"return\": {\"wrong\": true}, \"id\": 9999}\r\n";
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonNode) right = json ("{\"right\": true}");
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-status");
  g_assert_cmpint (json_node_get_int (qmp_test_server_command_get_id (command)), !=, 9999);

  qmp_test_server_send_raw (f->server, (const guint8 *) wrong, sizeof wrong - 1);
  qmp_test_server_command_reply (command, right);

  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (ret, right));
  g_assert_false (qmp_connection_is_closed (f->conn));
  round_trip (f);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* Error classes map to codes, the message is "desc" unchanged. */
static void
test_error_classes (Fixture       *f,
                    gconstpointer  data)
{
  static const struct {
    const char *klass;
    const char *desc;
    int code;
  } cases[] = {
    { "GenericError", "generic", QMP_ERROR_GENERIC_ERROR },
    { "CommandNotFound", "not found", QMP_ERROR_COMMAND_NOT_FOUND },
    { "DeviceNotActive", "not active", QMP_ERROR_DEVICE_NOT_ACTIVE },
    { "DeviceNotFound", "x", QMP_ERROR_DEVICE_NOT_FOUND },
    { "KVMMissingCap", "no kvm", QMP_ERROR_KVM_MISSING_CAP },
    { "FooBar", "unknown class", QMP_ERROR_GENERIC_ERROR },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) ret = NULL;
      g_autoptr(GError) error = NULL;

      qmp_test_server_set_error (f->server, "device_del", cases[i].klass, cases[i].desc);
      ret = qmp_connection_execute_sync (f->conn, "device_del", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_error (error, QMP_ERROR, cases[i].code);
      g_assert_cmpstr (error->message, ==, cases[i].desc);
    }

  g_assert_false (qmp_connection_is_closed (f->conn));
}

/* The server goes away in the middle of a reply. */
static void
test_close_remote_mid_reply (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-status");
  qmp_test_server_close_after (f->server, 12);
  qmp_test_server_command_reply (command, NULL);

  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);
  while (f->n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (f->closed_remote);
  g_assert_error (f->closed_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (qmp_connection_is_closed (f->conn));

  /* Later calls fail at once, and "closed" came once */
  ret = qmp_connection_execute_sync (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  iterate_pending ();
  g_assert_cmpuint (f->n_closed, ==, 1);
}

/* valgrind runs (meson test --setup=valgrind) set QMP_TEST_SLOW */
static gboolean
is_slow (void)
{
  const char *slow = g_getenv ("QMP_TEST_SLOW");

  return slow != NULL && *slow != '\0';
}

static gsize
read_vm_hwm_kib (void)
{
  g_autofree char *status = NULL;
  const char *hwm = NULL;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    hwm = strstr (status, "VmHWM:");
  g_assert_nonnull (hwm);
  return g_ascii_strtoull (hwm + strlen ("VmHWM:"), NULL, 10);
}

/* Resets the peak RSS to the current RSS, so that earlier tests do not
 * hide the growth of this one (Linux 4.0 and later; harmless if not). */
static void
reset_vm_hwm (void)
{
  FILE *file = fopen ("/proc/self/clear_refs", "w");

  if (file == NULL)
    return;
  fputs ("5", file);
  fclose (file);
}

/* A line over max-message-size fails the pending call with
 * QMP_ERROR_MESSAGE_TOO_LARGE and closes the connection, and memory stays
 * bounded by the limit: the server makes its 200 MiB line as it writes
 * it, in this same process, so the peak is the client's. */
static void
test_limits_too_large (Fixture       *f,
                       gconstpointer  data)
{
  const guint64 mib = 1024 * 1024;
  guint64 limit = 64 * mib;
  guint64 total = 200 * mib;
  g_autoptr(JsonObject) arguments = tag_arguments ("big");
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gsize hwm_before, hwm_after;

  if (is_slow ())
    {
      limit = mib;
      total = 4 * mib;
      qmp_connection_set_max_message_size (f->conn, limit);
    }
  g_assert_cmpuint (qmp_connection_get_max_message_size (f->conn), ==, limit);

  qmp_connection_execute_async (f->conn, "query-big", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-big");

  reset_vm_hwm ();
  hwm_before = read_vm_hwm_kib ();
  qmp_test_server_send_large_line (f->server, total);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
  hwm_after = read_vm_hwm_kib ();

  g_test_message ("a line of %" G_GUINT64_FORMAT " bytes; VmHWM %" G_GSIZE_FORMAT " kB -> %"
                  G_GSIZE_FORMAT " kB", total, hwm_before, hwm_after);
  /* AddressSanitizer keeps freed blocks in quarantine and copies on every
   * realloc, and ThreadSanitizer maps shadow memory for every byte touched,
   * so their peak says nothing about the library's bound. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  g_assert_cmpuint (hwm_after - hwm_before, <, (limit + 48 * mib) / 1024);
#endif
  g_assert_true (qmp_connection_is_closed (f->conn));
  while (f->n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (f->closed_error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
}

/* Sends a reply to @command whose line is exactly @size bytes before
 * @line_end; its "pad" member is returned, @pad_len bytes long. */
static void
send_reply_of_size (Fixture              *f,
                    QmpTestServerCommand *command,
                    gsize                 size,
                    const char           *line_end,
                    gsize                *pad_len)
{
  g_autofree char *id = json_to_string (qmp_test_server_command_get_id (command), FALSE);
  g_autofree char *head = g_strdup_printf ("{\"id\": %s, \"return\": {\"pad\": \"", id);
  const char *tail = "\"}}";
  g_autofree char *padding = NULL;
  g_autofree char *line = NULL;

  *pad_len = size - strlen (head) - strlen (tail);
  padding = g_strnfill (*pad_len, 'p');
  line = g_strconcat (head, padding, tail, line_end, NULL);
  g_assert_cmpuint (strlen (line), ==, size + strlen (line_end));
  qmp_test_server_send_raw (f->server, (const guint8 *) line, strlen (line));
}

/* A line of exactly max-message-size bytes (before its line end, @data)
 * is accepted, one more byte is refused. */
static void
test_limits_exact_size (Fixture       *f,
                        gconstpointer  data)
{
  const char *line_end = data;
  const gsize limit = 4096;
  g_autoptr(JsonObject) arguments = tag_arguments ("exact");
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gsize pad_len;

  qmp_connection_set_max_message_size (f->conn, limit);

  qmp_connection_execute_async (f->conn, "query-pad", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-pad");
  send_reply_of_size (f, command, limit, line_end, &pad_len);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (json_object_get_string_member_with_default (json_node_get_object (ret), "pad", "")),
                    ==, pad_len);

  g_clear_object (&command);
  g_clear_object (&result);
  g_clear_pointer (&ret, json_node_unref);
  qmp_connection_execute_async (f->conn, "query-pad", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-pad");
  send_reply_of_size (f, command, limit + 1, line_end, &pad_len);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
}

/* The client hung up: the server saw its stream end */
static void
wait_hang_up (Fixture *f)
{
  while (qmp_test_server_get_n_clients (f->server) > 0)
    g_main_context_iteration (NULL, TRUE);
}

/* A local close fails the pending call, "closed" comes once and not
 * as a vanished peer, later calls and closes fail at once, and the stream
 * is closed. */
static void
test_close_local (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JsonObject) arguments = tag_arguments ("a");
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) close_result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (f->conn, "query-status", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = wait_held (f, "query-status");

  qmp_connection_close_async (f->conn, NULL, store_result, &close_result);
  g_assert_true (qmp_connection_close_finish (f->conn, wait_result (&close_result), &error));
  g_assert_no_error (error);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_true (qmp_connection_is_closed (f->conn));

  while (f->n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (f->closed_remote);
  g_assert_no_error (f->closed_error);

  g_clear_object (&close_result);
  qmp_connection_close_async (f->conn, NULL, store_result, &close_result);
  g_assert_false (qmp_connection_close_finish (f->conn, wait_result (&close_result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  ret = qmp_connection_execute_sync (f->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  iterate_pending ();
  g_assert_cmpuint (f->n_closed, ==, 1);

  wait_hang_up (f);
}

/* The last unref of a connection with nothing pending closes the
 * stream. */
static void
test_close_last_unref (Fixture       *f,
                       gconstpointer  data)
{
  round_trip (f);
  g_assert_cmpuint (qmp_test_server_get_n_clients (f->server), ==, 1);

  g_signal_handlers_disconnect_by_data (f->conn, f);
  g_clear_object (&f->conn);
  wait_hang_up (f);
}

/* A missing, malformed or non-JSON greeting (@data) fails
 * construction. */
static void
test_greeting_bad (gconstpointer data)
{
  const char *greeting = data;
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_raw_greeting (server, greeting);
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_null (conn);
}

/* QEMU 0.13's greeting: no capabilities, and qmp_capabilities sent
 * without arguments. */
static void
test_greeting_ancient (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_version (server, 0, 13, 0);
  qmp_test_server_set_package (server, "");
  qmp_test_server_set_capabilities (server, NULL);
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (qmp_connection_get_version_major (conn), ==, 0);
  g_assert_cmpuint (qmp_connection_get_version_minor (conn), ==, 13);
  g_assert_cmpuint (qmp_connection_get_version_micro (conn), ==, 0);
  g_assert_true (qmp_connection_check_version (conn, 0, 12, 0));
  g_assert_false (qmp_connection_check_version (conn, 1, 0, 0));
  g_assert_cmpstr (qmp_connection_get_package (conn), ==, "");
  g_assert_cmpuint (g_strv_length ((GStrv) qmp_connection_get_capabilities (conn)), ==, 0);
  g_assert_false (qmp_connection_get_oob_enabled (conn));

  command = qmp_test_server_next_command_sync (server, NULL, &error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "qmp_capabilities");
  g_assert_null (qmp_test_server_command_get_arguments (command));
}

static void
on_name_event (QmpConnection *conn,
               QmpEvent      *event,
               gpointer       user_data)
{
  g_ptr_array_add (user_data, qmp_event_ref (event));
}

static void
on_other_event (QmpConnection *conn,
                QmpEvent      *event,
                gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* QEMU's -1/-1 timestamp is no timestamp; detailed signals. */
static void
test_events_timestamp_and_detail (Fixture       *f,
                                  gconstpointer  data)
{
  static const char no_clock[] =
    "{\"timestamp\": {\"seconds\": -1, \"microseconds\": -1}, \"event\": \"NAME\", \"data\": {\"i\": 0}}\r\n";
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_event_unref);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1795573265);
  g_autoptr(GDateTime) chosen = g_date_time_add (when, 659943);
  g_autoptr(JsonNode) data1 = json ("{\"i\": 1}");
  guint n_other = 0;
  GDateTime *timestamp;

  g_signal_connect (f->conn, "event::NAME", G_CALLBACK (on_name_event), events);
  g_signal_connect (f->conn, "event::OTHER", G_CALLBACK (on_other_event), &n_other);

  qmp_test_server_send_raw (f->server, (const guint8 *) no_clock, sizeof no_clock - 1);
  qmp_test_server_emit_event (f->server, "NAME", json_node_get_object (data1), chosen);
  while (events->len < 2)
    g_main_context_iteration (NULL, TRUE);
  round_trip (f);
  iterate_pending ();

  g_signal_handlers_disconnect_by_data (f->conn, events);
  g_signal_handlers_disconnect_by_data (f->conn, &n_other);
  g_assert_cmpuint (n_other, ==, 0);
  g_assert_cmpuint (events->len, ==, 2);

  assert_event (events->pdata[0], "NAME", "{\"i\": 0}");
  g_assert_null (qmp_event_get_timestamp (events->pdata[0]));
  assert_event (events->pdata[1], "NAME", "{\"i\": 1}");
  timestamp = qmp_event_get_timestamp (events->pdata[1]);
  g_assert_cmpint (g_date_time_to_unix (timestamp), ==, 1795573265);
  g_assert_cmpint (g_date_time_get_microsecond (timestamp), ==, 659943);
  g_assert_true (json_object_equal (qmp_event_get_data (events->pdata[1]), json_node_get_object (data1)));
}

static void
emit_i (Fixture    *f,
        const char *name,
        int         i)
{
  g_autoptr(JsonObject) data = json_object_new ();

  json_object_set_int_member (data, "i", i);
  qmp_test_server_emit_event (f->server, name, data, NULL);
}

/* An event whose name had no handler is not emitted, and one whose name
 * gets a handler later is, also while another name's handler is known to
 * the worker (it remembers only that a handler was there). */
static void
test_events_handler_added_later (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_event_unref);
  guint n_other = 0;
  gulong id, other_id;

  id = g_signal_connect (f->conn, "event::NAME", G_CALLBACK (on_name_event), events);

  emit_i (f, "OTHER", 0);
  emit_i (f, "NAME", 1);
  emit_i (f, "OTHER", 2);
  emit_i (f, "NAME", 3);
  while (events->len < 2)
    g_main_context_iteration (NULL, TRUE);
  round_trip (f);
  iterate_pending ();
  g_assert_cmpuint (events->len, ==, 2);

  other_id = g_signal_connect (f->conn, "event::OTHER", G_CALLBACK (on_other_event), &n_other);
  emit_i (f, "NAME", 4);
  emit_i (f, "OTHER", 5);
  emit_i (f, "NAME", 6);
  round_trip (f);
  iterate_pending ();

  g_signal_handler_disconnect (f->conn, id);
  g_signal_handler_disconnect (f->conn, other_id);

  g_assert_cmpuint (n_other, ==, 1);
  g_assert_cmpuint (events->len, ==, 4);
  assert_event (events->pdata[0], "NAME", "{\"i\": 1}");
  assert_event (events->pdata[1], "NAME", "{\"i\": 3}");
  assert_event (events->pdata[2], "NAME", "{\"i\": 4}");
  assert_event (events->pdata[3], "NAME", "{\"i\": 6}");
}

typedef struct
{
  QmpConnection *conn;
  guint n_plain;
  guint n_swapped;
} HandlerArgs;

static void
on_args_event (QmpConnection *conn,
               QmpEvent      *event,
               gpointer       user_data)
{
  HandlerArgs *args = user_data;
  JsonObject *data = qmp_event_get_data (event);

  g_assert_true (conn == args->conn);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "NAME");
  g_assert_nonnull (data);
  g_assert_cmpint (json_object_get_int_member (data, "i"), ==, args->n_plain);
  args->n_plain++;
}

static void
on_args_event_swapped (HandlerArgs   *args,
                       QmpEvent      *event,
                       QmpConnection *conn)
{
  g_assert_true (conn == args->conn);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "NAME");
  g_assert_cmpint (json_object_get_int_member (qmp_event_get_data (event), "i"), ==, args->n_swapped);
  args->n_swapped++;
}

/* The "event" signal's own marshaller (one C handler) and GLib's (two at
 * once) give a handler the same arguments, swapped or not. */
static void
test_events_handler_arguments (Fixture       *f,
                               gconstpointer  data)
{
  HandlerArgs args = { f->conn, 0, 0 };
  gulong plain, swapped;

  plain = g_signal_connect (f->conn, "event::NAME", G_CALLBACK (on_args_event), &args);
  emit_i (f, "NAME", 0);
  emit_i (f, "NAME", 1);
  while (args.n_plain < 2)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (f->conn, plain);

  swapped = g_signal_connect_swapped (f->conn, "event::NAME", G_CALLBACK (on_args_event_swapped), &args);
  emit_i (f, "NAME", 0);
  emit_i (f, "NAME", 1);
  while (args.n_swapped < 2)
    g_main_context_iteration (NULL, TRUE);

  plain = g_signal_connect (f->conn, "event::NAME", G_CALLBACK (on_args_event), &args);
  emit_i (f, "NAME", 2);
  while (args.n_plain < 3)
    g_main_context_iteration (NULL, TRUE);
  round_trip (f);
  iterate_pending ();
  g_signal_handler_disconnect (f->conn, plain);
  g_signal_handler_disconnect (f->conn, swapped);

  g_assert_cmpuint (args.n_plain, ==, 3);
  g_assert_cmpuint (args.n_swapped, ==, 3);
}

typedef enum {
  UNTIL_EVENT_FIRST,
  UNTIL_EVENT_AFTER,
  UNTIL_EVENT_ERROR,
  UNTIL_EVENT_FILTER,
} UntilEventCase;

/* Execute_until_event needs both its return and the matching event,
 * in either order; an error return finishes it at once. */
static void
test_until_event (Fixture       *f,
                  gconstpointer  data)
{
  UntilEventCase which = GPOINTER_TO_INT (data);
  g_autoptr(JsonObject) arguments = tag_arguments ("a");
  g_autoptr(JsonNode) match = json ("{\"device\": \"a\"}");
  g_autoptr(JsonNode) r1 = json ("{\"r\": 1}");
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_until_event_async (f->conn, "device_del", arguments, "DEVICE_DELETED",
                                            json_node_get_object (match), NULL, store_result, &result);
  command = wait_held (f, "device_del");
  g_assert_cmpstr (command_tag (command), ==, "a");

  switch (which)
    {
    case UNTIL_EVENT_FIRST:
      qmp_test_server_emit_event (f->server, "DEVICE_DELETED", json_node_get_object (match), NULL);
      round_trip (f);
      assert_pending (&result);   /* the return is still to come */
      qmp_test_server_command_reply (command, r1);
      break;
    case UNTIL_EVENT_AFTER:
      qmp_test_server_command_reply (command, r1);
      round_trip (f);
      assert_pending (&result);   /* the event is still to come */
      qmp_test_server_emit_event (f->server, "DEVICE_DELETED", json_node_get_object (match), NULL);
      break;
    case UNTIL_EVENT_ERROR:
      qmp_test_server_command_reply_error (command, "GenericError", "no such device");
      break;
    case UNTIL_EVENT_FILTER:
      {
        /* Another device, only a path, no data, another event: none
         * matches */
        static const char * const others[][2] = {
          { "DEVICE_DELETED", "{\"device\": \"b\"}" },
          { "DEVICE_DELETED", "{\"path\": \"/machine/a\"}" },
          { "DEVICE_DELETED", NULL },
          { "DEVICE_ADDED", "{\"device\": \"a\"}" },
        };

        qmp_test_server_command_reply (command, r1);
        for (guint i = 0; i < G_N_ELEMENTS (others); i++)
          {
            g_autoptr(JsonNode) other = others[i][1] ? json (others[i][1]) : NULL;

            qmp_test_server_emit_event (f->server, others[i][0],
                                        other ? json_node_get_object (other) : NULL, NULL);
          }
        round_trip (f);
        assert_pending (&result);
        qmp_test_server_emit_event (f->server, "DEVICE_DELETED", json_node_get_object (match), NULL);
      }
      break;
    }

  event = qmp_connection_execute_until_event_finish (f->conn, wait_result (&result), &ret, &error);
  if (which == UNTIL_EVENT_ERROR)
    {
      g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
      g_assert_cmpstr (error->message, ==, "no such device");
      g_assert_null (event);
      return;
    }
  g_assert_no_error (error);
  assert_json (ret, "{\"r\": 1}");
  assert_event (event, "DEVICE_DELETED", "{\"device\": \"a\"}");
}

#define N_QUEUED 20

/* Commands named @name the server received */
static guint
n_received (Fixture    *f,
            const char *name)
{
  g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (f->server);
  guint n = 0;

  for (guint i = 0; i < commands->len; i++)
    if (g_str_equal (qmp_test_server_command_get_name (commands->pdata[i]), name))
      n++;
  return n;
}

/* An exec-oob command answered by the server: the client wrote it after
 * every line it had written before, so once its answer is in, the server
 * has read all of those. */
static void
oob_probe (Fixture *f)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_reply (f->server, "x-probe", NULL);
  qmp_connection_execute_async (f->conn, "x-probe", NULL, QMP_EXECUTE_FLAGS_OOB, NULL,
                                store_result, &result);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result), &error);
  g_assert_no_error (error);
}

typedef struct
{
  GAsyncResult *result;
  guint index;
  GArray *order;            /* guint: the indices, as the callbacks ran */
} QueuedCall;

static void
queued_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  QueuedCall *call = user_data;

  g_assert_null (call->result);   /* a callback runs once */
  call->result = g_object_ref (result);
  g_array_append_val (call->order, call->index);
}

/* Never more than 8 in-band commands unanswered at the server; each
 * answer lets exactly one more through, in order, and the calls finish in
 * order. */
static void
test_queue_max_in_flight (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));
  QueuedCall calls[N_QUEUED];

  for (guint i = 0; i < N_QUEUED; i++)
    {
      g_autofree char *tag = g_strdup_printf ("q%u", i);
      g_autoptr(JsonObject) arguments = tag_arguments (tag);

      calls[i] = (QueuedCall) { NULL, i, order };
      qmp_connection_execute_async (f->conn, "queued", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                    queued_done, &calls[i]);
    }

  for (guint answered = 0; answered < N_QUEUED; answered++)
    {
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(JsonNode) ret = NULL;
      g_autofree char *text = g_strdup_printf ("{\"q\": %u}", answered);
      g_autofree char *tag = g_strdup_printf ("q%u", answered);
      guint expected = MIN (MAX_IN_FLIGHT, N_QUEUED - answered);

      /* MIN (8, what is left) are held, and the server has read no more */
      while (f->held.length < expected)
        g_main_context_iteration (NULL, TRUE);
      oob_probe (f);
      g_assert_cmpuint (n_received (f, "queued"), ==, answered + expected);
      iterate_pending ();
      g_assert_cmpuint (f->held.length, ==, expected);

      command = g_queue_pop_head (&f->held);
      g_assert_cmpstr (command_tag (command), ==, tag);
      ret = json (text);
      qmp_test_server_command_reply (command, ret);
    }

  for (guint i = 0; i < N_QUEUED; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;
      g_autofree char *text = g_strdup_printf ("{\"q\": %u}", i);

      while (calls[i].result == NULL)
        g_main_context_iteration (NULL, TRUE);
      ret = qmp_connection_execute_finish (f->conn, calls[i].result, &error);
      g_assert_no_error (error);
      assert_json (ret, text);
      g_object_unref (calls[i].result);
    }
  for (guint i = 0; i < N_QUEUED; i++)
    g_assert_cmpuint (g_array_index (order, guint, i), ==, i);
}

/* Exec-oob goes around 8 unanswered in-band commands and the queue
 * behind them. */
static void
test_queue_oob_bypass (Fixture       *f,
                       gconstpointer  data)
{
  GAsyncResult *results[MAX_IN_FLIGHT + 1] = { NULL, };
  g_autoptr(GAsyncResult) oob_result = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  QmpTestServerCommand *oob_command;

  g_assert_true (qmp_connection_get_oob_enabled (f->conn));
  qmp_test_server_set_reply (f->server, "x-oob", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    qmp_connection_execute_async (f->conn, "slow", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                  store_result, &results[i]);
  while (f->held.length < MAX_IN_FLIGHT)
    g_main_context_iteration (NULL, TRUE);

  qmp_connection_execute_async (f->conn, "x-oob", NULL, QMP_EXECUTE_FLAGS_OOB, NULL,
                                store_result, &oob_result);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&oob_result), &error);
  g_assert_no_error (error);
  /* It went as exec-oob, and the ninth in-band one did not go before it */
  commands = qmp_test_server_get_commands (f->server);
  oob_command = commands->pdata[commands->len - 1];
  g_assert_cmpstr (qmp_test_server_command_get_name (oob_command), ==, "x-oob");
  g_assert_true (qmp_test_server_command_get_oob (oob_command));
  g_assert_cmpuint (n_received (f, "slow"), ==, MAX_IN_FLIGHT);
  for (guint i = 0; i + 1 < commands->len; i++)
    g_assert_false (qmp_test_server_command_get_oob (commands->pdata[i]));
  iterate_pending ();
  g_assert_cmpuint (f->held.length, ==, MAX_IN_FLIGHT);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    g_assert_null (results[i]);

  /* Then the in-band ones, the ninth after a slot freed */
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(QmpTestServerCommand) command = wait_held (f, "slow");
      g_autoptr(JsonNode) slow_ret = NULL;

      qmp_test_server_command_reply (command, NULL);
      slow_ret = qmp_connection_execute_finish (f->conn, wait_result (&results[i]), &error);
      g_assert_no_error (error);
      g_object_unref (results[i]);
    }
}

/* QEMU 7.2 sends RESUME before its greeting when a client connects while
 * the machine starts: construction goes on. */
static void
test_greeting_after_event (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_raw_greeting (server,
    "{\"timestamp\": {\"seconds\": 1795618319, \"microseconds\": 436019}, \"event\": \"RESUME\"}\r\n"
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
    "\"capabilities\": [\"oob\"]}}");
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_connection_get_version_micro (conn), ==, 22);
}

/* Construction waiting for a greeting that does not come can be
 * cancelled. */
static void
test_construct_cancel (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_writing (server, FALSE);
  stream = qmp_test_server_new_stream (server, &error);
  g_assert_no_error (error);
  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_NONE, cancellable, store_result, &result);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (result);

  g_cancellable_cancel (cancellable);
  conn = qmp_connection_new_finish (wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (conn);
}

/* The "timeout" property bounds the wait for the greeting. */
static void
test_construct_timeout (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GObject) source = NULL;
  g_autoptr(GObject) conn = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_writing (server, FALSE);
  stream = qmp_test_server_new_stream (server, &error);
  g_assert_no_error (error);
  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, NULL, store_result, &result,
                              "stream", stream,
                              "timeout", 200,
                              NULL);
  source = g_async_result_get_source_object (wait_result (&result));
  conn = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (conn);
}

/* The "timeout" property bounds a call; its late reply is dropped. */
static void
test_timeout_per_call (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(QmpTestServerCommand) command_a = NULL;
  g_autoptr(QmpTestServerCommand) command_b = NULL;
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(JsonNode) from_a = json ("{\"from\": \"a\"}");
  g_autoptr(JsonNode) from_b = json ("{\"from\": \"b\"}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  qmp_connection_set_timeout (f->conn, 200);
  g_assert_cmpuint (qmp_connection_get_timeout (f->conn), ==, 200);

  start = g_get_monotonic_time ();
  qmp_connection_execute_async (f->conn, "query-a", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result_a);
  command_a = wait_held (f, "query-a");
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result_a), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  /* Not before its time (a lower bound only: a loaded machine is late) */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 150 * G_TIME_SPAN_MILLISECOND);

  qmp_connection_set_timeout (f->conn, 0);
  qmp_test_server_command_reply (command_a, from_a);

  qmp_connection_execute_async (f->conn, "query-b", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result_b);
  command_b = wait_held (f, "query-b");
  qmp_test_server_command_reply (command_b, from_b);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result_b), &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"from\": \"b\"}");
  g_assert_false (qmp_connection_is_closed (f->conn));
}

/* A command cancelled before it was written is never sent. */
static void
test_cancel_before_write (Fixture       *f,
                          gconstpointer  data)
{
  GAsyncResult *results[MAX_IN_FLIGHT] = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) ninth = NULL;
  g_autoptr(GAsyncResult) tenth = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < MAX_IN_FLIGHT; i++)
    qmp_connection_execute_async (f->conn, "slow", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                  store_result, &results[i]);
  while (f->held.length < MAX_IN_FLIGHT)
    g_main_context_iteration (NULL, TRUE);

  qmp_connection_execute_async (f->conn, "ninth", NULL, QMP_EXECUTE_FLAGS_NONE, cancellable,
                                store_result, &ninth);
  qmp_connection_execute_async (f->conn, "tenth", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &tenth);
  oob_probe (f);
  g_assert_cmpuint (n_received (f, "ninth"), ==, 0);
  g_cancellable_cancel (cancellable);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&ninth), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  for (guint i = 0; i < MAX_IN_FLIGHT; i++)
    g_assert_null (results[i]);
  g_assert_null (tenth);

  for (guint i = 0; i < MAX_IN_FLIGHT; i++)
    {
      g_autoptr(QmpTestServerCommand) slow = g_queue_pop_head (&f->held);

      qmp_test_server_command_reply (slow, NULL);
    }

  /* The tenth comes next: never the ninth (its id may be one of the
   * answered eight's: ids are reused) */
  command = wait_held (f, "tenth");
  g_assert_cmpuint (n_received (f, "ninth"), ==, 0);
  g_assert_cmpint (json_node_get_int (qmp_test_server_command_get_id (command)), >, 0);
  qmp_test_server_command_reply (command, NULL);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&tenth), &error);
  g_assert_no_error (error);

  commands = qmp_test_server_get_commands (f->server);
  for (guint i = 0; i < commands->len; i++)
    g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[i]), !=, "ninth");
  for (guint i = 0; i < MAX_IN_FLIGHT; i++)
    {
      g_autoptr(JsonNode) slow_ret = qmp_connection_execute_finish (f->conn, wait_result (&results[i]), &error);

      g_assert_no_error (error);
      g_assert_nonnull (slow_ret);
      g_object_unref (results[i]);
    }
}

/* A command cancelled after it was written fails at once; its late
 * reply, which comes while the next command waits for its own, is dropped
 * and harms no one. */
static void
test_cancel_after_write (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(QmpTestServerCommand) command_a = NULL;
  g_autoptr(QmpTestServerCommand) command_b = NULL;
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(JsonNode) from_a = json ("{\"from\": \"a\"}");
  g_autoptr(JsonNode) from_b = json ("{\"from\": \"b\"}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (f->conn, "query-a", NULL, QMP_EXECUTE_FLAGS_NONE, cancellable,
                                store_result, &result_a);
  command_a = wait_held (f, "query-a");
  g_cancellable_cancel (cancellable);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result_a), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  qmp_connection_execute_async (f->conn, "query-b", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result_b);
  command_b = wait_held (f, "query-b");
  qmp_test_server_command_reply (command_a, from_a);
  qmp_test_server_command_reply (command_b, from_b);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result_b), &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"from\": \"b\"}");

  round_trip (f);
  g_assert_false (qmp_connection_is_closed (f->conn));
}

/* An event that came before the call never matches it: not for
 * wait_event (@data FALSE), not for execute_until_event (@data TRUE). */
static void
test_events_not_before_call (Fixture       *f,
                             gconstpointer  data)
{
  gboolean until_event = GPOINTER_TO_INT (data);
  g_autoptr(JsonNode) one = json ("{\"n\": 1}");
  g_autoptr(JsonNode) two = json ("{\"n\": 2}");
  g_autoptr(JsonNode) done = json ("{\"done\": 1}");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_emit_event (f->server, "X", json_node_get_object (one), NULL);
  round_trip (f);   /* the event is in */

  if (until_event)
    {
      g_autoptr(JsonObject) arguments = tag_arguments ("x");
      g_autoptr(QmpTestServerCommand) command = NULL;

      qmp_connection_execute_until_event_async (f->conn, "do-x", arguments, "X", NULL, NULL,
                                                store_result, &result);
      command = wait_held (f, "do-x");
      g_assert_cmpstr (command_tag (command), ==, "x");
      qmp_test_server_command_reply (command, done);
      round_trip (f);   /* the return is in */
    }
  else
    {
      qmp_connection_wait_event_async (f->conn, "X", NULL, NULL, store_result, &result);
    }

  assert_pending (&result);
  qmp_test_server_emit_event (f->server, "X", json_node_get_object (two), NULL);
  if (until_event)
    {
      event = qmp_connection_execute_until_event_finish (f->conn, wait_result (&result), &ret, &error);
      g_assert_no_error (error);
      assert_json (ret, "{\"done\": 1}");
    }
  else
    {
      event = qmp_connection_wait_event_finish (f->conn, wait_result (&result), &error);
      g_assert_no_error (error);
    }
  assert_event (event, "X", "{\"n\": 2}");
}

/* A command waiting for its event does not hold back the ones behind
 * it. */
static void
test_until_event_not_blocking (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(JsonObject) arguments_a = tag_arguments ("a");
  g_autoptr(JsonObject) arguments_b = tag_arguments ("b");
  g_autoptr(JsonNode) a1 = json ("{\"a\": 1}");
  g_autoptr(JsonNode) b2 = json ("{\"b\": 2}");
  g_autoptr(JsonNode) guest = json ("{\"guest\": true}");
  g_autoptr(QmpTestServerCommand) command_a = NULL;
  g_autoptr(QmpTestServerCommand) command_b = NULL;
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_until_event_async (f->conn, "system_powerdown", arguments_a, "SHUTDOWN",
                                            NULL, NULL, store_result, &result_a);
  command_a = wait_held (f, "system_powerdown");
  g_assert_cmpstr (command_tag (command_a), ==, "a");
  qmp_test_server_command_reply (command_a, a1);

  qmp_connection_execute_async (f->conn, "query-b", arguments_b, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result_b);
  command_b = wait_held (f, "query-b");
  g_assert_cmpstr (command_tag (command_b), ==, "b");
  qmp_test_server_command_reply (command_b, b2);
  ret = qmp_connection_execute_finish (f->conn, wait_result (&result_b), &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"b\": 2}");
  g_clear_pointer (&ret, json_node_unref);
  assert_pending (&result_a);

  qmp_test_server_emit_event (f->server, "SHUTDOWN", json_node_get_object (guest), NULL);
  event = qmp_connection_execute_until_event_finish (f->conn, wait_result (&result_a), &ret, &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"a\": 1}");
  assert_event (event, "SHUTDOWN", "{\"guest\": true}");
}

/* Exec-oob where oob was not negotiated, because the server did not
 * offer it (@data FALSE) or the client did not ask for it (@data TRUE),
 * fails without a byte sent. */
static void
test_oob_not_negotiated (gconstpointer data)
{
  gboolean offered = GPOINTER_TO_INT (data);
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  if (!offered)
    qmp_test_server_set_capabilities (server, NULL);
  qmp_test_server_set_reply (server, "ping", NULL);
  conn = qmp_test_server_new_connection_sync (server,
                                              offered ? QMP_CONNECTION_FLAGS_NONE : QMP_CONNECTION_FLAGS_OOB,
                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_false (qmp_connection_get_oob_enabled (conn));

  ret = qmp_connection_execute_sync (conn, "x-oob-test", NULL, QMP_EXECUTE_FLAGS_OOB, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* Nothing went out between the negotiation (which asked for nothing)
   * and the next command */
  ret = qmp_connection_execute_sync (conn, "ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 2);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[0]), ==, "qmp_capabilities");
  g_assert_null (qmp_test_server_command_get_arguments (commands->pdata[0]));
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[1]), ==, "ping");
  g_assert_false (qmp_connection_is_closed (conn));
}

/* The debug lines of the library, its server's included: the handler may
 * be running on the I/O thread while the test removes it, so what it
 * writes to stays until the program ends, and lines is %NULL while no
 * test captures. */
static GMutex log_lock;
static GPtrArray *log_lines;

static void
log_capture (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
  g_mutex_lock (&log_lock);
  if (log_lines != NULL)
    g_ptr_array_add (log_lines, g_strdup (message));
  g_mutex_unlock (&log_lock);
}

/* Runs @name with @arguments_text; the server answers with a secret. */
static void
run_secret_command (QmpConnection *conn,
                    const char    *name,
                    const char    *arguments_text)
{
  g_autoptr(JsonNode) arguments = json (arguments_text);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = qmp_connection_execute_sync (conn, name, json_node_get_object (arguments),
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  /* Only the log is redacted */
  assert_json (ret, "{\"passphrase\": \"hunter2\"}");
}

/* Secrets never reach the debug log, the client's or the server's. */
static void
test_log_redacted (void)
{
  g_autofree char *old_debug = g_strdup (g_getenv ("G_MESSAGES_DEBUG"));
  g_autoptr(JsonNode) secret = json ("{\"passphrase\": \"hunter2\"}");
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GError) error = NULL;
  gboolean saw_object_add = FALSE, saw_vnc = FALSE;
  guint n_redacted = 0;
  guint handler;

  g_mutex_lock (&log_lock);
  log_lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&log_lock);
  g_setenv ("G_MESSAGES_DEBUG", "Qmp", TRUE);
  handler = g_log_set_handler ("Qmp", G_LOG_LEVEL_DEBUG, log_capture, NULL);

  qmp_test_server_set_reply (server, "object-add", secret);
  qmp_test_server_set_reply (server, "change-vnc-password", secret);
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  run_secret_command (conn, "object-add",
                      "{\"qom-type\": \"secret\", \"id\": \"s0\", \"data\": \"hunter2\"}");
  run_secret_command (conn, "change-vnc-password", "{\"password\": \"hunter2\"}");
  /* Stop talking before the handler goes */
  g_assert_true (qmp_connection_close_sync (conn, NULL, &error));
  g_assert_no_error (error);

  g_log_remove_handler ("Qmp", handler);
  if (old_debug != NULL)
    g_setenv ("G_MESSAGES_DEBUG", old_debug, TRUE);
  else
    g_unsetenv ("G_MESSAGES_DEBUG");
  g_mutex_lock (&log_lock);
  lines = g_steal_pointer (&log_lines);
  g_mutex_unlock (&log_lock);

  for (guint i = 0; i < lines->len; i++)
    {
      const char *line = lines->pdata[i];

      g_test_message ("log: %s", line);
      g_assert_null (strstr (line, "hunter2"));
      if (strstr (line, "<redacted>") != NULL)
        n_redacted++;
      if (strstr (line, "object-add") != NULL && strstr (line, "<redacted>") != NULL)
        saw_object_add = TRUE;
      if (strstr (line, "change-vnc-password") != NULL && strstr (line, "<redacted>") != NULL)
        saw_vnc = TRUE;
    }
  g_assert_true (saw_object_add);
  g_assert_true (saw_vnc);
  /* two commands, each logged by the client and the server, two replies */
  g_assert_cmpuint (n_redacted, >=, 6);
}

static guint
count_log_lines_with (const char *needle)
{
  guint n = 0;

  g_mutex_lock (&log_lock);
  for (guint i = 0; i < log_lines->len; i++)
    if (strstr (log_lines->pdata[i], needle) != NULL)
      n++;
  g_mutex_unlock (&log_lock);

  return n;
}

/* Runs @command, whatever the server answers. */
static void
run_any (QmpConnection *conn,
         const char    *command)
{
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = qmp_connection_execute_sync (conn, command, NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_true ((ret != NULL) != (error != NULL));
}

/* A connection reads G_MESSAGES_DEBUG when it is made, and keeps what it
 * read; g_log_set_debug_enabled() turns the log on for every connection
 * at once. */
static void
test_log_when_enabled (void)
{
  g_autofree char *old_debug = g_strdup (g_getenv ("G_MESSAGES_DEBUG"));
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) with_env = NULL;
  g_autoptr(QmpConnection) without = NULL;
  g_autoptr(GError) error = NULL;
  guint handler;

  g_mutex_lock (&log_lock);
  log_lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&log_lock);
  handler = g_log_set_handler ("Qmp", G_LOG_LEVEL_DEBUG, log_capture, NULL);

  /* Each with its server's side, made at the same time */
  g_unsetenv ("G_MESSAGES_DEBUG");
  without = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_setenv ("G_MESSAGES_DEBUG", "Qmp", TRUE);
  with_env = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  g_unsetenv ("G_MESSAGES_DEBUG");
  run_any (with_env, "query-version");
  g_assert_cmpuint (count_log_lines_with ("query-version"), >, 0);

  g_setenv ("G_MESSAGES_DEBUG", "Qmp", TRUE);
  run_any (without, "query-kvm");
  g_assert_cmpuint (count_log_lines_with ("query-kvm"), ==, 0);

  g_unsetenv ("G_MESSAGES_DEBUG");
  g_log_set_debug_enabled (TRUE);
  run_any (without, "query-kvm");
  g_log_set_debug_enabled (FALSE);
  g_assert_cmpuint (count_log_lines_with ("query-kvm"), >, 0);

  g_assert_true (qmp_connection_close_sync (with_env, NULL, NULL));
  g_assert_true (qmp_connection_close_sync (without, NULL, NULL));
  g_log_remove_handler ("Qmp", handler);
  if (old_debug != NULL)
    g_setenv ("G_MESSAGES_DEBUG", old_debug, TRUE);
  g_mutex_lock (&log_lock);
  g_clear_pointer (&log_lines, g_ptr_array_unref);
  g_mutex_unlock (&log_lock);
}

/* After a line that breaks the protocol (@data: the line, and after a
 * newline how the debug log shows it), nothing more is read, also from the
 * same read and with no call waiting: the debug log, which shows each line
 * as it is handled, shows the bad line and not the next. */
static void
test_protocol_violation_idle (Fixture       *f,
                              gconstpointer  data)
{
  g_auto(GStrv) line_and_log = g_strsplit (data, "\n", 2);
  g_autofree char *lines = g_strconcat (line_and_log[0], "\r\n",
                                        "{\"event\": \"AFTER_VIOLATION\", "
                                        "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n",
                                        NULL);
  guint handler;

  g_mutex_lock (&log_lock);
  log_lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&log_lock);
  handler = g_log_set_handler ("Qmp", G_LOG_LEVEL_DEBUG, log_capture, NULL);
  g_log_set_debug_enabled (TRUE);

  /* One write: both lines come in one read */
  qmp_test_server_send_raw (f->server, (const guint8 *) lines, strlen (lines));

  /* The reader has handled its buffer before the close is announced */
  while (f->n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_log_set_debug_enabled (FALSE);
  g_log_remove_handler ("Qmp", handler);

  g_assert_error (f->closed_error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_cmpuint (count_log_lines_with (line_and_log[1]), >, 0);
  g_assert_cmpuint (count_log_lines_with ("AFTER_VIOLATION"), ==, 0);

  g_mutex_lock (&log_lock);
  g_clear_pointer (&log_lines, g_ptr_array_unref);
  g_mutex_unlock (&log_lock);
}

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD ("/mock-server/protocol/not-json", "this is not JSON", test_protocol_violation);
  ADD ("/mock-server/protocol/not-an-object", "[1,2]", test_protocol_violation);
  ADD ("/mock-server/protocol/neither-return-nor-error", "{\"id\": @ID@, \"foo\": 1}",
       test_protocol_violation);
  ADD ("/mock-server/protocol/reply-without-id", "{\"return\": {}}", test_protocol_violation);
  ADD ("/mock-server/protocol/idle/not-json", "this is not JSON\n(not JSON)",
       test_protocol_violation_idle);
  ADD ("/mock-server/protocol/idle/neither-reply-nor-event",
       "{\"violation\": 1}\n\"violation\"", test_protocol_violation_idle);
  ADD ("/mock-server/protocol/unknown-id", NULL, test_protocol_unknown_id);
  ADD ("/mock-server/protocol/error-classes", NULL, test_error_classes);
  ADD ("/mock-server/limits/too-large", NULL, test_limits_too_large);
  ADD ("/mock-server/limits/exact-size", "\r\n", test_limits_exact_size);
  /* The same limit with qemu-ga's "\n" line ends, which the design accepts */
  ADD ("/mock-server/limits/exact-size-lf", "\n", test_limits_exact_size);
  ADD ("/mock-server/close/remote-mid-reply", NULL, test_close_remote_mid_reply);
  ADD ("/mock-server/close/local", NULL, test_close_local);
  ADD ("/mock-server/close/last-unref", NULL, test_close_last_unref);
  g_test_add_data_func ("/mock-server/greeting/missing", "{\"return\": {}}", test_greeting_bad);
  g_test_add_data_func ("/mock-server/greeting/malformed/version-string",
                        "{\"QMP\": {\"version\": \"7.2\"}}", test_greeting_bad);
  g_test_add_data_func ("/mock-server/greeting/malformed/major-string",
                        "{\"QMP\": {\"version\": {\"qemu\": {\"major\": \"x\"}}, \"capabilities\": []}}",
                        test_greeting_bad);
  g_test_add_data_func ("/mock-server/greeting/not-json", "QMP 7.2 ready", test_greeting_bad);
  g_test_add_func ("/mock-server/greeting/ancient", test_greeting_ancient);
  ADD ("/mock-server/events/timestamp-and-detail", NULL, test_events_timestamp_and_detail);
  ADD ("/mock-server/events/handler-added-later", NULL, test_events_handler_added_later);
  ADD ("/mock-server/events/handler-arguments", NULL, test_events_handler_arguments);
  ADD ("/mock-server/until-event/event-first", GINT_TO_POINTER (UNTIL_EVENT_FIRST), test_until_event);
  ADD ("/mock-server/until-event/event-after", GINT_TO_POINTER (UNTIL_EVENT_AFTER), test_until_event);
  ADD ("/mock-server/until-event/error", GINT_TO_POINTER (UNTIL_EVENT_ERROR), test_until_event);
  ADD ("/mock-server/until-event/filter", GINT_TO_POINTER (UNTIL_EVENT_FILTER), test_until_event);
  ADD ("/mock-server/until-event/not-blocking", NULL, test_until_event_not_blocking);
  ADD ("/mock-server/queue/max-in-flight", NULL, test_queue_max_in_flight);
  ADD ("/mock-server/queue/oob-bypass", NULL, test_queue_oob_bypass);
  g_test_add_func ("/mock-server/greeting/after-event", test_greeting_after_event);
  g_test_add_func ("/mock-server/construct/cancel", test_construct_cancel);
  g_test_add_func ("/mock-server/construct/timeout", test_construct_timeout);
  g_test_add_func ("/mock-server/log/redacted", test_log_redacted);
  g_test_add_func ("/mock-server/log/when-enabled", test_log_when_enabled);
  ADD ("/mock-server/timeout/per-call", NULL, test_timeout_per_call);
  ADD ("/mock-server/cancel/before-write", NULL, test_cancel_before_write);
  ADD ("/mock-server/cancel/after-write", NULL, test_cancel_after_write);
  ADD ("/mock-server/events/not-before-call/wait-event", GINT_TO_POINTER (FALSE),
       test_events_not_before_call);
  ADD ("/mock-server/events/not-before-call/until-event", GINT_TO_POINTER (TRUE),
       test_events_not_before_call);
  g_test_add_data_func ("/mock-server/oob/not-negotiated/no-caps", GINT_TO_POINTER (FALSE),
                        test_oob_not_negotiated);
  g_test_add_data_func ("/mock-server/oob/not-negotiated/no-flag", GINT_TO_POINTER (TRUE),
                        test_oob_not_negotiated);

  return g_test_run ();
}
