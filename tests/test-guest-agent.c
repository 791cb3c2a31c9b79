/* test-guest-agent.c: QmpConnection with QMP_CONNECTION_FLAGS_GUEST_AGENT,
 * against a real qemu-ga run on the host and a scripted one
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

static void
get_installed_version (guint *major,
                       guint *minor,
                       guint *micro)
{
  const char *argv[] = { "/usr/sbin/qemu-ga", "--version", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *p;

  if (g_getenv ("QMP_TEST_QGA") != NULL)
    argv[0] = g_getenv ("QMP_TEST_QGA");

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, &error);
  g_assert_no_error (error);
  /* "QEMU Guest Agent 7.2.22" */
  p = strstr (out, "Agent ");
  g_assert_nonnull (p);
  g_assert_cmpint (sscanf (p, "Agent %u.%u.%u", major, minor, micro), ==, 3);
}

static void
test_real_guest_agent (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QGA, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  guint major, minor, micro;

  g_assert_nonnull (peer);
  connection = qmp_test_guest_agent_connect (peer);

  /* No greeting: the version comes from guest-info. */
  get_installed_version (&major, &minor, &micro);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, major);
  g_assert_cmpuint (qmp_connection_get_version_minor (connection), ==, minor);
  g_assert_cmpuint (qmp_connection_get_version_micro (connection), ==, micro);
  g_assert_cmpstrv (qmp_connection_get_capabilities (connection), ((const char *[]) { NULL }));

  ret = qmp_connection_execute_sync (connection, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
  g_clear_pointer (&ret, json_node_unref);

  ret = qmp_connection_execute_sync (connection, "nope", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "The command nope has not been found");
}

static void
on_pipelined (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  guint *n_done = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);

  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "version"));
  (*n_done)++;
}

static void
test_real_reconnect_pipelined (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QGA, NULL);
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) second = NULL;
  g_autoptr(GError) error = NULL;
  guint n_done = 0;
  const guint n_calls = qmp_test_scale (200);

  g_assert_nonnull (peer);

  /* A client that leaves after its calls... (not before their replies:
   * qemu-ga 7.2 in unix-listen mode exits when a client hangs up while it
   * writes to it) */
  first = qmp_test_guest_agent_connect (peer);
  for (guint i = 0; i < 20; i++)
    qmp_connection_execute_async (first, "guest-info", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                  on_pipelined, &n_done);
  while (n_done < 20)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (qmp_connection_close_sync (first, NULL, &error));
  n_done = 0;

  /* ...does not disturb the next one, whose calls are pipelined. */
  second = qmp_test_guest_agent_connect (peer);
  for (guint i = 0; i < n_calls; i++)
    qmp_connection_execute_async (second, "guest-info", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                  on_pipelined, &n_done);
  while (n_done < n_calls)
    g_main_context_iteration (NULL, TRUE);
}

/* Scripted, on QmpTestServer playing an agent: what a real qemu-ga on the
 * host must never be asked to do. */
static void
test_mock_no_reply_and_garbage (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpTestHeld) held = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonNode) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sync_reply = NULL;
  GAsyncResult *slot = NULL;
  gint64 token;

  qmp_test_server_set_guest_agent (server, TRUE);
  held = qmp_test_held_new (server);
  stream = qmp_test_server_new_stream (server, &error);
  g_assert_no_error (error);
  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_GUEST_AGENT, NULL, qmp_test_store_result, &slot);

  command = qmp_test_held_next (held, "guest-sync-delimited");
  token = json_object_get_int_member (qmp_test_server_command_get_arguments (command), "id");

  /* The remains of an earlier client's reply, then the delimiter. */
  qmp_test_server_send_raw (server, (const guint8 *) "{\"return\": {}, \"id\": 9}\n{\"retu",
                            strlen ("{\"return\": {}, \"id\": 9}\n{\"retu"));
  qmp_test_server_send_raw (server, (const guint8 *) "\xff", 1);
  sync_reply = g_strdup_printf ("{\"return\": %" G_GINT64_FORMAT ", \"id\": %" G_GINT64_FORMAT "}\n",
                                token, json_node_get_int (qmp_test_server_command_get_id (command)));
  qmp_test_server_send_raw (server, (const guint8 *) sync_reply, strlen (sync_reply));
  g_clear_object (&command);

  /* Attempts sent again before the answer to the first was read (a slow
   * machine, valgrind) come before guest-info: abandoned, not answered. */
  command = qmp_test_held_next (held, NULL);
  while (g_str_equal (qmp_test_server_command_get_name (command), "guest-sync-delimited"))
    {
      g_clear_object (&command);
      command = qmp_test_held_next (held, NULL);
    }
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-info");
  info = json_from_string ("{\"version\": \"7.2.0\", \"supported_commands\": []}", NULL);
  qmp_test_server_command_reply (command, info);
  g_clear_object (&command);

  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qmp_connection_get_version_minor (connection), ==, 2);
  g_clear_object (&result);

  /* guest-shutdown answers nothing when it works: the call is done once
   * written, and does not hold a slot.  (A _sync call: the server's
   * handler cannot run meanwhile, and need not.) */
  ret = qmp_connection_execute_sync (connection, "guest-shutdown", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_NULL (ret));
  command = qmp_test_held_next (held, "guest-shutdown");
  g_clear_object (&command);

  /* The next command is unaffected. */
  qmp_connection_execute_async (connection, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  command = qmp_test_held_next (held, "guest-ping");
  qmp_test_server_command_reply (command, NULL);
  result = qmp_test_wait_result (&slot);
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/guest-agent/real", test_real_guest_agent);
  g_test_add_func ("/guest-agent/real-reconnect-pipelined", test_real_reconnect_pipelined);
  g_test_add_func ("/guest-agent/mock-no-reply-and-garbage", test_mock_no_reply_and_garbage);

  return g_test_run ();
}
