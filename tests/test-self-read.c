/* test-self-read.c: a _sync call that reads its own reply in the calling
 * thread, while no one else reads, keeps every promise of the threading
 * model: replies by id, events to their context in order, other threads'
 * and _async calls, cancellation, timeouts, close
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who read a line is seen in the library's debug log: every line read is
 * logged ("← …") by the thread that read it.  The test threads name
 * themselves in a GPrivate; the worker has no name.
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* ------------------------------------------------------ who read a line */

static GPrivate thread_name;
static GMutex log_lock;
static GPtrArray *read_lines;   /* "NAME\tLINE" of every line read, while capturing */
static gboolean capturing;

static const char *
current_thread_name (void)
{
  const char *name = g_private_get (&thread_name);

  return name != NULL ? name : "worker";
}

/* The library's debug and info messages: kept while capturing, never
 * printed. */
static void
log_handler (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
  if (!g_str_has_prefix (message, "← "))
    return;

  g_mutex_lock (&log_lock);
  if (capturing)
    g_ptr_array_add (read_lines, g_strdup_printf ("%s\t%s", current_thread_name (), message));
  g_mutex_unlock (&log_lock);
}

static void
capture_start (void)
{
  g_mutex_lock (&log_lock);
  g_ptr_array_set_size (read_lines, 0);
  capturing = TRUE;
  g_mutex_unlock (&log_lock);
  g_log_set_debug_enabled (TRUE);
}

static void
capture_stop (void)
{
  g_log_set_debug_enabled (FALSE);
  g_mutex_lock (&log_lock);
  capturing = FALSE;
  g_ptr_array_set_size (read_lines, 0);
  g_mutex_unlock (&log_lock);
}

/* The thread that read the one line containing @marker. */
static char *
reader_of (const char *marker)
{
  char *reader = NULL;

  g_mutex_lock (&log_lock);
  for (guint i = 0; i < read_lines->len; i++)
    {
      const char *entry = g_ptr_array_index (read_lines, i);

      if (strstr (entry, marker) != NULL)
        {
          g_assert_null (reader);
          reader = g_strndup (entry, strchr (entry, '\t') - entry);
        }
    }
  g_mutex_unlock (&log_lock);

  g_assert_nonnull (reader);

  return reader;
}

/* ------------------------------------------------ a _sync call in a thread */

typedef struct
{
  const char *name;          /* the thread's, for the log */
  QmpConnection *connection;
  const char *command;
  GCancellable *cancellable;
  int timeout_msec;
  gboolean from_dispatch;    /* made from an idle of the thread's own context */
  JsonNode *ret;
  GError *error;
  GThread *thread;
} SyncCall;

static gboolean
sync_call_run (gpointer data)
{
  SyncCall *call = data;

  call->ret = qmp_connection_execute_full_sync (call->connection, call->command, NULL,
                                                QMP_EXECUTE_FLAGS_NONE, call->timeout_msec,
                                                call->cancellable, &call->error);

  return G_SOURCE_REMOVE;
}

static gpointer
sync_call_thread (gpointer data)
{
  SyncCall *call = data;

  g_private_set (&thread_name, (gpointer) call->name);

  if (call->from_dispatch)
    {
      g_autoptr(GMainContext) context = g_main_context_new ();
      g_autoptr(GSource) idle = g_idle_source_new ();

      g_main_context_push_thread_default (context);
      g_source_set_callback (idle, sync_call_run, call, NULL);
      g_source_attach (idle, context);
      while (call->ret == NULL && call->error == NULL)
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
    }
  else
    {
      sync_call_run (call);
    }

  return NULL;
}

static SyncCall *
sync_call_new (const char    *name,
               QmpConnection *connection,
               const char    *command)
{
  SyncCall *call = g_new0 (SyncCall, 1);

  call->name = name;
  call->connection = connection;
  call->command = command;
  call->timeout_msec = -1;

  return call;
}

static void
sync_call_go (SyncCall *call)
{
  call->thread = g_thread_new (call->name, sync_call_thread, call);
}

/* A call made at once; see sync_call_new() for one to set up first. */
static SyncCall *
sync_call_start (const char    *name,
                 QmpConnection *connection,
                 const char    *command)
{
  SyncCall *call = sync_call_new (name, connection, command);

  sync_call_go (call);
  return call;
}

