/* qmp-channel.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <glib/gi18n-lib.h>
#include <gio/gunixfdmessage.h>
#include <glib-unix.h>

#include "qmp-cancel-link-private.h"
#include "qmp-channel-private.h"
#include "qmp-error.h"
#include "qmp-error-private.h"
#include "qmp-event-private.h"
#include "qmp-json-private.h"
#include "qmp-sync-private.h"

/* QEMU's QMP_REQ_QUEUE_LEN_MAX: with more in-band commands unanswered QEMU
 * stops reading the socket, and an exec-oob behind them would be stuck. */
#define MAX_IN_FLIGHT 8

/* The read buffer starts small (1,000 idle connections must stay cheap),
 * grows while reads fill it or a line does not fit, and shrinks back to
 * READ_BUFFER_KEEP once a long line is consumed. */
#define READ_BUFFER_MIN  4096
#define READ_BUFFER_KEEP (64 * 1024)

struct _QmpCall
{
  gatomicrefcount ref_count;
  QmpCallKind kind;
  gboolean oob;
  gboolean no_reply;        /* a guest agent command that answers only errors */
  gboolean unlimited;       /* bypasses the queue and the in-flight count */
  gboolean in_event_context; /* finishes in the context where events go */
  gboolean urgent;          /* counted in channel->n_urgent */
  guint id;
  char *command;
  char *quoted_command;     /* the command as a JSON string literal */
  char *arguments_json;     /* nullable: the arguments, serialized at creation */
  char *event_name;         /* nullable */
  JsonObject *event_match;  /* nullable; a private deep copy */
  GUnixFDList *fd_list;     /* nullable: the call's own duplicates of the
                             * descriptors that go with its first byte;
                             * dropped once they are sent */

  gboolean submitted;       /* handed to a channel, once; by the caller's thread */

  /* Protected by the channel's lock */
  GList *queue_link;        /* in channel->queue: nothing written yet */
  GList *watch_link;        /* in channel->watchers while waiting for an event */
  GList *write_link;        /* in channel->writing while its line is in wbuf */
  gsize wstart;             /* its line is wbuf[wstart, wend) */
  gsize wend;
  gboolean fd_barrier;      /* counted in channel->n_fd_pending */
  gboolean completed;
  gboolean got_return;      /* UNTIL_EVENT: the return came, the event not yet */
  JsonNode *ret;            /* the greeting */
  char *ret_json;           /* a reply's return, checked, not yet parsed */
  QmpEvent *event;
  GError *error;
  GCancellable *cancellable;
  gulong cancelled_id;
  QmpCancelLink *cancel_link; /* or the thread's kept handler (a _sync
                               * call's), and what it holds for the call */
  gpointer cancel_link_data;
  GSource *timeout_source;

  /* How the caller learns that the call is done: a function, or a wait on
   * the condition (the _sync calls), or a wakeup of the caller that reads
   * the reply itself. */
  QmpCallDoneFunc done_func;
  gpointer done_data;
  gboolean done_on_worker;  /* done_func runs on the worker, always */
  QmpWorker *worker;        /* where, once submitted */
  QmpChannel *channel;      /* a _sync call's channel, from its submission
                             * to the end of its wait */
  GMutex wait_lock;
  GCond wait_cond;
  gboolean notified;        /* protected by wait_lock, as are: */
  int wakeup_fd;            /* the waiting caller's wakeup eventfd, or -1
                             * when it waits on wait_cond */
  GThread *reader;          /* the waiting caller's thread */
  gboolean reading;         /* it is the channel's reader (set under the
                             * channel's lock too) */
};

struct _QmpChannel
{
  gatomicrefcount ref_count;
  QmpWorker *worker;
  GIOStream *stream;
  GPollableInputStream *input;
  GPollableOutputStream *output;
  GSocket *fd_socket;       /* nullable: the Unix socket descriptors go on */
  GWeakRef owner;
  QmpChannelEventFunc event_func;
  QmpChannelClosedFunc closed_func;

  /* Used by the reader only: the worker, or a _sync caller that reads its
   * own reply (see _qmp_call_wait()) */
  char *rbuf;
  gsize rbuf_len;           /* bytes in rbuf */
  gsize rbuf_cap;
  guint early_misses;       /* reads a caller tried at once, in a row, that
                             * found no reply */
  guint early_skips;        /* ...and the times it did not try since */
  gsize rbuf_scanned;       /* bytes of rbuf already searched for '\n' */
  GString *scratch;         /* the parser's buffer for escaped strings */
  gboolean guest_agent;     /* qemu-ga: no greeting, no events */
  gboolean debug_at_start;  /* G_MESSAGES_DEBUG named us when it was made */

  GMutex lock;
  /* Protected by lock */
  guint id_floor;           /* no id up to this one is given again: a call
                             * gone from the pending table (abandoned
                             * unlimited, or answering only errors) may
                             * still be answered */
  gboolean closed;
  GError *close_error;      /* what calls made after the close fail with */
  gboolean oob_enabled;
  gboolean expect_greeting;
  gboolean negotiated;      /* the handshake's qmp_capabilities succeeded */
  gboolean monitor_reset;   /* a greeting came again before that */
  QmpCall *renegotiation;   /* nullable: the last qmp_capabilities sent
                             * after a greeting came again */
  gboolean renegotiate_again; /* another came while it was unanswered */
  gboolean discard_until_delimiter;  /* qemu-ga resync: drop input up to 0xFF */
  guint64 max_message_size;
  QmpCall *greeting_call;
  GQueue queue;             /* in-band calls waiting for a free slot */
  GHashTable *pending;      /* id → call: written, reply not yet read */
  guint in_flight;          /* in-band calls written and unanswered */
  guint n_fd_pending;       /* calls with descriptors written and unanswered,
                             * on an OOB connection */
  GQueue watchers;          /* calls waiting for an event, oldest first */
  GString *wbuf;            /* bytes to write */
  gsize wpos;               /* how much of wbuf is written */
  GQueue writing;           /* calls whose line is in wbuf and not all written */
  GSource *output_source;   /* waits for the socket to take more */
  GError *write_error;      /* a failed write, for the worker to act on */
  gint write_failed;        /* (atomic) the worker acted on it: the reader
                             * reads what the socket holds, then fails the
                             * channel with write_error */
  gboolean read_paused;     /* the event consumer is full: reading stopped,
                             * maybe with lines left in rbuf */
  guint n_urgent;           /* calls waiting for input that reading may not
                             * make wait behind the events */
  guint n_resumes;          /* _qmp_channel_resume_reading() calls so far */

  /* Who reads (protected by lock): the worker, through input_source, or
   * a _sync caller that took the reading over.  At most one at a time:
   * the read buffer is the reader's, and events go out in order. */
  GSource *input_source;    /* the worker waits for input (on the socket,
                             * or on read_epoll_fd); NULL when nobody does
                             * (not started, paused, closed) */
  GSocket *socket;          /* nullable: the plain socket (not TLS: its fd
                             * says nothing about what GTlsConnection has
                             * buffered), read and written directly, and
                             * polled by a _sync caller that reads */
  int read_epoll_fd;        /* -1, or once a caller read: an epoll set the
                             * worker polls instead of the socket, so that
                             * a caller can take the socket out and put it
                             * back without waking the worker */
  gboolean socket_in_epoll; /* socket is in read_epoll_fd's set */
  gboolean socket_armed;    /* ...for input (else for nothing: a caller
                             * reads) */
  gboolean read_socket_failed; /* no epoll set could be made: the worker
                                * always reads */
  gboolean worker_reading;  /* on_input_ready() runs on the worker */
  gboolean caller_reading;  /* a _sync caller reads */
  QmpCall *reader_wanted;   /* a _sync call whose caller reads once the
                             * worker is done reading */
  QmpCall *reading_call;    /* the call whose caller reads, until it stops
                             * polling (caller_reading may outlast it) */
  gpointer deferred_shutdown; /* the worker's close, which waits until the
                               * reading caller is off the socket */
};

static void channel_fail_locked (QmpChannel *self,
                                 GError     *error,
                                 gboolean    remote_peer_vanished,
                                 GPtrArray  *done);
static void channel_watch_input_locked (QmpChannel *self);
static gboolean channel_epoll_add_socket_locked (QmpChannel *self);
static gboolean on_epoll_ready (int           fd,
                                GIOCondition  condition,
                                gpointer      user_data);
static void channel_schedule_shutdown_locked (QmpChannel *self,
                                              gpointer    data);
static void channel_resume_locked (QmpChannel *self);
static void channel_read_for_call (QmpChannel *self,
                                   QmpCall    *call);
static int channel_self_read_wakeup_fd (QmpChannel *self);
static gboolean channel_take_reading_locked (QmpChannel *self,
                                             QmpCall    *call);
static gboolean channel_want_reading_locked (QmpChannel *self,
                                             QmpCall    *call);
static void channel_grant_reading_locked (QmpChannel *self);
static gboolean channel_worker_read_locked (QmpChannel *self);
static void channel_unwatch_input_locked (QmpChannel *self);
static void channel_finish_close (QmpChannel              *self,
                                  GError                  *error,
                                  gboolean                 remote_peer_vanished,
                                  GPtrArray               *done,
                                  QmpChannelCloseDoneFunc  done_func,
                                  gpointer                 done_data);

/* ---------------------------------------------------------------- calls */

QmpCall *
_qmp_call_new (QmpCallKind  kind,
               const char  *command,
               JsonObject  *arguments,
               gboolean     oob,
               const char  *event_name,
               JsonObject  *event_match)
{
  QmpCall *call = g_new0 (QmpCall, 1);

  g_atomic_ref_count_init (&call->ref_count);
  call->kind = kind;
  call->oob = oob;
  call->command = g_strdup (command);
  call->event_name = g_strdup (event_name);
  g_mutex_init (&call->wait_lock);
  g_cond_init (&call->wait_cond);
  call->wakeup_fd = -1;

  if (command != NULL)
    call->quoted_command = _qmp_json_string_quote (command);

  /* Serialized now, in the caller's thread: the caller may change or free
   * the object as soon as this returns. */
  if (arguments != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), arguments);

      call->arguments_json = _qmp_json_to_string (node);
    }

  if (event_match != NULL)
    call->event_match = _qmp_json_object_copy_deep (event_match);

  return call;
}

/* The arguments as the text of a JSON object that the caller checked,
 * with no line break (it goes on the command's line as it is); taken. */
void
_qmp_call_take_arguments_json (QmpCall *call,
                               char    *arguments_json)
{
  g_free (call->arguments_json);
  call->arguments_json = arguments_json;
}

QmpCall *
_qmp_call_ref (QmpCall *call)
{
  g_atomic_ref_count_inc (&call->ref_count);
  return call;
}

void
_qmp_call_unref (QmpCall *call)
{
  if (!g_atomic_ref_count_dec (&call->ref_count))
    return;

  g_assert (call->cancelled_id == 0);
  g_assert (call->cancel_link == NULL);
  g_assert (call->timeout_source == NULL);
  g_assert (call->channel == NULL);

  g_free (call->command);
  g_free (call->quoted_command);
  g_free (call->arguments_json);
  g_free (call->event_name);
  g_clear_pointer (&call->event_match, json_object_unref);
  g_clear_object (&call->fd_list);
  g_clear_pointer (&call->ret, json_node_unref);
  g_free (call->ret_json);
  g_clear_pointer (&call->event, qmp_event_unref);
  g_clear_error (&call->error);
  g_clear_pointer (&call->worker, _qmp_worker_unref);
  g_mutex_clear (&call->wait_lock);
  g_cond_clear (&call->wait_cond);
  g_free (call);
}

/* qmp_capabilities, enabling out-of-band execution or nothing: the
 * handshake's, and the channel's own when QEMU greets again. */
QmpCall *
_qmp_call_new_capabilities (gboolean enable_oob)
{
  g_autoptr(JsonObject) arguments = NULL;

  if (enable_oob)
    {
      JsonArray *enable = json_array_new ();

      json_array_add_string_element (enable, "oob");
      arguments = json_object_new ();
      json_object_set_array_member (arguments, "enable", enable);
    }

  return _qmp_call_new (QMP_CALL_COMMAND, "qmp_capabilities", arguments, FALSE, NULL, NULL);
}

void
_qmp_call_set_done_func (QmpCall         *call,
                         QmpCallDoneFunc  func,
                         gpointer         user_data)
{
  g_assert (!call->submitted);

  call->done_func = func;
  call->done_data = user_data;
}

