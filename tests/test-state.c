/* test-state.c: QmpEventQueue and QmpRunStateTracker, against real QEMU
 * (and the mock server for what QEMU does not send on demand)
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

typedef struct
{
  QmpTestPeer *peer;
  QmpConnection *connection;
} Fixture;

static void
setup_real (Fixture       *fixture,
            gconstpointer  data)
{
  /* -M pc -S: the machine starts in prelaunch. */
  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_PC_XHCI, NULL);
  g_assert_nonnull (fixture->peer);
  fixture->connection = qmp_test_peer_connect (fixture->peer, QMP_CONNECTION_FLAGS_NONE);
  g_test_message ("peer: QEMU %u.%u.%u",
                  qmp_connection_get_version_major (fixture->connection),
                  qmp_connection_get_version_minor (fixture->connection),
                  qmp_connection_get_version_micro (fixture->connection));
}

static void
teardown_real (Fixture       *fixture,
               gconstpointer  data)
{
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->peer, qmp_test_peer_free);
}

static void
run (QmpConnection *connection,
     const char    *command)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, command, NULL,
                                                         QMP_EXECUTE_FLAGS_NONE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
}

static void
assert_pop (QmpEventQueue *queue,
            const char    *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = qmp_event_queue_pop_sync (queue, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  g_assert_cmpstr (qmp_event_get_name (event), ==, name);
}

/* ------------------------------------------------------------ the queue */

/* The events of two commands in a row are both there, in order, however
 * late the script asks: what wait_event after execute cannot promise. */
static void
test_queue_keeps (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *names[] = { "STOP", "RESUME", NULL };
  g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (fixture->connection, names, NULL, 0);
  g_autoptr(QmpEvent) none = NULL;

  g_assert_cmpuint (qmp_event_queue_get_capacity (queue), ==, QMP_EVENT_QUEUE_DEFAULT_CAPACITY);

  run (fixture->connection, "cont");
  run (fixture->connection, "stop");
  run (fixture->connection, "query-status");   /* no event: not kept anyway */
  run (fixture->connection, "cont");

  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 3);
  assert_pop (queue, "RESUME");
  assert_pop (queue, "STOP");
  assert_pop (queue, "RESUME");

  none = qmp_event_queue_pop (queue);
  g_assert_null (none);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 0);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* A full queue drops its oldest event and counts it; the count is
 * notified in the queue's context. */
static void
test_queue_drops (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = NULL;
  const char *names[] = { "STOP", "RESUME", NULL };
  guint n_notify = 0;
  guint64 dropped = 0;

  queue = qmp_event_queue_new (fixture->connection, names, NULL, 3);
  g_signal_connect (queue, "notify::dropped", G_CALLBACK (on_notify), &n_notify);

  /* QEMU writes STOP and RESUME before the reply to the command that
   * caused them: once the reply is here, so is the event. */
  for (guint i = 0; i < 5; i++)
    {
      run (fixture->connection, "cont");
      run (fixture->connection, "stop");
    }

  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 3);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 7);
  g_object_get (queue, "dropped", &dropped, NULL);
  g_assert_cmpuint (dropped, ==, 7);

  /* The newest three are kept. */
  assert_pop (queue, "STOP");
  assert_pop (queue, "RESUME");
  assert_pop (queue, "STOP");

  for (guint i = 0; i < 30000 && n_notify == 0; i++)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_assert_cmpuint (n_notify, >=, 1);
  /* Coalesced: one notification for the burst, or a few. */
  g_assert_cmpuint (n_notify, <=, 7);
}

/* After QEMU quit, what was kept is still handed out, then the reason the
 * connection closed. */
static void
test_queue_closed (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (fixture->connection, NULL, NULL, 0);
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  run (fixture->connection, "quit");

  /* SHUTDOWN comes before the reply; the close after it. */
  assert_pop (queue, "SHUTDOWN");
  event = qmp_event_queue_pop_sync (queue, NULL, &error);
  g_assert_null (event);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

static void
test_queue_async (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *names[] = { "RESUME", NULL };
  g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (fixture->connection, names, NULL, 0);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GAsyncResult *cancelled = NULL;
  GAsyncResult *result = NULL;
  GAsyncResult *resumed = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  /* Two waiting pops: the cancelled one fails, the other gets the event. */
  qmp_event_queue_pop_async (queue, cancellable, qmp_test_store_result, &cancelled);
  qmp_event_queue_pop_async (queue, NULL, qmp_test_store_result, &result);
  g_cancellable_cancel (cancellable);
  done = qmp_test_wait_result (&cancelled);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_clear_object (&done);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (event);
  g_clear_error (&error);
  g_assert_null (result);

  run (fixture->connection, "cont");
  done = qmp_test_wait_result (&result);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_clear_object (&done);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "RESUME");
  g_clear_pointer (&event, qmp_event_unref);

  /* A pop made with a cancelled cancellable fails at once, even with an
   * event queued. */
  run (fixture->connection, "stop");
  run (fixture->connection, "cont");
  qmp_event_queue_pop_async (queue, cancellable, qmp_test_store_result, &resumed);
  done = qmp_test_wait_result (&resumed);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 1);
}