static void
sync_call_join (SyncCall *call)
{
  g_thread_join (g_steal_pointer (&call->thread));
}

static void
sync_call_free (SyncCall *call)
{
  if (call->thread != NULL)
    sync_call_join (call);
  g_clear_pointer (&call->ret, json_node_unref);
  g_clear_error (&call->error);
  g_clear_object (&call->cancellable);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyncCall, sync_call_free)

/* The call succeeded with {"tag": @tag}. */
static void
assert_tagged_return (SyncCall   *call,
                      const char *tag)
{
  g_assert_no_error (call->error);
  g_assert_nonnull (call->ret);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (call->ret));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (call->ret), "tag"), ==, tag);
}

/* ------------------------------------------------- events in the context */

typedef struct
{
  GPtrArray *names;          /* in the order emitted */
  GThread *expected_thread;
  guint n_closed;
  GError *closed_error;
} Seen;

static void
on_event (QmpConnection *connection,
          QmpEvent      *event,
          gpointer       user_data)
{
  Seen *seen = user_data;

  g_assert_true (g_thread_self () == seen->expected_thread);
  g_ptr_array_add (seen->names, g_strdup (qmp_event_get_name (event)));
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  Seen *seen = user_data;

  g_assert_true (g_thread_self () == seen->expected_thread);
  seen->n_closed++;
  g_clear_error (&seen->closed_error);
  seen->closed_error = error ? g_error_copy (error) : NULL;
}

static void
wait_events (Seen  *seen,
             guint  n)
{
  while (seen->names->len < n)
    g_main_context_iteration (NULL, TRUE);
  /* And no more than these. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (seen->names->len, ==, n);
}

/* ------------------------------------------------------------ the mock */

typedef struct
{
  QmpMock *mock;
  QmpConnection *connection;
  Seen seen;
} MockFixture;

static void
mock_setup (MockFixture   *fixture,
            gconstpointer  data)
{
  fixture->mock = qmp_mock_new ();
  fixture->connection = qmp_mock_connect (fixture->mock, QMP_CONNECTION_FLAGS_NONE, NULL);
  fixture->seen.names = g_ptr_array_new_with_free_func (g_free);
  fixture->seen.expected_thread = g_thread_self ();
  g_signal_connect (fixture->connection, "event", G_CALLBACK (on_event), &fixture->seen);
  g_signal_connect (fixture->connection, "closed", G_CALLBACK (on_closed), &fixture->seen);
  capture_start ();
}

static void
mock_teardown (MockFixture   *fixture,
               gconstpointer  data)
{
  capture_stop ();
  g_signal_handlers_disconnect_by_data (fixture->connection, &fixture->seen);
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->mock, qmp_mock_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_ptr_array_unref (fixture->seen.names);
  g_clear_error (&fixture->seen.closed_error);
}

static JsonObject *
receive_command (MockFixture *fixture,
                 const char  *name)
{
  JsonObject *command = qmp_mock_receive (fixture->mock);

  g_assert_cmpstr (json_object_get_string_member (command, "execute"), ==, name);

  return command;
}

static void
reply_tagged (MockFixture *fixture,
              JsonObject  *command,
              const char  *tag)
{
  g_autofree char *ret = g_strdup_printf ("{\"tag\": \"%s\"}", tag);

  qmp_mock_reply (fixture->mock, command, ret);
}

/* Answers the command @command_name of @call, which was started, with a
 * return tagged @tag; checks that @call got it, read by @reader. */
static void
answer_read_by (MockFixture *fixture,
                SyncCall    *call,
                const char  *command_name,
                const char  *tag,
                const char  *reader)
{
  g_autoptr(JsonObject) command = receive_command (fixture, command_name);
  g_autofree char *read_by = NULL;

  reply_tagged (fixture, command, tag);
  sync_call_join (call);
  assert_tagged_return (call, tag);
  read_by = reader_of (tag);
  g_assert_cmpstr (read_by, ==, reader);
}

/* The reply is read by the thread that waits for it, and the worker reads
 * again once that call is done; not from inside a dispatch. */
static void
test_reads_in_caller (MockFixture   *fixture,
                      gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(SyncCall) c = NULL;
  g_autofree char *reader = NULL;

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  answer_read_by (fixture, a, "cmd-a", "reply-a", "A");

  /* Nobody calls: the worker reads the event. */
  qmp_mock_send_event (fixture->mock, "AFTER_A", NULL, 1, 2);
  wait_events (&fixture->seen, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 0), ==, "AFTER_A");
  reader = reader_of ("AFTER_A");
  g_assert_cmpstr (reader, ==, "worker");
  g_clear_pointer (&reader, g_free);

  /* And the next caller reads again. */
  b = sync_call_start ("B", fixture->connection, "cmd-b");
  answer_read_by (fixture, b, "cmd-b", "reply-b", "B");

  /* From inside a dispatch, a GTask of that context would complete at
   * once, inside the call: the worker reads. */
  c = sync_call_new ("C", fixture->connection, "cmd-c");
  c->from_dispatch = TRUE;
  sync_call_go (c);
  answer_read_by (fixture, c, "cmd-c", "reply-c", "worker");
}

