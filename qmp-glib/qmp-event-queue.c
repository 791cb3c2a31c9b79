/* qmp-event-queue.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-connection-private.h"
#include "qmp-event-private.h"
#include "qmp-event-queue.h"
#include "qmp-json-private.h"
#include "qmp-waiter-private.h"

/**
 * QmpEventQueue:
 *
 * Keeps the events of a [class@Qmp.Connection] that match a filter, from
 * the moment it is made, until they are popped: events that come while a
 * script is between two calls are not lost.
 *
 * ```c
 * const char *names[] = { "RESUME", NULL };
 * g_autoptr(QmpEventQueue) queue = qmp_event_queue_new (connection, names, NULL, 0);
 * g_autoptr(QmpEvent) resumed = NULL;
 *
 * qmp_connection_cont_sync (connection, NULL, &error);
 * resumed = qmp_event_queue_pop_sync (queue, NULL, &error);
 * ```
 *
 * The queue is filled on the connection's I/O thread, so it fills whether
 * or not any main loop runs.  It never grows past its
 * [property@Qmp.EventQueue:capacity] nor past its
 * [property@Qmp.EventQueue:max-bytes]: when a new event comes to a full
 * queue, the oldest ones are dropped and counted in
 * [property@Qmp.EventQueue:dropped], whose change is notified in the main
 * context that was the thread-default one when the queue was made.
 *
 * Once the connection closed, the events kept are still handed out; a pop
 * on an empty queue then fails with the reason the connection closed.
 *
 * Every function may be called from any thread.
 *
 * Since: 1.0
 */

struct _QmpEventQueue
{
  GObject parent_instance;

  /* Construct-only */
  QmpConnection *connection;
  GStrv event_names;          /* nullable: any */
  JsonObject *event_match;    /* nullable; private, read on the worker */
  guint capacity;
  GMainContext *context;      /* where "dropped" is notified */
  guint sink_id;

  GMutex lock;
  GCond cond;
  GQueue events;              /* of QmpEvent */
  guint64 bytes;              /* their _qmp_event_get_size() */
  guint64 max_bytes;
  GQueue waiters;             /* of QmpWaiter: the pending _async pops */
  guint64 dropped;
  gboolean dropped_scheduled;
  GError *closed_error;       /* set once the connection closed */
};

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_EVENT_NAMES,
  PROP_EVENT_MATCH,
  PROP_CAPACITY,
  PROP_MAX_BYTES,
  PROP_LENGTH,
  PROP_DROPPED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (QmpEventQueue, qmp_event_queue, G_TYPE_OBJECT)

static gboolean
event_queue_wants (QmpEventQueue *self,
                   QmpEvent      *event)
{
  g_autoptr(JsonObject) scratch = NULL;

  /* Without leaving the data's tree in @event, which is kept counted at
   * the size of its text: the tree is made by whoever pops it. */
  if (self->event_names == NULL)
    return _qmp_event_matches_transient (event, NULL, self->event_match, &scratch);

  for (guint i = 0; self->event_names[i] != NULL; i++)
    if (_qmp_event_matches_transient (event, self->event_names[i], self->event_match, &scratch))
      return TRUE;

  return FALSE;
}

static QmpEvent *
event_queue_pop_locked (QmpEventQueue *self)
{
  QmpEvent *event = g_queue_pop_head (&self->events);

  if (event != NULL)
    self->bytes -= _qmp_event_get_size (event);
  return event;
}

/* Drops the oldest events while @self holds more than its bounds allow,
 * but for the newest one, whatever its size.  Returns whether "dropped"
 * is to be notified. */
static gboolean
event_queue_trim_locked (QmpEventQueue *self)
{
  gboolean schedule = FALSE;

  while (self->events.length > self->capacity ||
         (self->bytes > self->max_bytes && self->events.length > 1))
    {
      qmp_event_unref (event_queue_pop_locked (self));
      self->dropped++;
      schedule = !self->dropped_scheduled;
      self->dropped_scheduled = TRUE;
    }

  return schedule;
}

