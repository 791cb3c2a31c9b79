/* test-guest.c: the library against a real Linux guest booted under QEMU
 * (TCG): system_powerdown finishing on the guest's own SHUTDOWN, device_del
 * finishing when the guest released the device, the guest agent inside the
 * guest, and the run-state changes a guest causes.
 *
 * The guest is booted once per process (tests/qmp-test-guest.c) and every
 * test gets its own QEMU restored from it.
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/wait.h>

#include <qmp-glib.h>

#include "qmp-test-guest.h"
#include "qmp-test-utils.h"

#define WAIT_MS 60000   /* bound of what a working guest does in seconds */

typedef struct {
  QmpTestGuest *guest;
  QmpConnection *qmp;
  QmpConnection *agent;   /* connected on demand */
  gint64 start;
} Fixture;

/* @data: the extra QEMU arguments (const char * const *) */
static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->start = g_get_monotonic_time ();
  fixture->guest = qmp_test_guest_start (data);
  g_assert_nonnull (fixture->guest);
  fixture->qmp = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                                 "address", qmp_test_guest_get_qmp_address (fixture->guest),
                                 "timeout", WAIT_MS,
                                 NULL);
  g_assert_no_error (error);
  g_test_message ("guest restored and connected in %.2f s",
                  (g_get_monotonic_time () - fixture->start) / (double) G_USEC_PER_SEC);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  (void) data;
  g_clear_object (&fixture->agent);
  g_clear_object (&fixture->qmp);
  g_clear_pointer (&fixture->guest, qmp_test_guest_free);
  g_test_message ("test took %.2f s",
                  (g_get_monotonic_time () - fixture->start) / (double) G_USEC_PER_SEC);
}

