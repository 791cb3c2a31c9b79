/* qmp-connection.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-channel-private.h"
#include "qmp-connection.h"
#include "qmp-enums.h"
#include "qmp-error.h"
#include "qmp-event-private.h"
#include "qmp-connection-private.h"
#include "qmp-event-private.h"
#include "qmp-handshake-private.h"
#include "qmp-init-private.h"
#include "qmp-schema-private.h"
#include "qmp-sync-private.h"
#include "qmp-json-private.h"

/**
 * QmpConnection:
 *
 * A connection to a QMP server: QEMU, qemu-storage-daemon or anything else
 * that speaks the QEMU Machine Protocol.
 *
 * Constructing the connection connects, reads the server's greeting and
 * negotiates capabilities; once that finished, any command can be run
 * with [method@Qmp.Connection.execute_async], and events arrive as the
 * detailed [signal@Qmp.Connection::event] signal.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpConnection) connection = NULL;
 * g_autoptr(JsonNode) status = NULL;
 *
 * connection = qmp_connection_new_for_address_sync ("unix:/run/vm0/qmp.sock",
 *                                                   QMP_CONNECTION_FLAGS_NONE,
 *                                                   NULL, &error);
 * if (connection == NULL)
 *   g_error ("%s", error->message);
 *
 * status = qmp_connection_execute_sync (connection, "query-status", NULL,
 *                                       QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * if (status == NULL)
 *   g_error ("%s", error->message);
 *
 * g_print ("%s\n", json_object_get_string_member (json_node_get_object (status),
 *                                                 "status"));
 * ```
 *
 * ## Threads
 *
 * Every function may be called from any thread.  The socket I/O of all
 * connections runs on one shared worker thread.  The callback of an
 * `_async` function runs in the thread-default main context of the thread
 * that called it; the [signal@Qmp.Connection::event] and
 * [signal@Qmp.Connection::closed] signals are emitted in the main context
 * that was the thread-default one when the connection was constructed.
 * The `_sync` functions block the calling thread without running any main
 * loop, so they work in a program that has none.
 *
 * An event is queued for the constructing context only while a handler for
 * it is connected, so a program that never runs its main loop does not
 * collect events in memory.  [method@Qmp.Connection.wait_event_async] and
 * [method@Qmp.Connection.execute_until_event_async] see every event.  The
 * events waiting for slow handlers are bounded: see
 * [property@Qmp.Connection:max-queued-events].
 *
 * ## Commands
 *
 * Commands are written in the order the calls were made and pipelined: a
 * command does not wait for the reply to the one before.  (A call checked
 * against the schema, %QMP_EXECUTE_FLAGS_VALIDATE, that waits for the
 * schema to come is written once it came.)  At most eight
 * in-band commands are unanswered at once, which is as many as QEMU
 * queues; the others wait in the connection.  A command sent out of band
 * (%QMP_EXECUTE_FLAGS_OOB) goes ahead of those.
 *
 * A command cancelled before its first byte was written to the socket is
 * never sent, even if it already waited in the connection's output buffer;
 * one cancelled after finishes at once with %G_IO_ERROR_CANCELLED, the
 * rest of its line is still written, and its reply is dropped when it
 * comes.  A call made with a cancellable that is already cancelled always
 * fails with %G_IO_ERROR_CANCELLED and sends nothing.
 * [property@Qmp.Connection:timeout] bounds every call in the same way.
 *
 * Since: 1.0
 */

struct _QmpConnection
{
  GObject parent_instance;

  /* Construct-only */
  char *address;              /* nullable: set when the connection made the stream */
  GIOStream *stream;          /* set by the caller, or once connected */
  QmpConnectionFlags flags;
  GTlsDatabase *tls_database;       /* nullable; for a tls: address */
  GTlsCertificate *tls_certificate; /* nullable; for a tls: address */

  guint timeout_msec;         /* atomic; 0: none */
  guint64 max_message_size;   /* protected by init_lock */

  /* From the greeting; set during construction, constant afterwards */
  guint version_major;
  guint version_minor;
  guint version_micro;
  char *package;
  GStrv capabilities;
  gboolean oob_enabled;

  QmpWorker *worker;
  QmpChannel *channel;
  GMainContext *context;      /* where signals are emitted */

  /* GInitable: constructed once, whatever the number of init() calls */
  GMutex init_lock;           /* also protects max_message_size */
  enum { INIT_NONE, INIT_RUNNING, INIT_DONE } init_state;
  GError *init_error;

  /* Event sinks (QmpEventQueue, QmpRunStateTracker), fed on the worker */
  GMutex sinks_lock;
  GArray *sinks;              /* of EventSink */
  guint next_sink_id;
  gboolean sinks_closed;
  GError *sinks_close_error;

  GQuark last_detail;         /* the channel's reader's (one at a time): of
                               * the last event that had one */

  /* Events waiting to be emitted in ->context */
  GMutex events_lock;
  GQueue events;
  GQueue completions;         /* Completion: _async calls finished for
                               * tasks of ->context, returned by the same
                               * source as the events, after them */
  gboolean events_scheduled;
  GSource *emit_source;       /* EmitSource, while attached to ->context */
  guint n_undelivered;        /* queued or being emitted */
  guint64 undelivered_size;   /* their _qmp_event_get_size() */
  guint max_queued_events;
  guint64 max_queued_event_bytes;
  guint64 dropped_events;
  gboolean dropped_changed;   /* notify::dropped-events is due */
  gboolean reading_paused;    /* the channel was told the queue is full */
  /* Found listened to since the last batch was emitted: the worker asks
   * GObject again only after that (its lock is the one g_signal_emit()
   * takes, over and over, in the signal's context) */
  gboolean listened_all;      /* "event" has a handler without detail */
  GQuark listened_detail;     /* "event::NAME" has one for this NAME */
};

static void qmp_connection_initable_iface_init       (GInitableIface      *iface);
static void qmp_connection_async_initable_iface_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QmpConnection, qmp_connection, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      qmp_connection_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                      qmp_connection_async_initable_iface_init))

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_STREAM,
  PROP_FLAGS,
  PROP_TIMEOUT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_VERSION_MAJOR,
  PROP_VERSION_MINOR,
  PROP_VERSION_MICRO,
  PROP_PACKAGE,
  PROP_CAPABILITIES,
  PROP_OOB_ENABLED,
  PROP_CLOSED,
  PROP_VALIDATE_ARGUMENTS,
  PROP_MAX_QUEUED_EVENTS,
  PROP_MAX_QUEUED_EVENT_BYTES,
  PROP_DROPPED_EVENTS,
  PROP_TLS_DATABASE,
  PROP_TLS_CERTIFICATE,
  N_PROPS
};

enum {
  SIGNAL_EVENT,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

#define DEFAULT_MAX_MESSAGE_SIZE (64 * 1024 * 1024)
#define DEFAULT_MAX_QUEUED_EVENTS 10000
#define DEFAULT_MAX_QUEUED_EVENT_BYTES (16 * 1024 * 1024)

static gboolean
connection_is_ready (QmpConnection *self)
{
  gboolean ready;

  g_mutex_lock (&self->init_lock);
  ready = self->init_state == INIT_DONE && self->init_error == NULL;
  g_mutex_unlock (&self->init_lock);

  return ready;
}

/* ------------------------------------------------------- waiting (sync) */

/* What a _sync function waits on: no main context is involved, so it works
 * in any thread, whatever that thread's context is doing. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean done;
  GError *error;
} SyncWait;

static void
sync_wait_init (SyncWait *wait)
{
  g_mutex_init (&wait->lock);
  g_cond_init (&wait->cond);
  wait->done = FALSE;
  wait->error = NULL;
}

static void
sync_wait_done (GError   *error,
                gpointer  user_data)
{
  SyncWait *wait = user_data;

  g_mutex_lock (&wait->lock);
  wait->error = error;
  wait->done = TRUE;
  g_cond_broadcast (&wait->cond);
  g_mutex_unlock (&wait->lock);
}

static gboolean
sync_wait_run (SyncWait  *wait,
               GError   **error)
{
  g_mutex_lock (&wait->lock);
  while (!wait->done)
    g_cond_wait (&wait->cond, &wait->lock);
  g_mutex_unlock (&wait->lock);

  g_mutex_clear (&wait->lock);
  g_cond_clear (&wait->cond);

  if (wait->error != NULL)
    {
      g_propagate_error (error, wait->error);
      return FALSE;
    }

  return TRUE;
}

/* -------------------------------------------------------------- signals */

/* The context where signals go, borrowed: it only changes (by
 * _qmp_connection_set_context()) before anyone can connect a handler. */
static GMainContext *
connection_get_context (QmpConnection *self)
{
  GMainContext *context;

  g_mutex_lock (&self->events_lock);
  context = self->context;
  g_mutex_unlock (&self->events_lock);

  return context;
}

static GMainContext *connection_schedule_emit_locked (QmpConnection *self);

/* For QmpProcess, which constructs its connection inside a private context
 * but hands it to a caller whose context is another.  An emission due in
 * the old context is due in the new one. */
void
_qmp_connection_set_context (QmpConnection *self,
                             GMainContext  *context)
{
  g_autoptr(GMainContext) wake = NULL;
  GSource *old_source;

  g_mutex_lock (&self->events_lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref (context);
  old_source = g_steal_pointer (&self->emit_source);
  if (self->events_scheduled)
    wake = connection_schedule_emit_locked (self);
  g_mutex_unlock (&self->events_lock);

  if (wake != NULL)
    _qmp_channel_wakeup_after_reading (wake);
  if (old_source != NULL)
    {
      g_source_destroy (old_source);
      g_source_unref (old_source);
    }
}

/* Whether the undelivered events reach a bound: then reading pauses, or,
 * while a call waits for input, events beyond it are dropped. */
static gboolean
events_full_locked (QmpConnection *self,
                    gsize          more)
{
  return self->n_undelivered > 0 &&
         (self->n_undelivered >= self->max_queued_events ||
          self->undelivered_size + more > self->max_queued_event_bytes);
}

/* Takes @n events of @size bytes off the undelivered count; TRUE if
 * reading should go on again: the queue is half empty. */
static gboolean
events_delivered_locked (QmpConnection *self,
                         guint          n,
                         guint64        size)
{
  self->n_undelivered -= n;
  self->undelivered_size -= size;
  if (self->reading_paused &&
      self->n_undelivered <= self->max_queued_events / 2 &&
      self->undelivered_size <= self->max_queued_event_bytes / 2)
    {
      self->reading_paused = FALSE;
      return TRUE;
    }

  return FALSE;
}

/* An _async call's result, on its way to its task's context. */
typedef struct
{
  GTask *task;
  GError *error;
  gpointer result;
  GDestroyNotify result_free;
} Completion;

static void
completion_return (Completion *completion)
{
  if (completion->error != NULL)
    g_task_return_error (completion->task, completion->error);
  else
    g_task_return_pointer (completion->task, completion->result, completion->result_free);
  g_object_unref (completion->task);
  g_free (completion);
}

/* The source that emits the events and returns the _async results in the
 * connection's context.  The reader marks it ready and wakes the context
 * with g_main_context_wakeup(), which takes no lock.  An idle source per
 * batch took the context's lock twice (g_source_attach(), then
 * g_source_unref()) just when the thread it had woken wanted it: on a
 * shared CPU, a futex wait and a thread switch each time.  It stays
 * attached while events and results come, and goes after one to two
 * EMIT_SOURCE_LINGER_USEC without any, so that a context with many quiet
 * connections does not check a source of each at every iteration.  It
 * does not keep the connection alive: events still queued when the last
 * reference goes are dropped with it. */
typedef struct
{
  GSource source;
  GWeakRef connection;
  int ready;                  /* atomic: set while ->events_scheduled */
  gboolean busy;              /* emitted since the deadline was set; in
                               * the context's thread */
} EmitSource;

#define EMIT_SOURCE_LINGER_USEC G_USEC_PER_SEC

/* In the signal's context: emits the events queued when it started, one
 * by one from the shared queue, then lets that context run its other
 * sources before the next batch.  The source may recurse: a handler that
 * runs a nested main loop, waiting for a reply that comes after more
 * events, sees them emitted there; reading would otherwise stay stopped
 * behind them. */
static gboolean
emit_events (gpointer user_data)
{
  QmpConnection *self = user_data;
  guint n_batch, n_completions;
  gboolean notify_dropped;
  gboolean more;

  g_mutex_lock (&self->events_lock);
  n_batch = self->events.length;
  /* The calls finished when it started: each after the events that came
   * before it (they are in the batch). */
  n_completions = self->completions.length;
  g_mutex_unlock (&self->events_lock);

  for (guint i = 0; i < n_batch; i++)
    {
      QmpEvent *event;
      gboolean resume;

      g_mutex_lock (&self->events_lock);
      event = g_queue_pop_head (&self->events);
      resume = event != NULL && events_delivered_locked (self, 1, _qmp_event_get_size (event));
      g_mutex_unlock (&self->events_lock);

      /* A nested emission took them. */
      if (event == NULL)
        break;

      if (resume && self->channel != NULL)
        _qmp_channel_resume_reading (self->channel);

      g_signal_emit (self, signals[SIGNAL_EVENT],
                     _qmp_event_get_detail (event), event);
      qmp_event_unref (event);
    }

  /* Here, in the tasks' context, GTask runs the callbacks at once: one
   * wakeup of this context for a batch of replies, not one each. */
  for (guint i = 0; i < n_completions; i++)
    {
      Completion *completion;

      g_mutex_lock (&self->events_lock);
      completion = g_queue_pop_head (&self->completions);
      g_mutex_unlock (&self->events_lock);

      /* A nested emission took them. */
      if (completion == NULL)
        break;

      completion_return (completion);
    }

  g_mutex_lock (&self->events_lock);
  more = self->events.length > 0 || self->completions.length > 0;
  if (!more)
    {
      self->events_scheduled = FALSE;
      if (self->emit_source != NULL)
        g_atomic_int_set (&((EmitSource *) self->emit_source)->ready, FALSE);
    }
  /* Handlers may have gone meanwhile: asked again for the next events. */
  self->listened_all = FALSE;
  self->listened_detail = 0;
  notify_dropped = self->dropped_changed;
  self->dropped_changed = FALSE;
  g_mutex_unlock (&self->events_lock);

  if (notify_dropped)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DROPPED_EVENTS]);

  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
emit_source_prepare (GSource *source,
                     gint    *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((EmitSource *) source)->ready);
}

