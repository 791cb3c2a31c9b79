/* test-event-flood.c: events that wait for a slow or blocked "event"
 * handler are bounded; the connection stops reading instead, nothing is
 * dropped silently, and a _sync call from the handler's own thread still
 * gets its reply during a flood
 *
 * The flood comes from QmpTestServer, but for the blocked consumer: that
 * test measures how far the server got before its writes blocked, and
 * QmpTestServer never blocks its caller (it queues what the client does
 * not read yet), so it floods from the private scripted mock, whose
 * writes are the socket's.
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
  QmpMock *mock;
  guint first;            /* the seq of the first event */
  guint n;                /* how many events */
  gboolean answer;        /* then answer one command */
  gint sent;              /* atomic */
  gsize pad;              /* bytes of padding in each event's data */
} Flood;

/* A test server whose query-status commands wait in a queue, taken on
 * its I/O thread (a _sync call on the test's thread must not stop them),
 * for a flood to answer after its events. */
typedef struct
{
  QmpTestServer *server;
  GAsyncQueue *queries;     /* QmpTestServerCommand */
} Server;

static gboolean
queue_query (QmpTestServer        *server,
             QmpTestServerCommand *command,
             gpointer              user_data)
{
  GAsyncQueue *queries = user_data;

  if (!g_str_equal (qmp_test_server_command_get_name (command), "query-status"))
    return FALSE;
  g_async_queue_push (queries, g_object_ref (command));
  return TRUE;
}

static void
server_init (Server *server)
{
  server->server = qmp_test_server_new ();
  server->queries = g_async_queue_new_full (g_object_unref);
  qmp_test_server_set_command_func (server->server, queue_query, g_async_queue_ref (server->queries),
                                    (GDestroyNotify) g_async_queue_unref);
}

static void
server_clear (Server *server)
{
  g_clear_object (&server->server);
  g_clear_pointer (&server->queries, g_async_queue_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Server, server_clear)

typedef struct
{
  Server *server;
  guint first;            /* the seq of the first event */
  guint n;                /* how many events */
} ServerFlood;

/* @n events, then the answer to the query-status that came */
static gpointer
server_flood_thread (gpointer user_data)
{
  ServerFlood *flood = user_data;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1795573265);
  g_autoptr(QmpTestServerCommand) query = NULL;
  g_autoptr(JsonNode) running = json_from_string ("{\"status\": \"running\"}", NULL);

  for (guint i = 0; i < flood->n; i++)
    {
      g_autoptr(JsonObject) data = json_object_new ();

      json_object_set_int_member (data, "seq", flood->first + i);
      qmp_test_server_emit_event (flood->server->server, "FLOOD", data, when);
    }

  query = g_async_queue_pop (flood->server->queries);
  qmp_test_server_command_reply (query, running);

  return NULL;
}

static gpointer
flood_thread (gpointer user_data)
{
  Flood *flood = user_data;

  g_autofree char *pad = g_strnfill (flood->pad, 'p');

  for (guint i = 0; i < flood->n; i++)
    {
      g_autofree char *data = g_strdup_printf ("{\"seq\": %u, \"pad\": \"%s\"}", flood->first + i, pad);

      qmp_mock_send_event (flood->mock, "FLOOD", data, 1795573265, 1);
      g_atomic_int_inc (&flood->sent);
    }

  if (flood->answer)
    {
      g_autoptr(JsonObject) command = qmp_mock_receive (flood->mock);

      g_assert_cmpstr (json_object_get_string_member (command, "execute"), ==, "query-status");
      qmp_mock_reply (flood->mock, command, "{\"status\": \"running\"}");
    }

  return NULL;
}

typedef struct
{
  QmpConnection *conn;
  guint received;
  guint last_seq;         /* seqs start at 1 */
  guint usleep;           /* per event: a slow handler */
  gboolean call_in_handler;
  gboolean nested_loop_in_handler;
  gboolean called;
  guint n_notify;
} Consumer;

static void
on_nested_call_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GMainLoop *loop = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
  g_main_loop_quit (loop);
}

