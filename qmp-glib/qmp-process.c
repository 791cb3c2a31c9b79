/* qmp-process.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE  /* memfd_create() */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include "qmp-commands.h"
#include "qmp-connection-private.h"
#include "qmp-enums.h"
#include "qmp-init-private.h"
#include "qmp-process.h"
#include "qmp-sync-private.h"

/**
 * QmpProcess:
 *
 * A QEMU (or qemu-storage-daemon) that the library launches, with a ready
 * [class@Qmp.Connection] to it.
 *
 * The monitor is one end of a socket pair handed to QEMU as
 * `-chardev socket,id=…,fd=N`: no socket file, no race for it, nothing to
 * clean up.  QEMU's standard error is kept during start-up (up to 1 MiB),
 * so that a QEMU that dies then fails construction with its own message;
 * what QEMU writes there later is discarded, so that a chatty or hostile
 * QEMU cannot fill the program's memory with it.  No QEMU
 * outlives its #QmpProcess: the process is killed when the object is
 * finalized, and by the kernel when the program that launched it dies.
 *
 * ```c
 * const char *argv[] = { "qemu-system-x86_64", "-M", "none", "-display", "none", NULL };
 * g_autoptr(QmpProcess) process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE,
 *                                                      NULL, &error);
 * QmpConnection *connection = qmp_process_get_connection (process);
 * ...
 * qmp_process_shutdown_sync (process, NULL, &error);
 * ```
 *
 * Since: 1.0
 */

struct _QmpProcess
{
  GObject parent_instance;

  GStrv argv;                   /* as given, without the monitor options */
  QmpConnectionFlags flags;
  guint shutdown_timeout_msec;

  GUnixFDList *fd_list;         /* nullable: for QEMU, until it is spawned */

  GSubprocess *subprocess;
  QmpConnection *connection;
  int stderr_fd;                /* a memfd with QEMU's standard error, until
                                 * start-up is over */
  GMainContext *context;        /* where "exited" is emitted */
  GCancellable *exit_watch;     /* cancels the wait for the exit */
  gboolean exited;
};

enum {
  PROP_0,
  PROP_ARGV,
  PROP_FLAGS,
  PROP_CONNECTION,
  PROP_SUBPROCESS,
  PROP_SHUTDOWN_TIMEOUT,
  N_PROPS
};

