/* test-template.c: JSON templates with printf-style conversions, for C
 * callers: what each conversion makes, and that a wrong template is a
 * critical that names it and builds nothing, never a wrong command
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* Compares @object with the JSON text @expected, and checks that it
 * survives a trip through json-glib's generator and parser (what the
 * library sends is the generator's output). */
static void
assert_object (JsonObject *object,
               const char *expected)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) want = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_nonnull (object);
  node = json_node_init_object (json_node_alloc (), object);
  text = json_to_string (node, FALSE);
  want = json_from_string (expected, &error);
  g_assert_no_error (error);
  g_test_message ("%s", text);
  if (!json_node_equal (node, want))
    {
      g_autofree char *want_text = json_to_string (want, FALSE);

      g_assert_cmpstr (text, ==, want_text);
    }

  again = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (again, node));
}

static void
test_conversions (void)
{
  g_autoptr(JsonObject) object = NULL;

  object = qmp_json_build_object ("{'s': %s, 'd': %d, 'i': %i, 'u': %u, 'ld': %ld, 'li': %li, 'lu': %lu, "
                                  "'lld': %lld, 'lli': %lli, 'llu': %llu, 'zd': %zd, 'zu': %zu}",
                                  "text", G_MININT, G_MAXINT, G_MAXUINT, G_MINLONG, -7L, (unsigned long) G_MAXLONG,
                                  G_MININT64, -8LL, (unsigned long long) G_MAXINT64, (gssize) -9, (gsize) 10);
  assert_object (object,
                 "{\"s\": \"text\", \"d\": -2147483648, \"i\": 2147483647, \"u\": 4294967295, "
                 "\"ld\": -9223372036854775808, \"li\": -7, \"lu\": 9223372036854775807, "
                 "\"lld\": -9223372036854775808, \"lli\": -8, \"llu\": 9223372036854775807, "
                 "\"zd\": -9, \"zu\": 10}");
  g_clear_pointer (&object, json_object_unref);

  /* The 64-bit formats of GLib are among them. */
  object = qmp_json_build_object ("{'min': %" G_GINT64_FORMAT ", 'max': %" G_GUINT64_FORMAT
                                  ", 'size': %" G_GSIZE_FORMAT ", 'ssize': %" G_GSSIZE_FORMAT "}",
                                  G_MININT64, (guint64) G_MAXINT64, (gsize) 42, (gssize) -42);
  assert_object (object, "{\"min\": -9223372036854775808, \"max\": 9223372036854775807, "
                         "\"size\": 42, \"ssize\": -42}");
  g_clear_pointer (&object, json_object_unref);

  object = qmp_json_build_object ("{'f': %f, 'g': %g, 'lf': %lf, 'yes': %b, 'no': %b, 'two': %b}",
                                  1.5, -2.25e-3, 1e300, TRUE, FALSE, 2);
  assert_object (object, "{\"f\": 1.5, \"g\": -0.00225, \"lf\": 1e300, \"yes\": true, \"no\": false, "
                         "\"two\": true}");
  g_assert_true (JSON_NODE_HOLDS_VALUE (json_object_get_member (object, "f")));
  g_assert_true (json_node_get_value_type (json_object_get_member (object, "f")) == G_TYPE_DOUBLE);
  g_assert_true (json_node_get_value_type (json_object_get_member (object, "yes")) == G_TYPE_BOOLEAN);
}

/* Strings: single quotes keep C templates readable, %s escapes whatever
 * it is given, and a % inside a string is a %. */
