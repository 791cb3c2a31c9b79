/* test-mock.c: QmpConnection against a scripted mock QMP server
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test thread plays the server with the blocking qmp_mock_* calls and
 * iterates its thread-default main context, where the callbacks of the
 * async calls and the signals of the connection arrive.  Assertions are
 * non-fatal, so that one broken behaviour does not hide the others: the
 * tests bail out when a step they depend on failed, and the teardown
 * closes the connection and waits for every call it started.  (A crash or
 * a critical inside the library still ends the program; run one test with
 * -p PATH to see the others.)
 *
 * The numbers in the comments are those of the list in the issue.
 */

#include <stdio.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* How long a call may take to finish when the server did its part, and
 * how long one that must fail "at once" (without the server) may take. */
#define WAIT_MS    (qmp_test_is_slow () ? 30000 : 10000)
#define AT_ONCE_MS (qmp_test_is_slow () ? 10000 : 3000)

/* In-band commands the library lets be unanswered at once (QEMU's queue). */
#define MAX_IN_FLIGHT 8

/* ------------------------------------------------------------- helpers */

typedef enum {
  CALL_EXECUTE,
  CALL_UNTIL_EVENT,
  CALL_WAIT_EVENT,
  CALL_CLOSE,
  CALL_CONSTRUCT,
} CallKind;

/* One async call: the fixture and the callback each hold a reference, so
 * that a callback that comes after a failed test has returned is
 * harmless. */
typedef struct
{
  CallKind kind;
  GAsyncResult *result;     /* set by the callback */
  guint seq;                /* the order in which the callbacks ran */
} Call;

typedef struct
{
  QmpMock *mock;
  QmpConnection *conn;
  GPtrArray *calls;         /* Call */
  guint n_closed;
  gboolean closed_remote;
  GError *closed_error;
} Fixture;

static guint completion_seq;

static void
call_clear (gpointer data)
{
  Call *call = data;

  g_clear_object (&call->result);
}

static void
call_release (gpointer data)
{
  g_rc_box_release_full (data, call_clear);
}

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;

  g_assert_null (call->result);   /* a callback runs once */
  g_clear_object (&call->result);
  call->result = g_object_ref (result);
  call->seq = ++completion_seq;
  call_release (call);
}

/* A call whose callback is still to come: borrowed, the fixture keeps it. */
static Call *
call_new (Fixture  *f,
          CallKind  kind)
{
  Call *call = g_rc_box_new0 (Call);

  call->kind = kind;
  g_ptr_array_add (f->calls, g_rc_box_acquire (call));
  return call;   /* this reference goes to the callback */
}

static gboolean
flag_set_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Predicate) (gpointer data);

/* Iterates the thread-default main context until @done or @timeout_ms. */
static gboolean
iterate_until (Predicate done,
               gpointer  data,
               guint     timeout_ms)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(GSource) timeout = g_timeout_source_new (timeout_ms);
  gboolean timed_out = FALSE;

  g_source_set_callback (timeout, flag_set_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!done (data) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);

  return done (data);
}

/* Runs whatever is ready now, without blocking. */
static void
iterate_pending (void)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  while (g_main_context_iteration (context, FALSE))
    ;
}

static gboolean
call_is_done (gpointer data)
{
  return ((Call *) data)->result != NULL;
}

static gboolean
call_wait (Call  *call,
           guint  timeout_ms)
{
  if (iterate_until (call_is_done, call, timeout_ms))
    return TRUE;
  g_assert_true (call_is_done (call));   /* fails: names the timeout */
  return FALSE;
}

static gboolean
closed_seen (gpointer data)
{
  return ((Fixture *) data)->n_closed > 0;
}

static JsonObject *
object_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (json == NULL)
    return NULL;
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return json_object_new ();
  return json_object_ref (json_node_get_object (node));
}

static void
on_closed (QmpConnection *conn,
           gboolean       remote_peer_vanished,
           GError        *error,
           Fixture       *f)
{
  f->n_closed++;
  f->closed_remote = remote_peer_vanished;
  g_clear_error (&f->closed_error);
  if (error != NULL)
    f->closed_error = g_error_copy (error);
}

