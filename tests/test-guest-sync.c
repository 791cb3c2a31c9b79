/* test-guest-sync.c: the guest agent's 0xFF delimiter on any command, and
 * waiting for an agent that is not running yet (or never answers: the
 * attempts that wait are bounded): against QmpTestServer playing an agent
 * and a real qemu-ga started after the client, on a pseudo-terminal as a
 * guest's serial port
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <qmp-glib.h>

/* _qmp_guest_sync_set_intervals(): this suite links the library's objects */
#include "qmp-handshake-private.h"
#include "qmp-test-utils.h"

/* A test server playing a guest agent whose commands the test answers,
 * and its client */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
} Agent;

static void
agent_clear (Agent *agent)
{
  g_clear_pointer (&agent->held, qmp_test_held_free);
  g_clear_object (&agent->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Agent, agent_clear)

/* A client's stream to it, which the test connects */
static GIOStream *
agent_init (Agent *agent)
{
  g_autoptr(GError) error = NULL;
  GIOStream *stream;

  agent->server = qmp_test_server_new ();
  qmp_test_server_set_guest_agent (agent->server, TRUE);
  agent->held = qmp_test_held_new (agent->server);
  stream = qmp_test_server_new_stream (agent->server, &error);
  g_assert_no_error (error);

  return stream;
}

static gint64
sync_token (QmpTestServerCommand *command)
{
  return json_object_get_int_member (qmp_test_server_command_get_arguments (command), "id");
}

static gint64
command_id (QmpTestServerCommand *command)
{
  return json_node_get_int (qmp_test_server_command_get_id (command));
}

static void
reply_text (QmpTestServerCommand *command,
            const char           *return_json)
{
  g_autoptr(JsonNode) ret = json_from_string (return_json, NULL);

  g_assert_nonnull (ret);
  qmp_test_server_command_reply (command, ret);
}

/* Answers a guest-sync-delimited as qemu-ga does: 0xFF, then the reply. */
static void
answer_sync (Agent                *agent,
             QmpTestServerCommand *command)
{
  g_autofree char *token = g_strdup_printf ("%" G_GINT64_FORMAT, sync_token (command));

  qmp_test_server_send_raw (agent->server, (const guint8 *) "\xff", 1);
  reply_text (command, token);
}

/* Takes guest-info.  Before it may come more attempts of the
 * synchronization, sent before the answer to one was read (on a slow
 * machine): they were abandoned, and are not answered. */
static QmpTestServerCommand *
next_guest_info (Agent *agent)
{
  QmpTestServerCommand *command = qmp_test_held_next (agent->held, NULL);

  while (g_str_equal (qmp_test_server_command_get_name (command), "guest-sync-delimited"))
    {
      g_object_unref (command);
      command = qmp_test_held_next (agent->held, NULL);
    }
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-info");

  return command;
}

static void
answer_guest_info (Agent *agent)
{
  g_autoptr(QmpTestServerCommand) info = next_guest_info (agent);

  reply_text (info, "{\"version\": \"7.2.0\", \"supported_commands\": []}");
}

static QmpConnection *
finish_connect (GAsyncResult **slot)
{
  g_autoptr(GAsyncResult) result = qmp_test_wait_result (slot);
  g_autoptr(GError) error = NULL;
  QmpConnection *conn = qmp_connection_new_finish (result, &error);

  g_assert_no_error (error);
  return conn;
}

static QmpConnection *
connect_guest_agent (Agent *agent)
{
  g_autoptr(GIOStream) stream = agent_init (agent);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) sync = NULL;

  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_GUEST_AGENT,
                            NULL, qmp_test_store_result, &result);
  sync = qmp_test_held_next (agent->held, "guest-sync-delimited");
  answer_sync (agent, sync);
  answer_guest_info (agent);

  return finish_connect (&result);
}

static JsonNode *
finish_execute (QmpConnection  *conn,
                GAsyncResult  **slot,
                GError        **error)
{
  g_autoptr(GAsyncResult) result = qmp_test_wait_result (slot);

  return qmp_connection_execute_finish (conn, result, error);
}

/* The next command that is not an attempt at synchronising; those are
 * answered when @answer, else left. */
