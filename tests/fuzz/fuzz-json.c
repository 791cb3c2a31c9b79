/* fuzz-json.c: the library's JSON parser
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is one line from a server.  Besides not crashing, leaking or
 * logging, the parser must agree with itself:
 * - _qmp_json_parse() gives a tree or an error, never both or neither;
 *   every string of the tree is valid UTF-8, and the nesting is bounded;
 * - the tree written out as JSON parses back to an equal tree;
 * - _qmp_json_parse_message(), which builds only what the protocol uses,
 *   accepts exactly the objects that _qmp_json_parse() accepts, says
 *   "not an object" exactly for the other values, and its members are
 *   those of the full tree: "data" and "return" (as text), "event", "id",
 *   "QMP", "error", "timestamp", the last one winning when one repeats, as
 *   in a JsonObject;
 * - an event made from the message has the tree's name, data and
 *   timestamp.
 */

#include <math.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-event-private.h"
#include "qmp-json-private.h"

#include "fuzz-common.h"

#define MAX_DEPTH 1024

static gboolean
number_equal (JsonNode *a,
              JsonNode *b)
{
  GType ta = json_node_get_value_type (a);
  GType tb = json_node_get_value_type (b);

  if (ta == G_TYPE_INT64 && tb == G_TYPE_INT64)
    return json_node_get_int (a) == json_node_get_int (b);
  /* json-glib writes 1.0 as "1", which reads back as an integer. */
  return json_node_get_double (a) == json_node_get_double (b);
}

static gboolean
tree_equal (JsonNode *a,
            JsonNode *b,
            gboolean  exact)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;

  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a);
        JsonObject *ob = json_node_get_object (b);
        g_autoptr(GList) members = json_object_get_members (oa);

        if (json_object_get_size (oa) != json_object_get_size (ob))
          return FALSE;
        for (GList *l = members; l != NULL; l = l->next)
          {
            JsonNode *mb = json_object_get_member (ob, l->data);

            if (mb == NULL || !tree_equal (json_object_get_member (oa, l->data), mb, exact))
              return FALSE;
          }
        return TRUE;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *aa = json_node_get_array (a);
        JsonArray *ab = json_node_get_array (b);
        guint n = json_array_get_length (aa);

        if (json_array_get_length (ab) != n)
          return FALSE;
        for (guint i = 0; i < n; i++)
          if (!tree_equal (json_array_get_element (aa, i), json_array_get_element (ab, i), exact))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_VALUE:
    default:
      {
        GType ta = json_node_get_value_type (a);
        GType tb = json_node_get_value_type (b);

        if (!exact && (ta == G_TYPE_INT64 || ta == G_TYPE_DOUBLE) &&
            (tb == G_TYPE_INT64 || tb == G_TYPE_DOUBLE))
          return number_equal (a, b);
        if (ta != tb)
          return FALSE;
        if (ta == G_TYPE_STRING)
          return g_str_equal (json_node_get_string (a), json_node_get_string (b));
        if (ta == G_TYPE_BOOLEAN)
          return json_node_get_boolean (a) == json_node_get_boolean (b);
        return number_equal (a, b);
      }
    }
}

/* Checks the tree's strings and depth; FALSE if it holds a number that
 * JSON cannot write (inf: a number beyond the doubles). */
static gboolean
tree_check (JsonNode *node,
            guint     depth)
{
  gboolean writable = TRUE;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);

        g_assert_cmpuint (depth, <, MAX_DEPTH);
        for (GList *l = members; l != NULL; l = l->next)
          {
            g_assert_true (g_utf8_validate (l->data, -1, NULL));
            writable &= tree_check (json_object_get_member (object, l->data), depth + 1);
          }
        break;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_assert_cmpuint (depth, <, MAX_DEPTH);
        for (guint i = 0; i < json_array_get_length (array); i++)
          writable &= tree_check (json_array_get_element (array, i), depth + 1);
        break;
      }

    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        g_assert_true (g_utf8_validate (json_node_get_string (node), -1, NULL));
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        writable = isfinite (json_node_get_double (node));
      break;

    case JSON_NODE_NULL:
    default:
      break;
    }

  return writable;
}

/* The text of a "data" or "return" member parses to the member itself. */
static void
check_member_text (JsonObject *object,
                   const char *name,
                   const char *text,
                   gsize       len,
                   GString    *scratch)
{
  JsonNode *member = json_object_get_member (object, name);
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true ((member != NULL) == (text != NULL));
  if (text == NULL)
    return;
  parsed = _qmp_json_parse (text, len, scratch, &error);
  g_assert_no_error (error);
  g_assert_true (tree_equal (parsed, member, TRUE));
}

