/* qmp-test-server.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp-accept-source-private.h"
#include "qmp-json-private.h"
#include "qmp-server-channel-private.h"
#include "qmp-test-server.h"
#include "qmp-waiter-private.h"
#include "qmp-worker-private.h"

/**
 * QmpTestServer:
 *
 * A QMP server for test suites: it speaks the server half of the protocol
 * as QEMU does, answers with what the test chose, and records what it
 * received, so that code which drives QEMU can be tested without QEMU.
 *
 * A client reaches it over a socket pair
 * ([method@Qmp.TestServer.new_connection_sync],
 * [method@Qmp.TestServer.new_stream]) or on a Unix socket in a temporary
 * directory of its own ([method@Qmp.TestServer.listen]); the directory is
 * removed when the server goes away.
 *
 * The server greets every client (QEMU 7.2.0 offering `oob` by default;
 * see [method@Qmp.TestServer.set_version] and
 * [method@Qmp.TestServer.set_capabilities]) and negotiates capabilities
 * itself, answering any other command before `qmp_capabilities` with
 * QEMU's `CommandNotFound`.  Then each command is answered by, in order:
 *
 * 1. the check function, if one is set and refuses it
 *    ([method@Qmp.TestServer.set_check_func]);
 * 2. a canned answer for its name ([method@Qmp.TestServer.set_reply],
 *    [method@Qmp.TestServer.set_error]);
 * 3. the command function, on the library's I/O thread, if it returns
 *    %TRUE ([method@Qmp.TestServer.set_command_func]): it works while the
 *    test's thread is blocked in a `_sync` call;
 * 4. a handler of the [signal@Qmp.TestServer::command] signal that returns
 *    %TRUE, and answers with [method@Qmp.TestServerCommand.reply] at once
 *    or later, or never;
 * 5. else `CommandNotFound`, as QEMU answers a command it does not know.
 *
 * Every command, answered or not, is recorded with its arguments, its id
 * and the descriptors that came with it: see
 * [method@Qmp.TestServer.get_commands] and
 * [method@Qmp.TestServer.next_command_sync].
 *
 * The faults a test needs are there on demand: closing, cutting the next
 * line, malformed or oversized lines, and stalls.
 *
 * A client that does not read cannot make the server hold memory without
 * bound: while more than 1 MiB of answers waits for it, it is not read
 * (its writes block once the socket is full), and a client that leaves
 * 16 MiB of events unread is closed.
 *
 * The server runs on the library's I/O thread; its methods may be called
 * from any thread, and the [signal@Qmp.TestServer::command] signal is
 * emitted in the main context that was the thread-default one when the
 * server was made.
 *
 * ```c
 * g_autoptr(QmpTestServer) server = qmp_test_server_new ();
 * g_autoptr(QmpConnection) connection = NULL;
 * g_autoptr(JsonNode) status = json_from_string ("{\"status\": \"running\", \"running\": true}", NULL);
 * g_autoptr(JsonNode) ret = NULL;
 * g_autoptr(GError) error = NULL;
 *
 * qmp_test_server_set_reply (server, "query-status", status);
 * connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
 * g_assert_no_error (error);
 *
 * ret = qmp_connection_execute_sync (connection, "query-status", NULL,
 *                                    QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * g_assert_no_error (error);
 * g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
 * ```
 *
 * Since: 1.0
 */

/**
 * QmpTestServerCommand:
 *
 * A command that a [class@Qmp.TestServer] received: its name, arguments,
 * id and descriptors, and the means to answer it, once, from any thread.
 *
 * ```c
 * static gboolean
 * on_command (QmpTestServer *server, QmpTestServerCommand *command, gpointer user_data)
 * {
 *   if (!g_str_equal (qmp_test_server_command_get_name (command), "stop"))
 *     return FALSE;   // CommandNotFound
 *
 *   qmp_test_server_emit_event (server, "STOP", NULL, NULL);
 *   qmp_test_server_command_reply (command, NULL);
 *   return TRUE;
 * }
 * ```
 *
 * Since: 1.0
 */

typedef struct
{
  char *name;
  char *data_json;              /* nullable */
} EventLine;

static void
event_line_free (EventLine *line)
{
  g_free (line->name);
  g_free (line->data_json);
  g_free (line);
}

typedef struct
{
  char *return_json;            /* nullable: an error */
  char *error_class;
  char *desc;
} CannedReply;

static void
canned_reply_free (CannedReply *reply)
{
  g_free (reply->return_json);
  g_free (reply->error_class);
  g_free (reply->desc);
  g_free (reply);
}

/* The listening socket, apart from the server: its source on the worker
 * must not keep the server alive. */
typedef struct
{
  gatomicrefcount ref_count;
  GSocket *socket;
  GWeakRef server;
} Listener;

struct _QmpTestServerCommand
{
  GObject parent_instance;

  QmpServerRequest *request;    /* what the client sent */
  QmpServerChannel *channel;    /* where the answer goes */
  guint client;                 /* the client's number, from 1 */
  gboolean guest_agent;         /* the client is a guest agent's */
  GPtrArray *events_before;     /* EventLine: sent just before the answer */
  gint answered;                /* atomic */
};

/* A function of the test's with its data, shared with the I/O thread
 * while it calls it: replacing it while a command is being given to it
 * must not free its data under it. */
typedef struct
{
  gatomicrefcount ref_count;
  GCallback func;
  gpointer data;
  GDestroyNotify destroy;
} ServerFunc;

static ServerFunc *
server_func_new (GCallback      func,
                 gpointer       data,
                 GDestroyNotify destroy)
{
  ServerFunc *server_func;

  if (func == NULL)
    {
      if (destroy != NULL)
        destroy (data);
      return NULL;
    }

  server_func = g_new0 (ServerFunc, 1);
  g_atomic_ref_count_init (&server_func->ref_count);
  server_func->func = func;
  server_func->data = data;
  server_func->destroy = destroy;
  return server_func;
}

static ServerFunc *
server_func_ref (ServerFunc *server_func)
{
  if (server_func != NULL)
    g_atomic_ref_count_inc (&server_func->ref_count);
  return server_func;
}

static void
server_func_unref (ServerFunc *server_func)
{
  if (server_func == NULL || !g_atomic_ref_count_dec (&server_func->ref_count))
    return;
  if (server_func->destroy != NULL)
    server_func->destroy (server_func->data);
  g_free (server_func);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ServerFunc, server_func_unref)

struct _QmpTestServer
{
  GObject parent_instance;

  GMainContext *context;        /* where ::command is emitted */
  QmpWorker *worker;            /* kept while the server listens there */

  GMutex lock;
  /* Protected by lock */
  GCond cond;                   /* a command was recorded */
  gboolean disposed;
  guint major, minor, micro;
  char *package;
  GStrv capabilities;
  char *raw_greeting;           /* nullable: replaces the greeting */
  gboolean guest_agent;         /* later clients are qemu-ga's */
  GHashTable *clients;          /* QmpServerChannel → its number, while open */
  gboolean notify_pending;      /* a notify of n-clients is on its way */
  guint n_clients_ever;
  gboolean reading;
  gboolean writing;
  gint64 write_limit;           /* -1, or what a client gets before a close */
  GHashTable *replies;          /* command → CannedReply */
  GHashTable *events_before;    /* command → GPtrArray of EventLine */
  ServerFunc *check;         /* nullable */
  ServerFunc *command;       /* nullable */
  GPtrArray *commands;          /* QmpTestServerCommand, all received */
  guint next_command;           /* the next one next_command_sync returns */
  GQueue next_waiters;          /* of QmpWaiter: next_command_async calls */

