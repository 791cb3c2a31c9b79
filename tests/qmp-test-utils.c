/* qmp-test-utils.c: shared helpers of the qmp-glib test suites
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* lstat, S_ISSOCK, SOCK_CLOEXEC even with -std=c11 */
#endif

#include "qmp-test-utils.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#define PEER_START_TIMEOUT_MS 10000
#define PEER_POLL_INTERVAL_US 5000
#define MOCK_TIMEOUT_S        10
#define MAX_UNIX_PATH         107   /* sizeof (sun_path) - 1 */

/* ---- real peers ---- */

struct _QmpTestPeer
{
  QmpTestPeerKind kind;
  const char *name;       /* "qemu-system-x86_64" … for messages */
  char *dir;              /* NULL once removed */
  char *socket_path;
  char *address;
  GSubprocess *process;
  GPid pid;
  GMainContext *context;  /* where the wait_async callback runs */
  gboolean exited;
  int wait_status;
};

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
      if (g_rmdir (path) != 0)
        g_warning ("qmp-test-utils: cannot remove %s: %s", path, g_strerror (errno));
    }
  else if (g_unlink (path) != 0)
    g_warning ("qmp-test-utils: cannot remove %s: %s", path, g_strerror (errno));
}

static char *
peer_read_stderr (QmpTestPeer *peer)
{
  g_autofree char *path = NULL;
  char *contents = NULL;

  if (peer->dir == NULL)
    return g_strdup ("(gone)\n");
  path = g_build_filename (peer->dir, "stderr.log", NULL);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("(no stderr.log)\n");
  if (contents[0] != '\0' && !g_str_has_suffix (contents, "\n"))
    {
      char *tmp = g_strconcat (contents, "\n", NULL);

      g_free (contents);
      contents = tmp;
    }
  return contents;
}

static void
peer_wait_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  QmpTestPeer *peer = user_data;
  g_autoptr(GError) error = NULL;

  /* Cannot fail: no cancellable. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error);
  g_assert_no_error (error);
  peer->wait_status = g_subprocess_get_status (G_SUBPROCESS (source));
  peer->exited = TRUE;
}

static gboolean
flag_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Dispatches what is pending; TRUE if the peer has exited. */
static gboolean
peer_poll_exited (QmpTestPeer *peer)
{
  if (peer->process == NULL)
    return TRUE;
  while (g_main_context_iteration (peer->context, FALSE))
    ;
  return peer->exited;
}

/* Kills and reaps the peer if it still runs, and removes its directory. */
static void
peer_kill_and_clean (QmpTestPeer *peer)
{
  if (peer->process != NULL)
    {
      if (!peer_poll_exited (peer))
        {
          g_subprocess_send_signal (peer->process, SIGCONT);
          g_subprocess_force_exit (peer->process);
        }
      while (!peer->exited)
        g_main_context_iteration (peer->context, TRUE);
    }

  if (peer->dir != NULL)
    {
      remove_recursively (peer->dir);
      g_clear_pointer (&peer->dir, g_free);
    }
}

/* Builds the message (with stderr.log), kills the peer, removes its
 * directory, then fails an assertion at the caller's location. */
#define peer_fail(peer, ...) \
  peer_fail_at ((peer), __FILE__, __LINE__, G_STRFUNC, g_strdup_printf (__VA_ARGS__))

static void
peer_fail_at (QmpTestPeer *peer,
              const char  *file,
              int          line,
              const char  *func,
              char        *what)
{
  g_autofree char *err = peer_read_stderr (peer);
  g_autofree char *msg = NULL;

  msg = g_strdup_printf ("%s (peer %s, dir %s)\n"
                         "--- %s stderr.log ---\n%s--- end of stderr.log ---",
                         what, peer->name, peer->dir ? peer->dir : "(removed)",
                         peer->name, err);
  g_free (what);
  peer_kill_and_clean (peer);
  g_assertion_message (G_LOG_DOMAIN, file, line, func, msg);
}

static void
child_setup (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  /* Async-signal-safe only: we are between fork and exec. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0)
    _exit (127);
  /* The parent may have died before the prctl. */
  if (getppid () != parent)
    _exit (127);
}

/* "a,b" -> "a,,b": QEMU option syntax */
static char *
qemu_opt_escape (const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);

  return g_strjoinv (",,", parts);
}

static char *
find_binary (const char *env_var,
             const char *default_name)
{
  const char *name = g_getenv (env_var);
  char *path;

  if (name == NULL || name[0] == '\0')
    name = default_name;

  path = g_find_program_in_path (name);
  if (path == NULL && strchr (name, '/') == NULL)
    {
      /* qemu-ga lives in /usr/sbin, which an unprivileged user's PATH
       * usually lacks on Debian. */
      static const char * const sbin_dirs[] = { "/usr/local/sbin", "/usr/sbin", "/sbin" };

      for (gsize i = 0; path == NULL && i < G_N_ELEMENTS (sbin_dirs); i++)
        {
          g_autofree char *candidate = g_build_filename (sbin_dirs[i], name, NULL);

          if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
            path = g_steal_pointer (&candidate);
        }
    }
  return path;
}

