/* qmp-waiter-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* An _async task that waits in a queue of its owner's, under the owner's
 * lock, for what the worker brings or for its cancellable.  Its cancelled
 * handler holds the task, which holds the cancellable (and the owner, as
 * its source object or data): whoever takes the waiter from the queue
 * frees it, which disconnects the handler without waiting (that may be
 * the worker, or the handler itself), or they would keep each other. */
typedef struct
{
  GTask *task;
  GCancellable *cancellable;
  gulong cancelled_id;
} QmpWaiter;

/* The waiter of @task, to be queued in @waiters under @lock, which belong
 * to an object that @task holds (as its source object or data).  If
 * @task has a cancellable, a handler is connected to it now, before the
 * waiter is queued, so that whoever takes it can disconnect it: in the
 * thread that cancels, the handler takes the waiter from @waiters under
 * @lock and fails it with G_IO_ERROR_CANCELLED.  It finds nothing when the
 * result came first, or when the waiter is not queued yet: the caller
 * checks g_cancellable_is_cancelled() under @lock, and queues the waiter
 * only if it is not. */
QmpWaiter *_qmp_waiter_new              (GTask     *task,
                                         GQueue    *waiters,
                                         GMutex    *lock);

void       _qmp_waiter_free             (QmpWaiter *waiter);

/* Fails the waiter's task with G_IO_ERROR_CANCELLED, and frees it. */
void       _qmp_waiter_return_cancelled (QmpWaiter *waiter);

/* Under the owner's lock, when there is something to give: takes the
 * oldest waiter of @waiters whose cancellable is not cancelled, or NULL.
 * Those cancelled already are moved to @cancelled (their handlers, which
 * no longer find them, leave them to the caller), so that what is given
 * goes to a waiter that takes it: give it to the one returned, whose task
 * should return it even if cancelled now (g_task_set_check_cancellable()
 * FALSE), else it is lost. */
QmpWaiter *_qmp_waiter_take_live       (GQueue    *waiters,
                                        GQueue    *cancelled);

/* Without the lock: fails and frees the waiters of @cancelled. */
void       _qmp_waiters_return_cancelled (GQueue  *cancelled);

G_END_DECLS
