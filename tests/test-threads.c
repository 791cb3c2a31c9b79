/* test-threads.c: one QmpConnection used from many threads at once, and
 * deep pipelines, against a real qemu-system-x86_64
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
  QmpTestPeer *peer;
  QmpConnection *connection;
} Fixture;

static void
setup (Fixture       *fixture,
       gconstpointer  data)
{
  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_assert_nonnull (fixture->peer);
  fixture->connection = qmp_test_peer_connect (fixture->peer, QMP_CONNECTION_FLAGS_OOB);
}

static void
teardown (Fixture       *fixture,
          gconstpointer  data)
{
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->peer, qmp_test_peer_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ------------------------------------------------------- _sync, 8 threads */

typedef struct
{
  QmpConnection *connection;
  guint thread;
  guint n_calls;
} SyncWorker;

static gpointer
sync_worker (gpointer data)
{
  SyncWorker *worker = data;

  for (guint i = 0; i < worker->n_calls; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;

      if (i % 2 == 0)
        {
          g_autoptr(JsonObject) arguments = qmp_test_tagged_arguments (worker->thread, i);

          ret = qmp_connection_execute_sync (worker->connection, "qom-list", arguments,
                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);
          g_assert_null (ret);
          qmp_test_assert_tagged_error (error, worker->thread, i);
        }
      else
        {
          ret = qmp_connection_execute_sync (worker->connection, "query-status", NULL,
                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);
          g_assert_no_error (error);
          g_assert_true (json_object_has_member (json_node_get_object (ret), "running"));
        }
    }

  return NULL;
}

static void
test_sync_threads (Fixture       *fixture,
                   gconstpointer  data)
{
  enum { N_THREADS = 8 };
  SyncWorker workers[N_THREADS];
  GThread *threads[N_THREADS];
  guint n_calls = qmp_test_scale (2000);
  gint64 start = g_get_monotonic_time ();

  for (guint t = 0; t < N_THREADS; t++)
    {
      workers[t] = (SyncWorker) { fixture->connection, t, n_calls };
      threads[t] = g_thread_new ("sync-caller", sync_worker, &workers[t]);
    }

  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);

  g_test_message ("%u threads × %u _sync calls: %.1f ms", N_THREADS, n_calls,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_false (qmp_connection_is_closed (fixture->connection));
}

/* ----------------------------------------- _async, 4 threads, 4 contexts */

typedef struct
{
  QmpConnection *connection;
  guint thread;
  guint n_calls;
  guint n_done;
  GMainContext *context;
  GThread *self;
} AsyncWorker;

typedef struct
{
  AsyncWorker *worker;
  guint i;
} AsyncCall;

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncCall *call = user_data;
  AsyncWorker *worker = call->worker;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  /* Each callback in the thread, and the context, that made its call. */
  g_assert_true (g_thread_self () == worker->self);
  g_assert_true (g_main_context_get_thread_default () == worker->context);
  g_assert_true (g_main_context_is_owner (worker->context));

  ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
  g_assert_null (ret);
  qmp_test_assert_tagged_error (error, worker->thread, call->i);

  /* In order, too: the replies come in the order the calls were made. */
  g_assert_cmpuint (call->i, ==, worker->n_done);
  worker->n_done++;
  g_free (call);
}

static gpointer
async_worker (gpointer data)
{
  AsyncWorker *worker = data;

  worker->self = g_thread_self ();
  worker->context = g_main_context_new ();
  g_main_context_push_thread_default (worker->context);

  for (guint i = 0; i < worker->n_calls; i++)
    {
      g_autoptr(JsonObject) arguments = qmp_test_tagged_arguments (worker->thread, i);
      AsyncCall *call = g_new0 (AsyncCall, 1);

      call->worker = worker;
      call->i = i;
      qmp_connection_execute_async (worker->connection, "qom-list", arguments,
                                    QMP_EXECUTE_FLAGS_NONE, NULL, on_async_done, call);
    }

  while (worker->n_done < worker->n_calls)
    g_main_context_iteration (worker->context, TRUE);

  g_main_context_pop_thread_default (worker->context);
  g_main_context_unref (worker->context);

  return NULL;
}

static void
test_async_threads (Fixture       *fixture,
                    gconstpointer  data)
{
  enum { N_THREADS = 4 };
  AsyncWorker workers[N_THREADS];
  GThread *threads[N_THREADS];
  guint n_calls = qmp_test_scale (2000);

  for (guint t = 0; t < N_THREADS; t++)
    {
      workers[t] = (AsyncWorker) { fixture->connection, t, n_calls, 0, NULL, NULL };
      threads[t] = g_thread_new ("async-caller", async_worker, &workers[t]);
    }

  for (guint t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpuint (workers[t].n_done, ==, n_calls);
    }
}

/* ------------------------------------------------- 100,000 pipelined */