static void
peer_kind_describe (QmpTestPeerKind   kind,
                    const char      **env_var,
                    const char      **default_name,
                    const char      **socket_name)
{
  switch (kind)
    {
    case QMP_TEST_PEER_QEMU_NONE:
    case QMP_TEST_PEER_QEMU_PC_XHCI:
      *env_var = "QMP_TEST_QEMU";
      *default_name = "qemu-system-x86_64";
      *socket_name = "qmp.sock";
      break;
    case QMP_TEST_PEER_QSD:
      *env_var = "QMP_TEST_QSD";
      *default_name = "qemu-storage-daemon";
      *socket_name = "qsd.sock";
      break;
    case QMP_TEST_PEER_QGA:
      *env_var = "QMP_TEST_QGA";
      *default_name = "qemu-ga";
      *socket_name = "qga.sock";
      break;
    default:
      g_assert_not_reached ();
    }
}

/* What `BINARY --version` said, per binary (qemu-system, qsd, qemu-ga),
 * kept for the whole process: the binaries do not change under a test. */
typedef struct {
  char *path;
  char *line;     /* its first line */
  char *version;  /* "10.0.2" */
} PeerVersion;

static PeerVersion peer_versions[3];
G_LOCK_DEFINE_STATIC (peer_versions);

static gboolean
version_matches (const char *version,
                 const char *expected)
{
  gsize len = strlen (expected);

  return strncmp (version, expected, len) == 0 &&
         (version[len] == '\0' || version[len] == '.');
}

const char *
qmp_test_report_peer (QmpTestPeerKind kind)
{
  const char *env_var, *default_name, *socket_name;
  const char *expected = g_getenv ("QMP_TEST_EXPECT_VERSION");
  PeerVersion *cached;
  const char *version;

  peer_kind_describe (kind, &env_var, &default_name, &socket_name);
  cached = &peer_versions[kind == QMP_TEST_PEER_QSD ? 1 : kind == QMP_TEST_PEER_QGA ? 2 : 0];

  G_LOCK (peer_versions);
  if (cached->version == NULL)
    {
      g_autofree char *path = find_binary (env_var, default_name);
      const char *argv[] = { path, "--version", NULL };
      g_autoptr(GRegex) regex = g_regex_new ("[0-9]+\\.[0-9]+\\.[0-9]+", 0, 0, NULL);
      g_autoptr(GMatchInfo) match = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *out = NULL;
      int status = 0;

      if (path == NULL)
        {
          G_UNLOCK (peer_versions);
          g_test_message ("%s: not found", default_name);
          return NULL;
        }
      if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                         NULL, NULL, &out, NULL, &status, &error) ||
          !g_spawn_check_wait_status (status, &error))
        g_error ("qmp-test-utils: %s --version: %s", path, error->message);
      out[strcspn (out, "\n")] = '\0';
      if (!g_regex_match (regex, out, 0, &match))
        g_error ("qmp-test-utils: no version in “%s --version”: %s", path, out);
      cached->version = g_match_info_fetch (match, 0);
      cached->line = g_steal_pointer (&out);
      cached->path = g_steal_pointer (&path);
    }
  version = cached->version;
  G_UNLOCK (peer_versions);

  g_test_message ("peer %s %s (%s: %s)", default_name, version, cached->path, cached->line);
  if (expected != NULL && expected[0] != '\0' && !version_matches (version, expected))
    {
      g_autofree char *msg = NULL;

      msg = g_strdup_printf ("%s is %s, but QMP_TEST_EXPECT_VERSION is %s",
                             cached->path, version, expected);
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
  return version;
}

static gboolean
socket_is_connectable (const char *path)
{
  g_autofree char *table = NULL;
  g_auto(GStrv) lines = NULL;
  GStatBuf st;

  if (g_lstat (path, &st) != 0 || !S_ISSOCK (st.st_mode))
    return FALSE;

  /* Whether someone listens on @path, read from the kernel's table rather
   * than by connecting: QEMU serves one monitor client at a time, and a
   * probe connection can still be occupying it when the test connects. */
  if (!g_file_get_contents ("/proc/net/unix", &table, NULL, NULL))
    return FALSE;

  lines = g_strsplit (table, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) words = g_ptr_array_new ();

      for (guint k = 0; fields[k] != NULL; k++)
        if (*fields[k] != '\0')
          g_ptr_array_add (words, fields[k]);

      /* Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is
       * __SO_ACCEPTCON: a listening socket. */
      if (words->len >= 8 && g_str_equal (g_ptr_array_index (words, 7), path) &&
          g_str_equal (g_ptr_array_index (words, 3), "00010000"))
        return TRUE;
    }

  return FALSE;
}