static void
fixture_connect (Fixture            *f,
                 QmpConnectionFlags  flags,
                 const char         *capabilities_json)
{
  f->conn = qmp_mock_connect (f->mock, flags, capabilities_json);
  if (f->conn != NULL)
    g_signal_connect (f->conn, "closed", G_CALLBACK (on_closed), f);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->mock = qmp_mock_new ();
  f->calls = g_ptr_array_new_with_free_func (call_release);
}

/* Connected with no flags and no capabilities; @data is the test's. */
static void
fixture_set_up_connected (Fixture       *f,
                          gconstpointer  data)
{
  fixture_set_up (f, NULL);
  fixture_connect (f, QMP_CONNECTION_FLAGS_NONE, NULL);
}

/* Waits for every call started in the test and drops them: their results
 * hold references on the connection. */
static void
fixture_release_calls (Fixture *f)
{
  for (guint i = 0; i < f->calls->len; i++)
    iterate_until (call_is_done, g_ptr_array_index (f->calls, i), WAIT_MS);
  iterate_pending ();
  g_ptr_array_set_size (f->calls, 0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->conn != NULL && !qmp_connection_is_closed (f->conn))
    {
      Call *call = call_new (f, CALL_CLOSE);

      qmp_connection_close_async (f->conn, NULL, call_done_cb, call);
    }

  fixture_release_calls (f);

  if (f->conn != NULL)
    {
      iterate_until (closed_seen, f, AT_ONCE_MS);
      iterate_pending ();
      g_signal_handlers_disconnect_by_data (f->conn, f);
      g_clear_object (&f->conn);
    }

  g_ptr_array_unref (f->calls);
  g_clear_error (&f->closed_error);
  qmp_mock_free (f->mock);
}

/* ---- calls ---- */

static Call *
execute (Fixture         *f,
         const char      *command,
         const char      *arguments_json,
         QmpExecuteFlags  flags,
         GCancellable    *cancellable)
{
  g_autoptr(JsonObject) arguments = object_from_json (arguments_json);
  Call *call = call_new (f, CALL_EXECUTE);

  qmp_connection_execute_async (f->conn, command, arguments, flags, cancellable,
                                call_done_cb, call);
  return call;
}

/* Finishes a finished @call of any kind but construction. */
static gboolean
call_finish (Fixture   *f,
             Call      *call,
             JsonNode **ret,
             QmpEvent **event,
             GError   **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(QmpEvent) ev = NULL;
  gboolean ok = FALSE;

  switch (call->kind)
    {
    case CALL_EXECUTE:
      node = qmp_connection_execute_finish (f->conn, call->result, error);
      ok = node != NULL;
      break;
    case CALL_UNTIL_EVENT:
      ev = qmp_connection_execute_until_event_finish (f->conn, call->result, &node, error);
      ok = ev != NULL;
      break;
    case CALL_WAIT_EVENT:
      ev = qmp_connection_wait_event_finish (f->conn, call->result, error);
      ok = ev != NULL;
      break;
    case CALL_CLOSE:
      ok = qmp_connection_close_finish (f->conn, call->result, error);
      break;
    case CALL_CONSTRUCT:
    default:
      g_assert_not_reached ();
    }

  if (ret != NULL)
    *ret = g_steal_pointer (&node);
  if (event != NULL)
    *event = g_steal_pointer (&ev);
  return ok;
}

/* Waits for @call and asserts that it failed with @domain/@code. */
static void
call_assert_error (Fixture *f,
                   Call    *call,
                   guint    timeout_ms,
                   GQuark   domain,
                   int      code)
{
  g_autoptr(GError) error = NULL;

  if (!call_wait (call, timeout_ms))
    return;
  g_assert_false (call_finish (f, call, NULL, NULL, &error));
  g_assert_error (error, domain, code);
}

/* ---- the server side ---- */

/* qmp_mock_receive(), but a timeout or a hang-up is a (non-fatal)
 * assertion failure here rather than in the mock, which cannot go on after
 * one. */