static QmpTestServerCommand *
next_not_sync (Agent    *agent,
               gboolean  answer)
{
  QmpTestServerCommand *command = qmp_test_held_next (agent->held, NULL);

  while (g_str_equal (qmp_test_server_command_get_name (command), "guest-sync-delimited"))
    {
      if (answer)
        answer_sync (agent, command);
      g_object_unref (command);
      command = qmp_test_held_next (agent->held, NULL);
    }
  return command;
}

/* guest-ping, answered (attempts at synchronising that come before it are
 * left), its reply taken by the library after whatever the agent sent
 * before it.  Asserts that its id is none of @unconsumed's (nullable):
 * commands whose replies the library took as no call's answer. */
static void
ping (QmpConnection *conn,
      Agent         *agent,
      GPtrArray     *unconsumed)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &result);
  command = next_not_sync (agent, FALSE);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-ping");
  for (guint i = 0; unconsumed != NULL && i < unconsumed->len; i++)
    g_assert_cmpint (command_id (command), !=, command_id (g_ptr_array_index (unconsumed, i)));
  reply_text (command, "{\"mine\": true}");
  ret = finish_execute (conn, &result, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "mine"));
}

/* An application that runs guest-sync-delimited itself gets its reply,
 * with the 0xFF before it and the remains of a line before that dropped;
 * the commands around it are answered as usual. */
static void
test_mock_delimiter_any_command (void)
{
  g_auto(Agent) agent = { NULL, };
  g_autoptr(QmpConnection) conn = connect_guest_agent (&agent);
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(QmpTestServerCommand) ping_command = NULL;
  g_autoptr(QmpTestServerCommand) sync_command = NULL;
  g_autoptr(GAsyncResult) ping_result = NULL;
  g_autoptr(GAsyncResult) sync_result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  for (guint round = 0; round < 3; round++)
    {
      json_object_set_int_member (arguments, "id", 4242 + round);
      qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                    qmp_test_store_result, &ping_result);
      qmp_connection_execute_async (conn, "guest-sync-delimited", arguments, QMP_EXECUTE_FLAGS_NONE,
                                    NULL, qmp_test_store_result, &sync_result);
      ping_command = qmp_test_held_next (agent.held, "guest-ping");
      sync_command = qmp_test_held_next (agent.held, "guest-sync-delimited");
      reply_text (ping_command, "{}");
      if (round == 1)
        {
          /* Half a line of an earlier exchange before the delimiter. */
          static const char garbage[] = "{\"return\": {\"half\": ";

          qmp_test_server_send_raw (agent.server, (const guint8 *) garbage, strlen (garbage));
        }
      if (round == 2)
        {
          /* The delimiter and the reply in separate writes, a moment
           * apart, so that the client may well read them apart. */
          qmp_test_server_send_raw (agent.server, (const guint8 *) "\xff", 1);
          g_usleep (10 * 1000);
          reply_text (sync_command, "4244");
        }
      else
        {
          answer_sync (&agent, sync_command);
        }

      ret = finish_execute (conn, &ping_result, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
      g_clear_pointer (&ret, json_node_unref);
      ret = finish_execute (conn, &sync_result, &error);
      g_assert_no_error (error);
      g_assert_cmpint (json_node_get_int (ret), ==, 4242 + round);
      g_clear_pointer (&ret, json_node_unref);
      g_clear_object (&ping_command);
      g_clear_object (&sync_command);
    }

  ping (conn, &agent, NULL);
  g_assert_false (qmp_connection_is_closed (conn));
}

/* An agent that does not answer (not running yet, or its input lost):
 * construction sends guest-sync-delimited again with a new token and id
 * until one is answered; a late answer to an earlier one is dropped. */
static void
test_mock_construct_retries (void)
{
  g_auto(Agent) agent = { NULL, };
  g_autoptr(GIOStream) stream = agent_init (&agent);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(QmpTestServerCommand) first = NULL;
  g_autoptr(QmpTestServerCommand) second = NULL;
  g_autoptr(QmpTestServerCommand) third = NULL;

  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_GUEST_AGENT,
                            NULL, qmp_test_store_result, &result);
  first = qmp_test_held_next (agent.held, "guest-sync-delimited");
  second = qmp_test_held_next (agent.held, "guest-sync-delimited");
  third = qmp_test_held_next (agent.held, "guest-sync-delimited");
  g_assert_cmpint (sync_token (first), !=, sync_token (second));
  g_assert_cmpint (command_id (first), !=, command_id (second));
  g_assert_null (result);

  answer_sync (&agent, second);
  answer_guest_info (&agent);
  conn = finish_connect (&result);

  /* Late answers to the others: read and dropped. */
  answer_sync (&agent, first);
  answer_sync (&agent, third);
  ping (conn, &agent, NULL);
  g_assert_false (qmp_connection_is_closed (conn));
}