static gboolean
emit_source_check (GSource *source)
{
  return g_atomic_int_get (&((EmitSource *) source)->ready);
}

static gboolean
emit_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  EmitSource *emit = (EmitSource *) source;
  g_autoptr(QmpConnection) self = g_weak_ref_get (&emit->connection);
  g_autoptr(GSource) detached = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  if (g_atomic_int_get (&emit->ready))
    {
      emit_events (self);

      /* Attached for a while, in case more come: a deadline is set once,
       * not at each batch (setting one wakes the context). */
      if (g_source_get_ready_time (source) == -1)
        g_source_set_ready_time (source, g_get_monotonic_time () + EMIT_SOURCE_LINGER_USEC);
      else
        emit->busy = TRUE;
      return G_SOURCE_CONTINUE;
    }

  /* The deadline: if something came since it was set, another one. */
  if (emit->busy)
    {
      emit->busy = FALSE;
      g_source_set_ready_time (source, g_get_monotonic_time () + EMIT_SOURCE_LINGER_USEC);
      return G_SOURCE_CONTINUE;
    }

  /* EMIT_SOURCE_LINGER_USEC without an event or a result: it goes, unless
   * one came just now. */
  g_mutex_lock (&self->events_lock);
  if (!self->events_scheduled && self->emit_source == source)
    detached = g_steal_pointer (&self->emit_source);
  g_mutex_unlock (&self->events_lock);

  if (detached == NULL)
    {
      g_source_set_ready_time (source, -1);
      return G_SOURCE_CONTINUE;
    }
  return G_SOURCE_REMOVE;
}

static void
emit_source_finalize (GSource *source)
{
  g_weak_ref_clear (&((EmitSource *) source)->connection);
}

static GSourceFuncs emit_source_funcs = {
  emit_source_prepare,
  emit_source_check,
  emit_source_dispatch,
  emit_source_finalize,
  NULL,
  NULL,
};

/* Marks the emission due (->events_scheduled, and the source ready),
 * attaching the source if it is not; returns the context to wake once the
 * lock is released (see _qmp_channel_wakeup_after_reading()). */
static GMainContext *
connection_schedule_emit_locked (QmpConnection *self)
{
  EmitSource *emit;

  if (self->emit_source == NULL)
    {
      GSource *source = g_source_new (&emit_source_funcs, sizeof (EmitSource));

      g_weak_ref_init (&((EmitSource *) source)->connection, self);
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_can_recurse (source, TRUE);
      g_source_set_static_name (source, "[qmp-glib] emit events");
      /* Only here and in emit_source_dispatch(), after a pause: no thread
       * waits for the context's lock then. */
      g_source_attach (source, self->context);
      self->emit_source = source;
    }

  self->events_scheduled = TRUE;
  emit = (EmitSource *) self->emit_source;
  g_atomic_int_set (&emit->ready, TRUE);

  return g_main_context_ref (self->context);
}

/* ---------------------------------------------------------------- sinks */

typedef struct
{
  guint id;
  QmpEventSinkFunc func;
  gpointer user_data;
  gboolean removed;           /* while the sinks are being called */
} EventSink;

/* The connection whose sinks this thread is calling, with their lock held:
 * a sink's function may drop the last reference to its owner, which then
 * removes the sink from inside the call. */
static GPrivate calling_sinks_of;

/* Adds @func, which the worker calls with every event from now on (each
 * call with its own QmpEvent, which @func owns) and once with %NULL and
 * the reason when the connection closed, before the "closed" signal.  On
 * a closed connection, @func is called with %NULL at once, in the calling
 * thread.  @func runs with a lock held: it must be quick and must not call
 * back into the connection's sinks. */
guint
_qmp_connection_add_event_sink (QmpConnection    *self,
                                QmpEventSinkFunc  func,
                                gpointer          user_data)
{
  EventSink sink = { 0, func, user_data, FALSE };
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&self->sinks_lock);
  sink.id = ++self->next_sink_id;
  if (self->sinks_closed)
    error = g_error_copy (self->sinks_close_error);
  else
    g_array_append_val (self->sinks, sink);
  g_mutex_unlock (&self->sinks_lock);

  if (error != NULL)
    func (NULL, error, user_data);

  return sink.id;
}

/* Once this returns, the sink's function is not running and will not run
 * again. */
void
_qmp_connection_remove_event_sink (QmpConnection *self,
                                   guint          id)
{
  gboolean calling = g_private_get (&calling_sinks_of) == self;

  /* From inside a sink's call, the lock is this thread's already: the
   * sink is only marked, and the caller of the sinks drops it. */
  if (!calling)
    g_mutex_lock (&self->sinks_lock);
  for (guint i = 0; i < self->sinks->len; i++)
    {
      EventSink *sink = &g_array_index (self->sinks, EventSink, i);

      if (sink->id == id)
        {
          if (calling)
            sink->removed = TRUE;
          else
            g_array_remove_index (self->sinks, i);
          break;
        }
    }
  if (!calling)
    g_mutex_unlock (&self->sinks_lock);
}

/* With the sinks' lock held: drops the sinks removed during the calls. */
static void
sinks_drop_removed_locked (QmpConnection *self)
{
  for (guint i = self->sinks->len; i > 0; i--)
    if (g_array_index (self->sinks, EventSink, i - 1).removed)
      g_array_remove_index (self->sinks, i - 1);
}

static void
sinks_deliver (QmpConnection *self,
               QmpEvent      *event)
{
  g_mutex_lock (&self->sinks_lock);
  /* Most connections have none: nothing to mark for every event. */
  if (self->sinks->len == 0)
    {
      g_mutex_unlock (&self->sinks_lock);
      return;
    }
  g_private_set (&calling_sinks_of, self);
  for (guint i = 0; i < self->sinks->len; i++)
    {
      EventSink sink = g_array_index (self->sinks, EventSink, i);

      if (!sink.removed)
        sink.func (_qmp_event_copy (event), NULL, sink.user_data);
    }
  g_private_set (&calling_sinks_of, NULL);
  sinks_drop_removed_locked (self);
  g_mutex_unlock (&self->sinks_lock);
}

static void
sinks_close (QmpConnection *self,
             const GError  *error)
{
  g_mutex_lock (&self->sinks_lock);
  if (!self->sinks_closed)
    {
      self->sinks_closed = TRUE;
      self->sinks_close_error = error != NULL
        ? g_error_copy (error)
        : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, _("The connection is closed"));

      g_private_set (&calling_sinks_of, self);
      for (guint i = 0; i < self->sinks->len; i++)
        {
          EventSink sink = g_array_index (self->sinks, EventSink, i);

          if (!sink.removed)
            sink.func (NULL, self->sinks_close_error, sink.user_data);
        }
      g_private_set (&calling_sinks_of, NULL);
      g_array_set_size (self->sinks, 0);
    }
  g_mutex_unlock (&self->sinks_lock);
}

/* In the channel's reader (the worker, or a _sync caller reading for
 * itself): an event came, with the channel's reference.  It is queued for
 * the constructing context only if someone listens, and the queue is
 * emptied by one dispatch of the emission source however many events it
 * holds.  The queue takes that reference: nothing in the reader holds the
 * event once it is queued, so its data object, which a handler may have
 * made and referenced, is only ever freed on the handler's thread
 * (json-glib's reference counts are not atomic).  Returns TRUE when the
 * queue is full, and the channel should stop reading. */