static void
test_strings (void)
{
  const char *nasty = "quote \" backslash \\ newline \n tab \t bell \a caf\xc3\xa9 \xf0\x9f\x98\x80 '}";
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonObject) names = NULL;

  object = qmp_json_build_object ("{'single': 'a \"b\" \\'c\\'', \"double\": \"d 'e' \\\"f\\\"\", "
                                  "'escapes': '\\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00', "
                                  "'percent': '100% %s %d', 'nasty': %s, 'empty': ''}",
                                  nasty);
  g_assert_cmpstr (json_object_get_string_member (object, "single"), ==, "a \"b\" 'c'");
  g_assert_cmpstr (json_object_get_string_member (object, "double"), ==, "d 'e' \"f\"");
  g_assert_cmpstr (json_object_get_string_member (object, "escapes"), ==,
                   "\\ / \b \f \n \r \t \xc3\xa9 \xf0\x9f\x98\x80");
  g_assert_cmpstr (json_object_get_string_member (object, "percent"), ==, "100% %s %d");
  g_assert_cmpstr (json_object_get_string_member (object, "nasty"), ==, nasty);
  g_assert_cmpstr (json_object_get_string_member (object, "empty"), ==, "");
  g_assert_cmpuint (json_object_get_size (object), ==, 6);
  assert_object (object,
                 "{\"single\": \"a \\\"b\\\" 'c'\", \"double\": \"d 'e' \\\"f\\\"\", "
                 "\"escapes\": \"\\\\ / \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\", "
                 "\"percent\": \"100% %s %d\", "
                 "\"nasty\": \"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 caf\\u00e9 \\ud83d\\ude00 '}\", "
                 "\"empty\": \"\"}");

  /* %s also names a member, escaped as well. */
  names = qmp_json_build_object ("{%s: 1, %s: {%s: [%s, 'x']}}", "a\"b", "c", "d", "e");
  assert_object (names, "{\"a\\\"b\": 1, \"c\": {\"d\": [\"e\", \"x\"]}}");
}

/* Nesting, literals and numbers written in the template itself. */
static void
test_structure (void)
{
  g_autoptr(JsonObject) object = NULL;

  object = qmp_json_build_object (" {\n\t'driver': 'qcow2', 'node-name': %s,\r\n"
                                  "  'file': {'driver': 'file', 'filename': %s, 'locking': null},\n"
                                  "  'list': [1, -0, -2.5e-3, 1E2, true, false, null, [], {}, [[%d]]],\n"
                                  "  'empty': {} } ",
                                  "disk0", "/tmp/disk.qcow2", 3);
  assert_object (object,
                 "{\"driver\": \"qcow2\", \"node-name\": \"disk0\", "
                 "\"file\": {\"driver\": \"file\", \"filename\": \"/tmp/disk.qcow2\", \"locking\": null}, "
                 "\"list\": [1, 0, -0.0025, 100.0, true, false, null, [], {}, [[3]]], \"empty\": {}}");
  g_assert_true (json_node_get_value_type (json_array_get_element (json_object_get_array_member (object, "list"), 0))
                 == G_TYPE_INT64);

  /* Members keep the template's order, which is the order sent. */
  {
    g_autoptr(JsonObject) ordered = qmp_json_build_object ("{'z': 1, 'a': 2, 'm': 3}");
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), ordered);
    g_autofree char *text = json_to_string (node, FALSE);

    g_assert_cmpstr (text, ==, "{\"z\":1,\"a\":2,\"m\":3}");
  }
}

/* %p splices a copy of a node: the caller keeps its own, untouched, and
 * may change it or put it elsewhere afterwards. */
static void
test_node (void)
{
  g_autoptr(JsonNode) options = NULL;
  g_autoptr(JsonNode) number = json_node_init_int (json_node_alloc (), 7);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonObject) other = json_object_new ();
  g_autoptr(GError) error = NULL;

  options = json_from_string ("{\"cache\": {\"direct\": true}, \"list\": [1, 2]}", &error);
  g_assert_no_error (error);

  object = qmp_json_build_object ("{'id': 'x', 'options': %p, 'n': %p, 'both': [%p, %p]}",
                                  options, number, number, options);
  assert_object (object, "{\"id\": \"x\", \"options\": {\"cache\": {\"direct\": true}, \"list\": [1, 2]}, "
                         "\"n\": 7, \"both\": [7, {\"cache\": {\"direct\": true}, \"list\": [1, 2]}]}");

  json_object_set_int_member (json_object_get_object_member (json_node_get_object (options), "cache"),
                              "direct", 0);
  json_node_set_int (number, 8);
  g_assert_true (json_object_get_boolean_member (
    json_object_get_object_member (json_object_get_object_member (object, "options"), "cache"), "direct"));
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, 7);

  json_object_set_member (other, "moved", json_node_ref (options));
  g_assert_false (json_object_get_boolean_member (
    json_object_get_object_member (json_object_get_object_member (other, "moved"), "cache"), "direct"));
}

