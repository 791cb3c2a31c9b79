/* test-offsets.c: the server goes away at every byte of a session
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One scripted session on QmpTestServer: the greeting, qmp_capabilities
 * and its return; then, pipelined, a command with a return (query-status),
 * a wait for an event (STOP), a command with an error (device_del of a
 * device that does not exist) and a command that finishes on an event
 * (system_powerdown until SHUTDOWN).  The session is run once for every
 * byte offset N of what the server sends: the server sends its first N
 * bytes, then closes the socket (qmp_test_server_set_write_limit).  Each
 * time:
 * - a call whose whole answer (up to its line's '\n') was sent succeeds
 *   with it, and every other one fails with G_IO_ERROR_CONNECTION_CLOSED;
 * - a construction whose greeting and negotiation were not all sent fails
 *   with G_IO_ERROR_CONNECTION_CLOSED;
 * - a constructed connection emits "closed" exactly once, for the peer
 *   going away, and says it is closed;
 * - nothing leaks (the suite runs under valgrind in CI).
 * The same for the guest agent (the server playing one): 0xFF, the
 * synchronisation, guest-info, then a command with a return and one with
 * an error.
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

#define WAIT_MS (qmp_test_is_slow () ? 60000 : 10000)

#define GREETING_LINE \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
  "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}"
#define GREETING GREETING_LINE "\r\n"
/* What the server answers to qmp_capabilities, which the library sends
 * with id 1 */
#define CAPABILITIES_REPLY "{\"return\": {}, \"id\": 1}\r\n"
#define TIMESTAMP "\"timestamp\": {\"seconds\": 1795573265, \"microseconds\": 659943}"

typedef struct
{
  GAsyncResult *result;
} Slot;

typedef struct
{
  guint offset;             /* how many bytes the server sends */
  gsize sent;               /* how many it sent */
  QmpTestServer *server;    /* closes the client after offset bytes */
  QmpTestHeld *held;        /* the commands, for the script to answer */
  guint n_closed;
  gboolean closed_remote;
  GError *closed_error;
} Session;

static guint current_offset;
static guint n_answered;    /* calls that got their answer, over all offsets */
static guint n_cut;         /* calls that failed on the close */