/* The call's done function runs on the worker thread, whichever thread
 * finishes the call (a _sync caller that reads for itself may read its
 * reply): for done functions that share unlocked state with the worker's
 * other callbacks. */
void
_qmp_call_set_done_on_worker (QmpCall *call)
{
  g_assert (!call->submitted);

  call->done_on_worker = TRUE;
}

/* The call bypasses the queue and holds no in-flight slot, as exec-oob
 * does, and leaves nothing behind when it is abandoned: for the guest
 * agent's resynchronization, which must get through whatever waits, to a
 * peer that may never answer. */
void
_qmp_call_set_unlimited (QmpCall *call)
{
  g_assert (!call->submitted);

  call->unlimited = TRUE;
}

/* Gives @call duplicates of the descriptors of @fd_list (the caller keeps
 * its list), to be sent with the first byte of its line.  FALSE when they
 * cannot be duplicated (too many open files). */
gboolean
_qmp_call_set_fds (QmpCall      *call,
                   GUnixFDList  *fd_list,
                   GError      **error)
{
  g_autoptr(GUnixFDList) copy = g_unix_fd_list_new ();
  const int *fds;
  int n_fds;

  g_assert (!call->submitted);
  g_assert (call->kind == QMP_CALL_COMMAND || call->kind == QMP_CALL_UNTIL_EVENT);

  fds = g_unix_fd_list_peek_fds (fd_list, &n_fds);
  if (n_fds == 0)
    return TRUE;

  for (int i = 0; i < n_fds; i++)
    if (g_unix_fd_list_append (copy, fds[i], error) < 0)
      return FALSE;

  g_set_object (&call->fd_list, copy);

  return TRUE;
}

/* The call's own descriptors, before they are sent; NULL when none. */
GUnixFDList *
_qmp_call_get_fds (QmpCall *call)
{
  return call->fd_list;
}

/* The call's caller learns of its end in the context where the events
 * are emitted: reading may stop until the events queued there are
 * emitted, since that context must run for the call to finish anyway. */
void
_qmp_call_set_in_event_context (QmpCall *call)
{
  g_assert (!call->submitted);

  call->in_event_context = TRUE;
}

/* Blocks the calling thread, without iterating any main context, until the
 * call is done.  For calls without a done function. */
void
_qmp_call_wait (QmpCall *call)
{
  g_autoptr(QmpChannel) channel = g_steal_pointer (&call->channel);

  g_assert (call->done_func == NULL);

  /* Reading the reply here saves two thread hand-offs (the worker woken by
   * the reply, then this thread by the worker); when someone else reads,
   * the reader completes the call as usual. */
  if (channel != NULL)
    channel_read_for_call (channel, call);

  g_mutex_lock (&call->wait_lock);
  while (!call->notified)
    g_cond_wait (&call->wait_cond, &call->wait_lock);
  g_mutex_unlock (&call->wait_lock);
}

/* The return, as a tree built in the calling thread. */
JsonNode *
_qmp_call_steal_return (QmpCall *call)
{
  g_autofree char *text = NULL;
  JsonNode *node;

  if (call->ret != NULL || call->ret_json == NULL)
    return g_steal_pointer (&call->ret);

  text = g_steal_pointer (&call->ret_json);
  node = _qmp_json_parse_checked (text, strlen (text));

  return node;
}

/* The return as the server sent it (checked JSON), to be parsed with
 * _qmp_json_parse() by whoever uses it. */
char *
_qmp_call_steal_return_json (QmpCall *call)
{
  return g_steal_pointer (&call->ret_json);
}

QmpEvent *
_qmp_call_steal_event (QmpCall *call)
{
  return g_steal_pointer (&call->event);
}

GError *
_qmp_call_steal_error (QmpCall *call)
{
  return g_steal_pointer (&call->error);
}

/* Marks @call finished with @ret/@event/@error (all owned) and moves it to
 * @done, to be told outside the lock.  Runs with the channel locked. */
static void
call_complete_locked (QmpChannel *self,
                      QmpCall    *call,
                      JsonNode   *ret,
                      QmpEvent   *event,
                      GError     *error,
                      GPtrArray  *done)
{
  g_assert (!call->completed);

  /* Taken first: the queue, the watchers or the pending table may hold the
   * last other reference, dropped below. */
  g_ptr_array_add (done, _qmp_call_ref (call));

  call->completed = TRUE;
  if (call->urgent)
    {
      call->urgent = FALSE;
      self->n_urgent--;
    }
  if (ret != NULL)
    {
      g_clear_pointer (&call->ret, json_node_unref);
      call->ret = ret;
    }
  if (event != NULL)
    {
      g_clear_pointer (&call->event, qmp_event_unref);
      call->event = event;
    }
  if (error != NULL)
    {
      g_clear_pointer (&call->ret, json_node_unref);
      g_clear_pointer (&call->ret_json, g_free);
      g_clear_pointer (&call->event, qmp_event_unref);
      call->error = error;
    }

  if (call->queue_link != NULL)
    {
      g_queue_delete_link (&self->queue, call->queue_link);
      call->queue_link = NULL;
      _qmp_call_unref (call);   /* the queue's reference */
    }

  if (call->watch_link != NULL)
    {
      g_queue_delete_link (&self->watchers, call->watch_link);
      call->watch_link = NULL;
      _qmp_call_unref (call);   /* the watchers' reference */
    }

  if (self->greeting_call == call)
    {
      self->greeting_call = NULL;
      _qmp_call_unref (call);
    }

  /* A call whose reply is still to come stays in the pending table: its
   * reply is read and dropped, and it keeps its in-flight slot until then,
   * because QEMU still counts it. */
}

static gboolean
call_done_on_worker (gpointer user_data)
{
  QmpCall *call = user_data;

  call->done_func (call, call->done_data);

  return G_SOURCE_REMOVE;
}

/* Tells the callers of @done that their calls are finished.  Runs without
 * the channel's lock, which the callers' code may need. */
static void
calls_notify (GPtrArray *done)
{
  for (guint i = 0; i < done->len; i++)
    {
      QmpCall *call = g_ptr_array_index (done, i);

      /* Both sources were attached when the call was submitted, and only
       * the completion, which happens once, removes them. */
      /* Without waiting for a cancellation that runs in another thread:
       * the caller's own handlers may wait for the worker.  Run late, the
       * handler finds the call completed. */
      if (call->cancelled_id != 0)
        {
          _qmp_cancellable_disconnect_nowait (call->cancellable, call->cancelled_id);
          call->cancelled_id = 0;
        }
      g_clear_object (&call->cancellable);
      if (call->cancel_link != NULL)
        _qmp_cancel_link_end (g_steal_pointer (&call->cancel_link),
                              g_steal_pointer (&call->cancel_link_data));
      if (call->timeout_source != NULL)
        {
          g_source_destroy (call->timeout_source);
          g_clear_pointer (&call->timeout_source, g_source_unref);
        }

      if (call->done_func != NULL && call->done_on_worker && !_qmp_worker_is_current (call->worker))
        {
          _qmp_worker_idle_add (call->worker, G_PRIORITY_HIGH, "[qmp-glib] call done",
                                call_done_on_worker, _qmp_call_ref (call),
                                (GDestroyNotify) _qmp_call_unref);
        }
      else if (call->done_func != NULL)
        {
          call->done_func (call, call->done_data);
        }
      else
        {
          gboolean polling;

          g_mutex_lock (&call->wait_lock);
          call->notified = TRUE;
          /* A caller that reads for itself polls its wakeup descriptor, and
           * needs no wakeup from its own thread.  Written under the lock:
           * once the caller stops reading, the descriptor is not ours. */
          polling = call->wakeup_fd >= 0;
          if (polling && call->reader != g_thread_self ())
            {
              while (eventfd_write (call->wakeup_fd, 1) < 0 && errno == EINTR)
                ;
            }
          g_mutex_unlock (&call->wait_lock);
          /* After the unlock, so the waiter does not wake only to wait for
           * the mutex; @done keeps the call alive meanwhile. */
          if (!polling)
            g_cond_broadcast (&call->wait_cond);
        }
    }

  g_ptr_array_set_size (done, 0);
}

static GPtrArray *
calls_done_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) _qmp_call_unref);
}

/* -------------------------------------------------------------- writing */

static gboolean on_output_ready (GObject  *stream,
                                 gpointer  user_data);

/* The calls whose line went all into the socket up to wpos leave
 * self->writing; a command that gets no reply is done then. */
static void
channel_written_locked (QmpChannel *self,
                        GPtrArray  *done)
{
  QmpCall *call;

  while ((call = g_queue_peek_head (&self->writing)) != NULL && call->wend <= self->wpos)
    {
      g_queue_pop_head (&self->writing);
      call->write_link = NULL;
      if (call->no_reply && !call->completed)
        {
          /* Its reply, an error if any, has no call left to go to and is
           * dropped as an unknown id. */
          call->ret_json = g_strdup ("null");
          call_complete_locked (self, call, NULL, NULL, NULL, done);
        }
      _qmp_call_unref (call);
    }
}

/* The write failed: nothing more goes out.  A command that gets no reply
 * fails with @error now; the others fail when the channel does. */
static void
channel_write_failed_locked (QmpChannel   *self,
                             const GError *error,
                             GPtrArray    *done)
{
  QmpCall *call;

  while ((call = g_queue_pop_head (&self->writing)) != NULL)
    {
      call->write_link = NULL;
      if (call->no_reply && !call->completed)
        call_complete_locked (self, call, NULL, NULL, g_error_copy (error), done);
      _qmp_call_unref (call);
    }

  g_string_truncate (self->wbuf, 0);
  self->wpos = 0;
}

/* The reader read what the socket held after a write failed: the calls
 * still waiting fail with the write's error.  Returns FALSE (reading
 * stops). */
static gboolean
channel_fail_after_write (QmpChannel *self)
{
  g_autoptr(GPtrArray) done = calls_done_new ();

  g_mutex_lock (&self->lock);
  if (!self->closed && self->write_error != NULL)
    channel_fail_locked (self, g_steal_pointer (&self->write_error), TRUE, done);
  g_mutex_unlock (&self->lock);

  calls_notify (done);

  return FALSE;
}

/* A write failed.  The peer may have answered before it went away: QEMU
 * answers quit, then closes, and a command written meanwhile fails with
 * EPIPE while the answer waits in the socket.  So the reader reads what
 * the socket holds first, and the answered calls succeed; then the
 * channel fails with the write's error.  Reading stops once the socket is
 * drained, not at its end: a peer that shut down only its reading side
 * keeps the other open, and its calls must fail all the same. */
static gboolean
on_write_failed (gpointer user_data)
{
  QmpChannel *self = user_data;
  gboolean read;

  g_mutex_lock (&self->lock);
  if (self->closed || self->write_error == NULL)
    {
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  g_atomic_int_set (&self->write_failed, TRUE);

  if (self->caller_reading)
    {
      /* That caller reads, then fails the channel (see
       * channel_read_for_call()); or, if it is about to stop reading,
       * this runs again (see channel_release_reading()). */
      if (self->reading_call != NULL)
        {
          QmpCall *call = self->reading_call;

          g_mutex_lock (&call->wait_lock);
          if (call->wakeup_fd >= 0)
            {
              while (eventfd_write (call->wakeup_fd, 1) < 0 && errno == EINTR)
                ;
            }
          g_mutex_unlock (&call->wait_lock);
        }
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }

  /* Not when reading paused (the consumer is full): then the lines wait,
   * and the calls fail now. */
  read = self->input_source != NULL && !self->read_paused;
  if (read && !channel_worker_read_locked (self))
    channel_unwatch_input_locked (self);
  g_mutex_unlock (&self->lock);

  channel_fail_after_write (self);

  g_mutex_lock (&self->lock);
  channel_grant_reading_locked (self);
  g_mutex_unlock (&self->lock);

  return G_SOURCE_REMOVE;
}

static void
channel_schedule_write_failed (QmpChannel *self)
{
  _qmp_worker_idle_add (self->worker, G_PRIORITY_DEFAULT, "[qmp-glib] write failed",
                        on_write_failed, _qmp_channel_ref (self),
                        (GDestroyNotify) _qmp_channel_unref);
}

/* The first call whose line is in wbuf from @from on with descriptors
 * still to send, or NULL. */
static QmpCall *
channel_next_fd_call_locked (QmpChannel *self,
                             GList      *from)
{
  for (GList *l = from; l != NULL; l = l->next)
    {
      QmpCall *call = l->data;

      if (call->fd_list != NULL && call->wstart >= self->wpos)
        return call;
    }

  return NULL;
}

/* One sendmsg() of wbuf[wpos, end) with @call's descriptors, which the
 * kernel attaches to the first of these bytes, the first of @call's line:
 * QEMU's monitor takes them for the command it is reading then. */
static gssize
channel_send_fds_locked (QmpChannel  *self,
                         QmpCall     *call,
                         gsize        end,
                         GError     **error)
{
  g_autoptr(GSocketControlMessage) message = g_unix_fd_message_new_with_fd_list (call->fd_list);
  GOutputVector vector = { self->wbuf->str + self->wpos, end - self->wpos };
  gsize written = 0;

  g_assert (call->wstart == self->wpos);

  switch (g_socket_send_message_with_timeout (self->fd_socket, NULL, &vector, 1, &message, 1,
                                              G_SOCKET_MSG_NONE, 0, &written, NULL, error))
    {
    case G_POLLABLE_RETURN_OK:
      /* Sent with the first byte: a partial write goes on without them. */
      g_debug ("Sent %d file descriptors with “%s” (id %u)",
               g_unix_fd_list_get_length (call->fd_list), call->command, call->id);
      g_clear_object (&call->fd_list);
      return written;

    case G_POLLABLE_RETURN_WOULD_BLOCK:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "would block");
      return -1;

    case G_POLLABLE_RETURN_FAILED:
    default:
      return -1;
    }
}