/* A reply longer than the caller's read buffer (64 KiB) is left to the
 * worker: a caller reads the short replies only.  The call gets it all
 * the same, and the next caller reads again. */
static void
test_long_reply (MockFixture   *fixture,
                 gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(GString) ret = g_string_new ("{\"tag\": \"reply-long\", \"pad\": \"");
  g_autofree char *reader = NULL;
  JsonObject *object;

  for (guint i = 0; i < 200 * 1024; i++)
    g_string_append_c (ret, 'a' + i % 26);
  g_string_append (ret, "\"}");

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  command = receive_command (fixture, "cmd-a");
  qmp_mock_send_event (fixture->mock, "BEFORE_LONG", NULL, 1, 2);
  qmp_mock_reply (fixture->mock, command, ret->str);
  sync_call_join (a);
  assert_tagged_return (a, "reply-long");
  object = json_node_get_object (a->ret);
  g_assert_cmpuint (strlen (json_object_get_string_member (object, "pad")), ==, 200 * 1024);
  reader = reader_of ("reply-long");
  g_assert_cmpstr (reader, ==, "worker");
  /* The event before it came through once, in its place. */
  wait_events (&fixture->seen, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 0), ==, "BEFORE_LONG");

  b = sync_call_start ("B", fixture->connection, "cmd-b");
  answer_read_by (fixture, b, "cmd-b", "reply-b", "B");
}

/* A reads; B's reply comes first, with events around it: B gets its own
 * reply, read by A, and the events go to the connection's context once
 * each, in order. */
static void
test_other_reply_first (MockFixture   *fixture,
                        gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_b = NULL;
  g_autofree char *reader = NULL;

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  command_a = receive_command (fixture, "cmd-a");
  b = sync_call_start ("B", fixture->connection, "cmd-b");
  command_b = receive_command (fixture, "cmd-b");

  qmp_mock_send_event (fixture->mock, "EV1", NULL, 1, 2);
  reply_tagged (fixture, command_b, "reply-b");
  qmp_mock_send_event (fixture->mock, "EV2", NULL, 1, 2);
  sync_call_join (b);
  assert_tagged_return (b, "reply-b");
  g_assert_null (a->ret);
  reply_tagged (fixture, command_a, "reply-a");
  qmp_mock_send_event (fixture->mock, "EV3", NULL, 1, 2);
  sync_call_join (a);
  assert_tagged_return (a, "reply-a");

  reader = reader_of ("reply-b");
  g_assert_cmpstr (reader, ==, "A");
  g_clear_pointer (&reader, g_free);
  reader = reader_of ("EV2");
  g_assert_cmpstr (reader, ==, "A");

  wait_events (&fixture->seen, 3);
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 0), ==, "EV1");
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 1), ==, "EV2");
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 2), ==, "EV3");
}

typedef struct
{
  JsonNode *ret;
  GError *error;
  guint n_events_before;     /* events emitted before the callback */
  Seen *seen;
  gboolean done;
} AsyncCall;

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncCall *call = user_data;

  g_assert_true (g_thread_self () == call->seen->expected_thread);
  call->ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &call->error);
  call->n_events_before = call->seen->names->len;
  call->done = TRUE;
}