static gboolean
notify_dropped (gpointer user_data)
{
  QmpEventQueue *self = user_data;

  g_mutex_lock (&self->lock);
  self->dropped_scheduled = FALSE;
  g_mutex_unlock (&self->lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DROPPED]);

  return G_SOURCE_REMOVE;
}

/* On the worker, with the connection's sink lock held. */
static void
event_queue_on_event (QmpEvent     *event,
                      const GError *closed_error,
                      gpointer      user_data)
{
  QmpEventQueue *self = user_data;
  QmpWaiter *waiter = NULL;
  GQueue failed = G_QUEUE_INIT;
  GQueue cancelled = G_QUEUE_INIT;
  gboolean schedule = FALSE;

  if (event != NULL && !event_queue_wants (self, event))
    {
      qmp_event_unref (event);
      return;
    }

  g_mutex_lock (&self->lock);
  if (event == NULL)
    {
      self->closed_error = g_error_copy (closed_error);
      /* Nothing is queued while someone waits: all the waiters fail. */
      failed = self->waiters;
      g_queue_init (&self->waiters);
    }
  else
    {
      /* A pop cancelled already does not take it: the event stays for the
       * next, or in the queue.  (One cancelled from now on still gets it:
       * its task returns what it was given.) */
      waiter = _qmp_waiter_take_live (&self->waiters, &cancelled);

      /* Else handed over below, outside the lock */
      if (waiter == NULL)
        {
          self->bytes += _qmp_event_get_size (event);
          g_queue_push_tail (&self->events, event);
          event = NULL;

          schedule = event_queue_trim_locked (self);
        }
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (waiter != NULL)
    {
      g_task_return_pointer (waiter->task, g_steal_pointer (&event), (GDestroyNotify) qmp_event_unref);
      _qmp_waiter_free (waiter);
    }

  while ((waiter = g_queue_pop_head (&failed)) != NULL)
    {
      g_task_return_error (waiter->task, g_error_copy (closed_error));
      _qmp_waiter_free (waiter);
    }

  _qmp_waiters_return_cancelled (&cancelled);

  if (schedule)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, notify_dropped,
                                g_object_ref (self), g_object_unref);
}

static void
qmp_event_queue_constructed (GObject *object)
{
  QmpEventQueue *self = QMP_EVENT_QUEUE (object);

  G_OBJECT_CLASS (qmp_event_queue_parent_class)->constructed (object);

  if (self->connection == NULL)
    {
      g_critical ("QmpEventQueue needs a connection");
      return;
    }

  self->sink_id = _qmp_connection_add_event_sink (self->connection, event_queue_on_event, self);
}

static void
qmp_event_queue_dispose (GObject *object)
{
  QmpEventQueue *self = QMP_EVENT_QUEUE (object);

  /* Once removed, the sink does not run again: nothing refills the queue. */
  if (self->sink_id != 0)
    {
      _qmp_connection_remove_event_sink (self->connection, self->sink_id);
      self->sink_id = 0;
    }

  G_OBJECT_CLASS (qmp_event_queue_parent_class)->dispose (object);
}

