/* qmp-test-guest.c: a real Linux guest for the qmp-glib test suites
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "qmp-test-guest.h"
#include "qmp-test-utils.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

#define READY_MARKER      "QMPTEST-READY"
#define BOOT_TIMEOUT_S    240   /* TCG on a loaded 2-CPU machine: ~30 s seen */
#define RESTORE_TIMEOUT_S 60
#define AGENT_TRY_MS      3000
#define POLL_US           20000

struct _QmpTestGuest
{
  char *dir;            /* NULL once removed */
  char *qmp_address;
  char *agent_address;
  char *ctl_address;    /* the fixture's own monitor */
  GPid pid;             /* 0 once reaped */
  int wait_status;
};

static char *image_dir;      /* vmlinuz, initrd.img */
static char *snapshot_dir;   /* the process's saved guest ("state") */
static double boot_seconds;
static gboolean image_failed;
static gboolean snapshot_failed;  /* then every later test fails at once */

/* ---- processes ---- */

static void
remove_recursively (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_recursively (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
child_setup (gpointer user_data)
{
  (void) user_data;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* TRUE once QEMU has exited (and was reaped). */
static gboolean
guest_exited (QmpTestGuest *guest)
{
  if (guest->pid == 0)
    return TRUE;
  if (waitpid (guest->pid, &guest->wait_status, WNOHANG) == guest->pid)
    {
      guest->pid = 0;
      return TRUE;
    }
  return FALSE;
}

static char *
read_dir_file (QmpTestGuest *guest,
               const char   *name)
{
  g_autofree char *path = g_build_filename (guest->dir, name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

static const char *
qemu_binary (void)
{
  const char *qemu = g_getenv ("QMP_TEST_QEMU");

  return qemu != NULL && *qemu != '\0' ? qemu : "qemu-system-x86_64";
}

/* The reason shows even when the caller's assertion then aborts. */
#define guest_fail(...) G_STMT_START { \
    g_autofree char *guest_fail_msg = g_strdup_printf (__VA_ARGS__); \
    g_test_message ("%s", guest_fail_msg); \
    g_test_fail_printf ("%s", guest_fail_msg); \
  } G_STMT_END

/* Builds (or finds cached) the guest's kernel and initramfs, once per
 * process. */
static gboolean
ensure_image (void)
{
  const char *script = g_getenv ("QMP_TEST_GUEST_SCRIPT");
  const char *dir = g_getenv ("QMP_TEST_GUEST_DIR");
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (image_dir != NULL)
    return TRUE;
  if (image_failed)
    {
      guest_fail ("test guest: building it failed (see above)");
      return FALSE;
    }

  if (script == NULL || dir == NULL)
    {
      guest_fail ("QMP_TEST_GUEST_SCRIPT and QMP_TEST_GUEST_DIR must be "
                          "set (meson test sets them)");
      return FALSE;
    }

  {
    const char *argv[] = { "/bin/sh", script, dir, NULL };
    g_autofree char *err = NULL;

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, NULL, &err, &status, &error)
        || !g_spawn_check_wait_status (status, &error))
      {
        g_test_message ("%s", err != NULL ? err : "");
        guest_fail ("%s %s failed: %s", script, dir, error->message);
        image_failed = TRUE;
        return FALSE;
      }
    if (err != NULL && *err != '\0')
      g_test_message ("%s", err);
  }

  image_dir = g_strdup (dir);
  return TRUE;
}

static QmpTestGuest *
spawn_qemu (const char         *append_options,
            const char         *incoming,
            const char * const *extra_args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  QmpTestGuest *guest;
  g_autofree char *log = NULL;
  int null_fd, log_fd;
  gboolean ok;

  guest = g_new0 (QmpTestGuest, 1);
  guest->dir = g_dir_make_tmp ("qmp-guest-XXXXXX", &error);
  g_assert_no_error (error);
  guest->qmp_address = g_strdup_printf ("unix:%s/qmp.sock", guest->dir);
  guest->agent_address = g_strdup_printf ("unix:%s/qga.sock", guest->dir);
  guest->ctl_address = g_strdup_printf ("unix:%s/ctl.sock", guest->dir);

  /* Names the QEMU in the log.  The guest's agent is always the system's
   * /usr/sbin/qemu-ga (build-aux/make-test-guest.sh), whichever QEMU runs it. */
  qmp_test_report_peer (QMP_TEST_PEER_QEMU_NONE);

#define ADD(...) g_ptr_array_add (argv, g_strdup_printf (__VA_ARGS__))
  ADD ("%s", qemu_binary ());
  ADD ("-accel"); ADD ("tcg");
  ADD ("-M"); ADD ("pc");
  ADD ("-m"); ADD ("256");
  ADD ("-nodefaults");
  ADD ("-no-user-config");
  ADD ("-display"); ADD ("none");
  ADD ("-kernel"); ADD ("%s/vmlinuz", image_dir);
  ADD ("-initrd"); ADD ("%s/initrd.img", image_dir);
  ADD ("-append"); ADD ("console=ttyS0 panic=-1 quiet%s%s",
                        append_options != NULL ? " " : "",
                        append_options != NULL ? append_options : "");
  ADD ("-serial"); ADD ("file:%s/serial.log", guest->dir);
  ADD ("-device"); ADD ("virtio-serial-pci,id=vser0");
  ADD ("-chardev"); ADD ("socket,id=qga0,path=%s/qga.sock,server=on,wait=off", guest->dir);
  ADD ("-device"); ADD ("virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0");
  ADD ("-device"); ADD ("pvpanic");
  ADD ("-qmp"); ADD ("%s,server=on,wait=off", guest->qmp_address);
  ADD ("-qmp"); ADD ("%s,server=on,wait=off", guest->ctl_address);
  if (incoming != NULL)
    {
      ADD ("-incoming"); ADD ("exec:cat '%s'", incoming);
    }
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    ADD ("%s", extra_args[i]);
#undef ADD
  g_ptr_array_add (argv, NULL);

  log = g_build_filename (guest->dir, "stderr.log", NULL);
  null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  log_fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_assert_cmpint (null_fd, >=, 0);
  g_assert_cmpint (log_fd, >=, 0);
  ok = g_spawn_async_with_pipes_and_fds (guest->dir,
                                         (const char * const *) argv->pdata, NULL,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                         child_setup, NULL,
                                         null_fd, null_fd, log_fd,
                                         NULL, NULL, 0,
                                         &guest->pid, NULL, NULL, NULL, &error);
  close (null_fd);
  close (log_fd);
  if (!ok)
    {
      guest_fail ("cannot start %s: %s", qemu_binary (), error->message);
      qmp_test_guest_free (guest);
      return NULL;
    }
  return guest;
}

static void
fail_guest (QmpTestGuest *guest,
            const char   *what)
{
  g_autofree char *err = read_dir_file (guest, "stderr.log");
  g_autofree char *console = read_dir_file (guest, "serial.log");

  g_test_message ("test guest: %s\n--- QEMU stderr:\n%s\n--- console:\n%s",
                  what, err, console);
  g_test_fail_printf ("test guest: %s", what);
}

/* Connects to the fixture's monitor, retrying while the socket is not
 * there yet. */
static QmpConnection *
connect_ctl (QmpTestGuest *guest)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      QmpConnection *ctl;

      ctl = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                            "address", guest->ctl_address, "timeout", 10000, NULL);
      if (ctl != NULL)
        return ctl;
      if (guest_exited (guest) || g_get_monotonic_time () > deadline)
        {
          fail_guest (guest, error->message);
          return NULL;
        }
      g_usleep (POLL_US);
    }
}

