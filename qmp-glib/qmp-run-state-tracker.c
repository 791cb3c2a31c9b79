/* qmp-run-state-tracker.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-connection-private.h"
#include "qmp-enums.h"
#include "qmp-error.h"
#include "qmp-run-state-tracker.h"
#include "qmp-sync-private.h"
#include "qmp-waiter-private.h"
#include "qmp-worker-private.h"

/**
 * QmpRunStateTracker:
 *
 * Follows the run state of the virtual machine behind a
 * [class@Qmp.Connection]: [property@Qmp.RunStateTracker:run-state] and
 * [property@Qmp.RunStateTracker:running] stay true to QEMU, with a notify
 * on each change, so a user interface can bind to them.
 *
 * ```c
 * static void
 * on_tracker (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   MyWindow *self = user_data;
 *   g_autoptr(GError) error = NULL;
 *
 *   self->tracker = qmp_run_state_tracker_new_finish (result, &error);
 *   if (self->tracker != NULL)
 *     g_object_bind_property (self->tracker, "running", self->pause_button, "sensitive",
 *                             G_BINDING_SYNC_CREATE);
 * }
 *
 * qmp_run_state_tracker_new_async (connection, NULL, on_tracker, self);
 * ```
 *
 * From a language with GObject introspection, constructing it with its
 * `connection` property (`Qmp.RunStateTracker(connection=c)` in Python)
 * starts it without waiting: its state is then %QMP_RUN_STATE_UNKNOWN
 * until the first reply, which is notified like any later change.
 *
 * QEMU's events about the run state (`STOP`, `RESUME`, `SHUTDOWN`,
 * `RESET`, `SUSPEND`, `WAKEUP`, `GUEST_PANICKED`, …) do not carry the new
 * state, so after each of them the tracker asks `query-status` again; the
 * replies come in order, and a burst of events costs at most one query in
 * flight and one more after it.  The state is kept on the connection's
 * I/O thread, so the getters are right whether or not a main loop runs;
 * the notifications are emitted in the main context that was the
 * thread-default one when the tracker was made.
 *
 * Until the first reply the state is %QMP_RUN_STATE_UNKNOWN; after a
 * `SHUTDOWN` event it is %QMP_RUN_STATE_SHUTDOWN at once.  When the
 * connection closes, [property@Qmp.RunStateTracker:running] becomes
 * %FALSE, and the state becomes %QMP_RUN_STATE_UNKNOWN unless it is
 * %QMP_RUN_STATE_SHUTDOWN.
 *
 * Since: 1.0
 */

struct _QmpRunStateTracker
{
  GObject parent_instance;

  QmpConnection *connection;  /* construct-only */
  QmpWorker *worker;
  GMainContext *context;      /* where changes are notified */
  guint sink_id;

  GMutex lock;
  QmpRunState run_state;
  gboolean running;
  QmpRunState notified_run_state;
  gboolean notified_running;
  gboolean notify_scheduled;
  GSource *notify_source;     /* the idle that emits them, until it runs */
  gboolean query_in_flight;
  gboolean query_again;       /* an event came while a query was in flight */
  gboolean closed;
  gboolean known;             /* the first reply (or the close) came */
  GError *first_error;
  GQueue first_waiters;       /* of QmpWaiter: the constructions waiting for it */
};

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_RUN_STATE,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (QmpRunStateTracker, qmp_run_state_tracker, G_TYPE_OBJECT)

/* The events after which the run state may have changed. */
static const char * const state_events[] = {
  "STOP", "RESUME", "SHUTDOWN", "RESET", "POWERDOWN", "SUSPEND", "SUSPEND_DISK",
  "WAKEUP", "GUEST_PANICKED", "GUEST_CRASHLOADED", "WATCHDOG", "BLOCK_IO_ERROR",
  "MIGRATION", "DUMP_COMPLETED", NULL
};