static void
test_queue_timeout (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *names[] = { "RESUME", NULL };
  g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (fixture->connection, names, NULL, 0);
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_set_timeout (fixture->connection, 100);
  event = qmp_event_queue_pop_sync (queue, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (event);
}

/* Emits @name with @data_json (nullable) and the time @seconds */
static void
server_emit (QmpTestServer *server,
             const char    *name,
             const char    *data_json,
             gint64         seconds)
{
  g_autoptr(JsonNode) data = data_json ? json_from_string (data_json, NULL) : NULL;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (seconds);

  qmp_test_server_emit_event (server, name, data ? json_node_get_object (data) : NULL, when);
}

/* Names and a match, as wait_event takes them, on events of the test
 * server. */
static void
test_queue_match (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) match = json_object_new ();
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;
  const char *names[] = { "DEVICE_DELETED", "UNPLUG", NULL };
  GAsyncResult *result = NULL;
  g_autoptr(GAsyncResult) done = NULL;

  qmp_test_server_set_reply (server, "ping", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  json_object_set_string_member (match, "device", "disk1");
  queue = qmp_event_queue_new (connection, names, match, 0);

  server_emit (server, "DEVICE_DELETED", "{\"device\": \"disk0\"}", 1);
  server_emit (server, "DEVICE_DELETED", "{\"device\": \"disk1\", \"path\": \"/p\"}", 2);
  server_emit (server, "STOP", NULL, 3);
  server_emit (server, "UNPLUG", "{\"device\": \"disk1\"}", 4);
  server_emit (server, "UNPLUG", "{\"device\": 1}", 5);

  /* A round trip: the events before the reply were read. */
  ret = qmp_connection_execute_sync (connection, "ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 2);
  event = qmp_event_queue_pop (queue);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "DEVICE_DELETED");
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "path"), ==, "/p");
  g_assert_cmpint (g_date_time_to_unix (qmp_event_get_timestamp (event)), ==, 2);
  g_clear_pointer (&event, qmp_event_unref);
  event = qmp_event_queue_pop (queue);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "UNPLUG");
  g_assert_cmpint (g_date_time_to_unix (qmp_event_get_timestamp (event)), ==, 4);
  g_clear_pointer (&event, qmp_event_unref);

  /* The peer goes away: a waiting pop learns it. */
  qmp_event_queue_pop_async (queue, NULL, qmp_test_store_result, &result);
  qmp_test_server_close_clients (server);
  done = qmp_test_wait_result (&result);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_null (event);
}

/* Emits @n events named BIG whose data is {"seq": @first + i, "s": "…"}
 * with @size characters of "s", from @first on */
static void
server_emit_big (QmpTestServer *server,
                 guint          first,
                 guint          n,
                 gsize          size)
{
  g_autofree char *filler = g_strnfill (size, 'x');

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *data = g_strdup_printf ("{\"seq\": %u, \"s\": \"%s\"}", first + i, filler);

      server_emit (server, "BIG", data, first + i);
    }
}

static void
ping (QmpConnection *connection)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "ping", NULL,
                                                         QMP_EXECUTE_FLAGS_NONE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
}

static void
on_dropped_notify (GObject    *object,
                   GParamSpec *pspec,
                   guint      *n_notify)
{
  (*n_notify)++;
}

/* The events a queue keeps are bounded in bytes too, as in count: past
 * max-bytes the oldest are dropped, but for the newest one, whatever its
 * size.  Each event of 10,000 characters counts for a little more than
 * 10,000 bytes, so 35,000 bytes keep 3 of them. */
