/* qmp-worker.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-worker-private.h"

struct _QmpWorker
{
  gatomicrefcount ref_count;
  GThread *thread;
  GMainContext *context;
  gint quit;           /* atomic: set by the last unref */
  gboolean detached;   /* set on the worker thread when it must free itself */
};

/* The current worker, if any; protected by worker_lock.  A worker whose
 * last reference is gone is replaced by a new one on the next ref. */
static GMutex worker_lock;
static QmpWorker *current_worker;

static void
worker_free (QmpWorker *worker)
{
  g_main_context_unref (worker->context);
  g_free (worker);
}

static gpointer
worker_thread_func (gpointer data)
{
  QmpWorker *worker = data;

  /* Not a GMainLoop: g_main_loop_run() would forget a quit that came
   * before the thread got to run it. */
  g_main_context_push_thread_default (worker->context);
  while (!g_atomic_int_get (&worker->quit))
    g_main_context_iteration (worker->context, TRUE);
  g_main_context_pop_thread_default (worker->context);

  /* The last reference went from a callback on this thread, which cannot
   * join itself: the thread cleans up after itself instead. */
  if (worker->detached)
    worker_free (worker);

  return NULL;
}

QmpWorker *
_qmp_worker_ref (void)
{
  QmpWorker *worker;

  g_mutex_lock (&worker_lock);
  if (current_worker != NULL)
    {
      worker = current_worker;
      g_atomic_ref_count_inc (&worker->ref_count);
    }
  else
    {
      worker = g_new0 (QmpWorker, 1);
      g_atomic_ref_count_init (&worker->ref_count);
      worker->context = g_main_context_new ();
      worker->thread = g_thread_new ("qmp-worker", worker_thread_func, worker);
      current_worker = worker;
    }
  g_mutex_unlock (&worker_lock);

  return worker;
}

void
_qmp_worker_unref (QmpWorker *worker)
{
  gboolean last;

  g_mutex_lock (&worker_lock);
  last = g_atomic_ref_count_dec (&worker->ref_count);
  if (last && current_worker == worker)
    current_worker = NULL;
  g_mutex_unlock (&worker_lock);

  if (!last)
    return;

  if (g_thread_self () == worker->thread)
    {
      worker->detached = TRUE;
      g_thread_unref (worker->thread);
      g_atomic_int_set (&worker->quit, TRUE);
    }
  else
    {
      g_atomic_int_set (&worker->quit, TRUE);
      g_main_context_wakeup (worker->context);
      g_thread_join (worker->thread);
      worker_free (worker);
    }
}

GMainContext *
_qmp_worker_get_context (QmpWorker *worker)
{
  return worker->context;
}

gboolean
_qmp_worker_is_current (QmpWorker *worker)
{
  return g_thread_self () == worker->thread;
}

/* Runs @func on the worker: at once when called from the worker, else
 * from an idle source of the worker's context. */
void
_qmp_worker_invoke (QmpWorker      *worker,
                    GSourceFunc     func,
                    gpointer        data,
                    GDestroyNotify  destroy)
{
  if (_qmp_worker_is_current (worker))
    {
      while (func (data))
        ;
      if (destroy != NULL)
        destroy (data);
    }
  else
    {
      _qmp_worker_idle_add (worker, G_PRIORITY_DEFAULT, "[qmp-glib] worker invoke",
                            func, data, destroy);
    }
}

/* Runs @func on the worker from its next iteration on, never at once: for
 * callers that hold a lock, or that are on the worker inside something
 * that must finish first.  @static_name names the source. */
void
_qmp_worker_idle_add (QmpWorker      *worker,
                      int             priority,
                      const char     *static_name,
                      GSourceFunc     func,
                      gpointer        data,
                      GDestroyNotify  destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_static_name (source, static_name);
  g_source_set_callback (source, func, data, destroy);
  g_source_attach (source, worker->context);
  g_source_unref (source);
}

/* Whether the worker can serve @stream: every line is read and written
 * without blocking, from the worker's context, which needs streams that
 * can be polled.  Both halves of the protocol ask. */
gboolean
_qmp_worker_check_stream (GIOStream  *stream,
                          GError    **error)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  GOutputStream *output = g_io_stream_get_output_stream (stream);

  if (!G_IS_POLLABLE_INPUT_STREAM (input) ||
      !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)) ||
      !G_IS_POLLABLE_OUTPUT_STREAM (output) ||
      !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("The stream cannot be polled; QMP needs a socket, a pipe or another pollable stream"));
      return FALSE;
    }

  return TRUE;
}
