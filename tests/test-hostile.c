/* test-hostile.c: a peer that sends members of the wrong type
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every value read from the wire is the peer's to choose.  For every member
 * of peer data that the library reads (the greeting, replies, events, the
 * guest agent's set-up replies, the typed commands' replies and the events
 * they wait for), a server sends each kind of wrong value: a
 * string, numbers (negative, huge, beyond 64 bits, fractional, infinite), a
 * boolean, null, objects and arrays.  The outcome must be the documented
 * one (QMP_ERROR_PROTOCOL, or the member treated as absent), and never a
 * critical or a warning: both are fatal here, and debug logging (which
 * formats and redacts every line) is on.
 *
 * The server is QmpTestServer (playing QEMU, or a guest agent), sending
 * the hostile lines raw.
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* ---------------------------------------------------------- the values */

typedef enum {
  KIND_STRING = 1 << 0,
  KIND_INT    = 1 << 1,    /* a small integer >= 0 */
  KIND_NEGATIVE = 1 << 2,
  KIND_BIG    = 1 << 3,    /* an integer beyond 32 bits, a plausible time */
  KIND_HUGE   = 1 << 9,    /* an integer beyond what any member means */
  KIND_DOUBLE = 1 << 4,
  KIND_BOOL   = 1 << 5,
  KIND_NULL   = 1 << 6,
  KIND_OBJECT = 1 << 7,
  KIND_ARRAY  = 1 << 8,
} Kind;

typedef struct
{
  const char *name;   /* in the test path */
  const char *json;
  Kind kind;
} Value;

static const Value values[] = {
  { "string", "\"x\"", KIND_STRING },
  { "empty-string", "\"\"", KIND_STRING },
  { "int", "42", KIND_INT },
  { "zero", "0", KIND_INT },
  { "negative", "-1", KIND_NEGATIVE },
  { "int64-min", "-9223372036854775808", KIND_NEGATIVE },
  { "below-int64", "-9223372036854775809", KIND_NEGATIVE },
  { "uint-max-plus-1", "4294967296", KIND_BIG },
  { "year-10000", "253402300800", KIND_HUGE },
  { "int64-max", "9223372036854775807", KIND_HUGE },
  { "uint64-max", "18446744073709551615", KIND_HUGE },
  { "beyond-uint64", "99999999999999999999999", KIND_HUGE },
  { "double", "1.5", KIND_DOUBLE },
  { "infinite", "1e400", KIND_DOUBLE },
  { "true", "true", KIND_BOOL },
  { "false", "false", KIND_BOOL },
  { "null", "null", KIND_NULL },
  { "empty-object", "{}", KIND_OBJECT },
  { "object", "{\"x\": \"y\"}", KIND_OBJECT },
  { "empty-array", "[]", KIND_ARRAY },
  { "array", "[\"x\", 1, {}]", KIND_ARRAY },
};

/* ------------------------------------------------------------ the members */

typedef enum {
  SITE_GREETING,      /* the line is the greeting */
  SITE_REPLY,         /* the line answers execute ("query-status") */
  SITE_EVENT,         /* the line is an event, waited for as "EV" */
  SITE_GUEST_SYNC,    /* the line answers the guest agent's guest-sync-delimited */
  SITE_GUEST_INFO,    /* the line answers the guest agent's guest-info */
  SITE_QUERY_STATUS,  /* the line answers qmp_connection_query_status_async() */
  SITE_DEVICE_DEL,    /* the line is an event while device_del "d0" waits */
  SITE_STOP,          /* the line answers qmp_connection_stop_async() */
} Site;

typedef enum {
  OUTCOME_PROTOCOL,        /* the call (or construction) fails with QMP_ERROR_PROTOCOL */
  OUTCOME_NO_PACKAGE,      /* connects; the package is "" */
  OUTCOME_CAPS_OOB,        /* connects; the capabilities are ["oob"] */
  OUTCOME_DROPPED,         /* the reply is dropped; the real one still answers */
  OUTCOME_RETURNED,        /* the call returns the value */
  OUTCOME_ERROR,           /* the call fails with the error the server sent */
  OUTCOME_DATA,            /* the event arrives with its data */
  OUTCOME_NO_DATA,         /* the event arrives without data */
  OUTCOME_NO_TIMESTAMP,    /* the event arrives without a timestamp */
  OUTCOME_NOT_MATCHED,     /* the event is not the one waited for */
  OUTCOME_SUCCESS,         /* the typed command succeeds */
} Outcome;