static void
on_flood (QmpConnection *conn,
          QmpEvent      *event,
          Consumer      *consumer)
{
  guint seq = json_object_get_int_member (qmp_event_get_data (event), "seq");

  /* In order; gaps only where events were dropped, which are counted. */
  g_assert_cmpuint (seq, >, consumer->last_seq);
  consumer->last_seq = seq;
  consumer->received++;

  if (consumer->usleep > 0)
    g_usleep (consumer->usleep);

  if (consumer->nested_loop_in_handler && !consumer->called)
    {
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

      /* The old way to wait in a handler: the reply comes after the
       * flood, so the events must be emitted in the nested loop too. */
      consumer->called = TRUE;
      qmp_connection_execute_async (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                    on_nested_call_done, loop);
      g_main_loop_run (loop);
    }

  if (consumer->call_in_handler && !consumer->called)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;

      /* This thread's context holds the undelivered events, and this
       * handler holds it: the reply must come all the same. */
      consumer->called = TRUE;
      ret = qmp_connection_execute_sync (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                         NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"),
                       ==, "running");
    }
}

static void
on_dropped_notify (GObject    *object,
                   GParamSpec *pspec,
                   Consumer   *consumer)
{
  consumer->n_notify++;
}

static QmpConnection *
consumer_connect (Consumer      *consumer,
                  QmpConnection *conn,
                  guint          max_queued_events)
{
  g_assert_nonnull (conn);
  g_assert_cmpuint (qmp_connection_get_max_queued_events (conn), ==, 10000);
  g_assert_cmpuint (qmp_connection_get_max_queued_event_bytes (conn), ==, 16 * 1024 * 1024);
  qmp_connection_set_max_queued_events (conn, max_queued_events);
  consumer->conn = conn;
  g_signal_connect (conn, "event::FLOOD", G_CALLBACK (on_flood), consumer);
  g_signal_connect (conn, "notify::dropped-events", G_CALLBACK (on_dropped_notify), consumer);

  return conn;
}

static QmpConnection *
connect_with_consumer (QmpMock  *mock,
                       Consumer *consumer,
                       guint     max_queued_events)
{
  return consumer_connect (consumer, qmp_mock_connect (mock, QMP_CONNECTION_FLAGS_NONE, NULL),
                           max_queued_events);
}

static QmpConnection *
server_connect_with_consumer (Server   *server,
                              Consumer *consumer,
                              guint     max_queued_events)
{
  g_autoptr(GError) error = NULL;
  QmpConnection *conn = qmp_test_server_new_connection_sync (server->server, QMP_CONNECTION_FLAGS_NONE,
                                                             NULL, &error);

  g_assert_no_error (error);
  return consumer_connect (consumer, conn, max_queued_events);
}

static void
iterate_until_received (Consumer *consumer,
                        guint     n)
{
  while (consumer->received + qmp_connection_get_dropped_events (consumer->conn) < n)
    g_main_context_iteration (NULL, TRUE);
}

/* Nobody iterates the handler's context while the mock floods it with
 * @n events of @pad bytes of padding: the connection reads up to its
 * bound (@max_queued_events, @max_bytes), then stops, and the server's
 * writes block.  Once the context runs, every event comes, in order, none
 * dropped. */
static void
check_blocked_consumer (guint   max_queued_events,
                        guint64 max_bytes,
                        guint   n,
                        gsize   pad)
{
  g_autoptr(QmpMock) mock = qmp_mock_new ();
  Consumer consumer = { 0, };
  g_autoptr(QmpConnection) conn = connect_with_consumer (mock, &consumer, max_queued_events);
  Flood flood = { mock, 1, n, FALSE, 0, pad };
  GThread *thread;
  gint sent = -1;

  qmp_connection_set_max_queued_event_bytes (conn, max_bytes);
  thread = g_thread_new ("flood", flood_thread, &flood);

  /* Until the server cannot write any more. */
  while (g_atomic_int_get (&flood.sent) != sent)
    {
      sent = g_atomic_int_get (&flood.sent);
      g_usleep (300 * 1000);
    }
  g_test_message ("%d of %u events written before the server blocked", sent, flood.n);
  g_assert_cmpint (sent, <, flood.n / 2);
  g_assert_cmpuint (consumer.received, ==, 0);

  iterate_until_received (&consumer, flood.n);
  g_thread_join (thread);
  g_assert_cmpuint (consumer.received, ==, flood.n);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), ==, 0);
  g_assert_cmpuint (consumer.n_notify, ==, 0);
}

