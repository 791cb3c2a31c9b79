/* test-proxy.c: QmpProxy in front of a real QEMU
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The proxy and its upstream connection live in a thread of their own
 * that runs their main loop, as an application's main thread would; the
 * test's thread plays the clients, raw lines or QmpConnection, and may
 * block.
 */

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-tls.h"
#include "qmp-test-utils.h"

typedef struct
{
  QmpTestPeer *peer;
  char *dir;
  char *path;                   /* the proxy's socket */
  char *ro_path;                /* its read-only socket */
  GThread *thread;
  GMainContext *context;        /* the proxy's */
  GMainLoop *loop;
  QmpProxy *proxy;              /* owned by the thread */
  GMutex lock;
  GCond cond;
  gboolean ready;
  gboolean closed;              /* the proxy emitted ::closed */
  GThread *proxy_thread;
  GPtrArray *app_events;        /* names the application's own handler saw */
  gboolean app_events_elsewhere; /* one came in another thread */
  gboolean blocked;             /* the proxy's context is held up */
  gboolean release;
} Fixture;

/* The application's own handler of its connection's events */
static void
on_app_event (QmpConnection *upstream,
              QmpEvent      *event,
              gpointer       user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  g_ptr_array_add (f->app_events, g_strdup (qmp_event_get_name (event)));
  if (g_thread_self () != f->proxy_thread)
    f->app_events_elsewhere = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
}

static void
on_proxy_closed (QmpProxy *proxy,
                 gpointer  user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  f->closed = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
}

static gpointer
proxy_thread (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr(QmpConnection) upstream = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (f->context);
  f->proxy_thread = g_thread_self ();

  upstream = qmp_test_peer_connect (f->peer, QMP_CONNECTION_FLAGS_OOB);
  g_signal_connect (upstream, "event", G_CALLBACK (on_app_event), f);
  f->proxy = qmp_proxy_new (upstream);
  g_signal_connect (f->proxy, "closed", G_CALLBACK (on_proxy_closed), f);
  g_assert_true (qmp_proxy_listen_unix (f->proxy, f->path, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_no_error (error);
  g_assert_true (qmp_proxy_listen_unix (f->proxy, f->ro_path, 0, QMP_PROXY_CLIENT_FLAGS_READ_ONLY, &error));
  g_assert_no_error (error);

  g_mutex_lock (&f->lock);
  f->ready = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);

  g_main_loop_run (f->loop);

  /* Closed here, not by the last unref, which a client being accepted on
   * the I/O thread at that moment could make there, later */
  qmp_proxy_close (f->proxy);
  g_clear_object (&f->proxy);
  g_clear_object (&upstream);
  /* What the upstream connection still has to say to this context */
  while (g_main_context_iteration (f->context, FALSE))
    ;
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_assert_nonnull (f->peer);
  f->dir = g_dir_make_tmp ("qmp-proxy-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "proxy.sock", NULL);
  f->ro_path = g_build_filename (f->dir, "proxy-ro.sock", NULL);
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->app_events = g_ptr_array_new_with_free_func (g_free);
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  f->thread = g_thread_new ("proxy", proxy_thread, f);

  g_mutex_lock (&f->lock);
  while (!f->ready)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  /* From inside the loop: a quit before g_main_loop_run() would be lost */
  g_main_context_invoke (f->context, quit_loop, f->loop);
  g_thread_join (f->thread);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
  g_ptr_array_unref (f->app_events);
  /* The proxy removed its sockets */
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->ro_path, G_FILE_TEST_EXISTS));
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->ro_path);
  g_free (f->dir);
  qmp_test_peer_free (f->peer);
}

/* A raw client: lines as they are on the wire */
typedef struct
{
  GSocketConnection *connection;
  GDataInputStream *input;
} Raw;

static Raw *
raw_connect (const char *path)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GError) error = NULL;
  Raw *raw = g_new0 (Raw, 1);

  raw->connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  raw->input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (raw->connection)));
  g_data_input_stream_set_newline_type (raw->input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  return raw;
}

static void
raw_free (Raw *raw)
{
  g_object_unref (raw->input);
  g_io_stream_close (G_IO_STREAM (raw->connection), NULL, NULL);
  g_object_unref (raw->connection);
  g_free (raw);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

static void
raw_send (Raw        *raw,
          const char *line)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (raw->connection)),
                             line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
}

/* The next line as a JSON object, or NULL at the end of the stream */
static JsonObject *
raw_read (Raw *raw)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line (raw->input, NULL, NULL, &error);
  g_autoptr(JsonNode) node = NULL;

  g_assert_no_error (error);
  if (line == NULL)
    return NULL;
  node = json_from_string (line, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* The next line that is not an event */
static JsonObject *
raw_read_reply (Raw *raw)
{
  while (TRUE)
    {
      JsonObject *object = raw_read (raw);

      if (object == NULL || !json_object_has_member (object, "event"))
        return object;
      json_object_unref (object);
    }
}

static void
raw_negotiate (Raw        *raw,
               const char *request)
{
  g_autoptr(JsonObject) greeting = raw_read (raw);
  g_autoptr(JsonObject) reply = NULL;

  g_assert_true (json_object_has_member (greeting, "QMP"));
  raw_send (raw, request);
  reply = raw_read_reply (raw);
  g_assert_true (json_object_has_member (reply, "return"));
}

static char *
id_of (JsonObject *reply)
{
  return json_to_string (json_object_get_member (reply, "id"), FALSE);
}

/* QEMU's greeting; each client negotiates by itself and gets its own ids
 * back; errors as QEMU sent them; exec-oob passes through. */
static void
test_protocol (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Raw) raw = raw_connect (f->path);
  g_autoptr(JsonObject) greeting = raw_read (raw);
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *id = NULL;
  JsonObject *qmp = json_object_get_object_member (greeting, "QMP");
  JsonObject *qemu = json_object_get_object_member (json_object_get_object_member (qmp, "version"), "qemu");
  JsonArray *capabilities = json_object_get_array_member (qmp, "capabilities");
  g_autoptr(QmpConnection) direct = NULL;

  /* The greeting is QEMU's: the same as the upstream connection saw */
  direct = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, NULL);
  g_assert_nonnull (direct);
  g_assert_cmpint (json_object_get_int_member (qemu, "major"), ==, qmp_connection_get_version_major (direct));
  g_assert_cmpint (json_object_get_int_member (qemu, "minor"), ==, qmp_connection_get_version_minor (direct));
  g_assert_cmpuint (json_array_get_length (capabilities), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (capabilities, 0), ==, "oob");

  /* Before negotiation, as QEMU */
  raw_send (raw, "{\"execute\": \"query-status\", \"id\": \"early\"}\n");
  reply = raw_read_reply (raw);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "class"),
                   ==, "CommandNotFound");
  g_clear_pointer (&reply, json_object_unref);

  raw_send (raw, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}\n");
  reply = raw_read_reply (raw);
  g_assert_true (json_object_has_member (reply, "return"));
  g_clear_pointer (&reply, json_object_unref);

  /* Its own ids, whatever they are */
  raw_send (raw, "{\"execute\": \"query-status\", \"id\": {\"mine\": [1, \"a\"]}}\n");
  reply = raw_read_reply (raw);
  id = id_of (reply);
  g_assert_cmpstr (id, ==, "{\"mine\":[1,\"a\"]}");
  g_assert_true (json_object_has_member (json_object_get_object_member (reply, "return"), "status"));
  g_clear_pointer (&reply, json_object_unref);
  g_clear_pointer (&id, g_free);

  /* QEMU's errors, class and text */
  raw_send (raw, "{\"execute\": \"no-such-command\", \"id\": 7}\n");
  reply = raw_read_reply (raw);
  id = id_of (reply);
  g_assert_cmpstr (id, ==, "7");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "class"),
                   ==, "CommandNotFound");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "desc"),
                   ==, "The command no-such-command has not been found");
  g_clear_pointer (&reply, json_object_unref);

  /* exec-oob reaches QEMU as exec-oob: QEMU refuses it for a command
   * that does not allow it, in its own words */
  raw_send (raw, "{\"exec-oob\": \"query-status\", \"id\": 8}\n");
  reply = raw_read_reply (raw);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "desc"),
                   ==, "The command query-status does not support OOB");
}

