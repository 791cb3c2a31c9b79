/* test-listener.c: QEMU connecting to us (QmpListener), against a real
 * QEMU with a client-mode monitor
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#include "qmp-test-utils.h"

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_qemu_client (const char *path)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autofree char *chardev = g_strdup_printf ("socket,id=mon0,path=%s,server=off,reconnect=1", path);
  const char *qemu = g_getenv ("QMP_TEST_QEMU") ? g_getenv ("QMP_TEST_QEMU") : "qemu-system-x86_64";
  const char *argv[] = {
    qemu, "-M", "none", "-nodefaults", "-display", "none",
    "-chardev", chardev, "-mon", "chardev=mon0,mode=control", NULL
  };
  g_autoptr(GError) error = NULL;
  GSubprocess *subprocess;

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  return subprocess;
}

static void
assert_works (QmpConnection *connection)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (ret), "running"));
  g_assert_true (qmp_connection_get_oob_enabled (connection));
}

static void
test_listener (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "qmp.sock", NULL);
  g_autoptr(QmpListener) listener = NULL;
  g_autoptr(QmpListener) second = NULL;
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  listener = qmp_listener_new (path, QMP_CONNECTION_FLAGS_OOB, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qmp_listener_get_path (listener), ==, path);
  qmp_listener_set_timeout (listener, 30000);

  /* Owner-only. */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The path is taken. */
  second = qmp_listener_new (path, QMP_CONNECTION_FLAGS_NONE, &error);
  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  /* QEMU connects; the connection is ready (greeting, OOB negotiated). */
  qemu = spawn_qemu_client (path);
  connection = qmp_listener_accept_sync (listener, NULL, &error);
  g_assert_no_error (error);
  assert_works (connection);

  /* We close; QEMU connects again (reconnect=1) and is accepted again. */
  g_assert_true (qmp_connection_close_sync (connection, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&connection);
  qmp_listener_accept_async (listener, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  connection = qmp_listener_accept_finish (listener, result, &error);
  g_assert_no_error (error);
  assert_works (connection);
  g_clear_object (&result);

  /* Closed: the socket file goes, accepting fails. */
  qmp_listener_close (listener);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_null (qmp_listener_accept_sync (listener, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);

  /* The connection accepted before stays. */
  assert_works (connection);
  g_assert_true (qmp_connection_quit_sync (connection, NULL, &error));
  g_assert_no_error (error);
  g_subprocess_wait (qemu, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/listener/qemu-connects", test_listener);

  return g_test_run ();
}
