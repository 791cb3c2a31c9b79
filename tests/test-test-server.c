/* test-test-server.c: QmpTestServer, used as a test suite uses it
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The client is QmpConnection, or raw lines on the client's end of the
 * socket pair where the test must see exactly what the server writes.
 */

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdmessage.h>
#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* ------------------------------------------------------------- helpers */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static JsonObject *
json_object (const char *text)
{
  g_autoptr(JsonNode) node = json (text);

  return json_object_ref (json_node_get_object (node));
}

static QmpTestServerCommand *
next_command (QmpTestServer *server,
              const char    *name)
{
  g_autoptr(GError) error = NULL;
  QmpTestServerCommand *command = qmp_test_server_next_command_sync (server, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, name);
  return command;
}

/* A raw client: lines written and read as they are on the wire. */
typedef struct
{
  GIOStream *stream;
  GDataInputStream *input;
} RawClient;

static RawClient *
raw_client_new (QmpTestServer *server)
{
  g_autoptr(GError) error = NULL;
  RawClient *client = g_new0 (RawClient, 1);

  client->stream = qmp_test_server_new_stream (server, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_SOCKET_CONNECTION (client->stream));
  client->input = g_data_input_stream_new (g_io_stream_get_input_stream (client->stream));
  g_data_input_stream_set_newline_type (client->input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);

  return client;
}

static void
raw_client_free (RawClient *client)
{
  g_object_unref (client->input);
  g_io_stream_close (client->stream, NULL, NULL);
  g_object_unref (client->stream);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawClient, raw_client_free)

static void
raw_send (RawClient  *client,
          const char *line)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (client->stream),
                             line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* The next line, or NULL at the end of the stream */
static char *
raw_read (RawClient *client)
{
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line (client->input, NULL, NULL, &error);

  g_assert_no_error (error);
  return line;
}

static void
raw_expect (RawClient  *client,
            const char *expected)
{
  g_autofree char *line = raw_read (client);

  g_assert_cmpstr (line, ==, expected);
}

static void
raw_negotiate (RawClient  *client,
               const char *request)
{
  g_autofree char *greeting = raw_read (client);

  g_assert_true (g_str_has_prefix (greeting, "{\"QMP\": "));
  raw_send (client, request);
  raw_expect (client, "{\"return\": {}}");
}

/* --------------------------------------------------------------- tests */

static void
test_greeting_default (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RawClient) raw = NULL;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, 7);
  g_assert_cmpuint (qmp_connection_get_version_minor (connection), ==, 2);
  g_assert_cmpuint (qmp_connection_get_version_micro (connection), ==, 0);
  g_assert_cmpstr (qmp_connection_get_package (connection), ==, "qmp-glib test server");
  g_assert_true (g_strv_equal ((const char * const *) qmp_connection_get_capabilities (connection),
                               (const char * const []) { "oob", NULL }));
  g_assert_true (qmp_connection_get_oob_enabled (connection));

  /* QEMU's own greeting, byte for byte but for the values */
  raw = raw_client_new (server);
  raw_expect (raw, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                   "\"package\": \"qmp-glib test server\"}, \"capabilities\": [\"oob\"]}}");
}

static void
test_greeting_old (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RawClient) raw = NULL;

  /* QEMU 2.x: no capabilities, an empty package */
  qmp_test_server_set_version (server, 2, 8, 1);
  qmp_test_server_set_package (server, "");
  qmp_test_server_set_capabilities (server, NULL);

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_check_version (connection, 2, 8, 1));
  g_assert_false (qmp_connection_check_version (connection, 2, 9, 0));
  g_assert_cmpstr (qmp_connection_get_package (connection), ==, "");
  g_assert_cmpuint (g_strv_length ((GStrv) qmp_connection_get_capabilities (connection)), ==, 0);
  g_assert_false (qmp_connection_get_oob_enabled (connection));

  raw = raw_client_new (server);
  raw_expect (raw, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 8, \"major\": 2}, "
                   "\"package\": \"\"}, \"capabilities\": []}}");
  /* oob is refused where it was not offered, and exec-oob is unexpected */
  raw_send (raw, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}, \"id\": 1}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob isn't available\"}, \"id\": 1}");
  raw_send (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  raw_expect (raw, "{\"return\": {}}");
  raw_send (raw, "{\"exec-oob\": \"query-status\", \"id\": 2}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}, \"id\": 2}");
}

static void
test_greeting_raw (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_raw_greeting (server, "{\"QMP\": {\"version\": 7}}");
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_null (connection);
}

/* A guest agent's server: no greeting, no negotiation, "\n" line ends,
 * and qemu-ga's answers to what a client sends while it connects. */
static void
test_guest_agent (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpConnection) qmp = NULL;
  g_autoptr(RawClient) raw = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  /* A client from before stays a QMP one */
  qmp = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  qmp_test_server_set_guest_agent (server, TRUE);
  qmp_test_server_set_version (server, 8, 1, 3);
  qmp_test_server_set_reply (server, "guest-ping", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_GUEST_AGENT, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_check_version (connection, 8, 1, 3));
  ret = qmp_connection_execute_sync (connection, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp_connection_execute_sync (qmp, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  commands = qmp_test_server_get_commands (server);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[0]), ==, "qmp_capabilities");
  g_assert_cmpuint (qmp_test_server_command_get_client (commands->pdata[0]), ==, 1);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[1]), ==, "guest-sync-delimited");
  g_assert_cmpuint (qmp_test_server_command_get_client (commands->pdata[1]), ==, 2);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[commands->len - 3]), ==, "guest-info");
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[commands->len - 2]), ==, "guest-ping");
  g_assert_cmpuint (qmp_test_server_command_get_client (commands->pdata[commands->len - 2]), ==, 2);
  g_assert_cmpuint (qmp_test_server_command_get_client (commands->pdata[commands->len - 1]), ==, 1);

  /* On the wire: nothing until asked, the delimiter, "\n" alone */
  raw = raw_client_new (server);
  g_data_input_stream_set_newline_type (raw->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
  raw_send (raw, "{\"execute\": \"guest-sync-delimited\", \"arguments\": {\"id\": 42}, \"id\": 1}\n");
  raw_expect (raw, "\xff{\"return\": 42, \"id\": 1}");
  raw_send (raw, "{\"execute\": \"guest-sync\", \"arguments\": {\"id\": -7}}\n");
  raw_expect (raw, "{\"return\": -7}");
  raw_send (raw, "{\"execute\": \"guest-info\"}\n");
  raw_expect (raw, "{\"return\": {\"version\": \"8.1.3\", \"supported_commands\": []}}");
  raw_send (raw, "{\"execute\": \"qmp_capabilities\", \"id\": 2}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", "
                   "\"desc\": \"The command qmp_capabilities has not been found\"}, \"id\": 2}");
  raw_send (raw, "{\"execute\": \"guest-sync\"}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'id' is missing\"}}");
  raw_send (raw, "{\"exec-oob\": \"guest-ping\"}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}}");
}

