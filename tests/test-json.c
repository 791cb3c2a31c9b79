/* test-json.c: what the library makes of the JSON the server sends,
 * through QmpTestServer's raw lines: the same trees as json-glib for valid
 * JSON, a protocol error (never a crash) for the rest
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* A test server that holds the commands for the test, and its client */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
  QmpConnection *connection;
} Peer;

static void
peer_clear (Peer *peer)
{
  g_clear_object (&peer->connection);
  g_clear_pointer (&peer->held, qmp_test_held_free);
  g_clear_object (&peer->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Peer, peer_clear)

/* A client with max-message-size @limit, or the default if 0 */
static void
peer_init (Peer    *peer,
           guint64  limit)
{
  g_autoptr(GError) error = NULL;

  peer->server = qmp_test_server_new ();
  peer->held = qmp_test_held_new (peer->server);
  peer->connection = qmp_test_server_new_connection_sync (peer->server, QMP_CONNECTION_FLAGS_NONE,
                                                          NULL, &error);
  g_assert_no_error (error);
  if (limit != 0)
    qmp_connection_set_max_message_size (peer->connection, limit);
}

/* Sends @line and its line end as it is, byte for byte: the server's own
 * answers are written by the library, this is what another peer wrote. */
static void
peer_send_line (Peer       *peer,
                const char *line)
{
  g_autofree char *with_end = g_strconcat (line, "\r\n", NULL);

  qmp_test_server_send_raw (peer->server, (const guint8 *) with_end, strlen (with_end));
}

/* The id of the next command, as JSON text */
static char *
peer_next_id (Peer       *peer,
              const char *name)
{
  g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (peer->held, name);

  return json_to_string (qmp_test_server_command_get_id (command), FALSE);
}

/* Replies @return_json to one execute and returns what the caller got. */
static JsonNode *
round_trip (Peer       *peer,
            const char *return_json,
            GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *id = NULL;
  g_autofree char *line = NULL;
  GAsyncResult *slot = NULL;

  qmp_connection_execute_async (peer->connection, "echo", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  id = peer_next_id (peer, "echo");
  line = g_strdup_printf ("{\"id\": %s, \"return\": %s}", id, return_json);
  peer_send_line (peer, line);
  result = qmp_test_wait_result (&slot);

  return qmp_connection_execute_finish (peer->connection, result, error);
}

static void
test_valid (void)
{
  static const char * const cases[] = {
    "{}", "[]", "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808",
    "18446744073709551615", "1.5", "-2.25e-3", "1E10", "0.1e+2", "true", "false", "null",
    "\"\"", "\"plain\"", "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
    "\"\\u00e9\\u20ac\\ud83d\\ude00\"", "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"",
    "  { \"a\" : [ 1 , { \"b\" : null } , \"c\" ] , \"d\" : { } }  ",
    "{\"dup\": 1, \"dup\": 2}",
    "{\"t\": true, \"f\": false, \"n\": null, \"d\": 1, \"d\": null, \"e\": null, \"e\": false}",
    "[[[[[[[[1, [2]]]]]]]]]",
  };
  g_auto(Peer) peer = { NULL, };

  peer_init (&peer, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) expected = json_from_string (cases[i], &error);
      g_autoptr(JsonNode) got = NULL;
      g_autofree char *expected_text = NULL;
      g_autofree char *got_text = NULL;

      g_assert_no_error (error);
      got = round_trip (&peer, cases[i], &error);
      g_assert_no_error (error);
      g_assert_nonnull (got);

      expected_text = json_to_string (expected, FALSE);
      got_text = json_to_string (got, FALSE);
      g_test_message ("%s → %s", cases[i], got_text);
      g_assert_cmpstr (got_text, ==, expected_text);
      g_assert_true (json_node_equal (got, expected));
      g_assert_cmpint (json_node_get_node_type (got), ==, json_node_get_node_type (expected));
      if (JSON_NODE_HOLDS_VALUE (got))
        g_assert_true (json_node_get_value_type (got) == json_node_get_value_type (expected));
    }

  /* Depth 1000 is fine (QEMU's own limit is 1024). */
  {
    g_autoptr(GString) deep = g_string_new (NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) got = NULL;

    for (guint i = 0; i < 1000; i++)
      g_string_append_c (deep, '[');
    for (guint i = 0; i < 1000; i++)
      g_string_append_c (deep, ']');
    got = round_trip (&peer, deep->str, &error);
    g_assert_no_error (error);
    g_assert_true (JSON_NODE_HOLDS_ARRAY (got));
  }
}

/* Each invalid reply closes a fresh connection with QMP_ERROR_PROTOCOL. */
static void
test_invalid (void)
{
  static const char * const cases[] = {
    "", "{", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1",
    "tru", "nul", "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"",
    "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"ctl \x01 char\"", "\"\xff\xfe\"",
    "\"\xc3\"", "NaN", "Infinity", "[1] 2", "'single'",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Peer) peer = { NULL, };
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) got = NULL;
      /* TAP is UTF-8: the invalid bytes of a case are shown escaped. */
      g_autofree char *shown = g_strescape (cases[i], NULL);

      g_test_message ("case %u: %s", i, shown);
      peer_init (&peer, 0);
      got = round_trip (&peer, cases[i], &error);
      g_assert_null (got);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
      g_assert_true (qmp_connection_is_closed (peer.connection));
    }
}