/* An _async call's reply read by a _sync caller goes to the _async
 * caller's context, after the event that came before it. */
static void
test_async_reply (MockFixture   *fixture,
                  gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_async = NULL;
  g_autofree char *reader = NULL;
  AsyncCall async = { NULL, NULL, 0, &fixture->seen, FALSE };

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  command_a = receive_command (fixture, "cmd-a");
  qmp_connection_execute_async (fixture->connection, "cmd-async", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, on_async_done, &async);
  command_async = receive_command (fixture, "cmd-async");

  qmp_mock_send_event (fixture->mock, "BEFORE", NULL, 1, 2);
  reply_tagged (fixture, command_async, "reply-async");
  qmp_mock_send_event (fixture->mock, "BETWEEN", NULL, 1, 2);
  reply_tagged (fixture, command_a, "reply-a");
  sync_call_join (a);
  assert_tagged_return (a, "reply-a");

  reader = reader_of ("reply-async");
  g_assert_cmpstr (reader, ==, "A");

  while (!async.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (async.error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (async.ret), "tag"), ==,
                   "reply-async");
  g_assert_cmpuint (async.n_events_before, >=, 1);
  json_node_unref (async.ret);

  wait_events (&fixture->seen, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 0), ==, "BEFORE");
  g_assert_cmpstr (g_ptr_array_index (fixture->seen.names, 1), ==, "BETWEEN");
}

/* Cancelled from another thread while it reads: the call fails at once,
 * its late reply is dropped, and reading goes on for the next calls. */
static void
test_cancel_mid_read (MockFixture   *fixture,
                      gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_b = NULL;
  g_autofree char *reader = NULL;

  a = sync_call_new ("A", fixture->connection, "cmd-a");
  a->cancellable = g_cancellable_new ();
  sync_call_go (a);
  command_a = receive_command (fixture, "cmd-a");
  g_cancellable_cancel (a->cancellable);
  sync_call_join (a);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (a->ret);

  /* Read by the worker and dropped. */
  reply_tagged (fixture, command_a, "late-a");
  qmp_mock_send_event (fixture->mock, "AFTER_LATE", NULL, 1, 2);
  wait_events (&fixture->seen, 1);

  b = sync_call_start ("B", fixture->connection, "cmd-b");
  command_b = receive_command (fixture, "cmd-b");
  reply_tagged (fixture, command_b, "reply-b");
  sync_call_join (b);
  assert_tagged_return (b, "reply-b");
  reader = reader_of ("reply-b");
  g_assert_cmpstr (reader, ==, "B");
  g_assert_false (qmp_connection_is_closed (fixture->connection));
}

/* Timed out while it reads: the same. */
static void
test_timeout_mid_read (MockFixture   *fixture,
                       gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_b = NULL;

  a = sync_call_new ("A", fixture->connection, "cmd-a");
  a->timeout_msec = 50;
  sync_call_go (a);
  command_a = receive_command (fixture, "cmd-a");
  sync_call_join (a);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  reply_tagged (fixture, command_a, "late-a");
  b = sync_call_start ("B", fixture->connection, "cmd-b");
  command_b = receive_command (fixture, "cmd-b");
  reply_tagged (fixture, command_b, "reply-b");
  sync_call_join (b);
  assert_tagged_return (b, "reply-b");
  g_assert_false (qmp_connection_is_closed (fixture->connection));
}

/* Once the _async call and "closed" came: the call failed with @code,
 * "closed" came once with it, and the connection is closed. */