static void
test_negotiation (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autofree char *greeting = raw_read (raw);
  g_autoptr(GPtrArray) commands = NULL;

  g_assert_true (g_str_has_prefix (greeting, "{\"QMP\": "));

  /* No events before negotiation, as QEMU */
  qmp_test_server_emit_event (server, "EARLY", NULL, NULL);

  /* Before negotiation, as QEMU: the id comes back as it was sent, byte
   * for byte */
  raw_send (raw, "{\"execute\": \"query-status\", \"id\": {\"a\":  [1, \"x\"]}}\r\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                   "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}, \"id\": {\"a\":  [1, \"x\"]}}");
  raw_send (raw, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}, \"id\": \"neg\"}\n");
  raw_expect (raw, "{\"return\": {}, \"id\": \"neg\"}");
  raw_send (raw, "{\"execute\": \"qmp_capabilities\", \"id\": 3}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                   "\"Capabilities negotiation is already complete, command ignored\"}, \"id\": 3}");

  /* Malformed input, as QEMU's qmp_dispatch() checks it */
  raw_send (raw, "{\"execute\": \n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}");
  raw_send (raw, "[1]\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}");
  raw_send (raw, "{\"id\": 4}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member 'execute'\"}, \"id\": 4}");
  raw_send (raw, "{\"execute\": 1, \"id\": 5}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}, \"id\": 5}");
  raw_send (raw, "{\"execute\": \"stop\", \"arguments\": [], \"id\": 6}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}, \"id\": 6}");
  raw_send (raw, "{\"execute\": \"stop\", \"colour\": 1}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'colour' is unexpected\"}}");
  raw_send (raw, "{\"execute\": \"stop\", \"exec-oob\": \"stop\"}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must not contain both 'execute' and 'exec-oob'\"}}");

  /* A command nobody answers: QEMU's CommandNotFound */
  raw_send (raw, "{\"exec-oob\": \"frobnicate\", \"id\": 7}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command frobnicate has not been found\"}, \"id\": 7}");

  /* Everything well-formed was recorded, answered or not */
  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 4);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[0]), ==, "query-status");
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[1]), ==, "qmp_capabilities");
  g_assert_cmpstr (json_node_get_string (qmp_test_server_command_get_id (commands->pdata[1])), ==, "neg");
  g_assert_false (qmp_test_server_command_get_oob (commands->pdata[2]));
  g_assert_true (qmp_test_server_command_get_oob (commands->pdata[3]));
  for (guint i = 0; i < commands->len; i++)
    {
      g_assert_true (qmp_test_server_command_is_answered (commands->pdata[i]));
      g_assert_cmpuint (qmp_test_server_command_get_client (commands->pdata[i]), ==, 1);
    }
}

/* What a hostile client sends costs the server nothing it cannot bear. */
static void
test_hostile_client (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autoptr(GString) deep = g_string_new (NULL);
  static const char with_nul[] = "{\"execute\": \"a\0b\"}\n";

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  /* Nesting deeper than the parser goes: an error, no stack overflow */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_string_append_c (deep, '\n');
  raw_send (raw, deep->str);
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}");

  /* A NUL byte and bytes that are not UTF-8 */
  g_output_stream_write_all (g_io_stream_get_output_stream (raw->stream),
                             with_nul, sizeof with_nul - 1, NULL, NULL, NULL);
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}");
  raw_send (raw, "{\"execute\": \"\xff\xfe\"}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}");

  /* Blank lines are skipped, as QEMU's stream parser skips white space */
  raw_send (raw, "\r\n  \n{\"execute\": \"x\", \"id\": null}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command x has not been found\"}, \"id\": null}");
}

/* A client that sends and never reads: the server stops reading it once
 * its unread answers pass a bound (a line of two bytes gets an answer of
 * 80), so the client's writes block instead of the server's memory
 * growing; once the client reads, every line gets its answer. */
static void
test_unread_answers (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (raw->stream));
  g_autoptr(GString) lines = g_string_new (NULL);
  guint64 sent = 0;
  guint64 answered = 0;

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  /* A small socket buffer: fewer lines wait in it (under valgrind too) */
  g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, 4096, NULL);

  for (guint i = 0; i < 4096; i++)
    g_string_append (lines, "x\n");
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send_with_blocking (socket, lines->str, lines->len, FALSE, NULL, &error);

      if (n < 0)
        {
          int unread_before = qmp_test_socket_unread_bytes (socket);

          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          /* Blocked, and staying so: the server stopped reading.  One that
           * goes on takes some of what waits meanwhile, a read at a time. */
          g_usleep (250 * G_TIME_SPAN_MILLISECOND);
          if (qmp_test_socket_unread_bytes (socket) == unread_before)
            break;
          continue;
        }
      /* Whole lines only, so that they can be counted */
      g_assert_cmpint (n % 2, ==, 0);
      sent += n / 2;
      /* 64 MB of answers without the bound */
      g_assert_cmpuint (sent, <, 800 * 1000);
    }
  /* (Not a lower bound: on a slow machine, under valgrind, a server that
   * handles a read for longer than the wait looks stopped.) */
  g_assert_cmpuint (sent, >, 0);

  while (answered < sent)
    {
      g_autofree char *line = raw_read (raw);

      g_assert_cmpstr (line, ==, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}");
      answered++;
    }

  /* And the client is read as before */
  raw_send (raw, "{\"execute\": \"x\", \"id\": 1}\n");
  raw_expect (raw, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command x has not been found\"}, \"id\": 1}");
}

/* Events are not held back by reading less: a client that leaves 16 MB
 * of them unread is closed, and the server holds no more for it. */