/* A plain socket is read and written through GSocket itself, as its
 * streams do: they add only type checks, which cost a third of a small
 * call's read or write. */
static gssize
channel_receive (QmpChannel *self,
                 char       *buffer,
                 gsize       size,
                 GError    **error)
{
  if (self->socket != NULL)
    return g_socket_receive_with_blocking (self->socket, buffer, size, FALSE, NULL, error);

  return g_pollable_input_stream_read_nonblocking (self->input, buffer, size, NULL, error);
}

static gssize
channel_send (QmpChannel *self,
              const char *buffer,
              gsize       size,
              GError    **error)
{
  if (self->socket != NULL)
    return g_socket_send_with_blocking (self->socket, buffer, size, FALSE, NULL, error);

  return g_pollable_output_stream_write_nonblocking (self->output, buffer, size, NULL, error);
}

/* Writes as much of wbuf as the socket takes without blocking; what is
 * left is written by on_output_ready() on the worker.  The socket is
 * non-blocking, so this is cheap enough to do under the lock, from the
 * caller's thread: a command needs no trip through the worker to go out. */
static void
channel_write_locked (QmpChannel *self,
                      GPtrArray  *done)
{
  while (self->wpos < self->wbuf->len)
    {
      g_autoptr(GError) error = NULL;
      QmpCall *fd_call = channel_next_fd_call_locked (self, self->writing.head);
      gsize end = self->wbuf->len;
      gssize n;

      /* A line with descriptors is a write of its own: each set goes with
       * its own command's first byte, and the kernel's segment that
       * carries them holds that line's bytes only.  A reader cannot see
       * where segments begin, only that a read ends with the one that
       * carries descriptors: so the line of the read's last byte is the
       * one they came with (QmpTestServer and QmpProxy go by that).
       * (No line with descriptors: one write of all there is.) */
      if (fd_call != NULL && fd_call->wstart > self->wpos)
        {
          end = fd_call->wstart;
          fd_call = NULL;
        }
      else if (fd_call != NULL)
        {
          end = fd_call->wend;
        }

      if (fd_call != NULL)
        n = channel_send_fds_locked (self, fd_call, end, &error);
      else
        n = channel_send (self, self->wbuf->str + self->wpos, end - self->wpos, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              if (self->output_source == NULL)
                {
                  self->output_source = g_pollable_output_stream_create_source (self->output, NULL);
                  g_source_set_static_name (self->output_source, "[qmp-glib] output");
                  g_source_set_callback (self->output_source, G_SOURCE_FUNC (on_output_ready),
                                         _qmp_channel_ref (self),
                                         (GDestroyNotify) _qmp_channel_unref);
                  g_source_attach (self->output_source, _qmp_worker_get_context (self->worker));
                }
              return;
            }

          /* The reader sees most failures too, but not all (a peer that
           * shut down only its reading side): fail the channel from the
           * worker, since the lock is held here. */
          if (!self->closed && self->write_error == NULL)
            {
              self->write_error = g_error_copy (error);
              channel_schedule_write_failed (self);
            }
          channel_write_failed_locked (self, error, done);
          return;
        }

      self->wpos += n;
      channel_written_locked (self, done);
    }

  g_assert (self->writing.length == 0);
  g_string_truncate (self->wbuf, 0);
  self->wpos = 0;
}

static gboolean
on_output_ready (GObject  *stream,
                 gpointer  user_data)
{
  QmpChannel *self = user_data;
  g_autoptr(GPtrArray) done = calls_done_new ();

  g_mutex_lock (&self->lock);
  /* This source is done; the write makes a new one if the socket is
   * still full. */
  g_clear_pointer (&self->output_source, g_source_unref);
  channel_write_locked (self, done);
  g_mutex_unlock (&self->lock);

  calls_notify (done);

  return G_SOURCE_REMOVE;
}

/* The guest agent's commands that send no reply when they succeed (their
 * success-response is false in guest-info). */
static gboolean
is_guest_agent_no_reply (const char *command)
{
  static const char * const commands[] = {
    "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid",
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (command, commands[i]))
      return TRUE;

  return FALSE;
}

/* In-band commands hold one of QEMU's MAX_IN_FLIGHT slots until their
 * reply comes. */
static gboolean
call_counts_in_flight (QmpCall *call)
{
  return !call->oob && !call->no_reply && !call->unlimited;
}

/* The smallest id above the floor that no call waits on.  Small ids make
 * short lines, and QEMU's monitor reads its socket one byte at a time
 * (about 4 µs a byte here): "id":1 instead of "id":12345 saves it a
 * sixteenth of its round trip.  Never 0 (no reply names it). */
static guint
channel_new_id_locked (QmpChannel *self)
{
  guint id = self->id_floor;

  do
    id++;
  while (id == 0 || g_hash_table_contains (self->pending, GUINT_TO_POINTER (id)));

  return id;
}

/* Puts the command's line in wbuf, where it stays cancellable until its
 * first byte is written.  It gets its id now: the ids of calls in the
 * pending table are taken. */
static void
call_append_line_locked (QmpChannel *self,
                         QmpCall    *call)
{
  call->wstart = self->wbuf->len;
  g_string_append (self->wbuf, call->oob ? "{\"exec-oob\":" : "{\"execute\":");
  g_string_append (self->wbuf, call->quoted_command);
  if (call->arguments_json != NULL)
    {
      g_string_append (self->wbuf, ",\"arguments\":");
      g_string_append (self->wbuf, call->arguments_json);
    }
  call->id = channel_new_id_locked (self);
  {
    /* printf would cost more than the rest of the line */
    char digits[16];
    gsize i = sizeof digits;
    guint id = call->id;

    do
      digits[--i] = '0' + id % 10;
    while ((id /= 10) > 0);
    g_string_append (self->wbuf, ",\"id\":");
    g_string_append_len (self->wbuf, digits + i, sizeof digits - i);
    g_string_append (self->wbuf, "}\n");
  }
  call->wend = self->wbuf->len;
  g_queue_push_tail (&self->writing, _qmp_call_ref (call));
  call->write_link = self->writing.tail;

  if (G_UNLIKELY (_qmp_debug_enabled_since (self->debug_at_start)))
    {
      g_autofree char *arguments = NULL;

      if (call->arguments_json != NULL)
        {
          g_autoptr(JsonNode) node = json_from_string (call->arguments_json, NULL);

          if (node != NULL)
            arguments = _qmp_json_to_string_redacted (node);
        }

      g_debug ("→ {\"%s\":%s%s%s,\"id\":%u}",
               call->oob ? "exec-oob" : "execute", call->quoted_command,
               arguments ? ",\"arguments\":" : "", arguments ? arguments : "",
               call->id);
    }

  /* A command that gets no reply is done once written; an error may
   * still come, for no call: its id is never given again. */
  if (call->no_reply)
    {
      self->id_floor = MAX (self->id_floor, call->id);
    }
  else
    {
      g_hash_table_insert (self->pending, GUINT_TO_POINTER (call->id), _qmp_call_ref (call));
      if (call->fd_list != NULL && self->oob_enabled)
        {
          call->fd_barrier = TRUE;
          self->n_fd_pending++;
        }
    }
}

/* @call left the pending table: its reply came, or it was never sent. */
static void
call_left_pending_locked (QmpChannel *self,
                          QmpCall    *call)
{
  if (call_counts_in_flight (call))
    {
      g_assert (self->in_flight > 0);
      self->in_flight--;
    }
  if (call->fd_barrier)
    {
      g_assert (self->n_fd_pending > 0);
      call->fd_barrier = FALSE;
      self->n_fd_pending--;
    }
}

/* Moves queued in-band calls to the write buffer while fewer than
 * MAX_IN_FLIGHT are unanswered, then writes. */
static void
channel_flush_locked (QmpChannel *self,
                      GPtrArray  *done)
{
  while (self->in_flight < MAX_IN_FLIGHT && self->queue.length > 0)
    {
      QmpCall *call = g_queue_peek_head (&self->queue);

      /* With OOB, QEMU's monitor thread reads ahead of the commands it
       * runs, and descriptors go to whichever command takes descriptors
       * next: one that carries them goes out alone, after every earlier
       * command is answered and before any later one. */
      if (self->oob_enabled &&
          (self->n_fd_pending > 0 ||
           (call->fd_list != NULL && g_hash_table_size (self->pending) > 0)))
        break;

      g_queue_pop_head (&self->queue);   /* takes the queue's ref */

      call->queue_link = NULL;
      if (call_counts_in_flight (call))
        self->in_flight++;
      call_append_line_locked (self, call);
      _qmp_call_unref (call);
    }

  if (self->wbuf->len > self->wpos && self->output_source == NULL)
    channel_write_locked (self, done);
}

/* A call abandoned by its caller leaves the channel as far as it can: a
 * line not yet begun is cut out of wbuf, so it is never sent, and gives
 * its slot back.  Half a line must be finished (the stream would break),
 * and a written command keeps its slot until its reply is read. */
static void
channel_withdraw_locked (QmpChannel *self,
                         QmpCall    *call)
{
  if (call->write_link != NULL && call->wstart >= self->wpos)
    {
      gsize len = call->wend - call->wstart;

      for (GList *l = call->write_link->next; l != NULL; l = l->next)
        {
          QmpCall *later = l->data;

          later->wstart -= len;
          later->wend -= len;
        }
      g_string_erase (self->wbuf, call->wstart, len);
      g_debug ("Not sending “%s” (id %u): abandoned before it was written", call->command, call->id);
      g_queue_delete_link (&self->writing, call->write_link);
      call->write_link = NULL;
      _qmp_call_unref (call);   /* the writing queue's reference */

      if (g_hash_table_steal (self->pending, GUINT_TO_POINTER (call->id)))
        {
          call_left_pending_locked (self, call);
          _qmp_call_unref (call);   /* the pending table's reference */
        }
    }
  else if (call->unlimited)
    {
      /* It holds no slot: a late reply is dropped as an unknown id (which
       * is never given again), and a peer that never answers (a guest
       * agent that is not running yet) leaves nothing behind. */
      if (g_hash_table_remove (self->pending, GUINT_TO_POINTER (call->id)))
        self->id_floor = MAX (self->id_floor, call->id);
    }
}

/* ---------------------------------------------------------- submitting */

typedef struct
{
  QmpChannel *channel;
  QmpCall *call;
  gboolean timed_out;
  guint timeout_msec;
} AbandonData;

static void
abandon_data_free (gpointer data)
{
  AbandonData *abandon = data;

  _qmp_channel_unref (abandon->channel);
  _qmp_call_unref (abandon->call);
  g_free (abandon);
}