static gboolean
connection_on_event (GObject  *owner,
                     QmpEvent *event)
{
  QmpConnection *self = QMP_CONNECTION (owner);
  GQuark detail = _qmp_event_get_detail_after (event, &self->last_detail);
  gsize size = _qmp_event_get_size (event);
  g_autoptr(GMainContext) wake = NULL;
  gboolean full;

  sinks_deliver (self, event);

  /* A handler found since the last batch was emitted is taken to be there
   * still: one that goes meanwhile costs an emission with no handler.
   * One that comes is asked for at once, so no event is missed. */
  g_mutex_lock (&self->events_lock);
  if (!self->listened_all && (detail == 0 || detail != self->listened_detail))
    {
      gboolean all;

      g_mutex_unlock (&self->events_lock);

      /* With a detail, GLib looks only for the handlers of that detail:
       * those connected to "event" without one are asked for apart. */
      all = g_signal_has_handler_pending (self, signals[SIGNAL_EVENT], 0, TRUE);
      if (!all && (detail == 0 || !g_signal_has_handler_pending (self, signals[SIGNAL_EVENT], detail, TRUE)))
        {
          qmp_event_unref (event);
          return FALSE;
        }

      g_mutex_lock (&self->events_lock);
      if (all)
        self->listened_all = TRUE;
      else
        self->listened_detail = detail;
    }

  /* The event that reaches a bound is queued (one more than the bound
   * allows), and reading pauses: the queue was full before it only when
   * reading went on past the bound for a call that waits for its reply. */
  if (events_full_locked (self, 0))
    {
      /* Then this event cannot be kept, but it is counted. */
      self->dropped_events++;
      if (!self->dropped_changed)
        {
          self->dropped_changed = TRUE;
          g_debug ("Dropping events for a slow “event” handler");
        }
    }
  else
    {
      g_queue_push_tail (&self->events, g_steal_pointer (&event));
      self->n_undelivered++;
      self->undelivered_size += size;
    }
  /* Also for a dropped event: the emission notifies dropped-events. */
  if (!self->events_scheduled)
    wake = connection_schedule_emit_locked (self);
  full = events_full_locked (self, 0);
  if (full)
    self->reading_paused = TRUE;
  g_mutex_unlock (&self->events_lock);

  if (event != NULL)
    qmp_event_unref (event);

  /* From the reader: once it has read what there is (one wakeup for a
   * batch of events and results). */
  if (wake != NULL)
    _qmp_channel_wakeup_after_reading (wake);

  return full;
}

typedef struct
{
  QmpConnection *self;
  gboolean remote_peer_vanished;
  GError *error;
} ClosedData;

static void
closed_data_free (gpointer data)
{
  ClosedData *closed = data;

  g_object_unref (closed->self);
  g_clear_error (&closed->error);
  g_free (closed);
}

static gboolean
emit_closed (gpointer user_data)
{
  ClosedData *closed = user_data;

  /* Events that came before the close are emitted before it. */
  while (emit_events (closed->self) == G_SOURCE_CONTINUE)
    ;

  g_object_notify_by_pspec (G_OBJECT (closed->self), properties[PROP_CLOSED]);
  g_signal_emit (closed->self, signals[SIGNAL_CLOSED], 0,
                 closed->remote_peer_vanished, closed->error);

  return G_SOURCE_REMOVE;
}

/* On the worker, once, when the channel closed. */
static void
connection_on_closed (GObject      *owner,
                      gboolean      remote_peer_vanished,
                      const GError *error)
{
  QmpConnection *self = QMP_CONNECTION (owner);
  ClosedData *closed;

  /* A connection that never finished construction never opened, as far as
   * its users know. */
  if (!connection_is_ready (self))
    return;

  sinks_close (self, error);

  closed = g_new0 (ClosedData, 1);
  closed->self = g_object_ref (self);
  closed->remote_peer_vanished = remote_peer_vanished;
  /* A local close is no error. */
  if (error != NULL && !(!remote_peer_vanished && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED)))
    closed->error = g_error_copy (error);

  g_main_context_invoke_full (connection_get_context (self), G_PRIORITY_DEFAULT, emit_closed,
                              closed, closed_data_free);
}

/* ---------------------------------------------------------- construction */

typedef void (*InitDoneFunc) (GError   *error,
                              gpointer  user_data);

typedef struct
{
  QmpConnection *self;
  InitDoneFunc done_func;
  gpointer done_data;
} InitData;

/* On the worker, once connected: the channel the handshake talks on is
 * the connection's from the start, so that close and dispose reach it. */
static QmpChannel *
init_make_channel (GIOStream  *stream,
                   gpointer    user_data,
                   GError    **error)
{
  InitData *init = user_data;
  QmpConnection *self = init->self;

  if (self->stream == NULL)
    self->stream = g_object_ref (stream);

  self->channel = _qmp_channel_new (self->stream,
                                    (self->flags & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0,
                                    G_OBJECT (self),
                                    connection_on_event, connection_on_closed, error);
  if (self->channel == NULL)
    return NULL;

  _qmp_channel_set_max_message_size (self->channel, qmp_connection_get_max_message_size (self));

  return _qmp_channel_ref (self->channel);
}

static void
init_on_handshake_done (QmpPeerInfo *info,
                        GError      *error,
                        gpointer     user_data)
{
  InitData *init = user_data;
  QmpConnection *self = init->self;

  if (info != NULL)
    {
      self->version_major = info->version_major;
      self->version_minor = info->version_minor;
      self->version_micro = info->version_micro;
      self->package = g_steal_pointer (&info->package);
      self->capabilities = g_steal_pointer (&info->capabilities);
      self->oob_enabled = info->oob_enabled;
      _qmp_peer_info_free (info);
    }
  else if (self->channel != NULL)
    {
      _qmp_channel_close (self->channel, NULL, FALSE, NULL, NULL);
    }

  g_mutex_lock (&self->init_lock);
  self->init_state = INIT_DONE;
  self->init_error = error ? g_error_copy (error) : NULL;
  g_mutex_unlock (&self->init_lock);

  init->done_func (error, init->done_data);
  g_object_unref (init->self);
  g_free (init);
}

static void
init_start (QmpConnection *self,
            GCancellable  *cancellable,
            InitDoneFunc   done_func,
            gpointer       done_data)
{
  InitData *init;

  init = g_new0 (InitData, 1);
  init->self = g_object_ref (self);
  init->done_func = done_func;
  init->done_data = done_data;

  _qmp_handshake_start (self->address, self->stream, self->flags,
                        self->tls_database, self->tls_certificate,
                        qmp_connection_get_timeout (self), cancellable,
                        init_make_channel, init_on_handshake_done, init);
}

/* Returns TRUE when the caller is to construct the connection; FALSE when
 * it was constructed (or is being constructed) already, with the result in
 * @error. */
static gboolean
init_begin (QmpConnection  *self,
            GError        **error)
{
  gboolean start = FALSE;

  g_mutex_lock (&self->init_lock);
  switch (self->init_state)
    {
    case INIT_NONE:
      self->init_state = INIT_RUNNING;
      start = TRUE;
      break;

    case INIT_RUNNING:
      g_critical ("QmpConnection is being initialized already");
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           _("The connection is being initialized already"));
      break;

    case INIT_DONE:
    default:
      if (self->init_error != NULL)
        g_propagate_error (error, g_error_copy (self->init_error));
      break;
    }
  g_mutex_unlock (&self->init_lock);

  return start;
}

static gboolean
qmp_connection_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  QmpConnection *self = QMP_CONNECTION (initable);
  g_autoptr(GError) local_error = NULL;
  SyncWait wait;

  if (!init_begin (self, &local_error))
    {
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      return TRUE;
    }

  sync_wait_init (&wait);
  init_start (self, cancellable, sync_wait_done, &wait);

  return sync_wait_run (&wait, error);
}

static void
qmp_connection_initable_iface_init (GInitableIface *iface)
{
  iface->init = qmp_connection_initable_init;
}

static void
on_init_done_async (GError   *error,
                    gpointer  user_data)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
qmp_connection_async_initable_init_async (GAsyncInitable      *initable,
                                          int                  io_priority,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  QmpConnection *self = QMP_CONNECTION (initable);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_async_initable_init_async);
  g_task_set_priority (task, io_priority);

  if (!init_begin (self, &error))
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  init_start (self, cancellable, on_init_done_async, g_steal_pointer (&task));
}

static gboolean
qmp_connection_async_initable_init_finish (GAsyncInitable  *initable,
                                           GAsyncResult    *result,
                                           GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
qmp_connection_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = qmp_connection_async_initable_init_async;
  iface->init_finish = qmp_connection_async_initable_init_finish;
}

/* -------------------------------------------------------------- GObject */

static void
qmp_connection_dispose (GObject *object)
{
  QmpConnection *self = QMP_CONNECTION (object);

  /* The last reference is gone, so nothing is pending: stop talking.  The
   * owner is gone too, so no "closed" is emitted. */
  if (self->channel != NULL)
    {
      _qmp_channel_close (self->channel, NULL, FALSE, NULL, NULL);
      g_clear_pointer (&self->channel, _qmp_channel_unref);
    }

  G_OBJECT_CLASS (qmp_connection_parent_class)->dispose (object);
}

static void
qmp_connection_finalize (GObject *object)
{
  QmpConnection *self = QMP_CONNECTION (object);

  /* Each queued result holds its task, which holds the connection. */
  g_assert (self->completions.length == 0);
  /* Events are not: those still queued go with the connection. */
  g_queue_clear_full (&self->events, (GDestroyNotify) qmp_event_unref);
  if (self->emit_source != NULL)
    {
      g_source_destroy (self->emit_source);
      g_clear_pointer (&self->emit_source, g_source_unref);
    }

  g_clear_pointer (&self->address, g_free);
  g_clear_object (&self->stream);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->tls_certificate);
  g_clear_pointer (&self->package, g_free);
  g_clear_pointer (&self->capabilities, g_strfreev);
  g_clear_error (&self->init_error);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->init_lock);
  g_mutex_clear (&self->events_lock);
  g_assert (self->sinks->len == 0);
  g_array_unref (self->sinks);
  g_clear_error (&self->sinks_close_error);
  g_mutex_clear (&self->sinks_lock);
  _qmp_worker_unref (self->worker);

  G_OBJECT_CLASS (qmp_connection_parent_class)->finalize (object);
}