static void
test_unread_events (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autoptr(JsonObject) data = json_object_new ();
  g_autofree char *pad = g_strnfill (64 * 1024, 'p');
  g_autofree char *line = NULL;
  guint n_events = 0;

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  json_object_set_string_member (data, "pad", pad);

  /* 32 MB of events, while the client reads none */
  for (guint i = 0; i < 512 && qmp_test_server_get_n_clients (server) > 0; i++)
    qmp_test_server_emit_event (server, "PAD", data, NULL);
  while (qmp_test_server_get_n_clients (server) > 0)
    g_main_context_iteration (NULL, TRUE);

  /* What was written before the close, then the end */
  while ((line = raw_read (raw)) != NULL)
    {
      g_assert_true (g_str_has_prefix (line, "{\"timestamp\": "));
      g_clear_pointer (&line, g_free);
      n_events++;
    }
  g_assert_cmpuint (n_events, <, 16 * 1024 / 64 + 1);
}

static void
test_canned (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) status = json ("{\"status\": \"paused\", \"running\": false}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_reply (server, "query-status", status);
  qmp_test_server_set_reply (server, "stop", NULL);
  qmp_test_server_set_error (server, "device_del", "DeviceNotFound", "Device 'nope' not found");

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (ret, status));
  g_clear_pointer (&ret, json_node_unref);

  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (ret)), ==, 0);
  g_clear_pointer (&ret, json_node_unref);

  ret = qmp_connection_execute_sync (connection, "device_del", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "Device 'nope' not found");
  g_assert_null (ret);
  g_clear_error (&error);

  ret = qmp_connection_execute_sync (connection, "cont", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);

  /* Removed: back to CommandNotFound */
  qmp_test_server_unset_reply (server, "stop");
  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
}

typedef struct
{
  GThread *thread;             /* where the handler must run */
  GPtrArray *held;             /* commands kept to answer later */
  guint n_calls;
} HandlerData;

static gboolean
on_command (QmpTestServer        *server,
            QmpTestServerCommand *command,
            gpointer              user_data)
{
  HandlerData *data = user_data;
  const char *name = qmp_test_server_command_get_name (command);

  g_assert_true (g_thread_self () == data->thread);
  data->n_calls++;

  if (g_str_equal (name, "echo"))
    {
      JsonObject *arguments = qmp_test_server_command_get_arguments (command);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), arguments);

      qmp_test_server_command_reply (command, node);
      return TRUE;
    }
  if (g_str_equal (name, "fail"))
    {
      qmp_test_server_command_reply_error (command, "GenericError", "It failed");
      return TRUE;
    }
  if (g_str_equal (name, "later") || g_str_equal (name, "never"))
    {
      g_ptr_array_add (data->held, g_object_ref (command));
      return TRUE;
    }

  return FALSE;
}

static void
on_event_record (QmpConnection *connection,
                 QmpEvent      *event,
                 gpointer       user_data)
{
  g_ptr_array_add (user_data, qmp_event_ref (event));
}

static void
test_handler (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_event_unref);
  g_autoptr(JsonObject) arguments = json_object ("{\"a\": [1, 2], \"b\": \"c\"}");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) never_result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  HandlerData data = { g_thread_self (), g_ptr_array_new_with_free_func (g_object_unref), 0 };

  g_signal_connect (server, "command", G_CALLBACK (on_command), &data);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "event", G_CALLBACK (on_event_record), events);

  /* Answered at once, in the handler */
  qmp_connection_execute_async (connection, "echo", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (json_object_equal (json_node_get_object (ret), arguments));
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&result);

  qmp_connection_execute_async (connection, "fail", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "It failed");
  g_clear_error (&error);
  g_clear_object (&result);

  /* Declined by the handler: CommandNotFound */
  qmp_connection_execute_async (connection, "nope", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Answered later, after an event */
  qmp_connection_execute_async (connection, "later", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  while (data.held->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (result);
  qmp_test_server_emit_event (server, "LATER", NULL, NULL);
  qmp_test_server_command_reply (data.held->pdata[0], NULL);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_cmpstr (qmp_event_get_name (events->pdata[0]), ==, "LATER");
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&result);

  /* Never answered: the client gives up by itself */
  qmp_connection_execute_async (connection, "never", NULL, QMP_EXECUTE_FLAGS_NONE, cancellable,
                                store_result, &never_result);
  while (data.held->len == 1)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  ret = qmp_connection_execute_finish (connection, wait_result (&never_result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (qmp_test_server_command_is_answered (data.held->pdata[1]));
  g_assert_cmpuint (data.n_calls, ==, 5);
  g_signal_handlers_disconnect_by_data (connection, events);

  g_ptr_array_unref (data.held);
}

static void
test_answered_twice (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_reply (server, "stop", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  g_clear_object (&command);
  command = next_command (server, "qmp_capabilities");
  g_clear_object (&command);
  command = next_command (server, "stop");
  g_assert_true (qmp_test_server_command_is_answered (command));
  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL, "*answered already*");
  qmp_test_server_command_reply (command, NULL);
  g_test_assert_expected_messages ();
}

static void
test_events (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1700000000);
  g_autoptr(GDateTime) chosen = g_date_time_add (when, 123456);
  g_autoptr(JsonObject) data = json_object ("{\"guest\": true, \"reason\": \"guest-shutdown\"}");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 before, after, at;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* With a chosen timestamp, to the microsecond */
  qmp_connection_wait_event_async (connection, "SHUTDOWN", NULL, NULL, store_result, &result);
  qmp_test_server_emit_event (server, "SHUTDOWN", data, chosen);
  event = qmp_connection_wait_event_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (json_object_equal (qmp_event_get_data (event), data));
  g_assert_true (g_date_time_equal (qmp_event_get_timestamp (event), chosen));
  g_assert_cmpint (g_date_time_get_microsecond (qmp_event_get_timestamp (event)), ==, 123456);
  g_clear_pointer (&event, qmp_event_unref);
  g_clear_object (&result);

  /* Now, without data */
  qmp_connection_wait_event_async (connection, "RESUME", NULL, NULL, store_result, &result);
  before = g_get_real_time ();
  qmp_test_server_emit_event (server, "RESUME", NULL, NULL);
  after = g_get_real_time ();
  event = qmp_connection_wait_event_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_null (qmp_event_get_data (event));
  at = g_date_time_to_unix (qmp_event_get_timestamp (event)) * G_USEC_PER_SEC +
       g_date_time_get_microsecond (qmp_event_get_timestamp (event));
  g_assert_cmpint (at, >=, before);
  g_assert_cmpint (at, <=, after);
}

typedef struct
{
  GPtrArray *order;
} OrderData;

static void
on_event_order (QmpConnection *connection,
                QmpEvent      *event,
                gpointer       user_data)
{
  g_ptr_array_add (user_data, g_strdup (qmp_event_get_name (event)));
}

static void
on_stop_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GPtrArray *order = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
  g_ptr_array_add (order, g_strdup ("return"));
}

static void
test_event_before_reply (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) data = json_object ("{\"device\": \"disk0\"}");
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_reply (server, "stop", NULL);
  qmp_test_server_add_event_before_reply (server, "stop", "STOP", NULL);
  qmp_test_server_add_event_before_reply (server, "device_del", "DEVICE_DELETED", data);
  qmp_test_server_set_reply (server, "device_del", NULL);

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "event", G_CALLBACK (on_event_order), order);

  /* The event's signal comes before the return's callback */
  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                on_stop_done, order);
  while (order->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (order->pdata[0], ==, "STOP");
  g_assert_cmpstr (order->pdata[1], ==, "return");

  /* The race device_del has with its event, which the library handles */
  event = qmp_connection_execute_until_event_sync (connection, "device_del", NULL, "DEVICE_DELETED",
                                                   data, &ret, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_equal (qmp_event_get_data (event), data));
  g_signal_handlers_disconnect_by_data (connection, order);
}