/* Says what the call still waited for when its time was up. */
static GError *
call_timeout_error_locked (QmpCall *call,
                           guint    timeout_msec)
{
  if (call->kind == QMP_CALL_UNTIL_EVENT && call->got_return)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        _("Timed out after %u ms waiting for the event “%s” (the reply to “%s” came)"),
                        timeout_msec, call->event_name, call->command);

  if (call->kind == QMP_CALL_UNTIL_EVENT && call->event == NULL)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        _("Timed out after %u ms waiting for the reply to “%s” and the event “%s”"),
                        timeout_msec, call->command, call->event_name);

  if (call->kind == QMP_CALL_WAIT_EVENT && call->event_name != NULL)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        _("Timed out after %u ms waiting for the event “%s”"),
                        timeout_msec, call->event_name);

  if (call->kind == QMP_CALL_WAIT_EVENT)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        _("Timed out after %u ms waiting for an event"),
                        timeout_msec);

  if (call->command != NULL)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        _("Timed out after %u ms waiting for the reply to “%s”"),
                        timeout_msec, call->command);

  return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                      _("Timed out after %u ms waiting for the server"),
                      timeout_msec);
}

/* The call's cancellable fired or its timeout expired: finish it now.  A
 * command whose first byte is not yet written is never sent; one already
 * written has its reply dropped when it comes. */
static gboolean
on_call_abandoned (gpointer user_data)
{
  AbandonData *abandon = user_data;
  QmpChannel *self = abandon->channel;
  QmpCall *call = abandon->call;
  g_autoptr(GPtrArray) done = calls_done_new ();

  g_mutex_lock (&self->lock);
  if (!call->completed)
    {
      GError *error;

      if (abandon->timed_out)
        {
          error = call_timeout_error_locked (call, abandon->timeout_msec);
        }
      else
        {
          error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       _("Operation was cancelled"));
        }

      channel_withdraw_locked (self, call);
      call_complete_locked (self, call, NULL, NULL, error, done);

      /* A slot may be free now. */
      if (!self->closed)
        channel_flush_locked (self, done);
    }
  g_mutex_unlock (&self->lock);

  calls_notify (done);

  return G_SOURCE_REMOVE;
}

static AbandonData *
abandon_data_new (QmpChannel *self,
                  QmpCall    *call,
                  guint       timeout_msec)
{
  AbandonData *abandon = g_new0 (AbandonData, 1);

  abandon->channel = _qmp_channel_ref (self);
  abandon->call = _qmp_call_ref (call);
  abandon->timed_out = timeout_msec > 0;
  abandon->timeout_msec = timeout_msec;

  return abandon;
}

/* In the thread that cancelled: hand the work to the worker, where calls
 * finish.  (Not a GCancellableSource: in GLib 2.74, destroying one while
 * another thread cancels its cancellable can leak a reference.) */
static void
on_call_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  AbandonData *connected = user_data;
  _qmp_worker_idle_add (connected->channel->worker, G_PRIORITY_DEFAULT, "[qmp-glib] cancelled",
                        on_call_abandoned, abandon_data_new (connected->channel, connected->call, 0),
                        abandon_data_free);
}

/* The same, for a call that uses its thread's kept handler
 * (qmp-cancel-link.c). */
static void
on_call_cancelled_kept (gpointer data)
{
  on_call_cancelled (NULL, data);
}

static GSource *
timeout_source_attach_locked (QmpChannel *self,
                              QmpCall    *call,
                              guint       timeout_msec)
{
  GSource *source = g_timeout_source_new (timeout_msec);

  g_source_set_static_name (source, "[qmp-glib] call timeout");
  g_source_set_callback (source, on_call_abandoned,
                         abandon_data_new (self, call, timeout_msec), abandon_data_free);
  g_source_attach (source, _qmp_worker_get_context (self->worker));

  return source;
}

/* Hands @call to the channel.  It finishes exactly once: with its result,
 * with the error of a closed channel, when @cancellable is cancelled, or
 * when @timeout_msec (0: never) passes. */
void
_qmp_channel_submit (QmpChannel   *self,
                     QmpCall      *call,
                     GCancellable *cancellable,
                     guint         timeout_msec)
{
  g_autoptr(GPtrArray) done = calls_done_new ();
  QmpCancelLink *cancel_link = NULL;
  int wakeup_fd = -1;

  g_assert (!call->submitted);
  call->submitted = TRUE;

  /* Before the lock: this may connect a handler. */
  if (call->done_func == NULL && cancellable != NULL && !g_cancellable_is_cancelled (cancellable))
    cancel_link = _qmp_cancel_link_prepare (cancellable);

  /* A _sync call may read its own reply: _qmp_call_wait() needs to know
   * from where. */
  if (call->done_func == NULL)
    {
      call->channel = _qmp_channel_ref (self);
      wakeup_fd = channel_self_read_wakeup_fd (self);
    }
  if (call->done_on_worker)
    {
      /* The channel's: it holds it, so it is the current one. */
      call->worker = _qmp_worker_ref ();
      g_assert (call->worker == self->worker);
    }

  g_mutex_lock (&self->lock);

  /* Whatever the state of the channel or the speed of the peer: a call
   * made with a cancelled cancellable sends nothing and fails. */
  if (g_cancellable_is_cancelled (cancellable))
    {
      call_complete_locked (self, call, NULL, NULL,
                            g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 _("Operation was cancelled")),
                            done);
      goto out;
    }

  if (self->closed)
    {
      call_complete_locked (self, call, NULL, NULL, g_error_copy (self->close_error), done);
      goto out;
    }

  if (call->fd_list != NULL && self->fd_socket == NULL)
    {
      call_complete_locked (self, call, NULL, NULL,
                            g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                         _("Cannot send file descriptors with “%s”: the "
                                           "connection is not a Unix domain socket"),
                                         call->command),
                            done);
      goto out;
    }

  if (call->oob && !self->oob_enabled)
    {
      call_complete_locked (self, call, NULL, NULL,
                            g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                         _("Cannot run “%s” out of band: out-of-band execution "
                                           "was not negotiated on this connection"),
                                         call->command),
                            done);
      goto out;
    }

  /* Connected under the lock, so that the completion, which can only come
   * after the call is registered below, always finds them to undo.  An
   * already cancelled cancellable runs the handler at once; it only queues
   * work for the worker. */
  if (cancel_link != NULL)
    {
      AbandonData *abandon = abandon_data_new (self, call, 0);

      if (_qmp_cancel_link_begin (cancel_link, cancellable, on_call_cancelled_kept,
                                  abandon, abandon_data_free))
        {
          call->cancel_link = cancel_link;
          call->cancel_link_data = abandon;
          /* Cancelled after the check above but before the call was the
           * link's: the handler found nothing to cancel. */
          if (g_cancellable_is_cancelled (cancellable))
            on_call_cancelled (cancellable, abandon);
        }
      else
        {
          abandon_data_free (abandon);
          cancel_link = NULL;
        }
    }
  if (cancel_link == NULL && cancellable != NULL)
    {
      call->cancellable = g_object_ref (cancellable);
      call->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_call_cancelled),
                                                  abandon_data_new (self, call, 0),
                                                  abandon_data_free);
    }
  if (timeout_msec > 0)
    call->timeout_source = timeout_source_attach_locked (self, call, timeout_msec);

  /* A call that waits for input elsewhere than where the events go (a
   * _sync call, maybe in the very thread that must emit them) must get it
   * however slow the event consumer: reading goes on, and events beyond
   * the consumer's bound are dropped (and counted by it). */
  if (!call->in_event_context)
    {
      call->urgent = TRUE;
      self->n_urgent++;
      if (self->read_paused)
        channel_resume_locked (self);
    }

  /* The caller becomes the reader before its command goes out, so that
   * the reply never wakes the worker; or once the worker is done with what
   * it reads now. */
  if (wakeup_fd >= 0)
    {
      gboolean reading = channel_take_reading_locked (self, call);

      if (reading || channel_want_reading_locked (self, call))
        {
          g_mutex_lock (&call->wait_lock);
          call->wakeup_fd = wakeup_fd;
          call->reader = g_thread_self ();
          call->reading = reading;
          g_mutex_unlock (&call->wait_lock);
        }
    }

  /* The filter is armed before anything is written, so an event that
   * comes before the command's return counts, and one that came before the
   * call never does. */
  if (call->kind == QMP_CALL_UNTIL_EVENT || call->kind == QMP_CALL_WAIT_EVENT)
    {
      g_queue_push_tail (&self->watchers, _qmp_call_ref (call));
      call->watch_link = self->watchers.tail;
    }

  switch (call->kind)
    {
    case QMP_CALL_COMMAND:
    case QMP_CALL_UNTIL_EVENT:
      /* The id comes with the line (call_append_line_locked()). */
      call->no_reply = self->guest_agent && is_guest_agent_no_reply (call->command);
      if (call->oob || call->unlimited)
        {
          /* exec-oob bypasses QEMU's queue, so it bypasses ours. */
          call_append_line_locked (self, call);
        }
      else
        {
          g_queue_push_tail (&self->queue, _qmp_call_ref (call));
          call->queue_link = self->queue.tail;
        }
      channel_flush_locked (self, done);
      break;

    case QMP_CALL_GREETING:
      g_assert (self->greeting_call == NULL);
      self->greeting_call = _qmp_call_ref (call);
      break;

    case QMP_CALL_WAIT_EVENT:
    default:
      break;
    }

out:
  g_mutex_unlock (&self->lock);

  calls_notify (done);
}

/* -------------------------------------------------------------- reading */

static GError *
protocol_error (const char *format,
                ...) G_GNUC_PRINTF (1, 2);

static GError *
protocol_error (const char *format,
                ...)
{
  GError *error;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (QMP_ERROR, QMP_ERROR_PROTOCOL, format, args);
  va_end (args);

  return error;
}

/* NULL unless "class" and "desc" are both strings. */
static GError *
error_from_reply (JsonNode *error_node)
{
  JsonObject *object = _qmp_json_node_get_object (error_node);
  const char *klass = _qmp_json_object_get_string (object, "class");
  const char *desc = _qmp_json_object_get_string (object, "desc");

  if (klass == NULL || desc == NULL)
    return NULL;

  return g_error_new_literal (QMP_ERROR, _qmp_error_from_class (klass), desc);
}

static void
channel_handle_reply_locked (QmpChannel *self,
                             QmpMessage *message,
                             GPtrArray  *done)
{
  JsonNode *id_node = message->id;
  JsonNode *error_node = message->error;
  gboolean has_error = message->has_error;
  GError *error = NULL;
  QmpCall *call;
  gint64 id;

  if (has_error)
    {
      error = error_node ? error_from_reply (error_node) : NULL;
      if (error == NULL)
        {
          channel_fail_locked (self,
                               protocol_error (_("The server sent an error without a class and a description")),
                               FALSE, done);
          return;
        }
    }

  /* Every command carries an id, so a reply without one answers something
   * this library never sent (QEMU does that only for input it could not
   * parse): which call it belongs to cannot be known, and guessing is
   * worse than stopping. */
  if (!message->has_id)
    {
      GError *protocol;

      if (error != NULL)
        protocol = protocol_error (_("The server sent an error reply without an id: %s"),
                                   error->message);
      else
        protocol = protocol_error (_("The server sent a reply without an id"));
      g_clear_error (&error);
      channel_fail_locked (self, protocol, FALSE, done);
      return;
    }

  if (id_node != NULL &&
      JSON_NODE_HOLDS_VALUE (id_node) && json_node_get_value_type (id_node) == G_TYPE_INT64 &&
      (id = json_node_get_int (id_node)) > 0 && id <= G_MAXUINT)
    call = g_hash_table_lookup (self->pending, GUINT_TO_POINTER ((guint) id));
  else
    call = NULL;

  if (call == NULL)
    {
      g_autofree char *id_string = id_node ? json_to_string (id_node, FALSE) : g_strdup ("(not a number)");

      g_info ("Dropping a reply with the unknown id %s", id_string);
      g_clear_error (&error);
      return;
    }

  g_hash_table_steal (self->pending, GUINT_TO_POINTER (call->id));
  call_left_pending_locked (self, call);

  if (call->completed)
    {
      /* Cancelled or timed out after it was written: the reply is only
       * consumed. */
      g_clear_error (&error);
    }
  else if (error != NULL)
    {
      /* An error return finishes an until-event call at once. */
      call_complete_locked (self, call, NULL, NULL, error, done);
    }
  else if (call->kind == QMP_CALL_UNTIL_EVENT && call->event == NULL)
    {
      call->got_return = TRUE;
      call->ret_json = g_strndup (message->ret_json, message->ret_json_len);
    }
  else
    {
      call->ret_json = g_strndup (message->ret_json, message->ret_json_len);
      call_complete_locked (self, call, NULL, NULL, NULL, done);
    }

  _qmp_call_unref (call);   /* the pending table's reference */
}

