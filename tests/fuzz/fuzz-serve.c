/* fuzz-serve.c: everything a client can send, to QmpTestServer and QmpProxy
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The harness plays a client on the socket pair that
 * qmp_test_server_new_stream() or qmp_proxy_new_client_stream() makes;
 * the input is what it sends.  Its first byte chooses the server, by bits:
 *
 *   bit 0  a QmpProxy in front of the test server (its upstream a
 *          QmpConnection, with oob when bit 2 is clear)
 *   bit 1  the test server plays a guest agent (without the proxy)
 *   bit 2  the test server offers no oob
 *   bit 3  a "command" handler takes what has no canned answer and answers
 *          it later, from this thread, in the order the commands came
 *   bit 4  canned answers (query-status, an error for cont, STOP before
 *          stop's answer) and an event emitted after each segment
 *   bit 5  the proxy's client is read-only
 *   bit 6  each segment goes with a descriptor (SCM_RIGHTS) of /dev/null
 *   bit 7  debug logging (every line formatted and redacted)
 *
 * The rest is cut into segments at each 0x1E byte, as in fuzz-receive;
 * after each, the harness waits for the answers to the lines it completed.
 *
 * Checked, besides crashes, leaks, criticals and warnings:
 * - every line the server writes is a JSON object: first the greeting
 *   (but for a guest agent), then answers ("return" or "error", with a
 *   string class and desc) and events (a string name, a timestamp), and
 *   events only with bit 4;
 * - every line the client completes that holds more than white space gets
 *   exactly one answer, whose id is the line's "id" (json_node_equal()),
 *   or none when the line is not an object with one; in the order of the
 *   lines, but where an answer may overtake (a handler's, exec-oob);
 * - the server closes the connection once the client shuts its side, and
 *   its count of clients goes back to 0;
 * - a read-only client of the proxy gets nothing but query-* commands to
 *   the test server, whatever it sends;
 * - no descriptor stays open once the session is over.
 * A hang is bounded by an abort after 60 s.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdmessage.h>
#include <qmp-glib.h>

#include "qmp-json-private.h"
#include "qmp-worker-private.h"

#include "fuzz-common.h"

#define SEPARATOR       0x1E
#define TICK_MS         2                       /* bounds a blocking iteration */
#define HANG_US         (60 * G_TIME_SPAN_SECOND)

enum {
  OPT_PROXY = 1 << 0,
  OPT_GUEST_AGENT = 1 << 1,
  OPT_NO_OOB = 1 << 2,
  OPT_HANDLER = 1 << 3,
  OPT_CANNED = 1 << 4,
  OPT_READ_ONLY = 1 << 5,
  OPT_FDS = 1 << 6,
  OPT_DEBUG = 1 << 7,
};

/* An answer the client waits for */
typedef struct
{
  JsonNode *id;         /* nullable: the answer has none */
  guint line;           /* of the client, from 1 */
} Expected;

typedef struct
{
  GMainContext *context;
  guint options;
  gint64 hang_deadline;

  QmpTestServer *server;
  QmpConnection *upstream;      /* the proxy's */
  QmpProxy *proxy;
  guint n_setup_commands;       /* what the server got before the client came */

  GIOStream *stream;
  GSocket *socket;              /* the client's end */
  GString *sent;                /* of the line the client is writing */
  guint n_lines;                /* non-blank lines the client completed */
  gboolean may_overtake;        /* an answer may come before an earlier one's */
  GQueue expected;              /* Expected */

  GString *received;            /* of the line the server is writing */
  guint n_received;             /* lines */
  guint n_answers;
  guint n_events;
  gboolean eof;

  GQueue deferred;              /* QmpTestServerCommand the handler keeps */
} Session;

static void
expected_free (Expected *expected)
{
  g_clear_pointer (&expected->id, json_node_unref);
  g_free (expected);
}

