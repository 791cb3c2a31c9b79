/* test-fds.c: file descriptors handed to a real QEMU with its commands
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

typedef struct
{
  QmpTestPeer *peer;
  QmpConnection *connection;
} Fixture;

static void
fixture_start (Fixture            *fixture,
               QmpConnectionFlags  flags,
               const char * const *extra_args)
{
  g_autoptr(GError) error = NULL;

  fixture->peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, extra_args);
  g_assert_nonnull (fixture->peer);
  fixture->connection = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (fixture->peer),
                                                             flags, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qmp_connection_get_oob_enabled (fixture->connection), ==,
                   (flags & QMP_CONNECTION_FLAGS_OOB) != 0);
}

static void
setup_plain (Fixture       *fixture,
             gconstpointer  data)
{
  fixture_start (fixture, QMP_CONNECTION_FLAGS_NONE, NULL);
}

static void
setup_oob (Fixture       *fixture,
           gconstpointer  data)
{
  fixture_start (fixture, QMP_CONNECTION_FLAGS_OOB, NULL);
}

static void
setup_vnc (Fixture       *fixture,
           gconstpointer  data)
{
  const char * const args[] = { "-vnc", "none", NULL };

  fixture_start (fixture, QMP_CONNECTION_FLAGS_NONE, args);
}

static void
teardown (Fixture       *fixture,
          gconstpointer  data)
{
  if (fixture->connection != NULL)
    qmp_connection_close_sync (fixture->connection, NULL, NULL);
  g_clear_object (&fixture->connection);
  g_clear_pointer (&fixture->peer, qmp_test_peer_free);
}

/* A list holding a duplicate of @fd (the caller keeps @fd). */
static GUnixFDList *
fd_list_for (int fd)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;

  g_unix_fd_list_append (list, fd, &error);
  g_assert_no_error (error);

  return g_steal_pointer (&list);
}

/* The file that descriptor @fd of QEMU is open on. */
static char *
qemu_fd_target (Fixture *fixture,
                gint64   fd)
{
  g_autofree char *link = g_strdup_printf ("/proc/%d/fd/%" G_GINT64_FORMAT,
                                           qmp_test_peer_get_pid (fixture->peer), fd);

  return g_file_read_link (link, NULL);
}

/* How many of QEMU's descriptors are open on @path. */
static guint
qemu_count_open (Fixture    *fixture,
                 const char *path)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/fd", qmp_test_peer_get_pid (fixture->peer));
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *target = qemu_fd_target (fixture, g_ascii_strtoll (name, NULL, 10));

      if (g_strcmp0 (target, path) == 0)
        n++;
    }

  return n;
}

/* A file of the peer's directory, with @contents; returns its path. */
static char *
make_file (Fixture    *fixture,
           const char *name,
           const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (qmp_test_peer_get_dir (fixture->peer), name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);

  return path;
}

static JsonNode *
query_fdsets (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  JsonNode *ret;

  ret = qmp_connection_execute_sync (fixture->connection, "query-fdsets", NULL,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (ret));

  return ret;
}

/* ------------------------------------------------------ getfd + VNC */

