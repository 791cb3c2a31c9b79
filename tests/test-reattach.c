/* test-reattach.c: a manager that restarts attaches again to its running
 * QEMU and rebuilds its state (the pattern of docs/reattach.md)
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

static JsonObject *
object_from (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static JsonNode *
execute (QmpConnection *connection,
         const char    *command,
         const char    *arguments_json)
{
  g_autoptr(JsonObject) arguments = arguments_json ? object_from (arguments_json) : NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *ret;

  ret = qmp_connection_execute_sync (connection, command, arguments, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);

  return ret;
}

static gboolean
array_has (JsonArray  *array,
           const char *member,
           const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (object, member, NULL), value) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
test_reattach (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *other_dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_autofree char *other_path = g_build_filename (other_dir, "other.sock", NULL);
  g_autofree char *other_address = g_strdup_printf ("unix:%s", other_path);
  g_autofree char *other_chardev = g_strdup_printf ("socket,id=other,path=%s,server=on,wait=off",
                                                    other_path);
  const char * const args[] = { "-chardev", other_chardev, "-mon", "chardev=other,mode=control", NULL };
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_PC_XHCI, args);
  g_autoptr(QmpConnection) other = NULL;
  g_autoptr(QmpConnection) first = NULL;
  g_autoptr(QmpConnection) again = NULL;
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autofree char *image = NULL;
  g_autofree char *create = NULL;

  g_assert_nonnull (peer);
  image = g_build_filename (qmp_test_peer_get_dir (peer), "job.img", NULL);
  g_assert_true (g_file_set_contents (image, "", 0, NULL));

  /* The manager's first life: a running VM with a device, a block node
   * and a finished job, and a descriptor handed over. */
  first = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (peer),
                                               QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_cont_sync (first, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (first, "device_add", "{\"driver\": \"usb-kbd\", \"id\": \"kbd0\", \"bus\": \"xhci.0\"}");
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (first, "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"node0\"}");
  g_clear_pointer (&ret, json_node_unref);
  create = g_strdup_printf ("{\"job-id\": \"job0\", \"options\": {\"driver\": \"file\", "
                            "\"filename\": \"%s\", \"size\": 1048576}}", image);
  {
    g_autoptr(JsonObject) arguments = object_from (create);
    g_autoptr(JsonObject) match = object_from ("{\"id\": \"job0\", \"status\": \"concluded\"}");

    event = qmp_connection_execute_until_event_sync (first, "blockdev-create", arguments,
                                                     "JOB_STATUS_CHANGE", match, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  /* Two descriptor sets: one that a block node opened, one unused. */
  {
    int fd = g_open (image, O_RDONLY | O_CLOEXEC, 0);
    g_autofree char *node = NULL;
    gint64 used_set;

    g_assert_cmpint (fd, >=, 0);
    g_assert_true (qmp_connection_add_fd_sync (first, fd, -1, "used", &used_set, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (qmp_connection_add_fd_sync (first, fd, -1, "unused", NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (close (fd), ==, 0);
    node = g_strdup_printf ("{\"driver\": \"raw\", \"node-name\": \"img0\", \"read-only\": true, "
                            "\"file\": {\"driver\": \"file\", \"read-only\": true, "
                            "\"filename\": \"/dev/fdset/%" G_GINT64_FORMAT "\"}}", used_set);
    g_clear_pointer (&ret, json_node_unref);
    ret = execute (first, "blockdev-add", node);
  }

  /* The manager goes away; QEMU goes on, and changes while nobody
   * listens on the manager's socket: another client (a second monitor)
   * stops the VM, and the STOP event reaches only that client. */
  g_assert_true (qmp_connection_close_sync (first, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&first);
  other = qmp_connection_new_for_address_sync (other_address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_connection_stop_sync (other, NULL, &error));
  g_assert_no_error (error);

  /* The second life: a new connection to the same socket. */
  again = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (peer),
                                               QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* The run state: a tracker asks query-status and follows the events
   * from then on, with no gap between the two. */
  tracker = qmp_run_state_tracker_new_sync (again, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_PAUSED);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));

  /* The devices, the block nodes and the jobs, as QEMU has them. */
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (again, "qom-list", "{\"path\": \"/machine/peripheral\"}");
  g_assert_true (array_has (json_node_get_array (ret), "name", "kbd0"));
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (again, "query-named-block-nodes", "{\"flat\": true}");
  g_assert_true (array_has (json_node_get_array (ret), "node-name", "node0"));
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (again, "query-jobs", NULL);
  g_assert_true (array_has (json_node_get_array (ret), "id", "job0"));
  g_assert_true (array_has (json_node_get_array (ret), "status", "concluded"));
  g_clear_pointer (&ret, json_node_unref);
  ret = execute (again, "job-dismiss", "{\"id\": \"job0\"}");
  {
    g_autoptr(JsonArray) sets = qmp_connection_query_fdsets_sync (again, NULL, &error);
    JsonObject *set;

    gboolean used_found = FALSE;

    /* The set a node uses stays.  An unused one may be gone: QEMU closes
     * unused descriptors when its last monitor goes away while the VM
     * runs (whether it did here depends on when QEMU saw the close). */
    g_assert_no_error (error);
    g_assert_cmpuint (json_array_get_length (sets), >=, 1);
    for (guint i = 0; i < json_array_get_length (sets); i++)
      {
        set = json_array_get_object_element (sets, i);
        if (array_has (json_object_get_array_member (set, "fds"), "opaque", "used"))
          used_found = TRUE;
      }
    g_assert_true (used_found);
  }

  g_assert_true (qmp_connection_close_sync (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_close_sync (other, NULL, &error));
  g_assert_no_error (error);
  g_unlink (image);
  g_clear_pointer (&peer, qmp_test_peer_free);
  g_unlink (other_path);
  g_rmdir (other_dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/reattach/state", test_reattach);

  return g_test_run ();
}