static void
test_mock_wait_bounded (void)
{
  g_auto(Agent) agent = { NULL, };
  g_autoptr(QmpConnection) conn = connect_guest_agent (&agent);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) ping_result = NULL;
  g_autoptr(QmpTestServerCommand) sync = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  /* Cancelled already: fails, and sends nothing. */
  g_cancellable_cancel (cancellable);
  g_assert_false (qmp_connection_wait_guest_agent_sync (conn, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  ping (conn, &agent, NULL);

  /* Answered: done, and the commands made meanwhile are answered too. */
  qmp_connection_wait_guest_agent_async (conn, NULL, qmp_test_store_result, &result);
  sync = qmp_test_held_next (agent.held, "guest-sync-delimited");
  qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &ping_result);
  command = next_not_sync (&agent, FALSE);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-ping");
  reply_text (command, "{}");
  answer_sync (&agent, sync);
  result = qmp_test_wait_result (&result);
  g_assert_true (qmp_connection_wait_guest_agent_finish (conn, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  ret = finish_execute (conn, &ping_result, &error);
  g_assert_no_error (error);
  g_clear_object (&sync);

  /* Never answered: the timeout ends it, with a message that says so. */
  qmp_connection_set_timeout (conn, 300);
  g_assert_false (qmp_connection_wait_guest_agent_sync (conn, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "guest agent"));
  g_clear_error (&error);
  qmp_connection_set_timeout (conn, 0);

  /* The attempts went out; their answers, late, harm no one. */
  sync = qmp_test_held_next (agent.held, "guest-sync-delimited");
  answer_sync (&agent, sync);
  g_clear_object (&command);
  qmp_connection_execute_async (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &ping_result);
  command = next_not_sync (&agent, TRUE);
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-ping");
  reply_text (command, "{\"late\": false}");
  g_clear_pointer (&ret, json_node_unref);
  ret = finish_execute (conn, &ping_result, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "late"));
  g_assert_false (qmp_connection_is_closed (conn));
}

/* Iterates the main context until nothing is left to dispatch, so that a
 * result the library already returned is stored. */
static void
dispatch_pending (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Starts waiting for the agent, retrying after 2, 4, 8 … ms (the 11th
 * attempt goes out after 2 s, the 12th 2 s after it), and takes its first
 * @n attempts into @attempts, asserting that their ids differ. */
static void
wait_fast (QmpConnection  *conn,
           Agent          *agent,
           guint           n,
           GPtrArray      *attempts,
           GAsyncResult  **slot)
{
  _qmp_guest_sync_set_intervals (2, 60000);
  qmp_connection_wait_guest_agent_async (conn, NULL, qmp_test_store_result, slot);
  _qmp_guest_sync_set_intervals (0, 0);

  for (guint i = 0; i < n; i++)
    {
      QmpTestServerCommand *attempt = qmp_test_held_next (agent->held, "guest-sync-delimited");

      for (guint j = 0; j < attempts->len; j++)
        g_assert_cmpint (command_id (g_ptr_array_index (attempts, j)), !=, command_id (attempt));
      g_ptr_array_add (attempts, attempt);
    }
}

static void
finish_wait (QmpConnection  *conn,
             GAsyncResult  **slot)
{
  g_autoptr(GAsyncResult) result = qmp_test_wait_result (slot);
  g_autoptr(GError) error = NULL;

  g_assert_true (qmp_connection_wait_guest_agent_finish (conn, result, &error));
  g_assert_no_error (error);
}

/* An agent that reads every attempt and answers none (its replies lost,
 * or a guest that never lets it write) must not make the wait hold more
 * and more: only the last QMP_GUEST_SYNC_MAX_ATTEMPTS attempts stay live.
 * An answer to an older one, abandoned, is dropped; one to the oldest
 * that is still live ends the wait. */
static void
test_mock_attempts_bounded (void)
{
  g_auto(Agent) agent = { NULL, };
  g_autoptr(QmpConnection) conn = connect_guest_agent (&agent);
  g_autoptr(GPtrArray) attempts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) result = NULL;
  guint n_abandoned = 3;

  /* The answers below come long before a 12th attempt could. */
  wait_fast (conn, &agent, QMP_GUEST_SYNC_MAX_ATTEMPTS + n_abandoned, attempts, &result);

  /* The abandoned ones, answered as qemu-ga would: dropped, whatever else
   * comes after them.  (The ping's reply comes after theirs, so once it
   * is taken, theirs were read.) */
  for (guint i = 0; i < n_abandoned; i++)
    answer_sync (&agent, g_ptr_array_index (attempts, i));
  ping (conn, &agent, attempts);
  dispatch_pending ();
  g_assert_null (result);

  /* The oldest still live: its answer counts (and its id may be given
   * again). */
  answer_sync (&agent, g_ptr_array_index (attempts, n_abandoned));
  g_ptr_array_remove_index (attempts, n_abandoned);
  finish_wait (conn, &result);

  /* The others, cancelled with the wait, answered late: dropped too. */
  for (guint i = n_abandoned; i < attempts->len; i++)
    answer_sync (&agent, g_ptr_array_index (attempts, i));
  ping (conn, &agent, attempts);
  g_assert_false (qmp_connection_is_closed (conn));
}

/* An answer to an attempt abandoned long before (its agent slow, or the
 * answer held up in the guest) that comes while other calls wait: it is
 * no one's, neither a command's made since nor a later wait's, whose
 * attempts have ids of their own. */
static void
test_mock_abandoned_answer_late (void)
{
  g_auto(Agent) agent = { NULL, };
  g_autoptr(QmpConnection) conn = connect_guest_agent (&agent);
  g_autoptr(GPtrArray) attempts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) again = NULL;
  guint n = QMP_GUEST_SYNC_MAX_ATTEMPTS + 1;

  /* One attempt abandoned; the wait ends with the newest's answer. */
  wait_fast (conn, &agent, n, attempts, &result);
  answer_sync (&agent, g_ptr_array_index (attempts, n - 1));
  g_ptr_array_remove_index (attempts, n - 1);
  finish_wait (conn, &result);

  /* Another wait: the answer to the abandoned attempt comes first, then
   * the one to an attempt of the first wait, then a command's. */
  qmp_connection_wait_guest_agent_async (conn, NULL, qmp_test_store_result, &result);
  again = qmp_test_held_next (agent.held, "guest-sync-delimited");
  for (guint i = 0; i < attempts->len; i++)
    g_assert_cmpint (command_id (again), !=, command_id (g_ptr_array_index (attempts, i)));
  answer_sync (&agent, g_ptr_array_index (attempts, 0));
  answer_sync (&agent, g_ptr_array_index (attempts, 1));
  g_ptr_array_add (attempts, g_object_ref (again));
  ping (conn, &agent, attempts);
  dispatch_pending ();
  g_assert_null (result);

  answer_sync (&agent, again);
  finish_wait (conn, &result);
  g_assert_false (qmp_connection_is_closed (conn));
}

