/* qmp-json.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "qmp-json-private.h"

/* json-glib's copies of objects and arrays share their members, and its
 * copies of values their JsonValue (and json-glib's reference counts are
 * not atomic), so anything that crosses a thread is copied all the way
 * down. */
static JsonNode *
node_copy_deep (JsonNode *node,
                gboolean  redact);

static gboolean
is_secret_member (const char *name)
{
  static const char * const secrets[] = {
    "password", "new-password", "passphrase", "secret", "key-secret",
    "new-secret", "old-secret",
  };

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    if (g_str_equal (name, secrets[i]))
      return TRUE;

  return FALSE;
}

/* An object-add of a "secret" object carries its secret in "data" (QEMU 6
 * and later flattened it; before, it sat in "props"). */
static gboolean
is_secret_object (JsonObject *object)
{
  /* Any object on the wire goes through here when logging is on. */
  const char *qom_type = _qmp_json_object_get_string (object, "qom-type");

  return qom_type != NULL && g_str_has_prefix (qom_type, "secret");
}

static JsonObject *
object_copy_deep (JsonObject *object,
                  gboolean    redact,
                  gboolean    redact_data)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (redact && is_secret_object (object))
    redact_data = TRUE;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (redact && (is_secret_member (name) || (redact_data && g_str_equal (name, "data"))))
        json_object_set_string_member (copy, name, "<redacted>");
      else if (redact && redact_data && g_str_equal (name, "props") && JSON_NODE_HOLDS_OBJECT (member))
        json_object_set_object_member (copy, name,
                                       object_copy_deep (json_node_get_object (member), TRUE, TRUE));
      else
        json_object_set_member (copy, name, node_copy_deep (member, redact));
    }

  return copy;
}

static JsonNode *
node_copy_deep (JsonNode *node,
                gboolean  redact)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      copy = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (copy, object_copy_deep (json_node_get_object (node), redact, FALSE));
      return copy;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint len = json_array_get_length (array);
        JsonArray *array_copy = json_array_sized_new (len);

        for (guint i = 0; i < len; i++)
          json_array_add_element (array_copy, node_copy_deep (json_array_get_element (array, i), redact));

        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (copy, array_copy);
        return copy;
      }

    case JSON_NODE_VALUE:
      /* json_node_copy() would share the JsonValue, whose reference count
       * is not atomic, and which json_node_set_*() changes in place. */
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          return json_node_init_int (json_node_alloc (), json_node_get_int (node));
        case G_TYPE_DOUBLE:
          return json_node_init_double (json_node_alloc (), json_node_get_double (node));
        case G_TYPE_BOOLEAN:
          return json_node_init_boolean (json_node_alloc (), json_node_get_boolean (node));
        case G_TYPE_STRING:
          return json_node_init_string (json_node_alloc (), json_node_get_string (node));
        default:
          g_assert_not_reached ();
        }

    case JSON_NODE_NULL:
    default:
      return json_node_init_null (json_node_alloc ());
    }
}

JsonNode *
_qmp_json_node_copy_deep (JsonNode *node)
{
  return node_copy_deep (node, FALSE);
}

JsonObject *
_qmp_json_object_copy_deep (JsonObject *object)
{
  return object_copy_deep (object, FALSE, FALSE);
}

/* Appends @str as a JSON string literal, quotes included: every control
 * character escaped (json-glib 1.6 writes U+001F raw), the rest as it is. */
void
_qmp_json_append_string (GString    *out,
                         const char *str)
{
  const char *run = str;
  const char *p;

  g_string_append_c (out, '"');
  for (p = str; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      /* Runs of bytes that need no escape go in at once */
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;

      g_string_append_len (out, run, p - run);
      run = p + 1;
      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:   g_string_append_printf (out, "\\u%04x", c); break;
        }
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

/* Appends @node as compact JSON.  Not json_to_string(): json-glib 1.6
 * writes 1e41 as "1e+41.0" and infinity as "inf.0", which are not JSON.
 * JSON has no NaN or infinity: an infinity is written as 1e999 (a number
 * too large for a double, as the peer sent it), NaN as null. */
void
_qmp_json_append_node (GString  *out,
                       JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            _qmp_json_append_string (out, name);
            g_string_append_c (out, ':');
            _qmp_json_append_node (out, member);
          }
        g_string_append_c (out, '}');
        break;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            _qmp_json_append_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }

    case JSON_NODE_VALUE:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_STRING)
          {
            _qmp_json_append_string (out, json_node_get_string (node));
          }
        else if (type == G_TYPE_BOOLEAN)
          {
            g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          }
        else if (type == G_TYPE_INT64)
          {
            g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          }
        else
          {
            double value = json_node_get_double (node);
            char buffer[G_ASCII_DTOSTR_BUF_SIZE];

            /* A peer's number beyond a double's range was read as an
             * infinity: 1e999 reads back as the same. */
            if (isinf (value))
              g_string_append (out, value < 0 ? "-1e999" : "1e999");
            else if (isnan (value))
              g_string_append (out, "null");
            else
              {
                g_ascii_dtostr (buffer, sizeof buffer, value);
                g_string_append (out, buffer);
                /* Still a double when read back, and -0.0 keeps its sign:
                 * 2.0 is written "2.0", not "2". */
                if (strpbrk (buffer, ".eE") == NULL)
                  g_string_append (out, ".0");
              }
          }
        break;
      }

    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
    }
}