  /* Set once, under listen_lock */
  GMutex listen_lock;
  char *dir;                    /* nullable: the socket's own directory */
  char *socket_path;
  char *address;
  Listener *listener;
  GSource *listen_source;
};

enum {
  PROP_0,
  PROP_N_CLIENTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_COMMAND,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (QmpTestServerCommand, qmp_test_server_command, G_TYPE_OBJECT)
G_DEFINE_FINAL_TYPE (QmpTestServer, qmp_test_server, G_TYPE_OBJECT)

/* ------------------------------------------------------------- command */

static void
qmp_test_server_command_finalize (GObject *object)
{
  QmpTestServerCommand *self = QMP_TEST_SERVER_COMMAND (object);

  g_clear_pointer (&self->request, _qmp_server_request_free);
  g_clear_pointer (&self->channel, _qmp_server_channel_unref);
  g_clear_pointer (&self->events_before, g_ptr_array_unref);

  G_OBJECT_CLASS (qmp_test_server_command_parent_class)->finalize (object);
}

static void
qmp_test_server_command_class_init (QmpTestServerCommandClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qmp_test_server_command_finalize;
}

static void
qmp_test_server_command_init (QmpTestServerCommand *self)
{
}

/**
 * qmp_test_server_command_get_name:
 * @self: a #QmpTestServerCommand
 *
 * Gets the name of the command, the value of its `execute` or `exec-oob`
 * member.
 *
 * ```c
 * g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "stop");
 * ```
 *
 * Returns: the command's name
 *
 * Since: 1.0
 */
const char *
qmp_test_server_command_get_name (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), NULL);

  return self->request->name;
}

/**
 * qmp_test_server_command_get_arguments:
 * @self: a #QmpTestServerCommand
 *
 * Gets the `arguments` member of the command.  The object belongs to the
 * command: do not change it, and do not take references to it from two
 * threads at once (json-glib's reference counts are not atomic).
 *
 * ```c
 * JsonObject *arguments = qmp_test_server_command_get_arguments (command);
 *
 * g_assert_cmpstr (json_object_get_string_member (arguments, "id"), ==, "disk0");
 * ```
 *
 * Returns: (transfer none) (nullable): the arguments, or %NULL if the
 *   client sent none
 *
 * Since: 1.0
 */
JsonObject *
qmp_test_server_command_get_arguments (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), NULL);

  return self->request->arguments;
}

/**
 * qmp_test_server_command_get_id:
 * @self: a #QmpTestServerCommand
 *
 * Gets the `id` member of the command, any JSON value, as the client sent
 * it.  The reply carries it back unchanged.
 *
 * ```c
 * JsonNode *id = qmp_test_server_command_get_id (command);
 *
 * g_assert_nonnull (id);
 * ```
 *
 * Returns: (transfer none) (nullable): the id, or %NULL if the client sent
 *   none
 *
 * Since: 1.0
 */
JsonNode *
qmp_test_server_command_get_id (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), NULL);

  return self->request->id;
}

/**
 * qmp_test_server_command_get_oob:
 * @self: a #QmpTestServerCommand
 *
 * Gets whether the command came as `exec-oob`, out of band.
 *
 * ```c
 * g_assert_true (qmp_test_server_command_get_oob (command));
 * ```
 *
 * Returns: %TRUE for an `exec-oob` command
 *
 * Since: 1.0
 */
gboolean
qmp_test_server_command_get_oob (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), FALSE);

  return self->request->oob;
}

/**
 * qmp_test_server_command_get_fds:
 * @self: a #QmpTestServerCommand
 *
 * Gets the descriptors that the client passed (`SCM_RIGHTS`) with the
 * command, on a Unix socket, as `getfd` and `add-fd` expect.
 *
 * ```c
 * GUnixFDList *fds = qmp_test_server_command_get_fds (command);
 *
 * g_assert_cmpint (g_unix_fd_list_get_length (fds), ==, 1);
 * ```
 *
 * Returns: (transfer none) (nullable): the descriptors, or %NULL if none
 *   came
 *
 * Since: 1.0
 */
GUnixFDList *
qmp_test_server_command_get_fds (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), NULL);

  return self->request->fds;
}

/**
 * qmp_test_server_command_get_client:
 * @self: a #QmpTestServerCommand
 *
 * Gets the number of the client that sent the command: 1 for the first
 * client that connected to the server, 2 for the next, and so on.
 *
 * ```c
 * g_assert_cmpuint (qmp_test_server_command_get_client (command), ==, 1);
 * ```
 *
 * Returns: the client's number
 *
 * Since: 1.0
 */
guint
qmp_test_server_command_get_client (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), 0);

  return self->client;
}

/**
 * qmp_test_server_command_is_answered:
 * @self: a #QmpTestServerCommand
 *
 * Gets whether the command was answered, by the server itself (the
 * negotiation, a canned answer, `CommandNotFound`) or by a handler.
 *
 * ```c
 * g_assert_false (qmp_test_server_command_is_answered (command));
 * ```
 *
 * Returns: %TRUE once an answer was sent
 *
 * Since: 1.0
 */
gboolean
qmp_test_server_command_is_answered (QmpTestServerCommand *self)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER_COMMAND (self), FALSE);

  return g_atomic_int_get (&self->answered);
}

static gboolean
command_take_answer (QmpTestServerCommand *self)
{
  if (!g_atomic_int_compare_and_exchange (&self->answered, FALSE, TRUE))
    {
      g_critical ("The command “%s” was answered already", self->request->name);
      return FALSE;
    }

  /* The events that real QEMU sends before this reply */
  for (guint i = 0; self->events_before != NULL && i < self->events_before->len; i++)
    {
      EventLine *line = g_ptr_array_index (self->events_before, i);

      _qmp_server_channel_send_event (self->channel, line->name, line->data_json,
                                      g_get_real_time ());
    }

  return TRUE;
}

static void
command_reply_json (QmpTestServerCommand *self,
                    const char           *return_json)
{
  if (command_take_answer (self))
    _qmp_server_channel_reply (self->channel, self->request, return_json);
}

/**
 * qmp_test_server_command_reply:
 * @self: a #QmpTestServerCommand
 * @return_value: (nullable): the `return` member of the reply; %NULL for
 *   an empty object, as most commands return
 *
 * Answers the command with a success, carrying the command's id.  A
 * command is answered once; it may be answered from any thread, at any
 * time, or never.
 *
 * ```c
 * g_autoptr(JsonNode) ret = json_from_string ("{\"status\": \"paused\", \"running\": false}", NULL);
 *
 * qmp_test_server_command_reply (command, ret);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_command_reply (QmpTestServerCommand *self,
                               JsonNode             *return_value)
{
  g_autofree char *return_json = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER_COMMAND (self));

  return_json = return_value ? json_to_string (return_value, FALSE) : g_strdup ("{}");
  command_reply_json (self, return_json);
}

/**
 * qmp_test_server_command_reply_error:
 * @self: a #QmpTestServerCommand
 * @error_class: the error's class, such as `GenericError` or
 *   `DeviceNotFound`
 * @desc: the error's description
 *
 * Answers the command with an error, carrying the command's id.  A
 * command is answered once, from any thread.
 *
 * ```c
 * qmp_test_server_command_reply_error (command, "DeviceNotFound", "Device 'nope' not found");
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_command_reply_error (QmpTestServerCommand *self,
                                     const char           *error_class,
                                     const char           *desc)
{
  g_return_if_fail (QMP_IS_TEST_SERVER_COMMAND (self));
  g_return_if_fail (error_class != NULL);
  g_return_if_fail (desc != NULL);

  if (command_take_answer (self))
    _qmp_server_channel_reply_error (self->channel, self->request, error_class, desc);
}

/* -------------------------------------------------------------- server */