typedef struct
{
  guint n_done;
  guint n_calls;
} Pipeline;

static void
on_pipelined (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pipeline *pipeline = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"), ==, "running");
  pipeline->n_done++;
}

typedef struct
{
  Pipeline *pipeline;
  guint i;
} Ordered;

static void
on_pipelined_ordered (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Ordered ordered = *(Ordered *) user_data;

  g_free (user_data);
  /* Answered in order: the i-th callback is the i-th call's. */
  g_assert_cmpuint (ordered.i, ==, ordered.pipeline->n_done);
  on_pipelined (source, result, ordered.pipeline);
}

static void
test_pipelined (Fixture       *fixture,
                gconstpointer  data)
{
  Pipeline pipeline = { 0, qmp_test_scale (100000) };
  gint64 start = g_get_monotonic_time ();
  double elapsed_ms;

  for (guint i = 0; i < pipeline.n_calls; i++)
    {
      Ordered *ordered = g_new (Ordered, 1);

      ordered->pipeline = &pipeline;
      ordered->i = i;
      qmp_connection_execute_async (fixture->connection, "query-status", NULL,
                                    QMP_EXECUTE_FLAGS_NONE, NULL, on_pipelined_ordered, ordered);
    }

  while (pipeline.n_done < pipeline.n_calls)
    g_main_context_iteration (NULL, TRUE);

  elapsed_ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("%u pipelined query-status calls: %.0f ms (%.1f µs per call)",
                  pipeline.n_calls, elapsed_ms, elapsed_ms * 1000.0 / pipeline.n_calls);
  g_assert_cmpuint (pipeline.n_done, ==, pipeline.n_calls);
}

/* --------------------------------------------------- one worker thread */

static guint
count_threads_named (const char *name)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *entry;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", entry, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_equal (g_strstrip (comm), name))
        n++;
    }

  return n;
}

static void
test_one_worker (void)
{
  enum { N_CONNECTIONS = 20 };
  QmpTestServer *server = qmp_test_server_new ();
  QmpConnection *connections[N_CONNECTIONS];

  for (guint i = 0; i < N_CONNECTIONS; i++)
    {
      g_autoptr(GError) error = NULL;

      connections[i] = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
    }

  /* 20 connections and their server, one I/O thread. */
  g_assert_cmpuint (count_threads_named ("qmp-worker"), ==, 1);

  for (guint i = 0; i < N_CONNECTIONS; i++)
    g_clear_object (&connections[i]);
  g_clear_object (&server);

  /* The last connection gone, the thread goes too, once the worker has
   * closed their streams. */
  for (guint i = 0; i < 3000 && count_threads_named ("qmp-worker") > 0; i++)
    g_usleep (10 * 1000);
  g_assert_cmpuint (count_threads_named ("qmp-worker"), ==, 0);
}

/* Streams made by the test share the worker too, and a connection that is
 * dropped while calls run from other threads shuts down cleanly. */
static gpointer
unref_worker (gpointer data)
{
  QmpConnection *connection = data;

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "query-status", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, NULL);
      g_assert_nonnull (ret);
    }

  g_object_unref (connection);
  return NULL;
}

static void
test_last_unref_in_thread (Fixture       *fixture,
                           gconstpointer  data)
{
  GThread *threads[4];

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("unref", unref_worker, g_object_ref (fixture->connection));

  g_clear_object (&fixture->connection);

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
}

/* ------------------------------------------------ the emission's source */

static void
on_event_seen (QmpConnection *connection,
               QmpEvent      *event,
               gpointer       user_data)
{
  gboolean *seen = user_data;

  *seen = TRUE;
}

/* The timeout of the next poll of @context, as its sources ask for it:
 * -1 when none has a time to keep. */
static gint
context_poll_timeout (GMainContext *context)
{
  GPollFD fds[8];
  gint priority;
  gint timeout;

  g_assert_true (g_main_context_acquire (context));
  g_main_context_prepare (context, &priority);
  g_main_context_query (context, priority, &timeout, fds, G_N_ELEMENTS (fds));
  g_main_context_release (context);

  return timeout;
}

/* The source that emits the events and results of a connection stays in
 * its context while they come, goes after a second or two without any,
 * and comes back for the next. */
