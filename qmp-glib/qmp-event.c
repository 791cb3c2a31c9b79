/* qmp-event.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "qmp-event.h"
#include "qmp-event-private.h"

/**
 * QmpEvent:
 *
 * An asynchronous notification from the QMP server, such as `STOP`,
 * `SHUTDOWN` or `DEVICE_DELETED`.
 *
 * A #QmpEvent is immutable and reference counted, so it can be passed
 * between threads.  Its data is a #JsonObject, whose reference count
 * json-glib does not update atomically: code that takes references on it
 * (json_object_ref(), a binding's wrapper) must do so from one thread at a
 * time.  The library itself gives each consumer its own event.  Events reach an application through the
 * [signal@Qmp.Connection::event] signal, through
 * [method@Qmp.Connection.wait_event_async] and through
 * [method@Qmp.Connection.execute_until_event_async].
 *
 * ```c
 * static void
 * on_device_deleted (QmpConnection *connection,
 *                    QmpEvent      *event,
 *                    gpointer       user_data)
 * {
 *   JsonObject *data = qmp_event_get_data (event);
 *   JsonNode *device = data != NULL ? json_object_get_member (data, "device") : NULL;
 *
 *   // The data is the server's to choose: check a member's type before
 *   // reading it, json-glib's getters emit a critical on another type.
 *   if (device != NULL && json_node_get_value_type (device) == G_TYPE_STRING)
 *     g_print ("%s is gone\n", json_node_get_string (device));
 * }
 *
 * g_signal_connect (connection, "event::DEVICE_DELETED",
 *                   G_CALLBACK (on_device_deleted), NULL);
 * ```
 *
 * Since: 1.0
 */
struct _QmpEvent
{
  gatomicrefcount ref_count;
  gboolean one_block;     /* name and data_json are in the event's own
                           * allocation, after it */
  char *name;
  JsonObject *data;       /* nullable: QEMU omits "data" for many events;
                           * made on demand from data_json; atomic */
  char *data_json;        /* nullable: the data as the server sent it */
  gsize data_json_len;
  gint64 timestamp_usec;  /* since the epoch; -1: none */
  GDateTime *timestamp;   /* made on demand from timestamp_usec; atomic */
  GQuark detail;          /* the name's quark once it exists, else 0; atomic */
};

G_DEFINE_BOXED_TYPE (QmpEvent, qmp_event, qmp_event_ref, qmp_event_unref)

/**
 * qmp_event_new:
 * @name: the name of the event, such as `"STOP"`
 * @data: (nullable): the `data` member of the event
 * @timestamp: (nullable): when the server emitted the event
 *
 * Creates a new event.  Applications rarely need this: the connection
 * creates the events it receives.  It is useful for tests and for
 * forwarding events.
 *
 * @data is sealed (see json_object_seal()), so it must not be changed
 * afterwards.
 *
 * ```c
 * g_autoptr(JsonObject) data = json_object_new ();
 * g_autoptr(QmpEvent) event = NULL;
 *
 * json_object_set_string_member (data, "device", "vd0");
 * event = qmp_event_new ("DEVICE_DELETED", data, NULL);
 * ```
 *
 * Returns: (transfer full): a new #QmpEvent
 *
 * Since: 1.0
 */
QmpEvent *
qmp_event_new (const char *name,
               JsonObject *data,
               GDateTime  *timestamp)
{
  QmpEvent *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_new0 (QmpEvent, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->name = g_strdup (name);
  if (data != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), data);

      self->data = json_object_ref (data);
      json_object_seal (self->data);
      self->data_json = _qmp_json_to_string (node);
      self->data_json_len = strlen (self->data_json);
    }
  self->timestamp = timestamp ? g_date_time_ref (timestamp) : NULL;
  self->timestamp_usec = -1;

  return self;
}