/* A line of nothing but '[' used to be a stack overflow in a recursive
 * parser without a bound: now it is a protocol error like any other. */
static void
test_too_deep (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) got = NULL;
  gsize n = qmp_test_is_slow () ? 20000 : 1000000;
  g_autofree char *deep = g_malloc (n + 1);

  peer_init (&peer, 0);
  memset (deep, '[', n);
  deep[n] = '\0';
  got = round_trip (&peer, deep, &error);
  g_assert_null (got);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "deep"));
}

/* Whole lines, not only return values: the top-level object is parsed by
 * its own loop. */
static void
test_top_level (void)
{
  g_auto(Peer) peer = { NULL, };
  QmpConnection *connection;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *id = NULL;
  GAsyncResult *slot = NULL;

  peer_init (&peer, 0);
  connection = peer.connection;

  /* An error with members beyond class and desc (not built), and a reply
   * whose id is not a number (dropped as unknown). */
  qmp_connection_execute_async (connection, "x", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  id = peer_next_id (&peer, "x");
  peer_send_line (&peer, "{\"return\": {}, \"id\": \"not-ours\"}");
  line = g_strdup_printf ("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"gone\","
                          " \"junk\": [[[1, 2, {\"a\": \"b\"}]]]}, \"extra\": {\"x\": [1]}, \"id\": %s}",
                          id);
  peer_send_line (&peer, line);
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "gone");
  g_assert_false (qmp_connection_is_closed (connection));
  g_clear_error (&error);
  g_clear_object (&result);
  g_clear_pointer (&id, g_free);

  /* A trailing comma in the line's object is invalid JSON. */
  qmp_connection_execute_async (connection, "x", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  id = peer_next_id (&peer, "x");
  g_free (line);
  line = g_strdup_printf ("{\"return\": {}, \"id\": %s,}", id);
  peer_send_line (&peer, line);
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
}

static gpointer
get_lazy_parts (gpointer data)
{
  QmpEvent *event = data;
  JsonObject *object = qmp_event_get_data (event);

  g_assert_nonnull (qmp_event_get_timestamp (event));
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, 42);

  return object;
}

/* An event's data and timestamp are made when first asked for, from any
 * thread: every thread gets the same, and nothing leaks. */
static void
test_event_lazy_parts (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GThread *threads[8];
  gpointer seen[8];
  QmpConnection *connection;

  peer_init (&peer, 0);
  connection = peer.connection;
  qmp_connection_wait_event_async (connection, "LAZY", NULL, NULL, qmp_test_store_result, &slot);
  peer_send_line (&peer, "{\"timestamp\": {\"seconds\": 1795573265, \"microseconds\": 659943}, "
                         "\"event\": \"LAZY\", "
                         "\"data\": {\"n\": 42, \"s\": \"caf\\u00e9\", \"a\": [1, {\"b\": null}]}}");
  result = qmp_test_wait_result (&slot);
  event = qmp_connection_wait_event_finish (connection, result, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("lazy", get_lazy_parts, event);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    seen[i] = g_thread_join (threads[i]);
  for (guint i = 1; i < G_N_ELEMENTS (threads); i++)
    g_assert_true (seen[i] == seen[0]);

  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "s"), ==, "caf\u00e9");
  g_assert_true (json_object_is_immutable (qmp_event_get_data (event)));
  g_assert_cmpint (g_date_time_to_unix (qmp_event_get_timestamp (event)), ==, 1795573265);
  g_assert_cmpint (g_date_time_get_microsecond (qmp_event_get_timestamp (event)), ==, 659943);
}