static void
test_received (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonObject) arguments = json_object ("{\"node-name\": \"disk0\", \"size\": 1048576}");
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) next_result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id;

  qmp_test_server_set_reply (server, "block_resize", NULL);
  qmp_test_server_set_reply (server, "x-oob-test", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);

  command = next_command (server, "qmp_capabilities");
  g_assert_true (json_array_get_length (json_object_get_array_member (
                   qmp_test_server_command_get_arguments (command), "enable")) == 1);
  g_clear_object (&command);

  ret = qmp_connection_execute_sync (connection, "block_resize", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  command = next_command (server, "block_resize");
  g_assert_true (json_object_equal (qmp_test_server_command_get_arguments (command), arguments));
  g_assert_true (JSON_NODE_HOLDS_VALUE (qmp_test_server_command_get_id (command)));
  id = json_node_get_int (qmp_test_server_command_get_id (command));
  g_assert_false (qmp_test_server_command_get_oob (command));
  g_assert_null (qmp_test_server_command_get_fds (command));
  g_assert_cmpuint (qmp_test_server_command_get_client (command), ==, 1);
  g_clear_object (&command);

  /* exec-oob, waited for without blocking */
  qmp_test_server_next_command_async (server, NULL, store_result, &next_result);
  qmp_connection_execute_async (connection, "x-oob-test", NULL, QMP_EXECUTE_FLAGS_OOB, NULL,
                                store_result, &result);
  command = qmp_test_server_next_command_finish (server, wait_result (&next_result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "x-oob-test");
  g_assert_true (qmp_test_server_command_get_oob (command));
  /* The block_resize is answered: its id may be given again. */
  g_assert_true (JSON_NODE_HOLDS_VALUE (qmp_test_server_command_get_id (command)));
  g_assert_cmpint (json_node_get_int (qmp_test_server_command_get_id (command)), >, 0);
  g_assert_cmpint (id, >, 0);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);

  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 3);
}

static void
test_next_command_cancelled (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_next_command_async (server, cancellable, store_result, &result);
  g_cancellable_cancel (cancellable);
  command = qmp_test_server_next_command_finish (server, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (command);
}

static guint
n_threads (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

/* Waiting calls hold no thread (GIO's shared pool has a few, which every
 * GTask of the process needs), and each gets its own command, in order;
 * a cancelled one gets none, and the command is the next one's. */
static void
test_next_command_many (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpTestServerCommand) negotiation = NULL;
  GAsyncResult *results[21] = { NULL, };
  guint threads_before;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  qmp_test_server_set_reply (server, "x-ping", NULL);
  negotiation = qmp_test_server_next_command_sync (server, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_test_server_command_get_name (negotiation), ==, "qmp_capabilities");

  threads_before = n_threads ();
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    qmp_test_server_next_command_async (server, i == 3 ? cancellable : NULL, store_result, &results[i]);
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  /* (GLib may start the pool's spawner thread for the first GTask) */
  g_assert_cmpuint (n_threads (), <=, threads_before + 2);
  g_cancellable_cancel (cancellable);

  for (guint i = 0; i < G_N_ELEMENTS (results) - 1; i++)
    {
      g_autoptr(JsonObject) arguments = json_object_new ();
      g_autoptr(JsonNode) ret = NULL;

      json_object_set_int_member (arguments, "i", i);
      ret = qmp_connection_execute_sync (connection, "x-ping", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (ret);
    }
  for (guint i = 0, n = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(GAsyncResult) result = wait_result (&results[i]);
      g_autoptr(QmpTestServerCommand) command = qmp_test_server_next_command_finish (server, result, &error);

      if (i == 3)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_clear_error (&error);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "x-ping");
      g_assert_cmpint (json_object_get_int_member (qmp_test_server_command_get_arguments (command), "i"),
                       ==, n++);
    }
}

static void
test_descriptors (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GSocketControlMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const char *line = "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"fd0\"}, \"id\": 1}\n";
  GOutputVector vector = { line, strlen (line) };
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (raw->stream));
  GUnixFDList *fds;
  char buffer[8] = "";
  int pipe_fds[2];
  int fd;

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  qmp_test_server_set_reply (server, "getfd", NULL);

  /* A pipe's write end, sent with the command's bytes (SCM_RIGHTS) */
  g_assert_no_errno (pipe (pipe_fds));
  message = g_unix_fd_message_new ();
  g_assert_true (g_unix_fd_message_append_fd (G_UNIX_FD_MESSAGE (message), pipe_fds[1], &error));
  g_assert_no_error (error);
  close (pipe_fds[1]);
  g_assert_cmpint (g_socket_send_message (socket, NULL, &vector, 1, &message, 1, 0, NULL, &error),
                   ==, (gssize) vector.size);
  g_assert_no_error (error);
  raw_expect (raw, "{\"return\": {}, \"id\": 1}");

  g_clear_object (&command);
  command = next_command (server, "qmp_capabilities");
  g_clear_object (&command);
  command = next_command (server, "getfd");
  fds = qmp_test_server_command_get_fds (command);
  g_assert_nonnull (fds);
  g_assert_cmpint (g_unix_fd_list_get_length (fds), ==, 1);

  /* The descriptor the server got is the pipe the client sent */
  fd = g_unix_fd_list_get (fds, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "fd!", 3), ==, 3);
  close (fd);
  g_clear_object (&command);   /* the last copy of the write end */
  g_assert_cmpint (read (pipe_fds[0], buffer, sizeof buffer), ==, 3);
  g_assert_cmpstr (buffer, ==, "fd!");
  close (pipe_fds[0]);
}