static void
listener_unref (Listener *listener)
{
  if (!g_atomic_ref_count_dec (&listener->ref_count))
    return;

  g_object_unref (listener->socket);
  g_weak_ref_clear (&listener->server);
  g_free (listener);
}

static char *
server_greeting_locked (QmpTestServer *self)
{
  g_autoptr(GString) greeting = NULL;
  g_autofree char *package = NULL;

  if (self->raw_greeting != NULL)
    return g_strdup (self->raw_greeting);

  package = _qmp_json_string_quote (self->package);
  greeting = g_string_new (NULL);
  g_string_append_printf (greeting,
                          "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": %u, \"minor\": %u, \"major\": %u}, "
                          "\"package\": %s}, \"capabilities\": [",
                          self->micro, self->minor, self->major, package);
  for (guint i = 0; self->capabilities[i] != NULL; i++)
    {
      g_autofree char *quoted = _qmp_json_string_quote (self->capabilities[i]);

      g_string_append_printf (greeting, "%s%s", i > 0 ? ", " : "", quoted);
    }
  g_string_append (greeting, "]}}");

  return g_string_free (g_steal_pointer (&greeting), FALSE);
}

typedef struct
{
  GWeakRef server;
  QmpTestServerCommand *command;
} EmitData;

static void
emit_data_free (EmitData *data)
{
  g_weak_ref_clear (&data->server);
  g_object_unref (data->command);
  g_free (data);
}

static char *
command_not_found (const char *name)
{
  return g_strdup_printf ("The command %s has not been found", name);
}

/* What no one else answered: qemu-ga's own answers to what a client
 * sends while it connects, for a guest agent's clients; else QEMU's
 * CommandNotFound. */
static void
command_answer_default (QmpTestServerCommand *command,
                        gboolean              guest_agent,
                        guint                 major,
                        guint                 minor,
                        guint                 micro)
{
  const char *name = command->request->name;
  g_autofree char *desc = NULL;

  if (guest_agent && (g_str_equal (name, "guest-sync-delimited") || g_str_equal (name, "guest-sync")))
    {
      JsonObject *arguments = command->request->arguments;
      JsonNode *id = arguments ? json_object_get_member (arguments, "id") : NULL;

      if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_INT64)
        {
          g_autofree char *token = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (id));

          if (!command_take_answer (command))
            return;
          /* The delimiter first: the client's parser starts over there */
          if (g_str_equal (name, "guest-sync-delimited"))
            _qmp_server_channel_send_raw (command->channel, "\xff", 1);
          _qmp_server_channel_reply (command->channel, command->request, token);
          return;
        }
      qmp_test_server_command_reply_error (command, "GenericError", "Parameter 'id' is missing");
      return;
    }

  if (guest_agent && g_str_equal (name, "guest-info"))
    {
      g_autofree char *info = g_strdup_printf ("{\"version\": \"%u.%u.%u\", \"supported_commands\": []}",
                                               major, minor, micro);

      command_reply_json (command, info);
      return;
    }

  desc = command_not_found (name);
  qmp_test_server_command_reply_error (command, "CommandNotFound", desc);
}

static void
server_answer_default (QmpTestServer        *self,
                       QmpTestServerCommand *command)
{
  guint major, minor, micro;

  g_mutex_lock (&self->lock);
  major = self->major;
  minor = self->minor;
  micro = self->micro;
  g_mutex_unlock (&self->lock);

  command_answer_default (command, command->guest_agent, major, minor, micro);
}

/* In the server's context: the handlers' turn. */
static gboolean
emit_command (gpointer user_data)
{
  EmitData *data = user_data;
  g_autoptr(QmpTestServer) self = g_weak_ref_get (&data->server);
  gboolean handled = FALSE;

  if (self != NULL)
    g_signal_emit (self, signals[SIGNAL_COMMAND], 0, data->command, &handled);

  if (!handled && !qmp_test_server_command_is_answered (data->command))
    {
      if (self != NULL)
        server_answer_default (self, data->command);
      else
        command_answer_default (data->command, FALSE, 0, 0, 0);
    }

  return G_SOURCE_REMOVE;
}

/* On the worker: a command from a client. */
static void
on_channel_command (GObject          *owner,
                    QmpServerChannel *channel,
                    QmpServerRequest *request)
{
  QmpTestServer *self = QMP_TEST_SERVER (owner);
  g_autoptr(QmpTestServerCommand) command = g_object_new (QMP_TYPE_TEST_SERVER_COMMAND, NULL);
  g_autoptr(GError) error = NULL;
  CannedReply *canned = NULL;
  g_autofree char *return_json = NULL;
  g_autofree char *error_class = NULL;
  g_autofree char *desc = NULL;
  g_autoptr(ServerFunc) check = NULL;
  g_autoptr(ServerFunc) command_func = NULL;
  QmpWaiter *next_waiter = NULL;
  QmpTestServerCommand *next_command = NULL;
  GQueue cancelled = G_QUEUE_INIT;
  gboolean has_handler;
  GPtrArray *events;

  command->request = request;
  command->channel = _qmp_server_channel_ref (channel);
  command->guest_agent = _qmp_server_channel_is_guest_agent (channel);
  command->answered = request->answered;

  g_mutex_lock (&self->lock);
  if (self->disposed)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  command->client = GPOINTER_TO_UINT (g_hash_table_lookup (self->clients, channel));
  g_ptr_array_add (self->commands, g_object_ref (command));
  g_cond_broadcast (&self->cond);
  /* The oldest next_command_async call takes it (one waits only while
   * every command recorded was taken: this is the next) */
  next_waiter = _qmp_waiter_take_live (&self->next_waiters, &cancelled);
  if (next_waiter != NULL)
    next_command = g_object_ref (g_ptr_array_index (self->commands, self->next_command++));

  events = g_hash_table_lookup (self->events_before, request->name);
  if (events != NULL)
    command->events_before = g_ptr_array_ref (events);
  canned = g_hash_table_lookup (self->replies, request->name);
  if (canned != NULL)
    {
      return_json = g_strdup (canned->return_json);
      error_class = g_strdup (canned->error_class);
      desc = g_strdup (canned->desc);
    }
  check = server_func_ref (self->check);
  command_func = server_func_ref (self->command);
  g_mutex_unlock (&self->lock);

  if (next_waiter != NULL)
    {
      g_task_return_pointer (next_waiter->task, next_command, g_object_unref);
      _qmp_waiter_free (next_waiter);
    }
  _qmp_waiters_return_cancelled (&cancelled);

  if (request->answered)
    return;

  if (check != NULL &&
      !((QmpTestServerCheckFunc) check->func) (self, command, check->data, &error))
    {
      qmp_test_server_command_reply_error (command, "GenericError", error->message);
      return;
    }

  if (canned != NULL)
    {
      if (return_json != NULL)
        command_reply_json (command, return_json);
      else
        qmp_test_server_command_reply_error (command, error_class, desc);
      return;
    }

  if (command_func != NULL &&
      ((QmpTestServerCommandFunc) command_func->func) (self, command, command_func->data))
    return;

  has_handler = g_signal_has_handler_pending (self, signals[SIGNAL_COMMAND], 0, FALSE);
  if (has_handler)
    {
      EmitData *data = g_new0 (EmitData, 1);
      GSource *source = g_idle_source_new ();

      g_weak_ref_init (&data->server, self);
      data->command = g_object_ref (command);
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (source, "[qmp-glib] test server command");
      g_source_set_callback (source, emit_command, data, (GDestroyNotify) emit_data_free);
      g_source_attach (source, self->context);
      g_source_unref (source);
      return;
    }

  server_answer_default (self, command);
}

