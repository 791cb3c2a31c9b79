/* fuzz-template.c: the JSON template builder
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a template, a NUL byte, then the values of its conversions
 * separated by 0x1E bytes.  Each value is a flags byte, 8 bytes of a
 * number (little-endian: the integer, the unsigned integer and the bits of
 * the double) and the rest its string; what is missing is 0 or "".  Flags:
 * 0x01 the string is NULL, 0x02 the node is NULL, 0x04 the boolean is
 * TRUE, 0x08 the node is the string (or null if the string is not UTF-8)
 * rather than the integer.
 *
 * A va_list cannot be given arguments blindly (reading one that is not
 * there is undefined), so the template is built by
 * _qmp_json_build_object_array(), which reads the same values from an
 * array, one element per '%' of the template (at least as many as there
 * are conversions).  Checked: NULL exactly when one critical named the
 * template; otherwise an object, which the library writes as JSON that its
 * strict parser reads back to the same tree (a double of integral value
 * may come back as the integer of that value: the library writes it so).
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-json-private.h"
#include "qmp-json-template-private.h"

#include "fuzz-common.h"

#define MAX_VALUES 256

static guint template_criticals;

static double
number_of (JsonNode *node)
{
  return json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                         : json_node_get_double (node);
}

/* Whether @back, read from what the library wrote of @node, means the same.
 * A double with an integral value is written without a fraction ("2",
 * "-0") and reads back as an integer of the same value. */
static gboolean
same_tree (JsonNode *node,
           JsonNode *back)
{
  if (JSON_NODE_TYPE (node) != JSON_NODE_TYPE (back))
    return FALSE;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *a = json_node_get_object (node);
        JsonObject *b = json_node_get_object (back);
        g_autoptr(GList) names_a = json_object_get_members (a);
        g_autoptr(GList) names_b = json_object_get_members (b);
        GList *la, *lb;

        for (la = names_a, lb = names_b; la != NULL && lb != NULL; la = la->next, lb = lb->next)
          if (!g_str_equal (la->data, lb->data) ||
              !same_tree (json_object_get_member (a, la->data), json_object_get_member (b, lb->data)))
            return FALSE;
        return la == NULL && lb == NULL;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);
        JsonArray *b = json_node_get_array (back);

        if (json_array_get_length (a) != json_array_get_length (b))
          return FALSE;
        for (guint i = 0; i < json_array_get_length (a); i++)
          if (!same_tree (json_array_get_element (a, i), json_array_get_element (b, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_VALUE:
      {
        GType type = json_node_get_value_type (node);
        GType back_type = json_node_get_value_type (back);

        if (type == G_TYPE_STRING || type == G_TYPE_BOOLEAN)
          return back_type == type && json_node_equal (node, back);
        if (type == G_TYPE_INT64 && back_type == G_TYPE_INT64)
          return json_node_get_int (node) == json_node_get_int (back);
        if ((type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) ||
            (back_type != G_TYPE_INT64 && back_type != G_TYPE_DOUBLE))
          return FALSE;
        return number_of (node) == number_of (back);
      }

    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

/* A critical about the template is the expected answer to a wrong one;
 * anything else, or any other critical or warning, is a finding. */
static GLogWriterOutput
template_log_writer (GLogLevelFlags   log_level,
                     const GLogField *fields,
                     gsize            n_fields,
                     gpointer         user_data)
{
  if (log_level & G_LOG_LEVEL_CRITICAL)
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0 &&
          g_str_has_prefix (fields[i].value, "_qmp_json_build_object_array: invalid JSON template “"))
        {
          template_criticals++;
          return G_LOG_WRITER_HANDLED;
        }

  return fuzz_log_writer (log_level, fields, n_fields, user_data);
}

static void
template_init (void)
{
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      /* Criticals are not fatal by themselves here (g_test_init() makes
       * them so in the replay): the writer decides. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_log_set_writer_func (template_log_writer, NULL, NULL);
      g_once_init_leave (&initialised, 1);
    }
}

/* The value of one record (@data, @size), its string and node in @strings
 * and @nodes to free. */
static void
read_value (const guint8         *data,
            gsize                 size,
            QmpJsonTemplateValue *value,
            GPtrArray            *strings,
            GPtrArray            *nodes)
{
  guint8 flags = size > 0 ? data[0] : 0;
  guint64 bits = 0;
  gsize n_bits = size > 1 ? MIN (size - 1, 8) : 0;
  char *string;

  for (gsize i = 0; i < n_bits; i++)
    bits |= (guint64) data[1 + i] << (8 * i);
  string = g_strndup ((const char *) data + 1 + n_bits, size > 1 + n_bits ? size - 1 - n_bits : 0);
  g_ptr_array_add (strings, string);

  value->string = (flags & 0x01) ? NULL : string;
  value->integer = (gint64) bits;
  value->unsigned_integer = bits;
  memcpy (&value->number, &bits, sizeof value->number);
  value->boolean = (flags & 0x04) != 0;
  value->node = NULL;
  if (!(flags & 0x02))
    {
      JsonNode *node;

      if (!(flags & 0x08))
        node = json_node_init_int (json_node_alloc (), (gint64) bits);
      else if (g_utf8_validate (string, -1, NULL))
        node = json_node_init_string (json_node_alloc (), string);
      else
        node = json_node_init_null (json_node_alloc ());
      g_ptr_array_add (nodes, node);
      value->node = node;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autofree QmpJsonTemplateValue *values = NULL;
  g_autofree char *format = NULL;
  g_autoptr(JsonObject) object = NULL;
  const guint8 *nul = memchr (data, '\0', size);
  const guint8 *p;
  const guint8 *end = data + size;
  gsize n_values = 0;

  template_init ();

  format = g_strndup ((const char *) data, nul ? (gsize) (nul - data) : size);
  for (const char *c = format; *c != '\0'; c++)
    if (*c == '%')
      n_values++;
  if (n_values > MAX_VALUES)
    return 0;

  values = g_new0 (QmpJsonTemplateValue, MAX (n_values, 1));
  p = nul ? nul + 1 : end;
  for (gsize i = 0; i < n_values; i++)
    {
      const guint8 *sep = memchr (p, 0x1e, end - p);
      const guint8 *record_end = sep ? sep : end;

      read_value (p, record_end - p, &values[i], strings, nodes);
      p = sep ? sep + 1 : end;
    }

  template_criticals = 0;
  object = _qmp_json_build_object_array (format, values, n_values);

  if (object == NULL)
    {
      if (template_criticals != 1)
        fuzz_fail ("NULL after %u criticals", template_criticals);
    }
  else
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
      g_autofree char *text = _qmp_json_to_string (node);
      g_autoptr(JsonNode) back = NULL;
      g_autoptr(GError) error = NULL;

      if (template_criticals != 0)
        fuzz_fail ("an object after %u criticals", template_criticals);
      g_assert_true (g_utf8_validate (text, -1, NULL));
      back = _qmp_json_parse (text, strlen (text), NULL, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (back));
      if (!same_tree (node, back))
        fuzz_fail ("%s reads back as something else", text);
    }

  return 0;
}
