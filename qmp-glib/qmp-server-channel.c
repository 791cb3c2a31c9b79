/* qmp-server-channel.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <errno.h>

#include <unistd.h>

#include <gio/gunixfdmessage.h>
#include <glib/gi18n-lib.h>

#include "qmp-json-private.h"
#include "qmp-server-channel-private.h"
#include "qmp-worker-private.h"

/* As in the client's channel: small while idle, grown for long lines,
 * shrunk back once they are consumed. */
#define READ_BUFFER_MIN  4096
#define READ_BUFFER_KEEP (64 * 1024)

/* Linux's SCM_MAX_FD: as many as one sendmsg() can pass */
#define MAX_PENDING_FDS 253

/* How much of a filled line is made at a time */
#define FILL_CHUNK (64 * 1024)

/* A client that does not read what it is sent stops being read once this
 * much waits to be written to it (not counting a filled line's filler),
 * or, in order, for its turn behind an answer that has not come, and is
 * read again below half of it: what it sends cannot make the server hold
 * more than that and one answer to a line. */
#define OUTPUT_HIGH (1024 * 1024)

/* Events are not answers to anything the client sends, so they are not
 * held back by reading less: a client that leaves this much of them
 * unread is closed. */
#define OUTPUT_MAX (16 * 1024 * 1024)

/* An in-order channel reads no more commands while this many wait for
 * their answers, or with their answers for their turn (QEMU's monitor
 * stops at 8), and again from half of it: a client cannot queue work
 * without bound on the owner (a proxy's upstream connection), nor, behind
 * one command that is not answered, answers on the channel.  Nor while
 * the lines of those waiting for their answers add up to more than
 * OUTPUT_HIGH: each may be as long as max-message-size, and the owner
 * keeps it (a proxy's upstream connection, until QEMU reads it). */
#define MAX_IN_FLIGHT 64

/* Bytes queued behind wbuf: @n_fill filler bytes, made only as they are
 * written, then @bytes.  A line of gigabytes costs the server no more
 * than a chunk. */
typedef struct
{
  guint64 n_fill;
  GString *bytes;
} Segment;

static void
segment_free (Segment *segment)
{
  g_string_free (segment->bytes, TRUE);
  g_free (segment);
}

/* The error texts on the wire are QEMU's own, word for word and not
 * translated: they are protocol data that clients may compare, not
 * messages for the user of this library. */

struct _QmpServerChannel
{
  gatomicrefcount ref_count;
  QmpWorker *worker;
  GIOStream *stream;
  GSocket *socket;              /* nullable: a Unix socket, read with its descriptors */
  GPollableInputStream *input;
  GPollableOutputStream *output;
  GWeakRef owner;
  QmpServerChannelCommandFunc command_func;
  QmpServerChannelClosedFunc closed_func;
  char *greeting_json;
  gboolean oob_offered;
  gboolean guest_agent;         /* qemu-ga: no negotiation, "\n" line ends */
  gboolean debug_at_start;      /* G_MESSAGES_DEBUG named us when it was made */
  gboolean in_order;            /* in-band answers go out in the order of
                                 * their commands, as QEMU's do */

  /* Used on the worker thread only */
  GSource *input_source;
  char *rbuf;
  gsize rbuf_len;               /* bytes in rbuf */
  gsize rbuf_cap;
  gsize rbuf_scanned;           /* bytes of rbuf already searched for '\n' */
  GString *scratch;             /* the parser's buffer for escaped strings */
  GQueue pending_fds;           /* of PendingFds: received, not yet given
                                 * to a command */
  guint n_pending_fds;          /* in all of them */
  GUnixFDList *line_fds;        /* for the line handled now */
  gboolean oob_enabled;
  gboolean want_trees;          /* requests come with arguments and id as trees */
  gboolean closed_told;         /* closed_func was called */
  gboolean paused;              /* lines wait in rbuf for the client to
                                 * read or for answers (throttled), or for
                                 * reading to be turned on again */
  gboolean processing;          /* channel_process_buffer() runs */
  guint64 last_seq;             /* in order: given to the last in-band line */

  GMutex lock;
  /* Protected by lock */
  gboolean closed;
  gboolean negotiated;          /* qmp_capabilities succeeded: events go out */
  gboolean reading;             /* off: a stall, nothing is read */
  gboolean writing;             /* off: a stall, lines wait in wbuf */
  gboolean cut_pending;         /* the next line is cut after cut_after bytes */
  gsize cut_after;
  gboolean close_when_written;  /* a line was cut: close once all is out */
  gint64 write_limit;           /* -1, or close after this many bytes in all */
  guint64 n_queued;             /* bytes queued to write since the start */
  guint64 max_message_size;
  GString *wbuf;                /* bytes to write */
  gsize wpos;                   /* how much of wbuf is written */
  GQueue later;                 /* Segment: to write after wbuf */
  guint64 next_answer;          /* in order: the seq whose answer is next */
  guint n_in_flight;            /* in order: requests given to the owner,
                                 * unanswered */
  gsize in_flight_bytes;        /* in order: their lines, all together */
  gboolean throttled;           /* reading stopped for the above, or for
                                 * what waits to be written */
  GHashTable *held;             /* in order: guint64 seq → GString, the
                                 * answers that came before their turn (an
                                 * empty one: no answer) */
  gsize held_bytes;             /* in order: their length, all together */
  GSource *output_source;       /* waits for the socket to take more */
};

static void channel_write_locked (QmpServerChannel *self);
static void channel_schedule_close_locked (QmpServerChannel *self);
static void channel_update_reading (QmpServerChannel *self);
static gboolean update_reading_on_worker (gpointer user_data);

/* ------------------------------------------------------- flow control */

/* The bytes that wait to be written, filler aside */
static gsize
channel_backlog_locked (QmpServerChannel *self)
{
  gsize n = self->wbuf->len - self->wpos;

  for (GList *l = self->later.head; l != NULL; l = l->next)
    n += ((Segment *) l->data)->bytes->len;

  return n;
}

/* Whether the channel must read no more lines: more than @backlog waits
 * for the client to read it or (in order) for its turn, or (in order)
 * @in_flight of its lines, or more than @backlog bytes of them, wait for
 * their answers or for their turn.  The held answers count: behind a
 * command that is not answered, every line (one that is not JSON, a
 * second qmp_capabilities) would else cost an answer kept for later, read
 * as fast as the client sends. */