static gboolean
notify_n_clients (gpointer user_data)
{
  g_autoptr(QmpTestServer) self = g_weak_ref_get (user_data);

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->lock);
  self->notify_pending = FALSE;
  g_mutex_unlock (&self->lock);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CLIENTS]);

  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

/* From any thread: ::notify in the server's context, where a test waits
 * for clients to come or go; one at a time, however many changes, so that
 * a context nobody iterates does not pile them up. */
static void
server_schedule_notify_n_clients (QmpTestServer *self)
{
  GWeakRef *ref;
  GSource *source;
  gboolean pending;

  g_mutex_lock (&self->lock);
  pending = self->notify_pending;
  self->notify_pending = TRUE;
  g_mutex_unlock (&self->lock);
  if (pending)
    return;

  ref = g_new0 (GWeakRef, 1);
  source = g_idle_source_new ();
  g_weak_ref_init (ref, self);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[qmp-glib] test server n-clients");
  g_source_set_callback (source, notify_n_clients, ref, (GDestroyNotify) weak_ref_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
on_channel_closed (GObject          *owner,
                   QmpServerChannel *channel)
{
  QmpTestServer *self = QMP_TEST_SERVER (owner);
  gboolean removed;

  g_mutex_lock (&self->lock);
  removed = g_hash_table_remove (self->clients, channel);
  if (removed)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (removed)
    server_schedule_notify_n_clients (self);
}

/* Serves @stream as a new client. */
static gboolean
server_add_client (QmpTestServer  *self,
                   GIOStream      *stream,
                   GError        **error)
{
  g_autoptr(QmpServerChannel) channel = NULL;
  g_autofree char *greeting = NULL;
  gboolean oob_offered;
  gboolean reading, writing;
  gboolean guest_agent;
  gint64 write_limit;

  g_mutex_lock (&self->lock);
  guest_agent = self->guest_agent;
  write_limit = self->write_limit;
  greeting = server_greeting_locked (self);
  oob_offered = g_strv_contains ((const char * const *) self->capabilities, "oob");
  reading = self->reading;
  writing = self->writing;
  g_mutex_unlock (&self->lock);

  channel = _qmp_server_channel_new (stream, greeting, oob_offered, G_OBJECT (self),
                                     on_channel_command, on_channel_closed, error);
  if (channel == NULL)
    return FALSE;

  if (guest_agent)
    _qmp_server_channel_set_guest_agent (channel);
  if (write_limit >= 0)
    _qmp_server_channel_set_write_limit (channel, write_limit);
  if (!writing)
    _qmp_server_channel_set_writing (channel, FALSE);
  if (!reading)
    _qmp_server_channel_set_reading (channel, FALSE);

  g_mutex_lock (&self->lock);
  if (self->disposed)
    {
      g_mutex_unlock (&self->lock);
      _qmp_server_channel_close (channel);
      return TRUE;
    }
  self->n_clients_ever++;
  g_hash_table_insert (self->clients, _qmp_server_channel_ref (channel),
                       GUINT_TO_POINTER (self->n_clients_ever));
  g_mutex_unlock (&self->lock);

  server_schedule_notify_n_clients (self);
  _qmp_server_channel_start (channel);

  return TRUE;
}

static void
qmp_test_server_dispose (GObject *object)
{
  QmpTestServer *self = QMP_TEST_SERVER (object);
  g_autoptr(GHashTable) clients = NULL;
  GHashTableIter iter;
  gpointer channel;
  g_autoptr(ServerFunc) check = NULL;
  g_autoptr(ServerFunc) command = NULL;

  g_mutex_lock (&self->lock);
  self->disposed = TRUE;
  clients = g_steal_pointer (&self->clients);
  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) _qmp_server_channel_unref, NULL);
  check = g_steal_pointer (&self->check);
  command = g_steal_pointer (&self->command);
  g_mutex_unlock (&self->lock);

  g_hash_table_iter_init (&iter, clients);
  while (g_hash_table_iter_next (&iter, &channel, NULL))
    _qmp_server_channel_close (channel);

  g_clear_pointer (&check, server_func_unref);
  g_clear_pointer (&command, server_func_unref);

  if (self->listen_source != NULL)
    {
      g_source_destroy (self->listen_source);
      g_clear_pointer (&self->listen_source, g_source_unref);
    }
  if (self->listener != NULL)
    {
      g_socket_close (self->listener->socket, NULL);
      g_clear_pointer (&self->listener, listener_unref);
    }
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  if (self->dir != NULL)
    g_rmdir (self->dir);

  g_mutex_lock (&self->lock);
  g_ptr_array_set_size (self->commands, 0);
  g_mutex_unlock (&self->lock);

  G_OBJECT_CLASS (qmp_test_server_parent_class)->dispose (object);
}

static void
qmp_test_server_finalize (GObject *object)
{
  QmpTestServer *self = QMP_TEST_SERVER (object);

  g_hash_table_unref (self->clients);
  g_ptr_array_unref (self->commands);
  _qmp_worker_unref (self->worker);
  g_hash_table_unref (self->replies);
  g_hash_table_unref (self->events_before);
  g_free (self->package);
  g_strfreev (self->capabilities);
  g_free (self->raw_greeting);
  g_free (self->dir);
  g_free (self->socket_path);
  g_free (self->address);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->listen_lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (qmp_test_server_parent_class)->finalize (object);
}

static void
qmp_test_server_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QmpTestServer *self = QMP_TEST_SERVER (object);

  switch (prop_id)
    {
    case PROP_N_CLIENTS:
      g_value_set_uint (value, qmp_test_server_get_n_clients (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_test_server_class_init (QmpTestServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qmp_test_server_dispose;
  object_class->finalize = qmp_test_server_finalize;
  object_class->get_property = qmp_test_server_get_property;

  /**
   * QmpTestServer:n-clients:
   *
   * The number of clients connected now: see
   * [method@Qmp.TestServer.get_n_clients].  It is notified in the main
   * context that was the thread-default one when the server was made,
   * soon after a client came or went, so that a test can wait there for
   * a client to hang up.
   *
   * ```c
   * g_clear_object (&connection);
   * while (qmp_test_server_get_n_clients (server) > 0)
   *   g_main_context_iteration (NULL, TRUE);
   * ```
   *
   * Since: 1.0
   */
  properties[PROP_N_CLIENTS] =
    g_param_spec_uint ("n-clients", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QmpTestServer::command:
   * @self: the server
   * @command: the command
   *
   * Emitted for a command that neither the check function nor a canned
   * answer answered, in the main context that was the thread-default one
   * when the server was made.  A handler that takes the command returns
   * %TRUE and answers it with [method@Qmp.TestServerCommand.reply] or
   * [method@Qmp.TestServerCommand.reply_error], now or later (keeping a
   * reference), or never.  When no handler takes it the server answers
   * `CommandNotFound`.
   *
   * While a handler is connected, a `_sync` call made in the thread that
   * runs this context waits for an answer that the handler cannot give
   * until the call returns: there, use the `_async` calls, canned answers,
   * [method@Qmp.TestServer.set_command_func], or a client in another
   * thread.
   *
   * ```c
   * static gboolean
   * on_command (QmpTestServer *server, QmpTestServerCommand *command, gpointer user_data)
   * {
   *   qmp_test_server_command_reply (command, NULL);
   *   return TRUE;
   * }
   *
   * g_signal_connect (server, "command", G_CALLBACK (on_command), NULL);
   * ```
   *
   * Returns: %TRUE if the handler takes the command
   *
   * Since: 1.0
   */
  signals[SIGNAL_COMMAND] =
    g_signal_new ("command",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 1, QMP_TYPE_TEST_SERVER_COMMAND);
}

static void
qmp_test_server_init (QmpTestServer *self)
{
  static const char * const default_capabilities[] = { "oob", NULL };

  self->context = g_main_context_ref_thread_default ();
  self->worker = _qmp_worker_ref ();
  g_mutex_init (&self->lock);
  g_mutex_init (&self->listen_lock);
  g_cond_init (&self->cond);
  self->major = 7;
  self->minor = 2;
  self->micro = 0;
  self->package = g_strdup ("qmp-glib test server");
  self->capabilities = g_strdupv ((GStrv) default_capabilities);
  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) _qmp_server_channel_unref, NULL);
  self->reading = TRUE;
  self->writing = TRUE;
  self->write_limit = -1;
  self->replies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) canned_reply_free);
  self->events_before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_ptr_array_unref);
  self->commands = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * qmp_test_server_new:
 *
 * Creates a QMP server for tests.  It greets as QEMU 7.2.0 offering `oob`,
 * answers every command but `qmp_capabilities` with `CommandNotFound`
 * until told otherwise, and has no client yet.
 *
 * ```c
 * g_autoptr(QmpTestServer) server = qmp_test_server_new ();
 * ```
 *
 * Returns: (transfer full): a new #QmpTestServer
 *
 * Since: 1.0
 */