static void
test_queue_max_bytes (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(QmpEventQueue) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;
  const char *names[] = { "BIG", NULL };
  guint n_notify = 0;
  guint64 max_bytes = 0;

  qmp_test_server_set_reply (server, "ping", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  other = qmp_event_queue_new (connection, names, NULL, 0);
  g_assert_cmpuint (qmp_event_queue_get_max_bytes (other), ==, QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES);
  g_assert_cmpuint (QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES, ==, 16 * 1024 * 1024);

  queue = g_object_new (QMP_TYPE_EVENT_QUEUE,
                        "connection", connection,
                        "event-names", names,
                        "max-bytes", (guint64) 35000,
                        NULL);
  g_object_get (queue, "max-bytes", &max_bytes, NULL);
  g_assert_cmpuint (max_bytes, ==, 35000);
  g_assert_cmpuint (qmp_event_queue_get_capacity (queue), ==, QMP_EVENT_QUEUE_DEFAULT_CAPACITY);
  g_signal_connect (queue, "notify::dropped", G_CALLBACK (on_dropped_notify), &n_notify);

  server_emit_big (server, 1, 10, 10000);
  ping (connection);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 3);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 7);
  /* The other queue's bound is not this one's. */
  g_assert_cmpuint (qmp_event_queue_get_length (other), ==, 10);
  g_assert_cmpuint (qmp_event_queue_get_dropped (other), ==, 0);
  while (n_notify == 0)
    g_main_context_iteration (NULL, TRUE);

  /* The newest are kept, in order. */
  for (guint seq = 8; seq <= 10; seq++)
    {
      event = qmp_event_queue_pop (queue);
      g_assert_cmpint (json_object_get_int_member (qmp_event_get_data (event), "seq"), ==, seq);
      g_clear_pointer (&event, qmp_event_unref);
    }
  g_assert_null (qmp_event_queue_pop (queue));

  /* Popping gave their bytes back: 3 more fit. */
  server_emit_big (server, 11, 3, 10000);
  ping (connection);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 3);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 7);

  /* One event larger than the bound is kept, alone. */
  server_emit_big (server, 14, 1, 50000);
  ping (connection);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 1);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 10);

  /* And dropped for the next one. */
  server_emit_big (server, 15, 2, 10000);
  ping (connection);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 2);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 11);

  /* Lowering the bound drops the oldest at once, the newest stays. */
  qmp_event_queue_set_max_bytes (queue, 1);
  g_assert_cmpuint (qmp_event_queue_get_max_bytes (queue), ==, 1);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 1);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 12);
  event = qmp_event_queue_pop (queue);
  g_assert_cmpint (json_object_get_int_member (qmp_event_get_data (event), "seq"), ==, 16);
}

/* A queue matches each event on the I/O thread (skipping half of them
 * here, each parsed all the same), and those it keeps wait, counted at
 * the size of their text, for someone to pop them: the matching must not
 * leave the tree of their data in them.  An event of 15 KB of "{}," makes more than 1 MiB of tree; the
 * heap may grow by the kept events' text (about 0.5 MiB) and by a tree
 * that the matching made and freed (GLib's slice allocator may keep its
 * chunks), not by a tree for each kept event (about 48 MiB).  As
 * test-event-flood's /event-flood/matched-events-keep-only-text for the
 * channel's own matching. */
static void
test_queue_keeps_only_text (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonObject) match = json_object_new ();
  g_autoptr(JsonObject) kept = json_object_new ();
  g_autoptr(JsonObject) skipped = json_object_new ();
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1795573265);
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "BLOB", NULL };
  gboolean measurable = qmp_test_heap_measurable ();
  const guint n = 32;
  gsize before, after;

  qmp_test_server_set_reply (server, "ping", NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 5000; i++)
    json_array_add_object_element (array, json_object_new ());
  json_object_set_string_member (kept, "id", "x");
  json_object_set_array_member (kept, "a", g_steal_pointer (&array));
  json_object_set_string_member (skipped, "id", "y");
  json_object_set_member (skipped, "a", json_node_copy (json_object_get_member (kept, "a")));
  json_object_set_string_member (match, "id", "x");
  queue = qmp_event_queue_new (connection, names, match, 0);

  before = qmp_test_heap_in_use ();
  for (guint i = 0; i < n; i++)
    {
      qmp_test_server_emit_event (server, "BLOB", kept, when);
      qmp_test_server_emit_event (server, "BLOB", skipped, when);
    }
  ping (connection);
  after = qmp_test_heap_in_use ();

  g_test_message ("the heap grew by %" G_GSIZE_FORMAT " KiB while %u events were kept",
                  after > before ? (after - before) / 1024 : 0, n);
  if (measurable)
    g_assert_cmpuint (after, <, before + 12 * 1024 * 1024);
  else
    g_test_message ("malloc is not glibc's: the heap is not measured");

  /* The tree is made by whoever pops the event. */
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, n);
  g_assert_cmpuint (qmp_event_queue_get_dropped (queue), ==, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QmpEvent) event = qmp_event_queue_pop (queue);
      JsonObject *data = qmp_event_get_data (event);

      g_assert_cmpstr (json_object_get_string_member (data, "id"), ==, "x");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (data, "a")), ==, 5000);
    }
}

/* The last reference to a queue may be its waiting pop's, dropped on the
 * I/O thread while the connection closes and calls its sinks: the queue
 * then leaves from inside that call (a deadlock once).  The pop is made
 * from a thread that dispatches its callback as soon as it can, so that
 * its reference is gone before the I/O thread drops its own. */
typedef struct
{
  QmpEventQueue *queue;       /* given away to the thread */
  GError *error;
  gboolean done;
} PopThread;

static void
on_thread_pop (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PopThread *pop = user_data;
  g_autoptr(QmpEvent) event = qmp_event_queue_pop_finish (QMP_EVENT_QUEUE (source), result, &pop->error);

  g_assert_null (event);
  g_atomic_int_set (&pop->done, TRUE);
}

static gpointer
pop_thread (gpointer data)
{
  PopThread *pop = data;
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  qmp_event_queue_pop_async (pop->queue, NULL, on_thread_pop, pop);
  g_clear_object (&pop->queue);
  while (!g_atomic_int_get (&pop->done))
    g_main_context_iteration (context, FALSE);
  g_main_context_pop_thread_default (context);

  return NULL;
}