typedef struct
{
  QmpConnection *connection;
  gint armed;                   /* waits begun */
} Waiters;

static gpointer
wait_and_use_data (gpointer data)
{
  Waiters *waiters = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  QmpEvent *event;
  JsonObject *object;

  /* The wait begins in the call: the test emits the event once all four
   * have made theirs. */
  g_main_context_push_thread_default (context);
  qmp_connection_wait_event_async (waiters->connection, "SHARED", NULL, NULL,
                                   qmp_test_store_result, &result);
  g_atomic_int_inc (&waiters->armed);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  event = qmp_connection_wait_event_finish (waiters->connection, result, &error);
  g_object_unref (result);
  g_main_context_pop_thread_default (context);

  g_assert_no_error (error);
  object = qmp_event_get_data (event);
  /* What any code (a binding's wrapper) does with it, in this thread. */
  for (guint i = 0; i < 10000; i++)
    json_object_unref (json_object_ref (object));
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, 7);

  return event;
}

/* Callers on several threads that wait for the same event each get their
 * own: json-glib's reference counts are not atomic. */
static void
test_event_per_consumer (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(JsonNode) data = json_from_string ("{\"n\": 7}", NULL);
  GThread *threads[4];
  QmpEvent *events[4];
  Waiters waiters = { NULL, 0 };
  QmpConnection *connection;

  peer_init (&peer, 0);
  connection = peer.connection;

  /* A wait that missed the event fails after this, rather than hang. */
  qmp_connection_set_timeout (connection, 30000);
  waiters.connection = connection;
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("waiter", wait_and_use_data, &waiters);

  while (g_atomic_int_get (&waiters.armed) < (gint) G_N_ELEMENTS (threads))
    g_usleep (1000);
  qmp_test_server_emit_event (peer.server, "SHARED", json_node_get_object (data), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    events[i] = g_thread_join (threads[i]);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      for (guint k = i + 1; k < G_N_ELEMENTS (threads); k++)
        {
          g_assert_true (events[i] != events[k]);
          g_assert_true (qmp_event_get_data (events[i]) != qmp_event_get_data (events[k]));
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    qmp_event_unref (events[i]);
}

/* ------------------------------------------- what a message may build */

/* A limit small enough for fast tests: a message may then build 14 × 64 KiB
 * of tree (with the line and its copy, 16 × in all). */
#define TREE_TEST_LIMIT (64 * 1024)

/* "[unit,unit,…]", as long as it can be within @size bytes. */
static char *
repeat_unit (const char *unit,
             gsize       size)
{
  GString *text = g_string_new ("[");
  gsize unit_len = strlen (unit);

  while (text->len + unit_len + 2 <= size || text->len == 1)
    {
      if (text->len > 1)
        g_string_append_c (text, ',');
      g_string_append (text, unit);
    }
  g_string_append_c (text, ']');

  return g_string_free (text, FALSE);
}

static char *
nested (const char *open,
        const char *inner,
        const char *close,
        guint       depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, open);
  g_string_append (text, inner);
  for (guint i = 0; i < depth; i++)
    g_string_append (text, close);

  return g_string_free (text, FALSE);
}

typedef struct
{
  const char *name;
  char *unit;
} Shape;

/* The shapes whose tree costs the most per byte of JSON: from about 30
 * ("a") to 110 ({}) bytes of heap per byte, all over 14. */
static void
shapes_init (Shape shapes[6])
{
  shapes[0] = (Shape) { "empty arrays", g_strdup ("[]") };
  shapes[1] = (Shape) { "empty objects", g_strdup ("{}") };
  shapes[2] = (Shape) { "one-character strings", g_strdup ("\"a\"") };
  shapes[3] = (Shape) { "small integers", g_strdup ("0") };
  /* Within QEMU's depth limit of 1,024, as the parser's is. */
  shapes[4] = (Shape) { "arrays 1,000 deep", nested ("[", "", "]", 1000) };
  shapes[5] = (Shape) { "objects 1,000 deep", nested ("{\"a\":", "{}", "}", 999) };
}

static void
shapes_clear (Shape shapes[6])
{
  for (guint i = 0; i < 6; i++)
    g_free (shapes[i].unit);
}

/* A reply within max-message-size whose tree would take more than 14 times
 * the limit fails the call with QMP_ERROR_MESSAGE_TOO_LARGE, and closes the
 * connection as a line over the limit does; the same shape, smaller, is
 * returned whole. */
static void
test_tree_limit_reply (void)
{
  Shape shapes[6];

  shapes_init (shapes);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      /* Room for the reply's envelope: the line stays within the limit. */
      g_autofree char *large = repeat_unit (shapes[i].unit, TREE_TEST_LIMIT - 64);
      g_autofree char *small = repeat_unit (shapes[i].unit, TREE_TEST_LIMIT / 16);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) got = NULL;
      g_autoptr(JsonNode) expected = NULL;

      g_test_message ("%s: %zu bytes, then %zu", shapes[i].name, strlen (large), strlen (small));

      {
        g_auto(Peer) peer = { NULL, };

        peer_init (&peer, TREE_TEST_LIMIT);
        got = round_trip (&peer, large, &error);
        g_assert_null (got);
        g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
        g_assert_true (qmp_connection_is_closed (peer.connection));
        g_clear_error (&error);
      }

      {
        g_auto(Peer) peer = { NULL, };

        peer_init (&peer, TREE_TEST_LIMIT);
        got = round_trip (&peer, small, &error);
        g_assert_no_error (error);
        expected = json_from_string (small, &error);
        g_assert_no_error (error);
        g_assert_true (json_node_equal (got, expected));
        g_assert_false (qmp_connection_is_closed (peer.connection));
      }
    }
  shapes_clear (shapes);
}