QmpTestPeer *
qmp_test_peer_start (QmpTestPeerKind     kind,
                     const char * const *extra_args)
{
  g_autoptr(QmpTestPeer) peer = g_new0 (QmpTestPeer, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *stderr_path = NULL;
  const char *env_var = NULL;
  const char *default_name = NULL;
  const char *socket_name = NULL;
  gint64 deadline;

  peer->kind = kind;
  peer_kind_describe (kind, &env_var, &default_name, &socket_name);
  peer->name = default_name;

  binary = find_binary (env_var, default_name);
  if (binary == NULL)
    {
      const char *name = g_getenv (env_var);
      g_autofree char *msg = NULL;

      if (name == NULL || name[0] == '\0')
        name = default_name;
      msg = g_strdup_printf ("%s not found in PATH (set %s to override%s)",
                             name, env_var,
                             g_getenv ("QMP_TEST_ALLOW_SKIP") ? "" :
                             "; set QMP_TEST_ALLOW_SKIP=1 to skip instead of failing");
      if (g_getenv ("QMP_TEST_ALLOW_SKIP") != NULL)
        g_test_skip (msg);
      else
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
      return NULL;
    }

  tmp_dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_assert_no_error (error);
  peer->dir = g_canonicalize_filename (tmp_dir, NULL);
  peer->socket_path = g_build_filename (peer->dir, socket_name, NULL);
  peer->address = g_strconcat ("unix:", peer->socket_path, NULL);
  if (strlen (peer->socket_path) > MAX_UNIX_PATH)
    {
      peer_fail (peer, "socket path %s is too long for AF_UNIX (TMPDIR too deep?)",
                 peer->socket_path);
      return NULL;
    }
  escaped = qemu_opt_escape (peer->socket_path);

  g_ptr_array_add (argv, g_strdup (binary));
  switch (kind)
    {
    case QMP_TEST_PEER_QEMU_NONE:
    case QMP_TEST_PEER_QEMU_PC_XHCI:
      if (kind == QMP_TEST_PEER_QEMU_NONE)
        {
          g_ptr_array_add (argv, g_strdup ("-M"));
          g_ptr_array_add (argv, g_strdup ("none"));
        }
      else
        {
          g_ptr_array_add (argv, g_strdup ("-M"));
          g_ptr_array_add (argv, g_strdup ("pc"));
          g_ptr_array_add (argv, g_strdup ("-accel"));
          g_ptr_array_add (argv, g_strdup ("tcg"));
        }
      g_ptr_array_add (argv, g_strdup ("-nodefaults"));
      g_ptr_array_add (argv, g_strdup ("-display"));
      g_ptr_array_add (argv, g_strdup ("none"));
      if (kind == QMP_TEST_PEER_QEMU_PC_XHCI)
        {
          g_ptr_array_add (argv, g_strdup ("-S"));
          g_ptr_array_add (argv, g_strdup ("-device"));
          g_ptr_array_add (argv, g_strdup ("qemu-xhci,id=xhci"));
        }
      g_ptr_array_add (argv, g_strdup ("-qmp"));
      g_ptr_array_add (argv, g_strdup_printf ("unix:%s,server=on,wait=off", escaped));
      break;
    case QMP_TEST_PEER_QSD:
      /* wait=on: the storage daemon accepts its first client before it
       * sets up the monitor.  With wait=off, a client that is already
       * waiting when its main loop starts races with the monitor's set-up
       * in its I/O thread and can get the greeting twice, the second one
       * after qmp_capabilities, which puts the monitor back to
       * negotiation (qemu-storage-daemon 7.2, about once in a thousand
       * starts).  qemu-system 10.0 did it once too, in a CI run with the
       * machine loaded far beyond its two CPUs: the library now
       * negotiates again (test-greeting-again), but a command already
       * written meanwhile would still fail, so the daemon, where it is
       * frequent, is kept out of the race. */
      g_ptr_array_add (argv, g_strdup ("--chardev"));
      g_ptr_array_add (argv, g_strdup_printf ("socket,path=%s,server=on,wait=on,id=c0",
                                              escaped));
      g_ptr_array_add (argv, g_strdup ("--monitor"));
      g_ptr_array_add (argv, g_strdup ("chardev=c0"));
      break;
    case QMP_TEST_PEER_QGA:
      {
        g_autofree char *state_dir = g_build_filename (peer->dir, "qga-state", NULL);

        if (g_mkdir (state_dir, 0700) != 0)
          g_error ("qmp-test-utils: cannot create %s: %s", state_dir, g_strerror (errno));
        g_ptr_array_add (argv, g_strdup ("-m"));
        g_ptr_array_add (argv, g_strdup ("unix-listen"));
        g_ptr_array_add (argv, g_strdup ("-p"));
        g_ptr_array_add (argv, g_strdup (peer->socket_path));
        g_ptr_array_add (argv, g_strdup ("-t"));
        g_ptr_array_add (argv, g_steal_pointer (&state_dir));
        g_ptr_array_add (argv, g_strdup ("--pidfile"));
        g_ptr_array_add (argv, g_build_filename (peer->dir, "qga.pid", NULL));
      }
      break;
    default:
      g_assert_not_reached ();
    }
  for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra_args[i]));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  stderr_path = g_build_filename (peer->dir, "stderr.log", NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, stderr_path);
  g_subprocess_launcher_set_cwd (launcher, peer->dir);
  g_subprocess_launcher_set_child_setup (launcher, child_setup,
                                         GINT_TO_POINTER (getpid ()), NULL);

  peer->process = g_subprocess_launcher_spawnv (launcher,
                                                (const char * const *) argv->pdata,
                                                &error);
  if (peer->process == NULL)
    {
      peer_fail (peer, "cannot start %s: %s", binary, error->message);
      return NULL;
    }
  {
    /* NULL if the process has already exited and been reaped */
    const char *identifier = g_subprocess_get_identifier (peer->process);

    peer->pid = identifier ? (GPid) g_ascii_strtoll (identifier, NULL, 10) : 0;
  }

  peer->context = g_main_context_new ();
  g_main_context_push_thread_default (peer->context);
  g_subprocess_wait_async (peer->process, NULL, peer_wait_cb, peer);
  g_main_context_pop_thread_default (peer->context);

  deadline = g_get_monotonic_time () + PEER_START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  for (;;)
    {
      if (peer_poll_exited (peer))
        {
          g_autofree char *status = NULL;

          if (WIFEXITED (peer->wait_status))
            status = g_strdup_printf ("exit status %d", WEXITSTATUS (peer->wait_status));
          else if (WIFSIGNALED (peer->wait_status))
            status = g_strdup_printf ("signal %d", WTERMSIG (peer->wait_status));
          else
            status = g_strdup_printf ("wait status %d", peer->wait_status);
          peer_fail (peer, "%s exited (%s) before its socket %s accepted connections",
                     binary, status, peer->socket_path);
          return NULL;
        }
      if (socket_is_connectable (peer->socket_path))
        break;
      if (g_get_monotonic_time () > deadline)
        {
          peer_fail (peer, "%s: socket %s did not accept connections within %d ms",
                     binary, peer->socket_path, PEER_START_TIMEOUT_MS);
          return NULL;
        }
      g_usleep (PEER_POLL_INTERVAL_US);
    }

  qmp_test_report_peer (kind);
  return g_steal_pointer (&peer);
}