QmpTestServer *
qmp_test_server_new (void)
{
  return g_object_new (QMP_TYPE_TEST_SERVER, NULL);
}

/**
 * qmp_test_server_set_version:
 * @self: a #QmpTestServer
 * @major: QEMU's major version
 * @minor: QEMU's minor version
 * @micro: QEMU's micro version
 *
 * Sets the version in the greeting of the clients that connect from now
 * on.
 *
 * ```c
 * // a QEMU 2.x greeting: {"QMP": {"version": {"qemu": {…}, "package": ""}, "capabilities": []}}
 * qmp_test_server_set_version (server, 2, 8, 1);
 * qmp_test_server_set_package (server, "");
 * qmp_test_server_set_capabilities (server, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_version (QmpTestServer *self,
                             guint          major,
                             guint          minor,
                             guint          micro)
{
  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  self->major = major;
  self->minor = minor;
  self->micro = micro;
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_package:
 * @self: a #QmpTestServer
 * @package: the `package` member of the greeting
 *
 * Sets the package in the greeting of the clients that connect from now
 * on.
 *
 * ```c
 * qmp_test_server_set_package (server, "Debian 1:7.2+dfsg-7");
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_package (QmpTestServer *self,
                             const char    *package)
{
  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (package != NULL);

  g_mutex_lock (&self->lock);
  g_free (self->package);
  self->package = g_strdup (package);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_capabilities:
 * @self: a #QmpTestServer
 * @capabilities: (nullable) (array zero-terminated=1): the capabilities
 *   offered, or %NULL for none
 *
 * Sets the capabilities offered in the greeting of the clients that
 * connect from now on.  Without `oob`, as an old QEMU, the server refuses
 * to enable it and answers `exec-oob` as unexpected.
 *
 * ```c
 * qmp_test_server_set_capabilities (server, NULL);   // a QEMU before 2.12
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_capabilities (QmpTestServer      *self,
                                  const char * const *capabilities)
{
  static const char * const none[] = { NULL };

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  g_strfreev (self->capabilities);
  self->capabilities = g_strdupv ((GStrv) (capabilities ? capabilities : none));
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_raw_greeting:
 * @self: a #QmpTestServer
 * @greeting: (nullable): the greeting line, without its line end, or
 *   %NULL for the greeting made of the version, package and capabilities
 *
 * Replaces the greeting sent to the clients that connect from now on by
 * @greeting, as it is: for greetings that are malformed or of a shape the
 * setters cannot make.  The capabilities set with
 * [method@Qmp.TestServer.set_capabilities] still decide whether `oob` can
 * be enabled.
 *
 * ```c
 * qmp_test_server_set_raw_greeting (server, "{\"QMP\": {}}");
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_raw_greeting (QmpTestServer *self,
                                  const char    *greeting)
{
  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  g_free (self->raw_greeting);
  self->raw_greeting = g_strdup (greeting);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_guest_agent:
 * @self: a #QmpTestServer
 * @guest_agent: %TRUE to play a guest agent
 *
 * Makes the server speak to the clients that connect from now on as
 * qemu-ga does, for code that drives a guest agent (a client made with
 * %QMP_CONNECTION_FLAGS_GUEST_AGENT): no greeting and no capability
 * negotiation (`qmp_capabilities` is a command like any other, which
 * qemu-ga does not know), no `exec-oob`, and lines that end in `\n`.
 *
 * What a client sends while it connects is answered as qemu-ga answers it,
 * unless a canned answer, the command function or a handler takes it
 * first: `guest-sync-delimited` with the 0xFF delimiter and then its `id`
 * argument, `guest-sync` with its `id` argument, and `guest-info` with the
 * version of [method@Qmp.TestServer.set_version] and no supported
 * commands.  A handler that takes them can answer otherwise, with
 * [method@Qmp.TestServer.send_raw] for the delimiter.
 *
 * ```c
 * qmp_test_server_set_guest_agent (server, TRUE);
 * qmp_test_server_set_reply (server, "guest-ping", NULL);
 * connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_GUEST_AGENT,
 *                                                   NULL, &error);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_guest_agent (QmpTestServer *self,
                                 gboolean       guest_agent)
{
  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  self->guest_agent = !!guest_agent;
  g_mutex_unlock (&self->lock);
}

/* On the worker, for each client that the listening socket accepted */
static void
on_incoming (GSocket  *client,
             gpointer  user_data)
{
  Listener *listener = user_data;
  g_autoptr(QmpTestServer) self = g_weak_ref_get (&listener->server);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_connection_factory_create_connection (client);
  if (self == NULL || !server_add_client (self, G_IO_STREAM (connection), &error))
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/**
 * qmp_test_server_listen:
 * @self: a #QmpTestServer
 * @error: return location for a #GError
 *
 * Makes the server listen on a Unix socket in a new temporary directory of
 * its own, removed with the socket when the server goes away.  Any number
 * of clients may connect to [method@Qmp.TestServer.get_address].  Calling
 * it again does nothing.
 *
 * ```c
 * g_assert_true (qmp_test_server_listen (server, &error));
 * connection = qmp_connection_new_for_address_sync (qmp_test_server_get_address (server),
 *                                                   QMP_CONNECTION_FLAGS_NONE, NULL, &error);
 * ```
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
qmp_test_server_listen (QmpTestServer  *self,
                        GError        **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  Listener *listener;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  locker = g_mutex_locker_new (&self->listen_lock);
  if (self->listener != NULL)
    return TRUE;

  dir = g_dir_make_tmp ("qmp-test-server-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  path = g_build_filename (dir, "qmp.sock", NULL);

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  address = g_unix_socket_address_new (path);
  if (socket == NULL ||
      !g_socket_bind (socket, address, FALSE, error) ||
      !g_socket_listen (socket, error))
    {
      g_prefix_error (error, _("Could not listen on “%s”: "), path);
      g_unlink (path);
      g_rmdir (dir);
      return FALSE;
    }
  g_socket_set_blocking (socket, FALSE);

  listener = g_new0 (Listener, 1);
  g_atomic_ref_count_init (&listener->ref_count);
  listener->socket = g_object_ref (socket);
  g_weak_ref_init (&listener->server, self);

  self->dir = g_steal_pointer (&dir);
  self->socket_path = g_steal_pointer (&path);
  self->address = g_strconcat ("unix:", self->socket_path, NULL);
  self->listener = listener;

  /* Accepting happens on the worker, where the clients are served. */
  self->listen_source = _qmp_accept_source_new (socket);
  g_atomic_ref_count_inc (&listener->ref_count);
  g_source_set_callback (self->listen_source, G_SOURCE_FUNC (on_incoming), listener,
                         (GDestroyNotify) listener_unref);
  g_source_set_static_name (self->listen_source, "[qmp-glib] test server listen");
  g_source_attach (self->listen_source, _qmp_worker_get_context (self->worker));

  return TRUE;
}

