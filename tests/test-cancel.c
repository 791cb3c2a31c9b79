/* test-cancel.c: a cancelled or timed-out call never reaches the peer
 * unless its first byte was written; against a QmpTestServer that stops
 * reading (playing QEMU, or a guest agent), and against a real QEMU
 * stopped with SIGSTOP
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* Larger than any socket buffer: most of it stays in the library's. */
#define BIG_SIZE (2 * 1024 * 1024)

/* QEMU's monitor reads one byte per main loop iteration (about 7 µs
 * here): twice the socket's buffer is enough to keep a line waiting. */
#define QEMU_BIG_SIZE (512 * 1024)

static JsonObject *
object_from_json (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
big_arguments (void)
{
  JsonObject *arguments = json_object_new ();
  char *blob = g_malloc (BIG_SIZE + 1);

  memset (blob, 'x', BIG_SIZE);
  blob[BIG_SIZE] = '\0';
  json_object_set_string_member (arguments, "blob", blob);
  g_free (blob);

  return arguments;
}

static void
execute (QmpConnection  *conn,
         const char     *command,
         const char     *arguments_json,
         GCancellable   *cancellable,
         GAsyncResult  **slot)
{
  g_autoptr(JsonObject) arguments = arguments_json ? object_from_json (arguments_json) : NULL;

  qmp_connection_execute_async (conn, command, arguments, QMP_EXECUTE_FLAGS_NONE,
                                cancellable, qmp_test_store_result, slot);
}

static void
assert_return (QmpConnection  *conn,
               GAsyncResult  **slot,
               const char     *expected_json)
{
  g_autoptr(GAsyncResult) result = qmp_test_wait_result (slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, result, &error);
  g_autoptr(JsonNode) expected = json_from_string (expected_json, NULL);

  g_assert_no_error (error);
  g_assert_true (json_node_equal (ret, expected));
}

static void
assert_error (QmpConnection  *conn,
              GAsyncResult  **slot,
              GQuark          domain,
              int             code)
{
  g_autoptr(GAsyncResult) result = qmp_test_wait_result (slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_finish (conn, result, &error);

  g_assert_error (error, domain, code);
  g_assert_null (ret);
}

/* A test server whose commands the test answers, and its client */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
  QmpConnection *conn;
} Peer;

static void
peer_clear (Peer *peer)
{
  g_clear_object (&peer->conn);
  g_clear_pointer (&peer->held, qmp_test_held_free);
  g_clear_object (&peer->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Peer, peer_clear)

static void
peer_init (Peer               *peer,
           QmpConnectionFlags  flags)
{
  g_autoptr(GError) error = NULL;

  peer->server = qmp_test_server_new ();
  peer->held = qmp_test_held_new (peer->server);
  peer->conn = qmp_test_server_new_connection_sync (peer->server, flags, NULL, &error);
  g_assert_no_error (error);
}

/* The next command, which must be @name (with "tag": @tag if given) */
static QmpTestServerCommand *
peer_next (Peer       *peer,
           const char *name,
           const char *tag)
{
  QmpTestServerCommand *command = qmp_test_held_next (peer->held, name);

  if (tag != NULL)
    {
      JsonObject *arguments = qmp_test_server_command_get_arguments (command);

      g_assert_nonnull (arguments);
      g_assert_cmpstr (json_object_get_string_member_with_default (arguments, "tag", NULL), ==, tag);
    }
  return command;
}

static void
reply (QmpTestServerCommand *command,
       const char           *return_json)
{
  g_autoptr(JsonNode) ret = return_json ? json_from_string (return_json, NULL) : NULL;

  qmp_test_server_command_reply (command, ret);
}

static void
assert_big (QmpTestServerCommand *command)
{
  JsonObject *arguments = qmp_test_server_command_get_arguments (command);

  g_assert_cmpuint (strlen (json_object_get_string_member (arguments, "blob")), ==, BIG_SIZE);
}

/* Asserts that the server received exactly @names (qmp_capabilities
 * first, then these) once a command sent now is answered: nothing else
 * was ever sent. */
static void
peer_assert_received (Peer               *peer,
                      const char * const *names)
{
  g_autoptr(GPtrArray) commands = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  guint n = g_strv_length ((GStrv) names);

  qmp_test_server_set_reply (peer->server, "x-last", NULL);
  execute (peer->conn, "x-last", NULL, NULL, &result);
  assert_return (peer->conn, &result, "{}");

  commands = qmp_test_server_get_commands (peer->server);
  g_assert_cmpuint (commands->len, ==, n + 2);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[0]), ==, "qmp_capabilities");
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[i + 1]), ==, names[i]);
  g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[n + 1]), ==, "x-last");
}

/* Runs every kind of call, typed commands included, with a cancelled
 * cancellable: each fails with G_IO_ERROR_CANCELLED and sends nothing. */