static void
test_getfd_vnc (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GSocket) ours = NULL;
  char banner[64] = { 0 };
  gssize n;
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  fds = fd_list_for (pair[1]);
  g_assert_cmpint (close (pair[1]), ==, 0);

  json_object_set_string_member (arguments, "fdname", "vnc0");
  ret = qmp_connection_execute_with_fds_sync (fixture->connection, "getfd", arguments, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);
  g_clear_pointer (&ret, json_node_unref);

  /* The caller keeps its list: its descriptor is still open. */
  g_assert_cmpint (g_unix_fd_list_get_length (fds), ==, 1);
  g_assert_cmpint (fcntl (g_unix_fd_list_peek_fds (fds, NULL)[0], F_GETFD), >=, 0);
  g_clear_object (&fds);   /* QEMU now holds the only other end */

  g_clear_pointer (&arguments, json_object_unref);
  arguments = json_object_new ();
  json_object_set_string_member (arguments, "protocol", "vnc");
  json_object_set_string_member (arguments, "fdname", "vnc0");
  ret = qmp_connection_execute_sync (fixture->connection, "add_client", arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  ours = g_socket_new_from_fd (pair[0], &error);
  g_assert_no_error (error);
  g_socket_set_timeout (ours, 10);
  n = g_socket_receive (ours, banner, 12, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 12);
  g_assert_cmpstr (banner, ==, "RFB 003.008\n");

  /* The name was taken by add_client: closefd has nothing to close. */
  g_clear_pointer (&ret, json_node_unref);
  g_clear_pointer (&arguments, json_object_unref);
  arguments = json_object_new ();
  json_object_set_string_member (arguments, "fdname", "vnc0");
  ret = qmp_connection_execute_sync (fixture->connection, "closefd", arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_null (ret);
}

/* ----------------------------------------- the right command, pipelined */

typedef struct
{
  GAsyncResult *with_fd;
  GAsyncResult *without_fd;
  GAsyncResult *status;
  char *path;
} Round;

static void
round_clear (Round *round)
{
  g_clear_object (&round->with_fd);
  g_clear_object (&round->without_fd);
  g_clear_object (&round->status);
  g_free (round->path);
}

/* Per round: an add-fd with a descriptor of its own file, an add-fd with
 * none (which must not take another command's descriptor) and a
 * query-status, all pipelined at once.  Each descriptor QEMU kept must be
 * open on the file of the command it came with. */
static void
test_pipelined (Fixture       *fixture,
                gconstpointer  data)
{
  guint n_rounds = qmp_test_scale (40) + 2;
  g_autofree Round *rounds = g_new0 (Round, n_rounds);
  g_autoptr(JsonNode) sets = NULL;

  for (guint i = 0; i < n_rounds; i++)
    {
      g_autofree char *name = g_strdup_printf ("file%u", i);
      g_autofree char *opaque = g_strdup_printf ("round %u", i);
      g_autoptr(JsonObject) arguments = json_object_new ();
      g_autoptr(GUnixFDList) fds = NULL;
      int fd;

      rounds[i].path = make_file (fixture, name, name);
      fd = g_open (rounds[i].path, O_RDONLY | O_CLOEXEC, 0);
      g_assert_cmpint (fd, >=, 0);
      fds = fd_list_for (fd);
      g_assert_cmpint (close (fd), ==, 0);

      json_object_set_string_member (arguments, "opaque", opaque);
      qmp_connection_execute_with_fds_async (fixture->connection, "add-fd", arguments, fds,
                                             QMP_EXECUTE_FLAGS_NONE, NULL,
                                             qmp_test_store_result, &rounds[i].with_fd);
      qmp_connection_execute_with_fds_async (fixture->connection, "add-fd", arguments, NULL,
                                             QMP_EXECUTE_FLAGS_NONE, NULL,
                                             qmp_test_store_result, &rounds[i].without_fd);
      qmp_connection_execute_async (fixture->connection, "query-status", NULL,
                                    QMP_EXECUTE_FLAGS_NONE, NULL,
                                    qmp_test_store_result, &rounds[i].status);
    }

  for (guint i = 0; i < n_rounds; i++)
    {
      g_autoptr(GAsyncResult) with_fd = qmp_test_wait_result (&rounds[i].with_fd);
      g_autoptr(GAsyncResult) without_fd = qmp_test_wait_result (&rounds[i].without_fd);
      g_autoptr(GAsyncResult) status = qmp_test_wait_result (&rounds[i].status);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) ret = NULL;
      g_autofree char *target = NULL;
      JsonObject *object;

      ret = qmp_connection_execute_with_fds_finish (fixture->connection, with_fd, &error);
      g_assert_no_error (error);
      object = json_node_get_object (ret);
      target = qemu_fd_target (fixture, json_object_get_int_member (object, "fd"));
      g_assert_cmpstr (target, ==, rounds[i].path);
      g_clear_pointer (&ret, json_node_unref);

      ret = qmp_connection_execute_with_fds_finish (fixture->connection, without_fd, &error);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
      g_assert_nonnull (strstr (error->message, "No file descriptor supplied"));
      g_assert_null (ret);
      g_clear_error (&error);

      ret = qmp_connection_execute_finish (fixture->connection, status, &error);
      g_assert_no_error (error);

      round_clear (&rounds[i]);
    }

  sets = query_fdsets (fixture);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (sets)), ==, n_rounds);
}

/* --------------------------------------------- cancelled: nothing sent */

/* With QEMU stopped, eight commands fill its queue, and the ninth, the
 * one with a descriptor, waits in ours (with OOB, it waits for all eight):
 * cancelled there, neither it nor its descriptor goes out. */