static void
check_hang (Session *s)
{
  fuzz_check_hang ("fuzz-serve", s->hang_deadline, (int) (HANG_US / G_TIME_SPAN_SECOND));
}

/* The descriptors a session may leak: its sockets, and the /dev/null it
 * sends.  (The library's worker keeps an eventfd and an epoll descriptor
 * from the first session on.) */
static int
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  int n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && (g_str_has_prefix (target, "socket:") || g_str_equal (target, "/dev/null")))
        n++;
    }
  return n;
}

/* ------------------------------------------------- what the client sends */

/* A line the client completed: what must answer it. */
static void
expect_line (Session *s,
             char    *line,
             gsize    len)
{
  g_autoptr(JsonNode) tree = NULL;
  Expected *expected;
  JsonObject *object;

  while (len > 0 && g_ascii_isspace (line[len - 1]))
    len--;
  while (len > 0 && g_ascii_isspace (*line))
    line++, len--;
  if (len == 0)
    return;

  expected = g_new0 (Expected, 1);
  expected->line = ++s->n_lines;
  tree = _qmp_json_parse (line, len, NULL, NULL);
  object = tree != NULL && JSON_NODE_HOLDS_OBJECT (tree) ? json_node_get_object (tree) : NULL;
  if (object != NULL && json_object_has_member (object, "id"))
    expected->id = json_node_copy (json_object_get_member (object, "id"));
  if (object != NULL && json_object_has_member (object, "exec-oob"))
    s->may_overtake = TRUE;
  g_queue_push_tail (&s->expected, expected);
}

/* Cuts @len bytes into lines at '\n', @pending holding the line not
 * ended yet, and gives each line that ends to @func, without its '\n'. */
static void
cut_lines (Session    *s,
           GString    *pending,
           const char *data,
           gsize       len,
           void      (*func) (Session *, char *, gsize))
{
  const char *end = data + len;

  while (data < end)
    {
      const char *nl = memchr (data, '\n', end - data);

      if (nl == NULL)
        {
          g_string_append_len (pending, data, end - data);
          return;
        }
      g_string_append_len (pending, data, nl - data);
      func (s, pending->str, pending->len);
      g_string_truncate (pending, 0);
      data = nl + 1;
    }
}

/* -------------------------------------------- what the server writes */

static void
check_answer (Session    *s,
              JsonObject *object,
              const char *line)
{
  JsonNode *id = json_object_get_member (object, "id");
  JsonNode *error = json_object_get_member (object, "error");
  GList *l;

  if (error != NULL)
    {
      JsonObject *e = JSON_NODE_HOLDS_OBJECT (error) ? json_node_get_object (error) : NULL;

      if (e == NULL || _qmp_json_node_get_string (json_object_get_member (e, "class")) == NULL ||
          _qmp_json_node_get_string (json_object_get_member (e, "desc")) == NULL)
        fuzz_fail ("fuzz-serve: an error without a class or desc: %s", line);
    }

  for (l = s->expected.head; l != NULL; l = l->next)
    {
      Expected *expected = l->data;

      if (id == NULL ? expected->id == NULL
                     : expected->id != NULL && json_node_equal (id, expected->id))
        break;
      /* Without a handler or exec-oob, answers come in order */
      if (!s->may_overtake && !(s->options & OPT_HANDLER))
        fuzz_fail ("fuzz-serve: the answer to line %u is not the next one: %s",
                   expected->line, line);
    }
  if (l == NULL)
    fuzz_fail ("fuzz-serve: an answer to no line sent (%u answered of %u): %s",
               s->n_answers, s->n_lines, line);

  expected_free (l->data);
  g_queue_delete_link (&s->expected, l);
  s->n_answers++;
}