/* The count as the bound: 100 events */
static void
test_blocked_consumer (void)
{
  check_blocked_consumer (100, 16 * 1024 * 1024, 30000, 0);
}

/* The bytes as the bound: events of 64 KB, at most 1 MiB of them queued.
 * The event that reaches the bound is queued (one more than it allows),
 * and reading stops; none is dropped, as nothing else waits for the
 * server. */
static void
test_blocked_consumer_bytes (void)
{
  check_blocked_consumer (10000, 1024 * 1024, 300, 64 * 1024);
}

/* A handler slower than the server: reading pauses and resumes, and every
 * event comes, in order. */
static void
test_slow_handler (void)
{
  g_auto(Server) server = { NULL, };
  Consumer consumer = { .usleep = 20 };
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  ServerFlood flood = { &server, 1, qmp_test_scale (20000) };
  GThread *thread;

  server_init (&server);
  conn = server_connect_with_consumer (&server, &consumer, 50);
  thread = g_thread_new ("flood", server_flood_thread, &flood);

  iterate_until_received (&consumer, flood.n);
  g_assert_cmpuint (consumer.received, ==, flood.n);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), ==, 0);

  /* The flood ends with the answer to a query */
  qmp_connection_execute_async (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (conn, result, &error);
  g_assert_no_error (error);
  g_thread_join (thread);
}

/* A _sync call from the thread whose context holds the undelivered
 * events, during a flood: from a handler, then from outside one.  Reading
 * cannot pause while it waits, so events beyond the bound are dropped for
 * the signal, and counted: received + dropped is everything sent. */
static void
test_sync_call_during_flood (void)
{
  g_auto(Server) server = { NULL, };
  Consumer consumer = { .call_in_handler = TRUE };
  g_autoptr(QmpConnection) conn = NULL;
  guint n = MAX (qmp_test_scale (20000), 1000);
  ServerFlood flood = { &server, 1, n };
  ServerFlood second = { &server, n + 1, n };
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  guint64 dropped;
  GThread *thread;

  server_init (&server);
  conn = server_connect_with_consumer (&server, &consumer, 50);
  thread = g_thread_new ("flood", server_flood_thread, &flood);
  iterate_until_received (&consumer, n);
  g_thread_join (thread);
  g_assert_true (consumer.called);
  dropped = qmp_connection_get_dropped_events (conn);
  g_test_message ("from the handler: %u emitted, %" G_GUINT64_FORMAT " dropped",
                  consumer.received, dropped);
  g_assert_cmpuint (consumer.received + dropped, ==, n);
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (consumer.n_notify, >, 0);

  /* This thread does not iterate its context while it waits. */
  thread = g_thread_new ("flood", server_flood_thread, &second);
  ret = qmp_connection_execute_sync (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_thread_join (thread);
  iterate_until_received (&consumer, 2 * n);
  g_test_message ("outside a handler: %u emitted, %" G_GUINT64_FORMAT " dropped in all",
                  consumer.received, qmp_connection_get_dropped_events (conn));
  g_assert_cmpuint (consumer.received + qmp_connection_get_dropped_events (conn), ==, 2 * n);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), >, dropped);
  g_assert_cmpuint (consumer.last_seq, <=, 2 * n);
  g_assert_false (qmp_connection_is_closed (conn));
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* An _async call and a wait for an event made in the context where the
 * events go: their results wait behind the events, and reading still
 * pauses for the slow handler; nothing is dropped. */