const char *
qmp_test_peer_get_address (QmpTestPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);

  return peer->address;
}

const char *
qmp_test_peer_get_dir (QmpTestPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);

  return peer->dir;
}

GPid
qmp_test_peer_get_pid (QmpTestPeer *peer)
{
  g_return_val_if_fail (peer != NULL, 0);

  return peer->pid;
}

/* 'R', 'S', 'T' … of one /proc/PID/task/TID/stat; 0 if unreadable */
static char
read_task_state (const char *stat_path)
{
  g_autofree char *contents = NULL;
  const char *paren;

  if (!g_file_get_contents (stat_path, &contents, NULL, NULL))
    return 0;
  /* "tid (comm) S …"; comm may contain spaces and parentheses. */
  paren = strrchr (contents, ')');
  if (paren == NULL || paren[1] != ' ')
    return 0;
  return paren[2];
}

/* TRUE when every thread of @pid is stopped (@want_stopped) or none is. */
static gboolean
peer_threads_are (GPid     pid,
                  gboolean want_stopped)
{
  g_autofree char *task_dir = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (task_dir, 0, NULL);
  const char *tid;

  if (dir == NULL)
    return TRUE;  /* gone: nothing to wait for */
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *stat_path = g_build_filename (task_dir, tid, "stat", NULL);
      char state = read_task_state (stat_path);
      gboolean stopped = (state == 'T' || state == 't');

      if (state == 0 || state == 'Z' || state == 'X')
        continue;
      if (stopped != want_stopped)
        return FALSE;
    }
  return TRUE;
}

void
qmp_test_peer_kill_signal (QmpTestPeer *peer,
                           int          signum)
{
  gint64 deadline;

  g_return_if_fail (peer != NULL);

  if (peer_poll_exited (peer))
    return;

  /* Not g_subprocess_send_signal(): it sends from GLib's worker thread,
   * later, and the test wants the signal to have landed on return.  The
   * peer is our unreaped child or a zombie the worker is about to reap, so
   * its pid cannot have been reused yet. */
  if (kill (peer->pid, signum) != 0)
    {
      g_assert_cmpint (errno, ==, ESRCH);
      return;
    }

  if (signum != SIGSTOP && signum != SIGCONT)
    return;

  deadline = g_get_monotonic_time () + PEER_START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (!peer_threads_are (peer->pid, signum == SIGSTOP))
    {
      if (peer_poll_exited (peer))
        return;
      if (g_get_monotonic_time () > deadline)
        {
          peer_fail (peer, "threads of pid %d did not %s within %d ms", (int) peer->pid,
                     signum == SIGSTOP ? "stop" : "continue", PEER_START_TIMEOUT_MS);
          return;
        }
      g_usleep (100);
    }
}

int
qmp_test_peer_wait_exit (QmpTestPeer *peer,
                         guint        timeout_ms)
{
  g_autoptr(GSource) timeout = NULL;
  gboolean timed_out = FALSE;

  g_return_val_if_fail (peer != NULL, -1);

  if (peer->process == NULL)
    return -1;

  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timeout, flag_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, peer->context);
  while (!peer->exited && !timed_out)
    g_main_context_iteration (peer->context, TRUE);
  g_source_destroy (timeout);

  if (!peer->exited)
    {
      peer_fail (peer, "pid %d did not exit within %u ms", (int) peer->pid, timeout_ms);
      return -1;
    }
  return peer->wait_status;
}

void
qmp_test_peer_free (QmpTestPeer *peer)
{
  if (peer == NULL)
    return;

  peer_kill_and_clean (peer);
  g_clear_object (&peer->process);
  g_clear_pointer (&peer->context, g_main_context_unref);
  g_free (peer->socket_path);
  g_free (peer->address);
  g_free (peer);
}

gboolean
qmp_test_is_slow (void)
{
  const char *value = g_getenv ("QMP_TEST_SLOW");

  return value != NULL && value[0] != '\0';
}

guint
qmp_test_scale (guint n)
{
  return qmp_test_is_slow () ? MAX (n / 50, 1) : n;
}

/* ---- scripted mock QMP server on a socket pair ---- */

struct _QmpMock
{
  GSocket *server;          /* NULL after qmp_mock_close() */
  GSocketConnection *client;
  GByteArray *input;        /* received bytes not yet returned as lines */
};

QmpMock *
qmp_mock_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) client_socket = NULL;
  QmpMock *mock;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("qmp-test-utils: socketpair: %s", g_strerror (errno));

  mock = g_new0 (QmpMock, 1);
  mock->input = g_byte_array_new ();

  mock->server = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (mock->server, TRUE);
  g_socket_set_timeout (mock->server, MOCK_TIMEOUT_S);

  client_socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  mock->client = g_socket_connection_factory_create_connection (client_socket);

  return mock;
}

GIOStream *
qmp_mock_get_client_stream (QmpMock *mock)
{
  g_return_val_if_fail (mock != NULL, NULL);

  return G_IO_STREAM (mock->client);
}

