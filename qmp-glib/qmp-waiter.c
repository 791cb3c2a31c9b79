/* qmp-waiter.c: a cancellable _async task in a queue of waiting ones
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-sync-private.h"
#include "qmp-waiter-private.h"

/* The data of the cancelled handler */
typedef struct
{
  GTask *task;
  GQueue *waiters;
  GMutex *lock;
} Cancel;

static void
cancel_free (gpointer data)
{
  Cancel *cancel = data;

  g_object_unref (cancel->task);
  g_free (cancel);
}

void
_qmp_waiter_return_cancelled (QmpWaiter *waiter)
{
  g_task_return_new_error (waiter->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _("Operation was cancelled"));
  _qmp_waiter_free (waiter);
}

static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  Cancel *cancel = user_data;
  QmpWaiter *waiter = NULL;

  g_mutex_lock (cancel->lock);
  for (GList *l = cancel->waiters->head; l != NULL; l = l->next)
    {
      if (((QmpWaiter *) l->data)->task == cancel->task)
        {
          waiter = l->data;
          g_queue_delete_link (cancel->waiters, l);
          break;
        }
    }
  g_mutex_unlock (cancel->lock);

  if (waiter != NULL)
    _qmp_waiter_return_cancelled (waiter);
}

QmpWaiter *
_qmp_waiter_new (GTask  *task,
                 GQueue *waiters,
                 GMutex *lock)
{
  QmpWaiter *waiter = g_new0 (QmpWaiter, 1);
  GCancellable *cancellable = g_task_get_cancellable (task);

  waiter->task = g_object_ref (task);
  if (cancellable != NULL)
    {
      Cancel *cancel = g_new (Cancel, 1);

      cancel->task = g_object_ref (task);
      cancel->waiters = waiters;
      cancel->lock = lock;
      waiter->cancellable = g_object_ref (cancellable);
      waiter->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled),
                                                    cancel, cancel_free);
    }

  return waiter;
}

QmpWaiter *
_qmp_waiter_take_live (GQueue *waiters,
                       GQueue *cancelled)
{
  QmpWaiter *waiter;

  while ((waiter = g_queue_pop_head (waiters)) != NULL &&
         g_cancellable_is_cancelled (waiter->cancellable))
    g_queue_push_tail (cancelled, waiter);

  return waiter;
}

void
_qmp_waiters_return_cancelled (GQueue *cancelled)
{
  QmpWaiter *waiter;

  while ((waiter = g_queue_pop_head (cancelled)) != NULL)
    _qmp_waiter_return_cancelled (waiter);
}

void
_qmp_waiter_free (QmpWaiter *waiter)
{
  if (waiter->cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (waiter->cancellable, waiter->cancelled_id);
  g_clear_object (&waiter->cancellable);
  g_clear_object (&waiter->task);
  g_free (waiter);
}