/* An assertion that names the offset it failed at. */
#define check(cond, ...) \
  G_STMT_START { \
    if (!(cond)) \
      { \
        g_autofree char *what_ = g_strdup_printf (__VA_ARGS__); \
        g_autofree char *msg_ = g_strdup_printf ("offset %u: %s (%s)", current_offset, \
                                                 what_, #cond); \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg_); \
      } \
  } G_STMT_END

/* Counts what the server sends of @line within the budget; TRUE if all
 * of it went. */
static gboolean
count_part (Session    *s,
            const char *line)
{
  gsize len = strlen (line);
  gsize n = MIN (len, s->offset - MIN (s->offset, s->sent));

  s->sent += n;
  return n == len;
}

/* Sends what is left of the budget of @line; TRUE if all of it went. */
static gboolean
send_part (Session    *s,
           const char *line)
{
  gsize before = s->sent;
  gboolean all = count_part (s, line);

  if (s->sent > before)
    qmp_test_server_send_raw (s->server, (const guint8 *) line, s->sent - before);
  return all;
}

/* Whether the budget is spent: the script waits for no more commands. */
static gboolean
budget_spent (Session *s)
{
  return s->sent >= s->offset;
}

/* The end of the script: the server closes once what was sent is out. */
static void
server_close (Session *s)
{
  qmp_test_server_set_write_limit (s->server, s->sent);
}

/* What the server writes by itself, the greeting and its answer to
 * qmp_capabilities (@negotiation bytes), it cuts at the budget with a
 * write limit; the script's own lines it cuts itself, and closes at its
 * end, after the client made its calls, as a peer would. */
static void
session_init (Session *s,
              guint    offset,
              gsize    negotiation)
{
  *s = (Session) { offset, 0, qmp_test_server_new (), NULL, 0, FALSE, NULL };
  s->held = qmp_test_held_new (s->server);
  if (offset < negotiation)
    qmp_test_server_set_write_limit (s->server, offset);
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until every slot of @slots (NULL-terminated)
 * is filled and, if @s has a connection, "closed" came. */
static void
wait_all (Slot  **slots,
          guint  *n_closed)
{
  g_autoptr(GSource) timeout = g_timeout_source_new (WAIT_MS);
  gboolean timed_out = FALSE;

  g_source_set_callback (timeout, on_timeout, &timed_out, NULL);
  g_source_attach (timeout, g_main_context_get_thread_default ());

  for (;;)
    {
      gboolean done = n_closed == NULL || *n_closed > 0;

      for (guint i = 0; done && slots[i] != NULL; i++)
        done = slots[i]->result != NULL;
      if (done || timed_out)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_destroy (timeout);
  check (!timed_out, "a call or the closed signal did not come within %d ms", WAIT_MS);

  /* Anything queued behind: a second "closed" would show now. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Slot *slot = user_data;

  check (slot->result == NULL, "a callback ran twice");
  slot->result = g_object_ref (result);
}

static void
on_closed (QmpConnection *conn,
           gboolean       remote_peer_vanished,
           GError        *error,
           Session       *s)
{
  s->n_closed++;
  s->closed_remote = remote_peer_vanished;
  g_clear_error (&s->closed_error);
  s->closed_error = error ? g_error_copy (error) : NULL;
}

static void
check_closed_error (const GError *error,
                    const char   *what)
{
  n_cut++;
  check (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED),
         "%s: expected G_IO_ERROR_CONNECTION_CLOSED, got %s %d: %s", what,
         error ? g_quark_to_string (error->domain) : "no error", error ? error->code : 0,
         error ? error->message : "");
}

static void
check_no_error (const GError *error,
                const char   *what)
{
  n_answered++;
  check (error == NULL, "%s: unexpected error %s", what, error ? error->message : "");
}

/* Construction: the stream, the greeting budget.  Returns the connection
 * or NULL after checking that its construction failed as it must. */
static QmpConnection *
construct (Session             *s,
           QmpConnectionFlags   flags,
           gboolean           (*negotiate) (Session *s))
{
  g_autoptr(GError) error = NULL;
  Slot slot = { NULL };
  Slot *slots[] = { &slot, NULL };
  QmpConnection *conn;
  gboolean complete;

  g_autoptr(GIOStream) stream = qmp_test_server_new_stream (s->server, &error);

  g_assert_no_error (error);
  qmp_connection_new_async (stream, flags, NULL, store_cb, &slot);
  complete = negotiate (s);
  if (!complete)
    server_close (s);
  wait_all (slots, NULL);

  conn = qmp_connection_new_finish (slot.result, &error);
  g_clear_object (&slot.result);
  if (!complete)
    {
      check (conn == NULL, "construction succeeded without its answers");
      check_closed_error (error, "construction");
      g_clear_object (&conn);
      return NULL;
    }
  check_no_error (error, "construction");
  if (conn != NULL)
    g_signal_connect (conn, "closed", G_CALLBACK (on_closed), s);
  return conn;
}

/* After the calls: "closed" once, for the peer that went away. */
static void
check_closed (Session       *s,
              QmpConnection *conn)
{
  check (s->n_closed == 1, "\"closed\" was emitted %u times", s->n_closed);
  check (s->closed_remote, "\"closed\" does not say that the peer went away");
  check_closed_error (s->closed_error, "the closed signal");
  check (qmp_connection_is_closed (conn), "the connection does not say it is closed");
}

static void
session_clear (Session *s)
{
  g_clear_pointer (&s->held, qmp_test_held_free);
  g_clear_object (&s->server);
  g_clear_error (&s->closed_error);
}

/* ------------------------------------------------------------------ QEMU */

/* The server greets and answers qmp_capabilities itself: the script
 * counts its bytes. */
static gboolean
negotiate_qemu (Session *s)
{
  g_autoptr(QmpTestServerCommand) caps = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *id;

  if (!count_part (s, GREETING) || budget_spent (s))
    return count_part (s, CAPABILITIES_REPLY);
  caps = qmp_test_server_next_command_sync (s->server, NULL, &error);
  g_assert_no_error (error);
  check (g_strcmp0 (qmp_test_server_command_get_name (caps), "qmp_capabilities") == 0, "no qmp_capabilities");
  id = qmp_test_server_command_get_id (caps);
  check (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_int (id) == 1,
         "qmp_capabilities has not id 1");
  return count_part (s, CAPABILITIES_REPLY);
}

/* The ids of the three commands, in the order they were written. */
static void
receive_commands (Session    *s,
                  const char *names[],
                  gint64      ids[],
                  guint       n)
{
  /* Past the budget the server reads no more: the ids do not matter,
   * nothing of the answers goes out. */
  if (budget_spent (s))
    return;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (s->held, NULL);
      const char *name = qmp_test_server_command_get_name (command);
      guint k;

      for (k = 0; k < n; k++)
        if (g_str_equal (name, names[k]))
          break;
      check (k < n, "unexpected command %s", name);
      if (k < n)
        ids[k] = json_node_get_int (qmp_test_server_command_get_id (command));
    }
}

/* Returns the server's bytes of the whole session. */
static gsize
run_qemu (guint offset)
{
  Session s;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(JsonObject) del_args = json_object_new ();
  g_autofree char *line = NULL;
  const char *names[] = { "query-status", "device_del", "system_powerdown" };
  gint64 ids[3] = { 0, };
  Slot status = { NULL }, stop = { NULL }, del = { NULL }, powerdown = { NULL };
  Slot *slots[] = { &status, &stop, &del, &powerdown, NULL };
  gboolean status_sent, stop_sent, del_sent, powerdown_sent;

  current_offset = offset;
  session_init (&s, offset, strlen (GREETING) + strlen (CAPABILITIES_REPLY));
  qmp_test_server_set_raw_greeting (s.server, GREETING_LINE);
  conn = construct (&s, QMP_CONNECTION_FLAGS_NONE, negotiate_qemu);
  if (conn == NULL)
    {
      session_clear (&s);
      return s.sent;
    }

  json_object_set_string_member (del_args, "id", "nope");
  qmp_connection_execute_async (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_cb, &status);
  qmp_connection_wait_event_async (conn, "STOP", NULL, NULL, store_cb, &stop);
  qmp_connection_execute_async (conn, "device_del", del_args, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_cb, &del);
  qmp_connection_execute_until_event_async (conn, "system_powerdown", NULL, "SHUTDOWN", NULL,
                                            NULL, store_cb, &powerdown);
  receive_commands (&s, names, ids, G_N_ELEMENTS (names));

  /* The server answers; the close comes somewhere in it. */
  line = g_strdup_printf ("{\"return\": {\"status\": \"running\", \"singlestep\": false, "
                          "\"running\": true}, \"id\": %" G_GINT64_FORMAT "}\r\n", ids[0]);
  status_sent = send_part (&s, line);
  stop_sent = status_sent && send_part (&s, "{" TIMESTAMP ", \"event\": \"STOP\"}\r\n");
  g_free (line);
  line = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": \"DeviceNotFound\", "
                          "\"desc\": \"Device 'nope' not found\"}}\r\n", ids[1]);
  del_sent = stop_sent && send_part (&s, line);
  g_free (line);
  line = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", ids[2]);
  powerdown_sent = del_sent && send_part (&s, line) &&
    send_part (&s, "{" TIMESTAMP ", \"event\": \"SHUTDOWN\", "
                   "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n");
  server_close (&s);

  wait_all (slots, &s.n_closed);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, status.result, &error);

    if (status_sent)
      {
        check_no_error (error, "query-status");
        check (ret != NULL && JSON_NODE_HOLDS_OBJECT (ret), "query-status returned no object");
      }
    else
      {
        check_closed_error (error, "query-status");
      }
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QmpEvent) event = qmp_connection_wait_event_finish (conn, stop.result, &error);

    if (stop_sent)
      {
        check_no_error (error, "wait for STOP");
        check (event != NULL && g_str_equal (qmp_event_get_name (event), "STOP"), "not STOP");
      }
    else
      {
        check_closed_error (error, "wait for STOP");
      }
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, del.result, &error);

    check (ret == NULL, "device_del returned a value");
    if (del_sent)
      check (g_error_matches (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND),
             "device_del: expected DeviceNotFound, got %s", error ? error->message : "no error");
    else
      check_closed_error (error, "device_del");
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(QmpEvent) event = NULL;

    event = qmp_connection_execute_until_event_finish (conn, powerdown.result, &ret, &error);
    if (powerdown_sent)
      {
        check_no_error (error, "system_powerdown");
        check (event != NULL && g_str_equal (qmp_event_get_name (event), "SHUTDOWN"), "not SHUTDOWN");
      }
    else
      {
        check_closed_error (error, "system_powerdown");
      }
  }
  check_closed (&s, conn);

  for (guint i = 0; slots[i] != NULL; i++)
    g_clear_object (&slots[i]->result);
  g_signal_handlers_disconnect_by_data (conn, &s);
  session_clear (&s);
  return s.sent;
}