static gboolean
channel_must_wait_locked (QmpServerChannel *self,
                          gsize             backlog,
                          guint             in_flight)
{
  guint n_held = self->held != NULL ? g_hash_table_size (self->held) : 0;

  return (self->in_order && self->n_in_flight + n_held >= in_flight) ||
         self->in_flight_bytes > backlog ||
         channel_backlog_locked (self) + self->held_bytes > backlog;
}

/* From any thread, as answers go out and the client reads them */
static void
channel_resume_if_due_locked (QmpServerChannel *self)
{
  if (!self->throttled || self->closed ||
      channel_must_wait_locked (self, OUTPUT_HIGH / 2, MAX_IN_FLIGHT / 2 + 1))
    return;

  self->throttled = FALSE;
  _qmp_worker_idle_add (self->worker, G_PRIORITY_DEFAULT, "[qmp-glib] server resume",
                        update_reading_on_worker, _qmp_server_channel_ref (self),
                        (GDestroyNotify) _qmp_server_channel_unref);
}

/* On the worker, before each line: whether to stop reading here (also
 * when reading was turned off, by the line before's command function:
 * the lines read already wait until it is turned on again). */
static gboolean
channel_pause_if_due (QmpServerChannel *self)
{
  gboolean wait;

  g_mutex_lock (&self->lock);
  wait = channel_must_wait_locked (self, OUTPUT_HIGH, MAX_IN_FLIGHT);
  if (wait)
    self->throttled = TRUE;
  else
    wait = !self->reading;
  g_mutex_unlock (&self->lock);

  self->paused = wait;
  return wait;
}

/* An answer to @request (nullable) is given; reading resumes, if due,
 * once it is queued or held (channel_answer_locked()), as it may only
 * have moved from one count to the other. */
static void
channel_answered_locked (QmpServerChannel       *self,
                         const QmpServerRequest *request)
{
  if (request == NULL || !request->in_flight)
    return;

  g_assert (self->n_in_flight > 0);
  g_assert (self->in_flight_bytes >= request->line_len);
  self->n_in_flight--;
  self->in_flight_bytes -= request->line_len;
}

void
_qmp_server_request_free (QmpServerRequest *request)
{
  g_free (request->name);
  g_free (request->arguments_json);
  g_clear_pointer (&request->arguments, json_object_unref);
  g_clear_pointer (&request->id, json_node_unref);
  g_free (request->id_json);
  g_clear_object (&request->fds);
  g_free (request);
}

/* -------------------------------------------------------------- writing */

static gboolean
on_output_ready (GObject  *stream,
                 gpointer  user_data)
{
  QmpServerChannel *self = user_data;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->output_source, g_source_unref);
  channel_write_locked (self);
  channel_resume_if_due_locked (self);
  g_mutex_unlock (&self->lock);

  return G_SOURCE_REMOVE;
}

/* Writes what the socket takes without blocking, from any thread; the
 * rest goes out from the worker when the socket has room. */
/* Moves the next part of what is queued behind wbuf into it, once wbuf
 * is written; FALSE when nothing is queued. */
static gboolean
channel_refill_locked (QmpServerChannel *self)
{
  Segment *segment = g_queue_peek_head (&self->later);

  if (segment == NULL)
    return FALSE;

  if (segment->n_fill > 0)
    {
      gsize n = MIN (segment->n_fill, FILL_CHUNK);

      g_string_set_size (self->wbuf, n);
      memset (self->wbuf->str, 'x', n);
      segment->n_fill -= n;
    }
  else
    {
      g_string_append_len (self->wbuf, segment->bytes->str, segment->bytes->len);
      segment_free (g_queue_pop_head (&self->later));
    }

  return TRUE;
}

static void
channel_drop_output_locked (QmpServerChannel *self)
{
  g_string_truncate (self->wbuf, 0);
  self->wpos = 0;
  g_queue_clear_full (&self->later, (GDestroyNotify) segment_free);
}

static void
channel_write_locked (QmpServerChannel *self)
{
  if (self->closed || !self->writing || self->output_source != NULL)
    return;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      if (self->wpos == self->wbuf->len)
        {
          g_string_truncate (self->wbuf, 0);
          self->wpos = 0;
          if (!channel_refill_locked (self))
            break;
          continue;
        }

      /* The socket itself when there is one: the stream around it costs
       * as much again */
      if (self->socket != NULL)
        n = g_socket_send (self->socket, self->wbuf->str + self->wpos,
                           self->wbuf->len - self->wpos, NULL, &error);
      else
        n = g_pollable_output_stream_write_nonblocking (self->output,
                                                        self->wbuf->str + self->wpos,
                                                        self->wbuf->len - self->wpos,
                                                        NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->output_source = g_pollable_output_stream_create_source (self->output, NULL);
              g_source_set_static_name (self->output_source, "[qmp-glib] server output");
              g_source_set_callback (self->output_source, G_SOURCE_FUNC (on_output_ready),
                                     _qmp_server_channel_ref (self),
                                     (GDestroyNotify) _qmp_server_channel_unref);
              g_source_attach (self->output_source, _qmp_worker_get_context (self->worker));
              return;
            }

          /* The client went away: nothing more can reach it. */
          g_debug ("server: write failed: %s", error->message);
          channel_drop_output_locked (self);
          channel_schedule_close_locked (self);
          return;
        }

      self->wpos += n;
    }

  if (self->close_when_written)
    channel_schedule_close_locked (self);
}

/* Queues one line (or raw bytes) and writes it. */
/* Where bytes queued now go: behind the last segment, if any */
static GString *
channel_tail_locked (QmpServerChannel *self)
{
  Segment *segment = g_queue_peek_tail (&self->later);

  return segment ? segment->bytes : self->wbuf;
}

/* How much of @len bytes about to be queued may go: a cut of the next
 * line, or the limit of the whole session, makes the channel close once
 * they are out. */
static guint64
channel_allow_locked (QmpServerChannel *self,
                      guint64           len)
{
  if (self->cut_pending)
    {
      len = MIN (len, self->cut_after);
      self->cut_pending = FALSE;
      self->close_when_written = TRUE;
    }

  if (self->write_limit >= 0)
    {
      guint64 room = (guint64) self->write_limit > self->n_queued ? self->write_limit - self->n_queued : 0;

      len = MIN (len, room);
      if (self->n_queued + len >= (guint64) self->write_limit)
        self->close_when_written = TRUE;
    }

  self->n_queued += len;
  return len;
}