/* Descriptors go with their command when the server reads it together
 * with the tail of the command before (a long line, pipelined: the read
 * that brings them begins inside it), and not with the one after, which
 * waited with it behind the long line (written in one go, the kernel
 * would make one segment of both).  The client is the library's, whose
 * commands are written while the server does not read. */
static void
test_descriptors_pipelined (void)
{
  static const char * const names[] = { "before", "getfd", "after" };
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) long_arguments = json_object_new ();
  g_autoptr(JsonObject) getfd_arguments = json_object_new ();
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *pad = g_strnfill (1024 * 1024, 'a');   /* more than the socket holds */
  GAsyncResult *results[3] = { NULL, };
  g_autoptr(GPtrArray) commands = NULL;

  qmp_test_server_set_reply (server, "before", NULL);
  qmp_test_server_set_reply (server, "getfd", NULL);
  qmp_test_server_set_reply (server, "after", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  json_object_set_string_member (long_arguments, "pad", pad);
  json_object_set_string_member (getfd_arguments, "fdname", "fd0");
  g_assert_cmpint (g_unix_fd_list_append (fds, STDERR_FILENO, &error), ==, 0);
  g_assert_no_error (error);

  qmp_test_server_set_reading (server, FALSE);
  qmp_connection_execute_async (connection, "before", long_arguments, QMP_EXECUTE_FLAGS_NONE,
                                NULL, qmp_test_store_result, &results[0]);
  qmp_connection_execute_with_fds_async (connection, "getfd", getfd_arguments, fds,
                                         QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &results[1]);
  qmp_connection_execute_async (connection, "after", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, qmp_test_store_result, &results[2]);
  /* All written, none read */
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  qmp_test_server_set_reading (server, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(GAsyncResult) result = qmp_test_wait_result (&results[i]);
      g_autoptr(JsonNode) ret = qmp_connection_execute_finish (connection, result, &error);

      g_assert_no_error (error);
      g_assert_nonnull (ret);
    }

  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      QmpTestServerCommand *command = commands->pdata[i + 1];
      GUnixFDList *got = qmp_test_server_command_get_fds (command);

      g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, names[i]);
      if (g_str_equal (names[i], "getfd"))
        {
          g_assert_nonnull (got);
          g_assert_cmpint (g_unix_fd_list_get_length (got), ==, 1);
        }
      else
        {
          g_assert_null (got);
        }
    }
}

static void
test_check_func_destroy (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static gboolean
check_no_arguments (QmpTestServer         *server,
                    QmpTestServerCommand  *command,
                    gpointer               user_data,
                    GError               **error)
{
  JsonObject *arguments = qmp_test_server_command_get_arguments (command);
  g_autoptr(GList) members = NULL;

  if (arguments == NULL || json_object_get_size (arguments) == 0)
    return TRUE;

  members = json_object_get_members (arguments);
  g_set_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR,
               "Parameter '%s' is unexpected", (const char *) members->data);
  return FALSE;
}

static void
test_check_func (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) arguments = json_object ("{\"bogus\": 1}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  int destroyed = 0;
  gint64 deadline;

  qmp_test_server_set_reply (server, "stop", NULL);
  qmp_test_server_set_check_func (server, check_no_arguments, &destroyed, test_check_func_destroy);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  ret = qmp_connection_execute_sync (connection, "stop", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "Parameter 'bogus' is unexpected");
  g_clear_error (&error);

  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* The reply may be read before the I/O thread is out of the check:
   * the function is freed once it is. */
  qmp_test_server_set_check_func (server, NULL, NULL, NULL);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&destroyed) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&destroyed), ==, 1);
}

static gboolean
answer_echo (QmpTestServer        *server,
             QmpTestServerCommand *command,
             gpointer              user_data)
{
  g_autoptr(JsonNode) node = NULL;

  /* On the server's thread, not the test's, which is blocked */
  g_assert_true (g_thread_self () != user_data);
  if (!g_str_equal (qmp_test_server_command_get_name (command), "echo"))
    return FALSE;

  node = json_node_init_object (json_node_alloc (), qmp_test_server_command_get_arguments (command));
  qmp_test_server_command_reply (command, node);
  return TRUE;
}

static void
test_command_func (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) arguments = json_object ("{\"x\": [true, null]}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  int destroyed = 0;

  qmp_test_server_set_command_func (server, answer_echo, g_thread_self (), NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* _sync calls from the thread that made the server */
  ret = qmp_connection_execute_sync (connection, "echo", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_equal (json_node_get_object (ret), arguments));
  g_clear_pointer (&ret, json_node_unref);

  ret = qmp_connection_execute_sync (connection, "other", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);

  /* Replaced: the old data is freed */
  qmp_test_server_set_command_func (server, answer_echo, &destroyed, test_check_func_destroy);
  qmp_test_server_set_command_func (server, NULL, NULL, NULL);
  g_assert_cmpint (destroyed, ==, 1);
}

/* Reading turned off from a command function (on the I/O thread): the
 * lines read already wait until it is turned on again; turned off and on
 * again there, the lines go on being handled once each, in order. */
static gboolean
answer_and_toggle_reading (QmpTestServer        *server,
                           QmpTestServerCommand *command,
                           gpointer              user_data)
{
  const char *name = qmp_test_server_command_get_name (command);

  if (g_str_equal (name, "reading-off") || g_str_equal (name, "reading-toggled"))
    qmp_test_server_set_reading (server, FALSE);
  if (g_str_equal (name, "reading-toggled"))
    qmp_test_server_set_reading (server, TRUE);
  qmp_test_server_command_reply (command, NULL);
  return TRUE;
}

static guint
n_commands (QmpTestServer *server)
{
  g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (server);

  return commands->len;
}

static void
assert_commands (QmpTestServer      *server,
                 const char * const *names)
{
  g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (server);

  g_assert_cmpuint (commands->len, ==, g_strv_length ((GStrv) names));
  for (guint i = 0; i < commands->len; i++)
    g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[i]), ==, names[i]);
}

