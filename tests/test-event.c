/* test-event.c: QmpEvent on its own
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <qmp-glib.h>

static JsonObject *
object_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static void
test_event_basics (void)
{
  g_autoptr(JsonObject) data = object_from_json ("{\"device\": \"kbd0\", \"path\": \"/machine/peripheral/kbd0\"}");
  g_autoptr(GDateTime) when = g_date_time_new_utc (2026, 11, 25, 13, 0, 1.000042);
  g_autoptr(QmpEvent) event = qmp_event_new ("DEVICE_DELETED", data, when);
  g_autoptr(QmpEvent) bare = qmp_event_new ("STOP", NULL, NULL);
  QmpEvent *ref;

  g_assert_cmpstr (qmp_event_get_name (event), ==, "DEVICE_DELETED");
  g_assert_true (qmp_event_get_data (event) == data);
  g_assert_true (g_date_time_equal (qmp_event_get_timestamp (event), when));
  g_assert_null (qmp_event_get_data (bare));
  g_assert_null (qmp_event_get_timestamp (bare));

  ref = qmp_event_ref (event);
  g_assert_true (ref == event);
  qmp_event_unref (ref);

  /* A boxed copy is a reference: cheap and shareable between threads. */
  ref = g_boxed_copy (QMP_TYPE_EVENT, event);
  g_assert_true (ref == event);
  g_boxed_free (QMP_TYPE_EVENT, ref);
}

static void
test_event_matches (void)
{
  g_autoptr(JsonObject) data = object_from_json ("{\"device\": \"kbd0\", \"n\": 3,"
                                                 " \"nested\": {\"a\": [1, 2, {\"b\": null}]}}");
  g_autoptr(QmpEvent) event = qmp_event_new ("DEVICE_DELETED", data, NULL);
  g_autoptr(QmpEvent) bare = qmp_event_new ("DEVICE_DELETED", NULL, NULL);
  g_autoptr(JsonObject) empty = json_object_new ();
  g_autoptr(JsonObject) device = object_from_json ("{\"device\": \"kbd0\"}");
  g_autoptr(JsonObject) other = object_from_json ("{\"device\": \"kbd1\"}");
  g_autoptr(JsonObject) missing = object_from_json ("{\"id\": \"kbd0\"}");
  g_autoptr(JsonObject) deep = object_from_json ("{\"nested\": {\"a\": [1, 2, {\"b\": null}]}, \"n\": 3}");
  g_autoptr(JsonObject) deep_other = object_from_json ("{\"nested\": {\"a\": [1, 2, {\"b\": 0}]}}");
  g_autoptr(JsonObject) wrong_type = object_from_json ("{\"n\": \"3\"}");

  g_assert_true (qmp_event_matches (event, "DEVICE_DELETED", NULL));
  g_assert_true (qmp_event_matches (event, NULL, NULL));
  g_assert_true (qmp_event_matches (event, "DEVICE_DELETED", empty));
  g_assert_false (qmp_event_matches (event, "SHUTDOWN", NULL));
  g_assert_false (qmp_event_matches (event, "device_deleted", NULL));
  g_assert_true (qmp_event_matches (event, "DEVICE_DELETED", device));
  g_assert_false (qmp_event_matches (event, "DEVICE_DELETED", other));
  g_assert_false (qmp_event_matches (event, "DEVICE_DELETED", missing));
  g_assert_true (qmp_event_matches (event, "DEVICE_DELETED", deep));
  g_assert_false (qmp_event_matches (event, "DEVICE_DELETED", deep_other));
  g_assert_false (qmp_event_matches (event, "DEVICE_DELETED", wrong_type));

  /* The child DEVICE_DELETED that QEMU sends for a usb-storage's LUN has
   * no "device": it must never match a filter on one. */
  g_assert_true (qmp_event_matches (bare, "DEVICE_DELETED", empty));
  g_assert_false (qmp_event_matches (bare, "DEVICE_DELETED", device));
}

static void
test_event_sealed (void)
{
  g_autoptr(JsonObject) data = object_from_json ("{\"a\": 1}");
  g_autoptr(QmpEvent) event = qmp_event_new ("X", data, NULL);

  /* The event's data is immutable: events are shared between threads. */
  g_assert_true (json_object_is_immutable (qmp_event_get_data (event)));
}

static void
test_event_invalid (void)
{
  if (g_test_subprocess ())
    {
      g_assert_null (qmp_event_new (NULL, NULL, NULL));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*qmp_event_new*name != NULL*");
}

/* An event made here has its data as JSON text too; one without data has
 * none.  (Events from a server keep the server's text: test-qmpctl.) */
static void
test_event_data_json (void)
{
  g_autoptr(JsonObject) data = json_object_new ();
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(QmpEvent) bare = qmp_event_new ("STOP", NULL, NULL);
  g_autoptr(JsonNode) parsed = NULL;

  json_object_set_string_member (data, "device", "vd0");
  json_object_set_int_member (data, "n", -42);
  event = qmp_event_new ("DEVICE_DELETED", data, NULL);

  parsed = json_from_string (qmp_event_get_data_json (event), NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (parsed), "device"), ==, "vd0");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (parsed), "n"), ==, -42);
  g_assert_null (qmp_event_get_data_json (bare));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/event/basics", test_event_basics);
  g_test_add_func ("/event/matches", test_event_matches);
  g_test_add_func ("/event/sealed", test_event_sealed);
  g_test_add_func ("/event/invalid", test_event_invalid);
  g_test_add_func ("/event/data-json", test_event_data_json);

  return g_test_run ();
}