static void
test_cancelled (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *before[8] = { NULL };
  g_autoptr(GAsyncResult) after = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonNode) sets = NULL;
  g_autofree char *path = make_file (fixture, "cancelled", "data");
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  fds = fd_list_for (fd);
  g_assert_cmpint (close (fd), ==, 0);

  /* Already cancelled: nothing at all is sent. */
  g_cancellable_cancel (cancellable);
  ret = qmp_connection_execute_with_fds_sync (fixture->connection, "add-fd", NULL, fds,
                                              QMP_EXECUTE_FLAGS_NONE, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (ret);
  g_clear_error (&error);
  g_cancellable_reset (cancellable);

  qmp_test_peer_kill_signal (fixture->peer, SIGSTOP);
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    qmp_connection_execute_async (fixture->connection, "query-status", NULL,
                                  QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &before[i]);
  qmp_connection_execute_with_fds_async (fixture->connection, "add-fd", NULL, fds,
                                         QMP_EXECUTE_FLAGS_NONE, cancellable,
                                         qmp_test_store_result, &result);
  qmp_connection_execute_async (fixture->connection, "query-fdsets", NULL,
                                QMP_EXECUTE_FLAGS_NONE, NULL, qmp_test_store_result, &after);
  g_cancellable_cancel (cancellable);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_with_fds_finish (fixture->connection, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (ret);
  g_clear_error (&error);
  qmp_test_peer_kill_signal (fixture->peer, SIGCONT);

  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    {
      g_autoptr(GAsyncResult) done = qmp_test_wait_result (&before[i]);
      g_autoptr(JsonNode) status = qmp_connection_execute_finish (fixture->connection, done, NULL);

      g_assert_nonnull (status);
    }
  after = qmp_test_wait_result (&after);
  sets = qmp_connection_execute_finish (fixture->connection, after, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (sets)), ==, 0);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 0);

  /* The connection goes on, and the same list works. */
  ret = qmp_connection_execute_with_fds_sync (fixture->connection, "add-fd", NULL, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 1);
}

/* ------------------------------------------------ until an event, checked */