/* Until the guest's qemu-ga answers guest-sync (it starts after /init
 * printed its marker, and a fresh connection may meet bytes of an older
 * one). */
static gboolean
wait_agent (QmpTestGuest *guest,
            gint64        deadline)
{
  while (g_get_monotonic_time () < deadline && !guest_exited (guest))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QmpConnection) agent = NULL;

      agent = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                              "address", guest->agent_address,
                              "flags", QMP_CONNECTION_FLAGS_GUEST_AGENT,
                              "timeout", AGENT_TRY_MS, NULL);
      if (agent != NULL)
        {
          g_autoptr(JsonNode) pong = qmp_connection_execute_sync (agent, "guest-ping", NULL,
                                                                  QMP_EXECUTE_FLAGS_NONE,
                                                                  NULL, &error);
          qmp_connection_close_sync (agent, NULL, NULL);
          if (pong != NULL)
            return TRUE;
        }
      g_usleep (POLL_US);
    }
  fail_guest (guest, "the guest agent never answered");
  return FALSE;
}

QmpTestGuest *
qmp_test_guest_launch (const char         *append_options,
                       const char * const *extra_args)
{
  if (!ensure_image ())
    return NULL;
  return spawn_qemu (append_options, NULL, extra_args);
}

gboolean
qmp_test_guest_wait_ready (QmpTestGuest *guest)
{
  gint64 deadline = g_get_monotonic_time () + BOOT_TIMEOUT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *console = read_dir_file (guest, "serial.log");

      if (strstr (console, READY_MARKER) != NULL)
        return TRUE;
      if (guest_exited (guest))
        {
          fail_guest (guest, "QEMU exited before the guest was ready");
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          fail_guest (guest, "the guest did not become ready in time");
          return FALSE;
        }
      g_usleep (POLL_US);
    }
}