static JsonObject *
build_va (const char *format,
          ...)
{
  va_list args;
  JsonObject *object;

  va_start (args, format);
  object = qmp_json_build_object_va (format, args);
  va_end (args);

  return object;
}

static void
test_va (void)
{
  g_autoptr(JsonObject) object = build_va ("{'id': %s, 'n': %" G_GINT64_FORMAT ", 'on': %b}",
                                           "usb0", G_MAXINT64, TRUE);

  assert_object (object, "{\"id\": \"usb0\", \"n\": 9223372036854775807, \"on\": true}");
}

/* Each wrong template: a critical that names the function, quotes the
 * template and says what is wrong; NULL, nothing built. */
#define ASSERT_WRONG(what, ...) \
  G_STMT_START { \
    g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL, \
                           "qmp_json_build_object: invalid JSON template “*”: *" what "*"); \
    g_assert_null (qmp_json_build_object (__VA_ARGS__)); \
    g_test_assert_expected_messages (); \
  } G_STMT_END

static void
test_wrong_templates (void)
{
  g_autofree char *deep = NULL;
  GString *nested = g_string_new ("{'a': ");

  ASSERT_WRONG ("unexpected end", "");
  ASSERT_WRONG ("unexpected end", "{'a': ");
  ASSERT_WRONG ("expected “,” or “}”", "{'a': 1");
  ASSERT_WRONG ("expected a member name", "{'a': 1,}");
  ASSERT_WRONG ("expected a member name", "{a: 1}");
  ASSERT_WRONG ("expected “:”", "{'a' 1}");
  ASSERT_WRONG ("expected “,” or “]”", "{'a': [1 2]}");
  ASSERT_WRONG ("unexpected end", "{'a': [1,");
  ASSERT_WRONG ("unexpected character", "{'a': [1,]}");
  ASSERT_WRONG ("not a JSON object", "[1]");
  ASSERT_WRONG ("not a JSON object", "'text'");
  ASSERT_WRONG ("more after the value", "{'a': 1} {'b': 2}");
  ASSERT_WRONG ("more after the value", "{'a': 1},");
  ASSERT_WRONG ("the member “a” is given twice", "{'a': 1, \"a\": 2}");
  ASSERT_WRONG ("the member “x” is given twice", "{%s: 1, 'x': 2}", "x");
  ASSERT_WRONG ("unterminated string", "{'a': 'open}");
  ASSERT_WRONG ("unterminated string", "{'a': \"open'}");
  ASSERT_WRONG ("control character", "{'a': 'line\nbreak'}");
  ASSERT_WRONG ("invalid escape", "{'a': '\\x41'}");
  ASSERT_WRONG ("invalid \\u escape", "{'a': '\\u12'}");
  ASSERT_WRONG ("invalid \\u escape", "{'a': '\\u0000'}");
  ASSERT_WRONG ("unpaired surrogate", "{'a': '\\ud800'}");
  ASSERT_WRONG ("invalid \\u escape", "{'a': '\\udc00'}");
  ASSERT_WRONG ("not UTF-8", "{'a': '\xff'}");
  ASSERT_WRONG ("invalid number", "{'a': -}");
  ASSERT_WRONG ("more after the value", "{'a': 1} 2");
  ASSERT_WRONG ("expected “,” or “}”", "{'a': 01}");
  ASSERT_WRONG ("invalid number", "{'a': 1.}");
  ASSERT_WRONG ("unexpected character", "{'a': .5}");
  ASSERT_WRONG ("unexpected character", "{'a': +1}");
  ASSERT_WRONG ("does not fit in 64 bits", "{'a': 9223372036854775808}");
  ASSERT_WRONG ("too large for a double", "{'a': 1e999}");
  ASSERT_WRONG ("invalid literal", "{'a': tru}");
  ASSERT_WRONG ("invalid literal", "{'a': nil}");
  ASSERT_WRONG ("unexpected character", "{'a': NaN}");
  ASSERT_WRONG ("expected a member name", "{/* comment */ 'a': 1}");

  /* Conversions. */
  ASSERT_WRONG ("unknown conversion “%x”", "{'a': %x}", 1);
  ASSERT_WRONG ("unknown conversion “%c”", "{'a': %c}", 'c');
  ASSERT_WRONG ("unknown conversion “%ls”", "{'a': %ls}", "wide");
  ASSERT_WRONG ("unknown conversion “%lb”", "{'a': %lb}", TRUE);
  ASSERT_WRONG ("unknown conversion “%llf”", "{'a': %llf}", 1.0);
  ASSERT_WRONG ("unknown conversion “%”", "{'a': %");
  ASSERT_WRONG ("unknown conversion “%%”", "{'a': %%}");
  ASSERT_WRONG ("expected a member name", "{%d: 1}", 1);
  ASSERT_WRONG ("%s is given NULL", "{'a': %s}", (const char *) NULL);
  ASSERT_WRONG ("%s is given NULL", "{%s: 1}", (const char *) NULL);
  ASSERT_WRONG ("%s is given a string that is not UTF-8", "{'a': %s}", "caf\xe9");
  ASSERT_WRONG ("%p is given NULL", "{'a': %p}", (JsonNode *) NULL);
  ASSERT_WRONG ("%f is given nan", "{'a': %f}", NAN);
  ASSERT_WRONG ("%g is given inf", "{'a': %g}", INFINITY);
  ASSERT_WRONG ("%g is given -inf", "{'a': %g}", -INFINITY);
  ASSERT_WRONG ("%llu is given 9223372036854775808, above G_MAXINT64",
                "{'a': %llu}", (unsigned long long) G_MAXINT64 + 1);
  ASSERT_WRONG ("%zu is given 18446744073709551615", "{'a': %zu}", (gsize) G_MAXUINT64);
  ASSERT_WRONG ("%s is given NULL", "{'a': %d, 'b': %s}", 1, (const char *) NULL);

  /* Deeper than QEMU's own parser takes. */
  for (guint i = 0; i < 1100; i++)
    g_string_append_c (nested, '[');
  deep = g_string_free (nested, FALSE);
  ASSERT_WRONG ("nested too deeply", deep);

  /* The offset points at the problem. */
  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL,
                         "qmp_json_build_object: invalid JSON template “{'a': 1, 'b': %q}”: "
                         "an unknown conversion “%q” at byte 14");
  g_assert_null (qmp_json_build_object ("{'a': 1, 'b': %q}"));
  g_test_assert_expected_messages ();

  /* The _va variant names itself. */
  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL, "qmp_json_build_object_va: invalid JSON template “{”*");
  g_assert_null (build_va ("{"));
  g_test_assert_expected_messages ();

  /* A template that is not UTF-8 is shown as UTF-8 (U+FFFD for the bad
   * byte): a log message is text. */
  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL,
                         "qmp_json_build_object: invalid JSON template “{'a': '\xef\xbf\xbd'}”: "
                         "a string that is not UTF-8 at byte 8");
  g_assert_null (qmp_json_build_object ("{'a': '\xff'}"));
  g_test_assert_expected_messages ();
}