static void
assert_failed_and_closed (MockFixture *fixture,
                          AsyncCall   *async,
                          gint         code)
{
  while (!async->done || fixture->seen.n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_error (async->error, G_IO_ERROR, code);
  g_clear_error (&async->error);
  g_assert_cmpuint (fixture->seen.n_closed, ==, 1);
  g_assert_error (fixture->seen.closed_error, G_IO_ERROR, code);
  g_assert_true (qmp_connection_is_closed (fixture->connection));
}

/* The peer goes away while A reads and B and an _async call wait: each
 * fails once, and "closed" comes once. */
static void
test_peer_closes_mid_read (MockFixture   *fixture,
                           gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(SyncCall) b = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_b = NULL;
  g_autoptr(JsonObject) command_async = NULL;
  AsyncCall async = { NULL, NULL, 0, &fixture->seen, FALSE };

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  command_a = receive_command (fixture, "cmd-a");
  b = sync_call_start ("B", fixture->connection, "cmd-b");
  command_b = receive_command (fixture, "cmd-b");
  qmp_connection_execute_async (fixture->connection, "cmd-async", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, on_async_done, &async);
  command_async = receive_command (fixture, "cmd-async");

  /* Half a line, then the end. */
  qmp_mock_send_raw (fixture->mock, "{\"return\": {}, \"i", 17);
  qmp_mock_close (fixture->mock);

  sync_call_join (a);
  sync_call_join (b);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_error (b->error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  assert_failed_and_closed (fixture, &async, G_IO_ERROR_CONNECTION_CLOSED);
}

/* The peer stops reading (it shuts down its reading side) and never ends
 * the stream: the next write fails, and so does every call, with that
 * write's error, also the _async one and, when @data is TRUE, the one
 * whose caller reads.  Nobody waits for an end of stream that never
 * comes. */
static void
test_peer_stops_reading (MockFixture   *fixture,
                         gconstpointer  data)
{
  gboolean caller_reads = GPOINTER_TO_INT (data);
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(JsonObject) command_async = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reader = NULL;
  AsyncCall async = { NULL, NULL, 0, &fixture->seen, FALSE };

  qmp_connection_execute_async (fixture->connection, "cmd-async", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, on_async_done, &async);
  command_async = receive_command (fixture, "cmd-async");
  if (caller_reads)
    {
      a = sync_call_start ("A", fixture->connection, "cmd-a");
      command_a = receive_command (fixture, "cmd-a");
    }

  /* What the peer still sends comes through, read by A if it reads. */
  qmp_mock_stop_reading (fixture->mock);
  qmp_mock_send_event (fixture->mock, "STILL_SENDING", NULL, 1, 2);
  wait_events (&fixture->seen, 1);
  reader = reader_of ("STILL_SENDING");
  g_assert_cmpstr (reader, ==, caller_reads ? "A" : "worker");

  ret = qmp_connection_execute_sync (fixture->connection, "cmd-b", NULL,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);

  if (caller_reads)
    {
      sync_call_join (a);
      g_assert_null (a->ret);
      g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
    }
  assert_failed_and_closed (fixture, &async, G_IO_ERROR_BROKEN_PIPE);
}

/* QEMU answers quit, then closes; a command written meanwhile fails
 * (EPIPE).  The answer came before the write failed: quit succeeds,
 * whoever reads it and however the threads run. */
static void
test_answered_before_write_failed (void)
{
  guint n = qmp_test_scale (300);
  guint n_write_failed = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QmpMock) mock = qmp_mock_new ();
      g_autoptr(QmpConnection) connection = qmp_mock_connect (mock, QMP_CONNECTION_FLAGS_NONE, NULL);
      g_autoptr(SyncCall) a = sync_call_start ("A", connection, "quit");
      g_autoptr(JsonObject) command = qmp_mock_receive (mock);
      g_autoptr(JsonNode) ret = NULL;
      g_autoptr(GError) error = NULL;

      qmp_mock_reply (mock, command, "{}");
      qmp_mock_close (mock);
      ret = qmp_connection_execute_sync (connection, "cmd-b", NULL, QMP_EXECUTE_FLAGS_NONE,
                                         NULL, &error);
      g_assert_null (ret);
      /* Whether it was written before the end of the stream was read. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        n_write_failed++;
      else
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);

      sync_call_join (a);
      g_assert_no_error (a->error);
      g_assert_nonnull (a->ret);
    }
  g_test_message ("%u of %u commands after quit failed to be written", n_write_failed, n);
}

/* A local close while A reads: A fails with CLOSED, "closed" once. */
static void
test_close_mid_read (MockFixture   *fixture,
                     gconstpointer  data)
{
  g_autoptr(SyncCall) a = NULL;
  g_autoptr(JsonObject) command_a = NULL;
  g_autoptr(GError) error = NULL;

  a = sync_call_start ("A", fixture->connection, "cmd-a");
  command_a = receive_command (fixture, "cmd-a");
  g_assert_true (qmp_connection_close_sync (fixture->connection, NULL, &error));
  g_assert_no_error (error);
  sync_call_join (a);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  while (fixture->seen.n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (fixture->seen.n_closed, ==, 1);
  g_assert_null (fixture->seen.closed_error);

  /* The peer sees the end of the stream. */
  g_assert_true (qmp_mock_receive_nothing (fixture->mock, 10000));
}

/* ------------------------------------------------------ hammering it */

#define N_THREADS 8

typedef struct
{
  QmpConnection *connection;
  guint thread;
  guint n_calls;
  gboolean tagged_errors;    /* QEMU: qom-list of a missing path; the mock: echo */
  GCancellable *cancellable; /* cancelled by another thread now and then */
  guint n_cancelled;
} Hammer;

static void
hammer_check (gboolean      tagged_errors,
              JsonNode     *ret,
              const GError *error,
              guint         thread,
              guint         i)
{
  if (tagged_errors)
    {
      qmp_test_assert_tagged_error (error, thread, i);
    }
  else
    {
      g_autofree char *path = g_strdup_printf ("/qmp-test/t%u/i%u", thread, i);

      g_assert_no_error (error);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "path"), ==, path);
    }
}

static gpointer
hammer_thread (gpointer data)
{
  Hammer *hammer = data;
  const char *command = hammer->tagged_errors ? "qom-list" : "echo";

  g_private_set (&thread_name, "hammer");

  for (guint i = 0; i < hammer->n_calls; i++)
    {
      g_autoptr(JsonObject) arguments = qmp_test_tagged_arguments (hammer->thread, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;

      if (hammer->cancellable != NULL)
        g_cancellable_reset (hammer->cancellable);
      ret = qmp_connection_execute_sync (hammer->connection, command, arguments,
                                         QMP_EXECUTE_FLAGS_NONE, hammer->cancellable, &error);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        hammer->n_cancelled++;
      else
        hammer_check (hammer->tagged_errors, ret, error, hammer->thread, i);
    }

  return NULL;
}

typedef struct
{
  QmpConnection *connection;
  gboolean tagged_errors;
  guint n_calls;
  guint n_done;
} AsyncChain;

static void async_chain_next (AsyncChain *chain);

static void
on_chain_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncChain *chain = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);

  hammer_check (chain->tagged_errors, ret, error, 1000, chain->n_done);
  chain->n_done++;
  if (chain->n_done < chain->n_calls)
    async_chain_next (chain);
}