static void
test_qemu (void)
{
  /* The whole session first: it tells how many bytes there are. */
  gsize total = run_qemu (G_MAXUINT);

  g_test_message ("the server sends %zu bytes", total);
  g_assert_cmpuint (total, >, 500);
  n_answered = n_cut = 0;
  for (guint offset = 0; offset <= total; offset++)
    run_qemu (offset);
  g_test_message ("%u answers checked, %u connection-closed errors checked", n_answered, n_cut);
}

/* ----------------------------------------------------------- guest agent */

static gboolean
negotiate_guest_agent (Session *s)
{
  g_autoptr(QmpTestServerCommand) sync = NULL;
  g_autoptr(QmpTestServerCommand) info = NULL;
  g_autofree char *line = NULL;
  JsonObject *arguments;

  /* What an earlier client left unread, then the delimiter and the token. */
  if (!send_part (s, "{\"return\": {}, \"i") || budget_spent (s))
    return FALSE;
  sync = qmp_test_held_next (s->held, "guest-sync-delimited");
  arguments = qmp_test_server_command_get_arguments (sync);
  line = g_strdup_printf ("\xff{\"return\": %" G_GINT64_FORMAT ", \"id\": %" G_GINT64_FORMAT "}\n",
                          json_object_get_int_member (arguments, "id"),
                          json_node_get_int (qmp_test_server_command_get_id (sync)));
  if (!send_part (s, line) || budget_spent (s))
    return FALSE;

  /* Attempts sent again before the answer was read (a slow machine) come
   * before guest-info, and are not answered. */
  info = qmp_test_held_next (s->held, NULL);
  while (g_str_equal (qmp_test_server_command_get_name (info), "guest-sync-delimited"))
    {
      g_clear_object (&info);
      info = qmp_test_held_next (s->held, NULL);
    }
  check (g_strcmp0 (qmp_test_server_command_get_name (info), "guest-info") == 0, "no guest-info");
  g_free (line);
  line = g_strdup_printf ("{\"return\": {\"version\": \"7.2.22\", \"supported_commands\": "
                          "[{\"enabled\": true, \"name\": \"guest-ping\", \"success-response\": true}]}, "
                          "\"id\": %" G_GINT64_FORMAT "}\n",
                          json_node_get_int (qmp_test_server_command_get_id (info)));
  return send_part (s, line);
}