static void
test_queue_last_ref_in_pop (void)
{
  for (guint i = 0; i < qmp_test_scale (200); i++)
    {
      g_autoptr(QmpTestServer) server = qmp_test_server_new ();
      g_autoptr(QmpConnection) connection = qmp_test_server_new_connection_sync (server,
                                                                                 QMP_CONNECTION_FLAGS_NONE,
                                                                                 NULL, NULL);
      PopThread pop = { qmp_event_queue_new (connection, NULL, NULL, 0), NULL, FALSE };
      GThread *thread = g_thread_new ("pop", pop_thread, &pop);

      /* Closed while the pop waits, or before it was made: either way it
       * fails with the reason. */
      qmp_test_server_close_clients (server);
      g_thread_join (thread);
      g_assert_error (pop.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_clear_error (&pop.error);
    }
}

/* A cancelled pop leaves nothing that holds the queue or its connection:
 * its cancelled handler, which holds the pop's task (and the task the
 * cancellable), is gone with it, in whichever order the pop ends. */
static void
test_queue_cancelled_pop_freed (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = qmp_test_server_new_connection_sync (server,
                                                                             QMP_CONNECTION_FLAGS_NONE,
                                                                             NULL, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  QmpEventQueue *queue = qmp_event_queue_new (connection, NULL, NULL, 0);
  GAsyncResult *cancelled = NULL;
  GAsyncResult *popped = NULL;

  g_object_add_weak_pointer (G_OBJECT (queue), (gpointer *) &queue);
  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) &connection);

  /* Cancelled while it waits */
  qmp_event_queue_pop_async (queue, cancellable, qmp_test_store_result, &cancelled);
  g_cancellable_cancel (cancellable);
  done = qmp_test_wait_result (&cancelled);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&done);

  /* Given an event, with a cancellable (the next one) that stays */
  g_clear_object (&cancellable);
  cancellable = g_cancellable_new ();
  qmp_event_queue_pop_async (queue, cancellable, qmp_test_store_result, &popped);
  qmp_test_server_emit_event (server, "BENCH", NULL, NULL);
  done = qmp_test_wait_result (&popped);
  event = qmp_event_queue_pop_finish (queue, done, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_event_get_name (event), ==, "BENCH");
  g_clear_object (&done);

  /* The last references: both go */
  g_object_unref (queue);
  g_assert_null (queue);
  g_object_unref (connection);
  g_assert_null (connection);
}

/* A pop cancelled as its event comes returns the event, or fails with
 * G_IO_ERROR_CANCELLED and leaves the event in the queue: never neither. */
static void
test_queue_cancel_keeps_events (void)
{
  const char *names[] = { "E", NULL };
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = qmp_test_server_new_connection_sync (server,
                                                                             QMP_CONNECTION_FLAGS_NONE,
                                                                             NULL, NULL);
  g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (connection, names, NULL, 100000);
  guint n = qmp_test_scale (2000);
  g_autofree gboolean *seen = g_new0 (gboolean, n);
  guint n_returned = 0, n_cancelled = 0, n_left = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(JsonObject) data = json_object_new ();
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(QmpEvent) event = NULL;
      g_autoptr(GError) error = NULL;

      qmp_event_queue_pop_async (queue, cancellable, qmp_test_store_result, &result);
      json_object_set_int_member (data, "i", i);
      qmp_test_server_emit_event (server, "E", data, NULL);
      /* Now, or a moment later: before, as or after the event comes */
      for (volatile guint spin = 0; spin < (i % 50) * 100; spin++)
        ;
      g_cancellable_cancel (cancellable);
      result = qmp_test_wait_result (&result);
      event = qmp_event_queue_pop_finish (queue, result, &error);
      if (event != NULL)
        {
          guint got = json_object_get_int_member (qmp_event_get_data (event), "i");

          g_assert_cmpuint (got, <, n);
          g_assert_false (seen[got]);
          seen[got] = TRUE;
          n_returned++;
        }
      else
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          n_cancelled++;
        }
    }

  /* The rest are queued, once the last has come */
  qmp_connection_set_timeout (connection, 10000);
  while (n_returned + n_left < n)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QmpEvent) event = qmp_event_queue_pop_sync (queue, NULL, &error);
      guint got;

      g_assert_no_error (error);
      got = json_object_get_int_member (qmp_event_get_data (event), "i");
      g_assert_cmpuint (got, <, n);
      g_assert_false (seen[got]);
      seen[got] = TRUE;
      n_left++;
    }
  g_test_message ("%u returned, %u cancelled, %u left in the queue", n_returned, n_cancelled, n_left);
  g_assert_cmpuint (qmp_event_queue_get_length (queue), ==, 0);
}

/* ---------------------------------------------------------- the tracker */

typedef struct
{
  QmpRunState run_state;
  gboolean running;
  guint n_notify;
} Seen;

