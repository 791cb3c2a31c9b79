/* test-greeting-again.c: QEMU's monitor reset by a second greeting
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A client that connects while QEMU starts can get the greeting twice:
 * the monitor's I/O thread and the main loop both see the connection
 * open, and each open puts the monitor back in capabilities negotiation
 * mode.  Seen with qemu-storage-daemon 7.2 and with qemu-system 10.0
 * under load, about once in a thousand starts, which is why the real
 * peers cannot show it on demand: the scripted mock plays the racing
 * QEMU, and checks what the library writes back.
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

static const char greeting[] =
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, "
  "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}";

static JsonObject *
receive_command (QmpMock    *mock,
                 const char *name)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  JsonObject *command;

  /* The library writes from its own thread; the context turns meanwhile
   * only for what it may emit here.  A peer that hung up, or nothing
   * within 10 s, fails in qmp_mock_receive(). */
  while (qmp_mock_receive_nothing (mock, 1) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  command = qmp_mock_receive (mock);
  g_assert_cmpstr (json_object_get_string_member_with_default (command, "execute", ""), ==, name);

  return command;
}

static void
assert_round_trip (QmpConnection *connection,
                   QmpMock       *mock)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_connection_execute_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  command = receive_command (mock, "query-status");
  qmp_mock_reply (mock, command, "{\"status\": \"running\", \"running\": true}");
  result = qmp_test_wait_result (&slot);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
  g_assert_false (qmp_connection_is_closed (connection));
}

/* The second greeting comes during the handshake: before the client's
 * qmp_capabilities (data: "early"), or between it and its reply.  Either
 * way the client negotiates once more before construction finishes, and
 * takes either answer: success (the reset came after its first
 * qmp_capabilities ran) or "already complete" (before). */
typedef struct
{
  gboolean early;
  gboolean already_complete;
} DuringCase;

static void
test_during_handshake (gconstpointer data)
{
  const DuringCase *c = data;
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  qmp_mock_send (mock, greeting);
  if (c->early)
    qmp_mock_send (mock, greeting);
  qmp_connection_new_async (qmp_mock_get_client_stream (mock), QMP_CONNECTION_FLAGS_NONE, NULL,
                            qmp_test_store_result, &slot);

  first = receive_command (mock, "qmp_capabilities");
  g_assert_false (json_object_has_member (first, "arguments"));
  if (!c->early)
    qmp_mock_send (mock, greeting);
  qmp_mock_reply (mock, first, "{}");

  again = receive_command (mock, "qmp_capabilities");
  g_assert_false (json_object_has_member (again, "arguments"));
  if (c->already_complete)
    qmp_mock_reply_error (mock, again, "CommandNotFound",
                          "Capabilities negotiation is already complete, command ignored");
  else
    qmp_mock_reply (mock, again, "{}");

  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, 10);
  assert_round_trip (connection, mock);
  g_assert_true (qmp_mock_receive_nothing (mock, 50));
}

static QmpConnection *
connect_oob (QmpMock *mock)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  qmp_mock_send (mock, greeting);
  qmp_connection_new_async (qmp_mock_get_client_stream (mock), QMP_CONNECTION_FLAGS_OOB, NULL,
                            qmp_test_store_result, &slot);
  command = receive_command (mock, "qmp_capabilities");
  qmp_mock_reply (mock, command, "{}");
  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_get_oob_enabled (connection));

  return connection;
}

static void
assert_oob_enabled (JsonObject *command)
{
  JsonObject *arguments = json_object_get_object_member (command, "arguments");
  JsonArray *enable = json_object_get_array_member (arguments, "enable");

  g_assert_cmpuint (json_array_get_length (enable), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (enable, 0), ==, "oob");
}

/* After the handshake: the client negotiates again, with the capabilities
 * it had (out-of-band execution here), before the commands that come
 * next; the connection goes on. */
static void
test_after_handshake (void)
{
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  g_autoptr(QmpConnection) connection = connect_oob (mock);
  g_autoptr(JsonObject) again = NULL;

  qmp_mock_send (mock, greeting);
  again = receive_command (mock, "qmp_capabilities");
  assert_oob_enabled (again);
  qmp_mock_reply (mock, again, "{}");
  assert_round_trip (connection, mock);
  g_assert_true (qmp_mock_receive_nothing (mock, 50));
}

/* A peer that repeats its greeting without reading makes the client write
 * one qmp_capabilities at a time: a second once the first is answered
 * (one of the greetings may have come after the first ran), and no more. */
static void
test_repeated (void)
{
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  g_autoptr(QmpConnection) connection = connect_oob (mock);
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) second = NULL;

  for (guint i = 0; i < 1000; i++)
    qmp_mock_send (mock, greeting);

  first = receive_command (mock, "qmp_capabilities");
  assert_oob_enabled (first);
  g_assert_true (qmp_mock_receive_nothing (mock, 100));
  qmp_mock_reply_error (mock, first, "CommandNotFound",
                        "Capabilities negotiation is already complete, command ignored");
  second = receive_command (mock, "qmp_capabilities");
  assert_oob_enabled (second);
  g_assert_true (qmp_mock_receive_nothing (mock, 100));
  qmp_mock_reply (mock, second, "{}");

  assert_round_trip (connection, mock);
  g_assert_true (qmp_mock_receive_nothing (mock, 50));
}

int
main (int    argc,
      char **argv)
{
  static const DuringCase during[] = {
    { FALSE, FALSE }, { FALSE, TRUE }, { TRUE, FALSE }, { TRUE, TRUE },
  };

  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/greeting-again/before-reply", &during[0], test_during_handshake);
  g_test_add_data_func ("/greeting-again/before-reply-already-complete", &during[1],
                        test_during_handshake);
  g_test_add_data_func ("/greeting-again/before-command", &during[2], test_during_handshake);
  g_test_add_data_func ("/greeting-again/before-command-already-complete", &during[3],
                        test_during_handshake);
  g_test_add_func ("/greeting-again/after-handshake", test_after_handshake);
  g_test_add_func ("/greeting-again/repeated", test_repeated);

  return g_test_run ();
}