enum {
  SIGNAL_EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (QmpProcess, qmp_process, G_TYPE_OBJECT)

#define DEFAULT_SHUTDOWN_TIMEOUT 10000
#define START_TIMEOUT 30000
#define STDERR_KEEP 4096
/* What QEMU may write to its standard error until start-up is over: the
 * file cannot grow past it (QEMU's writes beyond fail, unseen). */
#define STDERR_CAPACITY (1024 * 1024)

/* A file for QEMU's standard error during start-up: a memfd of
 * STDERR_CAPACITY bytes, sparse until written, sealed against growing.
 * QEMU shares its offset (the same open file), which says how much it
 * wrote.  -1 if the kernel cannot make one: QEMU then writes to the
 * program's standard error. */
static int
stderr_file_new (void)
{
  int fd = memfd_create ("qemu-stderr", MFD_CLOEXEC | MFD_ALLOW_SEALING);

  if (fd < 0)
    return -1;

  if (ftruncate (fd, STDERR_CAPACITY) < 0 || fcntl (fd, F_ADD_SEALS, F_SEAL_GROW) < 0)
    {
      close (fd);
      return -1;
    }

  return fd;
}

/* Start-up is over: what QEMU writes from now on is not kept.  The file
 * is emptied, which frees what it held; QEMU's offset stays where it was,
 * so each later write would grow the file, and fails. */
static void
stderr_file_release (QmpProcess *self)
{
  if (self->stderr_fd < 0)
    return;

  if (ftruncate (self->stderr_fd, 0) < 0)
    g_debug ("Could not empty QEMU's standard error file: %s", g_strerror (errno));
  close (self->stderr_fd);
  self->stderr_fd = -1;
}

/* The last STDERR_KEEP bytes that QEMU wrote to its standard error,
 * stripped. */
static char *
read_stderr (QmpProcess *self)
{
  char buffer[STDERR_KEEP + 1];
  off_t end, start;
  ssize_t n;

  if (self->stderr_fd < 0)
    return g_strdup ("");

  /* QEMU's offset, not the file's size (STDERR_CAPACITY); pread() leaves
   * it alone. */
  end = lseek (self->stderr_fd, 0, SEEK_CUR);
  if (end <= 0)
    return g_strdup ("");
  start = MAX (0, end - STDERR_KEEP);

  n = pread (self->stderr_fd, buffer, end - start, start);
  if (n < 0)
    return g_strdup ("");
  buffer[n] = '\0';

  return g_strstrip (g_utf8_make_valid (buffer, n));
}

static void
child_setup (gpointer user_data)
{
  /* The kernel kills QEMU when the thread that launched it dies, even by a
   * crash; and if that already happened, QEMU does not start at all. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    _exit (1);
}

static gboolean
is_storage_daemon (const char *program)
{
  g_autofree char *base = g_path_get_basename (program);

  return strstr (base, "storage-daemon") != NULL;
}

static GSubprocess *
spawn (QmpProcess  *self,
       int          monitor_fd,
       GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  /* The monitor's fd in QEMU: after stdin, stdout and stderr. */
  const int target_fd = 3;
  g_autofree char *chardev = g_strdup_printf ("socket,id=qmp-glib,fd=%d", target_fd);
  GSubprocess *subprocess;
  int n_fds = self->fd_list ? g_unix_fd_list_get_length (self->fd_list) : 0;

  for (guint i = 0; self->argv[i] != NULL; i++)
    g_ptr_array_add (argv, self->argv[i]);

  if (is_storage_daemon (self->argv[0]))
    {
      g_ptr_array_add (argv, "--chardev");
      g_ptr_array_add (argv, chardev);
      g_ptr_array_add (argv, "--monitor");
      g_ptr_array_add (argv, "chardev=qmp-glib,mode=control");
    }
  else
    {
      g_ptr_array_add (argv, "-chardev");
      g_ptr_array_add (argv, chardev);
      g_ptr_array_add (argv, "-mon");
      g_ptr_array_add (argv, "chardev=qmp-glib,mode=control");
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

  /* The caller's descriptors become QMP_PROCESS_FIRST_FD, … in QEMU.  Every
   * source is moved above all the targets first, so that no dup2() in the
   * child overwrites a source still to be moved. */
  if (n_fds > 0)
    {
      const int *fds = g_unix_fd_list_peek_fds (self->fd_list, NULL);
      int above = QMP_PROCESS_FIRST_FD + n_fds;
      int moved = fcntl (monitor_fd, F_DUPFD_CLOEXEC, above);

      if (moved < 0)
        {
          int saved_errno = errno;

          close (monitor_fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not duplicate a file descriptor: %s"), g_strerror (saved_errno));
          return NULL;
        }
      close (monitor_fd);
      monitor_fd = moved;

      for (int i = 0; i < n_fds; i++)
        {
          int copy = fcntl (fds[i], F_DUPFD_CLOEXEC, above);

          if (copy < 0)
            {
              int saved_errno = errno;

              close (monitor_fd);
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           _("Could not duplicate a file descriptor: %s"), g_strerror (saved_errno));
              return NULL;   /* the launcher closes the copies it took */
            }
          g_subprocess_launcher_take_fd (launcher, copy, QMP_PROCESS_FIRST_FD + i);
        }
    }

  g_subprocess_launcher_take_fd (launcher, monitor_fd, target_fd);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  self->stderr_fd = stderr_file_new ();
  if (self->stderr_fd >= 0)
    {
      int child_stderr = dup (self->stderr_fd);

      if (child_stderr >= 0)
        g_subprocess_launcher_take_stderr_fd (launcher, child_stderr);
    }

  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (subprocess == NULL)
    g_prefix_error (error, _("Could not start %s: "), self->argv[0]);

  return subprocess;
}

/* ------------------------------------------------------------ exiting */

static void
weak_ref_free (GWeakRef *weak)
{
  g_weak_ref_clear (weak);
  g_free (weak);
}

static void
on_exited (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr(QmpProcess) self = g_weak_ref_get (weak);

  weak_ref_free (weak);

  /* Cancelled: the process object is going away. */
  if (!g_subprocess_wait_finish (G_SUBPROCESS (source_object), result, NULL) || self == NULL)
    return;

  self->exited = TRUE;
  g_signal_emit (self, signals[SIGNAL_EXITED], 0,
                 g_subprocess_get_status (self->subprocess));
}

/* Watches for the exit from the thread-default context, which must be the
 * caller's (not a private one).  The watch holds no reference: dropping
 * the last one must kill QEMU, not wait for it. */
static void
watch_exit (QmpProcess *self)
{
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  self->exit_watch = g_cancellable_new ();
  g_subprocess_wait_async (self->subprocess, self->exit_watch, on_exited, weak);
}

/* ----------------------------------------------------------- starting */

static void
on_start_waited (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpProcess *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *stderr_text = NULL;
  g_autofree char *status = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source_object), result, &error))
    {
      /* It did not exit: it is alive but not talking QMP.  The error of
       * the construction says why, not the wait's cancellation. */
      g_subprocess_force_exit (self->subprocess);
      g_task_return_error (task, g_error_copy (g_task_get_task_data (task)));
      return;
    }

  if (g_subprocess_get_if_exited (self->subprocess))
    status = g_strdup_printf (_("exit status %d"), g_subprocess_get_exit_status (self->subprocess));
  else
    status = g_strdup_printf (_("signal %d"), g_subprocess_get_term_sig (self->subprocess));

  stderr_text = read_stderr (self);
  self->exited = TRUE;

  /* QEMU's own words are the useful part: a bad argument reads as QEMU's
   * message, not as "connection closed". */
  if (*stderr_text != '\0')
    g_task_return_new_error (task, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                             _("%s exited during start-up (%s): %s"),
                             self->argv[0], status, stderr_text);
  else
    g_task_return_new_error (task, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                             _("%s exited during start-up (%s)"),
                             self->argv[0], status);
}