static void
qmp_connection_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  QmpConnection *self = QMP_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;

    case PROP_STREAM:
      g_value_set_object (value, self->stream);
      break;

    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;

    case PROP_TIMEOUT:
      g_value_set_uint (value, qmp_connection_get_timeout (self));
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, qmp_connection_get_max_message_size (self));
      break;

    case PROP_VERSION_MAJOR:
      g_value_set_uint (value, self->version_major);
      break;

    case PROP_VERSION_MINOR:
      g_value_set_uint (value, self->version_minor);
      break;

    case PROP_VERSION_MICRO:
      g_value_set_uint (value, self->version_micro);
      break;

    case PROP_PACKAGE:
      g_value_set_string (value, self->package);
      break;

    case PROP_CAPABILITIES:
      g_value_set_boxed (value, self->capabilities);
      break;

    case PROP_OOB_ENABLED:
      g_value_set_boolean (value, self->oob_enabled);
      break;

    case PROP_CLOSED:
      g_value_set_boolean (value, qmp_connection_is_closed (self));
      break;

    case PROP_VALIDATE_ARGUMENTS:
      g_value_set_boolean (value, qmp_connection_get_validate_arguments (self));
      break;

    case PROP_MAX_QUEUED_EVENTS:
      g_value_set_uint (value, qmp_connection_get_max_queued_events (self));
      break;

    case PROP_MAX_QUEUED_EVENT_BYTES:
      g_value_set_uint64 (value, qmp_connection_get_max_queued_event_bytes (self));
      break;

    case PROP_DROPPED_EVENTS:
      g_value_set_uint64 (value, qmp_connection_get_dropped_events (self));
      break;

    case PROP_TLS_DATABASE:
      g_value_set_object (value, self->tls_database);
      break;

    case PROP_TLS_CERTIFICATE:
      g_value_set_object (value, self->tls_certificate);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qmp_connection_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  QmpConnection *self = QMP_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      self->address = g_value_dup_string (value);
      break;

    case PROP_STREAM:
      self->stream = g_value_dup_object (value);
      break;

    case PROP_FLAGS:
      self->flags = g_value_get_flags (value);
      break;

    case PROP_TIMEOUT:
      qmp_connection_set_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_MESSAGE_SIZE:
      qmp_connection_set_max_message_size (self, g_value_get_uint64 (value));
      break;

    case PROP_VALIDATE_ARGUMENTS:
      qmp_connection_set_validate_arguments (self, g_value_get_boolean (value));
      break;

    case PROP_MAX_QUEUED_EVENTS:
      qmp_connection_set_max_queued_events (self, g_value_get_uint (value));
      break;

    case PROP_MAX_QUEUED_EVENT_BYTES:
      qmp_connection_set_max_queued_event_bytes (self, g_value_get_uint64 (value));
      break;

    case PROP_TLS_DATABASE:
      self->tls_database = g_value_dup_object (value);
      break;

    case PROP_TLS_CERTIFICATE:
      self->tls_certificate = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The "event" signal's marshaller for a C handler called alone (GObject's
 * fast path): the event goes to the handler as it is.  GLib's generic one
 * takes a reference on it and drops it again around the call, each
 * through GBoxed's type lookups, about 5% of delivering an event whose
 * data is read; emit_events() holds the event for the whole emission
 * anyway.  Other handlers (several at once, those of bindings) get it
 * through GValues, which hold their own reference, as before. */
static void
event_marshal_va (GClosure *closure,
                  GValue   *return_value,
                  gpointer  instance,
                  va_list   args,
                  gpointer  marshal_data,
                  int       n_params,
                  GType    *param_types)
{
  typedef void (*EventFunc) (gpointer data1,
                             gpointer event,
                             gpointer data2);
  GCClosure *cclosure = (GCClosure *) closure;
  gpointer data1, data2;
  gpointer event;
  va_list args_copy;

  G_VA_COPY (args_copy, args);
  event = va_arg (args_copy, gpointer);
  va_end (args_copy);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = instance;
    }
  else
    {
      data1 = instance;
      data2 = closure->data;
    }

  ((EventFunc) (marshal_data != NULL ? marshal_data : cclosure->callback)) (data1, event, data2);
}