/* ------------------------------------------------------- execute */

/* Asserts that nothing but the negotiation reached @server before a
 * command sent now, and that the connection still works. */
static void
assert_nothing_sent (QmpTestServer *server,
                     QmpConnection *connection)
{
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_test_server_set_reply (server, "ping", NULL);
  ret = qmp_connection_execute_sync (connection, "ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 2);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[0]), ==, "qmp_capabilities");
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[1]), ==, "ping");
  g_assert_false (qmp_connection_is_closed (connection));
}

/* The command goes out as the template says, with the library's id (the
 * server refuses any other member, as QEMU does). */
static void
test_execute (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) done = json_from_string ("{\"done\": true}", NULL);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  const char *id = "usb\"0\\";
  JsonObject *arguments;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_OOB, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_get_oob_enabled (connection));

  qmp_connection_execute_printf_async (connection, NULL, qmp_test_store_result, &slot,
                                       "{'execute': 'device_del', 'arguments': {'id': %s}}", id);
  command = qmp_test_held_next (held, "device_del");
  g_assert_false (qmp_test_server_command_get_oob (command));
  arguments = qmp_test_server_command_get_arguments (command);
  g_assert_cmpstr (json_object_get_string_member (arguments, "id"), ==, id);
  g_assert_cmpuint (json_object_get_size (arguments), ==, 1);
  g_assert_nonnull (qmp_test_server_command_get_id (command));
  qmp_test_server_command_reply (command, done);
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_printf_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "done"));
  g_clear_object (&command);
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&result);

  /* No arguments; exec-oob is sent out of band. */
  qmp_connection_execute_printf_async (connection, NULL, qmp_test_store_result, &slot,
                                       "{'exec-oob': 'migrate-pause'}");
  command = qmp_test_held_next (held, "migrate-pause");
  g_assert_true (qmp_test_server_command_get_oob (command));
  g_assert_null (qmp_test_server_command_get_arguments (command));
  qmp_test_server_command_reply_error (command, "GenericError", "not migrating");
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "not migrating");
}