static gboolean
cancel_on_timeout (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_connected (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpProcess *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) wait_cancellable = NULL;
  GSource *timeout;

  self->connection = qmp_connection_new_finish (result, &error);
  if (self->connection != NULL)
    {
      /* Constructed in qmp_process_new_sync()'s private context: its
       * signals belong to the context the process was created in. */
      _qmp_connection_set_context (self->connection, self->context);
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_subprocess_force_exit (self->subprocess);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Most likely QEMU died (a bad argument): wait a little for its exit to
   * say why; if it lives on, the construction's error is the answer. */
  g_task_set_task_data (task, g_error_copy (error), (GDestroyNotify) g_error_free);
  wait_cancellable = g_cancellable_new ();
  timeout = g_timeout_source_new (2000);
  g_source_set_callback (timeout, cancel_on_timeout, g_object_ref (wait_cancellable), g_object_unref);
  g_source_attach (timeout, g_task_get_context (task));
  g_source_unref (timeout);

  g_subprocess_wait_async (self->subprocess, wait_cancellable, on_start_waited, g_steal_pointer (&task));
}

static void
process_start_async (QmpProcess          *self,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  GError *error = NULL;
  int fds[2];

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, process_start_async);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               _("Could not create a socket pair: %s"), g_strerror (saved_errno));
      return;
    }

  /* fds[1] goes to QEMU (the launcher closes it here once spawned). */
  self->subprocess = spawn (self, fds[1], &error);
  g_clear_object (&self->fd_list);
  if (self->subprocess == NULL)
    {
      close (fds[0]);
      g_task_return_error (task, error);
      return;
    }

  socket = g_socket_new_from_fd (fds[0], &error);
  if (socket == NULL)
    {
      close (fds[0]);
      g_subprocess_force_exit (self->subprocess);
      g_task_return_error (task, error);
      return;
    }
  stream = g_socket_connection_factory_create_connection (socket);

  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, cancellable,
                              on_connected, g_steal_pointer (&task),
                              "stream", stream,
                              "flags", self->flags,
                              "timeout", START_TIMEOUT,
                              NULL);
}