static void
qmp_event_queue_finalize (GObject *object)
{
  QmpEventQueue *self = QMP_EVENT_QUEUE (object);

  /* A pending _async pop holds a reference. */
  g_assert (self->waiters.length == 0);

  g_queue_clear_full (&self->events, (GDestroyNotify) qmp_event_unref);
  g_clear_object (&self->connection);
  g_clear_pointer (&self->event_names, g_strfreev);
  g_clear_pointer (&self->event_match, json_object_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->closed_error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (qmp_event_queue_parent_class)->finalize (object);
}

static void
qmp_event_queue_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QmpEventQueue *self = QMP_EVENT_QUEUE (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;

    case PROP_EVENT_NAMES:
      g_value_set_boxed (value, self->event_names);
      break;

    case PROP_EVENT_MATCH:
      g_value_take_boxed (value, self->event_match != NULL
                                 ? _qmp_json_object_copy_deep (self->event_match) : NULL);
      break;

    case PROP_CAPACITY:
      g_value_set_uint (value, self->capacity);
      break;

    case PROP_MAX_BYTES:
      g_value_set_uint64 (value, qmp_event_queue_get_max_bytes (self));
      break;

    case PROP_LENGTH:
      g_value_set_uint (value, qmp_event_queue_get_length (self));
      break;

    case PROP_DROPPED:
      g_value_set_uint64 (value, qmp_event_queue_get_dropped (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_event_queue_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QmpEventQueue *self = QMP_EVENT_QUEUE (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;

    case PROP_EVENT_NAMES:
      {
        const char * const *names = g_value_get_boxed (value);

        /* An empty list is no filter, as NULL is. */
        self->event_names = names != NULL && names[0] != NULL ? g_strdupv ((char **) names) : NULL;
      }
      break;

    case PROP_EVENT_MATCH:
      {
        JsonObject *match = g_value_get_boxed (value);

        /* A copy of our own: json-glib's reference counts are not atomic,
         * and the worker reads it. */
        self->event_match = match != NULL ? _qmp_json_object_copy_deep (match) : NULL;
      }
      break;

    case PROP_CAPACITY:
      self->capacity = g_value_get_uint (value);
      if (self->capacity == 0)
        self->capacity = QMP_EVENT_QUEUE_DEFAULT_CAPACITY;
      break;

    case PROP_MAX_BYTES:
      qmp_event_queue_set_max_bytes (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_event_queue_class_init (QmpEventQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = qmp_event_queue_constructed;
  object_class->dispose = qmp_event_queue_dispose;
  object_class->finalize = qmp_event_queue_finalize;
  object_class->get_property = qmp_event_queue_get_property;
  object_class->set_property = qmp_event_queue_set_property;

  /**
   * QmpEventQueue:connection: (getter get_connection)
   *
   * The connection whose events the queue keeps: a constructed one.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL,
                         QMP_TYPE_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:event-names:
   *
   * The names of the events to keep, or %NULL (or empty) for every event.
   *
   * Since: 1.0
   */
  properties[PROP_EVENT_NAMES] =
    g_param_spec_boxed ("event-names", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:event-match:
   *
   * Members that a kept event's data must contain, as in
   * [method@Qmp.Event.matches], or %NULL.  Reading it gives a copy.
   *
   * Since: 1.0
   */
  properties[PROP_EVENT_MATCH] =
    g_param_spec_boxed ("event-match", NULL, NULL,
                        JSON_TYPE_OBJECT,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:capacity: (getter get_capacity)
   *
   * How many events the queue keeps at most; past it, the oldest is
   * dropped and counted in [property@Qmp.EventQueue:dropped].  0 at
   * construction means %QMP_EVENT_QUEUE_DEFAULT_CAPACITY.
   *
   * Since: 1.0
   */
  properties[PROP_CAPACITY] =
    g_param_spec_uint ("capacity", NULL, NULL,
                       0, G_MAXUINT, QMP_EVENT_QUEUE_DEFAULT_CAPACITY,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:max-bytes: (getter get_max_bytes) (setter set_max_bytes)
   *
   * How much memory, in bytes, the events that the queue keeps may hold
   * at most, counting each at the size of its name and data as the server
   * sent them, plus about 120 bytes (as
   * [property@Qmp.Connection:max-queued-event-bytes] counts them); past
   * it, the oldest are dropped and counted in
   * [property@Qmp.EventQueue:dropped], as past
   * [property@Qmp.EventQueue:capacity].  The newest event is always kept,
   * whatever its size.  Lowering it drops the oldest events at once, if
   * the queue then holds too much.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_BYTES] =
    g_param_spec_uint64 ("max-bytes", NULL, NULL,
                         1, G_MAXUINT64, QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:length: (getter get_length)
   *
   * How many events the queue holds now.  It changes on the I/O thread and
   * is not notified.
   *
   * Since: 1.0
   */
  properties[PROP_LENGTH] =
    g_param_spec_uint ("length", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * QmpEventQueue:dropped: (getter get_dropped)
   *
   * How many events were dropped because the queue was full (see
   * [property@Qmp.EventQueue:capacity] and
   * [property@Qmp.EventQueue:max-bytes]).  Its change
   * is notified in the main context that was the thread-default one when
   * the queue was made.
   *
   * Since: 1.0
   */
  properties[PROP_DROPPED] =
    g_param_spec_uint64 ("dropped", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qmp_event_queue_init (QmpEventQueue *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->events);
  g_queue_init (&self->waiters);
  self->capacity = QMP_EVENT_QUEUE_DEFAULT_CAPACITY;
  self->max_bytes = QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES;
  self->context = g_main_context_ref_thread_default ();
}

/**
 * qmp_event_queue_new:
 * @connection: a constructed #QmpConnection
 * @event_names: (nullable) (array zero-terminated=1): the names of the
 *   events to keep, or %NULL for all
 * @event_match: (nullable): members that a kept event's data must contain,
 *   as in [method@Qmp.Event.matches]; copied
 * @capacity: how many events to keep at most, or 0 for
 *   %QMP_EVENT_QUEUE_DEFAULT_CAPACITY
 *
 * Makes a queue that keeps every event of @connection that matches, from
 * now on.  It keeps at most %QMP_EVENT_QUEUE_DEFAULT_MAX_BYTES of them:
 * see [method@Qmp.EventQueue.set_max_bytes].
 *
 * ```c
 * g_autoptr(JsonObject) match = json_object_new ();
 * const char *names[] = { "DEVICE_DELETED", NULL };
 *
 * json_object_set_string_member (match, "device", "disk1");
 * queue = qmp_event_queue_new (connection, names, match, 16);
 * ```
 *
 * Returns: (transfer full): a new #QmpEventQueue
 *
 * Since: 1.0
 */
QmpEventQueue *
qmp_event_queue_new (QmpConnection      *connection,
                     const char * const *event_names,
                     JsonObject         *event_match,
                     guint               capacity)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (connection), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (connection), NULL);

  return g_object_new (QMP_TYPE_EVENT_QUEUE,
                       "connection", connection,
                       "event-names", event_names,
                       "event-match", event_match,
                       "capacity", capacity,
                       NULL);
}

/**
 * qmp_event_queue_get_connection: (get-property connection)
 * @self: a #QmpEventQueue
 *
 * Gets the connection whose events @self keeps.
 *
 * ```c
 * QmpConnection *connection = qmp_event_queue_get_connection (queue);
 * ```
 *
 * Returns: (transfer none): the connection
 *
 * Since: 1.0
 */
QmpConnection *
qmp_event_queue_get_connection (QmpEventQueue *self)
{
  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), NULL);

  return self->connection;
}

/**
 * qmp_event_queue_get_capacity: (get-property capacity)
 * @self: a #QmpEventQueue
 *
 * Gets how many events @self keeps at most.
 *
 * ```c
 * g_print ("keeps %u events\n", qmp_event_queue_get_capacity (queue));
 * ```
 *
 * Returns: the capacity
 *
 * Since: 1.0
 */
guint
qmp_event_queue_get_capacity (QmpEventQueue *self)
{
  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), 0);

  return self->capacity;
}

/**
 * qmp_event_queue_get_max_bytes: (get-property max-bytes)
 * @self: a #QmpEventQueue
 *
 * Gets how many bytes of events @self keeps at most; see
 * [property@Qmp.EventQueue:max-bytes].
 *
 * ```c
 * g_print ("keeps %" G_GUINT64_FORMAT " bytes of events\n",
 *          qmp_event_queue_get_max_bytes (queue));
 * ```
 *
 * Returns: the bound, in bytes
 *
 * Since: 1.0
 */
guint64
qmp_event_queue_get_max_bytes (QmpEventQueue *self)
{
  guint64 max_bytes;

  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), 0);

  g_mutex_lock (&self->lock);
  max_bytes = self->max_bytes;
  g_mutex_unlock (&self->lock);

  return max_bytes;
}

/**
 * qmp_event_queue_set_max_bytes: (set-property max-bytes)
 * @self: a #QmpEventQueue
 * @max_bytes: how many bytes of events to keep at most, at least 1
 *
 * Sets how many bytes of events @self keeps at most; see
 * [property@Qmp.EventQueue:max-bytes].  When @self already holds more,
 * its oldest events are dropped at once, and counted in
 * [property@Qmp.EventQueue:dropped].
 *
 * ```c
 * // large events (a guest agent's file reads): keep up to 256 MiB
 * qmp_event_queue_set_max_bytes (queue, 256 * 1024 * 1024);
 * ```
 *
 * Since: 1.0
 */
void
qmp_event_queue_set_max_bytes (QmpEventQueue *self,
                               guint64        max_bytes)
{
  gboolean changed;
  gboolean schedule;

  g_return_if_fail (QMP_IS_EVENT_QUEUE (self));
  g_return_if_fail (max_bytes > 0);

  g_mutex_lock (&self->lock);
  changed = self->max_bytes != max_bytes;
  self->max_bytes = max_bytes;
  schedule = event_queue_trim_locked (self);
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BYTES]);
  if (schedule)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, notify_dropped,
                                g_object_ref (self), g_object_unref);
}