static void
test_command_func_reading (void)
{
  static const char * const toggled[] = { "qmp_capabilities", "reading-toggled", "a", "b", NULL };
  static const char * const stopped[] = { "qmp_capabilities", "reading-toggled", "a", "b", "reading-off", NULL };
  static const char * const resumed[] = { "qmp_capabilities", "reading-toggled", "a", "b", "reading-off",
                                          "c", "d", NULL };
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = NULL;
  g_autofree char *greeting = NULL;

  qmp_test_server_set_command_func (server, answer_and_toggle_reading, NULL, NULL);
  raw = raw_client_new (server);
  greeting = raw_read (raw);

  /* All in one read */
  qmp_test_server_set_reading (server, FALSE);
  raw_send (raw, "{\"execute\": \"qmp_capabilities\"}\n"
                 "{\"execute\": \"reading-toggled\", \"id\": 1}\n"
                 "{\"execute\": \"a\", \"id\": 2}\n"
                 "{\"execute\": \"b\", \"id\": 3}\n");
  qmp_test_server_set_reading (server, TRUE);
  raw_expect (raw, "{\"return\": {}}");
  raw_expect (raw, "{\"return\": {}, \"id\": 1}");
  raw_expect (raw, "{\"return\": {}, \"id\": 2}");
  raw_expect (raw, "{\"return\": {}, \"id\": 3}");
  assert_commands (server, toggled);

  qmp_test_server_set_reading (server, FALSE);
  raw_send (raw, "{\"execute\": \"reading-off\", \"id\": 4}\n"
                 "{\"execute\": \"c\", \"id\": 5}\n"
                 "{\"execute\": \"d\", \"id\": 6}\n");
  qmp_test_server_set_reading (server, TRUE);
  raw_expect (raw, "{\"return\": {}, \"id\": 4}");
  /* c and d were read with it: they wait */
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  assert_commands (server, stopped);

  qmp_test_server_set_reading (server, TRUE);
  raw_expect (raw, "{\"return\": {}, \"id\": 5}");
  raw_expect (raw, "{\"return\": {}, \"id\": 6}");
  while (n_commands (server) < 7)
    g_usleep (1000);
  assert_commands (server, resumed);
}

/* The function answers, and still uses its data after that: the test,
 * which has its answer, replaces the function meanwhile.  Its data must
 * outlive the call (valgrind and ASan would see it used after its free). */
typedef struct
{
  int uses;
  int *freed;
} LateData;

static void
late_data_free (gpointer data)
{
  LateData *late = data;

  g_atomic_int_inc (late->freed);
  g_free (late);
}

static gboolean
answer_then_linger (QmpTestServer        *server,
                    QmpTestServerCommand *command,
                    gpointer              user_data)
{
  LateData *late = user_data;

  qmp_test_server_command_reply (command, NULL);
  g_usleep (20000);
  late->uses++;
  return TRUE;
}

static void
test_command_func_replaced_in_use (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  int freed = 0;
  gint64 deadline;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 5; i++)
    {
      LateData *late = g_new0 (LateData, 1);

      late->freed = &freed;
      qmp_test_server_set_command_func (server, answer_then_linger, late, late_data_free);
      ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&ret, json_node_unref);
      qmp_test_server_set_command_func (server, NULL, NULL, NULL);
    }

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&freed) < 5 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&freed), ==, 5);
}