/**
 * qmp_test_server_get_address:
 * @self: a #QmpTestServer
 *
 * Gets the address that clients connect to, `unix:` and the socket's path,
 * once [method@Qmp.TestServer.listen] succeeded.
 *
 * ```c
 * const char *address = qmp_test_server_get_address (server);
 * ```
 *
 * Returns: (nullable): the address, or %NULL if the server does not listen
 *
 * Since: 1.0
 */
const char *
qmp_test_server_get_address (QmpTestServer *self)
{
  const char *address;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);

  /* Valid until the server goes: it is set once. */
  g_mutex_lock (&self->listen_lock);
  address = self->address;
  g_mutex_unlock (&self->listen_lock);

  return address;
}

/**
 * qmp_test_server_new_stream:
 * @self: a #QmpTestServer
 * @error: return location for a #GError
 *
 * Makes a new client over a socket pair and returns the client's end, a
 * Unix socket that descriptors can be passed on.  The server greets it at
 * once.
 *
 * ```c
 * g_autoptr(GIOStream) stream = qmp_test_server_new_stream (server, &error);
 * g_autoptr(QmpConnection) connection = qmp_connection_new_sync (stream, QMP_CONNECTION_FLAGS_OOB,
 *                                                                NULL, &error);
 * ```
 *
 * Returns: (transfer full): the client's end of the connection, or %NULL
 *   with @error set
 *
 * Since: 1.0
 */
GIOStream *
qmp_test_server_new_stream (QmpTestServer  *self,
                            GError        **error)
{
  g_autoptr(GSocketConnection) client_connection = NULL;
  g_autoptr(GSocketConnection) server_connection = NULL;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_server_socket_pair (&client_connection, &server_connection, error))
    return NULL;
  if (!server_add_client (self, G_IO_STREAM (server_connection), error))
    return NULL;

  return G_IO_STREAM (g_steal_pointer (&client_connection));
}

/**
 * qmp_test_server_new_connection_sync:
 * @self: a #QmpTestServer
 * @flags: flags for the connection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Makes a new client over a socket pair, as
 * [method@Qmp.TestServer.new_stream] does, and a [class@Qmp.Connection]
 * on it, greeted and negotiated.
 *
 * ```c
 * g_autoptr(QmpConnection) connection =
 *   qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
 * ```
 *
 * Returns: (transfer full): a ready connection, or %NULL with @error set
 *
 * Since: 1.0
 */
QmpConnection *
qmp_test_server_new_connection_sync (QmpTestServer       *self,
                                     QmpConnectionFlags   flags,
                                     GCancellable        *cancellable,
                                     GError             **error)
{
  g_autoptr(GIOStream) stream = NULL;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stream = qmp_test_server_new_stream (self, error);
  if (stream == NULL)
    return NULL;

  return qmp_connection_new_sync (stream, flags, cancellable, error);
}

/**
 * qmp_test_server_get_n_clients:
 * @self: a #QmpTestServer
 *
 * Gets the number of clients connected now.  A client counts until the
 * server has seen it go (or closed it); [property@Qmp.TestServer:n-clients]
 * is notified when the number changes.
 *
 * ```c
 * g_assert_cmpuint (qmp_test_server_get_n_clients (server), ==, 1);
 * ```
 *
 * Returns: the number of clients
 *
 * Since: 1.0
 */
guint
qmp_test_server_get_n_clients (QmpTestServer *self)
{
  guint n;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), 0);

  g_mutex_lock (&self->lock);
  n = g_hash_table_size (self->clients);
  g_mutex_unlock (&self->lock);

  return n;
}