/* Every part of a line counts, whether the library builds it on its own
 * thread (a greeting, an error's members), lazily in the caller's (an
 * event's data), or not at all (members it ignores, a line that is not an
 * object). */
static void
test_tree_limit_everywhere (void)
{
  g_autofree char *heavy = repeat_unit ("{}", TREE_TEST_LIMIT - 200);
  /* Before and after the heavy part. */
  const char *lines[][2] = {
    { "{\"event\": \"HEAVY\", \"data\": {\"list\": ",
      "}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}" },
    { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\", \"junk\": ", "}}" },
    { "{\"ignored\": ", ", \"return\": {}}" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_auto(Peer) peer = { NULL, };
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(JsonNode) ret = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *line = NULL;
      GAsyncResult *slot = NULL;

      peer_init (&peer, TREE_TEST_LIMIT);
      qmp_connection_execute_async (peer.connection, "x", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                    qmp_test_store_result, &slot);
      command = qmp_test_held_next (peer.held, "x");
      line = g_strconcat (lines[i][0], heavy, lines[i][1], NULL);
      g_assert_cmpuint (strlen (line), <=, TREE_TEST_LIMIT);
      g_test_message ("%.60s…", line);
      peer_send_line (&peer, line);

      result = qmp_test_wait_result (&slot);
      ret = qmp_connection_execute_finish (peer.connection, result, &error);
      g_assert_null (ret);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
      g_assert_true (qmp_connection_is_closed (peer.connection));
    }

  /* The greeting, which is built as it comes: construction fails. */
  {
    g_autoptr(QmpTestServer) server = qmp_test_server_new ();
    g_autoptr(GIOStream) stream = NULL;
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GObject) connection = NULL;
    g_autoptr(GObject) source = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *line = NULL;
    GAsyncResult *slot = NULL;

    line = g_strdup_printf ("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                            "\"major\": 7}, \"package\": \"\"}, \"capabilities\": [], \"heavy\": %s}}",
                            heavy);
    qmp_test_server_set_raw_greeting (server, line);
    stream = qmp_test_server_new_stream (server, &error);
    g_assert_no_error (error);
    g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, NULL,
                                qmp_test_store_result, &slot,
                                "stream", stream,
                                "max-message-size", (guint64) TREE_TEST_LIMIT,
                                NULL);
    result = qmp_test_wait_result (&slot);
    source = g_async_result_get_source_object (result);
    connection = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);
    g_assert_null (connection);
    g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
  }
}

