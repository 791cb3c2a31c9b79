/* fuzz-receive.c: everything a server can send, through a QmpConnection
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The harness plays the server on a socket pair; the input is what it
 * sends.  Its first byte chooses the session, by bits:
 *
 *   bit 0  guest agent (QMP_CONNECTION_FLAGS_GUEST_AGENT)
 *   bit 1  QMP_CONNECTION_FLAGS_OOB (and an exec-oob command if enabled)
 *   bit 2  max-message-size of 128 bytes
 *   bit 3  the typed query_status instead of a plain execute
 *   bit 4  debug logging (every line formatted and redacted)
 *   bit 6  the calls are _sync ones, each in a thread of its own, so that
 *          they wait together and a caller may read its own reply
 *
 * so that "0" is a QEMU session and "1" a guest-agent one.  The rest is
 * cut into segments at each 0x1E byte (ASCII RS, which no QMP message can
 * hold).  Segment 0 is sent at once; segment k only once the client has
 * written k lines (or cannot write more, or has been quiet for a while),
 * so that a reply can name a command that was really sent.  Then the
 * server shuts down its side of the socket.
 *
 * The client: construction (greeting and qmp_capabilities, or for the
 * guest agent guest-sync-delimited, whose id is made predictable by
 * seeding GLib's generator, and guest-info); then for QEMU "query-status"
 * (id 2), "device_del" until DEVICE_DELETED for "kbd0" (id 3), a wait for
 * STOP, and "migrate-pause" out of band when OOB was negotiated (id 4);
 * for the guest agent "guest-ping" (id 3) and "guest-shutdown" (id 4, no
 * reply).  An "event" handler reads every event.  With bit 6 the same
 * calls are made with the _sync functions, each from a thread of its own.
 *
 * Checked: construction and every call finish, each once, with a result
 * or an error of the server (QMP_ERROR) or of its going away
 * (G_IO_ERROR_CONNECTION_CLOSED), never a timeout (the end of the stream
 * always comes); "closed" is emitted exactly once; no critical, warning or
 * leak.  A hang is bounded by the calls' timeout and, behind it, an
 * abort.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>
#include <qmp-glib.h>

#include "fuzz-common.h"
#include "qmp-worker-private.h"

#define SEPARATOR       0x1E
#define MAX_WAITED      8                       /* segments paced on the client */
/* How long a client that wrote nothing new is waited for: short while
 * fuzzing (most inputs leave it nothing to answer), longer in the replay,
 * which may run under valgrind. */
#ifdef QMP_FUZZING
#define QUIET_US        (2 * G_TIME_SPAN_MILLISECOND)
#else
#define QUIET_US        (20 * G_TIME_SPAN_MILLISECOND)
#endif
#define TICK_MS         2                       /* bounds a blocking iteration */
#define CALL_TIMEOUT_MS 20000                   /* no call may reach it */
#define HANG_US         (60 * G_TIME_SPAN_SECOND)
#define SYNC_SEED       0x51D

enum {
  OPT_GUEST_AGENT = 1 << 0,
  OPT_OOB = 1 << 1,
  OPT_SMALL_MAX = 1 << 2,
  OPT_TYPED = 1 << 3,
  OPT_DEBUG = 1 << 4,
  OPT_SYNC = 1 << 6,
};

#define MAX_SYNC_CALLS 4

typedef struct
{
  GMainContext *context;
  GSocket *server;
  guint options;
  gint64 hang_deadline;

  QmpConnection *conn;
  gboolean constructed;     /* construction has finished */
  gboolean construct_ok;
  guint n_calls;            /* started after construction */
  guint n_done;             /* atomic: _sync calls finish in their threads */
  guint n_closed;
  guint n_events;
  guint expected_lines;     /* the most lines the client will write */
  guint client_lines;       /* lines it wrote */
  gboolean client_gone;     /* it hung up */
  gint progress;            /* atomic; bumped by everything the client does */
  GThread *threads[MAX_SYNC_CALLS];   /* the _sync calls' */
} Session;