/* Each call made from the callback of the one before, in the main loop. */
static void
async_chain_next (AsyncChain *chain)
{
  g_autoptr(JsonObject) arguments = qmp_test_tagged_arguments (1000, chain->n_done);

  qmp_connection_execute_async (chain->connection, chain->tagged_errors ? "qom-list" : "echo",
                                arguments, QMP_EXECUTE_FLAGS_NONE, NULL, on_chain_done, chain);
}

typedef struct
{
  GCancellable *cancellable;
  gint stop;
} Canceller;

static gpointer
canceller_thread (gpointer data)
{
  Canceller *canceller = data;

  while (!g_atomic_int_get (&canceller->stop))
    {
      g_cancellable_cancel (canceller->cancellable);
      g_usleep (g_random_int_range (50, 2000));
    }

  return NULL;
}

/* N_THREADS threads of _sync calls (one of them cancelled now and then
 * from another thread), _async calls chained in the main loop, and the
 * events of @event_thread_func: each reply to its own call, the events
 * once each in order. */
static void
hammer (QmpConnection *connection,
        gboolean       tagged_errors,
        guint          n_calls,
        GThreadFunc    event_thread_func,
        gpointer       event_data)
{
  Hammer hammers[N_THREADS];
  GThread *threads[N_THREADS];
  AsyncChain chain = { connection, tagged_errors, n_calls, 0 };
  Canceller canceller = { g_cancellable_new (), 0 };
  GThread *canceller_id;
  GThread *event_thread = NULL;

  for (guint t = 0; t < N_THREADS; t++)
    {
      hammers[t] = (Hammer) { connection, t, n_calls, tagged_errors, NULL, 0 };
      if (t == 0)
        hammers[t].cancellable = canceller.cancellable;
      threads[t] = g_thread_new ("hammer", hammer_thread, &hammers[t]);
    }
  canceller_id = g_thread_new ("canceller", canceller_thread, &canceller);
  if (event_thread_func != NULL)
    event_thread = g_thread_new ("events", event_thread_func, event_data);

  async_chain_next (&chain);
  while (chain.n_done < chain.n_calls)
    g_main_context_iteration (NULL, TRUE);

  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  g_atomic_int_set (&canceller.stop, TRUE);
  g_thread_join (canceller_id);
  if (event_thread != NULL)
    g_thread_join (event_thread);
  g_object_unref (canceller.cancellable);

  g_test_message ("%u of %u calls of the cancelled thread cancelled", hammers[0].n_cancelled, n_calls);
}