static gpointer
execute_printf_thread (gpointer data)
{
  QmpConnection *connection = data;
  g_autoptr(GError) error = NULL;
  JsonNode *ret;

  ret = qmp_connection_execute_printf_sync (connection, NULL, &error,
                                            "{'execute': 'qom-get', 'arguments': {'path': %s, 'property': %s}}",
                                            "/machine", "type");
  g_assert_no_error (error);
  return ret;
}

static void
test_execute_sync (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = qmp_test_held_new (server);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) machine = json_from_string ("\"none-machine\"", NULL);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *arguments;
  GThread *thread;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  thread = g_thread_new ("sync", execute_printf_thread, connection);
  command = qmp_test_held_next (held, "qom-get");
  arguments = qmp_test_server_command_get_arguments (command);
  g_assert_cmpstr (json_object_get_string_member (arguments, "path"), ==, "/machine");
  g_assert_cmpstr (json_object_get_string_member (arguments, "property"), ==, "type");
  qmp_test_server_command_reply (command, machine);
  ret = g_thread_join (thread);
  g_assert_cmpstr (json_node_get_string (ret), ==, "none-machine");
}

/* A template that is not one command is a critical, and nothing is sent. */
static void
test_execute_wrong (void)
{
  static const char * const wrong[] = {
    "{'execute': 'stop', 'id': 1}",
    "{'arguments': {}}",
    "{}",
    "{'execute': 1}",
    "{'execute': 'stop', 'arguments': [1]}",
    "{'execute': 'stop', 'exec-oob': 'cont'}",
    "{'execute': 'stop', 'control': {'run-oob': true}}",
  };
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE,
                                                                             NULL, NULL);

  g_assert_nonnull (connection);
  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr(GError) error = NULL;
      GAsyncResult *slot = NULL;

      g_test_message ("%s", wrong[i]);
      g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL,
                             "qmp_connection_execute_printf_async: the template “*” is not *command*");
      qmp_connection_execute_printf_async (connection, NULL, qmp_test_store_result, &slot, wrong[i]);
      g_test_assert_expected_messages ();

      g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL,
                             "qmp_connection_execute_printf_sync: the template “*” is not *command*");
      g_assert_null (qmp_connection_execute_printf_sync (connection, NULL, &error, wrong[i]));
      g_assert_no_error (error);
      g_test_assert_expected_messages ();
      g_assert_null (slot);
    }

  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL,
                         "qmp_connection_execute_printf_sync: invalid JSON template “{'execute': %s}”: "
                         "%s is given NULL at byte 12");
  g_assert_null (qmp_connection_execute_printf_sync (connection, NULL, NULL, "{'execute': %s}",
                                                     (const char *) NULL));
  g_test_assert_expected_messages ();

  /* Nothing reached the server, and the connection is fine. */
  assert_nothing_sent (server, connection);
}