static gsize
run_guest_agent (guint offset)
{
  Session s;
  g_autoptr(QmpConnection) conn = NULL;
  g_autofree char *line = NULL;
  const char *names[] = { "guest-ping", "guest-nope" };
  gint64 ids[2] = { 0, };
  Slot ping = { NULL }, nope = { NULL };
  Slot *slots[] = { &ping, &nope, NULL };
  gboolean ping_sent, nope_sent;

  current_offset = offset;
  session_init (&s, offset, 0);
  qmp_test_server_set_guest_agent (s.server, TRUE);
  conn = construct (&s, QMP_CONNECTION_FLAGS_GUEST_AGENT, negotiate_guest_agent);
  if (conn == NULL)
    {
      session_clear (&s);
      return s.sent;
    }

  qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_cb, &ping);
  qmp_connection_execute_async (conn, "guest-nope", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                store_cb, &nope);
  receive_commands (&s, names, ids, G_N_ELEMENTS (names));

  line = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\n", ids[0]);
  ping_sent = send_part (&s, line);
  g_free (line);
  line = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": \"CommandNotFound\", "
                          "\"desc\": \"The command guest-nope has not been found\"}}\n", ids[1]);
  nope_sent = ping_sent && send_part (&s, line);
  server_close (&s);

  wait_all (slots, &s.n_closed);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, ping.result, &error);

    check ((ret != NULL) == ping_sent, "guest-ping returned %s", ret ? "a value" : "nothing");
    if (ping_sent)
      check_no_error (error, "guest-ping");
    else
      check_closed_error (error, "guest-ping");
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, nope.result, &error);

    check (ret == NULL, "guest-nope returned a value");
    if (nope_sent)
      check (g_error_matches (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND),
             "guest-nope: expected CommandNotFound, got %s", error ? error->message : "no error");
    else
      check_closed_error (error, "guest-nope");
  }
  check_closed (&s, conn);

  for (guint i = 0; slots[i] != NULL; i++)
    g_clear_object (&slots[i]->result);
  g_signal_handlers_disconnect_by_data (conn, &s);
  session_clear (&s);
  return s.sent;
}

static void
test_guest_agent (void)
{
  gsize total = run_guest_agent (G_MAXUINT);

  g_test_message ("the guest agent sends %zu bytes", total);
  g_assert_cmpuint (total, >, 200);
  n_answered = n_cut = 0;
  for (guint offset = 0; offset <= total; offset++)
    run_guest_agent (offset);
  g_test_message ("%u answers checked, %u connection-closed errors checked", n_answered, n_cut);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/offsets/qemu", test_qemu);
  g_test_add_func ("/offsets/guest-agent", test_guest_agent);

  return g_test_run ();
}