static void
on_state_notify (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  Seen *seen = user_data;

  seen->n_notify++;
  g_object_get (object, "run-state", &seen->run_state, "running", &seen->running, NULL);
}

/* Iterates the default context until the notified state is @run_state. */
static void
wait_state (Seen        *seen,
            QmpRunState  run_state,
            gboolean     running)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  /* Polled, so that the deadline holds with nothing to dispatch. */
  while ((seen->run_state != run_state || seen->running != running) &&
         g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }

  g_assert_cmpint (seen->run_state, ==, run_state);
  g_assert_cmpint (seen->running, ==, running);
}

static void
on_closed (gboolean *closed)
{
  *closed = TRUE;
}

static void
test_tracker (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(GError) error = NULL;
  Seen seen = { QMP_RUN_STATE_UNKNOWN, FALSE, 0 };
  gboolean closed = FALSE;

  tracker = qmp_run_state_tracker_new_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qmp_run_state_tracker_get_connection (tracker) == fixture->connection);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_PRELAUNCH);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));
  g_signal_connect (tracker, "notify::run-state", G_CALLBACK (on_state_notify), &seen);
  g_signal_connect (tracker, "notify::running", G_CALLBACK (on_state_notify), &seen);

  run (fixture->connection, "cont");
  wait_state (&seen, QMP_RUN_STATE_RUNNING, TRUE);

  run (fixture->connection, "stop");
  wait_state (&seen, QMP_RUN_STATE_PAUSED, FALSE);

  /* A reset keeps a paused machine paused: the state is asked again and
   * stays what it was. */
  run (fixture->connection, "system_reset");
  run (fixture->connection, "cont");
  wait_state (&seen, QMP_RUN_STATE_RUNNING, TRUE);

  /* A burst: the last reply wins, whatever the number of events. */
  for (guint i = 0; i < 10; i++)
    {
      run (fixture->connection, "stop");
      run (fixture->connection, "cont");
    }
  run (fixture->connection, "stop");
  wait_state (&seen, QMP_RUN_STATE_PAUSED, FALSE);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_PAUSED);

  run (fixture->connection, "cont");
  wait_state (&seen, QMP_RUN_STATE_RUNNING, TRUE);

  /* quit: SHUTDOWN, then QEMU exits and the connection closes.  The
   * handler is there before the close: "closed" comes once, in this
   * context, possibly after qmp_connection_is_closed() says TRUE; one
   * connected after the close would miss it, or, with the test's flag
   * gone, write into a later test's stack. */
  g_signal_connect_swapped (fixture->connection, "closed", G_CALLBACK (on_closed), &closed);
  run (fixture->connection, "quit");
  wait_state (&seen, QMP_RUN_STATE_SHUTDOWN, FALSE);
  qmp_test_wait_flag (&closed);
  g_signal_handlers_disconnect_by_data (fixture->connection, &closed);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_SHUTDOWN);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));
}

/* A script with no main loop: the getters follow QEMU all the same. */
static void
test_tracker_no_loop (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(QmpEventQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "RESUME", NULL };
  gint64 deadline;

  tracker = qmp_run_state_tracker_new_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);

  run (fixture->connection, "cont");
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!qmp_run_state_tracker_get_running (tracker) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_true (qmp_run_state_tracker_get_running (tracker));
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_RUNNING);

  /* The connection closes under it: not running, state unknown. */
  queue = qmp_event_queue_new (fixture->connection, names, NULL, 0);
  qmp_test_peer_kill_signal (fixture->peer, SIGKILL);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (qmp_run_state_tracker_get_running (tracker) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_UNKNOWN);
}

/* A construction given up.  The real QEMU is stopped, so that the first
 * query-status gets no answer, on a connection with no timeout (a
 * QmpProcess's after its start-up): only the cancellation ends the wait,
 * sync or async, cancelled before or during it, from the waiting thread
 * or another.  Once QEMU answers, the tracker nobody holds goes, and with
 * it the connection. */

/* Bounded: a cancellation that does not end the construction fails the
 * test instead of hanging the suite. */
#define CANCEL_BOUND_S 10

typedef struct
{
  QmpConnection *connection;
  GCancellable *cancellable;
  QmpRunStateTracker *tracker;
  GError *error;
  gint done;                  /* atomic: it ended */
} Construction;