gboolean
qmp_mock_try_send_raw (QmpMock     *mock,
                       const void  *data,
                       gsize        len,
                       GError     **error)
{
  const char *p = data;

  g_return_val_if_fail (mock != NULL, FALSE);
  g_return_val_if_fail (mock->server != NULL, FALSE);

  while (len > 0)
    {
      /* GSocket sends with MSG_NOSIGNAL: a hung-up peer is an EPIPE error,
       * not a SIGPIPE. */
      gssize n = g_socket_send (mock->server, p, len, NULL, error);

      if (n < 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

void
qmp_mock_send_raw (QmpMock    *mock,
                   const void *data,
                   gsize       len)
{
  g_autoptr(GError) error = NULL;

  qmp_mock_try_send_raw (mock, data, len, &error);
  g_assert_no_error (error);
}

void
qmp_mock_send (QmpMock    *mock,
               const char *line)
{
  g_autofree char *data = g_strconcat (line, "\r\n", NULL);

  qmp_mock_send_raw (mock, data, strlen (data));
}

static JsonNode *
parse_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  if (error != NULL)
    {
      g_autofree char *msg = g_strdup_printf ("qmp-test-utils: invalid JSON in test: %s: %s",
                                              error->message, json);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
  g_assert_nonnull (node);  /* json_from_string() returns NULL for "" */
  return node;
}

/* Sends @object (consumed) as one line. */
static void
mock_send_object (QmpMock    *mock,
                  JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *line = json_to_string (node, FALSE);

  json_object_unref (object);
  qmp_mock_send (mock, line);
}

void
qmp_mock_send_greeting (QmpMock    *mock,
                        guint       major,
                        guint       minor,
                        guint       micro,
                        const char *capabilities_json)
{
  JsonObject *greeting = json_object_new ();
  JsonObject *qmp = json_object_new ();
  JsonObject *version = json_object_new ();
  JsonObject *qemu = json_object_new ();

  json_object_set_int_member (qemu, "micro", micro);
  json_object_set_int_member (qemu, "minor", minor);
  json_object_set_int_member (qemu, "major", major);
  json_object_set_object_member (version, "qemu", qemu);
  json_object_set_string_member (version, "package", "mock");
  json_object_set_object_member (qmp, "version", version);
  json_object_set_member (qmp, "capabilities",
                          parse_json (capabilities_json ? capabilities_json : "[]"));
  json_object_set_object_member (greeting, "QMP", qmp);
  mock_send_object (mock, greeting);
}

/* Reads more bytes into mock->input; FALSE at end of stream. */
static gboolean
mock_fill (QmpMock *mock)
{
  g_autoptr(GError) error = NULL;
  guint8 buffer[4096];
  gssize n;

  n = g_socket_receive (mock->server, (char *) buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  if (n <= 0)
    return FALSE;
  g_byte_array_append (mock->input, buffer, (guint) n);
  return TRUE;
}

JsonObject *
qmp_mock_receive (QmpMock *mock)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  JsonNode *root;
  guint8 *newline;
  gsize len;

  g_return_val_if_fail (mock != NULL, NULL);
  g_return_val_if_fail (mock->server != NULL, NULL);

  while (mock->input->len == 0 ||
         (newline = memchr (mock->input->data, '\n', mock->input->len)) == NULL)
    {
      if (!mock_fill (mock))
        {
          g_autofree char *msg = NULL;

          msg = g_strdup_printf ("qmp-test-utils: the library hung up instead of sending "
                                 "a line (%u bytes without newline: %.*s)",
                                 mock->input->len, (int) mock->input->len,
                                 (const char *) mock->input->data);
          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
          return NULL;
        }
    }

  len = newline - mock->input->data;
  line = g_strndup ((const char *) mock->input->data, len);
  g_byte_array_remove_range (mock->input, 0, (guint) len + 1);
  if (len > 0 && line[len - 1] == '\r')
    line[len - 1] = '\0';

  if (!json_parser_load_from_data (parser, line, -1, &error) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *msg = NULL;

      msg = g_strdup_printf ("qmp-test-utils: the library sent a line that is not "
                             "a JSON object (%s): %s",
                             error ? error->message : "not an object", line);
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}

gboolean
qmp_mock_receive_nothing (QmpMock *mock,
                          guint    msec)
{
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (mock != NULL, FALSE);
  g_return_val_if_fail (mock->server != NULL, FALSE);

  if (mock->input->len > 0)
    return FALSE;

  if (!g_socket_condition_timed_wait (mock->server, G_IO_IN,
                                      (gint64) msec * G_TIME_SPAN_MILLISECOND,
                                      NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return TRUE;
      g_assert_no_error (error);
    }

  /* Readable: a byte, or the end of the stream (which stays readable for
   * the next qmp_mock_receive() to report). */
  return !mock_fill (mock);
}

/* A new reply object with @command's "id" copied, if it has one. */
static JsonObject *
reply_new (JsonObject *command)
{
  JsonObject *reply = json_object_new ();

  g_return_val_if_fail (command != NULL, reply);

  if (json_object_has_member (command, "id"))
    json_object_set_member (reply, "id",
                            json_node_copy (json_object_get_member (command, "id")));
  return reply;
}

void
qmp_mock_reply (QmpMock    *mock,
                JsonObject *command,
                const char *return_json)
{
  JsonObject *reply = json_object_new ();
  g_autoptr(JsonObject) with_id = reply_new (command);
  g_autoptr(GList) members = json_object_get_members (with_id);

  /* {"return": …, "id": …}, as QEMU orders them */
  json_object_set_member (reply, "return", parse_json (return_json ? return_json : "{}"));
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (reply, l->data,
                            json_node_copy (json_object_get_member (with_id, l->data)));
  mock_send_object (mock, reply);
}

void
qmp_mock_reply_error (QmpMock    *mock,
                      JsonObject *command,
                      const char *klass,
                      const char *desc)
{
  JsonObject *reply = reply_new (command);
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "class", klass);
  json_object_set_string_member (error, "desc", desc);
  json_object_set_object_member (reply, "error", error);
  mock_send_object (mock, reply);
}

void
qmp_mock_send_event (QmpMock    *mock,
                     const char *name,
                     const char *data_json,
                     gint64      seconds,
                     gint64      microseconds)
{
  JsonObject *event = json_object_new ();
  JsonObject *timestamp = json_object_new ();

  json_object_set_int_member (timestamp, "seconds", seconds);
  json_object_set_int_member (timestamp, "microseconds", microseconds);
  json_object_set_object_member (event, "timestamp", timestamp);
  json_object_set_string_member (event, "event", name);
  if (data_json != NULL)
    json_object_set_member (event, "data", parse_json (data_json));
  mock_send_object (mock, event);
}

void
qmp_mock_close (QmpMock *mock)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (mock != NULL);

  if (mock->server == NULL)
    return;
  /* The peer may already be gone: a failed shutdown does not matter. */
  g_socket_shutdown (mock->server, TRUE, TRUE, NULL);
  g_socket_close (mock->server, &error);
  g_assert_no_error (error);
  g_clear_object (&mock->server);
}

void
qmp_mock_stop_reading (QmpMock *mock)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (mock != NULL && mock->server != NULL);

  g_socket_shutdown (mock->server, TRUE, FALSE, &error);
  g_assert_no_error (error);
}

void
qmp_mock_free (QmpMock *mock)
{
  if (mock == NULL)
    return;

  g_clear_object (&mock->server);  /* closes the fd if still open */
  g_clear_object (&mock->client);
  g_byte_array_unref (mock->input);
  g_free (mock);
}

#ifndef QMP_TEST_UTILS_NO_LIBRARY

/* Heap-allocated so that a construction abandoned after a (non-fatal)
 * assertion failure does not write into a dead stack frame. */
typedef struct {
  GAsyncResult *result;
  gboolean abandoned;
} ConnectState;

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConnectState *state = user_data;

  (void) source;
  if (state->abandoned)
    {
      QmpConnection *connection = qmp_connection_new_finish (result, NULL);

      g_clear_object (&connection);
      g_free (state);
      return;
    }
  state->result = g_object_ref (result);
}

static gboolean
caps_contain (const char *capabilities_json,
              const char *capability)
{
  g_autoptr(JsonNode) node = parse_json (capabilities_json ? capabilities_json : "[]");
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) &&
          json_node_get_value_type (element) == G_TYPE_STRING &&
          g_strcmp0 (json_node_get_string (element), capability) == 0)
        return TRUE;
    }
  return FALSE;
}