static void
check_hang (Session *s)
{
  fuzz_check_hang ("fuzz-receive", s->hang_deadline, (int) (HANG_US / G_TIME_SPAN_SECOND));
}

/* An error a call may end with when the server misbehaves or leaves. */
static void
check_error (const GError *error)
{
  if (error == NULL)
    return;
  if (error->domain == QMP_ERROR)
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    return;
  fuzz_fail ("fuzz-receive: unexpected error %s %d: %s",
           g_quark_to_string (error->domain), error->code, error->message);
}

/* Reads what the client wrote. */
static gboolean
on_server_readable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  char buffer[4096];
  gssize n;

  while ((n = g_socket_receive_with_blocking (s->server, buffer, sizeof buffer, FALSE,
                                              NULL, &error)) > 0)
    {
      g_atomic_int_inc (&s->progress);
      for (gssize i = 0; i < n; i++)
        if (buffer[i] == '\n')
          s->client_lines++;
    }
  if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* The client hung up. */
      s->client_gone = TRUE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* One blocking iteration: the tick bounds it. */
static void
iterate (Session *s)
{
  check_hang (s);
  g_main_context_iteration (s->context, TRUE);
}

static gboolean
no_more_lines (Session *s)
{
  return s->n_closed > 0 || s->client_gone ||
         (s->constructed && (!s->construct_ok || s->client_lines >= s->expected_lines));
}

static void
wait_for_client (Session *s,
                 guint    lines)
{
  gint64 quiet_until = g_get_monotonic_time () + QUIET_US;
  gint seen = g_atomic_int_get (&s->progress);

  while (s->client_lines < lines && !no_more_lines (s))
    {
      if (g_atomic_int_get (&s->progress) != seen)
        {
          seen = g_atomic_int_get (&s->progress);
          quiet_until = g_get_monotonic_time () + QUIET_US;
        }
      else if (g_get_monotonic_time () > quiet_until)
        {
          return;
        }
      iterate (s);
    }
}

/* Sends @len bytes without blocking the main context, which the library
 * may need to make progress before it reads more. */
static void
send_all (Session    *s,
          const char *data,
          gsize       len)
{
  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send_with_blocking (s->server, data, len, FALSE, NULL, &error);

      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return;   /* the client hung up */
          iterate (s);
          continue;
        }
      data += n;
      len -= n;
    }
}

static void
on_event (QmpConnection *conn,
          QmpEvent      *event,
          Session       *s)
{
  JsonObject *data = qmp_event_get_data (event);

  s->n_events++;
  g_assert_nonnull (qmp_event_get_name (event));
  qmp_event_get_timestamp (event);
  g_assert_true (qmp_event_matches (event, qmp_event_get_name (event), data));
}

static void
on_closed (QmpConnection *conn,
           gboolean       remote_peer_vanished,
           GError        *error,
           Session       *s)
{
  g_atomic_int_inc (&s->progress);
  s->n_closed++;
  g_assert_cmpuint (s->n_closed, ==, 1);
  g_assert_nonnull (error);
  check_error (error);
}

static void
call_done (Session *s)
{
  guint done = (guint) g_atomic_int_add (&s->n_done, 1) + 1;

  g_atomic_int_inc (&s->progress);
  g_assert_cmpuint (done, <=, s->n_calls);
}

static void
execute_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
  g_assert_true ((ret == NULL) != (error == NULL));
  check_error (error);
  call_done (s);
}

static void
query_status_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  gboolean running = FALSE;

  qmp_connection_query_status_finish (QMP_CONNECTION (source), result, &running, &error);
  check_error (error);
  call_done (s);
}

static void
until_event_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;

  event = qmp_connection_execute_until_event_finish (QMP_CONNECTION (source), result,
                                                     &ret, &error);
  g_assert_true ((event == NULL) != (error == NULL));
  if (event != NULL)
    {
      g_assert_cmpstr (qmp_event_get_name (event), ==, "DEVICE_DELETED");
      g_assert_nonnull (ret);
    }
  check_error (error);
  call_done (s);
}