static gpointer
new_sync_thread (gpointer data)
{
  Construction *construction = data;

  construction->tracker = qmp_run_state_tracker_new_sync (construction->connection,
                                                          construction->cancellable,
                                                          &construction->error);
  g_atomic_int_set (&construction->done, 1);
  return NULL;
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_later_thread (gpointer data)
{
  g_usleep (200 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* Iterates the default context until *@done or the deadline, and says
 * whether it is done. */
static gboolean
wait_done (gint   *done,
           gint64  deadline)
{
  while (!g_atomic_int_get (done) && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }

  return g_atomic_int_get (done);
}

/* Polls until @weak's object is gone, 30 s at most, iterating the
 * default context if @iterate; says whether it is.  (The last reference
 * may go on the worker: a weak pointer would be cleared there.) */
static gboolean
wait_gone (GWeakRef *weak,
           gboolean  iterate)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      GObject *object = g_weak_ref_get (weak);

      if (object == NULL)
        return TRUE;
      g_object_unref (object);
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      if (!iterate || !g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static void
on_new_done (GObject      *source_object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Construction *construction = user_data;

  construction->tracker = qmp_run_state_tracker_new_finish (result, &construction->error);
  g_atomic_int_set (&construction->done, 1);
}

static void
test_tracker_cancelled (Fixture       *fixture,
                        gconstpointer  data)
{
  const char *mode = data;
  gboolean sync = g_str_has_prefix (mode, "sync/");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Construction new = { fixture->connection, cancellable, NULL, NULL, 0 };
  QmpConnection *connection = fixture->connection;
  GThread *thread = NULL;
  GThread *canceller = NULL;
  GWeakRef weak;
  gint64 deadline;

  qmp_test_peer_kill_signal (fixture->peer, SIGSTOP);

  /* "during": from this thread's main loop, that is from the waiting
   * thread for _async and from another one for _sync */
  if (g_str_has_suffix (mode, "/before"))
    g_cancellable_cancel (cancellable);
  else if (g_str_has_suffix (mode, "/during-thread"))
    canceller = g_thread_new ("cancel", cancel_later_thread, cancellable);
  else
    g_timeout_add_full (G_PRIORITY_DEFAULT, 200, cancel_cb,
                        g_object_ref (cancellable), g_object_unref);

  /* _sync in a thread of its own, so that this one can give up. */
  if (sync)
    thread = g_thread_new ("new-sync", new_sync_thread, &new);
  else
    qmp_run_state_tracker_new_async (connection, cancellable, on_new_done, &new);

  deadline = g_get_monotonic_time () + CANCEL_BOUND_S * G_USEC_PER_SEC;
  if (!wait_done (&new.done, deadline))
    {
      /* Killed, QEMU closes the connection, which ends the wait. */
      qmp_test_peer_kill_signal (fixture->peer, SIGKILL);
      wait_done (&new.done, g_get_monotonic_time () + 30 * G_USEC_PER_SEC);
      g_assert_true (g_atomic_int_get (&new.done));
      g_clear_pointer (&thread, g_thread_join);
      g_clear_pointer (&canceller, g_thread_join);
      g_clear_object (&new.tracker);
      g_clear_error (&new.error);
      g_test_fail_printf ("The cancelled construction (%s) did not end within %d s", mode,
                          CANCEL_BOUND_S);
      return;
    }
  g_clear_pointer (&thread, g_thread_join);
  g_clear_pointer (&canceller, g_thread_join);
  g_assert_error (new.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (new.tracker);
  g_clear_error (&new.error);

  /* QEMU answers the first query-status late, and the connection works. */
  qmp_test_peer_kill_signal (fixture->peer, SIGCONT);
  run (connection, "query-status");

  g_weak_ref_init (&weak, connection);
  g_clear_object (&fixture->connection);
  g_assert_true (wait_gone (&weak, TRUE));
  g_weak_ref_clear (&weak);
}

/* Cancelled from another thread while the first reply, or a close, is on
 * its way: whichever comes first ends the construction, and nothing is
 * left that holds the tracker or its connection.  (Run under valgrind and
 * ASan for what the races do to memory.) */
typedef struct
{
  GCancellable *cancellable;  /* to cancel */
  QmpConnection *connection;  /* or to close */
  gint64 delay_us;            /* after the go */
  gint *go;                   /* atomic */
} Racer;

static gpointer
racer_thread (gpointer data)
{
  Racer *racer = data;
  gint64 until;

  /* Spun, not slept: the construction takes some 20 µs, less than
   * g_usleep()'s timer slack.  Yielding at each turn: under valgrind,
   * which runs one thread at a time, a thread that spins without a
   * system call holds back the others for its whole time slice. */
  while (!g_atomic_int_get (racer->go))
    g_thread_yield ();
  until = g_get_monotonic_time () + racer->delay_us;
  while (g_get_monotonic_time () < until)
    g_thread_yield ();

  if (racer->cancellable != NULL)
    g_cancellable_cancel (racer->cancellable);
  else
    qmp_connection_close_sync (racer->connection, NULL, NULL);
  return NULL;
}

static void
test_tracker_cancel_race (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(JsonNode) status = json_from_string ("{\"status\": \"running\", \"running\": true}", NULL);
  guint n = qmp_test_scale (300);
  guint n_made = 0, n_cancelled = 0, n_closed = 0;

  qmp_test_server_set_reply (server, "query-status", status);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(QmpRunStateTracker) tracker = NULL;
      g_autoptr(GError) error = NULL;
      QmpConnection *connection = NULL;
      gboolean closing = i % 3 == 2;
      gint go = 0;
      Racer canceller = { cancellable, NULL, i % 41, &go };
      Racer closer = { NULL, NULL, i % 29, &go };
      GThread *threads[2] = { NULL, NULL };
      GWeakRef weak;

      connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
      closer.connection = connection;

      threads[0] = g_thread_new ("cancel", racer_thread, &canceller);
      if (closing)
        threads[1] = g_thread_new ("close", racer_thread, &closer);

      g_atomic_int_set (&go, 1);
      if (i % 2 == 0)
        {
          tracker = qmp_run_state_tracker_new_sync (connection, cancellable, &error);
        }
      else
        {
          g_autoptr(GAsyncResult) result = NULL;
          GAsyncResult *slot = NULL;

          qmp_run_state_tracker_new_async (connection, cancellable, qmp_test_store_result, &slot);
          result = qmp_test_wait_result (&slot);
          tracker = qmp_run_state_tracker_new_finish (result, &error);
        }

      for (guint j = 0; j < G_N_ELEMENTS (threads); j++)
        g_clear_pointer (&threads[j], g_thread_join);

      if (tracker != NULL)
        {
          g_assert_no_error (error);
          n_made++;
        }
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          n_cancelled++;
        }
      else
        {
          g_assert_true (closing);
          g_assert_nonnull (error);
          n_closed++;
        }

      g_clear_object (&tracker);
      g_weak_ref_init (&weak, connection);
      g_object_unref (connection);
      g_assert_true (wait_gone (&weak, TRUE));
      g_weak_ref_clear (&weak);
    }

  g_test_message ("%u made, %u cancelled, %u ended by the close", n_made, n_cancelled, n_closed);
  g_assert_cmpuint (n_made + n_cancelled + n_closed, ==, n);
}

/* A program that runs no main loop: the notification of the first state
 * waits in a context that nothing iterates.  It must keep neither the
 * dropped tracker nor its connection (and socket), nor stay there
 * itself. */
static void
test_tracker_no_loop_freed (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(JsonNode) status = json_from_string ("{\"status\": \"running\", \"running\": true}", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;
  QmpRunStateTracker *tracker;
  GWeakRef weak_tracker;
  GWeakRef weak_connection;

  qmp_test_server_set_reply (server, "query-status", status);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* The tracker's own context, where it notifies, to see what is left */
  g_main_context_push_thread_default (context);
  tracker = qmp_run_state_tracker_new_sync (connection, NULL, &error);
  g_main_context_pop_thread_default (context);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_RUNNING);

  g_weak_ref_init (&weak_tracker, tracker);
  g_weak_ref_init (&weak_connection, connection);
  g_object_unref (tracker);
  g_object_unref (connection);

  /* The worker's references go soon after the reply. */
  g_assert_true (wait_gone (&weak_tracker, FALSE));
  g_assert_true (wait_gone (&weak_connection, FALSE));
  g_assert_false (g_main_context_pending (context));
  g_weak_ref_clear (&weak_tracker);
  g_weak_ref_clear (&weak_connection);
}

static void
reply_status (QmpTestServerCommand *command,
              const char           *status,
              gboolean              running)
{
  g_autofree char *text = g_strdup_printf ("{\"status\": \"%s\", \"running\": %s}",
                                           status, running ? "true" : "false");
  g_autoptr(JsonNode) ret = json_from_string (text, NULL);

  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "query-status");
  qmp_test_server_command_reply (command, ret);
}

static guint
count_query_status (QmpTestServer *server)
{
  g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (server);
  guint n = 0;

  for (guint i = 0; i < commands->len; i++)
    n += g_str_equal (qmp_test_server_command_get_name (commands->pdata[i]), "query-status");

  return n;
}

/* One query-status at a time, however many events come while it is on
 * its way: they ask for one more after it.  And the reply to a query that
 * an event overtook does not count (it may be older than the event): a
 * "running" that QEMU sent just before SHUTDOWN leaves the state
 * SHUTDOWN. */
static void
test_tracker_one_query (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpRunStateTracker) tracker = NULL;
  g_autoptr(QmpTestHeld) held = NULL;
  g_autoptr(QmpTestServerCommand) q1 = NULL;
  g_autoptr(QmpTestServerCommand) q2 = NULL;
  g_autoptr(QmpTestServerCommand) q3 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  GAsyncResult *result = NULL;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  held = qmp_test_held_new (server);

  qmp_run_state_tracker_new_async (connection, NULL, qmp_test_store_result, &result);
  qmp_test_held_reply (held, "query-status", "{\"status\": \"paused\", \"running\": false}");
  done = qmp_test_wait_result (&result);
  tracker = qmp_run_state_tracker_new_finish (done, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_PAUSED);

  /* Three events, one query; its reply brings the next. */
  qmp_test_server_emit_event (server, "RESUME", NULL, NULL);
  q1 = qmp_test_held_next (held, "query-status");
  qmp_test_server_emit_event (server, "STOP", NULL, NULL);
  qmp_test_server_emit_event (server, "RESUME", NULL, NULL);
  reply_status (q1, "paused", FALSE);
  q2 = qmp_test_held_next (held, "query-status");

  /* SHUTDOWN while q2 is on its way: the state at once, no query yet. */
  qmp_test_server_emit_event (server, "SHUTDOWN", NULL, NULL);
  while (qmp_run_state_tracker_get_run_state (tracker) != QMP_RUN_STATE_SHUTDOWN)
    g_main_context_iteration (NULL, TRUE);

  /* q2's "running" may be older than SHUTDOWN: q3 follows, and the state
   * stays SHUTDOWN. */
  reply_status (q2, "running", TRUE);
  q3 = qmp_test_held_next (held, "query-status");
  g_assert_cmpint (qmp_run_state_tracker_get_run_state (tracker), ==, QMP_RUN_STATE_SHUTDOWN);
  g_assert_false (qmp_run_state_tracker_get_running (tracker));
  reply_status (q3, "shutdown", FALSE);

  /* q3's reply counts; and nothing else was asked. */
  while (qmp_run_state_tracker_get_run_state (tracker) != QMP_RUN_STATE_SHUTDOWN)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (qmp_test_held_get_length (held), ==, 0);
  g_assert_cmpuint (count_query_status (server), ==, 4);
}

/* query_status tells an error from a state it does not know. */
static void
test_query_status_other (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) teleporting = json_from_string ("{\"status\": \"teleporting\", \"running\": true}", NULL);
  g_autoptr(GPtrArray) commands = NULL;
  GAsyncResult *result = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(GError) error = NULL;
  gboolean running = FALSE;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  qmp_test_server_set_reply (server, "query-status", teleporting);
  qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &result);
  done = qmp_test_wait_result (&result);
  g_assert_cmpint (qmp_connection_query_status_finish (connection, done, &running, &error),
                   ==, QMP_RUN_STATE_OTHER);
  g_assert_no_error (error);
  g_assert_true (running);
  g_clear_object (&done);

  qmp_test_server_set_error (server, "query-status", "GenericError", "no");
  qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &result);
  done = qmp_test_wait_result (&result);
  g_assert_cmpint (qmp_connection_query_status_finish (connection, done, &running, &error),
                   ==, QMP_RUN_STATE_UNKNOWN);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_false (running);

  /* Both were query-status, without arguments */
  commands = qmp_test_server_get_commands (server);
  g_assert_cmpuint (commands->len, ==, 3);
  for (guint i = 1; i < commands->len; i++)
    {
      g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[i]), ==, "query-status");
      g_assert_null (qmp_test_server_command_get_arguments (commands->pdata[i]));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define REAL(path, func) \
  g_test_add (path, Fixture, NULL, setup_real, func, teardown_real)