typedef struct
{
  const char *path;       /* the member, as a path in the peer's data */
  Site site;
  const char *line;       /* @V@: the value; @ID@: the command's id */
  Kind own_kinds;         /* values of the member's own type: not run */
  Outcome outcome;        /* for every other value */
} Member;

#define TIMESTAMP "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}"
#define QEMU_VERSION "{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": \"p\"}"

static const Member members[] = {
  /* The greeting */
  { "QMP", SITE_GREETING, "{\"QMP\": @V@}", 0, OUTCOME_PROTOCOL },
  { "QMP.version", SITE_GREETING, "{\"QMP\": {\"version\": @V@, \"capabilities\": []}}",
    0, OUTCOME_PROTOCOL },
  { "QMP.version.qemu", SITE_GREETING,
    "{\"QMP\": {\"version\": {\"qemu\": @V@, \"package\": \"\"}, \"capabilities\": []}}",
    0, OUTCOME_PROTOCOL },
  { "QMP.version.qemu.major", SITE_GREETING,
    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": @V@, \"minor\": 2, \"micro\": 0}}, \"capabilities\": []}}",
    KIND_INT, OUTCOME_PROTOCOL },
  { "QMP.version.qemu.minor", SITE_GREETING,
    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": @V@, \"micro\": 0}}, \"capabilities\": []}}",
    KIND_INT, OUTCOME_PROTOCOL },
  { "QMP.version.qemu.micro", SITE_GREETING,
    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": @V@}}, \"capabilities\": []}}",
    KIND_INT, OUTCOME_PROTOCOL },
  { "QMP.version.package", SITE_GREETING,
    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": @V@}, "
    "\"capabilities\": [\"oob\"]}}",
    KIND_STRING, OUTCOME_NO_PACKAGE },
  { "QMP.capabilities", SITE_GREETING,
    "{\"QMP\": {\"version\": " QEMU_VERSION ", \"capabilities\": @V@}}",
    KIND_ARRAY, OUTCOME_PROTOCOL },
  { "QMP.capabilities[]", SITE_GREETING,
    "{\"QMP\": {\"version\": " QEMU_VERSION ", \"capabilities\": [@V@, \"oob\"]}}",
    KIND_STRING, OUTCOME_CAPS_OOB },

  /* Replies */
  { "id", SITE_REPLY, "{\"return\": {}, \"id\": @V@}", 0, OUTCOME_DROPPED },
  { "error", SITE_REPLY, "{\"error\": @V@, \"id\": @ID@}", 0, OUTCOME_PROTOCOL },
  { "error.class", SITE_REPLY, "{\"error\": {\"class\": @V@, \"desc\": \"d\"}, \"id\": @ID@}",
    KIND_STRING, OUTCOME_PROTOCOL },
  { "error.desc", SITE_REPLY, "{\"error\": {\"class\": \"GenericError\", \"desc\": @V@}, \"id\": @ID@}",
    KIND_STRING, OUTCOME_PROTOCOL },
  { "return", SITE_REPLY, "{\"return\": @V@, \"id\": @ID@}", 0, OUTCOME_RETURNED },
  /* What the debug log's redaction reads: "qom-type", "props", secrets */
  { "return.qom-type", SITE_REPLY,
    "{\"return\": {\"qom-type\": @V@, \"props\": {\"data\": \"d\"}, \"data\": \"d\"}, \"id\": @ID@}",
    0, OUTCOME_RETURNED },
  { "return[].props", SITE_REPLY,
    "{\"return\": [{\"qom-type\": \"secret\", \"props\": @V@, \"data\": @V@}], \"id\": @ID@}",
    0, OUTCOME_RETURNED },
  { "return.password", SITE_REPLY, "{\"return\": {\"password\": @V@, \"x\": [@V@]}, \"id\": @ID@}",
    0, OUTCOME_RETURNED },

  { "error.qom-type", SITE_REPLY,
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"d\", \"qom-type\": @V@}, \"x\": {\"qom-type\": @V@}, \"id\": @ID@}",
    0, OUTCOME_ERROR },

  /* Events */
  { "event", SITE_EVENT, "{\"event\": @V@, " TIMESTAMP "}", KIND_STRING, OUTCOME_PROTOCOL },
  { "data", SITE_EVENT, "{\"event\": \"EV\", \"data\": @V@, " TIMESTAMP "}",
    KIND_OBJECT, OUTCOME_NO_DATA },
  { "data.qom-type", SITE_EVENT,
    "{\"event\": \"EV\", \"data\": {\"qom-type\": @V@, \"props\": @V@}, " TIMESTAMP "}",
    0, OUTCOME_DATA },
  { "timestamp", SITE_EVENT, "{\"event\": \"EV\", \"timestamp\": @V@}", 0, OUTCOME_NO_TIMESTAMP },
  { "timestamp.seconds", SITE_EVENT,
    "{\"event\": \"EV\", \"timestamp\": {\"seconds\": @V@, \"microseconds\": 2}}",
    KIND_INT | KIND_BIG, OUTCOME_NO_TIMESTAMP },
  { "timestamp.microseconds", SITE_EVENT,
    "{\"event\": \"EV\", \"timestamp\": {\"seconds\": 1, \"microseconds\": @V@}}",
    KIND_INT, OUTCOME_NO_TIMESTAMP },

  /* The guest agent's set-up */
  { "guest-sync-delimited.return", SITE_GUEST_SYNC, "{\"return\": @V@, \"id\": @ID@}",
    0, OUTCOME_PROTOCOL },
  { "guest-info.return", SITE_GUEST_INFO, "{\"return\": @V@, \"id\": @ID@}", 0, OUTCOME_PROTOCOL },
  { "guest-info.return.version", SITE_GUEST_INFO,
    "{\"return\": {\"version\": @V@, \"supported_commands\": []}, \"id\": @ID@}",
    0, OUTCOME_PROTOCOL },

  /* The typed commands */
  { "query-status.return", SITE_QUERY_STATUS, "{\"return\": @V@, \"id\": @ID@}", 0, OUTCOME_PROTOCOL },
  { "query-status.return.status", SITE_QUERY_STATUS,
    "{\"return\": {\"status\": @V@, \"running\": true}, \"id\": @ID@}", KIND_STRING, OUTCOME_PROTOCOL },
  { "query-status.return.running", SITE_QUERY_STATUS,
    "{\"return\": {\"status\": \"running\", \"running\": @V@}, \"id\": @ID@}", KIND_BOOL, OUTCOME_PROTOCOL },
  { "DEVICE_DELETED.data", SITE_DEVICE_DEL,
    "{\"event\": \"DEVICE_DELETED\", \"data\": @V@, " TIMESTAMP "}", 0, OUTCOME_NOT_MATCHED },
  { "DEVICE_DELETED.data.device", SITE_DEVICE_DEL,
    "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": @V@, \"path\": @V@}, " TIMESTAMP "}",
    0, OUTCOME_NOT_MATCHED },
  { "DEVICE_UNPLUG_GUEST_ERROR.data", SITE_DEVICE_DEL,
    "{\"event\": \"DEVICE_UNPLUG_GUEST_ERROR\", \"data\": @V@, " TIMESTAMP "}", 0, OUTCOME_NOT_MATCHED },
  { "DEVICE_UNPLUG_GUEST_ERROR.data.device", SITE_DEVICE_DEL,
    "{\"event\": \"DEVICE_UNPLUG_GUEST_ERROR\", \"data\": {\"device\": @V@}, " TIMESTAMP "}",
    0, OUTCOME_NOT_MATCHED },
  { "stop.return", SITE_STOP, "{\"return\": @V@, \"id\": @ID@}", 0, OUTCOME_SUCCESS },
};