static void
test_until_event (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(QmpEvent) event = NULL;
  g_autofree char *path = make_file (fixture, "checked", "data");
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  fds = fd_list_for (fd);
  g_assert_cmpint (close (fd), ==, 0);

  /* Checked against the schema, which this first call fetches: the call
   * waits for it with its own copies of the descriptors, and the caller
   * drops its list at once. */
  qmp_connection_set_validate_arguments (fixture->connection, TRUE);
  json_object_set_string_member (arguments, "opaque", "checked");
  qmp_connection_execute_with_fds_async (fixture->connection, "add-fd", arguments, fds,
                                         QMP_EXECUTE_FLAGS_NONE, NULL,
                                         qmp_test_store_result, &result);
  g_clear_object (&fds);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_with_fds_finish (fixture->connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 1);
  g_clear_pointer (&ret, json_node_unref);
  g_clear_object (&result);

  /* A wrong argument: nothing is sent. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  fds = fd_list_for (fd);
  g_assert_cmpint (close (fd), ==, 0);
  json_object_set_int_member (arguments, "bogus", 1);
  ret = qmp_connection_execute_with_fds_sync (fixture->connection, "add-fd", arguments, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_assert_null (ret);
  g_clear_error (&error);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 1);

  /* Until an event: a command that takes no descriptor leaves them to
   * QEMU to close. */
  event = qmp_connection_execute_until_event_with_fds_sync (fixture->connection, "stop", NULL, fds,
                                                            "STOP", NULL, &ret, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (event);
  g_assert_nonnull (ret);
  g_clear_pointer (&event, qmp_event_unref);
  g_clear_pointer (&ret, json_node_unref);

  qmp_connection_execute_until_event_with_fds_async (fixture->connection, "cont", NULL, fds,
                                                     "RESUME", NULL, NULL,
                                                     qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_execute_until_event_with_fds_finish (fixture->connection, result,
                                                              &ret, &error);
  g_assert_no_error (error);
  g_assert_nonnull (event);
  g_assert_nonnull (ret);
}

/* ---------------------------------------------- not a Unix socket: TCP */

static void
setup_tcp (Fixture       *fixture,
           gconstpointer  data)
{
  /* A second monitor on TCP, on a port the kernel picks. */
  const char * const args[] = {
    "-chardev", "socket,id=tcpmon,host=127.0.0.1,port=0,server=on,wait=off",
    "-mon", "chardev=tcpmon,mode=control",
    NULL
  };

  fixture_start (fixture, QMP_CONNECTION_FLAGS_NONE, args);
}

static void
test_tcp_refused (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) tcp = NULL;
  g_autoptr(GUnixFDList) fds = fd_list_for (0);
  g_autoptr(JsonNode) chardevs = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonNode) sets = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *address = NULL;
  JsonArray *array;

  chardevs = qmp_connection_execute_sync (fixture->connection, "query-chardev", NULL,
                                          QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  array = json_node_get_array (chardevs);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *chardev = json_array_get_object_element (array, i);
      const char *filename = json_object_get_string_member (chardev, "filename");

      /* "disconnected:tcp:127.0.0.1:PORT,server=on" */
      if (g_str_equal (json_object_get_string_member (chardev, "label"), "tcpmon"))
        {
          const char *tcp_part = strstr (filename, "tcp:127.0.0.1:");

          g_assert_nonnull (tcp_part);
          address = g_strdup_printf ("tcp:127.0.0.1:%d",
                                     atoi (tcp_part + strlen ("tcp:127.0.0.1:")));
        }
    }
  g_assert_nonnull (address);
  g_test_message ("TCP monitor at %s", address);

  tcp = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  ret = qmp_connection_execute_with_fds_sync (tcp, "add-fd", NULL, fds,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "not a Unix domain socket"));
  g_assert_null (ret);
  g_clear_error (&error);

  qmp_connection_execute_with_fds_async (tcp, "add-fd", NULL, fds, QMP_EXECUTE_FLAGS_NONE,
                                         NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_with_fds_finish (tcp, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (ret);
  g_clear_error (&error);

  /* Nothing was sent: an add-fd without a descriptor would have failed
   * and left no trace either, so the connection's next reply is
   * query-status's, and no set exists. */
  ret = qmp_connection_execute_sync (tcp, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "running"));
  sets = query_fdsets (fixture);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (sets)), ==, 0);

  /* Without descriptors, the call is an ordinary one on TCP too. */
  g_clear_pointer (&ret, json_node_unref);
  ret = qmp_connection_execute_with_fds_sync (tcp, "query-status", NULL, NULL,
                                              QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  qmp_connection_close_sync (tcp, NULL, NULL);
}

/* ------------------------------------------------------ typed commands */

