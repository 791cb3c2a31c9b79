/* query-status.c: connect to a QEMU, print its run state, watch for STOP
 *
 *   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
 *   ./query-status unix:/tmp/qmp.sock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <qmp-glib.h>

static void
on_stop (QmpConnection *connection,
         QmpEvent      *event,
         gpointer       user_data)
{
  GMainLoop *loop = user_data;
  GDateTime *timestamp = qmp_event_get_timestamp (event);   /* the server may send none */
  g_autofree char *when = timestamp ? g_date_time_format_iso8601 (timestamp) : g_strdup ("an unknown time");

  g_print ("%s at %s\n", qmp_event_get_name (event), when);
  g_main_loop_quit (loop);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonNode *member;

  if (argc != 2)
    {
      g_printerr ("Usage: %s unix:PATH|tcp:HOST:PORT\n", argv[0]);
      return 2;
    }

  connection = qmp_connection_new_for_address_sync (argv[1], QMP_CONNECTION_FLAGS_NONE,
                                                    NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  g_print ("Connected to QEMU %u.%u.%u\n",
           qmp_connection_get_version_major (connection),
           qmp_connection_get_version_minor (connection),
           qmp_connection_get_version_micro (connection));

  status = qmp_connection_execute_sync (connection, "query-status", NULL,
                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  if (status == NULL)
    {
      g_printerr ("query-status: %s\n", error->message);
      return 1;
    }

  /* The reply is the server's to choose: check its types before reading it
   * (json-glib's getters emit a critical on a member of another type). */
  object = JSON_NODE_HOLDS_OBJECT (status) ? json_node_get_object (status) : NULL;
  member = object != NULL ? json_object_get_member (object, "status") : NULL;
  if (member == NULL || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      g_printerr ("query-status: the reply has no status\n");
      return 1;
    }
  g_print ("Status: %s\n", json_node_get_string (member));

  /* Events arrive as the detailed "event" signal, in this thread's main
   * context; "stop" makes QEMU send STOP. */
  g_signal_connect (connection, "event::STOP", G_CALLBACK (on_stop), loop);
  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, NULL, NULL);
  g_main_loop_run (loop);

  return 0;
}