static void
channel_handle_event_locked (QmpChannel *self,
                             QmpEvent   *event,
                             GPtrArray  *done)
{
  GList *link = self->watchers.head;
  g_autoptr(JsonObject) scratch = NULL;

  while (link != NULL)
    {
      QmpCall *call = link->data;
      GList *next = link->next;

      /* Matched against a tree of the data made for the matching and
       * freed here, not one kept in @event: @event goes on to wait for
       * the "event" signal, bounded by the size of its text, and its data
       * object is to be made on the handler's thread.  Each caller gets
       * its own copy: json-glib's reference counts are not atomic, so one
       * JsonObject must not go to several threads. */
      if (_qmp_event_matches_transient (event, call->event_name, call->event_match, &scratch))
        {
          if (call->kind == QMP_CALL_WAIT_EVENT || call->got_return)
            {
              call_complete_locked (self, call, NULL, _qmp_event_copy (event), NULL, done);
            }
          else if (call->event == NULL)
            {
              /* The event came first; the call waits for its return. */
              call->event = _qmp_event_copy (event);
              g_queue_delete_link (&self->watchers, link);
              call->watch_link = NULL;
              _qmp_call_unref (call);
            }
        }

      link = next;
    }
}

static void
on_renegotiated (QmpCall  *call,
                 gpointer  user_data)
{
  g_autoptr(GError) error = _qmp_call_steal_error (call);

  /* An error is the common case: "Capabilities negotiation is already
   * complete" when the monitor was reset before it ran the handshake's
   * qmp_capabilities. */
  if (error != NULL)
    g_debug ("qmp_capabilities again: %s", error->message);
}

/* QEMU sent its greeting again, which puts its monitor back in
 * capabilities negotiation mode: a client that connects while QEMU starts
 * can get two (the monitor's I/O thread and the main loop both see the
 * connection open; qemu-storage-daemon and qemu-system alike, under load).
 * Whether the reset came before or after the handshake's qmp_capabilities
 * ran cannot be told from the order of the lines, so the capabilities are
 * negotiated once more, ahead of every command not yet written: an error
 * ("already complete") means the monitor was in command mode, and is
 * harmless.  At most one is unanswered at a time, so that a peer repeating
 * greetings without reading cannot grow what waits to be written. */
static void
channel_renegotiate_locked (QmpChannel *self,
                            GPtrArray  *done)
{
  QmpCall *call;

  if (self->renegotiation != NULL && !self->renegotiation->completed)
    {
      self->renegotiate_again = TRUE;
      return;
    }
  self->renegotiate_again = FALSE;
  g_clear_pointer (&self->renegotiation, _qmp_call_unref);

  call = _qmp_call_new_capabilities (self->oob_enabled);
  _qmp_call_set_done_func (call, on_renegotiated, NULL);
  _qmp_call_set_unlimited (call);
  call->submitted = TRUE;
  /* Unlimited: ahead of the queue, whatever is in flight */
  call_append_line_locked (self, call);
  self->renegotiation = call;
  channel_flush_locked (self, done);
}

static void
channel_handle_greeting_locked (QmpChannel *self,
                                JsonNode   *greeting,
                                GPtrArray  *done)
{
  if (self->greeting_call != NULL)
    call_complete_locked (self, self->greeting_call, json_node_ref (greeting), NULL, NULL, done);
}

/* Handles one line (without its line end).  Returns the event to emit, if
 * the line was one.  @debug: whether the debug log shows it.  Sets
 * @closed when the channel is closed after it (by this line, or before):
 * then nothing more that the server sent is read. */
static QmpEvent *
channel_handle_line (QmpChannel *self,
                     const char *line,
                     gsize       len,
                     guint64     max_message_size,
                     gboolean    debug,
                     gboolean   *closed,
                     GPtrArray  *done)
{
  g_autoptr(GError) error = NULL;
  g_auto(QmpMessage) message = { 0, };
  gboolean not_an_object;
  gboolean want_greeting;
  QmpEvent *event = NULL;

  *closed = FALSE;

  /* qemu-ga sends 0xFF before its reply to guest-sync-delimited, whoever
   * ran it and whenever: what came before it on the line is the remains
   * of an earlier exchange (0xFF is never part of UTF-8 text). */
  if (self->guest_agent)
    {
      for (gsize i = len; i > 0; i--)
        if ((guchar) line[i - 1] == 0xFF)
          {
            line += i;
            len -= i;
            break;
          }
    }

  /* Blank lines carry nothing; QEMU never sends them, but they harm no one. */
  while (len > 0 && g_ascii_isspace (line[len - 1]))
    len--;
  if (len == 0)
    return NULL;

  if (G_UNLIKELY (debug))
    {
      g_autofree char *text = _qmp_json_line_for_log (line, len, self->scratch, max_message_size);

      g_debug ("← %s", text);
    }

  g_mutex_lock (&self->lock);
  want_greeting = self->expect_greeting;
  g_mutex_unlock (&self->lock);

  if (!_qmp_json_parse_message (line, len, self->scratch, want_greeting, max_message_size,
                                &message, &not_an_object, &error))
    {
      GError *protocol;

      if (g_error_matches (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE))
        protocol = g_steal_pointer (&error);
      else if (not_an_object)
        protocol = protocol_error (_("The server sent a line that is not a JSON object"));
      else
        protocol = protocol_error (_("The server sent a line that is not JSON: %s"), error->message);

      g_mutex_lock (&self->lock);
      channel_fail_locked (self, protocol, FALSE, done);
      g_mutex_unlock (&self->lock);
      *closed = TRUE;
      return NULL;
    }

  /* Build the event outside the lock: it is the costly part. */
  if (message.has_event)
    {
      event = _qmp_event_new_from_message (&message);
      if (event == NULL)
        {
          g_mutex_lock (&self->lock);
          channel_fail_locked (self, protocol_error (_("The server sent a malformed event")),
                               FALSE, done);
          g_mutex_unlock (&self->lock);
          *closed = TRUE;
          return NULL;
        }
    }

  g_mutex_lock (&self->lock);

  if (self->closed)
    {
      g_clear_pointer (&event, qmp_event_unref);
    }
  else if (self->expect_greeting && event != NULL)
    {
      /* QEMU 7.2 can send an event (RESUME, when a client connects while
       * the machine starts) before its greeting: nobody can be listening
       * yet, so it is dropped, and the greeting is still expected. */
      g_debug ("Dropping the event %s that came before the greeting", qmp_event_get_name (event));
      g_clear_pointer (&event, qmp_event_unref);
    }
  else if (self->expect_greeting)
    {
      self->expect_greeting = FALSE;
      if (message.greeting != NULL && JSON_NODE_HOLDS_OBJECT (message.greeting))
        channel_handle_greeting_locked (self, message.greeting, done);
      else
        channel_fail_locked (self, protocol_error (_("The server did not start with a QMP greeting")),
                             FALSE, done);
    }
  else if (event != NULL)
    {
      channel_handle_event_locked (self, event, done);
    }
  else if (message.ret_json != NULL || message.has_error)
    {
      channel_handle_reply_locked (self, &message, done);
      if (self->renegotiate_again && self->renegotiation->completed && !self->closed)
        channel_renegotiate_locked (self, done);
    }
  else if (message.has_greeting && !self->guest_agent)
    {
      g_debug ("The server sent its greeting again: negotiating the capabilities again");
      if (self->negotiated)
        channel_renegotiate_locked (self, done);
      else
        self->monitor_reset = TRUE;
    }
  else
    {
      channel_fail_locked (self,
                           protocol_error (_("The server sent a message that is neither a reply nor an event")),
                           FALSE, done);
    }

  *closed = self->closed;
  g_mutex_unlock (&self->lock);

  return event;
}

/* Whether a call waits for something to read that must not wait behind
 * the events: then reading cannot pause. */
static gboolean
channel_awaits_input_locked (QmpChannel *self)
{
  return self->n_urgent > 0;
}

/* Hands @event (owned) to the owner; returns TRUE if reading must pause
 * now. */
