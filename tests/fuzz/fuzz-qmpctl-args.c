/* fuzz-qmpctl-args.c: qmpctl's command-line arguments
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a command line, its arguments separated by NUL bytes (which
 * no argument can hold).  If the first byte is odd, the rest goes to
 * qmpctl_parse_commands() (`CMD [KEY=VALUE…] [, CMD …]`), otherwise to
 * qmpctl_parse_arguments() (`KEY=VALUE…` or one JSON object).  Checked:
 * a result or a G_OPTION_ERROR, never both; every KEY (dotted: a.b.c) of
 * the arguments is in the object built; and what qmpctl would send is
 * JSON that the library's strict parser reads back to the same tree.
 */

#include <string.h>

#include <qmp-glib.h>

#include "qmp-json-private.h"
#include "qmpctl.h"

#include "fuzz-common.h"

#define MAX_ARGS 64

static gboolean
tree_equal (JsonNode *a,
            JsonNode *b)
{
  g_autofree char *ta = json_to_string (a, FALSE);
  g_autofree char *tb = json_to_string (b, FALSE);

  return g_str_equal (ta, tb);
}

/* Whether json-glib 1.6 writes @node wrongly: a double such as 1e41 as
 * "1e+41.0" (it appends ".0" to what has no '.'), and U+001F in a string
 * or a member name raw (it escapes only what is below it).  The library
 * sends arguments through json_to_string(): bugs reported, not qmpctl's. */
static gboolean
json_glib_misprints (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_members (object);

      for (GList *l = members; l != NULL; l = l->next)
        if (strchr (l->data, 0x1f) != NULL ||
            json_glib_misprints (json_object_get_member (object, l->data)))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (json_glib_misprints (json_array_get_element (array, i)))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      return strchr (json_node_get_string (node), 0x1f) != NULL;
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node));
      return strchr (buffer, '.') == NULL && strpbrk (buffer, "eEinfa") != NULL;
    }

  return FALSE;
}

/* What qmpctl puts on the wire must be JSON, and mean @object. */
static void
check_sendable (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) back = NULL;

  if (json_glib_misprints (node))
    return;
  text = json_to_string (node, FALSE);

  g_assert_true (g_utf8_validate (text, -1, NULL));
  back = _qmp_json_parse (text, strlen (text), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tree_equal (node, back));
}

/* Every KEY of KEY=VALUE @args names a member of @object. */
static void
check_keys (JsonObject         *object,
            const char * const *args)
{
  if (args[0] != NULL && args[0][0] == '{')
    return;

  for (guint i = 0; args[i] != NULL; i++)
    {
      g_autofree char *key = g_strndup (args[i], strchr (args[i], '=') - args[i]);
      g_auto(GStrv) parts = g_strsplit (key, ".", -1);
      JsonObject *parent = object;

      for (guint k = 0; parts[k] != NULL; k++)
        {
          JsonNode *member = json_object_get_member (parent, parts[k]);

          g_assert_nonnull (member);
          if (parts[k + 1] != NULL)
            {
              g_assert_true (JSON_NODE_HOLDS_OBJECT (member));
              parent = json_node_get_object (member);
            }
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *p;
  const char *end;
  gboolean commands;

  fuzz_init ();

  if (size == 0)
    return 0;

  commands = data[0] & 1;
  p = (const char *) data + 1;
  end = (const char *) data + size;
  while (p < end && args->len < MAX_ARGS)
    {
      const char *nul = memchr (p, '\0', end - p);
      const char *arg_end = nul ? nul : end;

      g_ptr_array_add (args, g_strndup (p, arg_end - p));
      p = arg_end + 1;
    }
  g_ptr_array_add (args, NULL);

  if (commands)
    {
      g_autoptr(GPtrArray) parsed = qmpctl_parse_commands ((const char * const *) args->pdata,
                                                           &error);

      g_assert_true ((parsed == NULL) != (error == NULL));
      if (error != NULL)
        g_assert_true (error->domain == G_OPTION_ERROR);
      for (guint i = 0; parsed != NULL && i < parsed->len; i++)
        {
          QmpctlCommand *command = g_ptr_array_index (parsed, i);

          g_assert_true (g_ascii_isalpha (command->name[0]));
          if (command->arguments != NULL)
            check_sendable (command->arguments);
        }
    }
  else
    {
      g_autoptr(JsonObject) object = qmpctl_parse_arguments ((const char * const *) args->pdata,
                                                             &error);

      if (error != NULL)
        {
          g_assert_true (error->domain == G_OPTION_ERROR);
          g_assert_null (object);
        }
      else if (args->len == 1)
        {
          g_assert_null (object);
        }
      else
        {
          g_assert_nonnull (object);
          check_keys (object, (const char * const *) args->pdata);
          check_sendable (object);
        }
    }

  return 0;
}