/* ------------------------------------------------------------ real qemu-ga */

/* A pseudo-terminal as the guest's serial port: the client holds the
 * master; qemu-ga, started whenever the test likes, opens the other side
 * as an isa-serial port (and flushes what was written before it ran). */
typedef struct
{
  char *dir;
  int master;
  int slave;           /* held open so the terminal stays up between agents */
  char *slave_name;
  GSubprocess *agent;
} Pty;

static void
pty_open (Pty *pty)
{
  struct termios tio;
  g_autoptr(GError) error = NULL;

  pty->dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_assert_no_error (error);

  pty->master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (pty->master, >=, 0);
  g_assert_cmpint (grantpt (pty->master), ==, 0);
  g_assert_cmpint (unlockpt (pty->master), ==, 0);
  pty->slave_name = g_strdup (ptsname (pty->master));
  pty->slave = open (pty->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (pty->slave, >=, 0);

  /* Raw both ways before anyone writes: no echo of the commands. */
  g_assert_cmpint (tcgetattr (pty->slave, &tio), ==, 0);
  cfmakeraw (&tio);
  g_assert_cmpint (tcsetattr (pty->slave, TCSANOW, &tio), ==, 0);
}

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
pty_start_agent (Pty *pty)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autofree char *state = g_build_filename (pty->dir, "qga-state", NULL);
  g_autofree char *log = g_build_filename (pty->dir, "stderr.log", NULL);
  g_autofree char *pidfile = g_build_filename (pty->dir, "qga.pid", NULL);
  const char *binary = g_getenv ("QMP_TEST_QGA");
  g_autoptr(GError) error = NULL;

  if (binary == NULL || binary[0] == '\0')
    binary = g_file_test ("/usr/sbin/qemu-ga", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/sbin/qemu-ga" : "qemu-ga";

  g_assert_null (pty->agent);
  g_mkdir_with_parents (state, 0700);
  g_unlink (pidfile);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  pty->agent = g_subprocess_launcher_spawn (launcher, &error, binary,
                                            "-m", "isa-serial", "-p", pty->slave_name,
                                            "-t", state, "--pidfile", pidfile, NULL);
  g_assert_no_error (error);
}

static void
pty_stop_agent (Pty *pty)
{
  if (pty->agent == NULL)
    return;
  g_subprocess_force_exit (pty->agent);
  g_subprocess_wait (pty->agent, NULL, NULL);
  g_clear_object (&pty->agent);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
pty_close (Pty *pty)
{
  pty_stop_agent (pty);
  close (pty->slave);
  g_free (pty->slave_name);
  remove_tree (pty->dir);
  g_free (pty->dir);
}

static GIOStream *
pty_client_stream (Pty *pty)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (pty->master, TRUE);
  g_autoptr(GOutputStream) output = g_unix_output_stream_new (dup (pty->master), TRUE);

  return g_simple_io_stream_new (input, output);
}

static void
test_qga_started_later (void)
{
  Pty pty = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  pty_open (&pty);
  stream = pty_client_stream (&pty);

  /* The client first: construction waits for the agent. */
  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, NULL,
                              qmp_test_store_result, &result,
                              "stream", stream,
                              "flags", QMP_CONNECTION_FLAGS_GUEST_AGENT,
                              "timeout", 30000,
                              NULL);
  g_assert_null (result);
  pty_start_agent (&pty);
  conn = finish_connect (&result);
  qmp_connection_set_timeout (conn, 0);
  g_assert_cmpuint (qmp_connection_get_version_major (conn), >=, 7);

  ret = qmp_connection_execute_sync (conn, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);

  /* The application resynchronizes by itself: 0xFF, then its reply. */
  json_object_set_int_member (arguments, "id", 987654);
  ret = qmp_connection_execute_sync (conn, "guest-sync-delimited", arguments, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (ret), ==, 987654);
  g_clear_pointer (&ret, json_node_unref);

  /* The agent goes away, as in a guest reboot, and comes back later. */
  pty_stop_agent (&pty);
  qmp_connection_set_timeout (conn, 30000);
  qmp_connection_wait_guest_agent_async (conn, NULL, qmp_test_store_result, &result);
  g_assert_null (result);
  pty_start_agent (&pty);
  result = qmp_test_wait_result (&result);
  g_assert_true (qmp_connection_wait_guest_agent_finish (conn, result, &error));
  g_assert_no_error (error);
  qmp_connection_set_timeout (conn, 0);

  ret = qmp_connection_execute_sync (conn, "guest-info", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "version"));
  g_assert_false (qmp_connection_is_closed (conn));

  g_assert_true (qmp_connection_close_sync (conn, NULL, &error));
  g_assert_no_error (error);
  pty_close (&pty);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/guest-sync/mock/delimiter-any-command", test_mock_delimiter_any_command);
  g_test_add_func ("/guest-sync/mock/construct-retries", test_mock_construct_retries);
  g_test_add_func ("/guest-sync/mock/wait-bounded", test_mock_wait_bounded);
  g_test_add_func ("/guest-sync/mock/attempts-bounded", test_mock_attempts_bounded);
  g_test_add_func ("/guest-sync/mock/abandoned-answer-late", test_mock_abandoned_answer_late);
  g_test_add_func ("/guest-sync/qga/started-later", test_qga_started_later);

  return g_test_run ();
}