static gboolean
channel_deliver_event (QmpChannel *self,
                       QmpEvent   *event)
{
  g_autoptr(GObject) owner = g_weak_ref_get (&self->owner);
  gboolean pause = FALSE;
  guint n_resumes;

  if (owner == NULL || self->event_func == NULL)
    {
      qmp_event_unref (event);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  n_resumes = self->n_resumes;
  g_mutex_unlock (&self->lock);

  if (!self->event_func (owner, event))
    return FALSE;

  /* Not if the consumer caught up meanwhile: its resume came before the
   * pause, and would be lost. */
  g_mutex_lock (&self->lock);
  if (!self->closed && !channel_awaits_input_locked (self) && self->n_resumes == n_resumes)
    pause = self->read_paused = TRUE;
  g_mutex_unlock (&self->lock);

  return pause;
}

/* Handles every complete line in the read buffer; keeps the partial one.
 * Returns FALSE when reading must stop: the channel closed, or the event
 * consumer is full (then the lines not handled yet stay in the buffer). */
static gboolean
channel_process_buffer (QmpChannel *self,
                        guint64     max_message_size,
                        GPtrArray  *done)
{
  gboolean debug = _qmp_debug_enabled_since (self->debug_at_start);
  gsize start = 0;
  char *nl;

  while ((nl = memchr (self->rbuf + self->rbuf_scanned, '\n',
                       self->rbuf_len - self->rbuf_scanned)) != NULL)
    {
      gsize len = nl - (self->rbuf + start);
      gsize content = (len > 0 && nl[-1] == '\r') ? len - 1 : len;
      QmpEvent *event;
      gboolean closed;
      gboolean pause = FALSE;

      if (content > max_message_size)
        goto too_large;

      event = channel_handle_line (self, self->rbuf + start, len, max_message_size, debug,
                                   &closed, done);

      start = nl + 1 - self->rbuf;
      self->rbuf_scanned = start;

      /* Handed on line by line, in the server's order: an event that came
       * before a reply is queued for its context before the reply's
       * callback is, so where both go to one context, the event's signal
       * comes first (QEMU sends STOP before the return of "stop"). */
      if (event != NULL)
        {
          pause = channel_deliver_event (self, g_steal_pointer (&event));
        }
      calls_notify (done);

      if (closed)
        return FALSE;

      /* The consumer is full: what is left stays here, and in the socket,
       * until it catches up. */
      if (pause)
        {
          memmove (self->rbuf, self->rbuf + start, self->rbuf_len - start);
          self->rbuf_len -= start;
          self->rbuf_scanned = 0;
          return FALSE;
        }
    }

  self->rbuf_scanned = self->rbuf_len;

  if (start > 0)
    {
      memmove (self->rbuf, self->rbuf + start, self->rbuf_len - start);
      self->rbuf_len -= start;
      self->rbuf_scanned -= start;
    }

  if (self->rbuf_len > max_message_size + 1)
    goto too_large;

  return TRUE;

too_large:
  g_mutex_lock (&self->lock);
  channel_fail_locked (self,
                       g_error_new (QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE,
                                    _("The server sent a message longer than the limit of %llu bytes"),
                                    (unsigned long long) max_message_size),
                       FALSE, done);
  g_mutex_unlock (&self->lock);
  return FALSE;
}

/* After guest-sync-delimited, qemu-ga sends 0xFF before its reply: what
 * came before it is the remains of an earlier exchange. */
static void
channel_discard_until_delimiter (QmpChannel *self)
{
  char *delimiter = memchr (self->rbuf, 0xFF, self->rbuf_len);

  if (delimiter == NULL)
    {
      self->rbuf_len = 0;
    }
  else
    {
      gsize skip = delimiter + 1 - self->rbuf;

      memmove (self->rbuf, delimiter + 1, self->rbuf_len - skip);
      self->rbuf_len -= skip;
      self->discard_until_delimiter = FALSE;
    }
  self->rbuf_scanned = 0;
}

static gboolean
channel_grow_buffer (QmpChannel *self,
                     guint64     max_message_size)
{
  /* The largest buffer ever needed holds a line of max_message_size bytes
   * and its "\r\n"; a full buffer of that size without a '\n' is a line
   * that is too long. */
  guint64 limit = max_message_size + 2;
  guint64 new_cap;

  if (self->rbuf_cap >= limit)
    return FALSE;

  new_cap = MIN ((guint64) self->rbuf_cap * 2, limit);
  self->rbuf = g_realloc (self->rbuf, new_cap);
  self->rbuf_cap = new_cap;

  return TRUE;
}

/* ------------------------------------------------------ reading batches
 *
 * While a thread reads (channel_read_input()), the contexts that the
 * lines have work for, such as the emission of events and the results of
 * _async calls, are woken when the batch is over, not at each line.  The
 * scheduler runs a thread it wakes at once on the reader's CPU: that
 * thread took each line as it came and slept again, two thread switches a
 * line (on one CPU, 330,000 pipelined calls preempted the worker 97,000
 * times in 51,000 reads).  What one read brought goes out once it is
 * handled, so that a flood
 * keeps both threads busy; the last read's, after the commands its
 * replies made room for are written, so that the server has them while
 * the woken thread runs. */

typedef struct
{
  guint depth;
  GPtrArray *held;          /* GMainContext: to wake when it is over */
} ReadingBatch;

static void
reading_batch_free (gpointer data)
{
  ReadingBatch *batch = data;

  g_assert (batch->held->len == 0);
  g_ptr_array_unref (batch->held);
  g_free (batch);
}

static GPrivate reading_batch = G_PRIVATE_INIT (reading_batch_free);

static void
reading_batch_begin (void)
{
  ReadingBatch *batch = g_private_get (&reading_batch);

  if (batch == NULL)
    {
      batch = g_new0 (ReadingBatch, 1);
      batch->held = g_ptr_array_new ();
      g_private_set (&reading_batch, batch);
    }
  batch->depth++;
}

/* Attaches what the outermost batch of the thread holds so far. */
static void
reading_batch_flush (void)
{
  ReadingBatch *batch = g_private_get (&reading_batch);

  g_assert (batch != NULL && batch->depth > 0);
  if (batch->depth > 1)
    return;

  for (guint i = 0; i < batch->held->len; i++)
    {
      GMainContext *context = g_ptr_array_index (batch->held, i);

      g_main_context_wakeup (context);
      g_main_context_unref (context);
    }
  g_ptr_array_set_size (batch->held, 0);
}

static void
reading_batch_end (void)
{
  ReadingBatch *batch = g_private_get (&reading_batch);

  reading_batch_flush ();
  batch->depth--;
}

/* Wakes @context, when the calling thread's reading batch is over if it
 * reads (see above), else now. */
void
_qmp_channel_wakeup_after_reading (GMainContext *context)
{
  ReadingBatch *batch = g_private_get (&reading_batch);

  if (batch == NULL || batch->depth == 0)
    {
      g_main_context_wakeup (context);
      return;
    }

  /* Most batches are for one context. */
  if (batch->held->len > 0 && g_ptr_array_index (batch->held, batch->held->len - 1) == context)
    return;
  g_ptr_array_add (batch->held, g_main_context_ref (context));
}

/* Reads what the socket has and handles every complete line, as the
 * reader (the worker, or a _sync caller).  Returns FALSE when reading must
 * stop: the channel closed, or the event consumer is full.
 *
 * A caller (@hand_over not %NULL) stops at a line longer than
 * READ_BUFFER_KEEP, with *@hand_over set: the worker reads it.  Such a
 * line costs milliseconds to handle, next to which the thread hand-off the
 * caller saves is nothing; and its buffer, its copy and its tree would
 * otherwise all be allocated in the caller's malloc arena, which the
 * caller fills with the small blocks of the trees it frees: glibc then
 * consolidates them at each of those large allocations (a 210 KB reply
 * took 15% longer so). */
static gboolean
channel_read_input (QmpChannel *self,
                    gboolean   *hand_over)
{
  g_autoptr(GPtrArray) done = calls_done_new ();
  guint n_reads = 0;
  gboolean keep_going = TRUE;
  guint64 max_message_size;

  reading_batch_begin ();

  g_mutex_lock (&self->lock);
  max_message_size = self->max_message_size;
  if (self->closed || self->read_paused)
    keep_going = FALSE;
  g_mutex_unlock (&self->lock);

  /* Lines left when reading paused come first. */
  if (keep_going && self->rbuf_len > 0 && memchr (self->rbuf, '\n', self->rbuf_len) != NULL)
    keep_going = channel_process_buffer (self, max_message_size, done);

  while (keep_going)
    {
      g_autoptr(GError) error = NULL;
      gboolean drained;
      gsize want;
      gssize n;

      if (self->rbuf_len == self->rbuf_cap)
        {
          if (hand_over != NULL && self->rbuf_cap >= READ_BUFFER_KEEP &&
              max_message_size + 2 > self->rbuf_cap)
            {
              *hand_over = TRUE;
              break;
            }
          if (!channel_grow_buffer (self, max_message_size))
            {
              /* Full, no '\n', at the limit: too long. */
              keep_going = channel_process_buffer (self, 0, done);
              break;
            }
        }

      /* A short read means the socket is drained: no second read just to
       * be told EAGAIN. */
      want = self->rbuf_cap - self->rbuf_len;
      n = channel_receive (self, self->rbuf + self->rbuf_len, want, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;

          /* A reset is how QEMU often goes away (quit with replies in
           * flight): say so in the words of a plain end of stream. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
            {
              g_clear_error (&error);
              error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                           _("The server closed the connection"));
            }

          g_mutex_lock (&self->lock);
          channel_fail_locked (self, g_steal_pointer (&error), TRUE, done);
          g_mutex_unlock (&self->lock);
          keep_going = FALSE;
          break;
        }

      if (n == 0)
        {
          GError *eof;

          if (self->rbuf_len > 0)
            eof = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                       _("The server closed the connection in the middle of a message"));
          else
            eof = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                       _("The server closed the connection"));

          g_mutex_lock (&self->lock);
          channel_fail_locked (self, eof, TRUE, done);
          g_mutex_unlock (&self->lock);
          keep_going = FALSE;
          break;
        }

      self->rbuf_len += n;
      drained = (gsize) n < want;

      if (G_UNLIKELY (self->discard_until_delimiter))
        channel_discard_until_delimiter (self);

      /* A read that filled the buffer says more is waiting: read it in
       * bigger gulps (up to READ_BUFFER_KEEP) to make fewer system calls. */
      if (self->rbuf_len == self->rbuf_cap && self->rbuf_cap < READ_BUFFER_KEEP)
        channel_grow_buffer (self, MAX (max_message_size, READ_BUFFER_KEEP));

      if (!channel_process_buffer (self, max_message_size, done))
        {
          keep_going = FALSE;
          break;
        }

      /* A server that keeps the socket full does not keep the worker from
       * the other connections: back to the main loop now and then. */
      if (drained || ++n_reads >= 16)
        break;
      reading_batch_flush ();
    }

  /* The replies freed in-flight slots: write what waited for them, once
   * for the whole batch. */
  g_mutex_lock (&self->lock);
  if (!self->closed)
    channel_flush_locked (self, done);
  g_mutex_unlock (&self->lock);

  calls_notify (done);
  reading_batch_end ();

  if (keep_going && self->rbuf_len == 0 && self->rbuf_cap > READ_BUFFER_KEEP)
    {
      self->rbuf = g_realloc (self->rbuf, READ_BUFFER_KEEP);
      self->rbuf_cap = READ_BUFFER_KEEP;
    }

  /* Likewise the parser's buffer, after a long string with escapes. */
  if (self->scratch->allocated_len > READ_BUFFER_KEEP)
    {
      g_string_free (self->scratch, TRUE);
      self->scratch = g_string_new (NULL);
    }

  return keep_going;
}

/* The worker reads, with the channel's lock held around (not during)
 * the reading. */
static gboolean
channel_worker_read_locked (QmpChannel *self)
{
  gboolean keep_going;

  self->worker_reading = TRUE;
  g_mutex_unlock (&self->lock);

  keep_going = channel_read_input (self, NULL);

  g_mutex_lock (&self->lock);
  self->worker_reading = FALSE;

  return keep_going;
}

/* The worker's input source fired. */
static gboolean
on_input_ready (GObject  *stream,
                gpointer  user_data)
{
  QmpChannel *self = user_data;
  gboolean keep_going;

  g_mutex_lock (&self->lock);
  /* A source replaced or destroyed while its dispatch was on the way. */
  if (g_main_current_source () != self->input_source)
    {
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  /* A _sync caller reads (it took the socket out of the epoll set just
   * after the set said it was readable, or the peer hung up, which the
   * set reports whatever it watches for): the buffer is the caller's, and
   * the worker waits no more until the caller is done. */
  if (self->caller_reading)
    {
      g_clear_pointer (&self->input_source, g_source_unref);
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  keep_going = channel_worker_read_locked (self);
  if (!keep_going)
    g_clear_pointer (&self->input_source, g_source_unref);
  /* (This may replace the source: returning CONTINUE for a destroyed
   * source is harmless.) */
  channel_grant_reading_locked (self);
  g_mutex_unlock (&self->lock);

  return keep_going ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_socket_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  return on_input_ready (NULL, user_data);
}

static gboolean
on_epoll_ready (int           fd,
                GIOCondition  condition,
                gpointer      user_data)
{
  return on_input_ready (NULL, user_data);
}

/* ------------------------------------------------- a caller that reads */

static void
wakeup_fd_close (gpointer data)
{
  close (GPOINTER_TO_INT (data) - 1);
}

/* The calling thread's wakeup descriptor (an eventfd, stored + 1), made
 * on first use and closed when the thread ends: one per thread that ever
 * read for itself, however many connections it talks to. */
static GPrivate thread_wakeup_fd = G_PRIVATE_INIT (wakeup_fd_close);

static int
thread_get_wakeup_fd (void)
{
  int fd = GPOINTER_TO_INT (g_private_get (&thread_wakeup_fd)) - 1;

  if (fd < 0)
    {
      fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (fd >= 0)
        g_private_set (&thread_wakeup_fd, GINT_TO_POINTER (fd + 1));
    }

  return fd;
}

/* Puts the socket in the worker's epoll set.  FALSE when it cannot (out
 * of memory, or past fs.epoll.max_user_watches): then the set is given up,
 * and the worker watches the socket itself from now on, as before any
 * caller read. */
static gboolean
channel_epoll_add_socket_locked (QmpChannel *self)
{
  struct epoll_event event = { .events = EPOLLIN };
  int op = self->socket_in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

  if (self->socket_in_epoll && self->socket_armed)
    return TRUE;

  if (epoll_ctl (self->read_epoll_fd, op, g_socket_get_fd (self->socket), &event) == 0)
    {
      self->socket_in_epoll = TRUE;
      self->socket_armed = TRUE;
      return TRUE;
    }

  g_debug ("Callers no longer read for themselves: epoll_ctl: %s", g_strerror (errno));
  close (self->read_epoll_fd);
  self->read_epoll_fd = -1;
  self->socket_in_epoll = FALSE;
  self->read_socket_failed = TRUE;

  return FALSE;
}

/* The socket stays in the set, watched for nothing: a modification, not a
 * removal, which would free its entry through RCU on every call.  (A
 * hang-up is reported all the same: see on_input_ready().) */
static void
channel_epoll_remove_socket_locked (QmpChannel *self)
{
  struct epoll_event event = { .events = 0 };

  if (!self->socket_in_epoll || !self->socket_armed)
    return;

  epoll_ctl (self->read_epoll_fd, EPOLL_CTL_MOD, g_socket_get_fd (self->socket), &event);
  self->socket_armed = FALSE;
}

/* The worker's input source, destroyed from whichever thread. */
static void
channel_unwatch_input_locked (QmpChannel *self)
{
  if (self->input_source != NULL)
    {
      g_source_destroy (self->input_source);
      g_clear_pointer (&self->input_source, g_source_unref);
    }
}

/* The first time a caller reads, the worker moves from the socket to an
 * epoll set that holds it (waking the worker once): from then on, taking
 * the socket out and putting it back costs the worker nothing.  FALSE if
 * that cannot be done (out of descriptors): the worker reads, always. */
static gboolean
channel_use_epoll_locked (QmpChannel *self)
{
  if (self->read_epoll_fd >= 0)
    return TRUE;
  if (self->read_socket_failed)
    return FALSE;

  self->read_epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->read_epoll_fd < 0)
    {
      self->read_socket_failed = TRUE;
      return FALSE;
    }

  channel_unwatch_input_locked (self);
  channel_watch_input_locked (self);

  return self->read_epoll_fd >= 0;
}

/* Whether the calling thread, waiting for @call, may read in the worker's
 * place: only when the worker is idle, waiting for input (so the buffer
 * holds no line it has not handled), on a plain socket.  If so, the socket
 * leaves the worker's epoll set and the caller is the reader.  Runs with
 * the channel locked. */
static gboolean
channel_take_reading_locked (QmpChannel *self,
                             QmpCall    *call)
{
  if (self->socket == NULL || self->read_socket_failed || self->closed || self->read_paused ||
      self->input_source == NULL || self->worker_reading || self->caller_reading ||
      self->reader_wanted != NULL || self->write_error != NULL || call->completed)
    return FALSE;

  if (!channel_use_epoll_locked (self))
    return FALSE;

  channel_epoll_remove_socket_locked (self);
  self->caller_reading = TRUE;
  self->reading_call = call;

  return TRUE;
}

/* The worker reads now (it may be finishing with the line before this
 * call's): the caller asks to read after it, unless another already did.
 * Runs with the channel locked. */
static gboolean
channel_want_reading_locked (QmpChannel *self,
                             QmpCall    *call)
{
  if (self->socket == NULL || self->read_socket_failed || self->closed || self->read_paused ||
      !self->worker_reading || self->caller_reading || self->reader_wanted != NULL ||
      call->completed)
    return FALSE;

  self->reader_wanted = _qmp_call_ref (call);

  return TRUE;
}

/* On the worker, done reading: the caller that asked reads now, if the
 * channel still lets it (else it waits for its call as usual).  Runs with
 * the channel locked. */
static void
channel_grant_reading_locked (QmpChannel *self)
{
  g_autoptr(QmpCall) call = g_steal_pointer (&self->reader_wanted);

  if (call == NULL || call->completed || self->closed || self->read_paused ||
      self->input_source == NULL || self->worker_reading || self->caller_reading ||
      self->write_error != NULL || !channel_use_epoll_locked (self))
    return;

  channel_epoll_remove_socket_locked (self);
  self->caller_reading = TRUE;
  self->reading_call = call;

  /* The caller polls its wakeup descriptor until it knows: it takes
   * itself off reader_wanted, under the lock held here, before it lets go
   * of the descriptor. */
  g_mutex_lock (&call->wait_lock);
  call->reading = TRUE;
  while (eventfd_write (call->wakeup_fd, 1) < 0 && errno == EINTR)
    ;
  g_mutex_unlock (&call->wait_lock);
}

static gboolean channel_read_on_worker (gpointer user_data);

/* The caller is done reading: the worker reads again.  Lines the caller
 * left in the buffer (reading paused, then resumed) go to the worker
 * first; a close that waited for the caller goes on. */
static void
channel_release_reading (QmpChannel *self)
{
  gboolean left = self->rbuf_len > 0 && memchr (self->rbuf, '\n', self->rbuf_len) != NULL;

  g_mutex_lock (&self->lock);
  self->caller_reading = FALSE;
  if (self->closed)
    {
      /* The shutdown stops the worker's reading. */
    }
  else if (self->read_paused || left)
    {
      /* As when the worker pauses: nobody watches the socket until the
       * consumer catches up (channel_read_on_worker()). */
      channel_unwatch_input_locked (self);
      if (!self->read_paused)
        {
          _qmp_worker_idle_add (self->worker, G_PRIORITY_HIGH, "[qmp-glib] read what the caller left",
                                channel_read_on_worker, _qmp_channel_ref (self),
                                (GDestroyNotify) _qmp_channel_unref);
        }
    }
  else if (self->input_source == NULL)
    {
      channel_watch_input_locked (self);
    }
  else if (!channel_epoll_add_socket_locked (self))
    {
      channel_unwatch_input_locked (self);
      channel_watch_input_locked (self);
    }
  /* Else the worker wakes when there is something to read. */

  /* A write failed while this caller read, too late for it to act: the
   * worker does. */
  if (!self->closed && g_atomic_int_get (&self->write_failed))
    {
      channel_schedule_write_failed (self);
    }
  if (self->deferred_shutdown != NULL)
    channel_schedule_shutdown_locked (self, g_steal_pointer (&self->deferred_shutdown));
  g_mutex_unlock (&self->lock);
}

/* The calling thread's wakeup descriptor if it may read for itself on
 * this channel, else -1.  Not from inside a main context's dispatch:
 * there GTask would run an _async callback of that context at once,
 * inside the _sync call. */
static int
channel_self_read_wakeup_fd (QmpChannel *self)
{
  if (self->socket == NULL || g_main_current_source () != NULL)
    return -1;

  return thread_get_wakeup_fd ();
}

/* @call's caller no longer reads; returns whether it did.  Runs with the
 * channel locked. */
static gboolean
channel_call_stop_reading_locked (QmpChannel *self,
                                  QmpCall    *call)
{
  gboolean reading;

  if (self->reading_call == call)
    self->reading_call = NULL;
  g_mutex_lock (&call->wait_lock);
  reading = call->reading;
  call->reading = FALSE;
  g_mutex_unlock (&call->wait_lock);

  return reading;
}

/* The caller of @call stops reading before its call is done, leaving a
 * long line to the worker (see channel_read_input()); it waits for its
 * call as any other caller. */
static void
channel_hand_over_reading (QmpChannel *self,
                           QmpCall    *call)
{
  g_mutex_lock (&self->lock);
  channel_call_stop_reading_locked (self, call);
  g_mutex_unlock (&self->lock);

  channel_release_reading (self);
}

/* Reads, in the calling thread, until @call is done, if the caller took
 * the reading when it submitted the call (see
 * channel_take_reading_locked()), or once the worker hands it over (see
 * channel_want_reading_locked()).  Whoever finishes the call from another
 * thread (its cancellation or timeout on the worker, a close) wakes the
 * poll.  The lines are handled exactly as on the worker: every call's
 * reply and every event go where the worker would send them. */
static void
channel_read_for_call (QmpChannel *self,
                       QmpCall    *call)
{
  GPollFD fds[2];
  gboolean keep_going = TRUE;
  gboolean hand_over = FALSE;
  gboolean reading;

  /* Only this thread sets it, in _qmp_channel_submit(). */
  if (call->wakeup_fd < 0)
    return;

  fds[0].fd = call->wakeup_fd;
  fds[0].events = G_IO_IN;
  fds[1].fd = g_socket_get_fd (self->socket);
  fds[1].events = G_IO_IN | G_IO_HUP | G_IO_ERR;

  /* The reply may be there already (the peer ran while this thread was
   * writing, on the same CPU): then no poll.  But with the peer on
   * another CPU it never is, and the read is a system call for nothing:
   * after a few misses in a row, it is tried only once in a while. */
  g_mutex_lock (&call->wait_lock);
  reading = call->reading && !call->notified;
  g_mutex_unlock (&call->wait_lock);
  if (reading && (self->early_misses < 4 || ++self->early_skips % 32 == 0))
    {
      keep_going = channel_read_input (self, &hand_over);

      g_mutex_lock (&call->wait_lock);
      if (call->notified)
        self->early_misses = 0;
      else if (self->early_misses < 4)
        self->early_misses++;
      g_mutex_unlock (&call->wait_lock);
      if (hand_over)
        channel_hand_over_reading (self, call);
    }

  g_mutex_lock (&call->wait_lock);
  while (!call->notified && keep_going)
    {
      reading = call->reading;
      g_mutex_unlock (&call->wait_lock);

      fds[0].revents = fds[1].revents = 0;
      if (g_poll (fds, reading ? 2 : 1, -1) < 0 && errno != EINTR)
        {
          /* Cannot happen with valid descriptors: leave the reading to
           * the worker rather than spin. */
          g_critical ("poll() failed while reading: %s", g_strerror (errno));
          keep_going = FALSE;
        }
      else
        {
          if (fds[0].revents != 0)
            {
              eventfd_t value;

              eventfd_read (fds[0].fd, &value);
            }
          /* After a failed write (see on_write_failed()): what the
           * socket holds now, then the channel fails. */
          if (reading && (fds[1].revents != 0 || g_atomic_int_get (&self->write_failed)))
            {
              gboolean write_failed = g_atomic_int_get (&self->write_failed);

              keep_going = channel_read_input (self, &hand_over);
              if (hand_over)
                channel_hand_over_reading (self, call);
              else if (keep_going && write_failed)
                keep_going = channel_fail_after_write (self);
            }
        }

      g_mutex_lock (&call->wait_lock);
    }
  g_mutex_unlock (&call->wait_lock);

  /* Off the list of those who want to read, before the descriptor is
   * given up: after this, the worker hands this caller nothing. */
  g_mutex_lock (&self->lock);
  if (self->reader_wanted == call)
    g_clear_pointer (&self->reader_wanted, _qmp_call_unref);
  reading = channel_call_stop_reading_locked (self, call);
  g_mutex_lock (&call->wait_lock);
  call->wakeup_fd = -1;
  call->reader = NULL;
  g_mutex_unlock (&call->wait_lock);
  g_mutex_unlock (&self->lock);

  /* Reading stopped before the call was done (the channel closed: then it
   * is done; or it paused, which cannot happen while the call waits): the
   * caller waits for the worker as usual. */
  if (reading)
    channel_release_reading (self);
}

/* -------------------------------------------------------------- closing */

/* Closes the channel with @error (owned): every call fails with a copy of
 * it, and so does every call made later.  The I/O stops on the worker. */
static void
channel_fail_locked (QmpChannel *self,
                     GError     *error,
                     gboolean    remote_peer_vanished,
                     GPtrArray  *done)
{
  if (self->closed)
    {
      g_error_free (error);
      return;
    }

  channel_finish_close (self, error, remote_peer_vanished, done, NULL, NULL);
}

typedef struct
{
  QmpChannel *channel;
  gboolean remote_peer_vanished;
  GError *error;            /* what closed the channel */
  QmpChannelCloseDoneFunc done_func;
  gpointer done_data;
} ShutdownData;

static void
shutdown_data_free (gpointer data)
{
  ShutdownData *shutdown = data;

  _qmp_channel_unref (shutdown->channel);
  g_clear_error (&shutdown->error);
  g_free (shutdown);
}

static void
on_tls_closed (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

/* On the worker: stops reading and writing, closes the stream and tells
 * the owner. */
static gboolean
channel_shutdown_on_worker (gpointer user_data)
{
  ShutdownData *shutdown = user_data;
  QmpChannel *self = shutdown->channel;
  g_autoptr(GError) close_error = NULL;
  g_autoptr(GObject) owner = NULL;

  g_mutex_lock (&self->lock);
  /* A caller reads: the stream is closed once it is off the socket (it is
   * woken, since the close finished its call). */
  if (self->caller_reading)
    {
      ShutdownData *later = g_new0 (ShutdownData, 1);

      later->channel = _qmp_channel_ref (self);
      later->remote_peer_vanished = shutdown->remote_peer_vanished;
      later->error = g_steal_pointer (&shutdown->error);
      later->done_func = shutdown->done_func;
      later->done_data = shutdown->done_data;
      g_assert (self->deferred_shutdown == NULL);
      self->deferred_shutdown = later;
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }

  channel_unwatch_input_locked (self);
  if (self->read_epoll_fd >= 0)
    {
      close (self->read_epoll_fd);
      self->read_epoll_fd = -1;
      self->socket_in_epoll = FALSE;
      self->socket_armed = FALSE;
    }

  if (self->output_source != NULL)
    {
      g_source_destroy (self->output_source);
      g_clear_pointer (&self->output_source, g_source_unref);
    }
  g_mutex_unlock (&self->lock);

  if (G_IS_TLS_CONNECTION (self->stream))
    {
      /* Closing TLS writes its close_notify and blocks until the socket
       * takes it: a peer that stopped reading must not hold up the worker,
       * and with it every connection, so that close goes to a thread of
       * GIO's, and what it says is not waited for. */
      g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, on_tls_closed, NULL);
    }
  else
    {
      g_io_stream_close (self->stream, NULL, &close_error);
    }

  owner = g_weak_ref_get (&self->owner);
  if (owner != NULL && self->closed_func != NULL)
    self->closed_func (owner, shutdown->remote_peer_vanished, shutdown->error);

  if (shutdown->done_func != NULL)
    shutdown->done_func (g_steal_pointer (&close_error), shutdown->done_data);

  return G_SOURCE_REMOVE;
}

static void
channel_schedule_shutdown_locked (QmpChannel *self,
                                  gpointer    data)
{
  _qmp_worker_idle_add (self->worker, G_PRIORITY_HIGH, "[qmp-glib] shutdown",
                        channel_shutdown_on_worker, data, shutdown_data_free);
}

static void
channel_finish_close (QmpChannel              *self,
                      GError                  *error,
                      gboolean                 remote_peer_vanished,
                      GPtrArray               *done,
                      QmpChannelCloseDoneFunc  done_func,
                      gpointer                 done_data)
{
  GHashTableIter iter;
  gpointer value;
  ShutdownData *shutdown;

  self->closed = TRUE;
  self->close_error = error;

  while (self->queue.head != NULL)
    call_complete_locked (self, self->queue.head->data, NULL, NULL, g_error_copy (error), done);

  while (self->watchers.head != NULL)
    call_complete_locked (self, self->watchers.head->data, NULL, NULL, g_error_copy (error), done);

  if (self->greeting_call != NULL)
    call_complete_locked (self, self->greeting_call, NULL, NULL, g_error_copy (error), done);

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      QmpCall *call = value;

      if (!call->completed)
        call_complete_locked (self, call, NULL, NULL, g_error_copy (error), done);
      call->fd_barrier = FALSE;
      g_hash_table_iter_remove (&iter);
    }
  self->in_flight = 0;
  self->n_fd_pending = 0;

  {
    QmpCall *call;

    while ((call = g_queue_pop_head (&self->writing)) != NULL)
      {
        call->write_link = NULL;
        if (!call->completed)
          call_complete_locked (self, call, NULL, NULL, g_error_copy (error), done);
        _qmp_call_unref (call);
      }
  }
  g_string_truncate (self->wbuf, 0);
  self->wpos = 0;

  /* The stream is closed on the worker, never under a reader's feet; from
   * a source, never from here, because the lock is held. */
  shutdown = g_new0 (ShutdownData, 1);
  shutdown->channel = _qmp_channel_ref (self);
  shutdown->remote_peer_vanished = remote_peer_vanished;
  shutdown->error = g_error_copy (error);
  shutdown->done_func = done_func;
  shutdown->done_data = done_data;

  channel_schedule_shutdown_locked (self, shutdown);
}

typedef struct
{
  QmpChannel *channel;
  GError *error;
  gboolean remote_peer_vanished;
  QmpChannelCloseDoneFunc done_func;
  gpointer done_data;
} CloseData;

static void
close_data_free (gpointer data)
{
  CloseData *close = data;

  _qmp_channel_unref (close->channel);
  g_clear_error (&close->error);
  g_free (close);
}

static gboolean
channel_close_on_worker (gpointer user_data)
{
  CloseData *close = user_data;
  QmpChannel *self = close->channel;
  g_autoptr(GPtrArray) done = calls_done_new ();
  gboolean was_open;

  g_mutex_lock (&self->lock);
  was_open = !self->closed;
  if (was_open)
    {
      GError *error = close->error
        ? g_steal_pointer (&close->error)
        : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, _("The connection is closed"));

      channel_finish_close (self, error, close->remote_peer_vanished, done,
                            close->done_func, close->done_data);
    }
  g_mutex_unlock (&self->lock);

  calls_notify (done);

  if (!was_open && close->done_func != NULL)
    close->done_func (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                           _("The connection is closed")),
                      close->done_data);

  return G_SOURCE_REMOVE;
}