static void
channel_append_locked (QmpServerChannel *self,
                       const char       *data,
                       gsize             len)
{
  if (self->closed || self->close_when_written)
    return;

  len = channel_allow_locked (self, len);
  g_string_append_len (channel_tail_locked (self), data, len);

  channel_write_locked (self);
}

static const char *
channel_line_end (QmpServerChannel *self)
{
  return self->guest_agent ? "\n" : "\r\n";
}

/* The answers that waited for the one of @seq, which went out */
static void
channel_release_held_locked (QmpServerChannel *self,
                             guint64           seq)
{
  GString *held;

  if (seq == 0)
    return;

  g_assert (seq == self->next_answer);
  self->next_answer++;
  while (self->held != NULL &&
         (held = g_hash_table_lookup (self->held, &self->next_answer)) != NULL)
    {
      if (held->len > 0)
        channel_append_locked (self, held->str, held->len);
      self->held_bytes -= held->len;
      g_hash_table_remove (self->held, &self->next_answer);
      self->next_answer++;
    }
}

static void
held_free (GString *line)
{
  g_string_free (line, TRUE);
}

/* Whether the answer of @seq must wait for the ones before it */
static inline gboolean
channel_early_locked (QmpServerChannel *self,
                      guint64           seq)
{
  return seq != 0 && seq != self->next_answer;
}

/* The line of the answer of @seq (0: an answer that keeps no turn), in
 * its turn: held if the ones before it have not gone out, else queued
 * with those that waited for it, and reading resumes if that made room.
 * An empty line is an answer that is not written. */
static void
channel_answer_locked (QmpServerChannel *self,
                       guint64           seq,
                       const char       *line,
                       gsize             len)
{
  if (channel_early_locked (self, seq))
    {
      g_assert (seq > self->next_answer);
      if (self->held == NULL)
        self->held = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                            (GDestroyNotify) held_free);
      g_hash_table_insert (self->held, g_memdup2 (&seq, sizeof seq), g_string_new_len (line, len));
      self->held_bytes += len;
      return;
    }

  if (len > 0)
    channel_append_locked (self, line, len);
  channel_release_held_locked (self, seq);
  channel_resume_if_due_locked (self);
}

static void
channel_append_line (QmpServerChannel       *self,
                     const QmpServerRequest *request,
                     GString                *line)
{
  guint64 seq = request != NULL ? request->seq : 0;

  g_string_append (line, channel_line_end (self));

  g_mutex_lock (&self->lock);
  channel_answered_locked (self, request);
  channel_answer_locked (self, seq, line->str, line->len);
  g_mutex_unlock (&self->lock);
}

/* Appends a line made of @n_pieces strings and the line end, written
 * straight into the buffer: a proxy's answers cost no line of their own. */