/* The next line that is not an event, as text without its line end */
static char *
raw_read_reply_text (Raw *raw)
{
  while (TRUE)
    {
      g_autoptr(GError) error = NULL;
      char *line = g_data_input_stream_read_line (raw->input, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (strstr (line, "\"event\"") == NULL)
        return line;
      g_free (line);
    }
}

/* Ids of every JSON type, written as no JSON writer would write them, come
 * back byte for byte as the client wrote them */
static void
test_ids (Fixture       *f,
          gconstpointer  data)
{
  static const char * const ids[] = {
    "7", "-0", "0", "-9223372036854775808", "18446744073709551616", "1.50", "1E+3", "-2.5e-7",
    "\"plain\"", "\"\"", "\"a\\u00e9\\\"b\\\\c\\/d\\n\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00\"",
    "true", "false", "null", "[]", "{}", "[ 1 ,\t{\"a\" : [null, \"x\"]} ]",
    "{\"n\\u0061me\": {\"deep\": [[[{}]]]}, \"k\":-1}",
  };
  g_autoptr(Raw) raw = raw_connect (f->path);

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      /* The id before and after the command, and with an error */
      const char *forms[][2] = {
        { "{\"id\": ", ", \"execute\": \"query-status\"}\n" },
        { "{\"execute\": \"query-status\", \"id\":", "}\n" },
        { "{\"execute\": \"no-such-command\", \"id\":  ", "  }\n" },
      };

      for (guint j = 0; j < G_N_ELEMENTS (forms); j++)
        {
          g_autofree char *line = g_strconcat (forms[j][0], ids[i], forms[j][1], NULL);
          g_autofree char *tail = g_strdup_printf (", \"id\": %s}", ids[i]);
          g_autofree char *reply = NULL;

          raw_send (raw, line);
          reply = raw_read_reply_text (raw);
          g_test_message ("%s → %s", line, reply);
          g_assert_true (g_str_has_suffix (reply, tail));
          g_assert_true (g_str_has_prefix (reply, j < 2 ? "{\"return\": {" : "{\"error\": {"));
        }
    }
}

/* Arguments with escapes, non-ASCII text and nesting reach QEMU as they
 * mean: QEMU's HMP echoes the command line it got, and qom-list finds the
 * path spelled with escapes */
static void
test_arguments_text (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Raw) raw = raw_connect (f->path);
  g_autoptr(JsonObject) reply = NULL;
  const char *ret;

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  /* "zz é😀 \"q\" \\ tab\t" written with escapes and raw UTF-8 */
  raw_send (raw, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                 "{ \"command-line\" :\"zz \xc3\xa9\\ud83d\\ude00 \\\"q\\\" \\\\ t\\u0061b\\t\" }, \"id\": 1}\n");
  reply = raw_read_reply (raw);
  ret = json_object_get_string_member (reply, "return");
  g_assert_nonnull (ret);
  g_assert_nonnull (strstr (ret, "zz"));
  /* QEMU's HMP reports the command it does not know by its first word */
  g_clear_pointer (&reply, json_object_unref);

  raw_send (raw, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                 "{\"command-line\": \"echo-\xc3\xa9\\ud83d\\ude00\\\"x\"}, \"id\": 2}\n");
  reply = raw_read_reply (raw);
  ret = json_object_get_string_member (reply, "return");
  g_assert_nonnull (ret);
  g_assert_nonnull (strstr (ret, "echo-\xc3\xa9\xf0\x9f\x98\x80\"x"));
  g_clear_pointer (&reply, json_object_unref);

  raw_send (raw, "{\"execute\": \"qom-list\", \"arguments\": {\"p\\u0061th\": \"\\/m\\u0061chine\"}, \"id\": 3}\n");
  reply = raw_read_reply (raw);
  g_assert_nonnull (json_object_get_array_member (reply, "return"));
  g_clear_pointer (&reply, json_object_unref);

  /* Nested arguments of the wrong shape: QEMU's own refusal */
  raw_send (raw, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": {\"a\": [1, {\"b\": null}]}}, \"id\": 4}\n");
  reply = raw_read_reply (raw);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "class"),
                   ==, "GenericError");
  g_clear_pointer (&reply, json_object_unref);

  /* Arguments that are not an object never reach QEMU, as QEMU would say */
  raw_send (raw, "{\"execute\": \"qom-list\", \"arguments\": [\"path\"], \"id\": 5}\n");
  reply = raw_read_reply (raw);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "desc"),
                   ==, "QMP input member 'arguments' must be an object");
}

/* Malformed lines, wrong types, repeated and escaped members: answered as
 * QEMU's qmp_dispatch() would, without reaching QEMU, which is still fine
 * after them */
static void
test_hostile_input (Fixture       *f,
                    gconstpointer  data)
{
  static const struct { const char *line; const char *reply; } cases[] = {
    { "{\"execute\": \n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}" },
    { "[1]\n", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}" },
    { "{\"id\": 4}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member 'execute'\"}, \"id\": 4}" },
    { "{\"execute\": 1, \"id\": 5}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}, \"id\": 5}" },
    { "{\"execute\": \"stop\", \"arguments\": [], \"id\": 6}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}, \"id\": 6}" },
    { "{\"execute\": \"stop\", \"colour\": 1, \"c\\u006flour\": 2}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'colour' is unexpected\"}}" },
    /* Not negotiated: exec-oob is just another member */
    { "{\"exec-oob\": \"query-status\", \"id\": 8}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}, \"id\": 8}" },
    /* Of the members with a wrong type, the last one in the line */
    { "{\"arguments\": [], \"execute\": 1, \"id\": 11}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}, \"id\": 11}" },
    { "{\"execute\": 1, \"arguments\": [], \"id\": 12}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}, \"id\": 12}" },
    { "{\"execute\": \"query-status\", \"id\": 13, \"arguments\": {\"a\": \"\xff\"}}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}" },
    { "{\"execute\": \"query-status\", \"arguments\": {\"a\": \"\\u0000\"}, \"id\": 14}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}" },
    { "{\"execute\": \"query-status\", \"arguments\": {}, \"id\": 15,}\n",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}" },
  };
  g_autoptr(Raw) raw = raw_connect (f->path);
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(GString) deep = g_string_new ("{\"execute\": \"query-status\", \"arguments\": {\"a\": ");

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}}\n");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = NULL;

      raw_send (raw, cases[i].line);
      text = raw_read_reply_text (raw);
      g_assert_cmpstr (text, ==, cases[i].reply);
    }

  /* Nested deeper than QEMU takes */
  for (guint i = 0; i < 2000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 2000; i++)
    g_string_append_c (deep, ']');
  g_string_append (deep, "}, \"id\": 16}\n");
  raw_send (raw, deep->str);
  reply = raw_read_reply (raw);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "desc"),
                   ==, "JSON parse error, invalid input");
  g_clear_pointer (&reply, json_object_unref);

  /* A repeated member: the last one wins; escaped names are names */
  raw_send (raw, "{\"execute\": 1, \"execute\": \"query-status\", \"id\": 9}\n");
  reply = raw_read_reply (raw);
  g_assert_true (json_object_has_member (json_object_get_object_member (reply, "return"), "status"));
  g_clear_pointer (&reply, json_object_unref);
  raw_send (raw, "{\"\\u0065xecute\": \"query-name\", \"\\u0069d\": 10}\n");
  reply = raw_read_reply (raw);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (reply, "return")));
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 10);
}

/* A server that is neither QEMU nor the test server: it shows the lines
 * the proxy sends upstream as they are.  Each command's reply returns the
 * text of its arguments, and the line itself is kept for the test. */
typedef struct
{
  GSocketConnection *connection;
  GAsyncQueue *lines;
} Upstream;

static gpointer
upstream_thread (gpointer user_data)
{
  Upstream *up = user_data;
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (up->connection));
  g_autoptr(GDataInputStream) input =
    g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (up->connection)));
  const char *greeting =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
    "\"capabilities\": []}}\r\n";
  char *line;

  g_output_stream_write_all (output, greeting, strlen (greeting), NULL, NULL, NULL);
  while ((line = g_data_input_stream_read_line (input, NULL, NULL, NULL)) != NULL)
    {
      /* {"execute":"NAME"[,"arguments":ARGS],"id":N}, as the library writes it */
      const char *id = g_strrstr (line, ",\"id\":");
      const char *arguments = strstr (line, ",\"arguments\":");
      g_autofree char *ret = NULL;
      g_autofree char *reply = NULL;

      g_assert_nonnull (id);
      ret = arguments != NULL && arguments < id
            ? g_strndup (arguments + strlen (",\"arguments\":"), id - arguments - strlen (",\"arguments\":"))
            : g_strdup ("{}");
      reply = g_strdup_printf ("{\"return\": %s, \"id\": %.*s}\r\n", ret,
                               (int) (strlen (id) - strlen (",\"id\":") - 1), id + strlen (",\"id\":"));
      g_async_queue_push (up->lines, line);
      g_output_stream_write_all (output, reply, strlen (reply), NULL, NULL, NULL);
    }
  return NULL;
}