static void
test_listen (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  GStatBuf buf;

  g_assert_null (qmp_test_server_get_address (server));
  g_assert_true (qmp_test_server_listen (server, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_test_server_listen (server, &error));
  g_assert_true (g_str_has_prefix (qmp_test_server_get_address (server), "unix:"));
  path = g_strdup (qmp_test_server_get_address (server) + strlen ("unix:"));
  dir = g_path_get_dirname (path);
  g_assert_cmpint (g_stat (path, &buf), ==, 0);
  g_assert_true (S_ISSOCK (buf.st_mode));

  qmp_test_server_set_reply (server, "stop", NULL);
  first = qmp_connection_new_for_address_sync (qmp_test_server_get_address (server),
                                               QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  second = qmp_connection_new_for_address_sync (qmp_test_server_get_address (server),
                                                QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_test_server_get_n_clients (server), ==, 2);

  ret = qmp_connection_execute_sync (second, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  command = next_command (server, "qmp_capabilities");
  g_clear_object (&command);
  command = next_command (server, "qmp_capabilities");
  g_clear_object (&command);
  command = next_command (server, "stop");
  g_assert_cmpuint (qmp_test_server_command_get_client (command), ==, 2);

  /* The socket and its directory go with the server: the last reference
   * may be the worker's, still finishing the dispatch that answered
   * "stop" (the _sync call read its reply itself, in this thread). */
  g_clear_object (&command);
  g_clear_object (&server);
  for (guint i = 0; i < 10000 && g_file_test (dir, G_FILE_TEST_EXISTS); i++)
    g_usleep (1000);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

/* A process out of descriptors: the server's accept() fails with EMFILE
 * while the client waits in the backlog.  The server goes on listening,
 * without spinning, and lets the client in once descriptors are free; a
 * server that goes while it waits goes with its wait.  In a subprocess,
 * for its RLIMIT_NOFILE. */
static void
test_listen_out_of_fds (void)
{
  g_autoptr(QmpTestServer) server = NULL;
  g_autoptr(QmpTestServer) closing = NULL;
  g_autoptr(QmpTestFdsFull) full = NULL;
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *closing_dir = NULL;
  const char *paths[3];

  if (!qmp_test_trap_subprocess_in_tmp_dir (60 * G_USEC_PER_SEC))
    return;

  server = qmp_test_server_new ();
  qmp_test_server_set_reply (server, "stop", NULL);
  g_assert_true (qmp_test_server_listen (server, &error));
  g_assert_no_error (error);
  closing = qmp_test_server_new ();
  g_assert_true (qmp_test_server_listen (closing, &error));
  g_assert_no_error (error);
  paths[0] = qmp_test_server_get_address (server) + strlen ("unix:");
  paths[1] = qmp_test_server_get_address (closing) + strlen ("unix:");
  paths[2] = NULL;
  closing_dir = g_path_get_dirname (paths[1]);

  full = qmp_test_fds_full_new (paths);
  g_clear_object (&closing);
  g_assert_false (g_file_test (closing_dir, G_FILE_TEST_EXISTS));
  qmp_test_fds_full_release (full);

  qmp_test_fds_full_assert_hung_up (full, 1);
  client = qmp_test_fds_full_connect (full, 0);
  ret = qmp_connection_execute_sync (client, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* and the next client as usual */
  second = qmp_connection_new_for_address_sync (qmp_test_server_get_address (server),
                                                QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_test_server_get_n_clients (server), ==, 2);
}

static void
on_notify_count (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
wait_n_clients (QmpTestServer *server,
                guint          n)
{
  while (qmp_test_server_get_n_clients (server) != n)
    g_main_context_iteration (NULL, TRUE);
}

/* n-clients follows clients that come, hang up, go with their last
 * reference or are closed by the server, and is notified in the server's
 * context, so that a test can wait for a hang-up. */
static void
test_n_clients (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autoptr(GError) error = NULL;
  guint n_notify = 0;
  guint n;

  g_signal_connect (server, "notify::n-clients", G_CALLBACK (on_notify_count), &n_notify);
  g_assert_cmpuint (qmp_test_server_get_n_clients (server), ==, 0);

  first = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  second = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_object_get (server, "n-clients", &n, NULL);
  g_assert_cmpuint (n, ==, 2);
  while (n_notify == 0)
    g_main_context_iteration (NULL, TRUE);

  /* A local close, and a last unref, each hang up */
  n_notify = 0;
  g_assert_true (qmp_connection_close_sync (first, NULL, &error));
  wait_n_clients (server, 1);
  while (n_notify == 0)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&second);
  wait_n_clients (server, 0);

  /* The server closes */
  g_clear_object (&first);
  first = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_test_server_get_n_clients (server), ==, 1);
  qmp_test_server_close_clients (server);
  wait_n_clients (server, 0);

  /* A notify on its way when the server goes is dropped */
  g_signal_handlers_disconnect_by_data (server, &n_notify);
  g_clear_object (&first);
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
test_fault_close (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  HandlerData data = { g_thread_self (), g_ptr_array_new_with_free_func (g_object_unref), 0 };
  gboolean closed = FALSE;

  g_signal_connect (server, "command", G_CALLBACK (on_command), &data);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), &closed);

  /* A pending command fails when the peer goes */
  qmp_connection_execute_async (connection, "never", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  while (data.held->len == 0)
    g_main_context_iteration (NULL, TRUE);
  qmp_test_server_close_clients (server);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  while (!closed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (qmp_connection_is_closed (connection));
  g_signal_handlers_disconnect_by_data (connection, &closed);

  /* Answering a command of a closed client is harmless */
  qmp_test_server_command_reply (data.held->pdata[0], NULL);
  g_ptr_array_unref (data.held);
}

static void
test_fault_close_after (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *partial = NULL;

  qmp_test_server_set_reply (server, "stop", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  qmp_test_server_close_after (server, 5);
  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_null (ret);

  /* Exactly 5 bytes of the next line, then the end */
  raw_send (raw, "{\"execute\": \"stop\"}\n");
  partial = raw_read (raw);
  g_assert_cmpstr (partial, ==, "{\"ret");
  g_assert_null (raw_read (raw));
}

static void
test_fault_malformed (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  static const char line[] = "{\"event\": [}\r\n";

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  qmp_test_server_send_raw (server, (const guint8 *) line, strlen (line));
  event = qmp_connection_wait_event_sync (connection, "NEVER", NULL, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
}

static void
test_fault_large_line (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  qmp_connection_set_max_message_size (connection, 4096);

  /* Just at the limit: an event */
  qmp_connection_wait_event_async (connection, "QMP_TEST_LARGE", NULL, NULL, store_result, &result);
  qmp_test_server_send_large_line (server, 4096);
  event = qmp_connection_wait_event_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  line = raw_read (raw);
  g_assert_cmpuint (strlen (line), ==, 4096);
  g_clear_pointer (&event, qmp_event_unref);
  g_clear_pointer (&line, g_free);

  /* One byte more: too large */
  qmp_test_server_send_large_line (server, 4097);
  event = qmp_connection_wait_event_sync (connection, "QMP_TEST_LARGE", NULL, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
  line = raw_read (raw);
  g_assert_cmpuint (strlen (line), ==, 4097);
}

/* A large line is made as it is written: what is sent after it comes
 * after it, whole, and a cut falls inside its padding as anywhere else. */
static void
test_fault_large_line_streamed (void)
{
  const gsize size = 300000;
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(RawClient) raw = raw_client_new (server);
  g_autofree char *line = NULL;
  g_autofree char *after = NULL;
  g_autofree char *partial = NULL;
  const char *padding;
  gsize n_x;

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  qmp_test_server_send_large_line (server, size);
  qmp_test_server_emit_event (server, "AFTER", NULL, NULL);
  line = raw_read (raw);
  g_assert_cmpuint (strlen (line), ==, size);
  padding = strstr (line, "\"padding\": \"") + strlen ("\"padding\": \"");
  n_x = strspn (padding, "x");
  g_assert_cmpstr (padding + n_x, ==, "\"}}");
  g_assert_cmpuint (padding - line + n_x + 3, ==, size);
  after = raw_read (raw);
  g_assert_true (strstr (after, "\"event\": \"AFTER\"") != NULL);

  qmp_test_server_close_after (server, 1000);
  qmp_test_server_send_large_line (server, size);
  partial = raw_read (raw);
  g_assert_cmpuint (strlen (partial), ==, 1000);
  g_assert_cmpuint (strspn (strstr (partial, "\"padding\": \"") + strlen ("\"padding\": \""), "x"),
                    ==, 1000 - (padding - line));
  g_assert_null (raw_read (raw));
}

/* A limit on what each client gets in all: the greeting counts, a cut
 * falls anywhere, and a client connected before is closed once it got as
 * much. */
static void
test_fault_write_limit (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) before = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(RawClient) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *partial = NULL;
  g_autofree char *greeting = NULL;
  gsize greeting_len;
  gboolean closed = FALSE;

  before = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (before, "closed", G_CALLBACK (on_closed), &closed);

  /* The greeting whole, without a limit */
  raw = raw_client_new (server);
  greeting = raw_read (raw);
  greeting_len = strlen (greeting) + 2;
  g_clear_pointer (&raw, raw_client_free);

  /* Within the greeting */
  qmp_test_server_set_write_limit (server, 30);
  raw = raw_client_new (server);
  partial = raw_read (raw);
  g_assert_cmpuint (strlen (partial), ==, 30);
  g_assert_true (g_str_has_prefix (greeting, partial));
  g_assert_null (raw_read (raw));
  g_clear_pointer (&raw, raw_client_free);

  /* The greeting whole, then 10 bytes of the reply to qmp_capabilities */
  qmp_test_server_set_write_limit (server, greeting_len + 10);
  raw = raw_client_new (server);
  g_clear_pointer (&partial, g_free);
  partial = raw_read (raw);
  g_assert_cmpstr (partial, ==, greeting);
  raw_send (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  g_clear_pointer (&partial, g_free);
  partial = raw_read (raw);
  g_assert_cmpstr (partial, ==, "{\"return\":");
  g_assert_null (raw_read (raw));

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_null (connection);

  /* The client from before had got more than 30 bytes: it was closed
   * when the limit came */
  while (!closed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (qmp_connection_is_closed (before));
}

static void
test_fault_stall (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;

  qmp_test_server_set_reply (server, "stop", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  command = next_command (server, "qmp_capabilities");
  g_clear_object (&command);

  /* Not writing: the command is answered, the answer waits */
  qmp_test_server_set_writing (server, FALSE);
  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  command = next_command (server, "stop");
  /* Answered on the server's thread, just after it was recorded */
  while (!qmp_test_server_command_is_answered (command))
    g_thread_yield ();
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (result);
  qmp_test_server_set_writing (server, TRUE);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&result);
  g_clear_object (&command);

  /* Not reading: nothing is received until reading resumes */
  qmp_test_server_set_reading (server, FALSE);
  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_result, &result);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 2);
  g_assert_null (result);
  qmp_test_server_set_reading (server, TRUE);
  ret = qmp_connection_execute_finish (connection, wait_result (&result), &error);
  g_assert_no_error (error);
  command = next_command (server, "stop");
}

/* The server made in one thread, used from another: its signal goes to
 * the context of the thread that made it. */
typedef struct
{
  QmpTestServer *server;
  GMainContext *context;
  gboolean done;
} ThreadData;

static gpointer
client_thread (gpointer user_data)
{
  ThreadData *data = user_data;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) arguments = json_object ("{\"x\": 1}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  connection = qmp_test_server_new_connection_sync (data->server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (connection, "echo", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_equal (json_node_get_object (ret), arguments));

  g_atomic_int_set (&data->done, TRUE);
  g_main_context_wakeup (data->context);
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  HandlerData handler = { g_thread_self (), g_ptr_array_new_with_free_func (g_object_unref), 0 };
  ThreadData data = { server, g_main_context_default (), FALSE };
  GThread *thread;

  g_signal_connect (server, "command", G_CALLBACK (on_command), &handler);
  thread = g_thread_new ("client", client_thread, &data);
  while (!g_atomic_int_get (&data.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  g_assert_cmpuint (handler.n_calls, ==, 1);
  g_ptr_array_unref (handler.held);
}

/* A stream that cannot be polled is refused with a clear error, not
 * served with blocking reads on the shared I/O thread. */
static void
test_unpollable_stream (void)
{
  g_autoptr(GInputStream) memory = g_memory_input_stream_new ();
  g_autoptr(GInputStream) input = G_INPUT_STREAM (g_data_input_stream_new (memory));
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GIOStream) stream = g_simple_io_stream_new (input, output);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = qmp_connection_new_sync (stream, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (connection);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/test-server/greeting/default", test_greeting_default);
  g_test_add_func ("/test-server/greeting/old", test_greeting_old);
  g_test_add_func ("/test-server/greeting/raw", test_greeting_raw);
  g_test_add_func ("/test-server/guest-agent", test_guest_agent);
  g_test_add_func ("/test-server/negotiation", test_negotiation);
  g_test_add_func ("/test-server/hostile-client", test_hostile_client);
  g_test_add_func ("/test-server/unread-answers", test_unread_answers);
  g_test_add_func ("/test-server/unread-events", test_unread_events);
  g_test_add_func ("/test-server/canned", test_canned);
  g_test_add_func ("/test-server/handler", test_handler);
  g_test_add_func ("/test-server/answered-twice", test_answered_twice);
  g_test_add_func ("/test-server/events", test_events);
  g_test_add_func ("/test-server/event-before-reply", test_event_before_reply);
  g_test_add_func ("/test-server/received", test_received);
  g_test_add_func ("/test-server/next-command-cancelled", test_next_command_cancelled);
  g_test_add_func ("/test-server/next-command-many", test_next_command_many);
  g_test_add_func ("/test-server/descriptors", test_descriptors);
  g_test_add_func ("/test-server/descriptors-pipelined", test_descriptors_pipelined);
  g_test_add_func ("/test-server/check-func", test_check_func);
  g_test_add_func ("/test-server/command-func", test_command_func);
  g_test_add_func ("/test-server/command-func-reading", test_command_func_reading);
  g_test_add_func ("/test-server/command-func-replaced-in-use", test_command_func_replaced_in_use);
  g_test_add_func ("/test-server/unpollable-stream", test_unpollable_stream);
  g_test_add_func ("/test-server/listen", test_listen);
  g_test_add_func ("/test-server/listen-out-of-fds", test_listen_out_of_fds);
  g_test_add_func ("/test-server/n-clients", test_n_clients);
  g_test_add_func ("/test-server/fault/close", test_fault_close);
  g_test_add_func ("/test-server/fault/close-after", test_fault_close_after);
  g_test_add_func ("/test-server/fault/malformed", test_fault_malformed);
  g_test_add_func ("/test-server/fault/large-line", test_fault_large_line);
  g_test_add_func ("/test-server/fault/large-line-streamed", test_fault_large_line_streamed);
  g_test_add_func ("/test-server/fault/write-limit", test_fault_write_limit);
  g_test_add_func ("/test-server/fault/stall", test_fault_stall);
  g_test_add_func ("/test-server/threads", test_threads);

  return g_test_run ();
}