static void
channel_append_pieces (QmpServerChannel        *self,
                       const QmpServerRequest  *request,
                       const char             **pieces,
                       gsize                   *lens,
                       guint                    n_pieces)
{
  guint64 seq = request->seq;
  const char *end = channel_line_end (self);
  gsize end_len = strlen (end);
  gsize total = end_len;
  GString *tail;

  for (guint i = 0; i < n_pieces; i++)
    total += lens[i];

  g_mutex_lock (&self->lock);
  channel_answered_locked (self, request);
  if (self->closed || self->close_when_written)
    {
      g_mutex_unlock (&self->lock);
      return;
    }

  if (G_UNLIKELY (self->cut_pending || self->write_limit >= 0 || channel_early_locked (self, seq)))
    {
      /* A fault, where the line is cut where the test asked, or an
       * answer that must wait for its turn */
      g_autoptr(GString) line = g_string_sized_new (total);

      for (guint i = 0; i < n_pieces; i++)
        g_string_append_len (line, pieces[i], lens[i]);
      g_string_append_len (line, end, end_len);
      channel_answer_locked (self, seq, line->str, line->len);
      g_mutex_unlock (&self->lock);
      return;
    }

  self->n_queued += total;
  tail = channel_tail_locked (self);
  for (guint i = 0; i < n_pieces; i++)
    g_string_append_len (tail, pieces[i], lens[i]);
  g_string_append_len (tail, end, end_len);

  channel_write_locked (self);
  channel_release_held_locked (self, seq);
  channel_resume_if_due_locked (self);
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_reply (QmpServerChannel       *self,
                           const QmpServerRequest *request,
                           const char             *return_json)
{
  const char *id_json = request->id_json;
  const char *pieces[] = { "{\"return\": ", return_json, ", \"id\": ", id_json, "}" };
  gsize lens[] = { strlen (pieces[0]), strlen (return_json), strlen (pieces[2]),
                   id_json != NULL ? strlen (id_json) : 0, 1 };

  if (id_json == NULL)
    {
      pieces[2] = pieces[4];
      lens[2] = lens[4];
    }
  channel_append_pieces (self, request, pieces, lens, id_json != NULL ? 5 : 3);
}

void
_qmp_server_channel_reply_error (QmpServerChannel       *self,
                                 const QmpServerRequest *request,
                                 const char             *error_class,
                                 const char             *desc)
{
  const char *id_json = request->id_json;
  g_autoptr(GString) line = g_string_new ("{\"error\": {\"class\": ");
  g_autofree char *quoted_class = _qmp_json_string_quote (error_class);
  g_autofree char *quoted_desc = _qmp_json_string_quote (desc);

  g_string_append_printf (line, "%s, \"desc\": %s}", quoted_class, quoted_desc);
  if (id_json != NULL)
    g_string_append_printf (line, ", \"id\": %s", id_json);
  g_string_append_c (line, '}');

  channel_append_line (self, request, line);
}

void
_qmp_server_channel_skip (QmpServerChannel       *self,
                          const QmpServerRequest *request)
{
  g_mutex_lock (&self->lock);
  channel_answered_locked (self, request);
  channel_answer_locked (self, request->seq, "", 0);
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_send_event (QmpServerChannel *self,
                                const char       *name,
                                const char       *data_json,
                                gint64            timestamp_usec)
{
  g_autoptr(GString) line = g_string_new ("{\"timestamp\": {\"seconds\": ");
  g_autofree char *quoted_name = _qmp_json_string_quote (name);

  /* QEMU's order of members, and its -1/-1 when it has no clock */
  if (timestamp_usec < 0)
    g_string_append (line, "-1, \"microseconds\": -1}");
  else
    g_string_append_printf (line, "%" G_GINT64_FORMAT ", \"microseconds\": %" G_GINT64_FORMAT "}",
                            timestamp_usec / G_USEC_PER_SEC, timestamp_usec % G_USEC_PER_SEC);
  g_string_append_printf (line, ", \"event\": %s", quoted_name);
  if (data_json != NULL)
    g_string_append_printf (line, ", \"data\": %s", data_json);
  g_string_append_c (line, '}');
  g_string_append (line, channel_line_end (self));

  /* As QEMU, no events to a client that has not negotiated yet */
  g_mutex_lock (&self->lock);
  if (self->negotiated && !self->closed)
    {
      gsize backlog = channel_backlog_locked (self);

      if (backlog + line->len <= OUTPUT_MAX)
        {
          channel_append_locked (self, line->str, line->len);
        }
      else
        {
          g_debug ("server: a client left %zu bytes unread: it is closed", backlog);
          self->closed = TRUE;
          channel_schedule_close_locked (self);
        }
    }
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_send_raw (QmpServerChannel *self,
                              const char       *data,
                              gsize             len)
{
  g_mutex_lock (&self->lock);
  channel_append_locked (self, data, len);
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_send_filled (QmpServerChannel *self,
                                 const char       *head,
                                 guint64           n_fill,
                                 const char       *tail)
{
  gsize head_len = strlen (head);
  gsize tail_len = strlen (tail);
  guint64 allowed;
  Segment *segment;

  g_mutex_lock (&self->lock);
  if (self->closed || self->close_when_written)
    {
      g_mutex_unlock (&self->lock);
      return;
    }

  /* A cut falls in the head, the filler or the tail */
  allowed = channel_allow_locked (self, head_len + n_fill + tail_len);
  head_len = MIN (head_len, allowed);
  allowed -= head_len;
  n_fill = MIN (n_fill, allowed);
  allowed -= n_fill;
  tail_len = MIN (tail_len, allowed);

  g_string_append_len (channel_tail_locked (self), head, head_len);
  segment = g_new0 (Segment, 1);
  segment->n_fill = n_fill;
  segment->bytes = g_string_new_len (tail, tail_len);
  g_queue_push_tail (&self->later, segment);

  channel_write_locked (self);
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_cut_next_line (QmpServerChannel *self,
                                   gsize             n_bytes)
{
  g_mutex_lock (&self->lock);
  self->cut_pending = TRUE;
  self->cut_after = n_bytes;
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_set_write_limit (QmpServerChannel *self,
                                     gint64            n_bytes)
{
  g_mutex_lock (&self->lock);
  self->write_limit = n_bytes;
  if (n_bytes >= 0 && self->n_queued >= (guint64) n_bytes && !self->closed)
    {
      self->close_when_written = TRUE;
      channel_write_locked (self);
    }
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_set_writing (QmpServerChannel *self,
                                 gboolean          writing)
{
  g_mutex_lock (&self->lock);
  self->writing = !!writing;
  channel_write_locked (self);
  g_mutex_unlock (&self->lock);
}

void
_qmp_server_channel_set_max_message_size (QmpServerChannel *self,
                                          guint64           max_message_size)
{
  g_mutex_lock (&self->lock);
  self->max_message_size = max_message_size;
  g_mutex_unlock (&self->lock);
}

/* -------------------------------------------------------------- reading */

static void
channel_deliver (QmpServerChannel *self,
                 QmpServerRequest *request)
{
  g_autoptr(GObject) owner = g_weak_ref_get (&self->owner);

  if (owner != NULL && self->command_func != NULL)
    self->command_func (owner, self, request);
  else
    _qmp_server_request_free (request);
}

/* qmp_capabilities, before negotiation: QEMU's qmp_caps_accept(). */
static void
channel_negotiate (QmpServerChannel *self,
                   QmpServerRequest *request)
{
  JsonObject *arguments = request->arguments;
  gboolean oob = FALSE;

  if (arguments != NULL)
    {
      JsonObjectIter iter;
      const char *member;
      JsonNode *value;

      json_object_iter_init (&iter, arguments);
      while (json_object_iter_next (&iter, &member, &value))
        {
          g_autofree char *desc = NULL;

          if (!g_str_equal (member, "enable"))
            {
              desc = g_strdup_printf ("Parameter '%s' is unexpected", member);
              _qmp_server_channel_reply_error (self, request, "GenericError", desc);
              return;
            }

          if (!JSON_NODE_HOLDS_ARRAY (value))
            {
              _qmp_server_channel_reply_error (self, request, "GenericError",
                                               "Invalid parameter type for 'enable', expected: array");
              return;
            }

          for (guint i = 0; i < json_array_get_length (json_node_get_array (value)); i++)
            {
              const char *capability = _qmp_json_node_get_string (json_array_get_element (json_node_get_array (value), i));

              if (g_strcmp0 (capability, "oob") != 0)
                {
                  desc = g_strdup_printf ("Parameter 'enable' does not accept value '%s'",
                                          capability ? capability : "");
                  _qmp_server_channel_reply_error (self, request, "GenericError", desc);
                  return;
                }
              if (!self->oob_offered)
                {
                  _qmp_server_channel_reply_error (self, request, "GenericError",
                                                   "Capability oob isn't available");
                  return;
                }
              oob = TRUE;
            }
        }
    }

  g_mutex_lock (&self->lock);
  self->negotiated = TRUE;
  g_mutex_unlock (&self->lock);
  self->oob_enabled = oob;
  _qmp_server_channel_reply (self, request, "{}");
}

/* The place of a line's answer among the in-band ones */
static guint64
channel_take_seq (QmpServerChannel *self)
{
  return self->in_order ? ++self->last_seq : 0;
}

/* One line from the client: checked as QEMU's qmp_dispatch() checks it.
 * Nothing is built from it unless the owner wants trees: the name is
 * decoded, and the id and arguments are kept as the client wrote them. */
static void
channel_handle_line (QmpServerChannel *self,
                     const char       *line,
                     gsize             len,
                     guint64           max_message_size)
{
  g_autoptr(GError) error = NULL;
  g_auto(QmpCommandLine) command = { 0, };
  g_autoptr(QmpServerRequest) request = NULL;
  gboolean not_an_object;
  const QmpCommandMember *problem_member = NULL;
  const char *problem = NULL;
  g_autofree char *unexpected = NULL;
  guint unexpected_order;
  const char *unexpected_name;

  while (len > 0 && g_ascii_isspace (line[len - 1]))
    len--;
  while (len > 0 && g_ascii_isspace (*line))
    line++, len--;
  if (len == 0)
    return;

  if (G_UNLIKELY (_qmp_debug_enabled_since (self->debug_at_start)))
    {
      g_autofree char *text = _qmp_json_line_for_log (line, len, self->scratch, max_message_size);

      g_debug ("server: ← %s", text);
    }

  if (!_qmp_json_parse_command (line, len, self->scratch, &command, &not_an_object, &error))
    {
      QmpServerRequest invalid = { .seq = channel_take_seq (self) };

      if (not_an_object)
        {
          _qmp_server_channel_reply_error (self, &invalid, "GenericError", "QMP input must be a JSON object");
          return;
        }
      g_debug ("server: ← a line that is not JSON: %s", error->message);
      _qmp_server_channel_reply_error (self, &invalid, "GenericError", "JSON parse error, invalid input");
      return;
    }

  request = g_new0 (QmpServerRequest, 1);
  if (command.id.order != 0)
    request->id_json = g_strndup (command.id.json, command.id.len);

  /* The members are looked at in the order they came, as in a JsonObject:
   * of the ones with a wrong type, the last one's problem is told. */
  if (command.execute.order != 0 && command.execute.string == NULL)
    problem_member = &command.execute;
  if (command.exec_oob.order != 0 && command.exec_oob.string == NULL && self->oob_enabled &&
      (problem_member == NULL || command.exec_oob.order > problem_member->order))
    problem_member = &command.exec_oob;
  if (command.arguments.order != 0 && command.arguments.json[0] != '{' &&
      (problem_member == NULL || command.arguments.order > problem_member->order))
    problem_member = &command.arguments;

  if (problem_member == &command.execute)
    problem = "QMP input member 'execute' must be a string";
  else if (problem_member == &command.exec_oob)
    problem = "QMP input member 'exec-oob' must be a string";
  else if (problem_member == &command.arguments)
    problem = "QMP input member 'arguments' must be an object";

  /* Without oob, exec-oob is just another member */
  unexpected_name = command.unexpected;
  unexpected_order = command.unexpected_order;
  if (!self->oob_enabled && command.exec_oob.order != 0 &&
      (unexpected_name == NULL || command.exec_oob.order < unexpected_order))
    unexpected_name = "exec-oob";
  if (problem == NULL && unexpected_name != NULL)
    problem = unexpected = g_strdup_printf ("QMP input member '%s' is unexpected", unexpected_name);

  if (!self->oob_enabled)
    g_clear_pointer (&command.exec_oob.string, g_free);
  if (problem == NULL && command.execute.string == NULL && command.exec_oob.string == NULL)
    problem = "QMP input lacks member 'execute'";
  if (problem == NULL && command.execute.string != NULL && command.exec_oob.string != NULL)
    problem = "QMP input must not contain both 'execute' and 'exec-oob'";

  if (problem != NULL)
    {
      request->seq = channel_take_seq (self);
      _qmp_server_channel_reply_error (self, request, "GenericError", problem);
      return;
    }

  request->oob = command.exec_oob.string != NULL;
  request->seq = request->oob ? 0 : channel_take_seq (self);
  request->name = request->oob ? g_steal_pointer (&command.exec_oob.string)
                               : g_steal_pointer (&command.execute.string);
  if (command.arguments.order != 0)
    request->arguments_json = g_strndup (command.arguments.json, command.arguments.len);

  /* Trees for the owner that wants them, and for a negotiation, which
   * looks into its arguments; each bounded by the message's size, as the
   * client's channel bounds what a server sends. */
  if (self->want_trees ||
      (!self->guest_agent && request->arguments_json != NULL &&
       g_str_equal (request->name, "qmp_capabilities") && !_qmp_server_channel_is_negotiated (self)))
    {
      g_autoptr(JsonNode) arguments = NULL;

      if (request->arguments_json != NULL)
        arguments = _qmp_json_parse_checked_bounded (command.arguments.json, command.arguments.len,
                                                     max_message_size, &error);
      if (error == NULL && command.id.order != 0 && self->want_trees)
        request->id = _qmp_json_parse_checked_bounded (command.id.json, command.id.len,
                                                       max_message_size, &error);
      if (error != NULL)
        {
          /* Answered as QEMU answers a line it cannot parse: without the id */
          QmpServerRequest too_large = { .seq = request->seq };

          g_debug ("server: ← %s", error->message);
          _qmp_server_channel_reply_error (self, &too_large, "GenericError", "JSON parse error, invalid input");
          return;
        }
      if (arguments != NULL)
        request->arguments = json_object_ref (json_node_get_object (arguments));
    }
  request->fds = g_steal_pointer (&self->line_fds);

  if (self->guest_agent)
    {
      /* qemu-ga knows no negotiation: every command goes on */
    }
  else if (!_qmp_server_channel_is_negotiated (self))
    {
      if (g_str_equal (request->name, "qmp_capabilities"))
        channel_negotiate (self, request);
      else
        _qmp_server_channel_reply_error (self, request, "CommandNotFound",
                                         "Expecting capabilities negotiation with 'qmp_capabilities'");
      request->answered = TRUE;
    }
  else if (g_str_equal (request->name, "qmp_capabilities"))
    {
      _qmp_server_channel_reply_error (self, request, "CommandNotFound",
                                       "Capabilities negotiation is already complete, command ignored");
      request->answered = TRUE;
    }

  /* Counted where the count bounds anything */
  if (!request->answered && self->in_order)
    {
      request->in_flight = TRUE;
      request->line_len = len;
      g_mutex_lock (&self->lock);
      self->n_in_flight++;
      self->in_flight_bytes += len;
      g_mutex_unlock (&self->lock);
    }
  channel_deliver (self, g_steal_pointer (&request));
}

/* Descriptors (SCM_RIGHTS) and where they came in the input.  The
 * kernel ends a read with the segment that carries descriptors, and a
 * client sends them with the first byte of their command's line, which
 * qmp-glib's sends alone: they are the line's that holds the last byte of
 * that read (@end, an offset in rbuf, is just past it).  The lines that
 * end before it, whose tails the same read brought, are not theirs. */
typedef struct
{
  GUnixFDList *fds;
  gsize end;
} PendingFds;

static void
pending_fds_free (PendingFds *pending)
{
  g_object_unref (pending->fds);
  g_free (pending);
}

/* The descriptors of the line that ends just before @line_end (an
 * offset in rbuf), if any; those of the lines before it that never came
 * to be handled go (closed). */
static GUnixFDList *
channel_take_line_fds (QmpServerChannel *self,
                       gsize             line_end)
{
  GUnixFDList *fds = NULL;
  PendingFds *pending;

  while ((pending = g_queue_peek_head (&self->pending_fds)) != NULL && pending->end <= line_end)
    {
      g_queue_pop_head (&self->pending_fds);
      self->n_pending_fds -= g_unix_fd_list_get_length (pending->fds);
      g_clear_object (&fds);
      fds = g_steal_pointer (&pending->fds);
      g_free (pending);
    }

  return fds;
}

/* Handles every complete line in the buffer; FALSE when the channel closed
 * or a line is too long. */
static gboolean
channel_process_lines (QmpServerChannel *self,
                       guint64           max_message_size)
{
  gsize start = 0;
  char *nl;

  self->paused = FALSE;
  while ((nl = memchr (self->rbuf + self->rbuf_scanned, '\n',
                       self->rbuf_len - self->rbuf_scanned)) != NULL)
    {
      gsize len = nl - (self->rbuf + start);

      if (len > max_message_size + 1)
        return FALSE;

      if (channel_pause_if_due (self))
        break;

      /* Descriptors that the line does not take (it is blank, or not a
       * command) are closed */
      self->line_fds = channel_take_line_fds (self, nl + 1 - self->rbuf);
      channel_handle_line (self, self->rbuf + start, len, max_message_size);
      g_clear_object (&self->line_fds);

      start = nl + 1 - self->rbuf;
      self->rbuf_scanned = start;

      if (_qmp_server_channel_is_closed (self))
        return FALSE;
    }

  /* Paused: the lines after start are searched again when it resumes */
  if (!self->paused)
    self->rbuf_scanned = self->rbuf_len;

  if (start > 0)
    {
      memmove (self->rbuf, self->rbuf + start, self->rbuf_len - start);
      self->rbuf_len -= start;
      self->rbuf_scanned -= start;
      /* Each is past a line not handled yet, so past start */
      for (GList *l = self->pending_fds.head; l != NULL; l = l->next)
        ((PendingFds *) l->data)->end -= start;
    }

  return self->rbuf_len <= max_message_size + 1;
}

/* The same, marked as running: a command function that turns reading
 * off and on again does not have the lines handled from within. */
static gboolean
channel_process_buffer (QmpServerChannel *self,
                        guint64           max_message_size)
{
  gboolean ok;

  self->processing = TRUE;
  ok = channel_process_lines (self, max_message_size);
  self->processing = FALSE;

  return ok;
}

/* Reads what is there; on a Unix socket with recvmsg(), so that the
 * descriptors sent with a command (SCM_RIGHTS) are kept for it. */
static gssize
channel_receive (QmpServerChannel  *self,
                 char              *buffer,
                 gsize              size,
                 GError           **error)
{
  GInputVector vector = { buffer, size };
  GSocketControlMessage **messages = NULL;
  int n_messages = 0;
  int flags = 0;
  gssize n;

  if (self->socket == NULL)
    return g_pollable_input_stream_read_nonblocking (self->input, buffer, size, NULL, error);

  n = g_socket_receive_message (self->socket, NULL, &vector, 1,
                                &messages, &n_messages, &flags, NULL, error);

  for (int i = 0; i < n_messages; i++)
    {
      if (G_IS_UNIX_FD_MESSAGE (messages[i]))
        {
          GUnixFDList *list = g_unix_fd_message_get_fd_list (G_UNIX_FD_MESSAGE (messages[i]));
          int n_fds = 0;
          g_autofree int *fds = g_unix_fd_list_steal_fds (list, &n_fds);
          PendingFds *pending = NULL;

          if (n > 0 && n_fds > 0)
            {
              pending = g_new0 (PendingFds, 1);
              pending->fds = g_unix_fd_list_new ();
              /* Just past the read's last byte */
              pending->end = (buffer - self->rbuf) + n;
              g_queue_push_tail (&self->pending_fds, pending);
            }
          for (int j = 0; j < n_fds; j++)
            {
              /* A client that sends descriptors without commands does not
               * make the server hold them without bound. */
              if (pending != NULL && self->n_pending_fds < MAX_PENDING_FDS &&
                  g_unix_fd_list_append (pending->fds, fds[j], NULL) >= 0)   /* a duplicate */
                self->n_pending_fds++;
              close (fds[j]);
            }
          if (pending != NULL && g_unix_fd_list_get_length (pending->fds) == 0)
            pending_fds_free (g_queue_pop_tail (&self->pending_fds));
        }
      g_object_unref (messages[i]);
    }
  g_free (messages);

  return n;
}

static gboolean
on_input_ready (gpointer user_data)
{
  QmpServerChannel *self = user_data;
  guint64 max_message_size;
  gboolean keep_going = TRUE;
  guint n_reads = 0;

  g_mutex_lock (&self->lock);
  max_message_size = self->max_message_size;
  if (self->closed || !self->reading || self->throttled)
    keep_going = FALSE;
  g_mutex_unlock (&self->lock);

  while (keep_going)
    {
      g_autoptr(GError) error = NULL;
      gsize want;
      gssize n;

      if (self->rbuf_len == self->rbuf_cap)
        {
          guint64 limit = max_message_size + 2;

          if (self->rbuf_cap >= limit)
            {
              g_debug ("server: the client sent a line longer than %" G_GUINT64_FORMAT " bytes",
                       max_message_size);
              _qmp_server_channel_close (self);
              keep_going = FALSE;
              break;
            }
          self->rbuf_cap = MIN ((guint64) self->rbuf_cap * 2, limit);
          self->rbuf = g_realloc (self->rbuf, self->rbuf_cap);
        }

      want = self->rbuf_cap - self->rbuf_len;
      n = channel_receive (self, self->rbuf + self->rbuf_len, want, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n <= 0)
        {
          /* The client hung up (or the socket failed): this end closes. */
          if (error != NULL)
            g_debug ("server: read failed: %s", error->message);
          _qmp_server_channel_close (self);
          keep_going = FALSE;
          break;
        }

      self->rbuf_len += n;

      if (!channel_process_buffer (self, max_message_size))
        {
          _qmp_server_channel_close (self);
          keep_going = FALSE;
          break;
        }

      /* Lines wait in rbuf: read again, and handle them, on resuming */
      if (self->paused)
        {
          keep_going = FALSE;
          break;
        }

      g_mutex_lock (&self->lock);
      if (!self->reading)
        keep_going = FALSE;
      g_mutex_unlock (&self->lock);

      if ((gsize) n < want || ++n_reads >= 16)
        break;
    }

  if (keep_going && self->rbuf_len == 0 && self->rbuf_cap > READ_BUFFER_KEEP)
    {
      self->rbuf = g_realloc (self->rbuf, READ_BUFFER_KEEP);
      self->rbuf_cap = READ_BUFFER_KEEP;
    }

  /* Unless a command function made another meanwhile (reading turned
   * off, then on) */
  if (!keep_going && self->input_source == g_main_current_source ())
    g_clear_pointer (&self->input_source, g_source_unref);

  return keep_going ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_socket_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  return on_input_ready (user_data);
}

static gboolean
on_stream_ready (GObject  *stream,
                 gpointer  user_data)
{
  return on_input_ready (user_data);
}

/* On the worker: reads when reading is on and the channel open, else
 * drops the input source.  Lines read before a stall are handled when
 * reading resumes. */
static void
channel_update_reading (QmpServerChannel *self)
{
  gboolean want;

  g_mutex_lock (&self->lock);
  want = self->reading && !self->closed && !self->throttled;
  g_mutex_unlock (&self->lock);

  if (!want && self->input_source != NULL)
    {
      g_source_destroy (self->input_source);
      g_clear_pointer (&self->input_source, g_source_unref);
    }
  else if (want && self->input_source == NULL)
    {
      if (self->socket != NULL)
        {
          self->input_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
          g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_socket_ready),
                                 _qmp_server_channel_ref (self),
                                 (GDestroyNotify) _qmp_server_channel_unref);
        }
      else
        {
          self->input_source = g_pollable_input_stream_create_source (self->input, NULL);
          g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_stream_ready),
                                 _qmp_server_channel_ref (self),
                                 (GDestroyNotify) _qmp_server_channel_unref);
        }
      g_source_set_static_name (self->input_source, "[qmp-glib] server input");
      /* Nothing iterates the worker's context from inside a dispatch, and
       * a source that may not recurse has its descriptor taken out of the
       * poll set and put back around every dispatch, each time waking the
       * worker's own context for nothing. */
      g_source_set_can_recurse (self->input_source, TRUE);
      g_source_attach (self->input_source, _qmp_worker_get_context (self->worker));

      /* What was read before the stall and not handled yet; not from
       * within the handling (a command function turned reading off and
       * on), which goes on with it */
      if (self->rbuf_len > 0 && !self->processing)
        {
          guint64 max_message_size;

          self->rbuf_scanned = 0;
          g_mutex_lock (&self->lock);
          max_message_size = self->max_message_size;
          g_mutex_unlock (&self->lock);
          if (!channel_process_buffer (self, max_message_size))
            _qmp_server_channel_close (self);
          else if (self->paused && self->input_source != NULL)
            {
              /* Throttled again: the resume makes a new source */
              g_source_destroy (self->input_source);
              g_clear_pointer (&self->input_source, g_source_unref);
            }
        }
    }
}

static gboolean
update_reading_on_worker (gpointer user_data)
{
  channel_update_reading (user_data);
  return G_SOURCE_REMOVE;
}

void
_qmp_server_channel_set_reading (QmpServerChannel *self,
                                 gboolean          reading)
{
  g_mutex_lock (&self->lock);
  self->reading = !!reading;
  g_mutex_unlock (&self->lock);

  _qmp_worker_invoke (self->worker, update_reading_on_worker,
                      _qmp_server_channel_ref (self),
                      (GDestroyNotify) _qmp_server_channel_unref);
}

/* -------------------------------------------------------------- closing */

static void
on_tls_closed (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

/* Closing TLS writes its close_notify and blocks until the socket takes
 * it: a client that stopped reading must not hold up the worker, and with
 * it every connection, so that close goes elsewhere. */
static void
channel_close_stream (QmpServerChannel *self)
{
  if (G_IS_TLS_CONNECTION (self->stream))
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, on_tls_closed, NULL);
  else
    g_io_stream_close (self->stream, NULL, NULL);
}

static gboolean
close_on_worker (gpointer user_data)
{
  QmpServerChannel *self = user_data;
  g_autoptr(GObject) owner = NULL;

  g_mutex_lock (&self->lock);
  self->closed = TRUE;
  if (self->output_source != NULL)
    {
      g_source_destroy (self->output_source);
      g_clear_pointer (&self->output_source, g_source_unref);
    }
  channel_drop_output_locked (self);
  g_mutex_unlock (&self->lock);

  if (self->closed_told)
    return G_SOURCE_REMOVE;
  self->closed_told = TRUE;

  channel_update_reading (self);
  channel_close_stream (self);
  g_queue_clear_full (&self->pending_fds, (GDestroyNotify) pending_fds_free);
  self->n_pending_fds = 0;

  owner = g_weak_ref_get (&self->owner);
  if (owner != NULL && self->closed_func != NULL)
    self->closed_func (owner, self);

  return G_SOURCE_REMOVE;
}

/* From a writer holding the lock: the close itself runs on the worker. */
static void
channel_schedule_close_locked (QmpServerChannel *self)
{
  _qmp_worker_idle_add (self->worker, G_PRIORITY_HIGH, "[qmp-glib] server close",
                        close_on_worker, _qmp_server_channel_ref (self),
                        (GDestroyNotify) _qmp_server_channel_unref);
}

/* Closes the stream from any thread; nothing more is read or written.
 * What is still in the write buffer is dropped. */
void
_qmp_server_channel_close (QmpServerChannel *self)
{
  g_mutex_lock (&self->lock);
  self->closed = TRUE;
  g_mutex_unlock (&self->lock);

  _qmp_worker_invoke (self->worker, close_on_worker,
                      _qmp_server_channel_ref (self),
                      (GDestroyNotify) _qmp_server_channel_unref);
}

gboolean
_qmp_server_channel_is_negotiated (QmpServerChannel *self)
{
  gboolean negotiated;

  g_mutex_lock (&self->lock);
  negotiated = self->negotiated;
  g_mutex_unlock (&self->lock);

  return negotiated;
}

gboolean
_qmp_server_channel_is_closed (QmpServerChannel *self)
{
  gboolean closed;

  g_mutex_lock (&self->lock);
  closed = self->closed;
  g_mutex_unlock (&self->lock);

  return closed;
}

/* ---------------------------------------------------------- life cycle */

QmpServerChannel *
_qmp_server_channel_new (GIOStream                    *stream,
                         const char                   *greeting_json,
                         gboolean                      oob_offered,
                         GObject                      *owner,
                         QmpServerChannelCommandFunc   command_func,
                         QmpServerChannelClosedFunc    closed_func,
                         GError                      **error)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  GOutputStream *output = g_io_stream_get_output_stream (stream);
  QmpServerChannel *self;

  if (!_qmp_worker_check_stream (stream, error))
    return NULL;

  self = g_new0 (QmpServerChannel, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->worker = _qmp_worker_ref ();
  self->stream = g_object_ref (stream);
  self->input = G_POLLABLE_INPUT_STREAM (input);
  self->output = G_POLLABLE_OUTPUT_STREAM (output);
  g_weak_ref_init (&self->owner, owner);
  self->command_func = command_func;
  self->closed_func = closed_func;
  self->greeting_json = g_strdup (greeting_json);
  self->oob_offered = oob_offered;
  self->debug_at_start = _qmp_debug_enabled ();

  /* Not a GTcpWrapperConnection's socket: it carries what another stream
   * wrote (TLS records, for one). */
  if (G_IS_SOCKET_CONNECTION (stream) && !G_IS_TCP_WRAPPER_CONNECTION (stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));

      if (g_socket_get_family (socket) == G_SOCKET_FAMILY_UNIX)
        {
          /* Read with recvmsg() for the descriptors; never blocking. */
          g_type_ensure (G_TYPE_UNIX_FD_MESSAGE);
          g_socket_set_blocking (socket, FALSE);
          self->socket = g_object_ref (socket);
        }
    }

  self->rbuf_cap = READ_BUFFER_MIN;
  self->rbuf = g_malloc (self->rbuf_cap);
  self->scratch = g_string_new (NULL);
  self->want_trees = TRUE;

  g_mutex_init (&self->lock);
  self->reading = TRUE;
  self->writing = TRUE;
  self->max_message_size = 64 * 1024 * 1024;
  self->write_limit = -1;
  self->wbuf = g_string_sized_new (256);
  self->next_answer = 1;

  return self;
}

static gboolean
start_on_worker (gpointer user_data)
{
  channel_update_reading (user_data);
  return G_SOURCE_REMOVE;
}

/* Before _qmp_server_channel_start(): the client is qemu-ga's, which gets
 * no greeting, negotiates nothing and reads lines ending in "\n". */
void
_qmp_server_channel_set_guest_agent (QmpServerChannel *self)
{
  self->guest_agent = TRUE;
  g_clear_pointer (&self->greeting_json, g_free);
  g_mutex_lock (&self->lock);
  self->negotiated = TRUE;
  g_mutex_unlock (&self->lock);
}

/* Before _qmp_server_channel_start(): requests come without their
 * arguments and id as trees, only as text (for QmpProxy, which passes them
 * on as they are). */
void
_qmp_server_channel_set_want_trees (QmpServerChannel *self,
                                    gboolean          want_trees)
{
  self->want_trees = !!want_trees;
}

/* Before _qmp_server_channel_start(): the answers to in-band commands go
 * out in the order the commands came, whenever the owner gives them, as
 * QEMU's do (for QmpProxy, whose own refusals would overtake QEMU's
 * answers; a QmpTestServer's handlers may answer in any order). */
void
_qmp_server_channel_set_in_order (QmpServerChannel *self)
{
  self->in_order = TRUE;
}

gboolean
_qmp_server_channel_is_guest_agent (QmpServerChannel *self)
{
  return self->guest_agent;
}

/* Greets the client and starts reading. */
void
_qmp_server_channel_start (QmpServerChannel *self)
{
  if (self->greeting_json != NULL)
    {
      g_autoptr(GString) line = g_string_new (self->greeting_json);

      channel_append_line (self, NULL, line);
    }

  _qmp_worker_invoke (self->worker, start_on_worker,
                      _qmp_server_channel_ref (self),
                      (GDestroyNotify) _qmp_server_channel_unref);
}

QmpServerChannel *
_qmp_server_channel_ref (QmpServerChannel *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
_qmp_server_channel_unref (QmpServerChannel *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->input_source == NULL);
  g_assert (self->output_source == NULL);

  /* A channel that was never closed: the stream goes with it. */
  if (!self->closed_told)
    channel_close_stream (self);

  g_string_free (self->wbuf, TRUE);
  g_queue_clear_full (&self->later, (GDestroyNotify) segment_free);
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_mutex_clear (&self->lock);
  g_string_free (self->scratch, TRUE);
  g_free (self->rbuf);
  g_queue_clear_full (&self->pending_fds, (GDestroyNotify) pending_fds_free);
  g_free (self->greeting_json);
  g_weak_ref_clear (&self->owner);
  g_clear_object (&self->socket);
  g_object_unref (self->stream);
  _qmp_worker_unref (self->worker);
  g_free (self);
}

/* ---------------------------------------------------------- socket pair */

/* A connected pair of Unix stream sockets, as GSocketConnections: the
 * client's end and the server's, for the clients that QmpTestServer and
 * QmpProxy hand out without a socket file. */
gboolean
_qmp_server_socket_pair (GSocketConnection **client,
                         GSocketConnection **server,
                         GError           **error)
{
  g_autoptr(GSocket) client_socket = NULL;
  g_autoptr(GSocket) server_socket = NULL;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create a socket pair: %s"), g_strerror (saved_errno));
      return FALSE;
    }

  client_socket = g_socket_new_from_fd (fds[0], error);
  if (client_socket == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      return FALSE;
    }
  server_socket = g_socket_new_from_fd (fds[1], error);
  if (server_socket == NULL)
    {
      close (fds[1]);
      return FALSE;
    }

  *client = g_socket_connection_factory_create_connection (client_socket);
  *server = g_socket_connection_factory_create_connection (server_socket);
  return TRUE;
}