/* The arguments go upstream byte for byte as the client wrote them, and
 * the return comes back to the client the same way */
static void
test_arguments_byte_exact (void)
{
  static const char * const arguments[] = {
    "{}",
    "{ }",
    "{\"a\" :1, \"b\":  [true,false , null],\"c\":{\"d\":{\"e\":[[[\"f\"]]]}}}",
    "{\"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u00e9\\ud83d\\ude00\"}",
    "{\"utf8\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"n\\u0061me\": -0.0e-0}",
    "{\"big\": 18446744073709551616123, \"small\": -1e-400, \"huge\": 1E+400}",
  };
  g_autoptr(GSocketConnection) client_end = NULL;
  g_autoptr(GSocketConnection) server_end = NULL;
  g_autoptr(QmpConnection) upstream = NULL;
  g_autoptr(QmpProxy) proxy = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *negotiated = NULL;
  GDataInputStream *input;
  Upstream up = { NULL, g_async_queue_new_full (g_free) };
  GThread *thread;
  char *first;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  b = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  client_end = g_socket_connection_factory_create_connection (a);
  up.connection = server_end = g_socket_connection_factory_create_connection (b);
  thread = g_thread_new ("upstream", upstream_thread, &up);

  upstream = qmp_connection_new_sync (G_IO_STREAM (client_end), QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  first = g_async_queue_pop (up.lines);
  g_assert_nonnull (strstr (first, "qmp_capabilities"));
  g_free (first);

  proxy = qmp_proxy_new (upstream);
  stream = qmp_proxy_new_client_stream (proxy, QMP_PROXY_CLIENT_FLAGS_NONE, &error);
  g_assert_no_error (error);
  input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  greeting = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (stream), "{\"execute\": \"qmp_capabilities\"}\n",
                             strlen ("{\"execute\": \"qmp_capabilities\"}\n"), NULL, NULL, &error);
  g_assert_no_error (error);
  negotiated = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_cmpstr (negotiated, ==, "{\"return\": {}}");

  for (guint i = 0; i < G_N_ELEMENTS (arguments); i++)
    {
      g_autofree char *line = g_strconcat ("{\"execute\": \"x-echo\", \"arguments\":  ", arguments[i],
                                           "  , \"id\": [\"c\", ", i % 2 ? "1" : "\"\\u0031\"", "]}\n", NULL);
      g_autofree char *want_up = g_strconcat (",\"arguments\":", arguments[i], ",\"id\":", NULL);
      g_autofree char *want_back = g_strconcat ("{\"return\": ", arguments[i], ", \"id\": [\"c\", ",
                                                i % 2 ? "1" : "\"\\u0031\"", "]}", NULL);
      g_autofree char *sent = NULL;
      g_autofree char *back = NULL;

      g_output_stream_write_all (g_io_stream_get_output_stream (stream), line, strlen (line), NULL, NULL, &error);
      g_assert_no_error (error);
      sent = g_async_queue_pop (up.lines);
      g_test_message ("%s → %s", line, sent);
      g_assert_true (g_str_has_prefix (sent, "{\"execute\":\"x-echo\""));
      g_assert_nonnull (strstr (sent, want_up));
      back = g_data_input_stream_read_line (input, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (back, ==, want_back);
    }

  g_object_unref (input);
  g_io_stream_close (stream, NULL, NULL);
  qmp_proxy_close (proxy);
  qmp_connection_close_sync (upstream, NULL, NULL);
  /* The upstream thread reads its end until the end of the stream: its
   * socket is closed once the thread ended, not under its recv(). */
  g_thread_join (thread);
  g_io_stream_close (G_IO_STREAM (server_end), NULL, NULL);
  g_async_queue_unref (up.lines);
}

/* Two clients with the same ids, commands interleaved: each gets its own
 * replies, in order; events reach everyone. */
static void
test_two_clients (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Raw) a = raw_connect (f->path);
  g_autoptr(Raw) b = raw_connect (f->path);
  g_autoptr(QmpConnection) c = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  guint n = qmp_test_scale (50);
  gboolean a_stop = FALSE, b_stop = FALSE;

  raw_negotiate (a, "{\"execute\": \"qmp_capabilities\"}\n");
  raw_negotiate (b, "{\"execute\": \"qmp_capabilities\"}\n");
  c = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *line_a = g_strdup_printf ("{\"execute\": \"query-status\", \"id\": %u}\n", i);
      g_autofree char *line_b = g_strdup_printf ("{\"execute\": \"query-version\", \"id\": %u}\n", i);

      raw_send (a, line_a);
      raw_send (b, line_b);
      if (i % 10 == 0)
        {
          ret = qmp_connection_execute_sync (c, "query-name", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
          g_assert_no_error (error);
          g_clear_pointer (&ret, json_node_unref);
        }
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) reply_a = raw_read_reply (a);
      g_autoptr(JsonObject) reply_b = raw_read_reply (b);

      g_assert_cmpint (json_object_get_int_member (reply_a, "id"), ==, i);
      g_assert_true (json_object_has_member (json_object_get_object_member (reply_a, "return"), "status"));
      g_assert_cmpint (json_object_get_int_member (reply_b, "id"), ==, i);
      g_assert_true (json_object_has_member (json_object_get_object_member (reply_b, "return"), "qemu"));
    }

  /* A stops the VM: both see STOP */
  raw_send (a, "{\"execute\": \"stop\", \"id\": \"s\"}\n");
  while (!a_stop || !b_stop)
    {
      Raw *raw = !a_stop ? a : b;
      g_autoptr(JsonObject) line = raw_read (raw);

      g_assert_nonnull (line);
      if (g_strcmp0 (json_object_get_string_member_with_default (line, "event", ""), "STOP") == 0)
        *(raw == a ? &a_stop : &b_stop) = TRUE;
    }
  raw_send (a, "{\"execute\": \"cont\"}\n");
}