#define REAL_DATA(path, data, func) \
  g_test_add (path, Fixture, data, setup_real, func, teardown_real)

  REAL ("/event-queue/real/keeps", test_queue_keeps);
  REAL ("/event-queue/real/drops", test_queue_drops);
  REAL ("/event-queue/real/closed", test_queue_closed);
  REAL ("/event-queue/real/async", test_queue_async);
  REAL ("/event-queue/real/timeout", test_queue_timeout);
  g_test_add_func ("/event-queue/mock/match", test_queue_match);
  g_test_add_func ("/event-queue/mock/max-bytes", test_queue_max_bytes);
  g_test_add_func ("/event-queue/mock/keeps-only-text", test_queue_keeps_only_text);
  g_test_add_func ("/event-queue/mock/last-ref-in-pop", test_queue_last_ref_in_pop);
  g_test_add_func ("/event-queue/mock/cancelled-pop-freed", test_queue_cancelled_pop_freed);
  g_test_add_func ("/event-queue/mock/cancel-keeps-events", test_queue_cancel_keeps_events);
  REAL ("/run-state-tracker/real", test_tracker);
  REAL ("/run-state-tracker/real/no-loop", test_tracker_no_loop);
  REAL_DATA ("/run-state-tracker/real/cancelled/sync/before", "sync/before", test_tracker_cancelled);
  REAL_DATA ("/run-state-tracker/real/cancelled/sync/during", "sync/during", test_tracker_cancelled);
  REAL_DATA ("/run-state-tracker/real/cancelled/async/before", "async/before", test_tracker_cancelled);
  REAL_DATA ("/run-state-tracker/real/cancelled/async/during", "async/during", test_tracker_cancelled);
  REAL_DATA ("/run-state-tracker/real/cancelled/async/during-thread", "async/during-thread",
             test_tracker_cancelled);
  g_test_add_func ("/run-state-tracker/mock/one-query", test_tracker_one_query);
  g_test_add_func ("/run-state-tracker/mock/cancel-race", test_tracker_cancel_race);
  g_test_add_func ("/run-state-tracker/mock/no-loop-freed", test_tracker_no_loop_freed);
  g_test_add_func ("/query-status/other", test_query_status_other);

  return g_test_run ();
}