static void
wait_event_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;

  event = qmp_connection_wait_event_finish (QMP_CONNECTION (source), result, &error);
  g_assert_true ((event == NULL) != (error == NULL));
  if (event != NULL)
    g_assert_cmpstr (qmp_event_get_name (event), ==, "STOP");
  check_error (error);
  call_done (s);
}

/* One _sync call, in a thread of its own: the calls of start_calls() */
typedef struct
{
  Session *s;
  guint which;
} SyncCall;

static gpointer
sync_call_thread (gpointer user_data)
{
  g_autofree SyncCall *call = user_data;
  Session *s = call->s;
  QmpConnection *conn = s->conn;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;

  if (s->options & OPT_GUEST_AGENT)
    {
      ret = qmp_connection_execute_sync (conn, call->which == 0 ? "guest-ping" : "guest-shutdown",
                                         NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_true ((ret == NULL) != (error == NULL));
    }
  else if (call->which == 0 && (s->options & OPT_TYPED))
    {
      gboolean running = FALSE;

      qmp_connection_query_status_sync (conn, &running, NULL, &error);
    }
  else if (call->which == 0 || call->which == 3)
    {
      ret = qmp_connection_execute_sync (conn, call->which == 0 ? "query-status" : "migrate-pause", NULL,
                                         call->which == 0 ? QMP_EXECUTE_FLAGS_NONE : QMP_EXECUTE_FLAGS_OOB,
                                         NULL, &error);
      g_assert_true ((ret == NULL) != (error == NULL));
    }
  else if (call->which == 1)
    {
      g_autoptr(JsonObject) arguments = json_object_new ();
      g_autoptr(JsonObject) match = json_object_new ();

      json_object_set_string_member (arguments, "id", "kbd0");
      json_object_set_string_member (match, "device", "kbd0");
      event = qmp_connection_execute_until_event_sync (conn, "device_del", arguments,
                                                       "DEVICE_DELETED", match, &ret, NULL, &error);
      g_assert_true ((event == NULL) != (error == NULL));
      if (event != NULL)
        {
          g_assert_cmpstr (qmp_event_get_name (event), ==, "DEVICE_DELETED");
          g_assert_nonnull (ret);
        }
    }
  else
    {
      event = qmp_connection_wait_event_sync (conn, "STOP", NULL, NULL, &error);
      g_assert_true ((event == NULL) != (error == NULL));
      if (event != NULL)
        g_assert_cmpstr (qmp_event_get_name (event), ==, "STOP");
    }

  check_error (error);
  call_done (s);
  return NULL;
}

static void
start_sync_calls (Session *s)
{
  gboolean oob = !(s->options & OPT_GUEST_AGENT) && qmp_connection_get_oob_enabled (s->conn);

  s->expected_lines = (s->options & OPT_GUEST_AGENT) ? 4 : oob ? 4 : 3;
  s->n_calls = (s->options & OPT_GUEST_AGENT) ? 2 : oob ? 4 : 3;
  for (guint i = 0; i < s->n_calls; i++)
    {
      SyncCall *call = g_new0 (SyncCall, 1);

      call->s = s;
      call->which = i;
      s->threads[i] = g_thread_new ("fuzz-sync-call", sync_call_thread, call);
    }
}

static void
start_calls (Session *s)
{
  QmpConnection *conn = s->conn;

  if (s->options & OPT_SYNC)
    {
      start_sync_calls (s);
      return;
    }

  if (s->options & OPT_GUEST_AGENT)
    {
      /* guest-sync-delimited and guest-info came first. */
      s->expected_lines = 4;
      s->n_calls = 2;
      qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE,
                                    NULL, execute_cb, s);
      qmp_connection_execute_async (conn, "guest-shutdown", NULL, QMP_EXECUTE_FLAGS_NONE,
                                    NULL, execute_cb, s);
      return;
    }

  {
    g_autoptr(JsonObject) arguments = json_object_new ();
    g_autoptr(JsonObject) match = json_object_new ();

    json_object_set_string_member (arguments, "id", "kbd0");
    json_object_set_string_member (match, "device", "kbd0");

    s->expected_lines = 3;
    s->n_calls = 3;
    if (s->options & OPT_TYPED)
      qmp_connection_query_status_async (conn, NULL, query_status_cb, s);
    else
      qmp_connection_execute_async (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                    NULL, execute_cb, s);
    qmp_connection_execute_until_event_async (conn, "device_del", arguments,
                                              "DEVICE_DELETED", match, NULL,
                                              until_event_cb, s);
    qmp_connection_wait_event_async (conn, "STOP", NULL, NULL, wait_event_cb, s);
    if (qmp_connection_get_oob_enabled (conn))
      {
        s->expected_lines++;
        s->n_calls++;
        qmp_connection_execute_async (conn, "migrate-pause", NULL, QMP_EXECUTE_FLAGS_OOB,
                                      NULL, execute_cb, s);
      }
  }
}