/* Events reach a library client armed before they happen */
static void
test_events (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(QmpConnection) watcher = NULL;
  g_autoptr(QmpConnection) actor = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(QmpEvent) resume = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  watcher = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  actor = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* The actor's own event: STOP before the return, as from QEMU */
  event = qmp_connection_execute_until_event_sync (actor, "stop", NULL, "STOP", NULL, &ret, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (qmp_event_get_timestamp (event));
  g_clear_pointer (&ret, json_node_unref);

  /* The watcher's: RESUME caused by the actor */
  ret = qmp_connection_execute_sync (watcher, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  {
    g_autoptr(GAsyncResult) result = NULL;
    GAsyncResult *slot = NULL;

    qmp_connection_wait_event_async (watcher, "RESUME", NULL, NULL, qmp_test_store_result, &slot);
    ret = qmp_connection_execute_sync (actor, "cont", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
    g_assert_no_error (error);
    result = qmp_test_wait_result (&slot);
    resume = qmp_connection_wait_event_finish (watcher, result, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (qmp_event_get_name (resume), ==, "RESUME");
  }
}

/* In the proxy's thread: holds its context up until released */
static gboolean
block_context (gpointer user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  f->blocked = TRUE;
  g_cond_broadcast (&f->cond);
  while (!f->release)
    g_cond_wait (&f->cond, &f->lock);
  f->blocked = FALSE;
  g_mutex_unlock (&f->lock);

  return G_SOURCE_REMOVE;
}

static gboolean
app_saw (Fixture    *f,
         const char *name)
{
  for (guint i = 0; i < f->app_events->len; i++)
    if (g_str_equal (g_ptr_array_index (f->app_events, i), name))
      return TRUE;
  return FALSE;
}

/* Commands, answers and events go through the proxy while its main
 * context is held up (they take the I/O thread only), in QEMU's order:
 * STOP before the return of "stop".  The application's own connection
 * still gets its events in its own context, once that runs again. */
static void
test_no_main_context (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(Raw) raw = raw_connect (f->path);
  g_autoptr(Raw) other = raw_connect (f->path);
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  const char *commands[] = { "stop", "STOP", "cont", "RESUME", "stop", "STOP", "cont", "RESUME" };

  g_main_context_invoke (f->context, block_context, f);
  g_mutex_lock (&f->lock);
  while (!f->blocked)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");
  raw_negotiate (other, "{\"execute\": \"qmp_capabilities\"}\n");
  client = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (client, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "status"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i += 2)
    {
      g_autofree char *line = g_strdup_printf ("{\"execute\": \"%s\", \"id\": %u}\n", commands[i], i);
      g_autoptr(JsonObject) event = NULL;
      g_autoptr(JsonObject) reply = NULL;
      g_autoptr(JsonObject) seen = NULL;

      raw_send (raw, line);
      /* The event QEMU sent before its return comes first */
      event = raw_read (raw);
      g_assert_cmpstr (json_object_get_string_member_with_default (event, "event", ""), ==, commands[i + 1]);
      g_assert_true (json_object_has_member (event, "timestamp"));
      reply = raw_read (raw);
      g_assert_false (json_object_has_member (reply, "event"));
      g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, i);
      g_assert_true (json_object_has_member (reply, "return"));

      /* Everyone else sees it too */
      seen = raw_read (other);
      g_assert_cmpstr (json_object_get_string_member_with_default (seen, "event", ""), ==, commands[i + 1]);
    }

  /* Nothing reached the application while its context was held up */
  g_mutex_lock (&f->lock);
  g_assert_cmpuint (f->app_events->len, ==, 0);
  f->release = TRUE;
  g_cond_broadcast (&f->cond);
  while (!app_saw (f, "STOP") || !app_saw (f, "RESUME"))
    g_cond_wait (&f->cond, &f->lock);
  g_assert_false (f->app_events_elsewhere);
  g_mutex_unlock (&f->lock);
}

/* A read-only client: query-* passes, quit never reaches QEMU */
static void
test_read_only (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(QmpConnection) ro = NULL;
  g_autoptr(QmpConnection) rw = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ro = qmp_connection_new_for_address_sync (f->ro_path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  ret = qmp_connection_execute_sync (ro, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);

  ret = qmp_connection_execute_sync (ro, "quit", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "The command quit is not allowed on a read-only connection");
  g_clear_error (&error);
  ret = qmp_connection_execute_sync (ro, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_clear_error (&error);

  /* QEMU is still there and running */
  rw = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (rw, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
}

/* The proxy's own answers (a refusal, a line it cannot parse) wait for
 * QEMU's to the commands before them, as QEMU answers in order: a client
 * that sends no ids has nothing else to go by. */
static void
test_answer_order (Fixture       *f,
                   gconstpointer  data)
{
  /* The error's desc, or NULL for a return; the id, or -1 for none */
  static const struct { const char *desc; int id; } expected[] = {
    { NULL, -1 },
    { "The command stop is not allowed on a read-only connection", -1 },
    { NULL, 3 },
    { "QMP input must be a JSON object", -1 },
    { "The command quit is not allowed on a read-only connection", 5 },
    { NULL, 6 },
  };
  g_autoptr(Raw) raw = raw_connect (f->ro_path);

  raw_negotiate (raw, "{\"execute\": \"qmp_capabilities\"}\n");

  /* One write: the refusals are ready long before QEMU's answers */
  raw_send (raw,
            "{\"execute\": \"query-status\"}\n"
            "{\"execute\": \"stop\"}\n"
            "{\"execute\": \"query-status\", \"id\": 3}\n"
            "[4]\n"
            "{\"execute\": \"quit\", \"id\": 5}\n"
            "{\"execute\": \"query-name\", \"id\": 6}\n");
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(JsonObject) reply = raw_read_reply (raw);

      g_assert_nonnull (reply);
      if (expected[i].desc == NULL)
        g_assert_true (json_object_has_member (reply, "return"));
      else
        g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "error"), "desc"),
                         ==, expected[i].desc);
      if (expected[i].id < 0)
        g_assert_false (json_object_has_member (reply, "id"));
      else
        g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, expected[i].id);
    }
}

static void
count_closed (QmpProxy *proxy,
              guint    *n_closed)
{
  (*n_closed)++;
}

/* The last reference may go in any thread, the I/O thread's too (which
 * holds the proxy while it accepts a client): a proxy closed by it emits
 * no "closed", whose handlers could block that thread.  Its client and
 * its socket are closed all the same.  Closed explicitly, it emits it
 * once. */
static void
test_last_ref_no_closed (void)
{
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) upstream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qmp-proxy-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "proxy.sock", NULL);
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GDataInputStream) input = NULL;
  g_autofree char *line = NULL;
  QmpProxy *proxy;
  guint n_closed = 0;

  g_assert_no_error (error);
  upstream = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  proxy = qmp_proxy_new (upstream);
  g_signal_connect (proxy, "closed", G_CALLBACK (count_closed), &n_closed);
  g_assert_true (qmp_proxy_listen_unix (proxy, path, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_no_error (error);
  client = qmp_proxy_new_client_stream (proxy, QMP_PROXY_CLIENT_FLAGS_NONE, &error);
  g_assert_no_error (error);
  input = g_data_input_stream_new (g_io_stream_get_input_stream (client));
  line = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);   /* the greeting */
  g_clear_pointer (&line, g_free);

  g_object_unref (proxy);
  g_assert_cmpuint (n_closed, ==, 0);
  line = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (line);      /* the end of the stream */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  proxy = qmp_proxy_new (upstream);
  g_signal_connect (proxy, "closed", G_CALLBACK (count_closed), &n_closed);
  qmp_proxy_close (proxy);
  qmp_proxy_close (proxy);
  g_assert_cmpuint (n_closed, ==, 1);
  g_object_unref (proxy);
  g_assert_cmpuint (n_closed, ==, 1);

  g_rmdir (dir);
}

/* A proxy in front of the test server, whose commands the test holds and
 * answers, and a client of the proxy, greeted, that plays raw lines */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
  QmpConnection *upstream;
  QmpProxy *proxy;
  GIOStream *stream;
  GSocket *socket;              /* the client's end */
  GDataInputStream *input;
} HeldProxy;

static void
held_proxy_init (HeldProxy *hp)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;

  hp->server = qmp_test_server_new ();
  hp->upstream = qmp_test_server_new_connection_sync (hp->server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  hp->held = qmp_test_held_new (hp->server);
  hp->proxy = qmp_proxy_new (hp->upstream);
  hp->stream = qmp_proxy_new_client_stream (hp->proxy, QMP_PROXY_CLIENT_FLAGS_NONE, &error);
  g_assert_no_error (error);
  hp->socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (hp->stream));
  hp->input = g_data_input_stream_new (g_io_stream_get_input_stream (hp->stream));
  g_data_input_stream_set_newline_type (hp->input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);

  greeting = g_data_input_stream_read_line (hp->input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (greeting);
}

static void
held_proxy_clear (HeldProxy *hp)
{
  qmp_proxy_close (hp->proxy);
  g_object_unref (hp->input);
  g_object_unref (hp->stream);
  g_object_unref (hp->proxy);
  g_object_unref (hp->upstream);
  qmp_test_held_free (hp->held);
  g_object_unref (hp->server);
}

static void
held_proxy_send (HeldProxy *hp,
                 GString   *lines)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (hp->stream), lines->str, lines->len,
                             NULL, NULL, &error);
  g_assert_no_error (error);
}

typedef struct
{
  HeldProxy *hp;
  GString *lines;
} HeldProxySend;

static gpointer
held_proxy_send_thread (HeldProxySend *send)
{
  held_proxy_send (send->hp, send->lines);
  return NULL;
}

static void
held_proxy_expect (HeldProxy  *hp,
                   const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line (hp->input, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, expected);
}

/* A client cannot queue work on QEMU without bound: the proxy reads no
 * more of its commands while 64 wait for their answers (QmpConnection
 * sends QEMU 8 at a time), and goes on as they come.  Against the test
 * server, whose commands the test holds and answers. */
