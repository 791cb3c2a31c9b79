/* qmp-cancel-link.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "qmp-cancel-link-private.h"
#include "qmp-sync-private.h"

/* A thread that passes the same cancellable to _sync call after _sync
 * call (the Python override does; so does code that keeps one per object)
 * keeps its "cancelled" handler connected between the calls: connecting
 * and disconnecting one at each call cost about 1 µs of a 54 µs round trip
 * in C, and 2–2.5 µs from Python (bench/README.md).  It is kept once a
 * thread used the same cancellable twice in a row, so one used once costs
 * no more than a handler of the call's own.
 *
 * One link per thread (a thread waits for one _sync call at a time), made
 * on first use, freed when the thread ends and its handler is gone.  The
 * link owns no cancellable: the handler goes when its cancellable is
 * disposed, and a GWeakRef lets the thread disconnect it safely.
 *
 * Locks: the link's is taken under the channel's (by
 * _qmp_cancel_link_begin()) and by the handler, in the cancelling thread;
 * nothing is taken under it but what QmpCancelLinkFunc takes to hand work
 * over.  A handler is never connected or disconnected under any lock.
 *
 * A disconnection never waits for the cancellable's handlers to run
 * (g_cancellable_disconnect() does): the thread's old handler is dropped
 * by its next _sync call or when it ends, which may be from within a
 * handler of that cancellable (the caller's own, which makes _sync calls
 * with another), or while the caller's handlers run in another thread
 * and wait for this one.  A dropped handler that still runs finds that it
 * is not its link's any more; the signal connection's reference keeps it
 * until then. */

typedef struct _Handler Handler;

struct _QmpCancelLink
{
  gatomicrefcount ref_count;  /* the thread's, its handler's, and its call's */
  GMutex lock;
  Handler *handler;           /* owned: the one connected, or NULL */
  QmpCancelLinkFunc func;     /* for the call that uses it now: */
  gpointer data;              /* owned, or NULL between calls */
  GDestroyNotify data_free;
  gconstpointer last_seen;    /* the cancellable of the thread's last call
                               * (compared, never used) */
};

struct _Handler
{
  gatomicrefcount ref_count;  /* the link's, and the signal connection's */
  QmpCancelLink *link;        /* owned */
  GCancellable *cancellable;  /* compared only: the handler is connected to
                               * it while link->handler points here */
  GWeakRef weak;              /* the same, to disconnect it */
  gulong handler_id;          /* set before link->handler points here */
};

static QmpCancelLink *
link_ref (QmpCancelLink *link)
{
  g_atomic_ref_count_inc (&link->ref_count);
  return link;
}

static void
link_unref (QmpCancelLink *link)
{
  if (!g_atomic_ref_count_dec (&link->ref_count))
    return;

  g_assert (link->handler == NULL && link->data == NULL);
  g_mutex_clear (&link->lock);
  g_free (link);
}

static void
handler_unref (Handler *handler)
{
  if (!g_atomic_ref_count_dec (&handler->ref_count))
    return;

  g_weak_ref_clear (&handler->weak);
  link_unref (handler->link);
  g_free (handler);
}

/* In the thread that cancelled: for the call that uses the cancellable
 * now, if any. */
static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  Handler *handler = user_data;
  QmpCancelLink *link = handler->link;

  g_mutex_lock (&link->lock);
  if (link->handler == handler && link->data != NULL)
    link->func (link->data);
  g_mutex_unlock (&link->lock);
}

/* The signal connection is gone: at a disconnection, or when the
 * cancellable was disposed, in whichever thread. */
static void
on_disconnected (gpointer  data,
                 GClosure *closure)
{
  Handler *handler = data;
  QmpCancelLink *link = handler->link;
  Handler *owned = NULL;

  g_mutex_lock (&link->lock);
  if (link->handler == handler)
    owned = g_steal_pointer (&link->handler);
  g_mutex_unlock (&link->lock);

  if (owned != NULL)
    handler_unref (owned);
  handler_unref (handler);
}

/* Disconnects @handler (the link's reference, which this drops) if its
 * cancellable is still there; else its disposal does. */
static void
handler_drop (Handler *handler)
{
  GCancellable *cancellable = g_weak_ref_get (&handler->weak);

  if (cancellable != NULL)
    {
      _qmp_cancellable_disconnect_nowait (cancellable, handler->handler_id);
      g_object_unref (cancellable);
    }
  handler_unref (handler);
}