static void
test_typed_getfd (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *path = make_file (fixture, "named", "data");
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (qmp_connection_getfd_sync (fixture->connection, "x", fd, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 1);

  /* The same name again replaces (and closes) the first. */
  qmp_connection_getfd_async (fixture->connection, "x", fd, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_true (qmp_connection_getfd_finish (fixture->connection, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 1);
  g_assert_cmpint (close (fd), ==, 0);

  g_assert_true (qmp_connection_closefd_sync (fixture->connection, "x", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 0);

  qmp_connection_closefd_async (fixture->connection, "x", NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_false (qmp_connection_closefd_finish (fixture->connection, result, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
}

static void
execute_ok (Fixture    *fixture,
            const char *command,
            const char *arguments_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = arguments_json ? json_from_string (arguments_json, &error) : NULL;
  g_autoptr(JsonNode) ret = NULL;

  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (fixture->connection, command,
                                     arguments ? json_node_get_object (arguments) : NULL,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
}

/* ------------------------------------------------------ -netdev tap,fd= */

/* A tap device of our own, as libvirt makes one for QEMU: it lives as
 * long as a descriptor is open on it.  Returns the descriptor, or -1 with
 * errno set; @name gets the name the kernel gave it. */
static int
open_tap (char name[IFNAMSIZ])
{
  struct ifreq ifr;
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return -1;

  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  g_strlcpy (ifr.ifr_name, "qmpgt%d", IFNAMSIZ);
  if (ioctl (fd, TUNSETIFF, &ifr) != 0)
    {
      int saved_errno = errno;

      close (fd);
      errno = saved_errno;
      return -1;
    }

  g_strlcpy (name, ifr.ifr_name, IFNAMSIZ);
  return fd;
}

static char *
human_monitor_command (Fixture    *fixture,
                       const char *command_line)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (arguments, "command-line", command_line);
  ret = qmp_connection_execute_sync (fixture->connection, "human-monitor-command", arguments,
                                     QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);

  return g_strdup (json_node_get_string (ret));
}

/* The tap device that QEMU's descriptor @fd is attached to, from the
 * kernel's fdinfo ("iff:\tNAME"); NULL if none. */
static char *
qemu_fd_tap_name (Fixture *fixture,
                  gint64   fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fdinfo/%" G_GINT64_FORMAT,
                                           qmp_test_peer_get_pid (fixture->peer), fd);
  g_autofree char *contents = NULL;
  const char *iff;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  iff = strstr (contents, "iff:\t");
  if (iff == NULL)
    return NULL;
  iff += strlen ("iff:\t");

  return g_strndup (iff, strcspn (iff, "\n"));
}

/* The netdev takes the tap that we opened, named through getfd: QEMU's
 * descriptor is on our device, the device lives on after we closed ours
 * (QEMU holds it), and it goes with the netdev. */
static void
test_netdev_tap (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *info = NULL;
  g_autofree char *tap_name = NULL;
  g_auto(GStrv) lines = NULL;
  char name[IFNAMSIZ];
  const char *line = NULL;
  const char *fd_text;
  gint64 qemu_fd;
  gint64 deadline;
  int fd;

  fd = open_tap (name);
  if (fd < 0)
    {
      int saved_errno = errno;

      /* /dev/net/tun and CAP_NET_ADMIN, as libvirt needs them */
      if (g_getenv ("QMP_TEST_ALLOW_SKIP") != NULL)
        g_test_skip_printf ("no tap device: %s", g_strerror (saved_errno));
      else
        g_test_fail_printf ("no tap device: %s (or QMP_TEST_ALLOW_SKIP=1 to skip)",
                            g_strerror (saved_errno));
      return;
    }
  g_test_message ("tap device %s", name);

  g_assert_true (qmp_connection_getfd_sync (fixture->connection, "tap0", fd, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (close (fd), ==, 0);
  /* QEMU's copy keeps it */
  g_assert_cmpuint (if_nametoindex (name), !=, 0);

  execute_ok (fixture, "netdev_add", "{\"type\": \"tap\", \"id\": \"n0\", \"fd\": \"tap0\"}");

  /* "n0: index=0,type=tap,fd=N" */
  info = human_monitor_command (fixture, "info network");
  g_test_message ("info network: %s", info);
  lines = g_strsplit (info, "\n", -1);
  for (guint i = 0; lines[i] != NULL && line == NULL; i++)
    if (g_str_has_prefix (g_strstrip (lines[i]), "n0: "))
      line = lines[i];
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "type=tap"));
  fd_text = strstr (line, "fd=");
  g_assert_nonnull (fd_text);
  qemu_fd = g_ascii_strtoll (fd_text + 3, NULL, 10);
  g_assert_cmpint (qemu_fd, >, 2);
  tap_name = qemu_fd_tap_name (fixture, qemu_fd);
  g_assert_cmpstr (tap_name, ==, name);

  /* The name was taken: getfd has it no more */
  g_assert_false (qmp_connection_closefd_sync (fixture->connection, "tap0", NULL, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_clear_error (&error);

  /* QEMU closes it with the netdev: the device goes */
  execute_ok (fixture, "netdev_del", "{\"id\": \"n0\"}");
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (if_nametoindex (name) != 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (if_nametoindex (name), ==, 0);
}

static JsonObject *
raw_node_arguments (const char *node_name,
                    gint64      fdset_id)
{
  JsonObject *arguments = json_object_new ();
  JsonObject *file = json_object_new ();
  g_autofree char *filename = g_strdup_printf ("/dev/fdset/%" G_GINT64_FORMAT, fdset_id);

  json_object_set_string_member (file, "driver", "file");
  json_object_set_string_member (file, "filename", filename);
  json_object_set_boolean_member (file, "read-only", TRUE);
  json_object_set_string_member (arguments, "driver", "raw");
  json_object_set_string_member (arguments, "node-name", node_name);
  json_object_set_boolean_member (arguments, "read-only", TRUE);
  json_object_set_object_member (arguments, "file", file);

  return arguments;
}

static int
qemu_img_compare (const char *file,
                  const char *nbd_uri)
{
  const char *argv[] = { "qemu-img", "compare", "-f", "raw", "-F", "raw", file, nbd_uri, NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));

  return WEXITSTATUS (status);
}

/* A read-only file handed over with add-fd, opened by QEMU as a raw node
 * on /dev/fdset/N, read back through QEMU's NBD server. */
static void
test_fdset_blockdev (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) contents = g_string_new (NULL);
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonArray) sets = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autofree char *nbd_socket = g_build_filename (qmp_test_peer_get_dir (fixture->peer), "nbd.sock", NULL);
  g_autofree char *nbd_uri = g_strdup_printf ("nbd+unix:///disk0?socket=%s", nbd_socket);
  g_autofree char *server = NULL;
  gint64 fdset_id = -1;
  gint64 qemu_fd = -1;
  int fd;

  for (guint i = 0; i < 64 * 1024; i++)
    g_string_append_printf (contents, "%07u\n", i);
  path = make_file (fixture, "disk.img", contents->str);
  contents->str[12345] = '#';
  other = make_file (fixture, "other.img", contents->str);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (qmp_connection_add_fd_sync (fixture->connection, fd, -1, "disk.img",
                                             &fdset_id, &qemu_fd, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (close (fd), ==, 0);
  g_assert_cmpint (fdset_id, >=, 0);
  {
    g_autofree char *target = qemu_fd_target (fixture, qemu_fd);

    g_assert_cmpstr (target, ==, path);
  }

  arguments = raw_node_arguments ("disk0", fdset_id);
  ret = qmp_connection_execute_with_fdset_sync (fixture->connection, fdset_id, "blockdev-add",
                                                arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);

  server = g_strdup_printf ("{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}", nbd_socket);
  execute_ok (fixture, "nbd-server-start", server);
  execute_ok (fixture, "block-export-add",
              "{\"type\": \"nbd\", \"id\": \"exp0\", \"node-name\": \"disk0\", \"name\": \"disk0\"}");

  g_assert_cmpint (qemu_img_compare (path, nbd_uri), ==, 0);
  /* … and the comparison can tell: one byte differs from the other file. */
  g_assert_cmpint (qemu_img_compare (other, nbd_uri), ==, 1);

  g_clear_pointer (&arguments, json_object_unref);
  g_clear_pointer (&ret, json_node_unref);
  arguments = json_object_new ();
  json_object_set_string_member (arguments, "id", "exp0");
  event = qmp_connection_execute_until_event_sync (fixture->connection, "block-export-del",
                                                   arguments, "BLOCK_EXPORT_DELETED", NULL,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  execute_ok (fixture, "nbd-server-stop", NULL);
  g_assert_true (qmp_connection_blockdev_del_sync (fixture->connection, "disk0", NULL, &error));
  g_assert_no_error (error);

  /* The node is gone, the set stays until it is removed. */
  sets = qmp_connection_query_fdsets_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (sets, 0), "fdset-id"),
                   ==, fdset_id);
  g_clear_pointer (&sets, json_array_unref);

  g_assert_true (qmp_connection_remove_fd_sync (fixture->connection, fdset_id, -1, NULL, &error));
  g_assert_no_error (error);
  sets = qmp_connection_query_fdsets_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 0);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 0);
}

/* A command that fails takes its set with it. */
static void
test_fdset_rollback (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonArray) sets = NULL;
  g_autofree char *path = make_file (fixture, "rollback.img", "data");
  gint64 fdset_id = -1;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);

  /* sync: a node name QEMU refuses */
  g_assert_true (qmp_connection_add_fd_sync (fixture->connection, fd, -1, NULL,
                                             &fdset_id, NULL, NULL, &error));
  g_assert_no_error (error);
  arguments = raw_node_arguments ("#bad", fdset_id);
  ret = qmp_connection_execute_with_fdset_sync (fixture->connection, fdset_id, "blockdev-add",
                                                arguments, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_null (ret);
  g_clear_error (&error);
  sets = qmp_connection_query_fdsets_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 0);
  g_clear_pointer (&sets, json_array_unref);
  g_clear_pointer (&arguments, json_object_unref);

  /* async, into a set given by number */
  qmp_connection_add_fd_async (fixture->connection, fd, 7, "seven", NULL,
                               qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  g_assert_true (qmp_connection_add_fd_finish (fixture->connection, result, &fdset_id, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fdset_id, ==, 7);
  g_clear_object (&result);
  arguments = raw_node_arguments ("#bad", fdset_id);
  qmp_connection_execute_with_fdset_async (fixture->connection, fdset_id, "blockdev-add", arguments,
                                           QMP_EXECUTE_FLAGS_NONE, NULL,
                                           qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_with_fdset_finish (fixture->connection, result, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
  g_assert_null (ret);
  g_clear_error (&error);
  g_clear_object (&result);
  qmp_connection_query_fdsets_async (fixture->connection, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  sets = qmp_connection_query_fdsets_finish (fixture->connection, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 0);
  g_clear_pointer (&sets, json_array_unref);
  g_clear_pointer (&arguments, json_object_unref);
  g_clear_object (&result);
  g_assert_cmpuint (qemu_count_open (fixture, path), ==, 0);

  /* A command that works keeps the set. */
  g_assert_true (qmp_connection_add_fd_sync (fixture->connection, fd, -1, NULL,
                                             &fdset_id, NULL, NULL, &error));
  g_assert_no_error (error);
  arguments = raw_node_arguments ("good", fdset_id);
  qmp_connection_execute_with_fdset_async (fixture->connection, fdset_id, "blockdev-add", arguments,
                                           QMP_EXECUTE_FLAGS_NONE, NULL,
                                           qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_with_fdset_finish (fixture->connection, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ret);
  sets = qmp_connection_query_fdsets_sync (fixture->connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 1);
  g_assert_cmpint (close (fd), ==, 0);
}

/* What QEMU assigned is peer data: a reply of the wrong shape is a
 * protocol error, never a crash or a made-up number. */
static void
test_bad_replies (void)
{
  static const char * const add_fd_replies[] = {
    "{\"fdset-id\": \"1\", \"fd\": 3}", "{\"fdset-id\": 1}", "[]", "{\"fdset-id\": -1, \"fd\": 3}",
    "{\"fdset-id\": 1, \"fd\": 1.5}", "null",
  };
  static const char * const fdsets_replies[] = {
    "{}", "[1]", "[{\"fdset-id\": 0}]", "[{\"fdset-id\": 0, \"fds\": [{\"fd\": \"x\"}]}]",
    "[{\"fdset-id\": 0, \"fds\": [{\"fd\": 3, \"opaque\": 1}]}]", "[{\"fdset-id\": null, \"fds\": []}]",
  };
  g_autoptr(QmpTestServer) server = qmp_test_server_new ();
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpTestServerCommand) negotiation = NULL;
  g_autoptr(GError) connect_error = NULL;

  connection = qmp_test_server_new_connection_sync (server, QMP_CONNECTION_FLAGS_NONE, NULL, &connect_error);
  g_assert_no_error (connect_error);
  negotiation = qmp_test_server_next_command_sync (server, NULL, &connect_error);
  g_assert_cmpstr (qmp_test_server_command_get_name (negotiation), ==, "qmp_capabilities");

  for (guint i = 0; i < G_N_ELEMENTS (add_fd_replies); i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(JsonNode) reply = json_from_string (add_fd_replies[i], NULL);
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(GError) error = NULL;
      gint64 fdset_id = 42, fd = 42;

      qmp_test_server_set_reply (server, "add-fd", reply);
      qmp_connection_add_fd_async (connection, 0, -1, NULL, NULL, qmp_test_store_result, &result);
      result = qmp_test_wait_result (&result);
      g_assert_false (qmp_connection_add_fd_finish (connection, result, &fdset_id, &fd, &error));
      g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
      g_assert_cmpint (fdset_id, ==, 42);
      g_assert_cmpint (fd, ==, 42);
      g_clear_error (&error);

      /* It was add-fd, with the descriptor */
      command = qmp_test_server_next_command_sync (server, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "add-fd");
      g_assert_nonnull (qmp_test_server_command_get_fds (command));
      g_assert_cmpint (g_unix_fd_list_get_length (qmp_test_server_command_get_fds (command)), ==, 1);
    }

  for (guint i = 0; i < G_N_ELEMENTS (fdsets_replies); i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(JsonNode) reply = json_from_string (fdsets_replies[i], NULL);
      g_autoptr(QmpTestServerCommand) command = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonArray) sets = NULL;

      qmp_test_server_set_reply (server, "query-fdsets", reply);
      qmp_connection_query_fdsets_async (connection, NULL, qmp_test_store_result, &result);
      result = qmp_test_wait_result (&result);
      sets = qmp_connection_query_fdsets_finish (connection, result, &error);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
      g_assert_null (sets);
      g_clear_error (&error);

      command = qmp_test_server_next_command_sync (server, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, "query-fdsets");
    }
}

/* ------------------------------------------ descriptors for a new QEMU */

static const char *
qemu_binary (void)
{
  return g_getenv ("QMP_TEST_QEMU") ? g_getenv ("QMP_TEST_QEMU") : "qemu-system-x86_64";
}

static void
assert_process_sets (QmpProcess *process,
                     char      **paths)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) sets = NULL;
  GPid pid = g_ascii_strtoll (g_subprocess_get_identifier (qmp_process_get_subprocess (process)),
                              NULL, 10);

  sets = qmp_connection_query_fdsets_sync (qmp_process_get_connection (process), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (sets), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *set = json_array_get_object_element (sets, i);
      gint64 set_id = json_object_get_int_member (set, "fdset-id");
      JsonArray *fds = json_object_get_array_member (set, "fds");
      JsonObject *fd = json_array_get_object_element (fds, 0);
      g_autofree char *link = NULL;
      g_autofree char *target = NULL;

      g_assert_true (set_id == 1 || set_id == 2);
      g_assert_cmpuint (json_array_get_length (fds), ==, 1);
      link = g_strdup_printf ("/proc/%d/fd/%" G_GINT64_FORMAT, pid,
                              json_object_get_int_member (fd, "fd"));
      target = g_file_read_link (link, NULL);
      g_assert_cmpstr (target, ==, paths[set_id - 1]);
    }
}

static void
test_process (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(QmpProcess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  char *paths[2];
  const char *argv[] = {
    qemu_binary (), "-M", "none", "-nodefaults", "-display", "none",
    "-add-fd", "fd=4,set=1,opaque=a", "-add-fd", "fd=5,set=2,opaque=b", NULL
  };

  g_assert_no_error (error);
  path_a = g_build_filename (dir, "a", NULL);
  path_b = g_build_filename (dir, "b", NULL);
  paths[0] = path_a;
  paths[1] = path_b;
  for (guint i = 0; i < 2; i++)
    {
      int fd;

      g_file_set_contents (paths[i], "data", -1, &error);
      g_assert_no_error (error);
      fd = g_open (paths[i], O_RDONLY | O_CLOEXEC, 0);
      g_assert_cmpint (fd, >=, 0);
      g_unix_fd_list_append (fds, fd, &error);
      g_assert_no_error (error);
      g_assert_cmpint (close (fd), ==, 0);
    }

  process = qmp_process_new_with_fds_sync (argv, fds, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  assert_process_sets (process, paths);
  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&process);

  /* The caller kept its list: the same again, asynchronously. */
  qmp_process_new_with_fds_async (argv, fds, QMP_CONNECTION_FLAGS_NONE, NULL,
                                  qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  process = qmp_process_new_with_fds_finish (result, &error);
  g_assert_no_error (error);
  assert_process_sets (process, paths);
  g_assert_true (qmp_process_shutdown_sync (process, NULL, &error));
  g_assert_no_error (error);

  g_unlink (path_a);
  g_unlink (path_b);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/fds/getfd-vnc", Fixture, NULL, setup_vnc, test_getfd_vnc, teardown);
  g_test_add ("/fds/pipelined", Fixture, NULL, setup_plain, test_pipelined, teardown);
  g_test_add ("/fds/pipelined-oob", Fixture, NULL, setup_oob, test_pipelined, teardown);
  g_test_add ("/fds/cancelled", Fixture, NULL, setup_plain, test_cancelled, teardown);
  g_test_add ("/fds/cancelled-oob", Fixture, NULL, setup_oob, test_cancelled, teardown);
  g_test_add ("/fds/until-event", Fixture, NULL, setup_plain, test_until_event, teardown);
  g_test_add ("/fds/typed/getfd", Fixture, NULL, setup_plain, test_typed_getfd, teardown);
  g_test_add ("/fds/typed/fdset-blockdev", Fixture, NULL, setup_plain, test_fdset_blockdev, teardown);
  g_test_add ("/fds/typed/fdset-rollback", Fixture, NULL, setup_plain, test_fdset_rollback, teardown);
  g_test_add ("/fds/netdev-tap", Fixture, NULL, setup_plain, test_netdev_tap, teardown);
  g_test_add_func ("/fds/typed/bad-replies", test_bad_replies);
  g_test_add_func ("/fds/process", test_process);
  g_test_add ("/fds/tcp-refused", Fixture, NULL, setup_tcp, test_tcp_refused, teardown);

  return g_test_run ();
}