static void
test_in_flight (void)
{
  HeldProxy hp;
  g_autoptr(GString) commands = g_string_new (NULL);
  g_autoptr(GPtrArray) first = g_ptr_array_new_with_free_func (g_object_unref);

  held_proxy_init (&hp);
  g_string_append (commands, "{\"execute\": \"qmp_capabilities\"}\n");
  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (commands, "{\"execute\": \"hold\", \"id\": %u}\n", i);
  held_proxy_send (&hp, commands);

  /* QEMU's first commands are there; the proxy left most of the rest
   * unread (34 KB; it reads 4 KB at a time) */
  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (first, qmp_test_held_next (hp.held, "hold"));
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (qmp_test_socket_unread_bytes (hp.socket), >, 20000);

  /* Answered, the rest comes, and every answer in order */
  for (guint i = 0; i < first->len; i++)
    qmp_test_server_command_reply (g_ptr_array_index (first, i), NULL);
  for (guint i = first->len; i < 1000; i++)
    {
      g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (hp.held, "hold");

      qmp_test_server_command_reply (command, NULL);
    }
  g_assert_cmpint (qmp_test_socket_unread_bytes (hp.socket), ==, 0);
  held_proxy_expect (&hp, "{\"return\": {}}");
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *expected = g_strdup_printf ("{\"return\": {}, \"id\": %u}", i);

      held_proxy_expect (&hp, expected);
    }

  g_clear_pointer (&first, g_ptr_array_unref);
  held_proxy_clear (&hp);
}

/* Behind a command QEMU does not answer, the proxy's own answers to the
 * lines after it (not JSON, qmp_capabilities again) wait for their turn:
 * they count as commands in flight, so the proxy reads no more of a client
 * that sends such lines by the thousand (each would be an answer kept for
 * later), and answers them all, in order, once QEMU answers. */
static void
test_held_answers (void)
{
  static const char not_object[] =
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}";
  static const char not_json[] =
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid input\"}}";
  static const char caps_again[] =
    "{\"error\": {\"class\": \"CommandNotFound\", "
    "\"desc\": \"Capabilities negotiation is already complete, command ignored\"}}";
  const guint n_lines = 10000;
  HeldProxy hp;
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(QmpTestServerCommand) first = NULL;
  g_autoptr(QmpTestServerCommand) last = NULL;

  held_proxy_init (&hp);

  /* 20 KB, which the socket takes at once: behind a command QEMU will
   * not answer yet, lines the proxy answers itself, as QEMU would */
  g_string_append (lines, "{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"hold\", \"id\": 0}\n");
  for (guint i = 0; i < n_lines; i++)
    g_string_append (lines, i % 100 == 0 ? "x\n"
                            : i % 100 == 50 ? "{\"execute\": \"qmp_capabilities\"}\n"
                            : "1\n");
  g_string_append (lines, "{\"execute\": \"hold\", \"id\": 1}\n");
  held_proxy_send (&hp, lines);

  /* The first command is with QEMU, and is not answered: the proxy stops
   * after 63 of the lines behind it (it reads 4 KB at a time), never
   * reaching the last command.  Without the bound, it reads them all
   * within the wait. */
  first = qmp_test_held_next (hp.held, "hold");
  for (guint i = 0; i < 100 && qmp_test_socket_unread_bytes (hp.socket) > 0; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_cmpint (qmp_test_socket_unread_bytes (hp.socket), >, lines->len / 2);
  g_assert_cmpuint (qmp_test_held_get_length (hp.held), ==, 0);

  /* Answered, the rest is read, and every answer comes in order */
  qmp_test_server_command_reply (first, NULL);
  held_proxy_expect (&hp, "{\"return\": {}}");
  held_proxy_expect (&hp, "{\"return\": {}, \"id\": 0}");
  for (guint i = 0; i < n_lines; i++)
    held_proxy_expect (&hp, i % 100 == 0 ? not_json : i % 100 == 50 ? caps_again : not_object);
  last = qmp_test_held_next (hp.held, "hold");
  qmp_test_server_command_reply (last, NULL);
  held_proxy_expect (&hp, "{\"return\": {}, \"id\": 1}");
  g_assert_cmpint (qmp_test_socket_unread_bytes (hp.socket), ==, 0);

  g_clear_object (&first);
  g_clear_object (&last);
  held_proxy_clear (&hp);
}

/* Nor by the size of its commands: each may be as long as max-message-size,
 * and the proxy keeps those it forwards until QEMU answers them (QEMU may
 * not even read them).  It reads no more while more than 1 MiB of them
 * wait for their answers (here, 4 of 300 KB), and goes on as they come. */