static gboolean
process_start_finish (QmpProcess    *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  /* A QEMU that failed to start was quoted already. */
  stderr_file_release (self);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;

  /* Calls made later are not bounded by the start-up timeout. */
  qmp_connection_set_timeout (self->connection, 0);
  return TRUE;
}

/* ---------------------------------------------------------- GObject */

static void
qmp_process_dispose (GObject *object)
{
  QmpProcess *self = QMP_PROCESS (object);

  if (self->exit_watch != NULL)
    g_cancellable_cancel (self->exit_watch);

  /* No QEMU outlives its QmpProcess. */
  if (self->subprocess != NULL && !self->exited &&
      g_subprocess_get_identifier (self->subprocess) != NULL)
    g_subprocess_force_exit (self->subprocess);

  g_clear_object (&self->connection);

  G_OBJECT_CLASS (qmp_process_parent_class)->dispose (object);
}

static void
qmp_process_finalize (GObject *object)
{
  QmpProcess *self = QMP_PROCESS (object);

  g_clear_object (&self->exit_watch);
  g_clear_object (&self->fd_list);
  g_clear_object (&self->subprocess);
  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->context, g_main_context_unref);
  stderr_file_release (self);

  G_OBJECT_CLASS (qmp_process_parent_class)->finalize (object);
}