static gboolean
emit_notify (gpointer user_data)
{
  g_autoptr(QmpRunStateTracker) self = g_weak_ref_get (user_data);
  gboolean state_changed, running_changed;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->lock);
  self->notify_scheduled = FALSE;
  g_clear_pointer (&self->notify_source, g_source_unref);
  state_changed = self->notified_run_state != self->run_state;
  running_changed = self->notified_running != self->running;
  self->notified_run_state = self->run_state;
  self->notified_running = self->running;
  g_mutex_unlock (&self->lock);

  g_object_freeze_notify (G_OBJECT (self));
  if (state_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_STATE]);
  if (running_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* With the lock held: sets the state; returns whether a notification is
 * to be scheduled. */
static gboolean
tracker_set_locked (QmpRunStateTracker *self,
                    QmpRunState         run_state,
                    gboolean            running)
{
  self->run_state = run_state;
  self->running = running;

  if (self->notify_scheduled ||
      (self->notified_run_state == run_state && self->notified_running == running))
    return FALSE;

  self->notify_scheduled = TRUE;
  return TRUE;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* The idle holds the tracker weakly, and dispose destroys it: in a
 * program that never iterates the context, a reference in it would keep
 * a dropped tracker, and its connection, for ever. */
static void
tracker_schedule_notify (QmpRunStateTracker *self)
{
  g_autoptr(GSource) source = g_idle_source_new ();
  GWeakRef *weak = g_new (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[qmp-glib] run state notify");
  g_source_set_callback (source, emit_notify, weak, weak_ref_free);

  /* Kept before it is attached, and so before it can run: one at a time,
   * as notify_scheduled says. */
  g_mutex_lock (&self->lock);
  g_assert (self->notify_source == NULL);
  self->notify_source = g_source_ref (source);
  g_mutex_unlock (&self->lock);

  g_source_attach (source, self->context);
}

/* With the lock held: the first state is known (or will never be). */
static void
tracker_first_done_locked (QmpRunStateTracker *self,
                           const GError       *error,
                           GQueue             *waiters)
{
  if (self->known)
    return;

  self->known = TRUE;
  if (error != NULL)
    self->first_error = g_error_copy (error);
  *waiters = self->first_waiters;
  g_queue_init (&self->first_waiters);
}

static void
tracker_return_first (QmpRunStateTracker *self,
                      GQueue             *waiters)
{
  QmpWaiter *waiter;

  while ((waiter = g_queue_pop_head (waiters)) != NULL)
    {
      if (self->first_error != NULL)
        g_task_return_error (waiter->task, g_error_copy (self->first_error));
      else
        g_task_return_pointer (waiter->task, g_object_ref (self), g_object_unref);
      _qmp_waiter_free (waiter);
    }
}

static void tracker_query (QmpRunStateTracker *self);

/* On the worker. */
static void
on_query_status (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(QmpRunStateTracker) self = user_data;
  g_autoptr(GError) error = NULL;
  GQueue waiters = G_QUEUE_INIT;
  QmpRunState run_state;
  gboolean running = FALSE;
  gboolean again, notify = FALSE;

  run_state = qmp_connection_query_status_finish (QMP_CONNECTION (source_object), result,
                                                  &running, &error);

  g_mutex_lock (&self->lock);
  again = self->query_again && !self->closed;
  self->query_again = FALSE;
  /* The next one is on its way from now on: an event meanwhile asks for
   * one more after it, not for another at once. */
  self->query_in_flight = again;
  /* A state event came while the query was on its way: the reply may be
   * older than the event (it may have come before it, but this callback
   * runs after the event went through the sink, as GTask defers it), and
   * another query follows, whose reply counts.  Until the first state is
   * known, this one counts all the same. */
  if (error == NULL && !self->closed && (!again || !self->known))
    notify = tracker_set_locked (self, run_state, running);
  /* A reply that failed because the connection closed leaves the state
   * to the close; any other failure leaves the state as it was. */
  if (error == NULL || !again)
    tracker_first_done_locked (self, error, &waiters);
  g_mutex_unlock (&self->lock);

  if (error != NULL)
    g_debug ("Could not follow the run state: %s", error->message);

  if (notify)
    tracker_schedule_notify (self);
  tracker_return_first (self, &waiters);

  if (again)
    tracker_query (self);
}

/* On the worker: one query-status, whose callback runs on the worker. */
static void
tracker_query (QmpRunStateTracker *self)
{
  qmp_connection_query_status_async (self->connection, NULL, on_query_status,
                                     g_object_ref (self));
}

static gboolean
query_on_worker (gpointer user_data)
{
  QmpRunStateTracker *self = user_data;

  tracker_query (self);

  return G_SOURCE_REMOVE;
}

/* Runs a query from an idle of the worker: never from inside the sink,
 * which runs with the connection's sink lock held. */
static void
tracker_query_later (QmpRunStateTracker *self)
{
  _qmp_worker_idle_add (self->worker, G_PRIORITY_DEFAULT, "[qmp-glib] query-status",
                        query_on_worker, g_object_ref (self), g_object_unref);
}

/* On the worker, with the connection's sink lock held. */
static void
tracker_on_event (QmpEvent     *event,
                  const GError *closed_error,
                  gpointer      user_data)
{
  QmpRunStateTracker *self = user_data;
  GQueue waiters = G_QUEUE_INIT;
  gboolean query = FALSE, notify = FALSE;

  if (event != NULL)
    {
      const char *name = qmp_event_get_name (event);

      if (!g_strv_contains (state_events, name))
        {
          qmp_event_unref (event);
          return;
        }

      g_mutex_lock (&self->lock);
      /* QEMU exits after SHUTDOWN unless told not to: the query may get no
       * reply, and the state is known anyway. */
      if (g_str_equal (name, "SHUTDOWN"))
        notify = tracker_set_locked (self, QMP_RUN_STATE_SHUTDOWN, FALSE);
      if (self->query_in_flight)
        {
          self->query_again = TRUE;
        }
      else
        {
          self->query_in_flight = TRUE;
          query = TRUE;
        }
      g_mutex_unlock (&self->lock);

      qmp_event_unref (event);
    }
  else
    {
      g_mutex_lock (&self->lock);
      self->closed = TRUE;
      notify = tracker_set_locked (self,
                                   self->run_state == QMP_RUN_STATE_SHUTDOWN
                                   ? QMP_RUN_STATE_SHUTDOWN : QMP_RUN_STATE_UNKNOWN,
                                   FALSE);
      tracker_first_done_locked (self, closed_error, &waiters);
      g_mutex_unlock (&self->lock);
    }

  if (notify)
    tracker_schedule_notify (self);
  if (query)
    tracker_query_later (self);
  /* GTask defers the callbacks to their contexts: nothing runs here. */
  tracker_return_first (self, &waiters);
}

static void
qmp_run_state_tracker_constructed (GObject *object)
{
  QmpRunStateTracker *self = QMP_RUN_STATE_TRACKER (object);

  G_OBJECT_CLASS (qmp_run_state_tracker_parent_class)->constructed (object);

  if (self->connection == NULL)
    {
      g_critical ("QmpRunStateTracker needs a connection");
      return;
    }

  /* Listening before asking: an event that comes after the reply was
   * written is followed by a query of its own. */
  self->sink_id = _qmp_connection_add_event_sink (self->connection, tracker_on_event, self);

  g_mutex_lock (&self->lock);
  if (!self->closed)
    {
      self->query_in_flight = TRUE;
      g_mutex_unlock (&self->lock);
      tracker_query_later (self);
    }
  else
    {
      g_mutex_unlock (&self->lock);
    }
}

static void
qmp_run_state_tracker_dispose (GObject *object)
{
  QmpRunStateTracker *self = QMP_RUN_STATE_TRACKER (object);
  GSource *notify_source;

  if (self->sink_id != 0)
    {
      _qmp_connection_remove_event_sink (self->connection, self->sink_id);
      self->sink_id = 0;
    }

  /* After the sink, which may schedule one until it is removed */
  g_mutex_lock (&self->lock);
  notify_source = g_steal_pointer (&self->notify_source);
  self->notify_scheduled = FALSE;
  g_mutex_unlock (&self->lock);
  if (notify_source != NULL)
    {
      g_source_destroy (notify_source);
      g_source_unref (notify_source);
    }

  G_OBJECT_CLASS (qmp_run_state_tracker_parent_class)->dispose (object);
}

static void
qmp_run_state_tracker_finalize (GObject *object)
{
  QmpRunStateTracker *self = QMP_RUN_STATE_TRACKER (object);

  g_assert (self->first_waiters.length == 0);

  g_clear_object (&self->connection);
  g_clear_pointer (&self->worker, _qmp_worker_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->first_error);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (qmp_run_state_tracker_parent_class)->finalize (object);
}

static void
qmp_run_state_tracker_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  QmpRunStateTracker *self = QMP_RUN_STATE_TRACKER (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;

    case PROP_RUN_STATE:
      g_value_set_enum (value, qmp_run_state_tracker_get_run_state (self));
      break;

    case PROP_RUNNING:
      g_value_set_boolean (value, qmp_run_state_tracker_get_running (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_run_state_tracker_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  QmpRunStateTracker *self = QMP_RUN_STATE_TRACKER (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_run_state_tracker_class_init (QmpRunStateTrackerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = qmp_run_state_tracker_constructed;
  object_class->dispose = qmp_run_state_tracker_dispose;
  object_class->finalize = qmp_run_state_tracker_finalize;
  object_class->get_property = qmp_run_state_tracker_get_property;
  object_class->set_property = qmp_run_state_tracker_set_property;

  /**
   * QmpRunStateTracker:connection: (getter get_connection)
   *
   * The connection to the QEMU whose run state is followed: a constructed
   * one.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL,
                         QMP_TYPE_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpRunStateTracker:run-state: (getter get_run_state)
   *
   * The run state of the virtual machine, as `query-status` last said;
   * %QMP_RUN_STATE_UNKNOWN until then and after the connection closed
   * without a `SHUTDOWN`.
   *
   * Since: 1.0
   */
  properties[PROP_RUN_STATE] =
    g_param_spec_enum ("run-state", NULL, NULL,
                       QMP_TYPE_RUN_STATE, QMP_RUN_STATE_UNKNOWN,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpRunStateTracker:running: (getter get_running)
   *
   * Whether the virtual CPUs run, as `query-status` last said; %FALSE
   * until then and after the connection closed.
   *
   * Since: 1.0
   */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qmp_run_state_tracker_init (QmpRunStateTracker *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->first_waiters);
  self->run_state = QMP_RUN_STATE_UNKNOWN;
  self->notified_run_state = QMP_RUN_STATE_UNKNOWN;
  self->context = g_main_context_ref_thread_default ();
  self->worker = _qmp_worker_ref ();
}

/* Calls @callback once the first state is known, with the tracker as the
 * task's result, or once @cancellable is cancelled. */
static void
tracker_wait_first (QmpRunStateTracker  *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  QmpWaiter *waiter;
  gboolean known, cancelled;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_run_state_tracker_new_async);
  g_task_set_check_cancellable (task, TRUE);
  /* The task holds the tracker, for the waiter's cancelled handler. */
  g_task_set_task_data (task, g_object_ref (self), g_object_unref);
  waiter = _qmp_waiter_new (task, &self->first_waiters, &self->lock);

  g_mutex_lock (&self->lock);
  known = self->known;
  cancelled = g_cancellable_is_cancelled (cancellable);
  if (!known && !cancelled)
    g_queue_push_tail (&self->first_waiters, waiter);
  g_mutex_unlock (&self->lock);

  if (known)
    {
      GQueue waiters = G_QUEUE_INIT;

      g_queue_push_tail (&waiters, waiter);
      tracker_return_first (self, &waiters);
    }
  else if (cancelled)
    {
      _qmp_waiter_return_cancelled (waiter);
    }
}

/**
 * qmp_run_state_tracker_new_async:
 * @connection: a constructed #QmpConnection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called once the first state is known
 * @user_data: (closure callback): data for @callback
 *
 * Starts following the run state of the virtual machine behind
 * @connection, and calls @callback once the first reply to `query-status`
 * came, or at once when @cancellable is cancelled.
 *
 * ```c
 * qmp_run_state_tracker_new_async (connection, NULL, on_tracker_ready, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_run_state_tracker_new_async (QmpConnection       *connection,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(QmpRunStateTracker) self = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (connection));
  g_return_if_fail (_qmp_connection_is_ready (connection));

  self = g_object_new (QMP_TYPE_RUN_STATE_TRACKER, "connection", connection, NULL);
  tracker_wait_first (self, cancellable, callback, user_data);
}

/**
 * qmp_run_state_tracker_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Qmp.RunStateTracker.new_async].
 *
 * ```c
 * tracker = qmp_run_state_tracker_new_finish (result, &error);
 * ```
 *
 * Returns: (transfer full): the tracker, with its first state known, or
 *   %NULL with @error set when the first `query-status` failed or the
 *   construction was cancelled (%G_IO_ERROR_CANCELLED)
 *
 * Since: 1.0
 */
QmpRunStateTracker *
qmp_run_state_tracker_new_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_run_state_tracker_new_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_run_state_tracker_new_sync:
 * @connection: a constructed #QmpConnection to QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Starts following the run state of the virtual machine behind
 * @connection, and waits for the first reply to `query-status`, blocking
 * the calling thread; a cancellation of @cancellable, from any thread,
 * ends the wait at once.
 *
 * ```c
 * tracker = qmp_run_state_tracker_new_sync (connection, NULL, &error);
 * if (tracker != NULL && qmp_run_state_tracker_get_running (tracker))
 *   g_print ("running\n");
 * ```
 *
 * Returns: (transfer full): the tracker, with its first state known, or
 *   %NULL with @error set when the first `query-status` failed or the
 *   construction was cancelled (%G_IO_ERROR_CANCELLED)
 *
 * Since: 1.0
 */
QmpRunStateTracker *
qmp_run_state_tracker_new_sync (QmpConnection  *connection,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_autoptr(QmpRunStateTracker) self = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (connection), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Made in the caller's context, where it notifies; only the wait for the
   * first state runs in a private one. */
  self = g_object_new (QMP_TYPE_RUN_STATE_TRACKER, "connection", connection, NULL);
  _QMP_RUN_IN_PRIVATE_CONTEXT (result,
                               tracker_wait_first (self, cancellable, _qmp_store_result, &result));

  return qmp_run_state_tracker_new_finish (result, error);
}

/**
 * qmp_run_state_tracker_get_connection: (get-property connection)
 * @self: a #QmpRunStateTracker
 *
 * Gets the connection whose virtual machine @self follows.
 *
 * ```c
 * QmpConnection *connection = qmp_run_state_tracker_get_connection (tracker);
 * ```
 *
 * Returns: (transfer none): the connection
 *
 * Since: 1.0
 */
QmpConnection *
qmp_run_state_tracker_get_connection (QmpRunStateTracker *self)
{
  g_return_val_if_fail (QMP_IS_RUN_STATE_TRACKER (self), NULL);

  return self->connection;
}

/**
 * qmp_run_state_tracker_get_run_state: (get-property run-state)
 * @self: a #QmpRunStateTracker
 *
 * Gets the run state of the virtual machine, as `query-status` last said.
 *
 * ```c
 * if (qmp_run_state_tracker_get_run_state (tracker) == QMP_RUN_STATE_PAUSED)
 *   gtk_widget_set_visible (resume_button, TRUE);
 * ```
 *
 * Returns: the run state
 *
 * Since: 1.0
 */
QmpRunState
qmp_run_state_tracker_get_run_state (QmpRunStateTracker *self)
{
  QmpRunState run_state;

  g_return_val_if_fail (QMP_IS_RUN_STATE_TRACKER (self), QMP_RUN_STATE_UNKNOWN);

  g_mutex_lock (&self->lock);
  run_state = self->run_state;
  g_mutex_unlock (&self->lock);

  return run_state;
}

/**
 * qmp_run_state_tracker_get_running: (get-property running)
 * @self: a #QmpRunStateTracker
 *
 * Gets whether the virtual CPUs run, as `query-status` last said.
 *
 * ```c
 * gtk_widget_set_sensitive (pause_button, qmp_run_state_tracker_get_running (tracker));
 * ```
 *
 * Returns: %TRUE if the virtual CPUs run
 *
 * Since: 1.0
 */
gboolean
qmp_run_state_tracker_get_running (QmpRunStateTracker *self)
{
  gboolean running;

  g_return_val_if_fail (QMP_IS_RUN_STATE_TRACKER (self), FALSE);

  g_mutex_lock (&self->lock);
  running = self->running;
  g_mutex_unlock (&self->lock);

  return running;
}