static void
run_every_call_cancelled (QmpConnection *conn,
                          GCancellable  *cancelled)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) arguments = object_from_json ("{\"id\": \"dev0\"}");
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;

  execute (conn, "quit", NULL, cancelled, &result);
  assert_error (conn, &result, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  ret = qmp_connection_execute_sync (conn, "quit", NULL, QMP_EXECUTE_FLAGS_NONE, cancelled, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (ret);
  g_clear_error (&error);

  qmp_connection_execute_until_event_async (conn, "device_del", arguments, "DEVICE_DELETED", NULL,
                                            cancelled, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_execute_until_event_finish (conn, result, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (event);
  g_clear_error (&error);
  g_clear_object (&result);

  event = qmp_connection_execute_until_event_sync (conn, "device_del", arguments, "DEVICE_DELETED",
                                                   NULL, NULL, cancelled, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (event);
  g_clear_error (&error);

  event = qmp_connection_wait_event_sync (conn, "STOP", NULL, cancelled, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (event);
  g_clear_error (&error);

  g_assert_false (qmp_connection_quit_sync (conn, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  qmp_connection_quit_async (conn, cancelled, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_false (qmp_connection_quit_finish (conn, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);

  g_assert_false (qmp_connection_device_del_sync (conn, "dev0", cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_false (qmp_connection_blockdev_del_sync (conn, "disk0", cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_false (qmp_connection_system_powerdown_sync (conn, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
}

/* A call made with a cancelled cancellable sends nothing, every time: the
 * next line the peer reads is the next call's, which gets its own reply.
 * With the in-flight slots free and with all of them taken. */
static void
test_pre_cancelled (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *busy[8] = { NULL, };
  QmpTestServerCommand *busy_commands[8] = { NULL, };
  guint rounds = qmp_test_scale (50);
  QmpConnection *conn;

  peer_init (&peer, QMP_CONNECTION_FLAGS_NONE);
  conn = peer.conn;
  g_cancellable_cancel (cancelled);

  for (guint round = 0; round < rounds; round++)
    {
      g_autofree char *tag = g_strdup_printf ("r%u", round);
      g_autofree char *arguments = g_strdup_printf ("{\"tag\": \"%s\"}", tag);
      g_autofree char *expected = g_strdup_printf ("{\"round\": %u}", round);
      g_autoptr(QmpTestServerCommand) command = NULL;

      run_every_call_cancelled (conn, cancelled);

      execute (conn, "query-next", arguments, NULL, &result);
      command = peer_next (&peer, "query-next", tag);
      reply (command, expected);
      assert_return (conn, &result, expected);
    }

  /* Every slot taken: the cancelled calls do not even queue. */
  for (guint i = 0; i < G_N_ELEMENTS (busy); i++)
    {
      g_autofree char *tag = g_strdup_printf ("b%u", i);
      g_autofree char *arguments = g_strdup_printf ("{\"tag\": \"%s\"}", tag);

      execute (conn, "query-busy", arguments, NULL, &busy[i]);
      busy_commands[i] = peer_next (&peer, "query-busy", tag);
    }
  run_every_call_cancelled (conn, cancelled);
  execute (conn, "query-next", "{\"tag\": \"last\"}", NULL, &result);
  for (guint i = 0; i < G_N_ELEMENTS (busy); i++)
    {
      g_autofree char *expected = g_strdup_printf ("{\"busy\": %u}", i);

      reply (busy_commands[i], expected);
      assert_return (conn, &busy[i], expected);
      g_clear_object (&busy_commands[i]);
    }
  {
    g_autoptr(QmpTestServerCommand) command = peer_next (&peer, "query-next", "last");

    reply (command, "{\"last\": true}");
    assert_return (conn, &result, "{\"last\": true}");
  }

  /* Cancelled beats closed too. */
  g_assert_true (qmp_connection_close_sync (conn, NULL, &error));
  g_assert_no_error (error);
  execute (conn, "quit", NULL, cancelled, &result);
  assert_error (conn, &result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The peer stops reading; a big command fills the socket.  Commands queued
 * behind it that are cancelled or time out before their first byte is
 * written are cut out: the peer never reads them, and the command after
 * them gets its own reply. */
static void
test_cancel_behind_big (void)
{
  static const char * const received[] = { "big", "query-before", "query-after", NULL };
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) arguments = big_arguments ();
  g_autoptr(JsonObject) match = object_from_json ("{\"node-name\": \"disk0\"}");
  g_autoptr(QmpTestServerCommand) big = NULL;
  g_autoptr(QmpTestServerCommand) before = NULL;
  g_autoptr(QmpTestServerCommand) after = NULL;
  g_autoptr(GAsyncResult) big_result = NULL;
  g_autoptr(GAsyncResult) before_result = NULL;
  g_autoptr(GAsyncResult) quit_result = NULL;
  g_autoptr(GAsyncResult) timed_result = NULL;
  g_autoptr(GAsyncResult) until_result = NULL;
  g_autoptr(GAsyncResult) typed_result = NULL;
  g_autoptr(GAsyncResult) after_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;
  QmpConnection *conn;

  peer_init (&peer, QMP_CONNECTION_FLAGS_NONE);
  conn = peer.conn;
  qmp_test_server_set_reading (peer.server, FALSE);

  qmp_connection_execute_async (conn, "big", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &big_result);
  execute (conn, "query-before", "{\"tag\": \"before\"}", NULL, &before_result);
  execute (conn, "quit", NULL, cancellable, &quit_result);
  qmp_connection_execute_until_event_async (conn, "blockdev-del", match, "BLOCK_JOB_COMPLETED", NULL,
                                            cancellable, qmp_test_store_result, &until_result);
  qmp_connection_quit_async (conn, cancellable, qmp_test_store_result, &typed_result);
  qmp_connection_set_timeout (conn, 50);
  execute (conn, "device_del", "{\"id\": \"dev0\"}", NULL, &timed_result);
  qmp_connection_set_timeout (conn, 0);

  g_cancellable_cancel (cancellable);
  assert_error (conn, &quit_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_error (conn, &timed_result, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  until_result = qmp_test_wait_result (&until_result);
  event = qmp_connection_execute_until_event_finish (conn, until_result, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  typed_result = qmp_test_wait_result (&typed_result);
  g_assert_false (qmp_connection_quit_finish (conn, typed_result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  execute (conn, "query-after", "{\"tag\": \"after\"}", NULL, &after_result);

  /* Now the peer reads: the big one, the one before, the one after. */
  qmp_test_server_set_reading (peer.server, TRUE);
  big = peer_next (&peer, "big", NULL);
  assert_big (big);
  before = peer_next (&peer, "query-before", "before");
  after = peer_next (&peer, "query-after", "after");
  reply (after, "{\"from\": \"after\"}");
  reply (before, "{\"from\": \"before\"}");
  reply (big, "{\"from\": \"big\"}");
  assert_return (conn, &after_result, "{\"from\": \"after\"}");
  assert_return (conn, &before_result, "{\"from\": \"before\"}");
  assert_return (conn, &big_result, "{\"from\": \"big\"}");
  peer_assert_received (&peer, received);
  g_assert_false (qmp_connection_is_closed (conn));
}

/* exec-oob goes around the queue, but not around the output buffer: one
 * behind a big command, cancelled there, is never sent either. */
static void
test_cancel_oob_behind_big (void)
{
  static const char * const received[] = { "big", "query-after", NULL };
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) arguments = big_arguments ();
  g_autoptr(QmpTestServerCommand) big = NULL;
  g_autoptr(QmpTestServerCommand) after = NULL;
  g_autoptr(GAsyncResult) big_result = NULL;
  g_autoptr(GAsyncResult) oob_result = NULL;
  g_autoptr(GAsyncResult) after_result = NULL;
  QmpConnection *conn;

  peer_init (&peer, QMP_CONNECTION_FLAGS_OOB);
  conn = peer.conn;
  g_assert_true (qmp_connection_get_oob_enabled (conn));
  qmp_test_server_set_reading (peer.server, FALSE);

  qmp_connection_execute_async (conn, "big", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &big_result);
  qmp_connection_execute_async (conn, "migrate-pause", NULL, QMP_EXECUTE_FLAGS_OOB, cancellable,
                                qmp_test_store_result, &oob_result);
  g_cancellable_cancel (cancellable);
  assert_error (conn, &oob_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  qmp_connection_execute_async (conn, "query-after", NULL, QMP_EXECUTE_FLAGS_OOB, NULL,
                                qmp_test_store_result, &after_result);

  qmp_test_server_set_reading (peer.server, TRUE);
  big = peer_next (&peer, "big", NULL);
  assert_big (big);
  after = peer_next (&peer, "query-after", NULL);
  g_assert_true (qmp_test_server_command_get_oob (after));
  reply (after, "{\"oob\": true}");
  reply (big, "{\"big\": true}");
  assert_return (conn, &after_result, "{\"oob\": true}");
  assert_return (conn, &big_result, "{\"big\": true}");
  peer_assert_received (&peer, received);
}

/* A line partly in the socket when its call is cancelled is finished (half
 * a line would break the stream); the call fails at once, and its reply
 * is dropped when it comes. */
static void
test_cancel_partly_written (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) arguments = big_arguments ();
  g_autoptr(QmpTestServerCommand) big = NULL;
  g_autoptr(QmpTestServerCommand) after = NULL;
  g_autoptr(GAsyncResult) big_result = NULL;
  g_autoptr(GAsyncResult) after_result = NULL;
  QmpConnection *conn;

  peer_init (&peer, QMP_CONNECTION_FLAGS_NONE);
  conn = peer.conn;
  qmp_test_server_set_reading (peer.server, FALSE);

  qmp_connection_execute_async (conn, "big", arguments, QMP_EXECUTE_FLAGS_NONE, cancellable,
                                qmp_test_store_result, &big_result);
  execute (conn, "query-after", "{\"tag\": \"after\"}", NULL, &after_result);
  g_cancellable_cancel (cancellable);
  assert_error (conn, &big_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  qmp_test_server_set_reading (peer.server, TRUE);
  big = peer_next (&peer, "big", NULL);
  assert_big (big);
  after = peer_next (&peer, "query-after", "after");
  reply (big, "{\"from\": \"big\"}");
  reply (after, "{\"from\": \"after\"}");
  assert_return (conn, &after_result, "{\"from\": \"after\"}");
  g_assert_false (qmp_connection_is_closed (conn));
}

/* A guest agent's connection: QmpTestServer playing one answers the
 * synchronisation and guest-info itself (before the test holds its
 * commands). */
static void
peer_init_guest_agent (Peer *peer)
{
  g_autoptr(GError) error = NULL;

  peer->server = qmp_test_server_new ();
  qmp_test_server_set_guest_agent (peer->server, TRUE);
  peer->conn = qmp_test_server_new_connection_sync (peer->server, QMP_CONNECTION_FLAGS_GUEST_AGENT,
                                                    NULL, &error);
  g_assert_no_error (error);
  peer->held = qmp_test_held_new (peer->server);
}

/* The guest agent's guest-shutdown gets no reply: it is done once written,
 * and one cancelled or timed out before that is never written. */
static void
test_cancel_no_reply (void)
{
  static const char * const received[] = { "guest-file-write", "guest-ping", "guest-shutdown", NULL };
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) arguments = big_arguments ();
  g_autoptr(QmpTestServerCommand) big = NULL;
  g_autoptr(QmpTestServerCommand) ping = NULL;
  g_autoptr(QmpTestServerCommand) shutdown = NULL;
  g_autoptr(GAsyncResult) big_result = NULL;
  g_autoptr(GAsyncResult) cancelled_result = NULL;
  g_autoptr(GAsyncResult) timed_result = NULL;
  g_autoptr(GAsyncResult) ping_result = NULL;
  g_autoptr(GAsyncResult) shutdown_result = NULL;
  g_autoptr(GPtrArray) commands = NULL;
  QmpConnection *conn;
  guint first;

  peer_init_guest_agent (&peer);
  conn = peer.conn;
  commands = qmp_test_server_get_commands (peer.server);
  first = commands->len;
  g_clear_pointer (&commands, g_ptr_array_unref);
  qmp_test_server_set_reading (peer.server, FALSE);

  qmp_connection_execute_async (conn, "guest-file-write", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &big_result);
  execute (conn, "guest-shutdown", "{\"mode\": \"halt\"}", cancellable, &cancelled_result);
  qmp_connection_set_timeout (conn, 50);
  execute (conn, "guest-shutdown", "{\"mode\": \"reboot\"}", NULL, &timed_result);
  qmp_connection_set_timeout (conn, 0);
  execute (conn, "guest-ping", NULL, NULL, &ping_result);
  execute (conn, "guest-shutdown", "{\"mode\": \"powerdown\"}", NULL, &shutdown_result);

  g_cancellable_cancel (cancellable);
  assert_error (conn, &cancelled_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_error (conn, &timed_result, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  /* Not written yet, so not done. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (shutdown_result);

  qmp_test_server_set_reading (peer.server, TRUE);
  big = peer_next (&peer, "guest-file-write", NULL);
  assert_big (big);
  ping = peer_next (&peer, "guest-ping", NULL);
  shutdown = peer_next (&peer, "guest-shutdown", NULL);
  g_assert_cmpstr (json_object_get_string_member (qmp_test_server_command_get_arguments (shutdown), "mode"),
                   ==, "powerdown");
  assert_return (conn, &shutdown_result, "null");
  reply (ping, "{}");
  reply (big, "{\"count\": 1}");
  assert_return (conn, &ping_result, "{}");
  assert_return (conn, &big_result, "{\"count\": 1}");

  /* Nothing else was ever written */
  {
    g_autoptr(GAsyncResult) result = NULL;

    qmp_test_server_set_reply (peer.server, "x-last", NULL);
    execute (conn, "x-last", NULL, NULL, &result);
    assert_return (conn, &result, "{}");
  }
  commands = qmp_test_server_get_commands (peer.server);
  g_assert_cmpuint (commands->len, ==, first + 4);
  for (guint i = 0; received[i] != NULL; i++)
    g_assert_cmpstr (qmp_test_server_command_get_name (commands->pdata[first + i]), ==, received[i]);
}

/* The caller's own "cancelled" handler may wait for the library: here it
 * closes the connection, or makes a _sync call, while the cancellation
 * (in a thread of the caller's) finishes an _async call that holds the
 * same cancellable.  The library's I/O thread, which finishes that call,
 * must not wait for the handlers to return (in GLib 2.74,
 * g_cancellable_disconnect() does): that would deadlock it. */
typedef struct
{
  QmpConnection *conn;
  GCancellable *cancellable;
  gboolean close;             /* else a _sync call */
  GMutex lock;
  GCond cond;
  gboolean handler_done;
  gboolean cancelled;
  GError *error;
} HandlerWaits;

static void
on_cancelled_waits (GCancellable *cancellable,
                    HandlerWaits *waits)
{
  g_autoptr(GError) error = NULL;

  if (waits->close)
    {
      qmp_connection_close_sync (waits->conn, NULL, &error);
    }
  else
    {
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (waits->conn, "x-after", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_true ((ret != NULL) == (error == NULL));
    }

  g_mutex_lock (&waits->lock);
  waits->handler_done = TRUE;
  waits->error = g_steal_pointer (&error);
  g_mutex_unlock (&waits->lock);
}

static gpointer
cancel_thread (gpointer data)
{
  HandlerWaits *waits = data;

  g_cancellable_cancel (waits->cancellable);

  g_mutex_lock (&waits->lock);
  waits->cancelled = TRUE;
  g_cond_signal (&waits->cond);
  g_mutex_unlock (&waits->lock);

  return NULL;
}

static void
test_cancel_handler_waits (gconstpointer data)
{
  const char *mode = data;
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) held = NULL;
  HandlerWaits waits = { NULL, };
  gboolean handler_first = strstr (mode, "handler-first") != NULL;
  GThread *thread;
  gint64 deadline;
  gboolean cancelled;

  peer_init (&peer, QMP_CONNECTION_FLAGS_NONE);
  qmp_test_server_set_reply (peer.server, "x-after", NULL);
  waits.conn = peer.conn;
  waits.cancellable = cancellable;
  waits.close = g_str_has_prefix (mode, "close");
  g_mutex_init (&waits.lock);
  g_cond_init (&waits.cond);

  /* Before or after the call's own handler (a _sync call made before the
   * call's handler ran finishes before the call does, and never waited) */
  if (handler_first)
    g_signal_connect (cancellable, "cancelled", G_CALLBACK (on_cancelled_waits), &waits);
  execute (peer.conn, "x-held", NULL, cancellable, &result);
  held = peer_next (&peer, "x-held", NULL);
  if (!handler_first)
    g_signal_connect (cancellable, "cancelled", G_CALLBACK (on_cancelled_waits), &waits);

  thread = g_thread_new ("cancel", cancel_thread, &waits);

  /* Bounded: a deadlock fails here instead of hanging the suite. */
  deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&waits.lock);
  while (!waits.cancelled && g_cond_wait_until (&waits.cond, &waits.lock, deadline))
    ;
  cancelled = waits.cancelled;
  g_mutex_unlock (&waits.lock);
  if (!cancelled)
    g_error ("The cancellation did not return within 20 s: the I/O thread waits for the handler");
  g_thread_join (thread);

  g_assert_true (waits.handler_done);
  g_assert_no_error (waits.error);
  assert_error (peer.conn, &result, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_signal_handlers_disconnect_by_data (cancellable, &waits);
  g_clear_error (&waits.error);
  g_mutex_clear (&waits.lock);
  g_cond_clear (&waits.cond);
}

/* Real QEMU, stopped: a quit queued behind a big command and cancelled (or
 * timed out) must not make QEMU quit once it runs again. */
static void
test_qemu_quit_cancelled (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(GAsyncResult) big_result = NULL;
  g_autoptr(GAsyncResult) quit_result = NULL;
  g_autoptr(GAsyncResult) typed_result = NULL;
  g_autoptr(GAsyncResult) timed_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  g_assert_nonnull (peer);
  conn = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);

  arguments = json_object_new ();
  {
    char *blob = g_malloc (QEMU_BIG_SIZE + 1);

    memset (blob, 'x', QEMU_BIG_SIZE);
    blob[QEMU_BIG_SIZE] = '\0';
    json_object_set_string_member (arguments, "blob", blob);
    g_free (blob);
  }

  qmp_test_peer_kill_signal (peer, SIGSTOP);
  qmp_connection_execute_async (conn, "query-status", arguments, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &big_result);
  execute (conn, "quit", NULL, cancellable, &quit_result);
  qmp_connection_quit_async (conn, cancellable, qmp_test_store_result, &typed_result);
  qmp_connection_set_timeout (conn, 50);
  execute (conn, "quit", NULL, NULL, &timed_result);
  qmp_connection_set_timeout (conn, 0);

  g_cancellable_cancel (cancellable);
  assert_error (conn, &quit_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_error (conn, &timed_result, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  typed_result = qmp_test_wait_result (&typed_result);
  g_assert_false (qmp_connection_quit_finish (conn, typed_result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  qmp_test_peer_kill_signal (peer, SIGCONT);

  /* QEMU refuses the unknown argument, and is still there to answer. */
  assert_error (conn, &big_result, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  ret = qmp_connection_execute_sync (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
  g_assert_false (qmp_connection_is_closed (conn));
  g_assert_cmpint (kill (qmp_test_peer_get_pid (peer), 0), ==, 0);

  /* A quit nobody cancelled does quit. */
  g_assert_true (qmp_connection_quit_sync (conn, NULL, &error));
  g_assert_no_error (error);
  qmp_test_peer_wait_exit (peer, 10000);
}

/* ------------------------------- a kept handler, and the caller's own */

/* A thread keeps its "cancelled" handler on the cancellable it passes to
 * _sync call after _sync call, and drops it for another (or when the
 * thread ends).  Dropping it must not wait for the caller's own handlers
 * of the old cancellable, which may be running: in this very thread (one
 * that makes _sync calls with another cancellable), or in another that
 * waits for this one. */
typedef struct
{
  Peer peer;
  GCancellable *c1;
  GCancellable *c2;
  GMutex lock;
  GCond cond;
  gboolean done;               /* the scenario returned */
  gboolean main_done;          /* kept-handler thread: its calls returned */
  gboolean stop;
  GThread *thread;
  guint n_calls;
} Kept;

static void
kept_call (Kept         *kept,
           GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_sync (kept->peer.conn, "x-ping", NULL,
                                                         QMP_EXECUTE_FLAGS_NONE, cancellable, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
  g_atomic_int_inc (&kept->n_calls);
}

/* Runs @func (@kept) in a thread; fails if it has not returned in 20 s. */
static void
kept_run_bounded (Kept        *kept,
                  GThreadFunc  func)
{
  GThread *thread = g_thread_new ("scenario", func, kept);
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  gboolean done;

  g_mutex_lock (&kept->lock);
  while (!kept->done && g_cond_wait_until (&kept->cond, &kept->lock, deadline))
    ;
  done = kept->done;
  g_mutex_unlock (&kept->lock);
  if (!done)
    g_error ("Still blocked after 20 s: a dropped handler waited for the caller's");
  g_thread_join (thread);
}

static void
kept_set (Kept     *kept,
          gboolean *flag)
{
  g_mutex_lock (&kept->lock);
  *flag = TRUE;
  g_cond_broadcast (&kept->cond);
  g_mutex_unlock (&kept->lock);
}

/* Waits up to 20 s for @flag; returns it. */
static gboolean
kept_wait (Kept     *kept,
           gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  gboolean set;

  g_mutex_lock (&kept->lock);
  while (!*flag && g_cond_wait_until (&kept->cond, &kept->lock, deadline))
    ;
  set = *flag;
  g_mutex_unlock (&kept->lock);

  return set;
}

static void
kept_init (Kept *kept)
{
  peer_init (&kept->peer, QMP_CONNECTION_FLAGS_NONE);
  qmp_test_server_set_reply (kept->peer.server, "x-ping", NULL);
  kept->c1 = g_cancellable_new ();
  kept->c2 = g_cancellable_new ();
  g_mutex_init (&kept->lock);
  g_cond_init (&kept->cond);
}

static void
kept_clear (Kept *kept)
{
  g_clear_object (&kept->c1);
  g_clear_object (&kept->c2);
  peer_clear (&kept->peer);
  g_mutex_clear (&kept->lock);
  g_cond_clear (&kept->cond);
}

/* In the thread that cancels C1, which keeps its handler on C1: two
 * _sync calls with C2 (the second moves the kept handler to C2). */
static void
on_c1_calls_with_c2 (GCancellable *cancellable,
                     Kept         *kept)
{
  kept_call (kept, kept->c2);
  kept_call (kept, kept->c2);
}

static gpointer
same_thread_scenario (gpointer data)
{
  Kept *kept = data;

  kept_call (kept, kept->c1);
  kept_call (kept, kept->c1);
  g_signal_connect (kept->c1, "cancelled", G_CALLBACK (on_c1_calls_with_c2), kept);
  g_cancellable_cancel (kept->c1);
  kept_set (kept, &kept->done);

  return NULL;
}

/* In another thread: waits until the thread whose kept handler is on C1
 * made its calls with C2. */
static void
on_c1_waits_for_calls (GCancellable *cancellable,
                       Kept         *kept)
{
  g_assert_true (kept_wait (kept, &kept->main_done));
}

static gpointer
cancel_c1 (gpointer data)
{
  Kept *kept = data;

  g_cancellable_cancel (kept->c1);
  return NULL;
}

static gpointer
other_thread_scenario (gpointer data)
{
  Kept *kept = data;
  GThread *canceller;

  kept_call (kept, kept->c1);
  kept_call (kept, kept->c1);
  g_signal_connect (kept->c1, "cancelled", G_CALLBACK (on_c1_waits_for_calls), kept);
  canceller = g_thread_new ("cancel", cancel_c1, kept);
  /* The canceller's handler runs, or is about to */
  while (!g_cancellable_is_cancelled (kept->c1))
    g_usleep (1000);
  kept_call (kept, kept->c2);
  kept_call (kept, kept->c2);
  kept_set (kept, &kept->main_done);
  g_thread_join (canceller);
  kept_set (kept, &kept->done);

  return NULL;
}

/* A thread whose kept handler is on C1 ends, told to by a handler of C1
 * that then joins it: the handler goes with the thread, without waiting. */
static gpointer
calling_thread (gpointer data)
{
  Kept *kept = data;

  kept_call (kept, kept->c1);
  kept_call (kept, kept->c1);
  kept_set (kept, &kept->main_done);
  g_assert_true (kept_wait (kept, &kept->stop));

  return NULL;
}

static void
on_c1_stops_thread (GCancellable *cancellable,
                    Kept         *kept)
{
  kept_set (kept, &kept->stop);
  g_thread_join (g_steal_pointer (&kept->thread));
}

static gpointer
thread_end_scenario (gpointer data)
{
  Kept *kept = data;

  kept->thread = g_thread_new ("calling", calling_thread, kept);
  g_assert_true (kept_wait (kept, &kept->main_done));
  g_signal_connect (kept->c1, "cancelled", G_CALLBACK (on_c1_stops_thread), kept);
  g_cancellable_cancel (kept->c1);
  kept_set (kept, &kept->done);

  return NULL;
}

typedef struct
{
  GThreadFunc scenario;
  guint n_calls;                /* that the scenario makes */
} KeptTest;

static void
test_kept_handler (gconstpointer data)
{
  const KeptTest *test = data;
  Kept kept = { { NULL, }, };

  kept_init (&kept);
  kept_run_bounded (&kept, test->scenario);
  g_assert_null (kept.thread);
  g_assert_cmpuint (kept.n_calls, ==, test->n_calls);
  kept_clear (&kept);
}

static const KeptTest kept_same_thread = { same_thread_scenario, 4 };
static const KeptTest kept_other_thread = { other_thread_scenario, 4 };
static const KeptTest kept_thread_ends = { thread_end_scenario, 2 };

/* ------------------------------------------------ a reused cancellable */

/* A _sync caller that passes the same cancellable again and again keeps
 * one "cancelled" handler connected between its calls
 * (qmp-cancel-link.c): it must cancel exactly the call that uses the cancellable
 * now, in every thread that uses it, never one that uses another, and it
 * must not keep the cancellable alive. */

/* A query-status with @cancellable: it succeeds, or with @cancelled,
 * fails with G_IO_ERROR_CANCELLED. */
static void
status_sync (QmpConnection *conn,
             GCancellable  *cancellable,
             gboolean       cancelled)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = qmp_connection_execute_sync (conn, "query-status", NULL,
                                                         QMP_EXECUTE_FLAGS_NONE, cancellable, &error);

  if (cancelled)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_null (ret);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
    }
}

#define assert_status_sync(conn, cancellable) status_sync ((conn), (cancellable), FALSE)
#define assert_cancelled_sync(conn, cancellable) status_sync ((conn), (cancellable), TRUE)

typedef struct
{
  GCancellable *first;      /* cancelled first, after 50 ms */
  GCancellable *then;       /* nullable: cancelled 150 ms later */
  gint then_cancelled;      /* atomic: set just before @then is */
} Canceller;

static gpointer
canceller_thread (gpointer data)
{
  Canceller *canceller = data;

  g_usleep (50 * 1000);
  g_cancellable_cancel (canceller->first);
  if (canceller->then != NULL)
    {
      g_usleep (150 * 1000);
      g_atomic_int_set (&canceller->then_cancelled, 1);
      g_cancellable_cancel (canceller->then);
    }
  return NULL;
}

typedef struct
{
  QmpConnection *conn;
  GCancellable *cancellable;
  gboolean cancelled;       /* a last call, to be cancelled */
  gint ready;               /* atomic: the calls before it are done */
  gint go;                  /* atomic: make it (QEMU is stopped) */
} Caller;

static gpointer
caller_thread (gpointer data)
{
  Caller *caller = data;

  assert_status_sync (caller->conn, caller->cancellable);
  assert_status_sync (caller->conn, caller->cancellable);
  g_atomic_int_set (&caller->ready, 1);
  if (caller->cancelled)
    {
      while (!g_atomic_int_get (&caller->go))
        g_usleep (1000);
      assert_cancelled_sync (caller->conn, caller->cancellable);
    }
  return NULL;
}

static void
wait_ready (Caller *caller)
{
  while (!g_atomic_int_get (&caller->ready))
    g_usleep (1000);
}

static void
test_qemu_reused_cancellable (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) conn = NULL;
  GCancellable *a = g_cancellable_new ();
  GCancellable *b = g_cancellable_new ();
  GCancellable *shared = g_cancellable_new ();
  GCancellable *left = g_cancellable_new ();
  Canceller canceller = { NULL, };
  Caller callers[2];
  GThread *threads[2];
  GThread *thread;

  g_assert_nonnull (peer);
  conn = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);
  /* A call the handler failed to cancel fails the test, not hangs it. */
  qmp_connection_set_timeout (conn, 10000);

  /* Kept from the second call on; then the call that uses it, and only
   * that one, is cancelled, from another thread. */
  for (int i = 0; i < 3; i++)
    assert_status_sync (conn, a);
  qmp_test_peer_kill_signal (peer, SIGSTOP);
  canceller.first = a;
  thread = g_thread_new ("canceller", canceller_thread, &canceller);
  assert_cancelled_sync (conn, a);
  g_thread_join (thread);
  qmp_test_peer_kill_signal (peer, SIGCONT);

  /* Reset, it works again (the late reply of the cancelled call is
   * dropped); cancelled between calls, the next call fails at once. */
  g_cancellable_reset (a);
  for (int i = 0; i < 3; i++)
    assert_status_sync (conn, a);
  g_cancellable_cancel (a);
  assert_cancelled_sync (conn, a);
  g_cancellable_reset (a);
  assert_status_sync (conn, a);

  /* Another cancellable takes its place: cancelling the first one no
   * longer cancels anything, the second one still does. */
  assert_status_sync (conn, b);
  assert_status_sync (conn, b);
  qmp_test_peer_kill_signal (peer, SIGSTOP);
  canceller = (Canceller) { .first = a, .then = b };
  thread = g_thread_new ("canceller", canceller_thread, &canceller);
  assert_cancelled_sync (conn, b);
  g_assert_cmpint (g_atomic_int_get (&canceller.then_cancelled), ==, 1);
  g_thread_join (thread);
  qmp_test_peer_kill_signal (peer, SIGCONT);
  g_cancellable_reset (b);
  assert_status_sync (conn, b);

  /* The library keeps neither alive, the one still connected included. */
  g_assert_finalize_object (a);
  g_assert_finalize_object (b);
  assert_status_sync (conn, NULL);

  /* Two threads that share one: both of their calls are cancelled. */
  for (guint i = 0; i < G_N_ELEMENTS (callers); i++)
    {
      callers[i] = (Caller) { .conn = conn, .cancellable = shared, .cancelled = TRUE };
      threads[i] = g_thread_new ("caller", caller_thread, &callers[i]);
      wait_ready (&callers[i]);
    }
  qmp_test_peer_kill_signal (peer, SIGSTOP);
  for (guint i = 0; i < G_N_ELEMENTS (callers); i++)
    g_atomic_int_set (&callers[i].go, 1);
  canceller = (Canceller) { .first = shared };
  thread = g_thread_new ("canceller", canceller_thread, &canceller);
  for (guint i = 0; i < G_N_ELEMENTS (callers); i++)
    g_thread_join (threads[i]);
  g_thread_join (thread);
  qmp_test_peer_kill_signal (peer, SIGCONT);
  g_assert_finalize_object (shared);

  /* A thread that ends with its handler connected: the cancellable can
   * still be cancelled (nothing to do), and goes when its owner drops it. */
  callers[0] = (Caller) { .conn = conn, .cancellable = left };
  g_thread_join (g_thread_new ("caller", caller_thread, &callers[0]));
  g_cancellable_cancel (left);
  g_assert_finalize_object (left);

  /* Nothing the cancelled calls did is left behind. */
  assert_status_sync (conn, NULL);
  g_assert_false (qmp_connection_is_closed (conn));
}

/* ------------------------------------------------------------ timeouts */

/* A timeout of the call's own, and one that says what was missing. */
static void
test_timeout_per_call_and_message (void)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) unbounded = NULL;
  g_autoptr(GAsyncResult) bounded = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(QmpTestServerCommand) unbounded_command = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  QmpConnection *conn;

  peer_init (&peer, QMP_CONNECTION_FLAGS_NONE);
  conn = peer.conn;

  /* The reply came, the event not.  The server answers on its own
   * thread, at once: the reply is in long before the second, even under
   * valgrind on a loaded machine. */
  qmp_test_server_set_reply (peer.server, "cont", NULL);
  qmp_connection_execute_until_event_full_async (conn, "cont", NULL, "RESUME", NULL, 1000, NULL,
                                                 qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_execute_until_event_full_finish (conn, result, &ret, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (event);
  g_assert_null (ret);
  g_assert_cmpstr (error->message, ==,
                   "Timed out after 1000 ms waiting for the event “RESUME” (the reply to “cont” came)");
  g_clear_error (&error);
  g_clear_object (&result);

  /* Neither came. */
  event = qmp_connection_execute_until_event_full_sync (conn, "stop", NULL, "STOP", NULL, &ret, 50,
                                                        NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==,
                   "Timed out after 50 ms waiting for the reply to “stop” and the event “STOP”");
  g_clear_error (&error);
  command = peer_next (&peer, "stop", NULL);
  reply (command, NULL);
  g_clear_object (&command);

  /* Only the event came: the reply is what is missing.  The event must
   * be in before the timeout: a second, for a loaded machine. */
  qmp_connection_execute_until_event_full_async (conn, "stop", NULL, "STOP", NULL, 1000, NULL,
                                                 qmp_test_store_result, &result);
  command = peer_next (&peer, "stop", NULL);
  qmp_test_server_emit_event (peer.server, "STOP", NULL, NULL);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_execute_until_event_full_finish (conn, result, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==, "Timed out after 1000 ms waiting for the reply to “stop”");
  g_clear_error (&error);
  g_clear_object (&result);
  reply (command, NULL);
  g_clear_object (&command);

  /* Waiting for an event. */
  event = qmp_connection_wait_event_full_sync (conn, "SHUTDOWN", NULL, 50, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==, "Timed out after 50 ms waiting for the event “SHUTDOWN”");
  g_clear_error (&error);
  qmp_connection_wait_event_full_async (conn, NULL, NULL, 50, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_wait_event_full_finish (conn, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==, "Timed out after 50 ms waiting for an event");
  g_clear_error (&error);
  g_clear_object (&result);

  /* A call's own timeout wins over the connection's, both ways; -1 means
   * the connection's. */
  ret = qmp_connection_execute_full_sync (conn, "query-a", NULL, QMP_EXECUTE_FLAGS_NONE, 50, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==, "Timed out after 50 ms waiting for the reply to “query-a”");
  g_clear_error (&error);
  command = peer_next (&peer, "query-a", NULL);
  reply (command, NULL);
  g_clear_object (&command);

  qmp_connection_set_timeout (conn, 50);
  qmp_connection_execute_full_async (conn, "query-unbounded", NULL, QMP_EXECUTE_FLAGS_NONE, 0, NULL,
                                     qmp_test_store_result, &unbounded);
  qmp_connection_execute_full_async (conn, "query-bounded", NULL, QMP_EXECUTE_FLAGS_NONE, -1, NULL,
                                     qmp_test_store_result, &bounded);
  unbounded_command = peer_next (&peer, "query-unbounded", NULL);
  command = peer_next (&peer, "query-bounded", NULL);
  bounded = qmp_test_wait_result (&bounded);
  g_assert_null (qmp_connection_execute_full_finish (conn, bounded, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_null (unbounded);
  qmp_connection_set_timeout (conn, 0);
  reply (unbounded_command, "{\"late\": true}");
  unbounded = qmp_test_wait_result (&unbounded);
  ret = qmp_connection_execute_full_finish (conn, unbounded, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "late"));
}

/* Real QEMU, running: "cont" returns at once, and no RESUME comes. */
static void
test_qemu_timeout_names_event (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(QmpEvent) event = NULL;

  g_assert_nonnull (peer);
  conn = qmp_test_peer_connect (peer, QMP_CONNECTION_FLAGS_NONE);

  event = qmp_connection_execute_until_event_full_sync (conn, "cont", NULL, "RESUME", NULL, &ret, 1000,
                                                        NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (event);
  g_assert_nonnull (strstr (error->message, "“RESUME” (the reply to “cont” came)"));
  g_clear_error (&error);

  ret = qmp_connection_execute_sync (conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cancel/pre-cancelled", test_pre_cancelled);
  g_test_add_func ("/cancel/behind-big", test_cancel_behind_big);
  g_test_add_func ("/cancel/oob-behind-big", test_cancel_oob_behind_big);
  g_test_add_func ("/cancel/partly-written", test_cancel_partly_written);
  g_test_add_func ("/cancel/no-reply", test_cancel_no_reply);
  g_test_add_data_func ("/cancel/handler-waits/close/handler-first", "close/handler-first",
                        test_cancel_handler_waits);
  g_test_add_data_func ("/cancel/handler-waits/close/handler-last", "close/handler-last",
                        test_cancel_handler_waits);
  g_test_add_data_func ("/cancel/handler-waits/sync-call/handler-last", "sync-call/handler-last",
                        test_cancel_handler_waits);
  g_test_add_data_func ("/cancel/kept-handler/dropped-in-its-handler", &kept_same_thread,
                        test_kept_handler);
  g_test_add_data_func ("/cancel/kept-handler/dropped-while-another-thread-cancels", &kept_other_thread,
                        test_kept_handler);
  g_test_add_data_func ("/cancel/kept-handler/thread-ends-in-its-handler", &kept_thread_ends,
                        test_kept_handler);
  g_test_add_func ("/cancel/qemu/quit", test_qemu_quit_cancelled);
  g_test_add_func ("/cancel/qemu/reused-cancellable", test_qemu_reused_cancellable);
  g_test_add_func ("/timeout/per-call-and-message", test_timeout_per_call_and_message);
  g_test_add_func ("/timeout/qemu/names-event", test_qemu_timeout_names_event);

  return g_test_run ();
}