/**
 * qmp_event_queue_get_length: (get-property length)
 * @self: a #QmpEventQueue
 *
 * Gets how many events @self holds now.
 *
 * ```c
 * while (qmp_event_queue_get_length (queue) > 0)
 *   handle (qmp_event_queue_pop (queue));
 * ```
 *
 * Returns: the number of events kept
 *
 * Since: 1.0
 */
guint
qmp_event_queue_get_length (QmpEventQueue *self)
{
  guint length;

  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), 0);

  g_mutex_lock (&self->lock);
  length = self->events.length;
  g_mutex_unlock (&self->lock);

  return length;
}

/**
 * qmp_event_queue_get_dropped: (get-property dropped)
 * @self: a #QmpEventQueue
 *
 * Gets how many events were dropped because @self was full: it held
 * [property@Qmp.EventQueue:capacity] events, or
 * [property@Qmp.EventQueue:max-bytes] bytes of them.
 *
 * ```c
 * if (qmp_event_queue_get_dropped (queue) > 0)
 *   g_warning ("missed some events: resynchronise the state");
 * ```
 *
 * Returns: the number of events dropped
 *
 * Since: 1.0
 */
guint64
qmp_event_queue_get_dropped (QmpEventQueue *self)
{
  guint64 dropped;

  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), 0);

  g_mutex_lock (&self->lock);
  dropped = self->dropped;
  g_mutex_unlock (&self->lock);

  return dropped;
}