static gboolean
holds_type (JsonNode *node,
            GType     type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gint64
timestamp_member (JsonObject *object,
                  const char *name)
{
  JsonNode *timestamp = json_object_get_member (object, "timestamp");
  JsonNode *member;

  if (timestamp == NULL || !JSON_NODE_HOLDS_OBJECT (timestamp))
    return -1;
  member = json_object_get_member (json_node_get_object (timestamp), name);
  return holds_type (member, G_TYPE_INT64) ? json_node_get_int (member) : -1;
}

static void
check_message (JsonNode    *root,
               const char  *data,
               gsize        size,
               gboolean     want_greeting,
               GString     *scratch)
{
  g_auto(QmpMessage) message = { 0, };
  g_autoptr(GError) error = NULL;
  gboolean not_an_object = TRUE;
  gboolean ok;
  JsonObject *object;
  JsonNode *member;

  ok = _qmp_json_parse_message (data, size, scratch, want_greeting, G_MAXUINT32, &message,
                                &not_an_object, &error);
  g_assert_true (ok == (root != NULL && JSON_NODE_HOLDS_OBJECT (root)));
  g_assert_true (not_an_object == (root != NULL && !JSON_NODE_HOLDS_OBJECT (root)));
  /* A value that is not an object is no JSON error. */
  g_assert_true ((error != NULL) == (root == NULL));
  if (!ok)
    return;

  object = json_node_get_object (root);

  check_member_text (object, "data", message.data_json, message.data_json_len, scratch);
  check_member_text (object, "return", message.ret_json, message.ret_json_len, scratch);

  member = json_object_get_member (object, "event");
  g_assert_true (message.has_event == (member != NULL));
  if (holds_type (member, G_TYPE_STRING))
    g_assert_cmpstr (message.event, ==, json_node_get_string (member));
  else
    g_assert_null (message.event);

  member = json_object_get_member (object, "id");
  g_assert_true (message.has_id == (member != NULL));
  if (holds_type (member, G_TYPE_INT64) || holds_type (member, G_TYPE_DOUBLE))
    g_assert_true (message.id != NULL && tree_equal (message.id, member, TRUE));
  else
    g_assert_null (message.id);

  member = json_object_get_member (object, "QMP");
  if (want_greeting && member != NULL)
    g_assert_true (message.greeting != NULL && tree_equal (message.greeting, member, TRUE));
  else
    g_assert_null (message.greeting);

  member = json_object_get_member (object, "error");
  g_assert_true (message.has_error == (member != NULL));
  if (member != NULL && JSON_NODE_HOLDS_OBJECT (member))
    {
      JsonObject *expected = json_node_get_object (member);

      g_assert_nonnull (message.error);
      for (guint i = 0; i < 2; i++)
        {
          const char *name = i == 0 ? "class" : "desc";
          JsonNode *a = json_object_get_member (json_node_get_object (message.error), name);
          JsonNode *b = json_object_get_member (expected, name);

          g_assert_true ((a == NULL) == (b == NULL));
          if (a != NULL)
            g_assert_true (tree_equal (a, b, TRUE));
        }
    }
  else
    {
      g_assert_null (message.error);
    }

  g_assert_cmpint (message.seconds, ==, timestamp_member (object, "seconds"));
  g_assert_cmpint (message.microseconds, ==, timestamp_member (object, "microseconds"));

  /* What the channel makes of an event. */
  if (message.has_event)
    {
      g_autofree char *name = g_strdup (message.event);
      QmpEvent *event = _qmp_event_new_from_message (&message);

      g_assert_true ((event != NULL) == (name != NULL));
      if (event != NULL)
        {
          JsonNode *data_member = json_object_get_member (object, "data");
          JsonObject *event_data = qmp_event_get_data (event);

          g_assert_cmpstr (qmp_event_get_name (event), ==, name);
          if (data_member != NULL && JSON_NODE_HOLDS_OBJECT (data_member))
            {
              g_autoptr(JsonNode) wrapped = json_node_init_object (json_node_alloc (), event_data);

              g_assert_nonnull (event_data);
              g_assert_true (tree_equal (wrapped, data_member, TRUE));
            }
          else
            {
              g_assert_null (event_data);
            }
          qmp_event_get_timestamp (event);
          g_assert_true (qmp_event_matches (event, qmp_event_get_name (event), event_data));
          qmp_event_unref (event);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;

  fuzz_init ();

  root = _qmp_json_parse ((const char *) data, size, scratch, &error);
  g_assert_true ((root == NULL) != (error == NULL));

  if (root != NULL && tree_check (root, 0))
    {
      g_autoptr(GString) text = g_string_new (NULL);
      g_autofree char *redacted = _qmp_json_to_string_redacted (root);
      g_autoptr(JsonNode) again = NULL;
      g_autoptr(GError) again_error = NULL;

      _qmp_json_append_node (text, root);
      again = _qmp_json_parse (text->str, text->len, scratch, &again_error);
      g_assert_no_error (again_error);
      g_assert_true (tree_equal (root, again, FALSE));
      g_assert_nonnull (redacted);
    }

  /* Parsed twice, as the channel does: a greeting is built only while one
   * is expected. */
  check_message (root, (const char *) data, size, FALSE, scratch);
  check_message (root, (const char *) data, size, TRUE, scratch);

  /* With a limit on what the tree may cost: the same answer, or
   * QMP_ERROR_MESSAGE_TOO_LARGE; the debug log's text, or a placeholder. */
  {
    g_auto(QmpMessage) message = { 0, };
    g_autoptr(GError) small_error = NULL;
    g_autofree char *logged = NULL;
    gboolean not_an_object = FALSE;
    guint64 limit = size / 8 + 1;

    if (_qmp_json_parse_message ((const char *) data, size, scratch, TRUE, limit, &message,
                                 &not_an_object, &small_error))
      g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
    else if (small_error != NULL && !g_error_matches (small_error, QMP_ERROR,
                                                      QMP_ERROR_MESSAGE_TOO_LARGE))
      g_assert_null (root);
    logged = _qmp_json_line_for_log ((const char *) data, size, scratch, limit);
    g_assert_nonnull (logged);
  }

  return 0;
}