QmpEvent *
_qmp_event_new_from_message (QmpMessage *message)
{
  QmpEvent *self;
  gboolean has_data;
  gsize name_size;

  /* An "event" that is not a string makes a malformed event. */
  if (message->event == NULL)
    return NULL;

  /* Only an object is data (anything else: no data); the parser checked
   * that it is valid JSON. */
  has_data = message->data_json != NULL && message->data_json[0] == '{';

  /* One allocation for the event, its name and its data's text: it is
   * made on the I/O thread and freed on another, once. */
  name_size = strlen (message->event) + 1;
  self = g_malloc (sizeof (QmpEvent) + name_size + (has_data ? message->data_json_len + 1 : 0));
  memset (self, 0, sizeof (QmpEvent));
  g_atomic_ref_count_init (&self->ref_count);
  self->one_block = TRUE;
  self->name = (char *) (self + 1);
  memcpy (self->name, message->event, name_size);
  if (has_data)
    {
      self->data_json = self->name + name_size;
      memcpy (self->data_json, message->data_json, message->data_json_len);
      self->data_json[message->data_json_len] = '\0';
      self->data_json_len = message->data_json_len;
    }

  /* QEMU sends -1/-1 when it could not read its clock: that is "no
   * timestamp", not one microsecond before 1970.  The GDateTime is made
   * when someone asks: most events are matched or emitted without it. */
  if (message->seconds >= 0 && message->seconds < G_MAXINT64 / G_USEC_PER_SEC &&
      message->microseconds >= 0 && message->microseconds < G_USEC_PER_SEC)
    self->timestamp_usec = message->seconds * G_USEC_PER_SEC + message->microseconds;
  else
    self->timestamp_usec = -1;

  return self;
}

/* About the memory that @self holds while it waits to be emitted: its
 * strings and the allocations around them (the data object is made only
 * when someone asks). */
gsize
_qmp_event_get_size (QmpEvent *self)
{
  return sizeof (QmpEvent) + strlen (self->name) + self->data_json_len + 64;
}

/* The quark of @self's name, the detail of the "event" signal: 0 while no
 * one made it (then no handler is connected for it).  Quarks live for
 * ever, so it is looked up until it exists, then kept. */
GQuark
_qmp_event_get_detail (QmpEvent *self)
{
  GQuark detail = (GQuark) g_atomic_int_get ((gint *) &self->detail);

  if (detail == 0)
    {
      detail = g_quark_try_string (self->name);
      g_atomic_int_set ((gint *) &self->detail, (gint) detail);
    }

  return detail;
}

/* As _qmp_event_get_detail(), for a caller that sees a stream of events
 * (most of them with the name of the one before): an event with the name
 * of *@last is given that quark without asking GLib, which takes a global
 * lock; *@last becomes the detail of @self when it has one. */
GQuark
_qmp_event_get_detail_after (QmpEvent *self,
                             GQuark   *last)
{
  GQuark detail;

  if (*last != 0 && strcmp (self->name, g_quark_to_string (*last)) == 0)
    {
      g_atomic_int_set ((gint *) &self->detail, (gint) *last);
      return *last;
    }

  detail = _qmp_event_get_detail (self);
  if (detail != 0)
    *last = detail;
  return detail;
}

/* A new event equal to @self, whose data object (made on demand) is its
 * own, for another consumer on another thread. */
QmpEvent *
_qmp_event_copy (QmpEvent *self)
{
  QmpEvent *copy = g_new0 (QmpEvent, 1);
  JsonObject *data = g_atomic_pointer_get (&self->data);

  g_atomic_ref_count_init (&copy->ref_count);
  copy->name = g_strdup (self->name);
  copy->timestamp_usec = self->timestamp_usec;
  if (self->data_json != NULL)
    {
      copy->data_json = g_strndup (self->data_json, self->data_json_len);
      copy->data_json_len = self->data_json_len;
    }
  else if (data != NULL)
    {
      copy->data = _qmp_json_object_copy_deep (data);
      json_object_seal (copy->data);
    }
  if (self->timestamp != NULL)
    copy->timestamp = g_date_time_ref (self->timestamp);

  return copy;
}