static void
test_async_call_during_flood (void)
{
  g_auto(Server) server = { NULL, };
  Consumer consumer = { .usleep = 20 };
  g_autoptr(QmpConnection) conn = NULL;
  guint n = MAX (qmp_test_scale (20000), 1000);
  ServerFlood flood = { &server, 1, n };
  g_autoptr(JsonObject) match = json_object_new ();
  g_autoptr(GAsyncResult) call_result = NULL;
  g_autoptr(GAsyncResult) wait_result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;

  server_init (&server);
  conn = server_connect_with_consumer (&server, &consumer, 50);
  json_object_set_int_member (match, "seq", n);
  qmp_connection_wait_event_async (conn, "FLOOD", match, NULL, on_async_done, &wait_result);
  qmp_connection_execute_async (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                on_async_done, &call_result);
  thread = g_thread_new ("flood", server_flood_thread, &flood);
  while (call_result == NULL || wait_result == NULL || consumer.received < n)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);

  ret = qmp_connection_execute_finish (conn, call_result, &error);
  g_assert_no_error (error);
  event = qmp_connection_wait_event_finish (conn, wait_result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (consumer.received, ==, n);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), ==, 0);
}

/* A handler that waits for a reply in a nested main loop of its own
 * context, during a flood: the events are emitted in that loop, reading
 * goes on, and nothing is dropped. */
static void
test_nested_loop_in_handler (void)
{
  g_auto(Server) server = { NULL, };
  Consumer consumer = { .nested_loop_in_handler = TRUE };
  g_autoptr(QmpConnection) conn = NULL;
  guint n = MAX (qmp_test_scale (20000), 1000);
  ServerFlood flood = { &server, 1, n };
  GThread *thread;

  server_init (&server);
  conn = server_connect_with_consumer (&server, &consumer, 50);
  thread = g_thread_new ("flood", server_flood_thread, &flood);

  iterate_until_received (&consumer, n);
  g_thread_join (thread);
  g_assert_true (consumer.called);
  g_assert_cmpuint (consumer.received, ==, n);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), ==, 0);
}

/* Handlers connected and disconnected from other threads during a flood,
 * while another thread makes _sync calls: the worker asks which events
 * are listened to as the handlers come and go, and the handler that stays
 * gets every event that is not counted as dropped. */
typedef struct
{
  QmpConnection *conn;
  gint stop;              /* atomic */
  gint n_churn_calls;     /* atomic: emissions of the coming and going handlers */
} Churn;

static void
on_churn_event (QmpConnection *conn,
                QmpEvent      *event,
                Churn         *churn)
{
  g_atomic_int_inc (&churn->n_churn_calls);
}

static gpointer
churn_handlers_thread (gpointer user_data)
{
  Churn *churn = user_data;

  while (!g_atomic_int_get (&churn->stop))
    {
      gulong all = g_signal_connect (churn->conn, "event", G_CALLBACK (on_churn_event), churn);
      gulong flood = g_signal_connect (churn->conn, "event::FLOOD", G_CALLBACK (on_churn_event), churn);

      g_thread_yield ();
      g_signal_handler_disconnect (churn->conn, all);
      g_thread_yield ();
      g_signal_handler_disconnect (churn->conn, flood);
    }

  return NULL;
}

static gpointer
churn_sync_thread (gpointer user_data)
{
  Churn *churn = user_data;

  while (!g_atomic_int_get (&churn->stop))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (churn->conn, "query-status", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"), ==, "running");
    }

  return NULL;
}

static void
test_handlers_come_and_go (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(JsonNode) running = json_from_string ("{\"status\": \"running\"}", NULL);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1795573265);
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  Consumer consumer = { 0, };
  Churn churn = { NULL, };
  guint n = MAX (qmp_test_scale (20000), 1000);
  GThread *threads[2];

  qmp_test_server_set_reply (server, "query-status", running);
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  consumer_connect (&consumer, conn, 50);
  churn.conn = conn;
  threads[0] = g_thread_new ("churn-handlers", churn_handlers_thread, &churn);
  threads[1] = g_thread_new ("churn-sync", churn_sync_thread, &churn);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) data = json_object_new ();

      json_object_set_int_member (data, "seq", i + 1);
      qmp_test_server_emit_event (server, "FLOOD", data, when);
      /* The handler's thread also takes its share of the flood. */
      if (i % 64 == 0)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  iterate_until_received (&consumer, n);

  g_atomic_int_set (&churn.stop, 1);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);

  g_test_message ("%u emitted, %" G_GUINT64_FORMAT " dropped, %d to the handlers that came and went",
                  consumer.received, qmp_connection_get_dropped_events (conn),
                  g_atomic_int_get (&churn.n_churn_calls));
  g_assert_cmpuint (consumer.received + qmp_connection_get_dropped_events (conn), ==, n);
  g_assert_cmpuint (consumer.last_seq, <=, n);
  g_assert_false (qmp_connection_is_closed (conn));
}