static QmpConnection *
fixture_agent (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  if (fixture->agent == NULL)
    {
      fixture->agent = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                                       "address", qmp_test_guest_get_agent_address (fixture->guest),
                                       "flags", QMP_CONNECTION_FLAGS_GUEST_AGENT,
                                       "timeout", WAIT_MS,
                                       NULL);
      g_assert_no_error (error);
    }
  return fixture->agent;
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static JsonNode *
qmp (QmpConnection *connection,
     const char    *command,
     const char    *arguments_json)
{
  g_autoptr(JsonObject) arguments = arguments_json != NULL ? parse_object (arguments_json) : NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *ret;

  ret = qmp_connection_execute_sync (connection, command, arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  return ret;
}

/* Runs `sh -c SCRIPT` in the guest through the agent (guest-exec) and
 * returns its exit code. */
static gint64
guest_sh (Fixture    *fixture,
          const char *script)
{
  QmpConnection *agent = fixture_agent (fixture);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonArray) argv = json_array_new ();
  g_autoptr(JsonNode) ret = NULL;
  gint64 pid, deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  g_autoptr(GError) error = NULL;

  json_array_add_string_element (argv, "-c");
  json_array_add_string_element (argv, script);
  json_object_set_string_member (args, "path", "/bin/sh");
  json_object_set_array_member (args, "arg", g_steal_pointer (&argv));
  ret = qmp_connection_execute_sync (agent, "guest-exec", args, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  pid = json_object_get_int_member (json_node_get_object (ret), "pid");

  for (;;)
    {
      g_autoptr(JsonObject) sargs = json_object_new ();
      g_autoptr(JsonNode) status = NULL;
      JsonObject *o;

      json_object_set_int_member (sargs, "pid", pid);
      status = qmp_connection_execute_sync (agent, "guest-exec-status", sargs,
                                            QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
      o = json_node_get_object (status);
      if (json_object_get_boolean_member (o, "exited"))
        return json_object_get_int_member_with_default (o, "exitcode", -1);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
}

/* Until `sh -c SCRIPT` succeeds in the guest (bounded). */
static void
guest_wait_sh (Fixture    *fixture,
               const char *script)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  while (guest_sh (fixture, script) != 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static QmpEventQueue *
event_queue (Fixture    *fixture,
             const char *names)
{
  g_auto(GStrv) event_names = g_strsplit (names, ",", -1);

  return qmp_event_queue_new (fixture->qmp, (const char * const *) event_names, NULL, 0);
}

static void
assert_shut_down_by_guest (QmpEvent *event)
{
  JsonObject *data;

  g_assert_nonnull (event);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "SHUTDOWN");
  data = qmp_event_get_data (event);
  g_assert_true (json_object_get_boolean_member (data, "guest"));
  g_assert_cmpstr (json_object_get_string_member (data, "reason"), ==, "guest-shutdown");
}

/* Seconds between two events, by QEMU's timestamps. */
static double
event_interval (QmpEvent *first,
                QmpEvent *second)
{
  return g_date_time_difference (qmp_event_get_timestamp (second),
                                 qmp_event_get_timestamp (first)) / (double) G_USEC_PER_SEC;
}

/* ---- system_powerdown ---- */

static void
test_powerdown_sync (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = event_queue (fixture, "POWERDOWN,SHUTDOWN");
  g_autoptr(QmpEvent) powerdown = NULL;
  g_autoptr(QmpEvent) shutdown = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  (void) data;
  g_assert_true (qmp_connection_system_powerdown_sync (fixture->qmp, NULL, &error));
  g_assert_no_error (error);

  /* It finished on the guest's own SHUTDOWN, which the queue (fed in the
   * same place) therefore already holds, after the POWERDOWN. */
  powerdown = qmp_event_queue_pop (queue);
  shutdown = qmp_event_queue_pop (queue);
  g_assert_nonnull (powerdown);
  g_assert_cmpstr (qmp_event_get_name (powerdown), ==, "POWERDOWN");
  assert_shut_down_by_guest (shutdown);
  g_test_message ("POWERDOWN to the guest's SHUTDOWN: %.3f s",
                  event_interval (powerdown, shutdown));

  status = qmp_test_guest_wait_exit (fixture->guest, WAIT_MS);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static void
test_powerdown_async (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = event_queue (fixture, "SHUTDOWN");
  g_autoptr(QmpEvent) shutdown = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  qmp_connection_system_powerdown_async (fixture->qmp, NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_system_powerdown_finish (fixture->qmp, result, &error));
  g_assert_no_error (error);
  shutdown = qmp_event_queue_pop (queue);
  assert_shut_down_by_guest (shutdown);
  qmp_test_guest_wait_exit (fixture->guest, WAIT_MS);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_powerdown_ignored (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = event_queue (fixture, "POWERDOWN,SHUTDOWN");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;
  gboolean running = FALSE;

  (void) data;
  /* A guest that ignores the button from now on. */
  g_assert_cmpint (guest_sh (fixture, "kill $(cat /run/qmptest-powerbutton.pids)"), ==, 0);

  /* The timeout ends the call... */
  qmp_connection_set_timeout (fixture->qmp, 2000);
  g_assert_false (qmp_connection_system_powerdown_sync (fixture->qmp, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  qmp_connection_set_timeout (fixture->qmp, WAIT_MS);
  /* The command's POWERDOWN may come after the 2 s on a loaded machine;
   * it comes before the reply to a command sent now, and the queue has it
   * by then. */
  g_assert_cmpint (qmp_connection_query_status_sync (fixture->qmp, &running, NULL, &error),
                   ==, QMP_RUN_STATE_RUNNING);
  g_assert_no_error (error);
  event = qmp_event_queue_pop (queue);
  g_assert_nonnull (event);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "POWERDOWN");
  g_clear_pointer (&event, qmp_event_unref);

  /* ...and so does the cancellable, */
  qmp_connection_system_powerdown_async (fixture->qmp, cancellable, qmp_test_store_result, &slot);
  g_timeout_add (1000, cancel_cb, cancellable);
  result = qmp_test_wait_result (&slot);
  g_assert_false (qmp_connection_system_powerdown_finish (fixture->qmp, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* the connection stays usable, and the guest runs on. */
  g_assert_cmpint (qmp_connection_query_status_sync (fixture->qmp, &running, NULL, &error),
                   ==, QMP_RUN_STATE_RUNNING);
  g_assert_no_error (error);
  g_assert_true (running);
  g_assert_false (qmp_connection_is_closed (fixture->qmp));
  event = qmp_event_queue_pop (queue);
  g_assert_nonnull (event);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "POWERDOWN");
  g_clear_pointer (&event, qmp_event_unref);
  g_assert_null (qmp_event_queue_pop (queue));
  g_assert_cmpint (guest_sh (fixture, "true"), ==, 0);
}

/* ---- device_del ---- */

/* After device_del of @id finished: the queue of DEVICE_DELETED events
 * already holds the device's own event (the call finished on it), and
 * before it the virtio-backend decoy, which has no "device". */
static void
assert_unplug_events (QmpEventQueue *queue,
                      const char    *id)
{
  g_autoptr(QmpEvent) decoy = qmp_event_queue_pop (queue);
  g_autoptr(QmpEvent) own = qmp_event_queue_pop (queue);
  g_autofree char *decoy_path = g_strdup_printf ("/machine/peripheral/%s/virtio-backend", id);
  g_autofree char *own_path = g_strdup_printf ("/machine/peripheral/%s", id);

  g_assert_nonnull (decoy);
  g_assert_false (json_object_has_member (qmp_event_get_data (decoy), "device"));
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (decoy), "path"), ==, decoy_path);
  g_assert_nonnull (own);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (own), "device"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (own), "path"), ==, own_path);
}

static gboolean
peripheral_exists (Fixture    *fixture,
                   const char *id)
{
  g_autoptr(JsonNode) list = qmp (fixture->qmp, "qom-list", "{\"path\": \"/machine/peripheral\"}");
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (g_str_equal (json_object_get_string_member (o, "name"), id))
        return TRUE;
    }
  return FALSE;
}

static void
plug_disk (Fixture *fixture)
{
  g_autofree char *image = g_build_filename (qmp_test_guest_get_dir (fixture->guest),
                                             "disk.img", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (image, "", 0, &error));
  g_assert_cmpint (truncate (image, 1024 * 1024), ==, 0);
  g_assert_true (qmp_connection_blockdev_add_sync (fixture->qmp, image, "disk0", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_connection_device_add_sync (fixture->qmp, "disk0", "vd0",
                                                 "virtio-blk-pci", NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
unplug_virtio_blk (Fixture  *fixture,
                   gboolean  in_use)
{
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  plug_disk (fixture);
  guest_wait_sh (fixture, "test -b /dev/vda");
  if (in_use)
    {
      /* A reader that keeps /dev/vda open (guest-exec does not wait). */
      g_autoptr(JsonNode) ret = qmp (fixture_agent (fixture), "guest-exec",
                                     "{\"path\": \"/bin/sh\", \"arg\": [\"-c\", "
                                     "\"exec 3</dev/vda; echo > /run/held; exec sleep 600\"]}");

      g_assert_true (json_object_has_member (json_node_get_object (ret), "pid"));

      guest_wait_sh (fixture, "test -e /run/held");
    }

  queue = event_queue (fixture, "DEVICE_DELETED");
  start = g_get_monotonic_time ();
  g_assert_true (qmp_connection_device_del_sync (fixture->qmp, "vd0", NULL, &error));
  g_assert_no_error (error);
  g_test_message ("device_del of a virtio-blk-pci disk%s: %.3f s", in_use ? " in use" : "",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  assert_unplug_events (queue, "vd0");
  g_assert_false (peripheral_exists (fixture, "vd0"));
  g_assert_cmpint (guest_sh (fixture, "test -e /dev/vda"), !=, 0);
  g_assert_true (qmp_connection_blockdev_del_sync (fixture->qmp, "disk0", NULL, &error));
  g_assert_no_error (error);
}

static void
test_unplug_virtio_blk (Fixture       *fixture,
                        gconstpointer  data)
{
  (void) data;
  unplug_virtio_blk (fixture, FALSE);
}

/* Linux does not refuse to let a disk go because it is open: the eject
 * goes through, and the reader is left with a vanished device. */
static void
test_unplug_virtio_blk_in_use (Fixture       *fixture,
                               gconstpointer  data)
{
  (void) data;
  unplug_virtio_blk (fixture, TRUE);
}

static void
test_unplug_virtio_net (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  ret = qmp (fixture->qmp, "netdev_add", "{\"type\": \"user\", \"id\": \"net0\"}");
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp (fixture->qmp, "device_add",
             "{\"driver\": \"virtio-net-pci\", \"id\": \"nic0\", \"netdev\": \"net0\"}");
  guest_wait_sh (fixture, "test -e /sys/class/net/eth0");

  queue = event_queue (fixture, "DEVICE_DELETED");
  qmp_connection_device_del_async (fixture->qmp, "nic0", NULL, qmp_test_store_result, &slot);
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_device_del_finish (fixture->qmp, result, &error));
  g_assert_no_error (error);
  assert_unplug_events (queue, "nic0");
  g_assert_false (peripheral_exists (fixture, "nic0"));
  g_assert_cmpint (guest_sh (fixture, "test -e /sys/class/net/eth0"), !=, 0);
}

static void
test_unplug_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  plug_disk (fixture);
  guest_wait_sh (fixture, "test -b /dev/vda");

  /* The guest stops handling ACPI PCI hot-plug (GPE 1 of PIIX4): QEMU's
   * eject request stays unanswered. */
  g_assert_cmpint (guest_sh (fixture, "echo disable > /sys/firmware/acpi/interrupts/gpe01"),
                   ==, 0);

  queue = event_queue (fixture, "DEVICE_DELETED,DEVICE_UNPLUG_GUEST_ERROR");
  qmp_connection_set_timeout (fixture->qmp, 3000);
  g_assert_false (qmp_connection_device_del_sync (fixture->qmp, "vd0", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  qmp_connection_set_timeout (fixture->qmp, WAIT_MS);

  /* QEMU 7.2 reports nothing for PCI: no DEVICE_UNPLUG_GUEST_ERROR, no
   * DEVICE_DELETED; the device is still there, in QEMU and in the guest. */
  g_assert_null (qmp_event_queue_pop (queue));
  g_assert_true (peripheral_exists (fixture, "vd0"));
  g_assert_cmpint (guest_sh (fixture, "test -b /dev/vda"), ==, 0);
}

/* ---- the guest agent in the guest ---- */

static void
test_agent_commands (Fixture       *fixture,
                     gconstpointer  data)
{
  QmpConnection *agent = fixture_agent (fixture);
  g_autoptr(JsonNode) info = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *commands;
  gint64 guest_time;

  (void) data;
  info = qmp (agent, "guest-info", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "version"),
                   !=, "");
  commands = json_object_get_array_member (json_node_get_object (info), "supported_commands");
  g_assert_cmpuint (json_array_get_length (commands), >, 10);
  g_assert_cmpuint (qmp_connection_get_version_major (agent), >=, 7);

  ret = qmp (agent, "guest-ping", NULL);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
  g_clear_pointer (&ret, json_node_unref);

  /* The guest's clock, in ns: the guest kernel's, not the host's. */
  ret = qmp (agent, "guest-get-time", NULL);
  guest_time = json_node_get_int (ret);
  g_assert_cmpint (guest_time, >, 0);
  g_clear_pointer (&ret, json_node_unref);

  /* The kernel this guest runs is Debian's, not the host's. */
  g_assert_cmpint (guest_sh (fixture, "grep -q Debian /proc/version"), ==, 0);

  /* An application's own guest-sync-delimited: its reply comes after a
   * 0xFF byte. */
  json_object_set_int_member (args, "id", 4242);
  ret = qmp_connection_execute_sync (agent, "guest-sync-delimited", args,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_VALUE (ret) && json_node_get_value_type (ret) == G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (ret), ==, 4242);
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp (agent, "guest-ping", NULL);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
}

static void
test_agent_shutdown (Fixture       *fixture,
                     gconstpointer  data)
{
  QmpConnection *agent = fixture_agent (fixture);
  g_autoptr(QmpEvent) shutdown = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  qmp_connection_wait_event_async (fixture->qmp, "SHUTDOWN", NULL, NULL,
                                   qmp_test_store_result, &slot);

  /* guest-shutdown sends no reply: the call finishes once written. */
  ret = qmp_connection_execute_sync (agent, "guest-shutdown", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);

  result = qmp_test_wait_result (&slot);
  shutdown = qmp_connection_wait_event_finish (fixture->qmp, result, &error);
  g_assert_no_error (error);
  assert_shut_down_by_guest (shutdown);
  qmp_test_guest_wait_exit (fixture->guest, WAIT_MS);
}

/* ---- run-state changes the guest causes ---- */

static void
wait_run_state (QmpRunStateTracker *tracker,
                QmpRunState         state)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  while (qmp_run_state_tracker_get_run_state (tracker) != state)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
}

static void
test_guest_reboot (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(QmpEventQueue) queue = event_queue (fixture, "RESET,SHUTDOWN");
  g_autoptr(QmpEvent) reset = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *event_data;

  (void) data;
  tracker = qmp_run_state_tracker_new_sync (fixture->qmp, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_RUNNING);

  /* guest-exec returns before the command runs; its status is never read. */
  {
    g_autoptr(JsonNode) ret = qmp (fixture_agent (fixture), "guest-exec",
                                   "{\"path\": \"/bin/sh\", \"arg\": [\"-c\", \"sleep 0.2; reboot -f\"]}");

    g_assert_true (json_object_has_member (json_node_get_object (ret), "pid"));
  }
  reset = qmp_event_queue_pop_sync (queue, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (reset), ==, "RESET");
  event_data = qmp_event_get_data (reset);
  g_assert_true (json_object_get_boolean_member (event_data, "guest"));
  g_assert_cmpstr (json_object_get_string_member (event_data, "reason"), ==, "guest-reset");

  /* A reset is no stop: the machine runs on (and boots again). */
  wait_run_state (tracker, QMP_RUN_STATE_RUNNING);
  g_assert_true (qmp_run_state_tracker_get_running (tracker));
  g_assert_cmpint (qmp_connection_query_status_sync (fixture->qmp, NULL, NULL, &error),
                   ==, QMP_RUN_STATE_RUNNING);
}

static void
test_guest_panic (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) panicked = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  (void) data;
  tracker = qmp_run_state_tracker_new_sync (fixture->qmp, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_RUNNING);

  qmp_connection_wait_event_async (fixture->qmp, "GUEST_PANICKED", NULL, NULL,
                                   qmp_test_store_result, &slot);
  {
    g_autoptr(JsonNode) ret = qmp (fixture_agent (fixture), "guest-exec",
                                   "{\"path\": \"/bin/sh\", \"arg\": [\"-c\", "
                                   "\"sleep 0.2; echo 1 > /proc/sys/kernel/sysrq; "
                                   "echo c > /proc/sysrq-trigger\"]}");

    g_assert_true (json_object_has_member (json_node_get_object (ret), "pid"));
  }
  result = qmp_test_wait_result (&slot);
  panicked = qmp_connection_wait_event_finish (fixture->qmp, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (panicked), "action"),
                   ==, "pause");

  wait_run_state (tracker, QMP_RUN_STATE_GUEST_PANICKED);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));
  g_assert_cmpint (qmp_connection_query_status_sync (fixture->qmp, NULL, NULL, &error),
                   ==, QMP_RUN_STATE_GUEST_PANICKED);
}

/* ---- qmpctl against the guest ---- */

static char *
run_qmpctl (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) g_getenv ("QMP_TEST_QMPCTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("qmpctl: %s\n%s", error->message, err);
  return g_steal_pointer (&out);
}

/* qmpctl sends system_powerdown as the raw command: it prints QEMU's
 * return ({}) and exits at once; the guest then powers off by itself. */
static void
test_qmpctl (Fixture       *fixture,
             gconstpointer  data)
{
  const char *qga = qmp_test_guest_get_agent_address (fixture->guest);
  const char *qmp_address = qmp_test_guest_get_qmp_address (fixture->guest);
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) node = NULL;
  int status;

  (void) data;
  if (g_getenv ("QMP_TEST_QMPCTL") == NULL)
    {
      g_test_skip ("QMP_TEST_QMPCTL is not set (meson test sets it)");
      return;
    }
  /* The test's own connection would hold the monitor: qmpctl gets it. */
  g_clear_object (&fixture->qmp);

  out = run_qmpctl ((const char *[]) { "--guest-agent", "--socket", qga, "guest-info", NULL });
  node = json_from_string (out, NULL);
  g_assert_nonnull (node);
  g_assert_true (json_object_has_member (json_node_get_object (node), "supported_commands"));
  g_clear_pointer (&out, g_free);

  out = run_qmpctl ((const char *[]) { "--socket", qmp_address, "system_powerdown", NULL });
  g_assert_cmpstr (g_strstrip (out), ==, "{}");
  status = qmp_test_guest_wait_exit (fixture->guest, WAIT_MS);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_clear_pointer (&out, g_free);
  out = qmp_test_guest_get_console (fixture->guest);
  g_assert_nonnull (strstr (out, "power button"));
}