static void
construct_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  GObject *object;

  object = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);
  g_atomic_int_inc (&s->progress);
  g_assert_false (s->constructed);
  s->constructed = TRUE;
  g_assert_true ((object == NULL) != (error == NULL));
  check_error (error);
  if (object == NULL)
    return;

  s->construct_ok = TRUE;
  s->conn = QMP_CONNECTION (object);
  g_signal_connect (s->conn, "event", G_CALLBACK (on_event), s);
  g_signal_connect (s->conn, "closed", G_CALLBACK (on_closed), s);

  /* Closed already (the server left right after the negotiation): calls
   * must still finish, with the error of the close. */
  start_calls (s);
}

static gboolean
session_done (Session *s)
{
  return s->constructed &&
         (!s->construct_ok ||
          ((guint) g_atomic_int_get (&s->n_done) == s->n_calls && s->n_closed == 1));
}

static QmpWorker *worker;

static gboolean
on_worker_barrier (gpointer user_data)
{
  g_atomic_int_set ((gint *) user_data, TRUE);
  return G_SOURCE_REMOVE;
}

/* Drops the harness's socket and stream, and waits until the library has
 * let go of them too: the channel ends on the I/O thread a moment after
 * the connection, and what it frees then is the run's to free.  libFuzzer
 * checks for leaks after a run that allocated more than it freed (twice),
 * and stops checking after 1,000 checks: on a fuzzing corpus, 1 run in 45
 * led to a check without the wait, 1 in 2,000 with it. */
