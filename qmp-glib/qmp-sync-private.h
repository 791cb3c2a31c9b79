/* qmp-sync-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A GAsyncReadyCallback that keeps a reference to @result in the
 * GAsyncResult * that @user_data points to. */
static inline void
_qmp_store_result (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Runs @call, an _async function given _qmp_store_result and &@result, in
 * a private main context that only this thread iterates, until @result is
 * set: a _sync function made of an _async one.  The I/O itself runs on
 * the library's worker (and GLib's child watch), so nothing but the
 * result waits for this context, and the caller's is never iterated. */
#define _QMP_RUN_IN_PRIVATE_CONTEXT(result, call) \
  G_STMT_START { \
    g_autoptr(GMainContext) private_context_ = g_main_context_new (); \
    g_main_context_push_thread_default (private_context_); \
    call; \
    while ((result) == NULL) \
      g_main_context_iteration (private_context_, TRUE); \
    g_main_context_pop_thread_default (private_context_); \
  } G_STMT_END

static inline void
_qmp_cancel_on_cancelled (GCancellable *cancelled,
                          GCancellable *to_cancel)
{
  g_cancellable_cancel (to_cancel);
}

/* Makes a cancellation of @cancellable (the caller's) cancel @internal
 * too; returns the handler id for g_cancellable_disconnect(), 0 if
 * @cancellable was cancelled already (and @internal is now). */
static inline gulong
_qmp_cancellable_forward (GCancellable *cancellable,
                          GCancellable *internal)
{
  return g_cancellable_connect (cancellable, G_CALLBACK (_qmp_cancel_on_cancelled),
                                g_object_ref (internal), g_object_unref);
}

/* Disconnects @handler_id from @cancellable without waiting, where
 * g_cancellable_disconnect() waits until a cancellation running in
 * another thread has run all the cancellable's handlers, the caller's own
 * among them.  On the worker, that would stall every connection behind a
 * slow handler of the caller's, and deadlock on one that waits for the
 * worker: a _sync call, a close.  GLib waits so that the handler's data
 * can be freed at once; this is only for handlers whose data is their
 * closure's (freed by its destroy notify, after an emission that runs
 * it), and which find nothing to do when they run late, after their
 * operation finished.  Unlike g_cancellable_disconnect(), it may also be
 * called from within the handler. */
static inline void
_qmp_cancellable_disconnect_nowait (GCancellable *cancellable,
                                    gulong        handler_id)
{
  g_signal_handler_disconnect (cancellable, handler_id);
}

G_END_DECLS