/* ---- a cold boot with /init's options ---- */

static void
test_cold_boot (void)
{
  const char * const args[] = { "-no-reboot", NULL };
  g_autoptr(QmpTestGuest) guest = NULL;
  g_autoptr(QmpConnection) agent = NULL;
  g_autoptr(QmpConnection) qmp_connection = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *console = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean running = FALSE;

  guest = qmp_test_guest_launch ("qmptest.ignore_powerbutton=1", args);
  g_assert_nonnull (guest);

  /* The agent connection is made before the guest has booted: its
   * guest-sync waits in the chardev until qemu-ga opens the port. */
  for (;;)
    {
      g_clear_error (&error);
      agent = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                              "address", qmp_test_guest_get_agent_address (guest),
                              "flags", QMP_CONNECTION_FLAGS_GUEST_AGENT,
                              "timeout", 4 * WAIT_MS,
                              NULL);
      if (agent != NULL ||
          !(g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
            g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)))
        break;
      console = qmp_test_guest_get_console (guest);
      g_assert_null (strstr (console, "QMPTEST-READY"));
      g_clear_pointer (&console, g_free);
      g_usleep (10 * 1000);
    }
  g_assert_no_error (error);
  g_test_message ("cold boot: the agent answered after %.1f s",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  ret = qmp (agent, "guest-ping", NULL);
  g_assert_true (qmp_test_guest_wait_ready (guest));

  /* qmptest.ignore_powerbutton=1: system_powerdown ends by its timeout,
   * and the connection and the guest go on. */
  qmp_connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                                   "address", qmp_test_guest_get_qmp_address (guest),
                                   "timeout", WAIT_MS,
                                   NULL);
  g_assert_no_error (error);
  qmp_connection_set_timeout (qmp_connection, 3000);
  g_assert_false (qmp_connection_system_powerdown_sync (qmp_connection, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  qmp_connection_set_timeout (qmp_connection, WAIT_MS);
  g_assert_cmpint (qmp_connection_query_status_sync (qmp_connection, &running, NULL, &error),
                   ==, QMP_RUN_STATE_RUNNING);
  g_assert_no_error (error);
  g_assert_true (running);
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp (agent, "guest-ping", NULL);
  console = qmp_test_guest_get_console (guest);
  g_assert_null (strstr (console, "power button"));
  g_test_message ("test took %.2f s",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static const char * const no_reboot[] = { "-no-reboot", NULL };
static const char * const panic_pause[] = { "-no-reboot", "-action", "panic=pause", NULL };

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, args) \
  g_test_add ("/guest/" path, Fixture, args, fixture_setup, func, fixture_teardown)
  ADD ("agent/commands", test_agent_commands, no_reboot);
  ADD ("agent/shutdown", test_agent_shutdown, no_reboot);
  ADD ("powerdown/sync", test_powerdown_sync, no_reboot);
  ADD ("powerdown/async", test_powerdown_async, no_reboot);
  ADD ("powerdown/ignored", test_powerdown_ignored, no_reboot);
  ADD ("unplug/virtio-blk", test_unplug_virtio_blk, no_reboot);
  ADD ("unplug/virtio-blk-in-use", test_unplug_virtio_blk_in_use, no_reboot);
  ADD ("unplug/virtio-net", test_unplug_virtio_net, no_reboot);
  ADD ("unplug/refused", test_unplug_refused, no_reboot);
  ADD ("run-state/reboot", test_guest_reboot, NULL);
  ADD ("run-state/panic", test_guest_panic, panic_pause);
  ADD ("tools/qmpctl", test_qmpctl, no_reboot);
#undef ADD
  g_test_add_func ("/guest/cold-boot/agent-early-button-ignored", test_cold_boot);

  ret = g_test_run ();
  if (qmp_test_guest_get_boot_seconds () > 0)
    g_test_message ("guest boot: %.1f s", qmp_test_guest_get_boot_seconds ());
  qmp_test_guest_cleanup ();
  return ret;
}