static void
qmp_connection_class_init (QmpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _qmp_init_i18n ();

  object_class->dispose = qmp_connection_dispose;
  object_class->finalize = qmp_connection_finalize;
  object_class->get_property = qmp_connection_get_property;
  object_class->set_property = qmp_connection_set_property;

  /**
   * QmpConnection:address: (getter get_address)
   *
   * Where to connect: `unix:PATH`, `tcp:HOST:PORT`, `tls:HOST:PORT` or a
   * plain path of a Unix socket.  %NULL when the connection was made on a
   * stream.
   *
   * With `tls:HOST:PORT` the connection is TCP wrapped in TLS (see
   * [property@Qmp.Connection:tls-database]); the server's certificate must
   * name HOST.
   *
   * Since: 1.0
   */
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:stream: (getter get_stream)
   *
   * The stream the connection talks over.  Closing the connection closes
   * it.
   *
   * Since: 1.0
   */
  properties[PROP_STREAM] =
    g_param_spec_object ("stream", NULL, NULL,
                         G_TYPE_IO_STREAM,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:flags: (getter get_flags)
   *
   * The flags the connection was constructed with.
   *
   * Since: 1.0
   */
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL,
                        QMP_TYPE_CONNECTION_FLAGS,
                        QMP_CONNECTION_FLAGS_NONE,
                        (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:timeout: (getter get_timeout) (setter set_timeout)
   *
   * How long, in milliseconds, a call may wait for the server before it
   * fails with %G_IO_ERROR_TIMED_OUT; 0 means forever.
   *
   * A timed-out call harms neither the connection nor the calls behind it.
   * Given at construction, it also bounds connecting, the greeting and the
   * negotiation together.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The longest line, in bytes, that the server may send.  A longer one
   * closes the connection with %QMP_ERROR_MESSAGE_TOO_LARGE, and so does a
   * line whose parsed tree would take more than 14 times the limit: one
   * message takes at most 16 times the limit in memory, line and tree,
   * whatever its shape (1 GiB at the default of 64 MiB).  A tree costs
   * about 19 bytes per byte of JSON for QEMU's schema, and about 110 for
   * the densest shapes, so these are refused from about 70% and 12% of
   * the limit.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         1, G_MAXUINT32, DEFAULT_MAX_MESSAGE_SIZE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:version-major: (getter get_version_major)
   *
   * The major version of the server, from its greeting.
   *
   * Since: 1.0
   */
  properties[PROP_VERSION_MAJOR] =
    g_param_spec_uint ("version-major", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:version-minor: (getter get_version_minor)
   *
   * The minor version of the server, from its greeting.
   *
   * Since: 1.0
   */
  properties[PROP_VERSION_MINOR] =
    g_param_spec_uint ("version-minor", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:version-micro: (getter get_version_micro)
   *
   * The micro version of the server, from its greeting.
   *
   * Since: 1.0
   */
  properties[PROP_VERSION_MICRO] =
    g_param_spec_uint ("version-micro", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:package: (getter get_package)
   *
   * The package string of the server, from its greeting, such as
   * `"Debian 1:7.2+dfsg-7"`; empty when it sent none.
   *
   * Since: 1.0
   */
  properties[PROP_PACKAGE] =
    g_param_spec_string ("package", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:capabilities: (getter get_capabilities)
   *
   * The capabilities that the server offered in its greeting, such as
   * `oob`.
   *
   * Since: 1.0
   */
  properties[PROP_CAPABILITIES] =
    g_param_spec_boxed ("capabilities", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:oob-enabled: (getter get_oob_enabled)
   *
   * Whether out-of-band execution was negotiated: %QMP_CONNECTION_FLAGS_OOB
   * was given and the server offered `oob`.
   *
   * Since: 1.0
   */
  properties[PROP_OOB_ENABLED] =
    g_param_spec_boolean ("oob-enabled", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:closed: (getter is_closed)
   *
   * Whether the connection is closed.  Its notification is emitted with
   * [signal@Qmp.Connection::closed].
   *
   * Since: 1.0
   */
  properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:validate-arguments: (getter get_validate_arguments) (setter set_validate_arguments)
   *
   * Whether every command's arguments are checked against the server's
   * schema before the command is written, as with
   * %QMP_EXECUTE_FLAGS_VALIDATE: the calls of
   * [method@Qmp.Connection.execute_until_event_async] and of the typed
   * commands too.  See [method@Qmp.Schema.validate_arguments].
   *
   * Since: 1.0
   */
  properties[PROP_VALIDATE_ARGUMENTS] =
    g_param_spec_boolean ("validate-arguments", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:max-queued-events: (getter get_max_queued_events) (setter set_max_queued_events)
   *
   * How many events may wait for [signal@Qmp.Connection::event] handlers
   * that do not keep up (a slow handler, or a context that is not
   * iterated).  At this bound, or at
   * [property@Qmp.Connection:max-queued-event-bytes], the connection stops
   * reading the socket, so the server holds the rest, and reads again when
   * half of them are emitted; an `_async` call made in the signal's
   * context waits behind them.  While any other call waits for the server
   * (a `_sync` call, maybe in the very thread that must emit the events,
   * or an `_async` call made in another context), reading cannot stop:
   * the events beyond the bound are then dropped for the signal, and
   * counted in [property@Qmp.Connection:dropped-events].  Calls always
   * see every event.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_QUEUED_EVENTS] =
    g_param_spec_uint ("max-queued-events", NULL, NULL,
                       1, G_MAXUINT, DEFAULT_MAX_QUEUED_EVENTS,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:max-queued-event-bytes: (getter get_max_queued_event_bytes) (setter set_max_queued_event_bytes)
   *
   * How much memory, in bytes, the events waiting for
   * [signal@Qmp.Connection::event] handlers may hold, counting each at
   * the size of its name and data as the server sent them, plus about 120
   * bytes.  The event that reaches the bound is kept, whatever its size
   * (reading stops after it), so the events may pass it by one.  See
   * [property@Qmp.Connection:max-queued-events].
   *
   * Since: 1.0
   */
  properties[PROP_MAX_QUEUED_EVENT_BYTES] =
    g_param_spec_uint64 ("max-queued-event-bytes", NULL, NULL,
                         1, G_MAXUINT64, DEFAULT_MAX_QUEUED_EVENT_BYTES,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:dropped-events: (getter get_dropped_events)
   *
   * How many events were not emitted as [signal@Qmp.Connection::event]
   * because the handlers did not keep up while a call waited for the
   * server; see [property@Qmp.Connection:max-queued-events].  Its
   * notification is emitted in the signal's context, after the events
   * queued before the drop.
   *
   * Since: 1.0
   */
  properties[PROP_DROPPED_EVENTS] =
    g_param_spec_uint64 ("dropped-events", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:tls-database:
   *
   * The certificate authorities that the server's certificate must chain
   * up to, for a `tls:HOST:PORT` address; %NULL means the system's.  Load
   * a CA file with g_tls_file_database_new().
   *
   * The server's certificate must also name the address's HOST (as a DNS
   * name or an IP address), be valid now, and not be revoked.  Anything
   * else fails construction with a %G_TLS_ERROR, such as
   * %G_TLS_ERROR_BAD_CERTIFICATE; the library never falls back to a
   * connection in clear.  Given with an address that is not `tls:`,
   * construction fails with %G_IO_ERROR_INVALID_ARGUMENT.
   *
   * QEMU 10.0 serves QMP over TLS (tested); QEMU 7.2 stops answering a
   * TLS client after its greeting, so construction there ends with
   * %G_IO_ERROR_TIMED_OUT after the [property@Qmp.Connection:timeout], or
   * after 10 seconds when the timeout is 0: over TLS, construction is
   * always bounded.
   *
   * ```c
   * g_autoptr(GTlsDatabase) ca = g_tls_file_database_new ("/etc/pki/qemu/ca-cert.pem", &error);
   * g_autoptr(GTlsCertificate) me =
   *   g_tls_certificate_new_from_files ("client-cert.pem", "client-key.pem", &error);
   * g_autoptr(QmpConnection) connection =
   *   g_initable_new (QMP_TYPE_CONNECTION, NULL, &error,
   *                   "address", "tls:vmhost.example:4444",
   *                   "tls-database", ca,
   *                   "tls-certificate", me,   // for QEMU's verify-peer=on
   *                   "timeout", 10000,
   *                   NULL);
   * ```
   *
   * Since: 1.0
   */
  properties[PROP_TLS_DATABASE] =
    g_param_spec_object ("tls-database", NULL, NULL,
                         G_TYPE_TLS_DATABASE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * QmpConnection:tls-certificate:
   *
   * The client certificate (with its private key) shown to the server of
   * a `tls:HOST:PORT` address, for a QEMU whose `tls-creds-x509` object
   * has `verify-peer=on`; %NULL: none.  Without the certificate such a
   * QEMU refuses the connection and construction fails with a
   * %G_TLS_ERROR.  A private key that is not the certificate's fails
   * construction with %G_TLS_ERROR_BAD_CERTIFICATE before anything is
   * connected ("The private key does not match the certificate"), where
   * the server would only have refused the handshake (a key in a PKCS #11
   * token, or an EdDSA key, cannot be compared, and is left to it).
   *
   * Since: 1.0
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QmpConnection::event:
   * @self: a #QmpConnection
   * @event: the event
   *
   * Emitted for each event that the server sends, in the main context that
   * was the thread-default one when @self was constructed.
   *
   * The signal is detailed with the event's name, so a handler can pick the
   * events it wants: `"event::SHUTDOWN"`.  Events are only queued for
   * emission while a handler for them is connected, and only so many:
   * see [property@Qmp.Connection:max-queued-events].
   *
   * Since: 1.0
   */
  signals[SIGNAL_EVENT] =
    g_signal_new ("event",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0,
                  NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1, QMP_TYPE_EVENT);
  g_signal_set_va_marshaller (signals[SIGNAL_EVENT], G_TYPE_FROM_CLASS (klass), event_marshal_va);

  /**
   * QmpConnection::closed:
   * @self: a #QmpConnection
   * @remote_peer_vanished: %TRUE if the server went away, %FALSE if the
   *   connection was closed here (by a call, or because the server broke
   *   the protocol)
   * @error: (nullable): why the connection closed, or %NULL for a close by
   *   [method@Qmp.Connection.close_async]
   *
   * Emitted once, when the connection closes, in the main context that was
   * the thread-default one when @self was constructed.  Every call that
   * was pending has failed by then.  QEMU keeps running.
   *
   * Since: 1.0
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_ERROR);
}

static void
qmp_connection_init (QmpConnection *self)
{
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  self->context = g_main_context_ref_thread_default ();
  self->worker = _qmp_worker_ref ();
  g_mutex_init (&self->init_lock);
  g_mutex_init (&self->events_lock);
  g_mutex_init (&self->sinks_lock);
  self->sinks = g_array_new (FALSE, FALSE, sizeof (EventSink));
  g_queue_init (&self->events);
  self->max_queued_events = DEFAULT_MAX_QUEUED_EVENTS;
  self->max_queued_event_bytes = DEFAULT_MAX_QUEUED_EVENT_BYTES;
}

/* --------------------------------------------------------- constructors */

/**
 * qmp_connection_new_for_address_async:
 * @address: where to connect: `unix:PATH`, `tcp:HOST:PORT` or a path
 * @flags: flags for the connection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the connection is ready or failed
 * @user_data: (closure callback): data for @callback
 *
 * Connects to the QMP server at @address, reads its greeting and
 * negotiates capabilities.  Call [ctor@Qmp.Connection.new_for_address_finish]
 * from @callback to get the connection.
 *
 * To bound the whole construction in time, construct with
 * g_async_initable_new_async() and the [property@Qmp.Connection:timeout]
 * property.
 *
 * ```c
 * // on_connected () gets the connection with qmp_connection_new_for_address_finish ()
 * qmp_connection_new_for_address_async ("unix:/run/vm0/qmp.sock",
 *                                       QMP_CONNECTION_FLAGS_NONE,
 *                                       NULL, on_connected, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_new_for_address_async (const char          *address,
                                      QmpConnectionFlags   flags,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (address != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, cancellable,
                              callback, user_data,
                              "address", address,
                              "flags", flags,
                              NULL);
}

/**
 * qmp_connection_new_for_address_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Qmp.Connection.new_for_address_async].
 *
 * ```c
 * // in on_connected (), given to qmp_connection_new_for_address_async ()
 * g_autoptr(GError) error = NULL;
 * QmpConnection *connection = qmp_connection_new_for_address_finish (result, &error);
 *
 * if (connection == NULL)
 *   g_warning ("cannot connect: %s", error->message);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_connection_new_for_address_finish (GAsyncResult  *result,
                                       GError       **error)
{
  return qmp_connection_new_finish (result, error);
}

/**
 * qmp_connection_new_for_address_sync:
 * @address: where to connect: `unix:PATH`, `tcp:HOST:PORT` or a path
 * @flags: flags for the connection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Connects to the QMP server at @address, reads its greeting and
 * negotiates capabilities, blocking the calling thread.
 *
 * ```c
 * g_autoptr(QmpConnection) connection =
 *   qmp_connection_new_for_address_sync ("tcp:localhost:4444", QMP_CONNECTION_FLAGS_NONE,
 *                                        NULL, &error);
 * if (connection == NULL)
 *   g_printerr ("cannot connect: %s\n", error->message);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_connection_new_for_address_sync (const char          *address,
                                     QmpConnectionFlags   flags,
                                     GCancellable        *cancellable,
                                     GError             **error)
{
  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (QMP_TYPE_CONNECTION, cancellable, error,
                         "address", address,
                         "flags", flags,
                         NULL);
}

/**
 * qmp_connection_new_async:
 * @stream: a stream connected to a QMP server, such as a #GSocketConnection
 * @flags: flags for the connection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the connection is ready or failed
 * @user_data: (closure callback): data for @callback
 *
 * Reads the greeting of the QMP server at the other end of @stream and
 * negotiates capabilities.  Call [ctor@Qmp.Connection.new_finish] from
 * @callback to get the connection.
 *
 * The streams of @stream must be pollable (sockets and pipes are).
 *
 * ```c
 * // socket_connection: a GSocketConnection to QEMU's QMP socket, made by the caller
 * qmp_connection_new_async (G_IO_STREAM (socket_connection), QMP_CONNECTION_FLAGS_OOB,
 *                           NULL, on_ready, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_new_async (GIOStream           *stream,
                          QmpConnectionFlags   flags,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (G_IS_IO_STREAM (stream));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_async_initable_new_async (QMP_TYPE_CONNECTION, G_PRIORITY_DEFAULT, cancellable,
                              callback, user_data,
                              "stream", stream,
                              "flags", flags,
                              NULL);
}

/**
 * qmp_connection_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Qmp.Connection.new_async].
 *
 * ```c
 * // in on_ready (), given to qmp_connection_new_async ()
 * g_autoptr(GError) error = NULL;
 * QmpConnection *connection = qmp_connection_new_finish (result, &error);
 *
 * if (connection == NULL)
 *   g_warning ("no QMP server on this stream: %s", error->message);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_connection_new_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_autoptr(GObject) source_object = NULL;
  GObject *object;

  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source_object = g_async_result_get_source_object (result);
  object = g_async_initable_new_finish (G_ASYNC_INITABLE (source_object), result, error);

  return object ? QMP_CONNECTION (object) : NULL;
}

/**
 * qmp_connection_new_sync:
 * @stream: a stream connected to a QMP server, such as a #GSocketConnection
 * @flags: flags for the connection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the greeting of the QMP server at the other end of @stream and
 * negotiates capabilities, blocking the calling thread.
 *
 * ```c
 * g_autoptr(GSocketClient) client = g_socket_client_new ();
 * g_autoptr(GSocketConnection) stream =
 *   g_socket_client_connect_to_host (client, "localhost:4444", 0, NULL, &error);
 * g_autoptr(QmpConnection) connection = NULL;
 *
 * if (stream != NULL)
 *   connection = qmp_connection_new_sync (G_IO_STREAM (stream), QMP_CONNECTION_FLAGS_NONE,
 *                                         NULL, &error);
 * ```
 *
 * Returns: (transfer full): a ready #QmpConnection, or %NULL on error
 *
 * Since: 1.0
 */
QmpConnection *
qmp_connection_new_sync (GIOStream           *stream,
                         QmpConnectionFlags   flags,
                         GCancellable        *cancellable,
                         GError             **error)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (QMP_TYPE_CONNECTION, cancellable, error,
                         "stream", stream,
                         "flags", flags,
                         NULL);
}

/* ------------------------------------------------------------ accessors */

/**
 * qmp_connection_get_version_major: (get-property version-major)
 * @self: a #QmpConnection
 *
 * Gets the major version of the server, from its greeting.
 *
 * ```c
 * if (qmp_connection_get_version_major (connection) < 8)
 *   g_warning ("this needs QEMU 8.0 or later");
 * ```
 *
 * Returns: the major version
 *
 * Since: 1.0
 */
guint
qmp_connection_get_version_major (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  return self->version_major;
}

/**
 * qmp_connection_get_version_minor: (get-property version-minor)
 * @self: a #QmpConnection
 *
 * Gets the minor version of the server, from its greeting.
 *
 * ```c
 * // 2 for QEMU 9.2.0; to compare versions, qmp_connection_check_version () is simpler
 * guint minor = qmp_connection_get_version_minor (connection);
 * ```
 *
 * Returns: the minor version
 *
 * Since: 1.0
 */
guint
qmp_connection_get_version_minor (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  return self->version_minor;
}

/**
 * qmp_connection_get_version_micro: (get-property version-micro)
 * @self: a #QmpConnection
 *
 * Gets the micro version of the server, from its greeting.
 *
 * ```c
 * g_autofree char *version = g_strdup_printf ("%u.%u.%u",
 *                                             qmp_connection_get_version_major (connection),
 *                                             qmp_connection_get_version_minor (connection),
 *                                             qmp_connection_get_version_micro (connection));
 * ```
 *
 * Returns: the micro version
 *
 * Since: 1.0
 */
guint
qmp_connection_get_version_micro (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  return self->version_micro;
}

/**
 * qmp_connection_get_package: (get-property package)
 * @self: a #QmpConnection
 *
 * Gets the package string of the server, from its greeting.
 *
 * ```c
 * const char *package = qmp_connection_get_package (connection);
 *
 * if (package != NULL && *package != '\0')
 *   g_print ("QEMU package: %s\n", package);
 * ```
 *
 * Returns: (nullable): the package string; %NULL before construction
 *   finished
 *
 * Since: 1.0
 */
const char *
qmp_connection_get_package (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);

  return self->package;
}

/**
 * qmp_connection_get_capabilities: (get-property capabilities)
 * @self: a #QmpConnection
 *
 * Gets the capabilities that the server offered in its greeting.
 *
 * ```c
 * const char * const *capabilities = qmp_connection_get_capabilities (connection);
 *
 * if (capabilities != NULL && g_strv_contains (capabilities, "oob"))
 *   g_print ("the server offers out-of-band execution\n");
 * ```
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): the
 *   capabilities; %NULL before construction finished
 *
 * Since: 1.0
 */
const char * const *
qmp_connection_get_capabilities (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);

  return (const char * const *) self->capabilities;
}

/**
 * qmp_connection_check_version:
 * @self: a #QmpConnection
 * @major: a major version
 * @minor: a minor version
 * @micro: a micro version
 *
 * Checks whether the server is at least version @major.@minor.@micro.
 *
 * ```c
 * const char *command = qmp_connection_check_version (connection, 2, 9, 0)
 *                       ? "blockdev-del" : "x-blockdev-del";
 * ```
 *
 * Returns: %TRUE if the server's version is @major.@minor.@micro or later
 *
 * Since: 1.0
 */
gboolean
qmp_connection_check_version (QmpConnection *self,
                              guint          major,
                              guint          minor,
                              guint          micro)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);

  if (self->version_major != major)
    return self->version_major > major;
  if (self->version_minor != minor)
    return self->version_minor > minor;
  return self->version_micro >= micro;
}

/**
 * qmp_connection_get_stream: (get-property stream)
 * @self: a #QmpConnection
 *
 * Gets the stream the connection talks over.
 *
 * ```c
 * GIOStream *stream = qmp_connection_get_stream (connection);
 *
 * if (G_IS_SOCKET_CONNECTION (stream))
 *   g_print ("over a socket\n");
 * ```
 *
 * Returns: (transfer none) (nullable): the stream; %NULL before a
 *   connection to an address was made
 *
 * Since: 1.0
 */
GIOStream *
qmp_connection_get_stream (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);

  return self->stream;
}

/**
 * qmp_connection_get_address: (get-property address)
 * @self: a #QmpConnection
 *
 * Gets the address the connection was made to.
 *
 * ```c
 * const char *address = qmp_connection_get_address (connection);
 *
 * g_print ("connected to %s\n", address != NULL ? address : "a stream");
 * ```
 *
 * Returns: (nullable): the address, or %NULL if the connection was made on
 *   a stream
 *
 * Since: 1.0
 */
const char *
qmp_connection_get_address (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);

  return self->address;
}

/**
 * qmp_connection_get_flags: (get-property flags)
 * @self: a #QmpConnection
 *
 * Gets the flags the connection was constructed with.
 *
 * ```c
 * if (qmp_connection_get_flags (connection) & QMP_CONNECTION_FLAGS_GUEST_AGENT)
 *   g_print ("talking to qemu-ga\n");
 * ```
 *
 * Returns: the flags
 *
 * Since: 1.0
 */
QmpConnectionFlags
qmp_connection_get_flags (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), QMP_CONNECTION_FLAGS_NONE);

  return self->flags;
}

/**
 * qmp_connection_get_oob_enabled: (get-property oob-enabled)
 * @self: a #QmpConnection
 *
 * Gets whether out-of-band execution was negotiated.
 *
 * ```c
 * QmpExecuteFlags flags = qmp_connection_get_oob_enabled (connection)
 *                         ? QMP_EXECUTE_FLAGS_OOB : QMP_EXECUTE_FLAGS_NONE;
 * ```
 *
 * Returns: %TRUE if commands may be sent with %QMP_EXECUTE_FLAGS_OOB
 *
 * Since: 1.0
 */
gboolean
qmp_connection_get_oob_enabled (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);

  return self->oob_enabled;
}

/**
 * qmp_connection_is_closed: (get-property closed)
 * @self: a #QmpConnection
 *
 * Gets whether the connection is closed.
 *
 * ```c
 * // the connection is dead for good: drop it, and connect again if need be
 * if (qmp_connection_is_closed (connection))
 *   g_clear_object (&connection);
 * ```
 *
 * Returns: %TRUE if the connection is closed
 *
 * Since: 1.0
 */
gboolean
qmp_connection_is_closed (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), TRUE);

  return self->channel == NULL || _qmp_channel_is_closed (self->channel);
}

/**
 * qmp_connection_get_timeout: (get-property timeout)
 * @self: a #QmpConnection
 *
 * Gets how long a call may wait for the server, in milliseconds.
 *
 * ```c
 * guint saved = qmp_connection_get_timeout (connection);
 *
 * qmp_connection_set_timeout (connection, 0);  // no limit for the next calls
 * // ...
 * qmp_connection_set_timeout (connection, saved);
 * ```
 *
 * Returns: the timeout in milliseconds, or 0 for none
 *
 * Since: 1.0
 */
guint
qmp_connection_get_timeout (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  return g_atomic_int_get (&self->timeout_msec);
}

/**
 * qmp_connection_set_timeout: (set-property timeout)
 * @self: a #QmpConnection
 * @timeout_msec: the timeout in milliseconds, or 0 for none
 *
 * Sets how long a call may wait for the server before it fails with
 * %G_IO_ERROR_TIMED_OUT.  Calls made before keep the timeout they had.
 *
 * ```c
 * // from now on, a call fails with G_IO_ERROR_TIMED_OUT after 5 s
 * qmp_connection_set_timeout (connection, 5000);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_set_timeout (QmpConnection *self,
                            guint          timeout_msec)
{
  g_return_if_fail (QMP_IS_CONNECTION (self));

  if ((guint) g_atomic_int_exchange (&self->timeout_msec, timeout_msec) != timeout_msec)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * qmp_connection_get_max_message_size: (get-property max-message-size)
 * @self: a #QmpConnection
 *
 * Gets the longest line the server may send, in bytes.
 *
 * ```c
 * g_print ("the server may send lines of up to %" G_GUINT64_FORMAT " bytes\n",
 *          qmp_connection_get_max_message_size (connection));
 * ```
 *
 * Returns: the limit in bytes
 *
 * Since: 1.0
 */
guint64
qmp_connection_get_max_message_size (QmpConnection *self)
{
  guint64 max_message_size;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  g_mutex_lock (&self->init_lock);
  max_message_size = self->max_message_size;
  g_mutex_unlock (&self->init_lock);

  return max_message_size;
}

/**
 * qmp_connection_set_max_message_size: (set-property max-message-size)
 * @self: a #QmpConnection
 * @max_message_size: the limit in bytes
 *
 * Sets the longest line the server may send, at most %G_MAXUINT32 bytes.
 * A longer one closes the connection with %QMP_ERROR_MESSAGE_TOO_LARGE.
 *
 * ```c
 * // this server's replies are known to be longer than the default 64 MiB
 * qmp_connection_set_max_message_size (connection, 256 * 1024 * 1024);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_set_max_message_size (QmpConnection *self,
                                     guint64        max_message_size)
{
  guint64 old;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (max_message_size > 0 && max_message_size <= G_MAXUINT32);

  g_mutex_lock (&self->init_lock);
  old = self->max_message_size;
  self->max_message_size = max_message_size;
  /* Before construction, init_start_channel() hands it on. */
  if (self->channel != NULL)
    _qmp_channel_set_max_message_size (self->channel, max_message_size);
  g_mutex_unlock (&self->init_lock);

  if (old != max_message_size)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * qmp_connection_get_max_queued_events:
 * @self: a #QmpConnection
 *
 * Gets [property@Qmp.Connection:max-queued-events].
 *
 * ```c
 * g_print ("up to %u events wait for the handlers\n",
 *          qmp_connection_get_max_queued_events (connection));
 * ```
 *
 * Returns: how many events may wait for slow handlers
 *
 * Since: 1.0
 */
guint
qmp_connection_get_max_queued_events (QmpConnection *self)
{
  guint value;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  g_mutex_lock (&self->events_lock);
  value = self->max_queued_events;
  g_mutex_unlock (&self->events_lock);

  return value;
}

/**
 * qmp_connection_set_max_queued_events:
 * @self: a #QmpConnection
 * @max_queued_events: how many events may wait for slow handlers, at least 1
 *
 * Sets [property@Qmp.Connection:max-queued-events].
 *
 * ```c
 * // a handler that is slow at times: let more events wait before any is dropped
 * qmp_connection_set_max_queued_events (connection, 100000);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_set_max_queued_events (QmpConnection *self,
                                      guint          max_queued_events)
{
  gboolean changed;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (max_queued_events > 0);

  g_mutex_lock (&self->events_lock);
  changed = self->max_queued_events != max_queued_events;
  self->max_queued_events = max_queued_events;
  g_mutex_unlock (&self->events_lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_QUEUED_EVENTS]);
}

/**
 * qmp_connection_get_max_queued_event_bytes:
 * @self: a #QmpConnection
 *
 * Gets [property@Qmp.Connection:max-queued-event-bytes].
 *
 * ```c
 * // bursts of large events: let at least 64 MiB of them wait
 * if (qmp_connection_get_max_queued_event_bytes (connection) < 64 * 1024 * 1024)
 *   qmp_connection_set_max_queued_event_bytes (connection, 64 * 1024 * 1024);
 * ```
 *
 * Returns: how many bytes of events may wait for slow handlers
 *
 * Since: 1.0
 */
guint64
qmp_connection_get_max_queued_event_bytes (QmpConnection *self)
{
  guint64 value;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  g_mutex_lock (&self->events_lock);
  value = self->max_queued_event_bytes;
  g_mutex_unlock (&self->events_lock);

  return value;
}

/**
 * qmp_connection_set_max_queued_event_bytes:
 * @self: a #QmpConnection
 * @max_queued_event_bytes: how many bytes of events may wait, at least 1
 *
 * Sets [property@Qmp.Connection:max-queued-event-bytes].
 *
 * ```c
 * // a small process: at most 1 MiB of events waiting
 * qmp_connection_set_max_queued_event_bytes (connection, 1024 * 1024);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_set_max_queued_event_bytes (QmpConnection *self,
                                           guint64        max_queued_event_bytes)
{
  gboolean changed;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (max_queued_event_bytes > 0);

  g_mutex_lock (&self->events_lock);
  changed = self->max_queued_event_bytes != max_queued_event_bytes;
  self->max_queued_event_bytes = max_queued_event_bytes;
  g_mutex_unlock (&self->events_lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_QUEUED_EVENT_BYTES]);
}

/**
 * qmp_connection_get_dropped_events:
 * @self: a #QmpConnection
 *
 * Gets [property@Qmp.Connection:dropped-events].
 *
 * ```c
 * guint64 dropped = qmp_connection_get_dropped_events (connection);
 *
 * if (dropped > 0)
 *   g_warning ("%" G_GUINT64_FORMAT " events dropped: a handler is too slow", dropped);
 * ```
 *
 * Returns: how many events were not emitted because handlers did not
 *   keep up
 *
 * Since: 1.0
 */
guint64
qmp_connection_get_dropped_events (QmpConnection *self)
{
  guint64 value;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), 0);

  g_mutex_lock (&self->events_lock);
  value = self->dropped_events;
  g_mutex_unlock (&self->events_lock);

  return value;
}