static void
wait_for_teardown (Session    *s,
                   GSocket   **client_socket,
                   GIOStream **stream)
{
  GWeakRef socket_ref;
  GObject *alive;
  gint barrier = FALSE;

  g_weak_ref_init (&socket_ref, *client_socket);
  g_clear_object (stream);
  g_clear_object (client_socket);
  while ((alive = g_weak_ref_get (&socket_ref)) != NULL)
    {
      g_object_unref (alive);
      check_hang (s);
      g_main_context_iteration (s->context, FALSE);
      g_usleep (100);
    }
  g_weak_ref_clear (&socket_ref);

  /* The channel frees the rest in the same dispatch of the worker. */
  _qmp_worker_idle_add (worker, G_PRIORITY_LOW, "[fuzz-receive] barrier",
                        on_worker_barrier, &barrier, NULL);
  while (!g_atomic_int_get (&barrier))
    {
      check_hang (s);
      g_usleep (100);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GSocket) client_socket = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) server_source = NULL;
  g_autoptr(GSource) tick = NULL;
  Session s = { 0, };
  QmpConnectionFlags flags = QMP_CONNECTION_FLAGS_NONE;
  const char *p;
  const char *end;
  guint segment;
  gboolean line_sent = FALSE;
  int fds[2];

  fuzz_init ();

  /* The library's I/O thread, kept for the whole run as fuzz-serve keeps
   * it.  Else each session starts one, and its end stops it, at times from
   * the thread itself, which then ends a moment after this function has
   * returned, while libFuzzer looks for leaks.  A live thread's stack and
   * thread-local storage are roots for LeakSanitizer; but once the thread
   * ids wrap (pid_max: 32768 here, a few minutes of fuzzing) the ASan
   * runtime of clang 14 takes a new thread for a finished one of the same
   * id ("Thread N not found in registry", LSAN_OPTIONS=log_threads=1) and
   * scans neither: GSlice's magazines, GLib's dispatch state and the
   * channel's reading batch, held in that thread-local storage, are then
   * reported as leaked. */
  if (g_once_init_enter (&worker))
    g_once_init_leave (&worker, _qmp_worker_ref ());

  if (size == 0)
    return 0;

  s.options = data[0];
  p = (const char *) data + 1;
  end = (const char *) data + size;
  s.hang_deadline = g_get_monotonic_time () + HANG_US;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));
  s.server = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (s.server, FALSE);
  client_socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  stream = G_IO_STREAM (g_socket_connection_factory_create_connection (client_socket));

  s.context = g_main_context_new ();
  g_main_context_push_thread_default (s.context);
  server_source = g_socket_create_source (s.server, G_IO_IN, NULL);
  g_source_set_callback (server_source, G_SOURCE_FUNC (on_server_readable), &s, NULL);
  g_source_attach (server_source, s.context);
  tick = g_timeout_source_new (TICK_MS);
  g_source_set_callback (tick, on_tick, NULL, NULL);
  g_source_attach (tick, s.context);

  if (s.options & OPT_GUEST_AGENT)
    flags |= QMP_CONNECTION_FLAGS_GUEST_AGENT;
  if (s.options & OPT_OOB)
    flags |= QMP_CONNECTION_FLAGS_OOB;
  g_log_set_debug_enabled ((s.options & OPT_DEBUG) != 0);

  /* The guest agent's synchronisation token, g_random_int_range(), is
   * then the same in every run (see the corpus). */
  g_random_set_seed (SYNC_SEED);
  s.expected_lines = (s.options & OPT_GUEST_AGENT) ? 2 : 1;

  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, NULL,
                              construct_cb, &s,
                              "stream", stream,
                              "flags", flags,
                              "timeout", (guint) CALL_TIMEOUT_MS,
                              "max-message-size", (guint64) ((s.options & OPT_SMALL_MAX) ? 128 : 1 << 20),
                              NULL);

  for (segment = 0; p <= end; segment++)
    {
      const char *sep = memchr (p, SEPARATOR, end - p);
      const char *segment_end = sep ? sep : end;

      /* The client writes only after a whole line (or the guest agent's
       * 0xFF): after a partial one, there is nothing to wait for. */
      if (segment > 0 && segment <= MAX_WAITED && line_sent)
        {
          wait_for_client (&s, segment);
          line_sent = FALSE;
        }
      send_all (&s, p, segment_end - p);
      line_sent |= memchr (p, '\n', segment_end - p) != NULL;
      p = segment_end + 1;
    }

  /* The end of the stream: whatever is pending must now finish. */
  g_socket_shutdown (s.server, FALSE, TRUE, NULL);
  while (!session_done (&s))
    iterate (&s);

  /* QMP_FUZZ_VERBOSE=1: what a session did, to check a seed. */
  if (g_getenv ("QMP_FUZZ_VERBOSE") != NULL)
    g_printerr ("fuzz-receive: constructed %s, %u/%u calls done, %u events, "
                "%u client lines, closed %u\n",
                s.construct_ok ? "yes" : "no", s.n_done, s.n_calls, s.n_events,
                s.client_lines, s.n_closed);

  for (guint i = 0; i < MAX_SYNC_CALLS; i++)
    if (s.threads[i] != NULL)
      g_thread_join (s.threads[i]);

  if (s.conn != NULL)
    {
      g_assert_true (qmp_connection_is_closed (s.conn));
      g_signal_handlers_disconnect_by_data (s.conn, &s);
      g_clear_object (&s.conn);
    }
  g_log_set_debug_enabled (FALSE);
  wait_for_teardown (&s, &client_socket, &stream);

  g_source_destroy (server_source);
  g_source_destroy (tick);
  g_clear_pointer (&server_source, g_source_unref);
  g_clear_pointer (&tick, g_source_unref);
  g_socket_close (s.server, NULL);
  g_clear_object (&s.server);
  while (g_main_context_iteration (s.context, FALSE))
    ;
  g_main_context_pop_thread_default (s.context);
  g_main_context_unref (s.context);

  return 0;
}