static void
check_line (Session *s,
            char    *line,
            gsize    len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) tree = NULL;
  JsonObject *object;
  gboolean greeting;

  /* A guest agent's 0xFF comes before the answer to guest-sync-delimited */
  while (len > 0 && (guchar) line[0] == 0xFF && (s->options & OPT_GUEST_AGENT))
    line++, len--;
  if (len > 0 && line[len - 1] == '\r')
    len--;

  tree = _qmp_json_parse (line, len, NULL, &error);
  if (tree == NULL || !JSON_NODE_HOLDS_OBJECT (tree))
    fuzz_fail ("fuzz-serve: the server wrote a line that is not a JSON object (%s): %.*s",
               error ? error->message : "not an object", (int) len, line);
  object = json_node_get_object (tree);
  line[len] = '\0';

  s->n_received++;
  greeting = s->n_received == 1 && !(s->options & OPT_GUEST_AGENT);
  if (greeting != json_object_has_member (object, "QMP"))
    fuzz_fail ("fuzz-serve: %s: %s", greeting ? "no greeting first" : "a second greeting", line);
  if (greeting)
    return;

  if (json_object_has_member (object, "event"))
    {
      JsonNode *timestamp = json_object_get_member (object, "timestamp");

      if (_qmp_json_node_get_string (json_object_get_member (object, "event")) == NULL ||
          timestamp == NULL || !JSON_NODE_HOLDS_OBJECT (timestamp) ||
          json_object_has_member (object, "return") || json_object_has_member (object, "error"))
        fuzz_fail ("fuzz-serve: a malformed event: %s", line);
      if (!(s->options & OPT_CANNED))
        fuzz_fail ("fuzz-serve: an event no one emitted: %s", line);
      s->n_events++;
      return;
    }

  if (json_object_has_member (object, "return") == json_object_has_member (object, "error"))
    fuzz_fail ("fuzz-serve: neither an answer nor an event: %s", line);
  check_answer (s, object, line);
}

static gboolean
on_client_readable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  Session *s = user_data;
  g_autoptr(GError) error = NULL;
  char buffer[4096];
  gssize n;

  while ((n = g_socket_receive_with_blocking (s->socket, buffer, sizeof buffer, FALSE,
                                              NULL, &error)) > 0)
    cut_lines (s, s->received, buffer, n, check_line);
  if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      if (s->received->len > 0)
        fuzz_fail ("fuzz-serve: the server's last line has no end: %s", s->received->str);
      s->eof = TRUE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* ----------------------------------------------------------- the server */

static gboolean
on_command (QmpTestServer        *server,
            QmpTestServerCommand *command,
            Session              *s)
{
  g_queue_push_tail (&s->deferred, g_object_ref (command));
  return TRUE;
}

/* The handler's answers, at the next tick: later than the canned ones. */
static gboolean
on_tick (gpointer user_data)
{
  Session *s = user_data;
  QmpTestServerCommand *command;

  while ((command = g_queue_pop_head (&s->deferred)) != NULL)
    {
      const char *name = qmp_test_server_command_get_name (command);

      if (g_str_has_prefix (name, "x-"))
        qmp_test_server_command_reply_error (command, "GenericError", name);
      else
        qmp_test_server_command_reply (command, NULL);
      g_object_unref (command);
    }
  return G_SOURCE_CONTINUE;
}

static void
iterate (Session *s)
{
  check_hang (s);
  g_main_context_iteration (s->context, TRUE);
}

static guint
ptr_array_free_len (GPtrArray *array)
{
  guint len = array->len;

  g_ptr_array_unref (array);
  return len;
}