/* ------------------------------------------------------------- commands */

typedef struct
{
  char *ret_json;     /* parsed by _finish(), in the caller's thread */
  QmpEvent *event;
} UntilEventResult;

static void
until_event_result_free (gpointer data)
{
  UntilEventResult *result = data;

  g_free (result->ret_json);
  g_clear_pointer (&result->event, qmp_event_unref);
  g_free (result);
}

/* Builds the tree of a return that the channel checked: in the caller's
 * thread, which also frees it. */
static JsonNode *
parse_return (char *ret_json)
{
  g_autofree char *text = ret_json;
  JsonNode *node;

  if (text == NULL)
    return NULL;

  node = _qmp_json_parse_checked (text, strlen (text));

  return node;
}

/* The result of the finished @call, as its task's kind wants it. */
static void
completion_take_result (Completion *completion,
                        QmpCall    *call)
{
  gpointer tag = g_task_get_source_tag (completion->task);

  if (tag == qmp_connection_execute_async || tag == qmp_connection_execute_json_async)
    {
      /* The tree is built by _finish(), in the caller's thread. */
      completion->result = _qmp_call_steal_return_json (call);
      completion->result_free = g_free;
    }
  else if (tag == qmp_connection_wait_event_async)
    {
      completion->result = _qmp_call_steal_event (call);
      completion->result_free = (GDestroyNotify) qmp_event_unref;
    }
  else
    {
      UntilEventResult *result = g_new0 (UntilEventResult, 1);

      result->ret_json = _qmp_call_steal_return_json (call);
      result->event = _qmp_call_steal_event (call);
      completion->result = result;
      completion->result_free = until_event_result_free;
    }
}