/* The typed commands build their arguments from templates: a string of
 * the caller's that is not UTF-8 is the template's critical, and nothing
 * is sent (it would not be JSON). */
static void
test_typed_not_utf8 (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE,
                                                                             NULL, NULL);
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  const char *bad = "caf\xe9";

  g_assert_nonnull (connection);

#define EXPECT_NOT_UTF8() \
  g_test_expect_message ("Qmp", G_LOG_LEVEL_CRITICAL, \
                         "qmp_json_build_object: invalid JSON template “*”: " \
                         "%s is given a string that is not UTF-8 at byte *")

  EXPECT_NOT_UTF8 ();
  g_assert_false (qmp_connection_device_del_sync (connection, bad, NULL, &error));
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  qmp_connection_device_del_async (connection, bad, NULL, qmp_test_store_result, &slot);
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  g_assert_false (qmp_connection_device_add_sync (connection, NULL, bad, "usb-storage", NULL, NULL, &error));
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  g_assert_false (qmp_connection_device_add_sync (connection, bad, "stick0", "usb-storage", NULL, NULL, &error));
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  g_assert_false (qmp_connection_device_add_sync (connection, "data0", "stick0", "usb-storage", bad, NULL, &error));
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  g_assert_false (qmp_connection_blockdev_add_sync (connection, "/tmp/caf\xe9.raw", "disk0", NULL, &error));
  g_test_assert_expected_messages ();
  EXPECT_NOT_UTF8 ();
  qmp_connection_blockdev_del_async (connection, bad, NULL, qmp_test_store_result, &slot);
  g_test_assert_expected_messages ();
#undef EXPECT_NOT_UTF8

  g_assert_no_error (error);
  g_assert_null (slot);
  assert_nothing_sent (server, connection);
  g_assert_null (slot);
}

/* Against QEMU: a string with quotes and backslashes goes through %s
 * intact, as QEMU's own error message shows. */
static void
test_execute_qemu (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) type = NULL;
  g_autoptr(JsonNode) none = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  const char *path = "/machine/\"it's\" \\ here";

  if (peer == NULL)
    return;

  connection = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);

  type = qmp_connection_execute_printf_sync (connection, NULL, &error,
                                             "{'execute': 'qom-get', 'arguments': {'path': %s, 'property': 'type'}}",
                                             "/machine");
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (type), ==, "none-machine");

  none = qmp_connection_execute_printf_sync (connection, NULL, &error,
                                             "{'execute': 'qom-get', 'arguments': {'path': %s, 'property': 'type'}}",
                                             path);
  g_assert_null (none);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
  expected = g_strdup_printf ("Device '%s' not found", path);
  g_assert_cmpstr (error->message, ==, expected);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/template/conversions", test_conversions);
  g_test_add_func ("/template/strings", test_strings);
  g_test_add_func ("/template/structure", test_structure);
  g_test_add_func ("/template/node", test_node);
  g_test_add_func ("/template/va", test_va);
  g_test_add_func ("/template/wrong", test_wrong_templates);
  g_test_add_func ("/template/execute", test_execute);
  g_test_add_func ("/template/execute-sync", test_execute_sync);
  g_test_add_func ("/template/execute-wrong", test_execute_wrong);
  g_test_add_func ("/template/execute-qemu", test_execute_qemu);
  g_test_add_func ("/template/typed-not-utf8", test_typed_not_utf8);

  return g_test_run ();
}