QmpConnection *
qmp_mock_connect (QmpMock            *mock,
                  QmpConnectionFlags  flags,
                  const char         *capabilities_json)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(GError) error = NULL;
  ConnectState *state = g_new0 (ConnectState, 1);
  gboolean want_oob;
  gboolean timed_out = FALSE;
  QmpConnection *connection;

  g_return_val_if_fail (mock != NULL, NULL);

  want_oob = (flags & QMP_CONNECTION_FLAGS_OOB) != 0 &&
             caps_contain (capabilities_json, "oob");

  timeout = g_timeout_source_new_seconds (MOCK_TIMEOUT_S);
  g_source_set_callback (timeout, flag_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, context);

  qmp_mock_send_greeting (mock, 7, 2, 0, capabilities_json);
  qmp_connection_new_async (qmp_mock_get_client_stream (mock), flags, NULL,
                            connect_cb, state);

  /* Whether or not the library needs this context to make progress before
   * it writes, wait for qmp_capabilities while iterating it. */
  while (state->result == NULL && !timed_out && qmp_mock_receive_nothing (mock, 1))
    g_main_context_iteration (context, FALSE);

  if (state->result != NULL)
    {
      result = g_steal_pointer (&state->result);
      g_free (state);
      g_source_destroy (timeout);
      connection = qmp_connection_new_finish (result, &error);
      g_assert_no_error (error);
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,
                           "qmp_connection_new_async() finished before qmp_capabilities");
      return connection;
    }
  if (!timed_out)
    {
      command = qmp_mock_receive (mock);
      g_assert_cmpstr (json_object_get_string_member_with_default (command, "execute", NULL),
                       ==, "qmp_capabilities");
      if (want_oob)
        {
          JsonObject *arguments;
          JsonArray *enable;

          g_assert_true (json_object_has_member (command, "arguments"));
          g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (command, "arguments")));
          arguments = json_object_get_object_member (command, "arguments");
          g_assert_cmpuint (json_object_get_size (arguments), ==, 1);
          g_assert_true (json_object_has_member (arguments, "enable"));
          g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (arguments, "enable")));
          enable = json_object_get_array_member (arguments, "enable");
          g_assert_cmpuint (json_array_get_length (enable), ==, 1);
          g_assert_cmpstr (json_array_get_string_element (enable, 0), ==, "oob");
        }
      else
        {
          g_assert_false (json_object_has_member (command, "arguments"));
        }
      qmp_mock_reply (mock, command, "{}");

      while (state->result == NULL && !timed_out)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);

  if (state->result == NULL)
    {
      state->abandoned = TRUE;
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,
                           command == NULL ?
                           "qmp_capabilities not received within 10 s" :
                           "qmp_connection_new_async() did not finish within 10 s");
      return NULL;
    }
  result = g_steal_pointer (&state->result);
  g_free (state);

  connection = qmp_connection_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  return connection;
}