/**
 * qmp_event_ref:
 * @self: a #QmpEvent
 *
 * Acquires a reference on @self.
 *
 * ```c
 * self->last_event = qmp_event_ref (event);
 * ```
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
QmpEvent *
qmp_event_ref (QmpEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

/**
 * qmp_event_unref:
 * @self: (transfer full): a #QmpEvent
 *
 * Releases a reference on @self, freeing it when the last one is gone.
 *
 * ```c
 * g_clear_pointer (&self->last_event, qmp_event_unref);
 * ```
 *
 * Since: 1.0
 */
void
qmp_event_unref (QmpEvent *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      if (!self->one_block)
        {
          g_free (self->name);
          g_free (self->data_json);
        }
      g_clear_pointer (&self->data, json_object_unref);
      g_clear_pointer (&self->timestamp, g_date_time_unref);
      g_free (self);
    }
}

/**
 * qmp_event_get_name:
 * @self: a #QmpEvent
 *
 * Gets the name of the event, such as `"SHUTDOWN"`.
 *
 * ```c
 * if (g_str_equal (qmp_event_get_name (event), "SHUTDOWN"))
 *   g_print ("QEMU is shutting down\n");
 * ```
 *
 * Returns: the name of the event
 *
 * Since: 1.0
 */
const char *
qmp_event_get_name (QmpEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->name;
}

/**
 * qmp_event_get_data:
 * @self: a #QmpEvent
 *
 * Gets the `data` member of the event.  Many events, such as `STOP`,
 * have none.
 *
 * The object is sealed and shared: do not change it.
 *
 * ```c
 * JsonObject *data = qmp_event_get_data (event);
 * JsonNode *device = data != NULL ? json_object_get_member (data, "device") : NULL;
 *
 * // The server chooses the types: check them.
 * if (device != NULL && JSON_NODE_HOLDS_VALUE (device) &&
 *     json_node_get_value_type (device) == G_TYPE_STRING)
 *   g_print ("%s\n", json_node_get_string (device));
 * ```
 *
 * Returns: (transfer none) (nullable): the event's data, or %NULL
 *
 * Since: 1.0
 */
JsonObject *
qmp_event_get_data (QmpEvent *self)
{
  JsonObject *data;

  g_return_val_if_fail (self != NULL, NULL);

  data = g_atomic_pointer_get (&self->data);
  if (data == NULL && self->data_json != NULL)
    {
      /* Checked when it came: it parses, and it is an object. */
      JsonObject *made = _qmp_json_parse_checked_object (self->data_json, self->data_json_len);

      json_object_seal (made);

      /* Events are shared between threads: the first one to make it wins. */
      if (!g_atomic_pointer_compare_and_exchange (&self->data, NULL, made))
        json_object_unref (made);
      data = g_atomic_pointer_get (&self->data);
    }

  return data;
}

/**
 * qmp_event_get_data_json:
 * @self: a #QmpEvent
 *
 * Gets the `data` member of the event as JSON text: as the server wrote
 * it, for an event that came from a server, so every number is exactly
 * what the server sent (a `uint64` above %G_MAXINT64, or a number beyond
 * a double's range, which a #JsonNode cannot hold exactly); for an event
 * made with [ctor@Qmp.Event.new], the data written out by json-glib.
 *
 * ```c
 * const char *json = qmp_event_get_data_json (event);
 *
 * if (json != NULL)
 *   g_print ("%s %s\n", qmp_event_get_name (event), json);
 * ```
 *
 * Returns: (nullable): the event's data as JSON text, or %NULL when it
 *   has none
 *
 * Since: 1.0
 */
const char *
qmp_event_get_data_json (QmpEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data_json;
}

/**
 * qmp_event_get_timestamp:
 * @self: a #QmpEvent
 *
 * Gets the time at which the server emitted the event, in UTC with
 * microsecond precision.
 *
 * QEMU sends a timestamp of -1 seconds and -1 microseconds when it could
 * not read its clock; the event then has no timestamp.
 *
 * ```c
 * GDateTime *when = qmp_event_get_timestamp (event);
 *
 * if (when != NULL)
 *   {
 *     g_autofree char *text = g_date_time_format_iso8601 (when);
 *     g_print ("%s at %s\n", qmp_event_get_name (event), text);
 *   }
 * ```
 *
 * Returns: (transfer none) (nullable): the timestamp, or %NULL
 *
 * Since: 1.0
 */