static JsonObject *
mock_receive (Fixture *f)
{
  gboolean library_sent_something = !qmp_mock_receive_nothing (f->mock, 10000);

  g_assert_true (library_sent_something);
  if (!library_sent_something)
    return NULL;
  return qmp_mock_receive (f->mock);
}

/* Receives a command, asserts that it is @name (as "execute") with
 * "arguments": {"tag": @tag} unless @tag is NULL.  NULL on failure (or
 * after any failure of the test: it then bails out). */
static JsonObject *
receive_command (Fixture    *f,
                 const char *name,
                 const char *tag)
{
  JsonObject *command = mock_receive (f);

  if (command == NULL)
    return NULL;
  g_assert_cmpstr (json_object_get_string_member_with_default (command, "execute", NULL), ==, name);
  if (tag != NULL)
    {
      JsonNode *arguments = json_object_get_member (command, "arguments");
      const char *actual = NULL;

      if (arguments != NULL && JSON_NODE_HOLDS_OBJECT (arguments))
        actual = json_object_get_string_member_with_default (json_node_get_object (arguments),
                                                             "tag", NULL);
      g_assert_cmpstr (actual, ==, tag);
    }
  if (g_test_failed ())
    g_clear_pointer (&command, json_object_unref);
  return command;
}

static gint64
command_id (JsonObject *command)
{
  return json_object_get_int_member_with_default (command, "id", -1);
}

/* 6: error classes map to codes, the message is "desc" unchanged. */
/* ------------------------------------------------------ message limits */

static gsize
read_vm_hwm_kib (void)
{
  g_autofree char *status = NULL;
  const char *hwm = NULL;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    hwm = strstr (status, "VmHWM:");
  g_assert_nonnull (hwm);
  return hwm ? g_ascii_strtoull (hwm + strlen ("VmHWM:"), NULL, 10) : 0;
}

/* Resets the peak RSS to the current RSS, so that earlier tests do not
 * hide the growth of this one (Linux 4.0 and later; harmless if not). */
static void
reset_vm_hwm (void)
{
  FILE *file = fopen ("/proc/self/clear_refs", "w");

  if (file == NULL)
    return;
  fputs ("5", file);
  fclose (file);
}

typedef struct
{
  QmpMock *mock;
  guint64 total;
} Flood;

/* Sends one line of @total bytes without its end, 1 MiB at a time, until
 * the library hangs up.  Returns how much went out. */
static gpointer
flood_thread (gpointer data)
{
  Flood *flood = data;
  const gsize chunk_size = 1024 * 1024;
  g_autofree char *chunk = g_malloc (chunk_size);
  guint64 sent = 0;

  memset (chunk, 'x', chunk_size);
  memcpy (chunk, "{\"return\": \"", strlen ("{\"return\": \""));

  while (sent < flood->total)
    {
      g_autoptr(GError) error = NULL;
      gsize len = MIN (chunk_size, flood->total - sent);

      if (!qmp_mock_try_send_raw (flood->mock, chunk, len, &error))
        break;
      sent += len;
      memset (chunk, 'x', 16);
    }

  return g_memdup2 (&sent, sizeof sent);
}

/* 7: a line over max-message-size fails the pending call with
 * QMP_ERROR_MESSAGE_TOO_LARGE, and memory stays bounded by the limit. */