static void
server_set_canned (QmpTestServer *self,
                   const char    *command,
                   CannedReply   *reply)
{
  g_mutex_lock (&self->lock);
  if (reply != NULL)
    g_hash_table_replace (self->replies, g_strdup (command), reply);
  else
    g_hash_table_remove (self->replies, command);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_reply:
 * @self: a #QmpTestServer
 * @command: a command's name
 * @return_value: (nullable): the `return` member of the answer; %NULL for
 *   an empty object
 *
 * Answers every @command from now on with @return_value (copied now),
 * replacing any canned answer it had.
 *
 * ```c
 * g_autoptr(JsonNode) ret = json_from_string ("{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": \"\"}", NULL);
 *
 * qmp_test_server_set_reply (server, "query-version", ret);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_reply (QmpTestServer *self,
                           const char    *command,
                           JsonNode      *return_value)
{
  CannedReply *reply;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (command != NULL);

  reply = g_new0 (CannedReply, 1);
  reply->return_json = return_value ? json_to_string (return_value, FALSE) : g_strdup ("{}");
  server_set_canned (self, command, reply);
}

/**
 * qmp_test_server_set_error:
 * @self: a #QmpTestServer
 * @command: a command's name
 * @error_class: the error's class, such as `GenericError`
 * @desc: the error's description
 *
 * Answers every @command from now on with an error, replacing any canned
 * answer it had.
 *
 * ```c
 * qmp_test_server_set_error (server, "device_del", "DeviceNotFound", "Device 'nope' not found");
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_error (QmpTestServer *self,
                           const char    *command,
                           const char    *error_class,
                           const char    *desc)
{
  CannedReply *reply;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (error_class != NULL);
  g_return_if_fail (desc != NULL);

  reply = g_new0 (CannedReply, 1);
  reply->error_class = g_strdup (error_class);
  reply->desc = g_strdup (desc);
  server_set_canned (self, command, reply);
}

/**
 * qmp_test_server_unset_reply:
 * @self: a #QmpTestServer
 * @command: a command's name
 *
 * Removes the canned answer of @command: from now on it goes to the
 * [signal@Qmp.TestServer::command] handlers.
 *
 * ```c
 * qmp_test_server_unset_reply (server, "query-status");
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_unset_reply (QmpTestServer *self,
                             const char    *command)
{
  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (command != NULL);

  server_set_canned (self, command, NULL);
}

/**
 * qmp_test_server_add_event_before_reply:
 * @self: a #QmpTestServer
 * @command: a command's name
 * @event_name: the event's name
 * @data: (nullable): the event's data (copied now)
 *
 * Sends the event @event_name to the client just before the answer to
 * each @command received from now on, as QEMU sends `STOP` before the
 * return of `stop`: the race a client must handle.  Several events are
 * sent in the order they were added.
 *
 * ```c
 * qmp_test_server_set_reply (server, "stop", NULL);
 * qmp_test_server_add_event_before_reply (server, "stop", "STOP", NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_add_event_before_reply (QmpTestServer *self,
                                        const char    *command,
                                        const char    *event_name,
                                        JsonObject    *data)
{
  EventLine *line;
  GPtrArray *old, *events;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (event_name != NULL);

  line = g_new0 (EventLine, 1);
  line->name = g_strdup (event_name);
  if (data != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), data);

      line->data_json = json_to_string (node, FALSE);
    }

  /* A new array each time: commands already received keep theirs. */
  events = g_ptr_array_new_with_free_func ((GDestroyNotify) event_line_free);
  g_mutex_lock (&self->lock);
  old = g_hash_table_lookup (self->events_before, command);
  for (guint i = 0; old != NULL && i < old->len; i++)
    {
      EventLine *copy = g_new0 (EventLine, 1);

      copy->name = g_strdup (((EventLine *) old->pdata[i])->name);
      copy->data_json = g_strdup (((EventLine *) old->pdata[i])->data_json);
      g_ptr_array_add (events, copy);
    }
  g_ptr_array_add (events, line);
  g_hash_table_replace (self->events_before, g_strdup (command), events);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_set_check_func:
 * @self: a #QmpTestServer
 * @func: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   the check, or %NULL for none
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Sets a function that checks each command before it is answered, as a
 * QMP schema does: a command it refuses is answered with a
 * `GenericError`.  It runs on the library's worker thread.  The function
 * it replaces is freed (@destroy) once no command is being given to it.
 *
 * ```c
 * static gboolean
 * check_arguments (QmpTestServer *server, QmpTestServerCommand *command,
 *                  gpointer user_data, GError **error)
 * {
 *   if (qmp_test_server_command_get_arguments (command) == NULL)
 *     return TRUE;
 *   g_set_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR, "Parameter 'x' is unexpected");
 *   return FALSE;
 * }
 *
 * qmp_test_server_set_check_func (server, check_arguments, NULL, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_check_func (QmpTestServer          *self,
                                QmpTestServerCheckFunc  func,
                                gpointer                user_data,
                                GDestroyNotify          destroy)
{
  ServerFunc *check;
  g_autoptr(ServerFunc) old = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  check = server_func_new (G_CALLBACK (func), user_data, destroy);
  g_mutex_lock (&self->lock);
  old = g_steal_pointer (&self->check);
  self->check = check;
  g_mutex_unlock (&self->lock);
}

/* The open clients, each with a reference, for use outside the lock */
static GPtrArray *
server_dup_clients (QmpTestServer *self)
{
  GPtrArray *clients = g_ptr_array_new_with_free_func ((GDestroyNotify) _qmp_server_channel_unref);
  GHashTableIter iter;
  gpointer channel;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->clients);
  while (g_hash_table_iter_next (&iter, &channel, NULL))
    g_ptr_array_add (clients, _qmp_server_channel_ref (channel));
  g_mutex_unlock (&self->lock);

  return clients;
}

/**
 * qmp_test_server_emit_event:
 * @self: a #QmpTestServer
 * @event_name: the event's name
 * @data: (nullable): the event's data
 * @timestamp: (nullable): the event's time, or %NULL for now
 *
 * Sends an event to every client connected now that has negotiated
 * capabilities, as QEMU does.
 *
 * ```c
 * g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1700000000);
 *
 * qmp_test_server_emit_event (server, "SHUTDOWN", NULL, when);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_emit_event (QmpTestServer *self,
                            const char    *event_name,
                            JsonObject    *data,
                            GDateTime     *timestamp)
{
  g_autoptr(GPtrArray) clients = NULL;
  g_autofree char *data_json = NULL;
  gint64 usec;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (event_name != NULL);

  if (data != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), data);

      data_json = json_to_string (node, FALSE);
    }

  usec = timestamp ? g_date_time_to_unix (timestamp) * G_USEC_PER_SEC + g_date_time_get_microsecond (timestamp)
                   : g_get_real_time ();

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_send_event (g_ptr_array_index (clients, i), event_name, data_json, usec);
}

/**
 * qmp_test_server_get_commands:
 * @self: a #QmpTestServer
 *
 * Gets every command the server received, from every client, in the
 * order they came, `qmp_capabilities` included.
 *
 * ```c
 * g_autoptr(GPtrArray) commands = qmp_test_server_get_commands (server);
 *
 * g_assert_cmpuint (commands->len, ==, 2);
 * ```
 *
 * Returns: (transfer container) (element-type QmpTestServerCommand): the
 *   commands
 *
 * Since: 1.0
 */
GPtrArray *
qmp_test_server_get_commands (QmpTestServer *self)
{
  GPtrArray *commands;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);

  g_mutex_lock (&self->lock);
  commands = g_ptr_array_copy (self->commands, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  g_ptr_array_set_free_func (commands, g_object_unref);
  g_mutex_unlock (&self->lock);

  return commands;
}

static void
on_wait_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  QmpTestServer *self = user_data;

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_test_server_next_command_sync:
 * @self: a #QmpTestServer
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Waits, blocking the calling thread, for the next command that no call of
 * this function (or of [method@Qmp.TestServer.next_command_async]) has
 * returned yet: the first call returns the first command the server
 * received (`qmp_capabilities`, once a client negotiated), the next call
 * the second, and so on.
 *
 * ```c
 * g_autoptr(QmpTestServerCommand) command = qmp_test_server_next_command_sync (server, NULL, &error);
 *
 * g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "qmp_capabilities");
 * ```
 *
 * Returns: (transfer full): the command, or %NULL with @error set when
 *   cancelled
 *
 * Since: 1.0
 */
QmpTestServerCommand *
qmp_test_server_next_command_sync (QmpTestServer  *self,
                                   GCancellable   *cancellable,
                                   GError        **error)
{
  QmpTestServerCommand *command = NULL;
  gulong handler = 0;

  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_wait_cancelled), self, NULL);

  g_mutex_lock (&self->lock);
  while (self->next_command >= self->commands->len &&
         !g_cancellable_is_cancelled (cancellable))
    g_cond_wait (&self->cond, &self->lock);
  if (self->next_command < self->commands->len)
    command = g_object_ref (g_ptr_array_index (self->commands, self->next_command++));
  g_mutex_unlock (&self->lock);

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);

  if (command == NULL)
    g_cancellable_set_error_if_cancelled (cancellable, error);

  return command;
}

/**
 * qmp_test_server_next_command_async:
 * @self: a #QmpTestServer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the command
 * @user_data: data for @callback
 *
 * Waits for the next command, as [method@Qmp.TestServer.next_command_sync]
 * does, without blocking.
 *
 * ```c
 * qmp_test_server_next_command_async (server, NULL, on_next_command, loop);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_next_command_async (QmpTestServer       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  QmpTestServerCommand *command = NULL;
  QmpWaiter *waiter;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_test_server_next_command_async);
  /* Given a command, it returns it even if cancelled after: the command
   * would be lost for the next wait */
  g_task_set_check_cancellable (task, FALSE);
  if (g_task_return_error_if_cancelled (task))
    return;

  /* No thread waits: the worker hands the next command to the oldest
   * waiting call as it records it */
  waiter = _qmp_waiter_new (task, &self->next_waiters, &self->lock);
  g_mutex_lock (&self->lock);
  if (self->next_command < self->commands->len)
    command = g_object_ref (g_ptr_array_index (self->commands, self->next_command++));
  else if (!g_cancellable_is_cancelled (cancellable))
    g_queue_push_tail (&self->next_waiters, g_steal_pointer (&waiter));
  g_mutex_unlock (&self->lock);

  if (waiter == NULL)
    return;   /* waiting */

  _qmp_waiter_free (waiter);
  if (command != NULL)
    g_task_return_pointer (task, command, g_object_unref);
  else
    g_task_return_error_if_cancelled (task);
}