static void
setup_server (Session *s)
{
  g_autoptr(GError) error = NULL;

  s->server = qmp_test_server_new ();
  if (s->options & OPT_NO_OOB)
    {
      static const char * const none[] = { NULL };

      qmp_test_server_set_capabilities (s->server, none);
    }
  if ((s->options & OPT_GUEST_AGENT) && !(s->options & OPT_PROXY))
    qmp_test_server_set_guest_agent (s->server, TRUE);
  else
    s->options &= ~OPT_GUEST_AGENT;
  if (s->options & OPT_CANNED)
    {
      g_autoptr(JsonNode) status = json_from_string ("{\"status\": \"running\", \"running\": true}", NULL);
      g_autoptr(JsonObject) data = json_object_new ();

      json_object_set_string_member (data, "device", "kbd0");
      qmp_test_server_set_reply (s->server, "query-status", status);
      qmp_test_server_set_error (s->server, "cont", "GenericError", "Resetting the Virtual Machine is required");
      qmp_test_server_add_event_before_reply (s->server, "stop", "STOP", NULL);
      qmp_test_server_add_event_before_reply (s->server, "query-status", "DEVICE_DELETED", data);
    }

  if (s->options & OPT_PROXY)
    {
      QmpConnectionFlags flags = (s->options & OPT_NO_OOB) ? QMP_CONNECTION_FLAGS_NONE
                                                           : QMP_CONNECTION_FLAGS_OOB;

      s->upstream = qmp_test_server_new_connection_sync (s->server, flags, NULL, &error);
      g_assert_no_error (error);
      s->proxy = qmp_proxy_new (s->upstream);
      s->stream = qmp_proxy_new_client_stream (s->proxy,
                                               (s->options & OPT_READ_ONLY) ? QMP_PROXY_CLIENT_FLAGS_READ_ONLY
                                                                            : QMP_PROXY_CLIENT_FLAGS_NONE,
                                               &error);
    }
  else
    {
      s->stream = qmp_test_server_new_stream (s->server, &error);
    }
  g_assert_no_error (error);

  /* Connected after the upstream's negotiation, a _sync call */
  if (s->options & OPT_HANDLER)
    g_signal_connect (s->server, "command", G_CALLBACK (on_command), s);

  s->n_setup_commands = ptr_array_free_len (qmp_test_server_get_commands (s->server));
  s->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (s->stream)));
  g_socket_set_blocking (s->socket, FALSE);
}

static guint
n_clients (Session *s)
{
  return s->proxy != NULL ? qmp_proxy_get_n_clients (s->proxy)
                          : qmp_test_server_get_n_clients (s->server);
}

/* Sends @len bytes without blocking the context, which reads the answers
 * the server may wait to write before it reads more; with OPT_FDS the
 * first byte takes a descriptor along. */
static void
send_segment (Session    *s,
              const char *data,
              gsize       len)
{
  gboolean with_fd = (s->options & OPT_FDS) != 0 && len > 0;

  cut_lines (s, s->sent, data, len, expect_line);
  while (len > 0 && !s->eof)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketControlMessage) message = NULL;
      GOutputVector vector = { data, len };
      gssize n;

      if (with_fd)
        {
          g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
          int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

          g_assert_cmpint (fd, >=, 0);
          g_unix_fd_list_append (list, fd, &error);
          g_assert_no_error (error);
          close (fd);
          message = g_unix_fd_message_new_with_fd_list (list);
        }

      n = g_socket_send_message (s->socket, NULL, &vector, 1,
                                 message ? &message : NULL, message ? 1 : 0,
                                 G_SOCKET_MSG_NONE, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            fuzz_fail ("fuzz-serve: the server hung up on its client: %s", error->message);
          iterate (s);
          continue;
        }
      with_fd = FALSE;
      data += n;
      len -= n;
    }
}

static void
wait_for_answers (Session *s)
{
  while (s->expected.length > 0 && !s->eof)
    iterate (s);
  if (s->expected.length > 0)
    fuzz_fail ("fuzz-serve: the server hung up before answering line %u",
               ((Expected *) g_queue_peek_head (&s->expected))->line);
}