/* Strings that are not a version, for guest-info's "version". */
static const Value bad_versions[] = {
  { "no-minor", "\"7\"", KIND_STRING },
  { "words", "\"seven.two\"", KIND_STRING },
  { "negative", "\"-1.2.3\"", KIND_STRING },
  { "signed", "\"+7.2.0\"", KIND_STRING },
  { "major-overflow", "\"4294967296.2.0\"", KIND_STRING },
  { "minor-overflow", "\"7.99999999999999999999.0\"", KIND_STRING },
  { "micro-overflow", "\"7.2.18446744073709551616\"", KIND_STRING },
};

typedef struct
{
  const Member *member;
  const Value *value;
} Case;

/* ------------------------------------------------------------- helpers */

static gint n_debug_messages;

/* The client's debug lines: the test server's, in the same process and
 * domain, do not count. */
static void
count_log_cb (const char     *log_domain,
              GLogLevelFlags  log_level,
              const char     *message,
              gpointer        user_data)
{
  if (!g_str_has_prefix (message, "server: "))
    g_atomic_int_inc (&n_debug_messages);
}

/* @template with "@V@" replaced by @value and "@ID@" by @id. */
static char *
expand (const char *template,
        const char *value,
        gint64      id)
{
  g_auto(GStrv) parts = g_strsplit (template, "@V@", -1);
  g_autofree char *with_value = g_strjoinv (value, parts);
  g_auto(GStrv) id_parts = g_strsplit (with_value, "@ID@", -1);
  g_autofree char *id_string = g_strdup_printf ("%" G_GINT64_FORMAT, id);

  return g_strjoinv (id_string, id_parts);
}