/* A real reply of ordinary shape: QEMU's query-qmp-schema, about 200 KB
 * that build some 19 bytes of tree per byte, passes under a limit of twice
 * its size. */
static void
test_tree_limit_schema (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) schema = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint64 limit;

  if (peer == NULL)
    return;

  connection = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_execute_sync (connection, "query-qmp-schema", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* QEMU writes ", " and ": ": its line is longer than this. */
  text = json_to_string (schema, FALSE);
  g_assert_cmpuint (strlen (text), >, 100000);
  limit = 2 * strlen (text);
  g_test_message ("schema: %zu bytes as compact JSON; limit %" G_GUINT64_FORMAT, strlen (text), limit);

  qmp_connection_set_max_message_size (connection, limit);
  again = qmp_connection_execute_sync (connection, "query-qmp-schema", NULL,
                                       QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (again, schema));
}

/* What the library writes is JSON, where json-glib's generator is not:
 * 1e41 came out as "1e+41.0", and U+001F raw.
 *
 * This one stays on the private scripted mock: it must read the client's
 * bytes with a parser that is not the library's (json-glib's), and
 * QmpTestServer parses with the library's own, which would accept what
 * the library's writer got wrong in the same way. */
static void
test_write_arguments (void)
{
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  g_autoptr(QmpConnection) connection = qmp_mock_connect (mock, QMP_CONNECTION_FLAGS_NONE, NULL);
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonObject) command = NULL;
  JsonObject *received;
  GAsyncResult *result = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_double_member (arguments, "big", 1e41);
  json_object_set_double_member (arguments, "small", -2.5e-300);
  json_object_set_double_member (arguments, "half", 0.5);
  json_object_set_double_member (arguments, "whole", 2.0);
  json_object_set_double_member (arguments, "minus-zero", -0.0);
  json_object_set_string_member (arguments, "control", "a\x1f\x01\n\"\\b");
  json_object_set_string_member (arguments, "\x1fname", "v");
  qmp_connection_execute_async (connection, "write-test", arguments, QMP_EXECUTE_FLAGS_NONE,
                                NULL, qmp_test_store_result, &result);

  /* The mock parses the line with json-glib's parser: it must be JSON. */
  command = qmp_mock_receive (mock);
  g_assert_nonnull (command);
  received = json_object_get_object_member (command, "arguments");
  g_assert_cmpfloat (json_object_get_double_member (received, "big"), ==, 1e41);
  g_assert_cmpfloat (json_object_get_double_member (received, "small"), ==, -2.5e-300);
  g_assert_cmpfloat (json_object_get_double_member (received, "half"), ==, 0.5);
  /* Doubles stay doubles, and -0.0 keeps its sign. */
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (received, "whole")), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (json_object_get_double_member (received, "whole"), ==, 2.0);
  g_assert_true (signbit (json_object_get_double_member (received, "minus-zero")));
  g_assert_cmpstr (json_object_get_string_member (received, "control"), ==, "a\x1f\x01\n\"\\b");
  g_assert_cmpstr (json_object_get_string_member (received, "\x1fname"), ==, "v");

  qmp_mock_reply (mock, command, "{}");
  done = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (connection, done, &error);
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/valid", test_valid);
  g_test_add_func ("/json/invalid", test_invalid);
  g_test_add_func ("/json/too-deep", test_too_deep);
  g_test_add_func ("/json/event-lazy-parts", test_event_lazy_parts);
  g_test_add_func ("/json/top-level", test_top_level);
  g_test_add_func ("/json/event-per-consumer", test_event_per_consumer);
  g_test_add_func ("/json/tree-limit/reply", test_tree_limit_reply);
  g_test_add_func ("/json/tree-limit/everywhere", test_tree_limit_everywhere);
  g_test_add_func ("/json/tree-limit/schema", test_tree_limit_schema);
  g_test_add_func ("/json/write/arguments", test_write_arguments);

  return g_test_run ();
}