/* Closes the channel from any thread: with @error (owned; NULL means a
 * local close, G_IO_ERROR_CLOSED).  @done_func runs on the worker once the
 * stream is closed. */
void
_qmp_channel_close (QmpChannel              *self,
                    GError                  *error,
                    gboolean                 remote_peer_vanished,
                    QmpChannelCloseDoneFunc  done_func,
                    gpointer                 user_data)
{
  CloseData *close = g_new0 (CloseData, 1);

  close->channel = _qmp_channel_ref (self);
  close->error = error;
  close->remote_peer_vanished = remote_peer_vanished;
  close->done_func = done_func;
  close->done_data = user_data;

  _qmp_worker_invoke (self->worker, channel_close_on_worker, close, close_data_free);
}

gboolean
_qmp_channel_is_closed (QmpChannel *self)
{
  gboolean closed;

  g_mutex_lock (&self->lock);
  closed = self->closed;
  g_mutex_unlock (&self->lock);

  return closed;
}

/* ---------------------------------------------------------- life cycle */

QmpChannel *
_qmp_channel_new (GIOStream             *stream,
                  gboolean               guest_agent,
                  GObject               *owner,
                  QmpChannelEventFunc    event_func,
                  QmpChannelClosedFunc   closed_func,
                  GError               **error)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  GOutputStream *output = g_io_stream_get_output_stream (stream);
  QmpChannel *self;

  if (!_qmp_worker_check_stream (stream, error))
    return NULL;

  self = g_new0 (QmpChannel, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->worker = _qmp_worker_ref ();
  self->stream = g_object_ref (stream);
  self->input = G_POLLABLE_INPUT_STREAM (input);
  self->output = G_POLLABLE_OUTPUT_STREAM (output);
  /* Descriptors go with sendmsg() on the socket itself, which the
   * connection's output stream writes to without a buffer.  Not through
   * a GTcpWrapperConnection (what GSocketClient makes with TLS on): its
   * streams are another stream's, and its socket carries what that one
   * wrote (TLS records). */
  if (G_IS_SOCKET_CONNECTION (stream) && !G_IS_TCP_WRAPPER_CONNECTION (stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));

      if (g_socket_get_family (socket) == G_SOCKET_FAMILY_UNIX)
        self->fd_socket = g_object_ref (socket);
      self->socket = g_object_ref (socket);
    }
  self->read_epoll_fd = -1;
  g_weak_ref_init (&self->owner, owner);
  self->event_func = event_func;
  self->closed_func = closed_func;

  self->rbuf_cap = READ_BUFFER_MIN;
  self->rbuf = g_malloc (self->rbuf_cap);
  self->scratch = g_string_new (NULL);

  g_mutex_init (&self->lock);
  self->guest_agent = guest_agent;
  self->debug_at_start = _qmp_debug_enabled ();
  self->expect_greeting = !guest_agent;
  self->discard_until_delimiter = guest_agent;
  self->max_message_size = 64 * 1024 * 1024;
  g_queue_init (&self->queue);
  g_queue_init (&self->watchers);
  g_queue_init (&self->writing);
  self->pending = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) _qmp_call_unref);
  self->wbuf = g_string_sized_new (256);

  return self;
}