/**
 * qmp_test_server_next_command_finish:
 * @self: a #QmpTestServer
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.TestServer.next_command_async].
 *
 * ```c
 * g_autoptr(QmpTestServerCommand) command =
 *   qmp_test_server_next_command_finish (QMP_TEST_SERVER (source), result, &error);
 * ```
 *
 * Returns: (transfer full): the command, or %NULL with @error set
 *
 * Since: 1.0
 */
QmpTestServerCommand *
qmp_test_server_next_command_finish (QmpTestServer  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (QMP_IS_TEST_SERVER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_test_server_next_command_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_test_server_close_clients:
 * @self: a #QmpTestServer
 *
 * Closes the connection of every client connected now, at once: what was
 * not written yet is lost, as when QEMU dies.
 *
 * ```c
 * qmp_test_server_close_clients (server);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_close_clients (QmpTestServer *self)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_close (g_ptr_array_index (clients, i));
}

/**
 * qmp_test_server_close_after:
 * @self: a #QmpTestServer
 * @n_bytes: how much of the next line to send
 *
 * Sends only the first @n_bytes of the next line (an answer, an event or
 * raw bytes) to each client connected now, then closes its connection:
 * a peer that goes away in the middle of a message.
 *
 * ```c
 * qmp_test_server_close_after (server, 5);   // {"ret and then nothing
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_close_after (QmpTestServer *self,
                             gsize          n_bytes)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_cut_next_line (g_ptr_array_index (clients, i), n_bytes);
}

/**
 * qmp_test_server_set_write_limit:
 * @self: a #QmpTestServer
 * @n_bytes: how many bytes each client gets in all, or -1 for no limit
 *
 * Makes the server close each client, connected now or later, once it has
 * written @n_bytes to it since it connected, the greeting included; what
 * would go past them is not written.  The peer goes away at any byte of a
 * session, where [method@Qmp.TestServer.close_after] cuts one line: run a
 * scenario once for every offset to see that the client fails cleanly
 * wherever the cut falls.
 *
 * ```c
 * for (gint64 offset = 0; offset <= session_length; offset++)
 *   {
 *     g_autoptr(QmpTestServer) server = qmp_test_server_new ();
 *
 *     qmp_test_server_set_write_limit (server, offset);
 *     run_scenario (server);
 *   }
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_write_limit (QmpTestServer *self,
                                 gint64         n_bytes)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (n_bytes >= -1);

  g_mutex_lock (&self->lock);
  self->write_limit = n_bytes;
  g_mutex_unlock (&self->lock);

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_set_write_limit (g_ptr_array_index (clients, i), n_bytes);
}

/**
 * qmp_test_server_send_raw:
 * @self: a #QmpTestServer
 * @data: (array length=len) (element-type guint8): the bytes
 * @len: the number of bytes
 *
 * Sends @data as it is, no line end added, to every client connected now:
 * for malformed lines, or a line in pieces.
 *
 * ```c
 * qmp_test_server_send_raw (server, (const guint8 *) "{\"event\": [}\r\n", 14);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_send_raw (QmpTestServer *self,
                          const guint8  *data,
                          gsize          len)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));
  g_return_if_fail (data != NULL || len == 0);

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_send_raw (g_ptr_array_index (clients, i), (const char *) data, len);
}

/**
 * qmp_test_server_send_large_line:
 * @self: a #QmpTestServer
 * @size: the line's length, without its line end
 *
 * Sends to every client connected now an event `QMP_TEST_LARGE` whose line
 * is @size bytes long (at least 100, the length of the event with an empty
 * padding string), valid JSON: for a client's `max-message-size`.
 *
 * The padding is made as it is written, so the line costs the server a
 * few kilobytes whatever its size: a test can send gigabytes to see that
 * the client's memory stays bounded.  When the client hangs up, the rest
 * is dropped.
 *
 * ```c
 * qmp_connection_set_max_message_size (connection, 4096);
 * qmp_test_server_send_large_line (server, 4097);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_send_large_line (QmpTestServer *self,
                                 gsize          size)
{
  static const char prefix[] =
    "{\"timestamp\": {\"seconds\": 0, \"microseconds\": 0}, \"event\": \"QMP_TEST_LARGE\", "
    "\"data\": {\"padding\": \"";
  static const char suffix[] = "\"}}\r\n";
  gsize fixed = sizeof prefix - 1 + sizeof suffix - 1 - 2;
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_send_filled (g_ptr_array_index (clients, i), prefix,
                                     size > fixed ? size - fixed : 0, suffix);
}

/**
 * qmp_test_server_set_reading:
 * @self: a #QmpTestServer
 * @reading: %FALSE to stop reading
 *
 * Stops (or resumes) reading from every client, now and for clients that
 * connect later: a server that hangs while its socket fills up.  What was
 * read already and not handled yet is handled when reading resumes.
 *
 * ```c
 * qmp_test_server_set_reading (server, FALSE);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_reading (QmpTestServer *self,
                             gboolean       reading)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  self->reading = !!reading;
  g_mutex_unlock (&self->lock);

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_set_reading (g_ptr_array_index (clients, i), reading);
}

/**
 * qmp_test_server_set_writing:
 * @self: a #QmpTestServer
 * @writing: %FALSE to stop writing
 *
 * Stops (or resumes) writing to every client, now and for clients that
 * connect later: answers and events wait, in order, and go out when
 * writing resumes.
 *
 * ```c
 * qmp_test_server_set_writing (server, FALSE);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_writing (QmpTestServer *self,
                             gboolean       writing)
{
  g_autoptr(GPtrArray) clients = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  g_mutex_lock (&self->lock);
  self->writing = !!writing;
  g_mutex_unlock (&self->lock);

  clients = server_dup_clients (self);
  for (guint i = 0; i < clients->len; i++)
    _qmp_server_channel_set_writing (g_ptr_array_index (clients, i), writing);
}

/**
 * qmp_test_server_set_command_func:
 * @self: a #QmpTestServer
 * @func: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   the function, or %NULL for none
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Sets a function that is given each command that neither the check
 * function nor a canned answer answered, before the
 * [signal@Qmp.TestServer::command] handlers.  It runs on the library's I/O
 * thread, so it answers while the test's thread is blocked in a `_sync`
 * call.  It takes the command by returning %TRUE, and then answers it, now
 * or later, from any thread, or never; it returns %FALSE to leave the
 * command to the signal's handlers.  It must not block.  The function it
 * replaces is freed (@destroy) once no command is being given to it, so a
 * test may replace it while the server is still in it.
 *
 * ```c
 * static gboolean
 * answer_echo (QmpTestServer *server, QmpTestServerCommand *command, gpointer user_data)
 * {
 *   g_autoptr(JsonNode) node = NULL;
 *
 *   if (!g_str_equal (qmp_test_server_command_get_name (command), "echo"))
 *     return FALSE;
 *   node = json_node_init_object (json_node_alloc (), qmp_test_server_command_get_arguments (command));
 *   qmp_test_server_command_reply (command, node);
 *   return TRUE;
 * }
 *
 * qmp_test_server_set_command_func (server, answer_echo, NULL, NULL);
 * ret = qmp_connection_execute_sync (connection, "echo", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * ```
 *
 * Since: 1.0
 */
void
qmp_test_server_set_command_func (QmpTestServer            *self,
                                  QmpTestServerCommandFunc  func,
                                  gpointer                  user_data,
                                  GDestroyNotify            destroy)
{
  ServerFunc *command;
  g_autoptr(ServerFunc) old = NULL;

  g_return_if_fail (QMP_IS_TEST_SERVER (self));

  command = server_func_new (G_CALLBACK (func), user_data, destroy);
  g_mutex_lock (&self->lock);
  old = g_steal_pointer (&self->command);
  self->command = command;
  g_mutex_unlock (&self->lock);
}