/* @node as compact JSON text. */
char *
_qmp_json_to_string (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  _qmp_json_append_node (out, node);

  return g_string_free (out, FALSE);
}

char *
_qmp_json_to_string_redacted (JsonNode *node)
{
  g_autoptr(JsonNode) redacted = node_copy_deep (node, TRUE);

  return _qmp_json_to_string (redacted);
}

/* @str as a JSON string literal, quotes included. */
char *
_qmp_json_string_quote (const char *str)
{
  gsize len = 0;
  GString *out;
  char *quoted;

  /* Most strings (command names) need no escape: one copy */
  while (str[len] != '\0' && (guchar) str[len] >= 0x20 && str[len] != '"' && str[len] != '\\')
    len++;
  if (str[len] == '\0')
    {
      quoted = g_malloc (len + 3);
      quoted[0] = '"';
      memcpy (quoted + 1, str, len);
      quoted[len + 1] = '"';
      quoted[len + 2] = '\0';
      return quoted;
    }

  out = g_string_sized_new (strlen (str) + 2);
  _qmp_json_append_string (out, str);

  return g_string_free (out, FALSE);
}

/* Whether g_debug() in our domain is shown: formatting and redacting every
 * line costs more than the I/O, so it is only done when someone looks. */
gboolean
_qmp_debug_enabled (void)
{
  return !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
}

/* The same, for a connection that asked _qmp_debug_enabled() when it was
 * made and got @at_start: G_MESSAGES_DEBUG is read then, not for every
 * line (getenv() scans the whole environment, which cost more than the
 * rest of reading a small reply), as GDBus reads G_DBUS_DEBUG once.
 * g_log_set_debug_enabled() still takes effect at once.  (When it is
 * turned off again, lines may still be formatted; GLib's writer drops
 * them.) */
gboolean
_qmp_debug_enabled_since (gboolean at_start)
{
  return at_start || g_log_get_debug_enabled ();
}

/* ------------------------------------------------------ reading peer data
 *
 * Every value from the wire is the peer's to choose.  json-glib's getters
 * emit a critical for a member of another kind (an object where a string
 * is expected) and silently convert others (a string read as a boolean is
 * FALSE), so peer data is read only through these: a member of another
 * type is reported as absent, and the caller decides whether that is a
 * protocol error.  A NULL object or node is absent too, so lookups chain.
 */

JsonObject *
_qmp_json_node_get_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

const char *
_qmp_json_node_get_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* Only an integer: not a double, even an integral one, nor a boolean. */
gboolean
_qmp_json_node_get_int (JsonNode *node,
                        gint64   *value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  *value = json_node_get_int (node);
  return TRUE;
}

gboolean
_qmp_json_node_get_boolean (JsonNode *node,
                            gboolean *value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return FALSE;

  *value = json_node_get_boolean (node);
  return TRUE;
}

static JsonNode *
object_get_member (JsonObject *object,
                   const char *member)
{
  return object != NULL ? json_object_get_member (object, member) : NULL;
}

JsonObject *
_qmp_json_object_get_object (JsonObject *object,
                             const char *member)
{
  return _qmp_json_node_get_object (object_get_member (object, member));
}

JsonArray *
_qmp_json_object_get_array (JsonObject *object,
                            const char *member)
{
  JsonNode *node = object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

const char *
_qmp_json_object_get_string (JsonObject *object,
                             const char *member)
{
  return _qmp_json_node_get_string (object_get_member (object, member));
}

gboolean
_qmp_json_object_get_int (JsonObject *object,
                          const char *member,
                          gint64     *value)
{
  return _qmp_json_node_get_int (object_get_member (object, member), value);
}

gboolean
_qmp_json_object_get_boolean (JsonObject *object,
                              const char *member,
                              gboolean   *value)
{
  return _qmp_json_node_get_boolean (object_get_member (object, member), value);
}