#endif /* !QMP_TEST_UTILS_NO_LIBRARY */

/* ---- waiting for asynchronous results ---- */

void
qmp_test_store_result (GObject      *source_object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
wait_timed_out (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_until (gboolean (*done) (gpointer data),
            gpointer   data)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (30);

  g_source_set_callback (timeout, wait_timed_out, &timed_out, NULL);
  g_source_attach (timeout, context);

  while (!done (data) && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);

  if (!done (data))
    g_error ("Timed out after 30 s waiting for an asynchronous result");
}

static gboolean
slot_is_set (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

static gboolean
flag_is_set (gpointer data)
{
  return *(gboolean *) data;
}

GAsyncResult *
qmp_test_wait_result (GAsyncResult **slot)
{
  wait_until (slot_is_set, slot);
  return g_steal_pointer (slot);
}

void
qmp_test_wait_flag (gboolean *flag)
{
  wait_until (flag_is_set, flag);
}

int
qmp_test_socket_unread_bytes (GSocket *socket)
{
  int n = -1;

  g_assert_cmpint (ioctl (g_socket_get_fd (socket), SIOCOUTQ, &n), ==, 0);
  return n;
}

gsize
qmp_test_heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

gboolean
qmp_test_heap_measurable (void)
{
  gsize before = qmp_test_heap_in_use ();
  g_autofree char *block = g_malloc (1024 * 1024);
  gsize after;

  memset (block, 1, 1024 * 1024);
  after = qmp_test_heap_in_use ();
  return after >= before + 1024 * 1024;
}

#ifndef QMP_TEST_UTILS_NO_LIBRARY

/* ---- commands of a QmpTestServer, held for the test ---- */

struct _QmpTestHeld
{
  QmpTestServer *server;
  GQueue commands;          /* QmpTestServerCommand, not taken yet */
};

static gboolean
held_on_command (QmpTestServer        *server,
                 QmpTestServerCommand *command,
                 gpointer              user_data)
{
  QmpTestHeld *held = user_data;

  g_queue_push_tail (&held->commands, g_object_ref (command));
  return TRUE;
}

QmpTestHeld *
qmp_test_held_new (QmpTestServer *server)
{
  QmpTestHeld *held = g_new0 (QmpTestHeld, 1);

  held->server = g_object_ref (server);
  g_queue_init (&held->commands);
  g_signal_connect (server, "command", G_CALLBACK (held_on_command), held);
  return held;
}

guint
qmp_test_held_get_length (QmpTestHeld *held)
{
  return held->commands.length;
}

static gboolean
held_has_command (gpointer data)
{
  return ((QmpTestHeld *) data)->commands.length > 0;
}

QmpTestServerCommand *
qmp_test_held_next (QmpTestHeld *held,
                    const char  *name)
{
  QmpTestServerCommand *command;

  wait_until (held_has_command, held);
  command = g_queue_pop_head (&held->commands);
  if (name != NULL)
    g_assert_cmpstr (qmp_test_server_command_get_name (command), ==, name);
  return command;
}

void
qmp_test_held_reply (QmpTestHeld *held,
                     const char  *name,
                     const char  *return_json)
{
  g_autoptr(QmpTestServerCommand) command = qmp_test_held_next (held, name);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  if (return_json != NULL)
    {
      ret = json_from_string (return_json, &error);
      g_assert_no_error (error);
    }
  qmp_test_server_command_reply (command, ret);
}

void
qmp_test_held_free (QmpTestHeld *held)
{
  if (held == NULL)
    return;
  g_signal_handlers_disconnect_by_data (held->server, held);
  g_queue_clear_full (&held->commands, g_object_unref);
  g_object_unref (held->server);
  g_free (held);
}

QmpConnection *
qmp_test_peer_connect (QmpTestPeer        *peer,
                       QmpConnectionFlags  flags)
{
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;

  g_assert_nonnull (peer);
  connection = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (peer), flags,
                                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);

  return connection;
}

JsonObject *
qmp_test_tagged_arguments (guint thread,
                           guint i)
{
  JsonObject *arguments = json_object_new ();
  g_autofree char *path = g_strdup_printf ("/qmp-test/t%u/i%u", thread, i);

  json_object_set_string_member (arguments, "path", path);

  return arguments;
}

void
qmp_test_assert_tagged_error (const GError *error,
                              guint         thread,
                              guint         i)
{
  g_autofree char *expected = g_strdup_printf ("Device '/qmp-test/t%u/i%u' not found", thread, i);

  g_assert_error (error, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, expected);
}

QmpConnection *
qmp_test_guest_agent_connect (QmpTestPeer *peer)
{
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;

  g_assert_nonnull (peer);
  for (guint i = 0; ; i++)
    {
      connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                                   "address", qmp_test_peer_get_address (peer),
                                   "flags", QMP_CONNECTION_FLAGS_GUEST_AGENT,
                                   "timeout", 10000,
                                   NULL);
      if (connection != NULL || i == 500 ||
          !(g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
            g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)))
        break;
      g_clear_error (&error);
      g_usleep (10 * 1000);
    }
  g_assert_no_error (error);
  qmp_connection_set_timeout (connection, 0);

  return connection;
}

/* ---- a process out of descriptors ---- */