QmpTestGuest *
qmp_test_guest_boot (const char         *append_options,
                     const char * const *extra_args)
{
  g_autoptr(QmpTestGuest) guest = qmp_test_guest_launch (append_options, extra_args);

  if (guest == NULL || !qmp_test_guest_wait_ready (guest))
    return NULL;
  return g_steal_pointer (&guest);
}

/* Boots the guest once and saves it, stopped, into snapshot_dir/state. */
static gboolean
ensure_snapshot (void)
{
  g_autoptr(QmpTestGuest) guest = NULL;
  g_autoptr(QmpConnection) ctl = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autofree char *uri = NULL;
  g_autofree char *dir = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 deadline;

  if (snapshot_dir != NULL)
    return TRUE;
  if (snapshot_failed)
    {
      guest_fail ("test guest: the first boot failed (see above)");
      return FALSE;
    }
  snapshot_failed = TRUE;

  guest = qmp_test_guest_boot (NULL, NULL);
  if (guest == NULL)
    return FALSE;
  if (!wait_agent (guest, start + BOOT_TIMEOUT_S * G_USEC_PER_SEC))
    return FALSE;
  boot_seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  ctl = connect_ctl (guest);
  if (ctl == NULL)
    return FALSE;
  if (!qmp_connection_stop_sync (ctl, NULL, &error))
    {
      fail_guest (guest, error->message);
      return FALSE;
    }

  dir = g_dir_make_tmp ("qmp-guest-snapshot-XXXXXX", &error);
  g_assert_no_error (error);
  uri = g_strdup_printf ("exec:cat > '%s/state'", dir);
  json_object_set_string_member (args, "uri", uri);
  {
    g_autoptr(JsonNode) ret = qmp_connection_execute_sync (ctl, "migrate", args,
                                                           QMP_EXECUTE_FLAGS_NONE,
                                                           NULL, &error);
    if (ret == NULL)
      {
        fail_guest (guest, error->message);
        remove_recursively (dir);
        return FALSE;
      }
  }

  deadline = g_get_monotonic_time () + RESTORE_TIMEOUT_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(JsonNode) info = qmp_connection_execute_sync (ctl, "query-migrate", NULL,
                                                              QMP_EXECUTE_FLAGS_NONE,
                                                              NULL, &error);
      const char *status;

      if (info == NULL)
        {
          fail_guest (guest, error->message);
          remove_recursively (dir);
          return FALSE;
        }
      status = json_object_get_string_member_with_default (json_node_get_object (info),
                                                           "status", "");
      if (g_str_equal (status, "completed"))
        break;
      if (g_str_equal (status, "failed") || g_get_monotonic_time () > deadline)
        {
          g_autofree char *what = g_strdup_printf ("saving the guest: migration %s", status);

          fail_guest (guest, what);
          remove_recursively (dir);
          return FALSE;
        }
      g_usleep (POLL_US);
    }
  qmp_connection_close_sync (ctl, NULL, NULL);
  snapshot_dir = g_steal_pointer (&dir);
  snapshot_failed = FALSE;
  g_test_message ("test guest: booted and saved in %.1f s (%.1f s boot)",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC,
                  boot_seconds);
  return TRUE;
}

