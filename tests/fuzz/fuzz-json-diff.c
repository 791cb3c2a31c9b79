/* fuzz-json-diff.c: the library's JSON parser against json-glib's
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The library parses what the server sends with a parser of its own
 * (qmp-json-parser.c) that must build the trees JsonParser builds.  For
 * an input that both accept, the trees must be equal: same node types,
 * same values (integers as integers, doubles bit for bit), same members.
 * An input that the library accepts and json-glib rejects is a finding
 * too, unless it is one of the deliberate differences.  json-glib accepts
 * more than JSON (see README.md), so the other direction is not checked.
 *
 * The deliberate differences (README.md explains each):
 * - nesting deeper than 1024 is rejected (JsonParser recurses without a
 *   bound and overflows the stack); such inputs never reach JsonParser;
 * - "\u0000" in a string is rejected (JsonNode strings end at NUL;
 *   JsonParser cuts the string short there);
 * - an empty input, or white space only, is rejected (JsonParser gives an
 *   empty document);
 * - integers beyond the int64 range: up to G_MAXUINT64, kept in the
 *   integer's bits as QEMU's uint64 values need; beyond that, a double;
 *   json-glib's scanner saturates at G_MAXUINT64 (-1 once stored);
 *   inputs with such integers are not compared (number_deliberate()).
 */

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "qmp-json-private.h"

#include "fuzz-common.h"

#define MAX_DEPTH 1024

/* An upper bound of the input's nesting (brackets in strings count). */
static gsize
nesting_bound (const uint8_t *data,
               size_t         size)
{
  gsize depth = 0, max = 0;

  for (size_t i = 0; i < size; i++)
    if (data[i] == '[' || data[i] == '{')
      max = MAX (max, ++depth);
  return max;
}

/* Whether an integer lexeme is outside the int64 range. */
static gboolean
is_big_integer (const char *text,
                gsize       len)
{
  const char *digits = text;
  const char *limit = "9223372036854775807";

  if (len > 0 && *digits == '-')
    {
      digits++;
      len--;
      limit = "9223372036854775808";
    }
  while (len > 1 && *digits == '0')
    {
      digits++;
      len--;
    }
  if (len != strlen (limit))
    return len > strlen (limit);
  return strncmp (digits, limit, len) > 0;
}

/* Whether the input holds an integer beyond the int64 range, which both
 * parsers read in their own way.  Numbers are found by their lexemes
 * outside strings, roughly: false positives only weaken the check. */
static gboolean
number_deliberate (const uint8_t *data,
                   size_t         size)
{
  gboolean in_string = FALSE;

  for (size_t i = 0; i < size; i++)
    {
      if (in_string)
        {
          if (data[i] == '\\')
            i++;
          else if (data[i] == '"')
            in_string = FALSE;
          continue;
        }
      if (data[i] == '"')
        {
          in_string = TRUE;
          continue;
        }
      if (data[i] == '-' || g_ascii_isdigit (data[i]))
        {
          size_t start = i;

          if (data[i] == '-')
            i++;
          while (i < size && g_ascii_isdigit (data[i]))
            i++;
          if (i < size && (data[i] == '.' || data[i] == 'e' || data[i] == 'E'))
            {
              /* A double: both use g_ascii_strtod (). */
              while (i < size && (g_ascii_isdigit (data[i]) || strchr (".eE+-", data[i])))
                i++;
            }
          else if (is_big_integer ((const char *) data + start, i - start))
            {
              return TRUE;
            }
          i--;
        }
    }
  return FALSE;
}

static gboolean
tree_equal (JsonNode *a,
            JsonNode *b)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;

  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a);
        JsonObject *ob = json_node_get_object (b);
        g_autoptr(GList) ma = json_object_get_members (oa);
        g_autoptr(GList) mb = json_object_get_members (ob);
        GList *la, *lb;

        /* Members in the same order too. */
        for (la = ma, lb = mb; la != NULL && lb != NULL; la = la->next, lb = lb->next)
          if (!g_str_equal (la->data, lb->data) ||
              !tree_equal (json_object_get_member (oa, la->data),
                           json_object_get_member (ob, lb->data)))
            return FALSE;
        return la == NULL && lb == NULL;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *aa = json_node_get_array (a);
        JsonArray *ab = json_node_get_array (b);
        guint n = json_array_get_length (aa);

        if (json_array_get_length (ab) != n)
          return FALSE;
        for (guint i = 0; i < n; i++)
          if (!tree_equal (json_array_get_element (aa, i), json_array_get_element (ab, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (a);

        if (type != json_node_get_value_type (b))
          return FALSE;
        if (type == G_TYPE_STRING)
          return g_str_equal (json_node_get_string (a), json_node_get_string (b));
        if (type == G_TYPE_BOOLEAN)
          return json_node_get_boolean (a) == json_node_get_boolean (b);
        if (type == G_TYPE_INT64)
          return json_node_get_int (a) == json_node_get_int (b);
        {
          double da = json_node_get_double (a);
          double db = json_node_get_double (b);

          return memcmp (&da, &db, sizeof da) == 0;
        }
      }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) theirs_error = NULL;
  g_autoptr(JsonNode) ours = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *theirs;

  fuzz_init ();

  if (nesting_bound (data, size) > MAX_DEPTH)
    return 0;

  ours = _qmp_json_parse ((const char *) data, size, NULL, &error);

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) data, size, &theirs_error))
    theirs = NULL;
  else
    theirs = json_parser_get_root (parser);

  if (ours == NULL)
    return 0;

  if (number_deliberate (data, size))
    return 0;

  if (theirs == NULL)
    fuzz_fail ("fuzz-json-diff: json-glib rejects what the library accepts: %s",
             theirs_error ? theirs_error->message : "empty document");

  if (!tree_equal (ours, theirs))
    {
      g_autofree char *a = json_to_string (ours, FALSE);
      g_autofree char *b = json_to_string (theirs, FALSE);

      fuzz_fail ("fuzz-json-diff: the trees differ:\n  library:   %s\n  json-glib: %s", a, b);
    }

  return 0;
}
