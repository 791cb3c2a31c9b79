/* test-json-text.c: qmp_connection_execute_text_*(), arguments and return
 * as JSON text, against a real qemu-system-x86_64 and, for what goes on
 * the wire, a scripted mock
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

typedef struct
{
  QmpTestPeer *peer;
  QmpConnection *connection;
} Fixture;

static void
setup (Fixture       *fixture,
       gconstpointer  data)
{
  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
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

static char *
execute_text (QmpConnection *connection,
              const char    *command,
              const char    *arguments_json)
{
  g_autoptr(GError) error = NULL;
  char *text = qmp_connection_execute_text_sync (connection, command, arguments_json,
                                                 QMP_EXECUTE_FLAGS_NONE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (text);

  return text;
}

/* A uint64 above G_MAXINT64 goes to QEMU and comes back digit for digit:
 * neither side holds it in a JsonNode, which cannot. */
static void
test_qemu_big_integer (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *set = NULL;
  g_autofree char *params = NULL;
  g_autoptr(JsonNode) tree = NULL;

  set = execute_text (fixture->connection, "migrate-set-parameters",
                      "{\"max-bandwidth\": 9223372036854788153}");
  g_assert_cmpstr (set, ==, "{}");

  params = execute_text (fixture->connection, "query-migrate-parameters", NULL);
  g_assert_nonnull (strstr (params, "\"max-bandwidth\": 9223372036854788153"));

  /* The tree of the same reply cannot say it: json-glib has no uint64,
   * and the gint64 of the same bits is negative. */
  tree = qmp_connection_execute_sync (fixture->connection, "query-migrate-parameters", NULL,
                                      QMP_EXECUTE_FLAGS_NONE, NULL, NULL);
  g_assert_nonnull (tree);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (tree), "max-bandwidth"), <, 0);
}

static void
test_qemu_async (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  qmp_connection_execute_text_async (fixture->connection, "qom-get",
                                     "{\"path\": \"/machine\", \"property\": \"type\"}",
                                     QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  text = qmp_connection_execute_text_finish (fixture->connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "\"none-machine\"");
  g_clear_object (&result);
  g_clear_pointer (&text, g_free);

  /* A QMP error comes as from the other execute calls. */
  qmp_connection_execute_text_async (fixture->connection, "qom-get",
                                     "{\"path\": \"/nowhere\", \"property\": \"type\"}",
                                     QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  text = qmp_connection_execute_text_finish (fixture->connection, result, &error);
  g_assert_null (text);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
}

/* Checked against the schema when asked to, as the JsonObject calls are. */
static void
test_qemu_validate (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  text = qmp_connection_execute_text_sync (fixture->connection, "qom-get", "{\"path\": \"/machine\"}",
                                           QMP_EXECUTE_FLAGS_VALIDATE, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_clear_error (&error);

  text = qmp_connection_execute_text_sync (fixture->connection, "qom-get",
                                           "{\"path\": \"/machine\", \"property\": \"type\"}",
                                           QMP_EXECUTE_FLAGS_VALIDATE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "\"none-machine\"");
  g_clear_pointer (&text, g_free);

  /* The schema is there now, then the same for the property. */
  qmp_connection_set_validate_arguments (fixture->connection, TRUE);
  qmp_connection_execute_text_async (fixture->connection, "qom-get", "{\"path\": 1}",
                                     QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_null (qmp_connection_execute_text_finish (fixture->connection, result, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
}

/* The schema is fetched first: the call waits for it, then goes on. */
static void
test_qemu_validate_async_first (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  qmp_connection_execute_text_async (fixture->connection, "qom-get",
                                     "{\"path\": \"/machine\", \"property\": \"type\"}",
                                     QMP_EXECUTE_FLAGS_VALIDATE, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  text = qmp_connection_execute_text_finish (fixture->connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "\"none-machine\"");
}

static const char *const not_objects[] = {
  "", "  ", "[1]", "\"a\"", "1", "null", "{", "{\"a\": }", "{} {}", "{}]", "{\"a\": 1,}",
  "{\"a\": \"\n\"}",      /* a raw line break in a string is not JSON */
};

static void
check_refused (QmpConnection *connection,
               const char    *arguments_json)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  text = qmp_connection_execute_text_sync (connection, "query-status", arguments_json,
                                           QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“query-status”"));
  g_clear_error (&error);

  qmp_connection_execute_text_async (connection, "query-status", arguments_json,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_null (qmp_connection_execute_text_finish (connection, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_qemu_not_an_object (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *status = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (not_objects); i++)
    check_refused (fixture->connection, not_objects[i]);

  /* The connection is as it was. */
  status = execute_text (fixture->connection, "query-status", NULL);
  g_assert_nonnull (strstr (status, "\"status\""));
}

/* On the wire: the arguments on the command's line, their line breaks
 * white space; refused arguments never sent. */
static void
test_mock_wire (void)
{
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  g_autoptr(QmpConnection) connection = qmp_mock_connect (mock, QMP_CONNECTION_FLAGS_NONE, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  JsonObject *arguments;

  for (gsize i = 0; i < G_N_ELEMENTS (not_objects); i++)
    check_refused (connection, not_objects[i]);
  g_assert_true (qmp_mock_receive_nothing (mock, 100));

  qmp_connection_execute_text_async (connection, "cmd",
                                     "\r\n {\n  \"a\": 1,\r\n  \"b\": [\"x\\ny\", {}]\n}\n",
                                     QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &result);
  command = qmp_mock_receive (mock);
  g_assert_cmpstr (json_object_get_string_member (command, "execute"), ==, "cmd");
  arguments = json_object_get_object_member (command, "arguments");
  g_assert_nonnull (arguments);
  g_assert_cmpint (json_object_get_size (arguments), ==, 2);
  g_assert_cmpint (json_object_get_int_member (arguments, "a"), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (arguments, "b"), 0),
                   ==, "x\ny");
  /* Written by hand: json-glib could not write these numbers. */
  line = g_strdup_printf ("{\"return\": [1, 18446744073709551615, -0, 1e400], \"id\": %" G_GINT64_FORMAT "}\r\n",
                          json_object_get_int_member (command, "id"));
  qmp_mock_send_raw (mock, line, strlen (line));
  result = qmp_test_wait_result (&result);
  text = qmp_connection_execute_text_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "[1, 18446744073709551615, -0, 1e400]");

  /* No arguments: no "arguments" member. */
  g_clear_object (&result);
  g_clear_pointer (&command, json_object_unref);
  g_clear_pointer (&text, g_free);
  qmp_connection_execute_text_async (connection, "cmd", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                     qmp_test_store_result, &result);
  command = qmp_mock_receive (mock);
  g_assert_false (json_object_has_member (command, "arguments"));
  qmp_mock_reply (mock, command, NULL);
  result = qmp_test_wait_result (&result);
  text = qmp_connection_execute_text_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "{}");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)

  ADD ("/json-text/qemu/big-integer", test_qemu_big_integer);
  ADD ("/json-text/qemu/async", test_qemu_async);
  ADD ("/json-text/qemu/validate", test_qemu_validate);
  ADD ("/json-text/qemu/validate-async-first", test_qemu_validate_async_first);
  ADD ("/json-text/qemu/not-an-object", test_qemu_not_an_object);
  g_test_add_func ("/json-text/mock/wire", test_mock_wire);

#undef ADD

  return g_test_run ();
}