/* A test server that holds the commands for the test, and its client */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
  QmpConnection *connection;
} Peer;

static void
peer_clear (Peer *peer)
{
  g_clear_object (&peer->connection);
  g_clear_pointer (&peer->held, qmp_test_held_free);
  g_clear_object (&peer->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Peer, peer_clear)

static void
peer_init (Peer *peer)
{
  g_autoptr(GError) error = NULL;

  peer->server = qmp_test_server_new ();
  peer->held = qmp_test_held_new (peer->server);
  peer->connection = qmp_test_server_new_connection_sync (peer->server, QMP_CONNECTION_FLAGS_NONE,
                                                          NULL, &error);
  g_assert_no_error (error);
}

/* The library's ids are integers */
static gint64
held_command_id (QmpTestServerCommand *command)
{
  JsonNode *id = qmp_test_server_command_get_id (command);

  g_assert_nonnull (id);
  g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_INT64);
  return json_node_get_int (id);
}

/* @line and its line end, byte for byte */
static void
peer_send_line (Peer       *peer,
                const char *line)
{
  g_autofree char *with_end = g_strconcat (line, "\r\n", NULL);

  g_test_message ("server: %s", line);
  qmp_test_server_send_raw (peer->server, (const guint8 *) with_end, strlen (with_end));
}

static void
peer_send_expanded (Peer       *peer,
                    const char *template,
                    const char *value,
                    gint64      id)
{
  g_autofree char *line = expand (template, value, id);

  peer_send_line (peer, line);
}

static void
reply_json (QmpTestServerCommand *command,
            const char           *return_json)
{
  g_autoptr(JsonNode) ret = json_from_string (return_json, NULL);

  g_assert_nonnull (ret);
  qmp_test_server_command_reply (command, ret);
}

/* A test server playing a guest agent, whose commands the test answers */
static void
peer_init_guest_agent (Peer *peer)
{
  peer->server = qmp_test_server_new ();
  qmp_test_server_set_guest_agent (peer->server, TRUE);
  peer->held = qmp_test_held_new (peer->server);
}

/* Starts a guest-agent construction and answers its guest-sync-delimited
 * with the delimiter and @template (NULL: the right token). */
static void
guest_agent_sync (Peer          *peer,
                  GAsyncResult **slot,
                  const char    *template,
                  const char    *value)
{
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  peer_init_guest_agent (peer);
  stream = qmp_test_server_new_stream (peer->server, &error);
  g_assert_no_error (error);
  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_GUEST_AGENT, NULL, qmp_test_store_result, slot);
  command = qmp_test_held_next (peer->held, "guest-sync-delimited");
  qmp_test_server_send_raw (peer->server, (const guint8 *) "\xff", 1);
  if (template != NULL)
    {
      peer_send_expanded (peer, template, value, held_command_id (command));
      return;
    }

  token = g_strdup_printf ("%" G_GINT64_FORMAT,
                           json_object_get_int_member (qmp_test_server_command_get_arguments (command), "id"));
  peer_send_expanded (peer, "{\"return\": @V@, \"id\": @ID@}", token, held_command_id (command));
}