/* Starts reading.  A greeting call, if one is to wait for the greeting,
 * must be submitted before. */
void
_qmp_channel_start (QmpChannel *self)
{
  g_mutex_lock (&self->lock);
  channel_watch_input_locked (self);
  g_mutex_unlock (&self->lock);
}

/* The worker reads when input comes. */
static void
channel_watch_input_locked (QmpChannel *self)
{
  g_assert (self->input_source == NULL);
  g_assert (!self->caller_reading);

  /* On a socket, its own source: a GPollableSource wraps it in a child
   * source that is blocked and unblocked around every dispatch, which
   * costs wake-ups of the worker for nothing. */
  if (self->read_epoll_fd >= 0 && channel_epoll_add_socket_locked (self))
    {
      self->input_source = g_unix_fd_source_new (self->read_epoll_fd, G_IO_IN);
      g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_epoll_ready),
                             _qmp_channel_ref (self), (GDestroyNotify) _qmp_channel_unref);
    }
  else if (self->socket != NULL)
    {
      self->input_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_socket_ready),
                             _qmp_channel_ref (self), (GDestroyNotify) _qmp_channel_unref);
    }
  else
    {
      self->input_source = g_pollable_input_stream_create_source (self->input, NULL);
      g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_input_ready),
                             _qmp_channel_ref (self), (GDestroyNotify) _qmp_channel_unref);
    }
  g_source_set_static_name (self->input_source, "[qmp-glib] input");
  /* Not blocked around its dispatches: blocking takes its descriptor out
   * of the poll set and puts it back, each time waking the worker. */
  g_source_set_can_recurse (self->input_source, TRUE);
  g_source_attach (self->input_source, _qmp_worker_get_context (self->worker));
}

/* On the worker: reads what the buffer and the socket hold, then watches
 * the socket, unless someone reads already.  After a pause (which it
 * ends), or after a caller that left lines in the buffer. */
static gboolean
channel_read_on_worker (gpointer user_data)
{
  QmpChannel *self = user_data;
  gboolean read;

  g_mutex_lock (&self->lock);
  self->read_paused = FALSE;
  read = !self->closed && self->input_source == NULL &&
         !self->worker_reading && !self->caller_reading;
  /* A caller that reads now watches the socket again when it is done. */
  if (read)
    self->worker_reading = TRUE;
  g_mutex_unlock (&self->lock);

  if (read)
    {
      /* The lines left in the buffer first, then what the socket holds;
       * if that does not pause reading again, the socket is watched
       * again. */
      gboolean keep_going = channel_read_input (self, NULL);

      g_mutex_lock (&self->lock);
      self->worker_reading = FALSE;
      if (keep_going)
        channel_watch_input_locked (self);
      channel_grant_reading_locked (self);
      g_mutex_unlock (&self->lock);
    }

  return G_SOURCE_REMOVE;
}

/* Reading starts again, on the worker. */
static void
channel_resume_locked (QmpChannel *self)
{
  _qmp_worker_idle_add (self->worker, G_PRIORITY_HIGH, "[qmp-glib] resume reading",
                        channel_read_on_worker, _qmp_channel_ref (self),
                        (GDestroyNotify) _qmp_channel_unref);
}

/* The event consumer caught up: reading goes on if it paused.  From any
 * thread. */
void
_qmp_channel_resume_reading (QmpChannel *self)
{
  g_mutex_lock (&self->lock);
  self->n_resumes++;
  if (self->read_paused)
    channel_resume_locked (self);
  g_mutex_unlock (&self->lock);
}

QmpChannel *
_qmp_channel_ref (QmpChannel *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
_qmp_channel_unref (QmpChannel *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->input_source == NULL);
  g_assert (self->output_source == NULL);
  g_assert (self->queue.length == 0);
  g_assert (self->watchers.length == 0);
  g_assert (self->writing.length == 0);
  g_assert (self->greeting_call == NULL);
  g_assert (self->deferred_shutdown == NULL);
  g_assert (self->reader_wanted == NULL);

  g_hash_table_unref (self->pending);
  g_clear_pointer (&self->renegotiation, _qmp_call_unref);
  g_string_free (self->wbuf, TRUE);
  g_clear_error (&self->close_error);
  g_mutex_clear (&self->lock);
  g_string_free (self->scratch, TRUE);
  g_free (self->rbuf);
  g_weak_ref_clear (&self->owner);
  g_object_unref (self->stream);
  g_clear_object (&self->fd_socket);
  g_clear_object (&self->socket);
  if (self->read_epoll_fd >= 0)
    close (self->read_epoll_fd);
  g_clear_error (&self->write_error);
  _qmp_worker_unref (self->worker);
  g_free (self);
}

/* The handshake's qmp_capabilities succeeded (with out-of-band execution
 * or not).  A greeting that came again before it was answered may have
 * reset the monitor after it ran: the capabilities are negotiated once
 * more, before any command of the connection's user can be written. */
void
_qmp_channel_set_negotiated (QmpChannel *self,
                             gboolean    oob_enabled)
{
  g_autoptr(GPtrArray) done = calls_done_new ();

  g_mutex_lock (&self->lock);
  self->oob_enabled = !!oob_enabled;
  self->negotiated = TRUE;
  if (self->monitor_reset && !self->closed)
    channel_renegotiate_locked (self, done);
  self->monitor_reset = FALSE;
  g_mutex_unlock (&self->lock);

  calls_notify (done);
}

void
_qmp_channel_set_max_message_size (QmpChannel *self,
                                   guint64     max_message_size)
{
  g_mutex_lock (&self->lock);
  self->max_message_size = max_message_size;
  g_mutex_unlock (&self->lock);
}