static QmpWorker *worker;

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GSource) client_source = NULL;
  g_autoptr(GSource) tick = NULL;
  Session s = { 0, };
  const char *p;
  const char *end;
  int fds_before;

  fuzz_init ();

  /* The shared worker thread, kept for the whole run: when its last user
   * goes on the worker itself, the thread is detached and ends a moment
   * later, and LeakSanitizer, looking then, may take what that thread
   * still holds in its thread-local storage for leaked (once the thread
   * ids have wrapped: see fuzz-receive.c). */
  if (g_once_init_enter (&worker))
    g_once_init_leave (&worker, _qmp_worker_ref ());

  if (size == 0)
    return 0;

  fds_before = count_fds ();
  s.options = data[0];
  p = (const char *) data + 1;
  end = (const char *) data + size;
  s.hang_deadline = g_get_monotonic_time () + HANG_US;
  s.sent = g_string_new (NULL);
  s.received = g_string_new (NULL);
  g_log_set_debug_enabled ((s.options & OPT_DEBUG) != 0);

  s.context = g_main_context_new ();
  g_main_context_push_thread_default (s.context);
  setup_server (&s);

  client_source = g_socket_create_source (s.socket, G_IO_IN, NULL);
  g_source_set_callback (client_source, G_SOURCE_FUNC (on_client_readable), &s, NULL);
  g_source_attach (client_source, s.context);
  tick = g_timeout_source_new (TICK_MS);
  g_source_set_callback (tick, on_tick, &s, NULL);
  g_source_attach (tick, s.context);

  /* The greeting first, but for a guest agent, which says nothing */
  while (s.n_received == 0 && !(s.options & OPT_GUEST_AGENT) && !s.eof)
    iterate (&s);

  while (p <= end)
    {
      const char *sep = memchr (p, SEPARATOR, end - p);
      const char *segment_end = sep ? sep : end;

      send_segment (&s, p, segment_end - p);
      wait_for_answers (&s);
      if (s.options & OPT_CANNED)
        qmp_test_server_emit_event (s.server, "BENCH", NULL, NULL);
      p = segment_end + 1;
    }

  /* The client is done: the server must close its end */
  g_socket_shutdown (s.socket, FALSE, TRUE, NULL);
  while (!s.eof)
    iterate (&s);
  while (n_clients (&s) > 0)
    iterate (&s);

  if (g_getenv ("QMP_FUZZ_VERBOSE") != NULL)
    g_printerr ("fuzz-serve: %u lines answered, %u events, %u lines from the server\n",
                s.n_answers, s.n_events, s.n_received);

  /* What a read-only client made the test server run */
  if (s.options & OPT_READ_ONLY && s.proxy != NULL)
    {
      g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (s.server);

      for (guint i = s.n_setup_commands; i < commands->len; i++)
        {
          const char *name = qmp_test_server_command_get_name (g_ptr_array_index (commands, i));

          if (!g_str_has_prefix (name, "query-"))
            fuzz_fail ("fuzz-serve: a read-only client ran %s", name);
        }
    }

  g_source_destroy (client_source);
  g_source_destroy (tick);
  g_clear_pointer (&client_source, g_source_unref);
  g_clear_pointer (&tick, g_source_unref);
  g_queue_clear_full (&s.deferred, g_object_unref);
  g_queue_clear_full (&s.expected, (GDestroyNotify) expected_free);
  if (s.proxy != NULL)
    qmp_proxy_close (s.proxy);
  if (s.upstream != NULL)
    qmp_connection_close_sync (s.upstream, NULL, NULL);
  g_clear_object (&s.proxy);
  g_clear_object (&s.upstream);
  g_clear_object (&s.server);
  g_clear_object (&s.socket);
  g_clear_object (&s.stream);
  g_string_free (s.sent, TRUE);
  g_string_free (s.received, TRUE);
  g_log_set_debug_enabled (FALSE);

  /* The worker lets go of what it held a moment later */
  while (count_fds () > fds_before)
    {
      check_hang (&s);
      g_main_context_iteration (s.context, FALSE);
      g_usleep (1000);
    }

  while (g_main_context_iteration (s.context, FALSE))
    ;
  g_main_context_pop_thread_default (s.context);
  g_main_context_unref (s.context);

  return 0;
}