/* guest-info, after the attempts at synchronising sent again before the
 * answer to the first was read (a slow machine): those are abandoned. */
static QmpTestServerCommand *
next_guest_info (Peer *peer)
{
  QmpTestServerCommand *command = qmp_test_held_next (peer->held, NULL);

  while (g_str_equal (qmp_test_server_command_get_name (command), "guest-sync-delimited"))
    {
      g_object_unref (command);
      command = qmp_test_held_next (peer->held, NULL);
    }
  g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "guest-info");
  return command;
}

static void
assert_protocol_error (const GError *error)
{
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_test_message ("error: %s", error->message);
}

/* --------------------------------------------------------------- sites */

static void
run_greeting (const Member *member,
              const Value  *value)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = expand (member->line, value->json, 0);
  GAsyncResult *slot = NULL;

  g_test_message ("server: %s", greeting);
  qmp_test_server_set_raw_greeting (server, greeting);
  stream = qmp_test_server_new_stream (server, &error);
  g_assert_no_error (error);
  qmp_connection_new_async (stream, QMP_CONNECTION_FLAGS_NONE, NULL, qmp_test_store_result, &slot);

  if (member->outcome == OUTCOME_PROTOCOL)
    {
      result = qmp_test_wait_result (&slot);
      connection = qmp_connection_new_finish (result, &error);
      g_assert_null (connection);
      assert_protocol_error (error);
      return;
    }

  /* The server answers qmp_capabilities itself */
  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, 7);
  {
    g_autoptr(QmpTestServerCommand) command = qmp_test_server_next_command_sync (server, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "qmp_capabilities");
  }

  switch (member->outcome)
    {
    case OUTCOME_NO_PACKAGE:
      g_assert_cmpstr (qmp_connection_get_package (connection), ==, "");
      g_assert_cmpstrv (qmp_connection_get_capabilities (connection), ((const char *[]) { "oob", NULL }));
      break;
    case OUTCOME_CAPS_OOB:
      g_assert_cmpstrv (qmp_connection_get_capabilities (connection), ((const char *[]) { "oob", NULL }));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
run_reply (const Member *member,
           const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  peer_init (&peer);
  connection = peer.connection;
  qmp_connection_execute_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL,
                                qmp_test_store_result, &slot);
  command = qmp_test_held_next (peer.held, "query-status");
  peer_send_expanded (&peer, member->line, value->json, held_command_id (command));

  switch (member->outcome)
    {
    case OUTCOME_PROTOCOL:
      result = qmp_test_wait_result (&slot);
      ret = qmp_connection_execute_finish (connection, result, &error);
      g_assert_null (ret);
      assert_protocol_error (error);
      g_assert_true (qmp_connection_is_closed (connection));
      break;

    case OUTCOME_ERROR:
      result = qmp_test_wait_result (&slot);
      ret = qmp_connection_execute_finish (connection, result, &error);
      g_assert_null (ret);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
      g_assert_cmpstr (error->message, ==, "d");
      g_assert_false (qmp_connection_is_closed (connection));
      break;

    case OUTCOME_DROPPED:
      /* Not an id this library sent: the call still waits for its own. */
      reply_json (command, "{\"own\": true}");
      result = qmp_test_wait_result (&slot);
      ret = qmp_connection_execute_finish (connection, result, &error);
      g_assert_no_error (error);
      g_assert_nonnull (ret);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (ret));
      g_assert_true (json_object_has_member (json_node_get_object (ret), "own"));
      g_assert_false (qmp_connection_is_closed (connection));
      break;

    case OUTCOME_RETURNED:
      {
        g_autofree char *template_ret = expand (member->line, value->json, held_command_id (command));
        g_autoptr(JsonNode) sent = json_from_string (template_ret, NULL);
        JsonNode *sent_ret;

        result = qmp_test_wait_result (&slot);
        ret = qmp_connection_execute_finish (connection, result, &error);
        g_assert_no_error (error);
        g_assert_nonnull (ret);
        g_assert_nonnull (sent);
        sent_ret = json_object_get_member (json_node_get_object (sent), "return");
        g_assert_cmpint (JSON_NODE_TYPE (ret), ==, JSON_NODE_TYPE (sent_ret));
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
run_event (const Member *member,
           const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  peer_init (&peer);
  connection = peer.connection;
  qmp_connection_wait_event_async (connection, "EV", NULL, NULL, qmp_test_store_result, &slot);
  peer_send_expanded (&peer, member->line, value->json, 0);
  result = qmp_test_wait_result (&slot);
  event = qmp_connection_wait_event_finish (connection, result, &error);

  switch (member->outcome)
    {
    case OUTCOME_PROTOCOL:
      g_assert_null (event);
      assert_protocol_error (error);
      g_assert_true (qmp_connection_is_closed (connection));
      break;

    case OUTCOME_NO_DATA:
      g_assert_no_error (error);
      g_assert_nonnull (event);
      g_assert_cmpstr (qmp_event_get_name (event), ==, "EV");
      g_assert_null (qmp_event_get_data (event));
      g_assert_nonnull (qmp_event_get_timestamp (event));
      break;

    case OUTCOME_DATA:
      g_assert_no_error (error);
      g_assert_nonnull (event);
      g_assert_nonnull (qmp_event_get_data (event));
      g_assert_true (json_object_has_member (qmp_event_get_data (event), "qom-type"));
      break;

    case OUTCOME_NO_TIMESTAMP:
      g_assert_no_error (error);
      g_assert_nonnull (event);
      g_assert_cmpstr (qmp_event_get_name (event), ==, "EV");
      g_assert_null (qmp_event_get_timestamp (event));
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
run_guest_agent (const Member *member,
                 const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  g_assert_cmpint (member->outcome, ==, OUTCOME_PROTOCOL);

  if (member->site == SITE_GUEST_SYNC)
    {
      guest_agent_sync (&peer, &slot, member->line, value->json);
    }
  else
    {
      g_autoptr(QmpTestServerCommand) command = NULL;

      guest_agent_sync (&peer, &slot, NULL, NULL);
      command = next_guest_info (&peer);
      peer_send_expanded (&peer, member->line, value->json, held_command_id (command));
    }

  result = qmp_test_wait_result (&slot);
  connection = qmp_connection_new_finish (result, &error);
  g_assert_null (connection);
  assert_protocol_error (error);
}

static void
run_query_status (const Member *member,
                  const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  gboolean running = TRUE;
  QmpConnection *connection;

  peer_init (&peer);
  connection = peer.connection;
  g_assert_cmpint (member->outcome, ==, OUTCOME_PROTOCOL);

  qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (peer.held, "query-status");
  peer_send_expanded (&peer, member->line, value->json, held_command_id (command));
  result = qmp_test_wait_result (&slot);
  g_assert_cmpint (qmp_connection_query_status_finish (connection, result, &running, &error),
                   ==, QMP_RUN_STATE_UNKNOWN);
  assert_protocol_error (error);
  g_assert_false (running);
}

static void
run_device_del (const Member *member,
                const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  peer_init (&peer);
  connection = peer.connection;
  g_assert_cmpint (member->outcome, ==, OUTCOME_NOT_MATCHED);

  qmp_connection_device_del_async (connection, "d0", NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (peer.held, "device_del");
  reply_json (command, "{}");
  peer_send_expanded (&peer, member->line, value->json, 0);
  /* Only this one is about "d0": the call finishes on it, with success. */
  peer_send_line (&peer, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"DEVICE_DELETED\", "
                         "\"data\": {\"device\": \"d0\", \"path\": \"/d0\"}}");
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_device_del_finish (connection, result, &error));
  g_assert_no_error (error);
}

static void
run_stop (const Member *member,
          const Value  *value)
{
  g_auto(Peer) peer = { NULL, };
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  QmpConnection *connection;

  peer_init (&peer);
  connection = peer.connection;
  g_assert_cmpint (member->outcome, ==, OUTCOME_SUCCESS);

  /* What "stop" returns means nothing to the library. */
  qmp_connection_stop_async (connection, NULL, qmp_test_store_result, &slot);
  command = qmp_test_held_next (peer.held, "stop");
  peer_send_expanded (&peer, member->line, value->json, held_command_id (command));
  result = qmp_test_wait_result (&slot);
  g_assert_true (qmp_connection_stop_finish (connection, result, &error));
  g_assert_no_error (error);
}

static void
test_member (gconstpointer data)
{
  const Case *c = data;
  gint n_before = g_atomic_int_get (&n_debug_messages);

  switch (c->member->site)
    {
    case SITE_GREETING:
      run_greeting (c->member, c->value);
      break;
    case SITE_REPLY:
      run_reply (c->member, c->value);
      break;
    case SITE_EVENT:
      run_event (c->member, c->value);
      break;
    case SITE_GUEST_SYNC:
    case SITE_GUEST_INFO:
      run_guest_agent (c->member, c->value);
      break;
    case SITE_QUERY_STATUS:
      run_query_status (c->member, c->value);
      break;
    case SITE_DEVICE_DEL:
      run_device_del (c->member, c->value);
      break;
    case SITE_STOP:
      run_stop (c->member, c->value);
      break;
    default:
      g_assert_not_reached ();
    }

  /* The hostile line went through the debug log's formatting too. */
  g_assert_cmpint (g_atomic_int_get (&n_debug_messages), >, n_before);
}

/* --------------------------------------------- values of the right type */

/* A state this version does not know is QMP_RUN_STATE_OTHER, not an
 * error (UNKNOWN is for errors only); a reply without "running" is
 * malformed. */
static void
test_query_status_shapes (void)
{
  static const struct {
    const char *ret;
    QmpRunState state;
    gboolean running;
    gboolean protocol_error;
  } cases[] = {
    { "{\"status\": \"running\", \"running\": true, \"singlestep\": false}", QMP_RUN_STATE_RUNNING, TRUE, FALSE },
    { "{\"status\": \"paused\", \"running\": false}", QMP_RUN_STATE_PAUSED, FALSE, FALSE },
    { "{\"status\": \"future-state\", \"running\": true}", QMP_RUN_STATE_OTHER, TRUE, FALSE },
    { "{\"status\": \"\", \"running\": false}", QMP_RUN_STATE_OTHER, FALSE, FALSE },
    { "{\"status\": \"unknown\", \"running\": false}", QMP_RUN_STATE_OTHER, FALSE, FALSE },
    { "{\"status\": \"other\", \"running\": false}", QMP_RUN_STATE_OTHER, FALSE, FALSE },
    { "{\"status\": \"running\"}", QMP_RUN_STATE_UNKNOWN, FALSE, TRUE },
    { "{\"running\": true}", QMP_RUN_STATE_UNKNOWN, FALSE, TRUE },
  };
  g_auto(Peer) peer = { NULL, };

  peer_init (&peer);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      GAsyncResult *slot = NULL;
      gboolean running = !cases[i].running;
      QmpConnection *connection = peer.connection;

      qmp_connection_query_status_async (connection, NULL, qmp_test_store_result, &slot);
      command = qmp_test_held_next (peer.held, "query-status");
      reply_json (command, cases[i].ret);
      result = qmp_test_wait_result (&slot);
      g_assert_cmpint (qmp_connection_query_status_finish (connection, result, &running, &error),
                       ==, cases[i].state);
      if (cases[i].protocol_error)
        assert_protocol_error (error);
      else
        g_assert_no_error (error);
      g_assert_cmpint (running, ==, cases[i].running);
    }
}

/* guest-info's "version" is MAJOR.MINOR[.MICRO] with anything after it. */
static void
test_guest_version_shapes (void)
{
  static const struct {
    const char *version;
    guint major, minor, micro;
  } cases[] = {
    { "7.2.22", 7, 2, 22 },
    { "10.0", 10, 0, 0 },
    { "4294967295.0.1-rc1", G_MAXUINT, 0, 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Peer) peer = { NULL, };
      g_autoptr(QmpConnection) connection = NULL;
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *version = g_strdup_printf ("\"%s\"", cases[i].version);
      GAsyncResult *slot = NULL;

      guest_agent_sync (&peer, &slot, NULL, NULL);
      command = next_guest_info (&peer);
      peer_send_expanded (&peer, "{\"return\": {\"version\": @V@}, \"id\": @ID@}", version,
                          held_command_id (command));
      result = qmp_test_wait_result (&slot);
      connection = qmp_connection_new_finish (result, &error);
      g_assert_no_error (error);
      g_assert_nonnull (connection);
      g_assert_cmpuint (qmp_connection_get_version_major (connection), ==, cases[i].major);
      g_assert_cmpuint (qmp_connection_get_version_minor (connection), ==, cases[i].minor);
      g_assert_cmpuint (qmp_connection_get_version_micro (connection), ==, cases[i].micro);
    }
}

/* A timestamp out of GDateTime's range is no timestamp. */
static void
test_event_timestamp_range (void)
{
  static const struct {
    gint64 seconds;
    gint64 microseconds;
    gboolean valid;
  } cases[] = {
    { 1795618319, 436019, TRUE },
    { 0, 0, TRUE },
    { 253402300799, 999999, TRUE },     /* the last microsecond of 9999 */
    { 253402300800, 0, FALSE },         /* year 10000 */
    { G_MAXINT64 / G_USEC_PER_SEC, 0, FALSE },
    { G_MAXINT64, G_MAXINT64, FALSE },
    { 1, G_USEC_PER_SEC, FALSE },
    { -1, -1, FALSE },
    { -1, 0, FALSE },
    { G_MININT64, 0, FALSE },
  };
  g_auto(Peer) peer = { NULL, };

  peer_init (&peer);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(QmpEvent) event = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *line = NULL;
      GAsyncResult *slot = NULL;
      GDateTime *timestamp;
      QmpConnection *connection = peer.connection;

      /* Timestamps no GDateTime can hold: a raw line */
      line = g_strdup_printf ("{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT ", \"microseconds\": %"
                              G_GINT64_FORMAT "}, \"event\": \"EV\"}", cases[i].seconds, cases[i].microseconds);
      qmp_connection_wait_event_async (connection, "EV", NULL, NULL, qmp_test_store_result, &slot);
      peer_send_line (&peer, line);
      result = qmp_test_wait_result (&slot);
      event = qmp_connection_wait_event_finish (connection, result, &error);
      g_assert_no_error (error);
      g_assert_nonnull (event);
      timestamp = qmp_event_get_timestamp (event);
      if (!cases[i].valid)
        {
          g_assert_null (timestamp);
          continue;
        }
      g_assert_nonnull (timestamp);
      g_assert_cmpint (g_date_time_to_unix (timestamp), ==, cases[i].seconds);
      g_assert_cmpint (g_date_time_get_microsecond (timestamp), ==, cases[i].microseconds);
    }
}

/* ----------------------------------------------------------------- main */

static void
add_case (const Member *member,
          const Value  *value,
          const char   *prefix)
{
  static const char * const site_names[] = {
    [SITE_GREETING] = "greeting",
    [SITE_REPLY] = "reply",
    [SITE_EVENT] = "event",
    [SITE_GUEST_SYNC] = "guest-agent",
    [SITE_GUEST_INFO] = "guest-agent",
    [SITE_QUERY_STATUS] = "query-status",
    [SITE_DEVICE_DEL] = "device-del",
    [SITE_STOP] = "stop",
  };
  g_autofree char *path = g_strdup_printf ("/hostile/%s/%s/%s%s", site_names[member->site],
                                           member->path, prefix, value->name);
  Case *c = g_new0 (Case, 1);

  c->member = member;
  c->value = value;
  g_test_add_data_func_full (path, c, test_member, g_free);
}

int
main (int    argc,
      char **argv)
{
  /* Before anything logs: the debug log formats and redacts every line,
   * and that must hold against hostile lines too. */
  g_setenv ("G_MESSAGES_DEBUG", "Qmp", TRUE);

  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_handler ("Qmp", G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, count_log_cb, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      for (guint j = 0; j < G_N_ELEMENTS (values); j++)
        if ((values[j].kind & members[i].own_kinds) == 0)
          add_case (&members[i], &values[j], "");

      if (g_str_equal (members[i].path, "guest-info.return.version"))
        for (guint j = 0; j < G_N_ELEMENTS (bad_versions); j++)
          add_case (&members[i], &bad_versions[j], "version-");
    }

  g_test_add_func ("/hostile/query-status/shapes", test_query_status_shapes);
  g_test_add_func ("/hostile/guest-agent/version-shapes", test_guest_version_shapes);
  g_test_add_func ("/hostile/event/timestamp-range", test_event_timestamp_range);

  return g_test_run ();
}