static void
qmp_process_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  QmpProcess *self = QMP_PROCESS (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      g_value_set_boxed (value, self->argv);
      break;

    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;

    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;

    case PROP_SUBPROCESS:
      g_value_set_object (value, self->subprocess);
      break;

    case PROP_SHUTDOWN_TIMEOUT:
      g_value_set_uint (value, self->shutdown_timeout_msec);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_process_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  QmpProcess *self = QMP_PROCESS (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      self->argv = g_value_dup_boxed (value);
      break;

    case PROP_FLAGS:
      self->flags = g_value_get_flags (value);
      break;

    case PROP_SHUTDOWN_TIMEOUT:
      qmp_process_set_shutdown_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_process_class_init (QmpProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _qmp_init_i18n ();

  object_class->dispose = qmp_process_dispose;
  object_class->finalize = qmp_process_finalize;
  object_class->get_property = qmp_process_get_property;
  object_class->set_property = qmp_process_set_property;

  /**
   * QmpProcess:argv: (getter get_argv)
   *
   * The command line of QEMU, without the monitor options that the
   * process adds.
   *
   * Since: 1.0
   */
  properties[PROP_ARGV] =
    g_param_spec_boxed ("argv", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpProcess:flags:
   *
   * The flags of the connection to QEMU.
   *
   * Since: 1.0
   */
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL,
                        QMP_TYPE_CONNECTION_FLAGS,
                        QMP_CONNECTION_FLAGS_NONE,
                        (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpProcess:connection: (getter get_connection)
   *
   * The connection to QEMU's monitor.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL,
                         QMP_TYPE_CONNECTION,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpProcess:subprocess: (getter get_subprocess)
   *
   * The QEMU process.
   *
   * Since: 1.0
   */
  properties[PROP_SUBPROCESS] =
    g_param_spec_object ("subprocess", NULL, NULL,
                         G_TYPE_SUBPROCESS,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpProcess:shutdown-timeout: (getter get_shutdown_timeout) (setter set_shutdown_timeout)
   *
   * How long, in milliseconds, [method@Qmp.Process.shutdown_async] waits
   * for QEMU to exit after `quit` before it kills it.
   *
   * Since: 1.0
   */
  properties[PROP_SHUTDOWN_TIMEOUT] =
    g_param_spec_uint ("shutdown-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_SHUTDOWN_TIMEOUT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QmpProcess::exited:
   * @self: a #QmpProcess
   * @wait_status: the wait status of QEMU, as g_subprocess_get_status()
   *   gives it
   *
   * Emitted once when QEMU exited, in the main context that was the
   * thread-default one when @self was constructed.
   *
   * Since: 1.0
   */
  signals[SIGNAL_EXITED] =
    g_signal_new ("exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
qmp_process_init (QmpProcess *self)
{
  self->stderr_fd = -1;
  self->shutdown_timeout_msec = DEFAULT_SHUTDOWN_TIMEOUT;
  self->context = g_main_context_ref_thread_default ();
}

/* ------------------------------------------------------- public API */

static gboolean
argv_is_valid (const char * const *argv)
{
  return argv != NULL && argv[0] != NULL && argv[0][0] != '\0';
}

static void
on_started (GObject      *source_object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpProcess *self = QMP_PROCESS (source_object);
  GError *error = NULL;

  if (!process_start_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  watch_exit (self);
  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

/**
 * qmp_process_new_async:
 * @argv: (array zero-terminated=1): the command line of QEMU, such as
 *   `{ "qemu-system-x86_64", "-M", "none", "-display", "none", NULL }`;
 *   the program is looked up in `PATH`
 * @flags: flags for the connection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU is ready or failed to start
 * @user_data: (closure callback): data for @callback
 *
 * Launches QEMU (or qemu-storage-daemon, recognised by its name) with a
 * QMP monitor on a socket pair and connects to it.
 *
 * The kernel kills QEMU when the thread that called this function ends,
 * so call it from a thread that lives as long as QEMU should (usually the
 * main thread).
 *
 * ```c
 * const char *argv[] = { "qemu-system-x86_64", "-M", "q35", "-display", "none", NULL };
 *
 * qmp_process_new_async (argv, QMP_CONNECTION_FLAGS_NONE, NULL, on_process_ready, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_process_new_async (const char * const  *argv,
                       QmpConnectionFlags   flags,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(QmpProcess) self = NULL;
  GTask *task;

  g_return_if_fail (argv_is_valid (argv));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  self = g_object_new (QMP_TYPE_PROCESS, "argv", argv, "flags", flags, NULL);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_process_new_async);

  process_start_async (self, cancellable, on_started, task);
}

/**
 * qmp_process_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Qmp.Process.new_async].
 *
 * If QEMU exited during start-up, the error (%G_SPAWN_ERROR_FAILED) quotes
 * what QEMU wrote to its standard error.
 *
 * ```c
 * static void
 * on_process_ready (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(QmpProcess) process = qmp_process_new_finish (result, &error);
 *
 *   if (process == NULL)
 *     g_warning ("QEMU did not start: %s", error->message);
 * }
 * ```
 *
 * Returns: (transfer full): a #QmpProcess with a ready connection, or
 *   %NULL on error
 *
 * Since: 1.0
 */
QmpProcess *
qmp_process_new_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_process_new_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_process_new_sync:
 * @argv: (array zero-terminated=1): the command line of QEMU
 * @flags: flags for the connection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Launches QEMU with a QMP monitor on a socket pair and connects to it,
 * blocking the calling thread.  See [func@Qmp.Process.new_async].
 *
 * ```c
 * const char *argv[] = { "qemu-system-x86_64", "-M", "none", "-display", "none", NULL };
 * g_autoptr(QmpProcess) process = qmp_process_new_sync (argv, QMP_CONNECTION_FLAGS_NONE,
 *                                                       NULL, &error);
 * ```
 *
 * Returns: (transfer full): a #QmpProcess with a ready connection, or
 *   %NULL on error
 *
 * Since: 1.0
 */
QmpProcess *
qmp_process_new_sync (const char * const  *argv,
                      QmpConnectionFlags   flags,
                      GCancellable        *cancellable,
                      GError             **error)
{
  g_autoptr(QmpProcess) self = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (argv_is_valid (argv), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Constructed here, so "exited" goes to this thread's context. */
  self = g_object_new (QMP_TYPE_PROCESS, "argv", argv, "flags", flags, NULL);

  _QMP_RUN_IN_PRIVATE_CONTEXT (result, process_start_async (self, cancellable, _qmp_store_result, &result));

  if (!process_start_finish (self, result, error))
    return NULL;

  watch_exit (self);

  return g_steal_pointer (&self);
}

/**
 * qmp_process_new_with_fds_async:
 * @argv: (array zero-terminated=1): the command line of QEMU
 * @fd_list: (nullable): descriptors for QEMU
 * @flags: flags for the connection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU is ready or failed to start
 * @user_data: (closure callback): data for @callback
 *
 * [func@Qmp.Process.new_async], handing QEMU the descriptors of @fd_list
 * the way [method@Gio.SubprocessLauncher.take_fd] does: descriptor `i` of
 * the list is descriptor %QMP_PROCESS_FIRST_FD + `i` in QEMU, for options
 * such as `-add-fd fd=4,set=1` or `-netdev tap,id=n0,fd=5`.  The call
 * duplicates them: the caller keeps @fd_list and its descriptors, and
 * may close them as soon as this returns.  Finish it with
 * [ctor@Qmp.Process.new_with_fds_finish].
 *
 * ```c
 * const char *argv[] = { "qemu-system-x86_64", "-M", "none", "-display", "none",
 *                        "-netdev", "tap,id=n0,fd=4", NULL };
 *
 * qmp_process_new_with_fds_async (argv, fds, QMP_CONNECTION_FLAGS_NONE, NULL, on_launched, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_process_new_with_fds_async (const char * const  *argv,
                                GUnixFDList         *fd_list,
                                QmpConnectionFlags   flags,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(QmpProcess) self = NULL;
  GTask *task;

  g_return_if_fail (argv_is_valid (argv));
  g_return_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  self = g_object_new (QMP_TYPE_PROCESS, "argv", argv, "flags", flags, NULL);
  g_set_object (&self->fd_list, fd_list);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_process_new_async);

  process_start_async (self, cancellable, on_started, task);
}

/**
 * qmp_process_new_with_fds_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Qmp.Process.new_with_fds_async].
 *
 * ```c
 * g_autoptr(QmpProcess) process = qmp_process_new_with_fds_finish (result, &error);
 * ```
 *
 * Returns: (transfer full): a #QmpProcess with a ready connection, or
 *   %NULL on error
 *
 * Since: 1.0
 */
QmpProcess *
qmp_process_new_with_fds_finish (GAsyncResult  *result,
                                 GError       **error)
{
  return qmp_process_new_finish (result, error);
}

/**
 * qmp_process_new_with_fds_sync:
 * @argv: (array zero-terminated=1): the command line of QEMU
 * @fd_list: (nullable): descriptors for QEMU
 * @flags: flags for the connection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * [ctor@Qmp.Process.new_sync], handing QEMU the descriptors of @fd_list;
 * see [func@Qmp.Process.new_with_fds_async].
 *
 * ```c
 * // the disk image as descriptor set 1, opened read-only by QEMU
 * g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
 * const char *argv[] = { "qemu-system-x86_64", "-M", "none", "-display", "none",
 *                        "-add-fd", "fd=4,set=1,opaque=disk.img", NULL };
 *
 * g_unix_fd_list_append (fds, image_fd, &error);
 * process = qmp_process_new_with_fds_sync (argv, fds, QMP_CONNECTION_FLAGS_NONE,
 *                                          NULL, &error);
 * ```
 *
 * Returns: (transfer full): a #QmpProcess with a ready connection, or
 *   %NULL on error
 *
 * Since: 1.0
 */
QmpProcess *
qmp_process_new_with_fds_sync (const char * const  *argv,
                               GUnixFDList         *fd_list,
                               QmpConnectionFlags   flags,
                               GCancellable        *cancellable,
                               GError             **error)
{
  g_autoptr(QmpProcess) self = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (argv_is_valid (argv), NULL);
  g_return_val_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (QMP_TYPE_PROCESS, "argv", argv, "flags", flags, NULL);
  g_set_object (&self->fd_list, fd_list);

  _QMP_RUN_IN_PRIVATE_CONTEXT (result, process_start_async (self, cancellable, _qmp_store_result, &result));

  if (!process_start_finish (self, result, error))
    return NULL;

  watch_exit (self);

  return g_steal_pointer (&self);
}

/**
 * qmp_process_get_connection: (get-property connection)
 * @self: a #QmpProcess
 *
 * Gets the connection to QEMU's monitor.
 *
 * ```c
 * QmpConnection *connection = qmp_process_get_connection (process);
 *
 * qmp_connection_stop_sync (connection, NULL, &error);
 * ```
 *
 * Returns: (transfer none): the connection
 *
 * Since: 1.0
 */
QmpConnection *
qmp_process_get_connection (QmpProcess *self)
{
  g_return_val_if_fail (QMP_IS_PROCESS (self), NULL);

  return self->connection;
}

/**
 * qmp_process_get_subprocess: (get-property subprocess)
 * @self: a #QmpProcess
 *
 * Gets the QEMU process.
 *
 * ```c
 * GSubprocess *subprocess = qmp_process_get_subprocess (process);
 *
 * g_print ("QEMU runs as process %s\n", g_subprocess_get_identifier (subprocess));
 * ```
 *
 * Returns: (transfer none): the subprocess
 *
 * Since: 1.0
 */
GSubprocess *
qmp_process_get_subprocess (QmpProcess *self)
{
  g_return_val_if_fail (QMP_IS_PROCESS (self), NULL);

  return self->subprocess;
}

/**
 * qmp_process_get_argv: (get-property argv)
 * @self: a #QmpProcess
 *
 * Gets QEMU's command line, without the monitor options.
 *
 * ```c
 * const char * const *argv = qmp_process_get_argv (process);
 * g_autofree char *line = g_strjoinv (" ", (char **) argv);
 * ```
 *
 * Returns: (transfer none) (array zero-terminated=1): the command line
 *
 * Since: 1.0
 */
const char * const *
qmp_process_get_argv (QmpProcess *self)
{
  g_return_val_if_fail (QMP_IS_PROCESS (self), NULL);

  return (const char * const *) self->argv;
}

/**
 * qmp_process_get_shutdown_timeout: (get-property shutdown-timeout)
 * @self: a #QmpProcess
 *
 * Gets how long a shutdown waits before it kills QEMU.
 *
 * ```c
 * guint timeout_msec = qmp_process_get_shutdown_timeout (process);
 * ```
 *
 * Returns: the timeout in milliseconds
 *
 * Since: 1.0
 */
guint
qmp_process_get_shutdown_timeout (QmpProcess *self)
{
  g_return_val_if_fail (QMP_IS_PROCESS (self), 0);

  return self->shutdown_timeout_msec;
}

/**
 * qmp_process_set_shutdown_timeout: (set-property shutdown-timeout)
 * @self: a #QmpProcess
 * @timeout_msec: the timeout in milliseconds
 *
 * Sets how long [method@Qmp.Process.shutdown_async] waits for QEMU to
 * exit after `quit` before it kills it.
 *
 * ```c
 * // A guest gets 30 s to power off before QEMU is killed.
 * qmp_process_set_shutdown_timeout (process, 30000);
 * ```
 *
 * Since: 1.0
 */
void
qmp_process_set_shutdown_timeout (QmpProcess *self,
                                  guint       timeout_msec)
{
  g_return_if_fail (QMP_IS_PROCESS (self));

  if (self->shutdown_timeout_msec != timeout_msec)
    {
      self->shutdown_timeout_msec = timeout_msec;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHUTDOWN_TIMEOUT]);
    }
}

/* ------------------------------------------------------------ shutdown */

typedef struct
{
  GCancellable *wait_cancellable;   /* fires on the timeout or the caller's */
  GCancellable *caller_cancellable;
  gulong caller_cancelled_id;
  GSource *timeout;
} ShutdownData;

static void
shutdown_data_free (gpointer data)
{
  ShutdownData *shutdown = data;

  if (shutdown->timeout != NULL)
    {
      g_source_destroy (shutdown->timeout);
      g_source_unref (shutdown->timeout);
    }
  if (shutdown->caller_cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (shutdown->caller_cancellable, shutdown->caller_cancelled_id);
  g_clear_object (&shutdown->caller_cancellable);
  g_clear_object (&shutdown->wait_cancellable);
  g_free (shutdown);
}

static void
on_killed (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_subprocess_wait_finish (G_SUBPROCESS (source_object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The wait for the exit was cancelled: by the caller (the task fails), or
 * by the timeout (QEMU did not go by itself, or did not even answer quit:
 * it is killed, and SIGKILL cannot be ignored, so that wait is short). */
static void
shutdown_kill (QmpProcess *self,
               GTask      *task)
{
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  g_debug ("%s did not exit within %u ms of quit: killing it",
           self->argv[0], self->shutdown_timeout_msec);
  g_subprocess_force_exit (self->subprocess);
  g_subprocess_wait_async (self->subprocess, NULL, on_killed, task);
}

static void
on_shutdown_waited (GObject      *source_object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpProcess *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (g_subprocess_wait_finish (G_SUBPROCESS (source_object), result, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  shutdown_kill (self, g_steal_pointer (&task));
}

static void
on_quit (GObject      *source_object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QmpProcess *self = g_task_get_source_object (task);
  ShutdownData *shutdown = g_task_get_task_data (task);

  /* Whatever quit answered (a closed connection, the timeout), what
   * matters is the exit. */
  qmp_connection_quit_finish (QMP_CONNECTION (source_object), result, NULL);

  /* g_subprocess_wait_async() does not notice a cancellable that is
   * cancelled already: it would wait for an exit that never comes. */
  if (g_cancellable_is_cancelled (shutdown->wait_cancellable))
    {
      shutdown_kill (self, g_steal_pointer (&task));
      return;
    }

  g_subprocess_wait_async (self->subprocess, shutdown->wait_cancellable,
                           on_shutdown_waited, g_steal_pointer (&task));
}

/**
 * qmp_process_shutdown_async:
 * @self: a #QmpProcess
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU has exited
 * @user_data: (closure callback): data for @callback
 *
 * Asks QEMU to quit over QMP and waits for it to exit; kills it if it is
 * still running after [property@Qmp.Process:shutdown-timeout].
 *
 * ```c
 * qmp_process_shutdown_async (process, NULL, on_shut_down, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_process_shutdown_async (QmpProcess          *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ShutdownData *shutdown;

  g_return_if_fail (QMP_IS_PROCESS (self));
  g_return_if_fail (self->connection != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_process_shutdown_async);

  shutdown = g_new0 (ShutdownData, 1);
  shutdown->wait_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, shutdown, shutdown_data_free);

  if (cancellable != NULL)
    {
      shutdown->caller_cancellable = g_object_ref (cancellable);
      shutdown->caller_cancelled_id =
        _qmp_cancellable_forward (cancellable, shutdown->wait_cancellable);
    }

  if (g_subprocess_get_identifier (self->subprocess) == NULL)
    {
      g_task_return_boolean (task, TRUE);   /* gone already */
      return;
    }

  /* One deadline for the reply to quit and the exit: a QEMU stopped with
   * SIGSTOP answers neither. */
  shutdown->timeout = g_timeout_source_new (self->shutdown_timeout_msec);
  g_source_set_callback (shutdown->timeout, cancel_on_timeout,
                         g_object_ref (shutdown->wait_cancellable), g_object_unref);
  g_source_attach (shutdown->timeout, g_task_get_context (task));

  qmp_connection_quit_async (self->connection, shutdown->wait_cancellable, on_quit,
                             g_steal_pointer (&task));
}

/**
 * qmp_process_shutdown_finish:
 * @self: a #QmpProcess
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Process.shutdown_async].
 *
 * ```c
 * static void
 * on_shut_down (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *
 *   if (!qmp_process_shutdown_finish (QMP_PROCESS (source), result, &error))
 *     g_warning ("%s", error->message);
 * }
 * ```
 *
 * Returns: %TRUE when QEMU has exited (by itself or killed)
 *
 * Since: 1.0
 */
gboolean
qmp_process_shutdown_finish (QmpProcess    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (QMP_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_process_shutdown_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * qmp_process_shutdown_sync:
 * @self: a #QmpProcess
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Asks QEMU to quit and waits for it to exit, killing it after
 * [property@Qmp.Process:shutdown-timeout]; blocks the calling thread.
 *
 * ```c
 * if (!qmp_process_shutdown_sync (process, NULL, &error))
 *   g_warning ("%s", error->message);
 * ```
 *
 * Returns: %TRUE when QEMU has exited
 *
 * Since: 1.0
 */
gboolean
qmp_process_shutdown_sync (QmpProcess    *self,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QMP_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _QMP_RUN_IN_PRIVATE_CONTEXT (result, qmp_process_shutdown_async (self, cancellable,
                                                                   _qmp_store_result, &result));

  return qmp_process_shutdown_finish (self, result, error);
}
