/* test-pause.c: a downstream project's g_test suite, with QmpTestServer
 * in place of QEMU.  It uses only <qmp-glib.h> and pkg-config:
 *
 *   cc -o test-pause test-pause.c $(pkg-config --cflags --libs qmp-glib-1.0)
 *
 * (tests/install builds it so against an installed qmp-glib; this file is
 * also the C example of docs/testing.md)
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <qmp-glib.h>

/* The code under test: pauses the VM unless it is paused already. */
static gboolean
pause_vm (QmpConnection  *connection,
          gboolean       *paused,
          GError        **error)
{
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) ret = NULL;
  JsonObject *object;

  status = qmp_connection_execute_sync (connection, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, error);
  if (status == NULL)
    return FALSE;

  object = json_node_get_object (status);
  if (g_strcmp0 (json_object_get_string_member_with_default (object, "status", ""), "paused") == 0)
    {
      *paused = FALSE;
      return TRUE;
    }

  ret = qmp_connection_execute_sync (connection, "stop", NULL,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, error);
  *paused = ret != NULL;
  return ret != NULL;
}

typedef struct
{
  QmpTestServer *server;
  QmpConnection *connection;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->server = qmp_test_server_new ();
  fixture->connection = qmp_test_server_new_connection_sync (fixture->server,
                                                             QMP_CONNECTION_FLAGS_NONE,
                                                             NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->connection);
  g_clear_object (&fixture->server);
}

static void
set_status (QmpTestServer *server,
            const char    *json)
{
  g_autoptr(JsonNode) status = json_from_string (json, NULL);

  qmp_test_server_set_reply (server, "query-status", status);
}

static void
test_pause_running (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  gboolean paused = FALSE;

  set_status (fixture->server, "{\"status\": \"running\", \"running\": true}");
  qmp_test_server_set_reply (fixture->server, "stop", NULL);
  qmp_test_server_add_event_before_reply (fixture->server, "stop", "STOP", NULL);

  g_assert_true (pause_vm (fixture->connection, &paused, &error));
  g_assert_no_error (error);
  g_assert_true (paused);

  /* What the code sent, in order */
  command = qmp_test_server_next_command_sync (fixture->server, NULL, &error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "qmp_capabilities");
  g_clear_object (&command);
  command = qmp_test_server_next_command_sync (fixture->server, NULL, &error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "query-status");
  g_clear_object (&command);
  command = qmp_test_server_next_command_sync (fixture->server, NULL, &error);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "stop");
  g_assert_null (qmp_test_server_command_get_arguments (command));
}

static void
test_pause_paused (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  gboolean paused = TRUE;

  set_status (fixture->server, "{\"status\": \"paused\", \"running\": false}");

  g_assert_true (pause_vm (fixture->connection, &paused, &error));
  g_assert_false (paused);

  /* No stop was sent */
  commands = qmp_test_server_get_commands (fixture->server);
  g_assert_cmpuint (commands->len, ==, 2);
}

static void
test_pause_error (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gboolean paused = FALSE;

  set_status (fixture->server, "{\"status\": \"running\", \"running\": true}");
  qmp_test_server_set_error (fixture->server, "stop", "GenericError", "Migration is in progress");

  g_assert_false (pause_vm (fixture->connection, &paused, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "Migration is in progress");
}

static void
test_pause_vanished (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gboolean paused = FALSE;

  /* QEMU goes away in the middle of its answer */
  set_status (fixture->server, "{\"status\": \"running\", \"running\": true}");
  qmp_test_server_close_after (fixture->server, 10);

  g_assert_false (pause_vm (fixture->connection, &paused, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/pause/running", Fixture, NULL, fixture_set_up, test_pause_running, fixture_tear_down);
  g_test_add ("/pause/paused", Fixture, NULL, fixture_set_up, test_pause_paused, fixture_tear_down);
  g_test_add ("/pause/error", Fixture, NULL, fixture_set_up, test_pause_error, fixture_tear_down);
  g_test_add ("/pause/vanished", Fixture, NULL, fixture_set_up, test_pause_vanished, fixture_tear_down);

  return g_test_run ();
}