/* On whichever thread finished the call: the result goes to the caller's
 * context.  When that is the events' context, it goes with the events,
 * which come first, through their source (see emit_events()); else GTask
 * carries it. */
static void
on_call_done (QmpCall  *call,
              gpointer  user_data)
{
  Completion *completion = g_new0 (Completion, 1);
  QmpConnection *self;
  g_autoptr(GMainContext) wake = NULL;

  completion->task = user_data;
  completion->error = _qmp_call_steal_error (call);
  if (completion->error == NULL)
    completion_take_result (completion, call);

  self = g_task_get_source_object (completion->task);
  g_mutex_lock (&self->events_lock);
  if (g_task_get_context (completion->task) != self->context)
    {
      g_mutex_unlock (&self->events_lock);
      completion_return (completion);
      return;
    }
  g_queue_push_tail (&self->completions, completion);
  if (!self->events_scheduled)
    wake = connection_schedule_emit_locked (self);
  g_mutex_unlock (&self->events_lock);

  if (wake != NULL)
    _qmp_channel_wakeup_after_reading (wake);
}

gboolean
_qmp_connection_is_ready (QmpConnection *self)
{
  return connection_is_ready (self);
}

/* -1: the connection's timeout property; 0: none. */
guint
_qmp_connection_resolve_timeout (QmpConnection *self,
                                 int            timeout_msec)
{
  return timeout_msec < 0 ? qmp_connection_get_timeout (self) : (guint) timeout_msec;
}

void
_qmp_connection_submit_async (QmpConnection       *self,
                              QmpCall             *call,
                              gpointer             source_tag,
                              int                  timeout_msec,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  /* Its callback waits for the same context as the events: reading may
   * stop behind them (see max-queued-events). */
  if (g_task_get_context (task) == connection_get_context (self))
    _qmp_call_set_in_event_context (call);

  _qmp_call_set_done_func (call, on_call_done, g_steal_pointer (&task));
  _qmp_channel_submit (self->channel, call, cancellable,
                       _qmp_connection_resolve_timeout (self, timeout_msec));
}

static void
connection_submit_async (QmpConnection       *self,
                         QmpCall             *call,
                         gpointer             source_tag,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  _qmp_connection_submit_async (self, call, source_tag, -1, cancellable, callback, user_data);
}

void
_qmp_connection_submit_call (QmpConnection *self,
                             QmpCall       *call,
                             int            timeout_msec)
{
  _qmp_channel_submit (self->channel, call, NULL,
                       _qmp_connection_resolve_timeout (self, timeout_msec));
}

/* Submits @call and blocks until it is done; returns its error, if any. */
gboolean
_qmp_connection_submit_sync (QmpConnection  *self,
                             QmpCall        *call,
                             int             timeout_msec,
                             GCancellable   *cancellable,
                             GError        **error)
{
  GError *call_error;

  _qmp_channel_submit (self->channel, call, cancellable,
                       _qmp_connection_resolve_timeout (self, timeout_msec));
  _qmp_call_wait (call);

  call_error = _qmp_call_steal_error (call);
  if (call_error != NULL)
    {
      g_propagate_error (error, call_error);
      return FALSE;
    }

  return TRUE;
}

static gboolean
connection_submit_sync (QmpConnection  *self,
                        QmpCall        *call,
                        GCancellable   *cancellable,
                        GError        **error)
{
  return _qmp_connection_submit_sync (self, call, -1, cancellable, error);
}

/**
 * qmp_connection_execute_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command on the server.  Call [method@Qmp.Connection.execute_finish]
 * from @callback to get the result.
 *
 * @arguments is serialized before this function returns, so it may be
 * changed or freed at once.
 *
 * ```c
 * static void
 * on_status (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(JsonNode) status = NULL;
 *
 *   status = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
 *   if (status == NULL)
 *     g_warning ("query-status failed: %s", error->message);
 * }
 *
 * qmp_connection_execute_async (connection, "query-status", NULL,
 *                               QMP_EXECUTE_FLAGS_NONE, NULL, on_status, NULL);
 * ```
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
void
qmp_connection_execute_async (QmpConnection       *self,
                              const char          *command,
                              JsonObject          *arguments,
                              QmpExecuteFlags      flags,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  /* The connection's own timeout: -1. */
  qmp_connection_execute_full_async (self, command, arguments, flags, -1, cancellable,
                                     callback, user_data);
}

/**
 * qmp_connection_execute_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_async].
 *
 * An error that the server reported is in the %QMP_ERROR domain, with the
 * server's description as message; a failure of the connection, a
 * cancellation or a timeout is in %G_IO_ERROR.
 *
 * ```c
 * // in the callback given to qmp_connection_execute_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(JsonNode) ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &error);
 *
 * if (g_error_matches (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
 *   g_print ("this QEMU lacks the command\n");
 * else if (ret == NULL)
 *   g_warning ("%s", error->message);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_finish (QmpConnection  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_execute_async, NULL);

  return parse_return (g_task_propagate_pointer (G_TASK (result), error));
}

/**
 * qmp_connection_execute_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command on the server, blocking the calling thread until the reply
 * came.  No main loop is run meanwhile.
 *
 * ```c
 * g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "query-name", NULL,
 *                                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * if (ret == NULL)
 *   g_printerr ("query-name failed: %s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply, or %NULL on
 *   error
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_sync (QmpConnection    *self,
                             const char       *command,
                             JsonObject       *arguments,
                             QmpExecuteFlags   flags,
                             GCancellable     *cancellable,
                             GError          **error)
{
  return qmp_connection_execute_full_sync (self, command, arguments, flags, -1, cancellable, error);
}

/**
 * qmp_connection_execute_json_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply came or the call failed
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command on the server, as [method@Qmp.Connection.execute_async]
 * does, but gives its result as the JSON text that the server sent.  Call
 * [method@Qmp.Connection.execute_json_finish] from @callback to get it.
 *
 * The text is what the server wrote, byte for byte: a number keeps its
 * lexeme (`18446744073709551615`, `1e400`, `-0`), which a #JsonNode
 * cannot always hold.  This is for programs that pass the result on (a
 * proxy, a command-line tool) and for languages that parse JSON
 * themselves:
 *
 * ```python
 * status = json.loads(connection.execute_json_sync("query-status", None,
 *                                                  Qmp.ExecuteFlags.NONE, None))
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_execute_json_async (QmpConnection       *self,
                                   const char          *command,
                                   JsonObject          *arguments,
                                   QmpExecuteFlags      flags,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (connection_is_ready (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (_qmp_connection_check_call_async (self, qmp_connection_execute_json_async, command, arguments,
                                        flags, NULL, NULL, cancellable, callback, user_data))
    return;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, arguments,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  connection_submit_async (self, call, qmp_connection_execute_json_async,
                           cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_json_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_json_async].  Errors are those
 * of [method@Qmp.Connection.execute_finish].
 *
 * ```c
 * // in the callback given to qmp_connection_execute_json_async ()
 * g_autoptr(GError) error = NULL;
 * g_autofree char *json = qmp_connection_execute_json_finish (QMP_CONNECTION (source),
 *                                                             result, &error);
 * if (json != NULL)
 *   g_print ("%s\n", json);
 * else
 *   g_printerr ("%s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply as the
 *   server wrote it (valid JSON, checked when it came), or %NULL on error
 *
 * Since: 1.0
 */