static void
test_in_flight_bytes (void)
{
  const guint n_commands = 10;
  HeldProxy hp;
  g_autoptr(GString) commands = g_string_new ("{\"execute\": \"qmp_capabilities\"}\n");
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *filler = g_strnfill (300 * 1024, 'a');
  GThread *writer;

  held_proxy_init (&hp);
  for (guint i = 0; i < n_commands; i++)
    g_string_append_printf (commands, "{\"execute\": \"hold\", \"arguments\": {\"s\": \"%s\"}, \"id\": %u}\n",
                            filler, i);
  /* 3 MB: more than the socket takes, so written from a thread */
  writer = g_thread_new ("writer", (GThreadFunc) held_proxy_send_thread, &(HeldProxySend) { &hp, commands });

  /* The first four reach the server; the fifth stays unread while they
   * wait.  Without the bound, all ten come within the wait. */
  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (held, qmp_test_held_next (hp.held, "hold"));
  for (guint i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_cmpuint (qmp_test_held_get_length (hp.held), ==, 0);

  /* Answered, the rest comes, and every answer in order */
  for (guint i = 0; i < held->len; i++)
    qmp_test_server_command_reply (g_ptr_array_index (held, i), NULL);
  for (guint i = held->len; i < n_commands; i++)
    {
      g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (hp.held, "hold");

      g_assert_cmpuint (strlen (json_object_get_string_member (qmp_test_server_command_get_arguments (command),
                                                               "s")), ==, strlen (filler));
      qmp_test_server_command_reply (command, NULL);
    }
  g_thread_join (writer);
  held_proxy_expect (&hp, "{\"return\": {}}");
  for (guint i = 0; i < n_commands; i++)
    {
      g_autofree char *expected = g_strdup_printf ("{\"return\": {}, \"id\": %u}", i);

      held_proxy_expect (&hp, expected);
    }
  g_assert_cmpint (qmp_test_socket_unread_bytes (hp.socket), ==, 0);

  g_clear_pointer (&held, g_ptr_array_unref);
  held_proxy_clear (&hp);
}

/* A process out of descriptors: the proxy's accept() fails with EMFILE
 * while the client waits in the backlog.  The proxy stops watching its
 * socket for a while instead of spinning on it, and lets the client in
 * once descriptors are free; a proxy closed while it waits goes with its
 * wait.  In a subprocess, for its RLIMIT_NOFILE. */
static void
test_out_of_fds (void)
{
  g_autoptr(QmpTestServer) server = NULL;
  g_autoptr(QmpConnection) upstream = NULL;
  g_autoptr(QmpProxy) proxy = NULL;
  g_autoptr(QmpProxy) closing = NULL;
  g_autoptr(QmpTestFdsFull) full = NULL;
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *closing_path = NULL;

  if (!qmp_test_trap_subprocess_in_tmp_dir (60 * G_USEC_PER_SEC))
    return;

  server = qmp_test_server_new ();
  status = json_from_string ("{\"status\": \"running\", \"running\": true}", &error);
  g_assert_no_error (error);
  qmp_test_server_set_reply (server, "query-status", status);
  upstream = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  dir = g_dir_make_tmp ("qmp-proxy-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "proxy.sock", NULL);
  closing_path = g_build_filename (dir, "closing.sock", NULL);
  proxy = qmp_proxy_new (upstream);
  g_assert_true (qmp_proxy_listen_unix (proxy, path, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_no_error (error);
  closing = qmp_proxy_new (upstream);
  g_assert_true (qmp_proxy_listen_unix (closing, closing_path, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_no_error (error);

  full = qmp_test_fds_full_new ((const char *[]) { path, closing_path, NULL });
  qmp_proxy_close (closing);
  g_clear_object (&closing);
  g_assert_false (g_file_test (closing_path, G_FILE_TEST_EXISTS));
  qmp_test_fds_full_release (full);

  qmp_test_fds_full_assert_hung_up (full, 1);
  client = qmp_test_fds_full_connect (full, 0);
  ret = qmp_connection_execute_sync (client, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
  g_assert_cmpuint (qmp_proxy_get_n_clients (proxy), ==, 1);

  g_clear_object (&client);
  qmp_proxy_close (proxy);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Whether every write end of the pipe whose read end is @fd is closed:
 * its reader sees the end, at once. */
static gboolean
pipe_writers_gone (int fd)
{
  struct pollfd pfd = { fd, POLLIN, 0 };

  g_assert_cmpint (poll (&pfd, 1, 0), >=, 0);
  return (pfd.revents & POLLHUP) != 0;
}

/* A list holding @fd (which it takes) */
static GUnixFDList *
fd_list_take (int fd)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;

  g_unix_fd_list_append (fds, fd, &error);
  g_assert_no_error (error);
  close (fd);
  return g_steal_pointer (&fds);
}

static JsonObject *
find_fdset (JsonNode *sets,
            gint64    fdset_id)
{
  JsonArray *array = json_node_get_array (sets);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *set = json_array_get_object_element (array, i);

      if (json_object_get_int_member (set, "fdset-id") == fdset_id)
        return set;
    }
  return NULL;
}

/* Descriptors passed with getfd and add-fd reach QEMU with their command,
 * and the proxy keeps no copy of them. */
static void
test_fds (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *set;
  JsonArray *set_fds;
  gint64 fdset_id, fd;
  int pipe_fds[2];

  client = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  /* getfd: QEMU holds the pipe's write end, and only QEMU */
  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
  fds = fd_list_take (pipe_fds[1]);
  arguments = json_object_new ();
  json_object_set_string_member (arguments, "fdname", "proxied");
  ret = qmp_connection_execute_with_fds_sync (client, "getfd", arguments, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&fds);
  g_assert_false (pipe_writers_gone (pipe_fds[0]));

  ret = qmp_connection_execute_sync (client, "closefd", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (pipe_writers_gone (pipe_fds[0]));
  close (pipe_fds[0]);
  /* It was QEMU's, and is gone */
  ret = qmp_connection_execute_sync (client, "closefd", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_clear_error (&error);
  g_clear_pointer (&arguments, json_object_unref);

  /* add-fd: query-fdsets shows it */
  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
  fds = fd_list_take (pipe_fds[1]);
  arguments = json_object_new ();
  json_object_set_string_member (arguments, "opaque", "through the proxy");
  ret = qmp_connection_execute_with_fds_sync (client, "add-fd", arguments, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fds);
  g_clear_pointer (&arguments, json_object_unref);
  fdset_id = json_object_get_int_member (json_node_get_object (ret), "fdset-id");
  fd = json_object_get_int_member (json_node_get_object (ret), "fd");
  g_clear_pointer (&ret, json_node_unref);
  g_assert_false (pipe_writers_gone (pipe_fds[0]));

  ret = qmp_connection_execute_sync (client, "query-fdsets", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  set = find_fdset (ret, fdset_id);
  g_assert_nonnull (set);
  set_fds = json_object_get_array_member (set, "fds");
  g_assert_cmpuint (json_array_get_length (set_fds), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (set_fds, 0), "fd"), ==, fd);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (set_fds, 0), "opaque"),
                   ==, "through the proxy");
  g_clear_pointer (&ret, json_node_unref);

  arguments = json_object_new ();
  json_object_set_int_member (arguments, "fdset-id", fdset_id);
  ret = qmp_connection_execute_sync (client, "remove-fd", arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (pipe_writers_gone (pipe_fds[0]));
  close (pipe_fds[0]);
  ret = qmp_connection_execute_sync (client, "query-fdsets", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (find_fdset (ret, fdset_id));
}

/* A read-only client's getfd is refused, and its descriptor closed, not
 * kept: the pipe's reader sees the end once the client closed its own. */
static void
test_fds_read_only (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(QmpConnection) ro = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  int pipe_fds[2];

  ro = qmp_connection_new_for_address_sync (f->ro_path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
  fds = fd_list_take (pipe_fds[1]);
  json_object_set_string_member (arguments, "fdname", "refused");
  ret = qmp_connection_execute_with_fds_sync (ro, "getfd", arguments, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_cmpstr (error->message, ==, "The command getfd is not allowed on a read-only connection");
  g_clear_error (&error);
  g_clear_object (&fds);
  g_assert_true (pipe_writers_gone (pipe_fds[0]));
  close (pipe_fds[0]);

  /* QEMU never got it */
  ret = qmp_connection_execute_sync (qmp_proxy_get_upstream (f->proxy), "closefd", arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
}

/* ------------------------------------------------------- TCP and TLS */

static QmpTestCerts *certs;
static const char * const other_key_types[] = { "rsa", "rsa-pss", "ed25519" };

/* Two CAs; the proxy's certificate for 127.0.0.1 and a client's, from
 * "ca"; a client's from "other-ca". */
static void
make_certificates (void)
{
  certs = qmp_test_certs_new ("ecdsa");
  qmp_test_certs_make (certs, "ca", NULL, "cn = qmp-glib proxy test CA\nca\ncert_signing_key\n");
  qmp_test_certs_make (certs, "other-ca", NULL, "cn = qmp-glib proxy test other CA\nca\ncert_signing_key\n");
  qmp_test_certs_make (certs, "server", "ca", "cn = 127.0.0.1\nip_address = 127.0.0.1\n"
                                              "tls_www_server\nencryption_key\nsigning_key\n");
  qmp_test_certs_make (certs, "client", "ca", "cn = qmp-glib proxy test client\ntls_www_client\n"
                                              "encryption_key\nsigning_key\n");
  qmp_test_certs_make (certs, "stranger", "other-ca", "cn = qmp-glib proxy test stranger\ntls_www_client\n"
                                                      "encryption_key\nsigning_key\n");
  /* The proxy's certificate with keys of the other kinds, for the check
   * that a key is the certificate's own */
  for (guint i = 0; i < G_N_ELEMENTS (other_key_types); i++)
    {
      g_autofree char *name = g_strconcat ("server-", other_key_types[i], NULL);

      qmp_test_certs_set_key_type (certs, other_key_types[i]);
      qmp_test_certs_make (certs, name, "ca", "cn = 127.0.0.1\nip_address = 127.0.0.1\n"
                                              "tls_www_server\nsigning_key\n");
    }
}

/* "tls:127.0.0.1:PORT" or "tcp:…" for where the proxy listens */
static char *
address_of (const char     *scheme,
            GSocketAddress *address)
{
  return g_strdup_printf ("%s:127.0.0.1:%u", scheme,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

/* The proxy listening with TLS on a free port of 127.0.0.1, with the
 * certificate "server" and clients from "ca"; returns where. */
static GSocketAddress *
listen_tls (Fixture *f)
{
  g_autoptr(GTlsCertificate) server = qmp_test_certs_load (certs, "server", NULL);
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GError) error = NULL;
  GSocketAddress *bound = NULL;

  g_assert_true (qmp_proxy_listen_tls (f->proxy, any, server, ca, QMP_PROXY_CLIENT_FLAGS_NONE,
                                       &bound, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), >, 0);

  return bound;
}

/* TLS with client certificates: a client whose certificate comes from the
 * CA the proxy trusts gets in; one without a certificate, and one with a
 * certificate from another CA, get no greeting. */
static void
test_tls (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(GTlsCertificate) client = qmp_test_certs_load (certs, "client", NULL);
  g_autoptr(GTlsCertificate) stranger = qmp_test_certs_load (certs, "stranger", NULL);
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(GSocketAddress) bound = listen_tls (f);
  g_autofree char *address = address_of ("tls", bound);
  g_autoptr(QmpConnection) good = NULL;
  g_autoptr(QmpConnection) refused = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  good = qmp_test_connect_tls (address, ca, client, 20000, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (good, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "status"));
  g_assert_cmpuint (qmp_proxy_get_n_clients (f->proxy), ==, 1);

  /* No certificate: the proxy asks for one, and ends the handshake */
  /* The proxy ends the handshake: the client hears of it as TLS's alert
   * or as the end of the stream, whichever comes first */
  refused = qmp_test_connect_tls (address, ca, NULL, 20000, &error);
  g_assert_null (refused);
  g_test_message ("without a certificate: %s", error->message);
  g_assert_true (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED) ||
                 g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF) ||
                 g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
  g_clear_error (&error);

  /* A certificate from another CA */
  refused = qmp_test_connect_tls (address, ca, stranger, 20000, &error);
  g_assert_null (refused);
  g_test_message ("with another CA's certificate: %s", error->message);
  g_assert_true (error->domain == G_TLS_ERROR ||
                 g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
  g_clear_error (&error);

  /* Neither became a client; the good one still works */
  g_assert_cmpuint (qmp_proxy_get_n_clients (f->proxy), ==, 1);
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp_connection_execute_sync (good, "query-name", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
}

/* Clients that connect and say nothing hold a TLS handshake each, and a
 * thread of GIO's shared pool: past 16 at once, the proxy hangs up on the
 * next at once.  Once they are gone, a client with a certificate gets in. */
static void
test_tls_handshakes_bounded (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GTlsCertificate) client = qmp_test_certs_load (certs, "client", NULL);
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(GSocketAddress) bound = listen_tls (f);
  g_autofree char *address = address_of ("tls", bound);
  g_autoptr(GPtrArray) silent = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GSocket) refused = NULL;
  g_autoptr(QmpConnection) good = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  char byte;

  for (guint i = 0; i <= 16; i++)
    {
      GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, &error);

      g_assert_no_error (error);
      g_assert_true (g_socket_connect (socket, bound, NULL, &error));
      g_assert_no_error (error);
      g_ptr_array_add (silent, socket);
    }

  /* The 17th hears the end of the stream, well before the handshake's
   * 10 s (a read that times out fails the test) */
  refused = g_object_ref (g_ptr_array_index (silent, 16));
  g_ptr_array_remove_index (silent, 16);
  g_socket_set_timeout (refused, 5);
  g_assert_cmpint (g_socket_receive (refused, &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);

  /* The others still wait for their handshake */
  for (guint i = 0; i < silent->len; i++)
    {
      g_assert_false (g_socket_condition_check (g_ptr_array_index (silent, i), G_IO_IN | G_IO_HUP));
    }

  /* Gone, they leave room: their handshakes end as the proxy hears it */
  g_ptr_array_set_size (silent, 0);
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while ((good = qmp_test_connect_tls (address, ca, client, 5000, &error)) == NULL &&
         g_get_monotonic_time () < deadline)
    {
      g_test_message ("not yet: %s", error->message);
      g_clear_error (&error);
      g_usleep (50 * G_TIME_SPAN_MILLISECOND);
    }
  g_assert_no_error (error);
  g_assert_nonnull (good);
}

/* A key that is not the certificate's: refused when the proxy is told to
 * listen, and nothing listens; the same for a client's. */
static void
test_tls_mismatched_key (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GTlsCertificate) mismatched = qmp_test_certs_load (certs, "server", "client");
  g_autoptr(GTlsCertificate) client = qmp_test_certs_load (certs, "client", "stranger");
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(QmpConnection) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_assert_false (qmp_proxy_listen_tls (f->proxy, any, mismatched, ca, QMP_PROXY_CLIENT_FLAGS_NONE,
                                        &bound, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_true (g_str_has_prefix (error->message, "The private key does not match the certificate"));
  g_assert_null (bound);
  g_clear_error (&error);

  /* Every pair of the proxy's certificates and keys: refused when the
   * key is another's, of the same kind (RSA and RSA-PSS are one family)
   * or not.  (An Ed25519 key is stored without its public half: against
   * another Ed25519 certificate, the check cannot tell, and lets it
   * through to the handshake.) */
  for (guint i = 0; i <= G_N_ELEMENTS (other_key_types); i++)
    for (guint j = 0; j <= G_N_ELEMENTS (other_key_types); j++)
      {
        g_autofree char *cert_name = i < G_N_ELEMENTS (other_key_types)
                                     ? g_strconcat ("server-", other_key_types[i], NULL)
                                     : g_strdup ("server");
        g_autofree char *key_name = j < G_N_ELEMENTS (other_key_types)
                                    ? g_strconcat ("server-", other_key_types[j], NULL)
                                    : g_strdup ("server");
        g_autoptr(GTlsCertificate) pair = qmp_test_certs_load (certs, cert_name, key_name);
        g_autoptr(GSocketAddress) pair_bound = NULL;
        gboolean listening;

        listening = qmp_proxy_listen_tls (f->proxy, any, pair, ca, QMP_PROXY_CLIENT_FLAGS_NONE,
                                          &pair_bound, &error);
        g_test_message ("%s with the key of %s: %s", cert_name, key_name,
                        listening ? "listening" : error->message);
        if (i == j)
          {
            g_assert_no_error (error);
            g_assert_true (listening);
          }
        else
          {
            g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
            g_assert_cmpstr (error->message, ==, "The private key does not match the certificate");
            g_assert_false (listening);
            g_assert_null (pair_bound);
            g_clear_error (&error);
          }
      }

  /* No key at all */
  {
    g_autofree char *path = qmp_test_certs_path (certs, "server-cert.pem");
    g_autoptr(GTlsCertificate) keyless = g_tls_certificate_new_from_file (path, &error);

    g_assert_no_error (error);
    g_assert_false (qmp_proxy_listen_tls (f->proxy, any, keyless, ca, QMP_PROXY_CLIENT_FLAGS_NONE,
                                          &bound, &error));
    g_test_message ("%s", error->message);
    g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
    g_assert_null (bound);
    g_clear_error (&error);
  }

  bound = listen_tls (f);
  address = address_of ("tls", bound);
  refused = qmp_test_connect_tls (address, ca, client, 20000, &error);
  g_assert_null (refused);
  g_test_message ("%s", error->message);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "The private key does not match the certificate"));
  g_assert_cmpuint (qmp_proxy_get_n_clients (f->proxy), ==, 0);
}

/* A TLS client that stops reading, with megabytes of answers queued for
 * it: closing it must not hold up the I/O thread (TLS writes a
 * close_notify there, which would wait for the client for ever), so the
 * upstream connection, on the same thread, still answers.  (Under
 * valgrind, QMP_TEST_SLOW, one schema: the close is run, not stalled.) */
static void
test_tls_stalled_client (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GTlsCertificate) client = qmp_test_certs_load (certs, "client", NULL);
  g_autoptr(GTlsDatabase) ca = qmp_test_certs_load_ca (certs, "ca");
  g_autoptr(GSocketAddress) bound = listen_tls (f);
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) tcp = NULL;
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("127.0.0.1", 0);
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GDataInputStream) input = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *negotiated = NULL;
  GOutputStream *output;
  QmpConnection *upstream = qmp_proxy_get_upstream (f->proxy);
  g_autoptr(GString) schemas = g_string_new (NULL);
  gsize written;
  gssize n = 0;

  tcp = g_socket_client_connect (socket_client, G_SOCKET_CONNECTABLE (bound), NULL, &error);
  g_assert_no_error (error);
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), ca);
  g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), client);
  g_assert_true (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error));
  g_assert_no_error (error);

  input = g_data_input_stream_new (g_io_stream_get_input_stream (tls));
  output = g_io_stream_get_output_stream (tls);
  greeting = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (greeting, "\"QMP\""));
  g_output_stream_write_all (output, "{\"execute\": \"qmp_capabilities\"}\n", 32, NULL, NULL, &error);
  g_assert_no_error (error);
  negotiated = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (negotiated, "\"return\""));

  /* A stop, whose STOP the application sees once QEMU answered it; then
   * schemas of about 200 KB each, which the client does not read: the
   * proxy stops reading it once a few of them wait to be written, and
   * the client's writes block once the sockets are full, sooner than
   * the 100 MB it would take to ask for 500 MB of schemas */
  g_output_stream_write_all (output, "{\"execute\": \"stop\"}\n", 20, NULL, NULL, &error);
  g_assert_no_error (error);
  g_mutex_lock (&f->lock);
  while (!app_saw (f, "STOP"))
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);

  for (guint i = 0; i < 1000; i++)
    g_string_append (schemas, "{\"execute\": \"query-qmp-schema\"}\n");
  for (written = 0; written < 100 * 1024 * 1024; written += n)
    {
      n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output), schemas->str,
                                                      schemas->len, NULL, &error);
      if (n < 0)
        break;
    }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);

  qmp_proxy_close (f->proxy);
  ret = qmp_connection_execute_sync (upstream, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "status"));

  /* The client goes: the close under way ends too */
  g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
}