static void
on_blob (QmpConnection *conn,
         QmpEvent      *event,
         guint         *n_blobs)
{
  JsonObject *data = qmp_event_get_data (event);

  /* The handler still gets the data, made on its own thread. */
  g_assert_nonnull (data);
  g_assert_true (json_object_has_member (data, "id"));
  (*n_blobs)++;
}

/* A wait_event with a filter matches each event on the I/O thread; the
 * events then wait for the "event" handlers, bounded by the size of their
 * text.  The matching must not leave the tree of their data in them: an
 * event of 15 KB of "{}," makes more than 1 MiB of tree.  Nobody iterates
 * the handlers' context while the events come, so they all wait; the heap
 * may grow by their text (about 0.5 MiB) and by one tree that the
 * matching made and freed (GLib's slice allocator may keep its chunks),
 * not by one tree an event (about 48 MiB). */
static void
test_matched_events_keep_only_text (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(JsonNode) running = json_from_string ("{\"status\": \"running\"}", NULL);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1795573265);
  g_autoptr(JsonObject) match = json_object_new ();
  g_autoptr(JsonObject) blob = json_object_new ();
  g_autoptr(JsonObject) wanted = json_object_new ();
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(QmpEvent) event = NULL;
  GAsyncResult *result = NULL;
  gboolean measurable = qmp_test_heap_measurable ();
  const guint n = 32;
  guint n_blobs = 0;
  gsize before, after;

  qmp_test_server_set_reply (server, "query-status", running);
  conn = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (conn, "event::BLOB", G_CALLBACK (on_blob), &n_blobs);

  for (guint i = 0; i < 5000; i++)
    json_array_add_object_element (array, json_object_new ());
  json_object_set_string_member (blob, "id", "y");
  json_object_set_array_member (blob, "a", g_steal_pointer (&array));
  json_object_set_string_member (wanted, "id", "x");
  json_object_set_string_member (match, "id", "x");

  qmp_connection_wait_event_async (conn, "BLOB", match, NULL, qmp_test_store_result, &result);

  before = qmp_test_heap_in_use ();
  for (guint i = 0; i < n; i++)
    qmp_test_server_emit_event (server, "BLOB", blob, when);
  qmp_test_server_emit_event (server, "BLOB", wanted, when);
  /* A round trip, made without iterating the context: the events before
   * the reply were read and matched, and wait for the handler. */
  ret = qmp_connection_execute_sync (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  after = qmp_test_heap_in_use ();

  g_test_message ("the heap grew by %" G_GSIZE_FORMAT " KiB while %u events waited",
                  after > before ? (after - before) / 1024 : 0, n + 1);
  if (measurable)
    g_assert_cmpuint (after, <, before + 12 * 1024 * 1024);
  else
    g_test_message ("malloc is not glibc's: the heap is not measured");

  done = qmp_test_wait_result (&result);
  event = qmp_connection_wait_event_finish (conn, done, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (qmp_event_get_data (event), "id"), ==, "x");
  while (n_blobs < n + 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (qmp_connection_get_dropped_events (conn), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/event-flood/blocked-consumer", test_blocked_consumer);
  g_test_add_func ("/event-flood/blocked-consumer-bytes", test_blocked_consumer_bytes);
  g_test_add_func ("/event-flood/slow-handler", test_slow_handler);
  g_test_add_func ("/event-flood/sync-call", test_sync_call_during_flood);
  g_test_add_func ("/event-flood/async-call", test_async_call_during_flood);
  g_test_add_func ("/event-flood/nested-loop", test_nested_loop_in_handler);
  g_test_add_func ("/event-flood/handlers-come-and-go", test_handlers_come_and_go);
  g_test_add_func ("/event-flood/matched-events-keep-only-text", test_matched_events_keep_only_text);

  return g_test_run ();
}