char *
qmp_connection_execute_json_finish (QmpConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_execute_json_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_connection_execute_json_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"query-status"`
 * @arguments: (nullable): the command's arguments
 * @flags: flags for the command
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command on the server as [method@Qmp.Connection.execute_sync]
 * does, blocking the calling thread until the reply came, and gives its
 * result as the JSON text that the server sent (see
 * [method@Qmp.Connection.execute_json_async]).
 *
 * ```c
 * g_autofree char *json = qmp_connection_execute_json_sync (connection, "query-status",
 *                                                           NULL, QMP_EXECUTE_FLAGS_NONE,
 *                                                           NULL, &error);
 * ```
 *
 * Returns: (transfer full): the `return` member of the reply as the
 *   server wrote it, or %NULL on error
 *
 * Since: 1.0
 */
char *
qmp_connection_execute_json_sync (QmpConnection    *self,
                                  const char       *command,
                                  JsonObject       *arguments,
                                  QmpExecuteFlags   flags,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  g_autoptr(QmpCall) call = NULL;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (connection_is_ready (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_qmp_connection_check_call_sync (self, command, arguments, flags, -1, cancellable, error))
    return NULL;

  call = _qmp_call_new (QMP_CALL_COMMAND, command, arguments,
                        (flags & QMP_EXECUTE_FLAGS_OOB) != 0, NULL, NULL);
  if (!connection_submit_sync (self, call, cancellable, error))
    return NULL;

  return _qmp_call_steal_return_json (call);
}

/**
 * qmp_connection_execute_until_event_async:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"device_del"`
 * @arguments: (nullable): the command's arguments
 * @event_name: the event that finishes the call, such as `"DEVICE_DELETED"`
 * @event_match: (nullable): members that the event's data must have, as in
 *   [method@Qmp.Event.matches]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call finished
 * @user_data: (closure callback): data for @callback
 *
 * Runs @command and finishes when both its return and a matching event
 * have come, in either order.  An error return finishes the call at once.
 *
 * The event filter is armed before the command is written: an event that
 * comes before the return counts, an event that came before this call
 * never does.  The call does not hold back the commands made after it.
 *
 * ```c
 * g_autoptr(JsonObject) arguments = json_object_new ();
 * g_autoptr(JsonObject) match = json_object_new ();
 *
 * json_object_set_string_member (arguments, "id", "kbd0");
 * json_object_set_string_member (match, "device", "kbd0");
 * qmp_connection_execute_until_event_async (connection, "device_del", arguments,
 *                                           "DEVICE_DELETED", match,
 *                                           NULL, on_unplugged, NULL);
 * ```
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
void
qmp_connection_execute_until_event_async (QmpConnection       *self,
                                          const char          *command,
                                          JsonObject          *arguments,
                                          const char          *event_name,
                                          JsonObject          *event_match,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  qmp_connection_execute_until_event_full_async (self, command, arguments, event_name, event_match,
                                                 -1, cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_until_event_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_until_event_async].
 *
 * ```c
 * // in on_unplugged (), given to qmp_connection_execute_until_event_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_finish (QMP_CONNECTION (source), result, NULL, &error);
 * if (event == NULL)
 *   g_warning ("device_del: %s", error->message);
 * ```
 *
 * Returns: (transfer full): the event that finished the call, or %NULL on
 *   error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_finish (QmpConnection  *self,
                                           GAsyncResult   *result,
                                           JsonNode      **return_value,
                                           GError        **error)
{
  UntilEventResult *until;
  QmpEvent *event;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_execute_until_event_async,
                        NULL);

  if (return_value != NULL)
    *return_value = NULL;

  until = g_task_propagate_pointer (G_TASK (result), error);
  if (until == NULL)
    return NULL;

  if (return_value != NULL)
    *return_value = parse_return (g_steal_pointer (&until->ret_json));
  event = g_steal_pointer (&until->event);
  until_event_result_free (until);

  return event;
}

/**
 * qmp_connection_execute_until_event_sync:
 * @self: a #QmpConnection
 * @command: the name of the command, such as `"device_del"`
 * @arguments: (nullable): the command's arguments
 * @event_name: the event that finishes the call, such as `"DEVICE_DELETED"`
 * @event_match: (nullable): members that the event's data must have
 * @return_value: (out) (optional) (transfer full): the `return` member of
 *   the command's reply
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs @command and blocks the calling thread until both its return and a
 * matching event came.  See
 * [method@Qmp.Connection.execute_until_event_async].
 *
 * ```c
 * // reset the machine and wait until QEMU reports the reset done
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_execute_until_event_sync (connection, "system_reset", NULL,
 *                                            "RESET", NULL, NULL, NULL, &error);
 * if (event == NULL)
 *   g_printerr ("system_reset: %s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the event that finished the call, or %NULL on
 *   error
 *
 * A cancellation or timeout before the command's first byte is written
 * means it is never sent; after that, the call fails at once, but the
 * server may still run the command.
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_execute_until_event_sync (QmpConnection  *self,
                                         const char     *command,
                                         JsonObject     *arguments,
                                         const char     *event_name,
                                         JsonObject     *event_match,
                                         JsonNode      **return_value,
                                         GCancellable   *cancellable,
                                         GError        **error)
{
  return qmp_connection_execute_until_event_full_sync (self, command, arguments, event_name,
                                                       event_match, return_value, -1,
                                                       cancellable, error);
}

/**
 * qmp_connection_wait_event_async:
 * @self: a #QmpConnection
 * @event_name: (nullable): the name of the event, or %NULL for any
 * @event_match: (nullable): members that the event's data must have, as in
 *   [method@Qmp.Event.matches]
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when a matching event came
 * @user_data: (closure callback): data for @callback
 *
 * Waits for the next event that matches, from the moment of this call on.
 * Use a cancellable or [property@Qmp.Connection:timeout] to stop waiting.
 *
 * Nothing is sent: a cancellation or timeout only ends the wait.
 *
 * ```c
 * // on_shutdown () gets the event with qmp_connection_wait_event_finish ()
 * qmp_connection_wait_event_async (connection, "SHUTDOWN", NULL, NULL,
 *                                  on_shutdown, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_wait_event_async (QmpConnection       *self,
                                 const char          *event_name,
                                 JsonObject          *event_match,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  qmp_connection_wait_event_full_async (self, event_name, event_match, -1, cancellable,
                                        callback, user_data);
}

/**
 * qmp_connection_wait_event_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.wait_event_async].
 *
 * ```c
 * // in on_shutdown (), given to qmp_connection_wait_event_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(QmpEvent) event = qmp_connection_wait_event_finish (QMP_CONNECTION (source),
 *                                                               result, &error);
 * if (event != NULL)
 *   g_print ("%s\n", qmp_event_get_name (event));
 * else
 *   g_warning ("no SHUTDOWN: %s", error->message);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_wait_event_finish (QmpConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_wait_event_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * qmp_connection_wait_event_sync:
 * @self: a #QmpConnection
 * @event_name: (nullable): the name of the event, or %NULL for any
 * @event_match: (nullable): members that the event's data must have
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Blocks the calling thread until the next matching event, from the moment
 * of this call on.
 *
 * ```c
 * g_autoptr(JsonObject) match = qmp_json_build_object ("{'id': %s, 'status': 'concluded'}",
 *                                                      "job0");
 * g_autoptr(QmpEvent) event =
 *   qmp_connection_wait_event_sync (connection, "JOB_STATUS_CHANGE", match, NULL, &error);
 * if (event == NULL)
 *   g_printerr ("job0: %s\n", error->message);
 * ```
 *
 * Returns: (transfer full): the event, or %NULL on error
 *
 * Nothing is sent: a cancellation or timeout only ends the wait.
 *
 * Since: 1.0
 */
QmpEvent *
qmp_connection_wait_event_sync (QmpConnection  *self,
                                const char     *event_name,
                                JsonObject     *event_match,
                                GCancellable   *cancellable,
                                GError        **error)
{
  return qmp_connection_wait_event_full_sync (self, event_name, event_match, -1, cancellable, error);
}

/* ---------------------------------------------------------- guest agent */

static void
on_guest_agent_answered (GError   *error,
                         gpointer  user_data)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * qmp_connection_wait_guest_agent_async:
 * @self: a #QmpConnection made with %QMP_CONNECTION_FLAGS_GUEST_AGENT
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the agent answered, or on error
 * @user_data: (closure callback): data for @callback
 *
 * Waits until the guest agent answers, as every agent client must after
 * the guest booted or rebooted: the agent is silent until it runs, and
 * what was sent to it before may be lost or answered late.
 *
 * Sends `guest-sync-delimited` with a fresh token, and again with a new
 * token and id while none is answered (after 0.1 s, then ever less often,
 * at least every 2 s), until an answer to one of the last 8 comes (an
 * older attempt is abandoned).  Replies to the other attempts are dropped
 * when they come, and the calls made meanwhile are not disturbed.  The
 * wait is bounded by @cancellable and by
 * [property@Qmp.Connection:timeout] (none when it is 0); it fails with
 * %G_IO_ERROR_CANCELLED or %G_IO_ERROR_TIMED_OUT, and a cancellable that
 * is already cancelled sends nothing.
 *
 * Constructing a guest agent connection waits in the same way, bounded
 * by the timeout given at construction.
 *
 * ```c
 * // after the guest rebooted: on_agent_back () calls
 * // qmp_connection_wait_guest_agent_finish ()
 * qmp_connection_wait_guest_agent_async (agent, NULL, on_agent_back, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_wait_guest_agent_async (QmpConnection       *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (connection_is_ready (self));
  g_return_if_fail ((self->flags & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_wait_guest_agent_async);
  _qmp_guest_sync_start (self->channel, qmp_connection_get_timeout (self), cancellable,
                         on_guest_agent_answered, g_steal_pointer (&task));
}

/**
 * qmp_connection_wait_guest_agent_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.wait_guest_agent_async].
 *
 * ```c
 * // in on_agent_back (), given to qmp_connection_wait_guest_agent_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_wait_guest_agent_finish (QMP_CONNECTION (source), result, &error))
 *   g_warning ("the guest agent did not answer: %s", error->message);
 * ```
 *
 * Returns: %TRUE once the agent answered
 *
 * Since: 1.0
 */
gboolean
qmp_connection_wait_guest_agent_finish (QmpConnection  *self,
                                        GAsyncResult   *result,
                                        GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_wait_guest_agent_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * qmp_connection_wait_guest_agent_sync:
 * @self: a #QmpConnection made with %QMP_CONNECTION_FLAGS_GUEST_AGENT
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Waits until the guest agent answers, blocking the calling thread; see
 * [method@Qmp.Connection.wait_guest_agent_async].
 *
 * ```c
 * // after the guest rebooted
 * qmp_connection_set_timeout (agent, 60000);
 * if (!qmp_connection_wait_guest_agent_sync (agent, NULL, &error))
 *   g_warning ("the guest agent did not come back: %s", error->message);
 * ```
 *
 * Returns: %TRUE once the agent answered
 *
 * Since: 1.0
 */
gboolean
qmp_connection_wait_guest_agent_sync (QmpConnection  *self,
                                      GCancellable   *cancellable,
                                      GError        **error)
{
  SyncWait wait;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (connection_is_ready (self), FALSE);
  g_return_val_if_fail ((self->flags & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  sync_wait_init (&wait);
  _qmp_guest_sync_start (self->channel, qmp_connection_get_timeout (self), cancellable,
                         sync_wait_done, &wait);

  return sync_wait_run (&wait, error);
}

/* ---------------------------------------------------------------- close */

static void
on_close_done_async (GError   *error,
                     gpointer  user_data)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * qmp_connection_close_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the connection is closed
 * @user_data: (closure callback): data for @callback
 *
 * Closes the connection: every pending call fails with %G_IO_ERROR_CLOSED
 * and [signal@Qmp.Connection::closed] is emitted.  The server (QEMU) keeps
 * running.
 *
 * Closing a connection that is closed already fails with
 * %G_IO_ERROR_CLOSED.
 *
 * ```c
 * // the pending calls fail with G_IO_ERROR_CLOSED; QEMU keeps running
 * qmp_connection_close_async (connection, NULL, on_closed, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_close_async (QmpConnection       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (connection_is_ready (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_close_async);

  _qmp_channel_close (self->channel, NULL, FALSE, on_close_done_async, g_steal_pointer (&task));
}

/**
 * qmp_connection_close_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.close_async].
 *
 * ```c
 * // in on_closed (), given to qmp_connection_close_async ()
 * g_autoptr(GError) error = NULL;
 *
 * if (!qmp_connection_close_finish (QMP_CONNECTION (source), result, &error))
 *   g_debug ("close: %s", error->message);
 * ```
 *
 * Returns: %TRUE if the connection was closed by this call
 *
 * Since: 1.0
 */
gboolean
qmp_connection_close_finish (QmpConnection  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_close_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * qmp_connection_close_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Closes the connection, blocking the calling thread until the stream is
 * closed.  See [method@Qmp.Connection.close_async].
 *
 * ```c
 * if (!qmp_connection_close_sync (connection, NULL, &error) &&
 *     !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
 *   g_warning ("close: %s", error->message);
 * g_object_unref (connection);
 * ```
 *
 * Returns: %TRUE if the connection was closed by this call
 *
 * Since: 1.0
 */
gboolean
qmp_connection_close_sync (QmpConnection  *self,
                           GCancellable   *cancellable,
                           GError        **error)
{
  SyncWait wait;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (connection_is_ready (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  sync_wait_init (&wait);
  _qmp_channel_close (self->channel, NULL, FALSE, sync_wait_done, &wait);

  return sync_wait_run (&wait, error);
}