/* The mock: echo replies with its arguments, and every emit command sends
 * an event TICK numbered from 0 before its reply. */
typedef struct
{
  gint next_tick;
} MockServerState;

static gboolean
mock_command (QmpTestServer        *server,
              QmpTestServerCommand *command,
              gpointer              user_data)
{
  MockServerState *state = user_data;
  const char *name = qmp_test_server_command_get_name (command);

  if (g_str_equal (name, "echo"))
    {
      g_autoptr(JsonNode) ret = json_node_init_object (json_node_alloc (),
                                                       qmp_test_server_command_get_arguments (command));

      qmp_test_server_command_reply (command, ret);
      return TRUE;
    }

  if (g_str_equal (name, "emit"))
    {
      g_autoptr(JsonObject) data = json_object_new ();
      g_autoptr(JsonObject) empty = json_object_new ();
      g_autoptr(JsonNode) ret = json_node_init_object (json_node_alloc (), empty);

      json_object_set_int_member (data, "n", state->next_tick++);
      qmp_test_server_emit_event (server, "TICK", data, NULL);
      qmp_test_server_command_reply (command, ret);
      return TRUE;
    }

  return FALSE;
}

typedef struct
{
  QmpConnection *connection;
  guint n_emits;
} Emitter;

static gpointer
emitter_thread (gpointer data)
{
  Emitter *emitter = data;

  g_private_set (&thread_name, "emitter");
  for (guint i = 0; i < emitter->n_emits; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (emitter->connection, "emit", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (ret);
    }

  return NULL;
}

typedef struct
{
  gint64 next;
  gboolean in_order;
} Ticks;

static void
on_tick (QmpConnection *connection,
         QmpEvent      *event,
         gpointer       user_data)
{
  Ticks *ticks = user_data;
  JsonObject *data = qmp_event_get_data (event);

  if (json_object_get_int_member (data, "n") != ticks->next)
    ticks->in_order = FALSE;
  ticks->next++;
}

static void
test_hammer_mock (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  MockServerState state = { 0 };
  Ticks ticks = { 0, TRUE };
  Emitter emitter;
  const guint n_calls = qmp_test_scale (2000);

  qmp_test_server_set_command_func (server, mock_command, &state, NULL);
  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "event::TICK", G_CALLBACK (on_tick), &ticks);

  emitter = (Emitter) { connection, n_calls };
  hammer (connection, FALSE, n_calls, emitter_thread, &emitter);

  while (ticks.next < n_calls)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (ticks.next, ==, n_calls);
  g_assert_true (ticks.in_order);
  g_assert_cmpuint (qmp_connection_get_dropped_events (connection), ==, 0);
}

/* Real QEMU: the replies of qom-list name their caller's path, and stop /
 * cont make STOP and RESUME, which must come alternately, once each. */
typedef struct
{
  QmpConnection *connection;
  guint n_toggles;
} Toggler;