static void
link_thread_ended (gpointer data)
{
  QmpCancelLink *link = data;
  Handler *handler;

  g_mutex_lock (&link->lock);
  handler = g_steal_pointer (&link->handler);
  g_mutex_unlock (&link->lock);

  if (handler != NULL)
    handler_drop (handler);
  link_unref (link);
}

static GPrivate thread_link = G_PRIVATE_INIT (link_thread_ended);

/* Connects the thread's handler to @cancellable, in place of the one it
 * had; FALSE if @cancellable is cancelled already (then the caller fails
 * the call as usual). */
static gboolean
link_connect (QmpCancelLink *link,
              GCancellable  *cancellable)
{
  Handler *old;
  Handler *handler;
  gulong id;

  g_mutex_lock (&link->lock);
  old = g_steal_pointer (&link->handler);
  g_mutex_unlock (&link->lock);
  if (old != NULL)
    handler_drop (old);

  handler = g_new0 (Handler, 1);
  g_atomic_ref_count_init (&handler->ref_count);
  handler->link = link_ref (link);
  handler->cancellable = cancellable;
  g_weak_ref_init (&handler->weak, cancellable);

  /* The connection's reference, dropped by on_disconnected().  Not
   * g_cancellable_connect(), which runs the callback at once if
   * @cancellable is cancelled: a cancellation that comes after the check
   * below finds the call through the link, or the caller's own check. */
  g_atomic_ref_count_inc (&handler->ref_count);
  id = g_signal_connect_data (cancellable, "cancelled", G_CALLBACK (on_cancelled),
                              handler, on_disconnected, G_CONNECT_DEFAULT);
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_signal_handler_disconnect (cancellable, id);
      handler_unref (handler);
      return FALSE;
    }

  handler->handler_id = id;
  g_mutex_lock (&link->lock);
  link->handler = handler;
  g_mutex_unlock (&link->lock);

  return TRUE;
}

/* Before any lock, for a _sync call with @cancellable: the calling
 * thread's link if its handler is connected to @cancellable now (it is
 * connected at the second call in a row with the same one), else NULL:
 * the call connects a handler of its own. */
QmpCancelLink *
_qmp_cancel_link_prepare (GCancellable *cancellable)
{
  QmpCancelLink *link = g_private_get (&thread_link);
  gboolean connected;
  gboolean busy;

  if (link == NULL)
    {
      link = g_new0 (QmpCancelLink, 1);
      g_atomic_ref_count_init (&link->ref_count);
      g_mutex_init (&link->lock);
      g_private_set (&thread_link, link);
    }

  g_mutex_lock (&link->lock);
  connected = link->handler != NULL && link->handler->cancellable == cancellable;
  busy = link->data != NULL;
  g_mutex_unlock (&link->lock);

  /* A call inside a call of this thread makes its own connection. */
  if (busy)
    return NULL;
  if (connected)
    return link;
  if (link->last_seen != cancellable)
    {
      link->last_seen = cancellable;
      return NULL;
    }

  return link_connect (link, cancellable) ? link : NULL;
}

/* The call that @data stands for uses the handler of @link from now on:
 * a cancellation of @cancellable runs @func (@data) until
 * _qmp_cancel_link_end().  Takes @data and returns TRUE, with a reference
 * to @link for _qmp_cancel_link_end(); FALSE (@data not taken) if the
 * handler went meanwhile (its cancellable was disposed by a thread that
 * did not own it). */
gboolean
_qmp_cancel_link_begin (QmpCancelLink     *link,
                        GCancellable      *cancellable,
                        QmpCancelLinkFunc  func,
                        gpointer           data,
                        GDestroyNotify     data_free)
{
  gboolean ok;

  g_mutex_lock (&link->lock);
  ok = link->handler != NULL && link->handler->cancellable == cancellable && link->data == NULL;
  if (ok)
    {
      link->func = func;
      link->data = data;
      link->data_free = data_free;
      link_ref (link);
    }
  g_mutex_unlock (&link->lock);

  return ok;
}

/* The call is done: the handler no longer runs for it, and @data is freed
 * here, outside the lock. */
void
_qmp_cancel_link_end (QmpCancelLink *link,
                      gpointer       data)
{
  GDestroyNotify data_free = NULL;

  g_mutex_lock (&link->lock);
  if (link->data == data)
    {
      link->data = NULL;
      data_free = link->data_free;
    }
  g_mutex_unlock (&link->lock);

  if (data_free != NULL)
    data_free (data);
  link_unref (link);
}