/**
 * qmp_event_queue_pop:
 * @self: a #QmpEventQueue
 *
 * Takes the oldest event kept, without waiting.
 *
 * ```c
 * g_autoptr(QmpEvent) event = qmp_event_queue_pop (queue);
 *
 * if (event != NULL)
 *   g_print ("%s\n", qmp_event_get_name (event));
 * ```
 *
 * Returns: (transfer full) (nullable): the oldest event, or %NULL when
 *   @self is empty
 *
 * Since: 1.0
 */
QmpEvent *
qmp_event_queue_pop (QmpEventQueue *self)
{
  QmpEvent *event;

  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), NULL);

  g_mutex_lock (&self->lock);
  event = event_queue_pop_locked (self);
  g_mutex_unlock (&self->lock);

  return event;
}

/**
 * qmp_event_queue_pop_async:
 * @self: a #QmpEventQueue
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the oldest event, once there is one
 * @user_data: (closure callback): data for @callback
 *
 * Takes the oldest event kept, waiting for one if @self is empty.
 * Several pops may wait at once; they get the events in the order they
 * were made.  Unlike the calls of [class@Qmp.Connection], a pop has no
 * timeout of its own: bound it with @cancellable.  A pop cancelled as its
 * event comes either returns the event or fails with
 * %G_IO_ERROR_CANCELLED and leaves it in @self: an event is never lost.
 *
 * ```c
 * qmp_event_queue_pop_async (queue, cancellable, on_event, self);
 * ```
 *
 * Since: 1.0
 */