static void
test_emission_source_comes_and_goes (Fixture       *fixture,
                                     gconstpointer  data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gboolean stopped = FALSE, resumed = FALSE;
  gint64 deadline;
  gint timeout;

  /* QEMU's monitor serves one client at a time: this one, in @context. */
  g_clear_object (&fixture->connection);
  g_main_context_push_thread_default (context);
  connection = qmp_test_peer_connect (fixture->peer, QMP_CONNECTION_FLAGS_NONE);
  g_signal_connect (connection, "event::STOP", G_CALLBACK (on_event_seen), &stopped);
  g_signal_connect (connection, "event::RESUME", G_CALLBACK (on_event_seen), &resumed);
  /* Nothing came yet: no source keeps a time. */
  g_assert_cmpint (context_poll_timeout (context), ==, -1);

  qmp_connection_execute_async (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &result);
  done = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (connection, done, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  qmp_test_wait_flag (&stopped);

  /* It stays for a while (0 if this thread was held up past its time)... */
  timeout = context_poll_timeout (context);
  g_assert_cmpint (timeout, >=, 0);
  g_assert_cmpint (timeout, <=, 1000);

  /* ...and goes. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (context_poll_timeout (context) != -1 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpint (context_poll_timeout (context), ==, -1);

  /* The next result and event come as the first did. */
  qmp_connection_execute_async (connection, "cont", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &result);
  g_clear_object (&done);
  done = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (connection, done, &error);
  g_assert_no_error (error);
  qmp_test_wait_flag (&resumed);
  g_assert_cmpint (context_poll_timeout (context), >=, 0);

  g_clear_object (&connection);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
}

/* Events queued for the context do not keep the connection: its last
 * reference finalizes it, and they go with it. */
static void
test_last_unref_with_queued_events (Fixture       *fixture,
                                    gconstpointer  data)
{
  QmpConnection *connection = g_steal_pointer (&fixture->connection);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gboolean stopped = FALSE;

  g_signal_connect (connection, "event::STOP", G_CALLBACK (on_event_seen), &stopped);
  ret = qmp_connection_execute_sync (connection, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  /* Read by now: QEMU sends STOP before this reply. */
  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_false (stopped);

  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) &connection);
  g_object_unref (connection);
  g_assert_null (connection);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (stopped);
}

/* ------------------------------------- cancel, time out and close at once */

/* Threads make calls while another cancels them, some calls with a
 * deadline that expires, and one thread closes the connection under all
 * of it: each call ends with its reply or with one of the errors that say
 * why not, and every caller returns.  Under ThreadSanitizer this is the
 * test of the paths that finish a call from another thread. */
typedef struct
{
  QmpConnection *connection;
  GMutex lock;
  GCond cond;
  GCancellable *cancellables[4];  /* the running call of each sync caller */
  guint n_ok;                     /* replies received, before the close */
  gboolean stop;                  /* the connection was closed */
  guint n_cancelled;
  guint n_timed_out;
} Chaos;

typedef struct
{
  Chaos *chaos;
  guint thread;
} ChaosCaller;

static gboolean
chaos_ended (Chaos        *chaos,
             const GError *error)
{
  gboolean closed = FALSE;

  g_mutex_lock (&chaos->lock);
  if (error == NULL)
    chaos->n_ok++;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    chaos->n_cancelled++;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    chaos->n_timed_out++;
  else
    {
      /* Only the close ends a call otherwise. */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
      g_assert_true (qmp_connection_is_closed (chaos->connection));
      closed = TRUE;
    }
  g_cond_broadcast (&chaos->cond);
  closed = closed || chaos->stop;
  g_mutex_unlock (&chaos->lock);

  return closed;
}

static gpointer
chaos_sync_caller (gpointer data)
{
  ChaosCaller *caller = data;
  Chaos *chaos = caller->chaos;
  gboolean closed = FALSE;

  for (guint i = 0; !closed; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;

      g_mutex_lock (&chaos->lock);
      g_set_object (&chaos->cancellables[caller->thread], cancellable);
      g_mutex_unlock (&chaos->lock);

      /* Every third call with a deadline of 1 ms, which a call sometimes
       * outlives and sometimes not: both outcomes are allowed. */
      ret = qmp_connection_execute_full_sync (chaos->connection, "query-status", NULL,
                                              QMP_EXECUTE_FLAGS_NONE, i % 3 == 0 ? 1 : -1,
                                              cancellable, &error);
      g_assert_true ((ret == NULL) == (error != NULL));
      closed = chaos_ended (chaos, error);

      g_mutex_lock (&chaos->lock);
      g_clear_object (&chaos->cancellables[caller->thread]);
      g_mutex_unlock (&chaos->lock);
    }

  return NULL;
}

typedef struct
{
  gboolean done;
  GError *error;
} ChaosResult;

static void
chaos_async_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ChaosResult *chaos_result = user_data;
  g_autoptr(JsonNode) ret = NULL;

  ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &chaos_result->error);
  g_assert_true ((ret == NULL) == (chaos_result->error != NULL));
  chaos_result->done = TRUE;
}

/* _async calls from a context of its own, half of them cancelled from here
 * at once, while the worker may be finishing them. */