QmpTestGuest *
qmp_test_guest_start (const char * const *extra_args)
{
  g_autoptr(QmpTestGuest) guest = NULL;
  g_autoptr(QmpConnection) ctl = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  gint64 deadline;

  if (!ensure_image () || !ensure_snapshot ())
    return NULL;

  state = g_build_filename (snapshot_dir, "state", NULL);
  guest = spawn_qemu (NULL, state, extra_args);
  if (guest == NULL)
    return NULL;
  ctl = connect_ctl (guest);
  if (ctl == NULL)
    return NULL;

  /* The saved machine was stopped: it arrives paused. */
  deadline = g_get_monotonic_time () + RESTORE_TIMEOUT_S * G_USEC_PER_SEC;
  for (;;)
    {
      QmpRunState state_now = qmp_connection_query_status_sync (ctl, NULL, NULL, &error);

      if (state_now == QMP_RUN_STATE_UNKNOWN)
        {
          fail_guest (guest, error->message);
          return NULL;
        }
      if (state_now == QMP_RUN_STATE_PAUSED)
        break;
      if (state_now != QMP_RUN_STATE_INMIGRATE || g_get_monotonic_time () > deadline)
        {
          fail_guest (guest, "restoring the saved guest failed");
          return NULL;
        }
      g_usleep (POLL_US);
    }
  if (!qmp_connection_cont_sync (ctl, NULL, &error))
    {
      fail_guest (guest, error->message);
      return NULL;
    }
  qmp_connection_close_sync (ctl, NULL, NULL);
  return g_steal_pointer (&guest);
}

const char *
qmp_test_guest_get_qmp_address (QmpTestGuest *guest)
{
  return guest->qmp_address;
}

const char *
qmp_test_guest_get_agent_address (QmpTestGuest *guest)
{
  return guest->agent_address;
}

const char *
qmp_test_guest_get_dir (QmpTestGuest *guest)
{
  return guest->dir;
}

GPid
qmp_test_guest_get_pid (QmpTestGuest *guest)
{
  return guest->pid;
}

char *
qmp_test_guest_get_console (QmpTestGuest *guest)
{
  return read_dir_file (guest, "serial.log");
}

int
qmp_test_guest_wait_exit (QmpTestGuest *guest,
                          guint         timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!guest_exited (guest))
    {
      if (g_get_monotonic_time () > deadline)
        {
          fail_guest (guest, "QEMU did not exit in time");
          return -1;
        }
      g_usleep (POLL_US);
    }
  return guest->wait_status;
}

void
qmp_test_guest_free (QmpTestGuest *guest)
{
  if (guest == NULL)
    return;
  if (guest->pid != 0)
    {
      kill (guest->pid, SIGKILL);
      while (waitpid (guest->pid, &guest->wait_status, 0) < 0 && errno == EINTR)
        ;
    }
  if (guest->dir != NULL)
    remove_recursively (guest->dir);
  g_free (guest->dir);
  g_free (guest->qmp_address);
  g_free (guest->agent_address);
  g_free (guest->ctl_address);
  g_free (guest);
}

double
qmp_test_guest_get_boot_seconds (void)
{
  return boot_seconds;
}

void
qmp_test_guest_cleanup (void)
{
  if (snapshot_dir != NULL)
    remove_recursively (snapshot_dir);
  g_clear_pointer (&snapshot_dir, g_free);
  g_clear_pointer (&image_dir, g_free);
}