static gpointer
toggler_thread (gpointer data)
{
  Toggler *toggler = data;

  g_private_set (&thread_name, "toggler");
  for (guint i = 0; i < toggler->n_toggles; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (qmp_connection_stop_sync (toggler->connection, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (qmp_connection_cont_sync (toggler->connection, NULL, &error));
      g_assert_no_error (error);
    }

  return NULL;
}

typedef struct
{
  guint n;
  gboolean alternate;
} StopResume;

static void
on_stop_resume (QmpConnection *connection,
                QmpEvent      *event,
                gpointer       user_data)
{
  StopResume *seen = user_data;
  const char *expected = seen->n % 2 == 0 ? "STOP" : "RESUME";
  const char *name = qmp_event_get_name (event);

  if (!g_str_equal (name, "STOP") && !g_str_equal (name, "RESUME"))
    return;
  if (!g_str_equal (name, expected))
    seen->alternate = FALSE;
  seen->n++;
}

static void
test_hammer_qemu (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  StopResume seen = { 0, TRUE };
  Toggler toggler;
  const guint n_calls = qmp_test_scale (1000);
  const guint n_toggles = qmp_test_scale (200);

  g_assert_nonnull (peer);
  connection = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_OOB);
  g_signal_connect (connection, "event", G_CALLBACK (on_stop_resume), &seen);

  toggler = (Toggler) { connection, n_toggles };
  hammer (connection, TRUE, n_calls, toggler_thread, &toggler);

  while (seen.n < 2 * n_toggles)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (seen.n, ==, 2 * n_toggles);
  g_assert_true (seen.alternate);
  g_assert_cmpuint (qmp_connection_get_dropped_events (connection), ==, 0);
}

/* ------------------------------------------------------- the guest agent */

static gpointer
ping_thread (gpointer data)
{
  QmpConnection *connection = data;

  for (guint i = 0; i < qmp_test_scale (300); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "guest-info", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (json_object_has_member (json_node_get_object (ret), "version"));
    }

  return NULL;
}

/* qemu-ga: _sync calls from several threads while another resynchronizes
 * again and again (guest-sync-delimited, the 0xFF resync), whose attempts
 * a reading caller may read. */
static void
test_guest_agent (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QGA, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GThread *threads[4];

  connection = qmp_test_guest_agent_connect (peer);

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("ping", ping_thread, connection);
  for (guint i = 0; i < qmp_test_scale (100); i++)
    {
      g_assert_true (qmp_connection_wait_guest_agent_sync (connection, NULL, &error));
      g_assert_no_error (error);
    }
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  read_lines = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler ("Qmp", G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, log_handler, NULL);

  g_test_add ("/self-read/reads-in-caller", MockFixture, NULL,
              mock_setup, test_reads_in_caller, mock_teardown);
  g_test_add ("/self-read/other-reply-first", MockFixture, NULL,
              mock_setup, test_other_reply_first, mock_teardown);
  g_test_add ("/self-read/long-reply", MockFixture, NULL,
              mock_setup, test_long_reply, mock_teardown);
  g_test_add ("/self-read/async-reply", MockFixture, NULL,
              mock_setup, test_async_reply, mock_teardown);
  g_test_add ("/self-read/cancel-mid-read", MockFixture, NULL,
              mock_setup, test_cancel_mid_read, mock_teardown);
  g_test_add ("/self-read/timeout-mid-read", MockFixture, NULL,
              mock_setup, test_timeout_mid_read, mock_teardown);
  g_test_add ("/self-read/peer-closes-mid-read", MockFixture, NULL,
              mock_setup, test_peer_closes_mid_read, mock_teardown);
  g_test_add ("/self-read/close-mid-read", MockFixture, NULL,
              mock_setup, test_close_mid_read, mock_teardown);
  g_test_add ("/self-read/peer-stops-reading/caller-reads", MockFixture, GINT_TO_POINTER (TRUE),
              mock_setup, test_peer_stops_reading, mock_teardown);
  g_test_add ("/self-read/peer-stops-reading/worker-reads", MockFixture, GINT_TO_POINTER (FALSE),
              mock_setup, test_peer_stops_reading, mock_teardown);
  g_test_add_func ("/self-read/answered-before-write-failed", test_answered_before_write_failed);
  g_test_add_func ("/self-read/hammer-mock", test_hammer_mock);
  g_test_add_func ("/self-read/hammer-qemu", test_hammer_qemu);
  g_test_add_func ("/self-read/guest-agent", test_guest_agent);

  return g_test_run ();
}