/* The documented opt-out: plain TCP on 127.0.0.1, here read-only */
static void
test_tcp_insecure (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_assert_true (qmp_proxy_listen_tcp_insecure (f->proxy, any, QMP_PROXY_CLIENT_FLAGS_READ_ONLY,
                                                &bound, &error));
  g_assert_no_error (error);
  address = address_of ("tcp", bound);

  client = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (client, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "status"));
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp_connection_execute_sync (client, "stop", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_clear_error (&error);

  /* The port closes with the proxy */
  qmp_proxy_close (f->proxy);
  g_clear_object (&client);
  client = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* Connects to @path as the user nobody; returns the errno ("0" on
 * success) that the child printed. */
static char *
connect_as_nobody (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status = 0;
  const char *argv[] = {
    "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "try:\n"
    "    s.connect(sys.argv[1]); print(0)\n"
    "except OSError as e:\n"
    "    print(e.errno)\n",
    path, NULL
  };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
  return g_strstrip (g_steal_pointer (&out));
}

/* The socket is the owner's only, from the start; another user is
 * refused; an explicit mode opens it. */
static void
test_socket_mode (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *open_path = g_build_filename (f->dir, "open.sock", NULL);
  g_autofree char *refused = NULL;
  g_autofree char *allowed = NULL;
  GStatBuf buf;

  g_assert_cmpint (g_stat (f->path, &buf), ==, 0);
  g_assert_cmpint (buf.st_mode & 0777, ==, 0600);
  g_assert_true (S_ISSOCK (buf.st_mode));

  /* The directory lets anyone through; the socket's mode decides */
  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
  refused = connect_as_nobody (f->path);
  g_assert_cmpstr (refused, ==, "13");   /* EACCES */

  g_assert_true (qmp_proxy_listen_unix (f->proxy, open_path, 0666, QMP_PROXY_CLIENT_FLAGS_READ_ONLY, &error));
  g_assert_no_error (error);
  allowed = connect_as_nobody (open_path);
  g_assert_cmpstr (allowed, ==, "0");
}

/* What is at the path already: never replaced unless a stale socket */
static void
test_existing (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *file = g_build_filename (f->dir, "file", NULL);
  g_autofree char *stale = g_build_filename (f->dir, "stale.sock", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GSocket) old = NULL;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (stale);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (file, "keep me", -1, NULL));
  g_assert_false (qmp_proxy_listen_unix (f->proxy, file, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep me");
  g_unlink (file);

  /* In use: the proxy's own socket */
  g_assert_false (qmp_proxy_listen_unix (f->proxy, f->path, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  /* A stale socket: nothing listens on it */
  old = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_true (g_socket_bind (old, address, FALSE, &error));
  g_socket_close (old, NULL);
  g_assert_true (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (qmp_proxy_listen_unix (f->proxy, stale, 0, QMP_PROXY_CLIENT_FLAGS_NONE, &error));
  g_assert_no_error (error);
}

/* A client that goes away in the middle of its commands: nobody else
 * notices. */
static void
test_client_killed (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(QmpConnection) survivor = NULL;
  g_autoptr(GError) error = NULL;

  survivor = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint round = 0; round < 5; round++)
    {
      g_autoptr(Raw) victim = raw_connect (f->path);
      g_autoptr(JsonNode) ret = NULL;

      raw_negotiate (victim, "{\"execute\": \"qmp_capabilities\"}\n");
      for (guint i = 0; i < 20; i++)
        raw_send (victim, "{\"execute\": \"query-status\", \"id\": 1}\n");
      g_clear_pointer (&victim, raw_free);

      ret = qmp_connection_execute_sync (survivor, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (json_object_has_member (json_node_get_object (ret), "status"));
    }
}

/* QEMU going away closes every client and the proxy. */
static void
test_qemu_quits (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Raw) a = raw_connect (f->path);
  g_autoptr(Raw) b = raw_connect (f->path);
  JsonObject *line;

  raw_negotiate (a, "{\"execute\": \"qmp_capabilities\"}\n");
  raw_negotiate (b, "{\"execute\": \"qmp_capabilities\"}\n");

  raw_send (a, "{\"execute\": \"quit\", \"id\": \"q\"}\n");
  /* a gets its return (unless QEMU hung up first), then the end */
  while ((line = raw_read (a)) != NULL)
    json_object_unref (line);
  while ((line = raw_read (b)) != NULL)
    json_object_unref (line);

  g_mutex_lock (&f->lock);
  while (!f->closed)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (qmp_test_peer_wait_exit (f->peer, 10000), ==, 0);
}

/* Two qmpctl processes and a library client through one proxy at once */
static void
test_qmpctl_clients (Fixture       *f,
                     gconstpointer  data)
{
  const char *qmpctl = g_getenv ("QMP_TEST_QMPCTL");
  g_autoptr(QmpConnection) library = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *processes[2];

  g_assert_nonnull (qmpctl);
  library = qmp_connection_new_for_address_sync (f->path, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      processes[i] = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                       qmpctl, "--socket", f->path,
                                       "query-status", ",", "query-version", ",", "query-name", NULL);
      g_assert_no_error (error);
    }

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(JsonNode) ret = qmp_connection_execute_sync (library, "query-status", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (ret);
    }

  for (guint i = 0; i < G_N_ELEMENTS (processes); i++)
    {
      g_autofree char *out = NULL;

      g_subprocess_communicate_utf8 (processes[i], NULL, NULL, &out, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_exited (processes[i]));
      g_assert_cmpint (g_subprocess_get_exit_status (processes[i]), ==, 0);
      /* Its own three answers, in order */
      g_assert_nonnull (strstr (out, "\"status\""));
      g_assert_nonnull (strstr (out, "\"qemu\""));
      g_assert_true (strstr (out, "\"status\"") < strstr (out, "\"qemu\""));
      g_object_unref (processes[i]);
    }
}

/* The TLS handshakes run in GLib's pool threads, which then hold gnutls's
 * thread-local data; the LeakSanitizer of Debian 12's GCC crashes on
 * reading the dynamic TLS of such a thread still alive at exit.  Idle
 * pool threads are told to go at once, and waited for. */
static void
wait_pool_threads_gone (void)
{
  g_thread_pool_set_max_idle_time (1);
  g_thread_pool_set_max_unused_threads (0);

  for (guint tries = 0; tries < 10000; tries++)
    {
      g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
      gboolean pooled = FALSE;
      const char *task;

      while (dir != NULL && (task = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", task);
          g_autofree char *comm = NULL;

          if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "pool-"))
            pooled = TRUE;
        }
      if (!pooled)
        return;
      g_usleep (1000);
    }
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  ADD ("/proxy/protocol", test_protocol);
  ADD ("/proxy/ids", test_ids);
  ADD ("/proxy/arguments-text", test_arguments_text);
  ADD ("/proxy/hostile-input", test_hostile_input);
  ADD ("/proxy/two-clients", test_two_clients);
  g_test_add_func ("/proxy/arguments-byte-exact", test_arguments_byte_exact);
  g_test_add_func ("/proxy/last-ref-no-closed", test_last_ref_no_closed);
  g_test_add_func ("/proxy/in-flight", test_in_flight);
  g_test_add_func ("/proxy/held-answers", test_held_answers);
  g_test_add_func ("/proxy/in-flight-bytes", test_in_flight_bytes);
  g_test_add_func ("/proxy/out-of-fds", test_out_of_fds);
  ADD ("/proxy/events", test_events);
  ADD ("/proxy/no-main-context", test_no_main_context);
  ADD ("/proxy/read-only", test_read_only);
  ADD ("/proxy/answer-order", test_answer_order);
  ADD ("/proxy/fds", test_fds);
  ADD ("/proxy/fds-read-only", test_fds_read_only);
  ADD ("/proxy/socket-mode", test_socket_mode);
  ADD ("/proxy/existing", test_existing);
  ADD ("/proxy/client-killed", test_client_killed);
  ADD ("/proxy/qmpctl-clients", test_qmpctl_clients);
  ADD ("/proxy/qemu-quits", test_qemu_quits);
  ADD ("/proxy/tls", test_tls);
  ADD ("/proxy/tls-handshakes-bounded", test_tls_handshakes_bounded);
  ADD ("/proxy/tls-mismatched-key", test_tls_mismatched_key);
  ADD ("/proxy/tls-stalled-client", test_tls_stalled_client);
  ADD ("/proxy/tcp-insecure", test_tcp_insecure);

  make_certificates ();
  ret = g_test_run ();
  g_clear_pointer (&certs, qmp_test_certs_free);

  wait_pool_threads_gone ();

  return ret;
}