gboolean
qmp_test_trap_subprocess_in_tmp_dir (guint64 usec_timeout)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tmpdir = NULL;

  if (g_test_subprocess ())
    return TRUE;

  tmpdir = g_strdup (g_getenv ("TMPDIR"));
  /* g_get_tmp_dir() reads TMPDIR once: this process's is fixed already,
   * and the subprocess's is the new directory. */
  dir = g_dir_make_tmp ("qmp-test-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("TMPDIR", dir, TRUE);
  g_test_trap_subprocess (NULL, usec_timeout, G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (tmpdir != NULL)
    g_setenv ("TMPDIR", tmpdir, TRUE);
  else
    g_unsetenv ("TMPDIR");

  remove_recursively (dir);
  g_test_trap_assert_passed ();
  return FALSE;
}

static double
process_cpu_seconds (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct _QmpTestFdsFull
{
  GArray *clients;              /* int, one a path; -1 once taken */
  GArray *fillers;              /* int, NULL once released */
  struct rlimit limit;          /* as it was */
};

QmpTestFdsFull *
qmp_test_fds_full_new (const char * const *paths)
{
  QmpTestFdsFull *full = g_new0 (QmpTestFdsFull, 1);
  struct rlimit lowered;
  gint64 wall;
  double cpu;
  int fd;

  full->clients = g_array_new (FALSE, FALSE, sizeof (int));
  full->fillers = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      g_assert_cmpint (fd, >=, 0);
      g_array_append_val (full->clients, fd);
    }
  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_array_append_val (full->fillers, fd);

  /* A small table, filled: the hard limit stays (valgrind allows no
   * other change) */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &full->limit), ==, 0);
  lowered = full->limit;
  lowered.rlim_cur = MIN (full->limit.rlim_cur, 128);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &lowered), ==, 0);
  while ((fd = fcntl (g_array_index (full->fillers, int, 0), F_DUPFD_CLOEXEC, 0)) >= 0)
    g_array_append_val (full->fillers, fd);
  g_assert_cmpint (errno, ==, EMFILE);

  /* Each client waits in its listener's backlog: connect() takes no
   * descriptor, accept() would */
  for (guint i = 0; paths[i] != NULL; i++)
    {
      struct sockaddr_un address = { .sun_family = AF_UNIX };

      g_assert_cmpuint (strlen (paths[i]), <, sizeof address.sun_path);
      strcpy (address.sun_path, paths[i]);
      g_assert_cmpint (connect (g_array_index (full->clients, int, i),
                                (struct sockaddr *) &address, sizeof address), ==, 0);
    }
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);

  /* A spin takes a whole core (more than half of one on a busy machine);
   * waiting for a timer, almost nothing. */
  wall = g_get_monotonic_time ();
  cpu = process_cpu_seconds ();
  g_usleep (G_USEC_PER_SEC);
  cpu = process_cpu_seconds () - cpu;
  wall = g_get_monotonic_time () - wall;
  g_test_message ("CPU while out of descriptors: %.3f s in %.3f s", cpu, wall / 1e6);
  g_assert_cmpfloat (cpu, <, 0.25 * wall / 1e6);

  /* None was accepted: no greeting.  (Under valgrind, which keeps the
   * lowered limit to itself, accept() still succeeds: run the test
   * natively.) */
  for (guint i = 0; i < full->clients->len; i++)
    {
      struct pollfd pfd = { g_array_index (full->clients, int, i), POLLIN, 0 };

      g_assert_cmpint (poll (&pfd, 1, 0), ==, 0);
    }

  return full;
}

void
qmp_test_fds_full_release (QmpTestFdsFull *full)
{
  if (full->fillers == NULL)
    return;

  for (guint i = 0; i < full->fillers->len; i++)
    close (g_array_index (full->fillers, int, i));
  g_clear_pointer (&full->fillers, g_array_unref);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &full->limit), ==, 0);
}

QmpConnection *
qmp_test_fds_full_connect (QmpTestFdsFull *full,
                           guint           i)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;

  g_assert_null (full->fillers);
  g_assert_cmpuint (i, <, full->clients->len);
  g_assert_cmpint (g_array_index (full->clients, int, i), >=, 0);

  socket = g_socket_new_from_fd (g_array_index (full->clients, int, i), &error);
  g_assert_no_error (error);
  g_array_index (full->clients, int, i) = -1;
  stream = g_socket_connection_factory_create_connection (socket);
  connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
                               "stream", stream,
                               "timeout", 5000,
                               NULL);
  g_assert_no_error (error);

  return connection;
}

void
qmp_test_fds_full_assert_hung_up (QmpTestFdsFull *full,
                                  guint           i)
{
  struct pollfd pfd = { -1, POLLIN, 0 };
  char byte;

  g_assert_cmpuint (i, <, full->clients->len);
  pfd.fd = g_array_index (full->clients, int, i);
  g_assert_cmpint (pfd.fd, >=, 0);
  g_assert_cmpint (poll (&pfd, 1, 5000), ==, 1);
  /* The end of the stream, or a reset: no greeting */
  g_assert_cmpint (recv (pfd.fd, &byte, 1, MSG_DONTWAIT), <=, 0);
}

void
qmp_test_fds_full_free (QmpTestFdsFull *full)
{
  if (full == NULL)
    return;

  qmp_test_fds_full_release (full);
  for (guint i = 0; i < full->clients->len; i++)
    if (g_array_index (full->clients, int, i) >= 0)
      close (g_array_index (full->clients, int, i));
  g_array_unref (full->clients);
  g_free (full);
}

#endif /* !QMP_TEST_UTILS_NO_LIBRARY */