static void
test_limits_too_large (Fixture       *f,
                       gconstpointer  data)
{
  const guint64 mib = 1024 * 1024;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(GThread) thread = NULL;
  g_autofree guint64 *sent = NULL;
  guint64 limit = 64 * mib;
  Flood flood;
  gsize hwm_before, hwm_after;
  Call *pending;

  if (f->conn == NULL)
    return;

  flood.mock = f->mock;
  flood.total = 200 * mib;
  if (qmp_test_is_slow ())
    {
      limit = mib;
      flood.total = 4 * mib;
      qmp_connection_set_max_message_size (f->conn, limit);
    }
  g_assert_cmpuint (qmp_connection_get_max_message_size (f->conn), ==, limit);

  pending = execute (f, "query-big", "{\"tag\": \"big\"}", QMP_EXECUTE_FLAGS_NONE, NULL);
  command = receive_command (f, "query-big", "big");
  if (command == NULL)
    return;

  reset_vm_hwm ();
  hwm_before = read_vm_hwm_kib ();

  thread = g_thread_new ("flood", flood_thread, &flood);
  call_assert_error (f, pending, 3 * WAIT_MS, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
  sent = g_thread_join (g_steal_pointer (&thread));

  hwm_after = read_vm_hwm_kib ();
  g_test_message ("sent %" G_GUINT64_FORMAT " bytes of %" G_GUINT64_FORMAT
                  "; VmHWM %" G_GSIZE_FORMAT " kB -> %" G_GSIZE_FORMAT " kB",
                  *sent, flood.total, hwm_before, hwm_after);
  /* AddressSanitizer keeps freed blocks in quarantine and copies on every
   * realloc, so its peak says nothing about the library's bound. */
#if !defined(__SANITIZE_ADDRESS__)
  g_assert_cmpuint (hwm_after - hwm_before, <, (limit + 48 * mib) / 1024);
#endif
  g_assert_true (qmp_connection_is_closed (f->conn));
}

/* Sends a reply to @command whose line is exactly @size bytes before
 * @line_end; its "pad" member is @pad_len bytes long. */
static void
send_reply_of_size (Fixture    *f,
                    JsonObject *command,
                    gsize       size,
                    const char *line_end,
                    gsize      *pad_len)
{
  g_autofree char *head = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"return\": {\"pad\": \"",
                                           command_id (command));
  const char *tail = "\"}}";
  g_autofree char *padding = NULL;
  g_autofree char *line = NULL;

  *pad_len = size - strlen (head) - strlen (tail);
  padding = g_strnfill (*pad_len, 'p');
  line = g_strconcat (head, padding, tail, line_end, NULL);
  g_assert_cmpuint (strlen (line), ==, size + strlen (line_end));
  qmp_mock_send_raw (f->mock, line, strlen (line));
}

/* 7: a line of exactly max-message-size bytes (before its line end, @data)
 * is accepted, one more byte is refused. */
static void
test_limits_exact_size (Fixture       *f,
                        gconstpointer  data)
{
  const char *line_end = data;
  const gsize limit = 4096;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(JsonObject) command2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  gsize pad_len;
  Call *call;

  if (f->conn == NULL)
    return;

  qmp_connection_set_max_message_size (f->conn, limit);

  call = execute (f, "query-pad", "{\"tag\": \"exact\"}", QMP_EXECUTE_FLAGS_NONE, NULL);
  command = receive_command (f, "query-pad", "exact");
  if (command == NULL)
    return;
  send_reply_of_size (f, command, limit, line_end, &pad_len);

  if (!call_wait (call, WAIT_MS))
    return;
  g_assert_true (call_finish (f, call, &ret, NULL, &error));
  g_assert_no_error (error);
  if (ret == NULL)
    return;
  g_assert_cmpuint (strlen (json_object_get_string_member_with_default (json_node_get_object (ret), "pad", "")),
                    ==, pad_len);

  call = execute (f, "query-pad", "{\"tag\": \"over\"}", QMP_EXECUTE_FLAGS_NONE, NULL);
  command2 = receive_command (f, "query-pad", "over");
  if (command2 == NULL)
    return;
  send_reply_of_size (f, command2, limit + 1, line_end, &pad_len);
  call_assert_error (f, call, WAIT_MS, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
}

/* ------------------------------------------------------------- logging */

/* ----------------------------------------------------------------- main */

#define ADD(path, data, set_up, func) \
  g_test_add (path, Fixture, data, set_up, func, fixture_tear_down)
#define ADD_CONNECTED(path, data, func) ADD (path, data, fixture_set_up_connected, func)
#define ADD_BARE(path, data, func) ADD (path, data, fixture_set_up, func)
int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

  ADD_CONNECTED ("/mock/limits/too-large", NULL, test_limits_too_large);
  ADD_CONNECTED ("/mock/limits/exact-size", "\r\n", test_limits_exact_size);
  /* The same limit with qemu-ga's "\n" line ends, which the design accepts. */
  ADD_CONNECTED ("/mock/limits/exact-size-lf", "\n", test_limits_exact_size);

  return g_test_run ();
}