void
qmp_event_queue_pop_async (QmpEventQueue       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  QmpEvent *event;
  GError *error = NULL;
  QmpWaiter *waiter;

  g_return_if_fail (QMP_IS_EVENT_QUEUE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  /* A pop that was given an event returns it, even if cancelled after:
   * else the event would be lost, neither returned nor kept. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_source_tag (task, qmp_event_queue_pop_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  waiter = _qmp_waiter_new (task, &self->waiters, &self->lock);

  g_mutex_lock (&self->lock);
  event = event_queue_pop_locked (self);
  if (event == NULL && self->closed_error != NULL)
    error = g_error_copy (self->closed_error);
  if (event == NULL && error == NULL && !g_cancellable_is_cancelled (cancellable))
    {
      g_queue_push_tail (&self->waiters, g_steal_pointer (&waiter));
    }
  g_mutex_unlock (&self->lock);

  if (waiter == NULL)
    return;   /* waiting */

  _qmp_waiter_free (waiter);

  if (event != NULL)
    g_task_return_pointer (task, event, (GDestroyNotify) qmp_event_unref);
  else if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_error_if_cancelled (task);
}

/**
 * qmp_event_queue_pop_finish:
 * @self: a #QmpEventQueue
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.EventQueue.pop_async].
 *
 * ```c
 * g_autoptr(QmpEvent) event = qmp_event_queue_pop_finish (queue, result, &error);
 * ```
 *
 * Returns: (transfer full): the oldest event, or %NULL with @error set:
 *   %G_IO_ERROR_CANCELLED, or the reason the connection closed when it
 *   closed and @self is empty
 *
 * Since: 1.0
 */
QmpEvent *
qmp_event_queue_pop_finish (QmpEventQueue  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_event_queue_pop_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_sync_pop_cancelled (GCancellable *cancellable,
                       gpointer      user_data)
{
  QmpEventQueue *self = user_data;

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/**
 * qmp_event_queue_pop_sync:
 * @self: a #QmpEventQueue
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Takes the oldest event kept, waiting for one if @self is empty, and
 * blocking the calling thread.  The wait is bounded by the connection's
 * [property@Qmp.Connection:timeout] (if it has one) and by @cancellable.
 *
 * ```c
 * qmp_connection_cont_sync (connection, NULL, &error);
 * event = qmp_event_queue_pop_sync (queue, NULL, &error);   // RESUME
 * ```
 *
 * Returns: (transfer full): the oldest event, or %NULL with @error set:
 *   %G_IO_ERROR_CANCELLED, %G_IO_ERROR_TIMED_OUT, or the reason the
 *   connection closed when it closed and @self is empty
 *
 * Since: 1.0
 */
QmpEvent *
qmp_event_queue_pop_sync (QmpEventQueue  *self,
                          GCancellable   *cancellable,
                          GError        **error)
{
  QmpEvent *event = NULL;
  guint timeout_msec;
  gint64 deadline = 0;
  gulong cancelled_id = 0;

  g_return_val_if_fail (QMP_IS_EVENT_QUEUE (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  timeout_msec = qmp_connection_get_timeout (self->connection);
  if (timeout_msec > 0)
    deadline = g_get_monotonic_time () + (gint64) timeout_msec * G_TIME_SPAN_MILLISECOND;

  if (cancellable != NULL)
    cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_sync_pop_cancelled),
                                          self, NULL);

  g_mutex_lock (&self->lock);
  for (;;)
    {
      if ((event = event_queue_pop_locked (self)) != NULL)
        break;

      if (self->closed_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->closed_error));
          break;
        }

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;

      if (deadline == 0)
        {
          g_cond_wait (&self->cond, &self->lock);
        }
      else if (!g_cond_wait_until (&self->cond, &self->lock, deadline) &&
               g_queue_is_empty (&self->events))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("Timed out after %u ms waiting for an event"), timeout_msec);
          break;
        }
    }
  g_mutex_unlock (&self->lock);

  if (cancelled_id != 0)
    g_cancellable_disconnect (cancellable, cancelled_id);

  return event;
}