GDateTime *
qmp_event_get_timestamp (QmpEvent *self)
{
  GDateTime *timestamp;

  g_return_val_if_fail (self != NULL, NULL);

  timestamp = g_atomic_pointer_get (&self->timestamp);
  if (timestamp == NULL && self->timestamp_usec >= 0)
    {
      g_autoptr(GDateTime) whole = g_date_time_new_from_unix_utc (self->timestamp_usec / G_USEC_PER_SEC);
      GDateTime *made = whole ? g_date_time_add (whole, self->timestamp_usec % G_USEC_PER_SEC) : NULL;

      /* Events are shared between threads: the first one to make it wins. */
      if (made != NULL && !g_atomic_pointer_compare_and_exchange (&self->timestamp, NULL, made))
        g_date_time_unref (made);
      timestamp = g_atomic_pointer_get (&self->timestamp);
    }

  return timestamp;
}

/* Whether every member of @event_match (not empty) is in @data (nullable:
 * no data), equal as JSON */
static gboolean
data_matches (JsonObject *data,
              JsonObject *event_match)
{
  JsonObjectIter iter;
  const char *member_name;
  JsonNode *expected;

  if (data == NULL)
    return FALSE;

  json_object_iter_init (&iter, event_match);
  while (json_object_iter_next (&iter, &member_name, &expected))
    {
      JsonNode *actual = json_object_get_member (data, member_name);

      if (actual == NULL || !json_node_equal (actual, expected))
        return FALSE;
    }

  return TRUE;
}

/* As qmp_event_matches(), but leaving no data object in @self: the
 * channel and the event queues match on the I/O thread, and the event
 * then waits (for the "event" signal, in a queue) counted at the size of
 * its text, while its tree could cost a hundred times more.  The data is
 * parsed into *@scratch (a temporary of the caller's, %NULL at first, to
 * free with json_object_unref() when it is no longer %NULL) only when a
 * filter needs it, so that the caller may match one event against many
 * filters and parse it at most once; an event without text (one made
 * with qmp_event_new()) is matched against the data it was given. */
gboolean
_qmp_event_matches_transient (QmpEvent    *self,
                              const char  *event_name,
                              JsonObject  *event_match,
                              JsonObject **scratch)
{
  JsonObject *data;

  if (event_name != NULL && !g_str_equal (event_name, self->name))
    return FALSE;
  if (event_match == NULL || json_object_get_size (event_match) == 0)
    return TRUE;

  if (self->data_json == NULL)
    data = g_atomic_pointer_get (&self->data);
  else
    {
      /* Checked when it came: it parses, and it is an object. */
      if (*scratch == NULL)
        *scratch = _qmp_json_parse_checked_object (self->data_json, self->data_json_len);
      data = *scratch;
    }

  return data_matches (data, event_match);
}

/**
 * qmp_event_matches:
 * @self: a #QmpEvent
 * @event_name: (nullable): the name the event must have, or %NULL for any
 * @event_match: (nullable): members that the event's data must contain
 *
 * Checks whether @self is the event named @event_name and whether every
 * member of @event_match is equal (as JSON, compared deeply) to the member
 * of the same name in the event's data.
 *
 * An event without data matches only an empty or %NULL @event_match.  The
 * data is the server's to choose: a member of another type than the one in
 * @event_match (a number where a string is expected) does not match, and
 * is never an error.
 *
 * ```c
 * g_autoptr(JsonObject) match = json_object_new ();
 *
 * json_object_set_string_member (match, "device", "kbd0");
 * if (qmp_event_matches (event, "DEVICE_DELETED", match))
 *   g_print ("kbd0 is gone\n");
 * ```
 *
 * Returns: %TRUE if @self matches
 *
 * Since: 1.0
 */
gboolean
qmp_event_matches (QmpEvent   *self,
                   const char *event_name,
                   JsonObject *event_match)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (event_name != NULL && !g_str_equal (event_name, self->name))
    return FALSE;
  if (event_match == NULL || json_object_get_size (event_match) == 0)
    return TRUE;

  return data_matches (qmp_event_get_data (self), event_match);
}