static gpointer
chaos_async_caller (gpointer data)
{
  Chaos *chaos = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean closed = FALSE;

  g_main_context_push_thread_default (context);
  for (guint i = 0; !closed; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      ChaosResult result = { FALSE, NULL };

      qmp_connection_execute_async (chaos->connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                    cancellable, chaos_async_done, &result);
      if (i % 2 == 1)
        g_cancellable_cancel (cancellable);
      while (!result.done)
        g_main_context_iteration (context, TRUE);
      closed = chaos_ended (chaos, result.error);
      g_clear_error (&result.error);
    }
  g_main_context_pop_thread_default (context);

  return NULL;
}

static gpointer
chaos_canceller (gpointer data)
{
  Chaos *chaos = data;
  gboolean stop = FALSE;

  for (guint i = 0; !stop; i++)
    {
      g_autoptr(GCancellable) cancellable = NULL;

      g_mutex_lock (&chaos->lock);
      stop = chaos->stop;
      g_set_object (&cancellable, chaos->cancellables[i % G_N_ELEMENTS (chaos->cancellables)]);
      g_mutex_unlock (&chaos->lock);

      if (cancellable != NULL)
        g_cancellable_cancel (cancellable);
      /* Not a spin: a call must get through now and then.  A random pause
       * hits calls at every stage. */
      g_usleep (g_random_int_range (0, 400));
    }

  return NULL;
}

static gpointer
chaos_closer (gpointer data)
{
  Chaos *chaos = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (qmp_connection_close_sync (chaos->connection, NULL, &error));
  g_assert_no_error (error);

  return NULL;
}

static void
test_cancel_timeout_close (Fixture       *fixture,
                           gconstpointer  data)
{
  Chaos chaos = { fixture->connection, };
  ChaosCaller callers[G_N_ELEMENTS (chaos.cancellables)];
  GThread *threads[G_N_ELEMENTS (callers) + 3];
  guint n_before_close = qmp_test_scale (2000);
  guint n = 0;
  gint64 deadline;

  g_mutex_init (&chaos.lock);
  g_cond_init (&chaos.cond);

  for (guint t = 0; t < G_N_ELEMENTS (callers); t++)
    {
      callers[t] = (ChaosCaller) { &chaos, t };
      threads[n++] = g_thread_new ("chaos-sync", chaos_sync_caller, &callers[t]);
    }
  threads[n++] = g_thread_new ("chaos-async", chaos_async_caller, &chaos);
  threads[n++] = g_thread_new ("chaos-cancel", chaos_canceller, &chaos);

  /* The close comes while the calls run, once many have been answered
   * and both other ends have happened (or a minute went by: then the
   * checks below fail). */
  g_mutex_lock (&chaos.lock);
  deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  while ((chaos.n_ok < n_before_close || chaos.n_cancelled == 0 || chaos.n_timed_out == 0) &&
         g_cond_wait_until (&chaos.cond, &chaos.lock, deadline))
    ;
  g_mutex_unlock (&chaos.lock);
  threads[n++] = g_thread_new ("chaos-close", chaos_closer, &chaos);

  /* Every caller sees the close and returns; then the canceller stops. */
  g_thread_join (threads[n - 1]);
  for (guint t = 0; t < G_N_ELEMENTS (callers) + 1; t++)
    g_thread_join (threads[t]);
  g_mutex_lock (&chaos.lock);
  chaos.stop = TRUE;
  g_mutex_unlock (&chaos.lock);
  g_thread_join (threads[G_N_ELEMENTS (callers) + 1]);

  g_test_message ("%u replies, %u cancelled, %u timed out before the close",
                  chaos.n_ok, chaos.n_cancelled, chaos.n_timed_out);
  g_assert_cmpuint (chaos.n_ok, >=, n_before_close);
  /* Both ends other than a reply happened, or this tested nothing */
  g_assert_cmpuint (chaos.n_cancelled, >, 0);
  g_assert_cmpuint (chaos.n_timed_out, >, 0);

  g_mutex_clear (&chaos.lock);
  g_cond_clear (&chaos.cond);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/threads/sync-8-threads", Fixture, NULL, setup, test_sync_threads, teardown);
  g_test_add ("/threads/async-4-contexts", Fixture, NULL, setup, test_async_threads, teardown);
  g_test_add ("/threads/pipelined", Fixture, NULL, setup, test_pipelined, teardown);
  g_test_add_func ("/threads/one-worker", test_one_worker);
  g_test_add ("/threads/last-unref-in-thread", Fixture, NULL, setup, test_last_unref_in_thread, teardown);
  g_test_add ("/threads/cancel-timeout-close", Fixture, NULL, setup, test_cancel_timeout_close, teardown);
  g_test_add ("/threads/emission-source-comes-and-goes", Fixture, NULL, setup,
              test_emission_source_comes_and_goes, teardown);
  g_test_add ("/threads/last-unref-with-queued-events", Fixture, NULL, setup,
              test_last_unref_with_queued_events, teardown);

  return g_test_run ();
}
