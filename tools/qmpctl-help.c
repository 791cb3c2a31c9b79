/* qmpctl-help.c: what the server says about its commands
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gi18n.h>

#include "qmpctl.h"

/* Types nest (arrays of arrays of objects…), and a hostile schema may
 * nest them forever. */
#define MAX_TYPE_DEPTH 8

/* A schema whose types refer to themselves many times over could make
 * the text grow without end: it is cut there. */
#define MAX_HELP_TEXT (256 * 1024)

/* query-qmp-schema's return, as QEMU documents it in qapi/introspect.json.
 * The peer's data is the peer's to choose: every member read is checked
 * for its type, and one of another type is taken as absent. */
struct _QmpctlSchema
{
  JsonNode *root;
  GHashTable *entities;    /* name → its JsonObject in root */
};

static JsonArray *
get_array (JsonObject *object,
           const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
get_element_object (JsonArray *array,
                    guint      index)
{
  JsonNode *node = json_array_get_element (array, index);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/**
 * qmpctl_json_get_string:
 *
 * Returns: (nullable): the string member @name of @object, or %NULL when
 *   @object is %NULL, or @name is absent or not a string
 */
const char *
qmpctl_json_get_string (JsonObject *object,
                        const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/**
 * qmpctl_schema_new:
 * @root: (transfer full) (nullable): the return of query-qmp-schema
 */
QmpctlSchema *
qmpctl_schema_new (JsonNode *root)
{
  QmpctlSchema *self = g_new0 (QmpctlSchema, 1);
  JsonArray *array;

  self->root = root;
  self->entities = g_hash_table_new (g_str_hash, g_str_equal);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return self;

  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *entity = get_element_object (array, i);
      const char *name = qmpctl_json_get_string (entity, "name");

      if (name != NULL)
        g_hash_table_insert (self->entities, (gpointer) name, entity);
    }

  return self;
}

void
qmpctl_schema_free (QmpctlSchema *self)
{
  g_hash_table_unref (self->entities);
  g_clear_pointer (&self->root, json_node_unref);
  g_free (self);
}

/**
 * qmpctl_schema_lookup:
 * @meta_type: (nullable): the meta-type that the entity must have
 *
 * Returns: (nullable): the entity named @name
 */
JsonObject *
qmpctl_schema_lookup (QmpctlSchema *self,
                      const char   *name,
                      const char   *meta_type)
{
  JsonObject *entity = name != NULL ? g_hash_table_lookup (self->entities, name) : NULL;

  if (entity != NULL && meta_type != NULL &&
      g_strcmp0 (qmpctl_json_get_string (entity, "meta-type"), meta_type) != 0)
    return NULL;

  return entity;
}

int
qmpctl_compare_strings (gconstpointer a,
                        gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* ------------------------------------------------------------ types */

static void append_type (QmpctlSchema *self,
                         GString      *out,
                         const char   *name,
                         guint         depth);

/* The string members @member of @array's objects, or with @member NULL
 * @array's own strings (quoted), joined by @separator; with @as_types,
 * each is the name of a type, written as append_type() writes it. */
static void
append_list (QmpctlSchema *self,
             GString      *out,
             JsonArray    *array,
             const char   *member,
             const char   *separator,
             gboolean      as_types,
             guint         depth)
{
  gboolean first = TRUE;

  for (guint i = 0; array != NULL && i < json_array_get_length (array) && out->len < MAX_HELP_TEXT; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *text;

      /* An enum's "values" are strings; "members" are objects. */
      if (member == NULL)
        text = JSON_NODE_HOLDS_VALUE (element) &&
               json_node_get_value_type (element) == G_TYPE_STRING ? json_node_get_string (element) : NULL;
      else
        text = qmpctl_json_get_string (get_element_object (array, i), member);
      if (text == NULL)
        continue;

      if (!first)
        g_string_append (out, separator);
      first = FALSE;
      if (as_types)
        append_type (self, out, text, depth + 1);
      else if (member == NULL)
        g_string_append_printf (out, "\"%s\"", text);
      else
        g_string_append (out, text);
    }
}

/* A type as one line: a builtin by its name (str, int, bool, any…), an
 * enum as its values, an array as [T], an object as {its members}, an
 * alternate as its types.  The schema's own names of the others are
 * numbers that mean nothing. */
static void
append_type (QmpctlSchema *self,
             GString      *out,
             const char   *name,
             guint         depth)
{
  JsonObject *type = qmpctl_schema_lookup (self, name, NULL);
  const char *meta_type = qmpctl_json_get_string (type, "meta-type");

  if (depth > MAX_TYPE_DEPTH || out->len >= MAX_HELP_TEXT)
    g_string_append (out, "…");
  else if (g_strcmp0 (meta_type, "enum") == 0)
    append_list (self, out, get_array (type, "values"), NULL, "|", FALSE, depth);
  else if (g_strcmp0 (meta_type, "array") == 0)
    {
      g_string_append_c (out, '[');
      append_type (self, out, qmpctl_json_get_string (type, "element-type"), depth + 1);
      g_string_append_c (out, ']');
    }
  else if (g_strcmp0 (meta_type, "object") == 0)
    {
      g_string_append_c (out, '{');
      append_list (self, out, get_array (type, "members"), "name", ", ", FALSE, depth);
      g_string_append_c (out, '}');
    }
  else if (g_strcmp0 (meta_type, "alternate") == 0)
    append_list (self, out, get_array (type, "members"), "type", " or ", TRUE, depth);
  else
    g_string_append (out, name != NULL ? name : "?");
}

/* The members of object type @name, one a line as KEY=TYPE, optional
 * ones in brackets; then, for a union, each variant's own members under
 * TAG="CASE":. */
static void
append_members (QmpctlSchema *self,
                GString      *out,
                const char   *name,
                guint         indent,
                guint         depth)
{
  JsonObject *type = qmpctl_schema_lookup (self, name, "object");
  JsonArray *members = type != NULL ? get_array (type, "members") : NULL;
  JsonArray *variants = type != NULL ? get_array (type, "variants") : NULL;
  const char *tag = qmpctl_json_get_string (type, "tag");

  if (depth > MAX_TYPE_DEPTH)
    return;

  for (guint i = 0; members != NULL && i < json_array_get_length (members) && out->len < MAX_HELP_TEXT; i++)
    {
      JsonObject *member = get_element_object (members, i);
      const char *member_name = qmpctl_json_get_string (member, "name");
      gboolean optional = member != NULL && json_object_has_member (member, "default");

      if (member_name == NULL)
        continue;
      g_string_append_printf (out, "%*s%s%s=", indent, "", optional ? "[" : "", member_name);
      append_type (self, out, qmpctl_json_get_string (member, "type"), depth);
      g_string_append (out, optional ? "]\n" : "\n");
    }

  for (guint i = 0; tag != NULL && variants != NULL && i < json_array_get_length (variants) && out->len < MAX_HELP_TEXT; i++)
    {
      JsonObject *variant = get_element_object (variants, i);
      const char *variant_case = qmpctl_json_get_string (variant, "case");
      JsonObject *variant_type = qmpctl_schema_lookup (self, qmpctl_json_get_string (variant, "type"), "object");
      JsonArray *variant_members = variant_type != NULL ? get_array (variant_type, "members") : NULL;

      /* A case that adds nothing is left out. */
      if (variant_case == NULL || variant_members == NULL ||
          (json_array_get_length (variant_members) == 0 && get_array (variant_type, "variants") == NULL))
        continue;
      g_string_append_printf (out, "%*s%s=\"%s\":\n", indent, "", tag, variant_case);
      append_members (self, out, qmpctl_json_get_string (variant, "type"), indent + 2, depth + 1);
    }
}

/**
 * qmpctl_schema_describe:
 *
 * Returns: (nullable): what @command takes and returns, as lines
 *   without a final newline; %NULL when the schema has no such command
 */
char *
qmpctl_schema_describe (QmpctlSchema *self,
                        const char   *command)
{
  JsonObject *entity = qmpctl_schema_lookup (self, command, "command");
  g_autoptr(GString) out = NULL;
  const char *ret_type;

  if (entity == NULL)
    return NULL;

  out = g_string_new (command);
  g_string_append_c (out, '\n');
  append_members (self, out, qmpctl_json_get_string (entity, "arg-type"), 2, 0);
  ret_type = qmpctl_json_get_string (entity, "ret-type");
  if (ret_type != NULL)
    {
      g_autoptr(GString) type = g_string_new (NULL);

      append_type (self, type, ret_type, 0);
      g_string_append_printf (out, _("Returns: %s"), type->str);
    }

  return g_strchomp (g_string_free (g_steal_pointer (&out), FALSE));
}

/* ------------------------------------------------------------ loading */

/**
 * qmpctl_load_command_names:
 *
 * query-commands: `[{"name": …}, …]`; the guest agent has no such
 * command, but guest-info: `{"supported_commands": [{"name": …}, …], …}`.
 *
 * Returns: (transfer full) (element-type utf8): the names, sorted
 */
GPtrArray *
qmpctl_load_command_names (QmpConnection  *connection,
                           GError        **error)
{
  gboolean guest_agent = (qmp_connection_get_flags (connection) & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GPtrArray) names = NULL;
  JsonArray *array = NULL;

  reply = qmp_connection_execute_sync (connection, guest_agent ? "guest-info" : "query-commands",
                                       NULL, QMP_EXECUTE_FLAGS_NONE, NULL, error);
  if (reply == NULL)
    return NULL;

  if (JSON_NODE_HOLDS_ARRAY (reply))
    array = json_node_get_array (reply);
  else if (JSON_NODE_HOLDS_OBJECT (reply))
    array = get_array (json_node_get_object (reply), "supported_commands");

  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      const char *name = qmpctl_json_get_string (get_element_object (array, i), "name");

      if (name != NULL)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, qmpctl_compare_strings);

  return g_steal_pointer (&names);
}

/**
 * qmpctl_load_schema:
 *
 * Returns: (transfer full): the server's schema, from query-qmp-schema;
 *   empty for a guest agent, which has none
 */
QmpctlSchema *
qmpctl_load_schema (QmpConnection  *connection,
                    GError        **error)
{
  JsonNode *root;

  if ((qmp_connection_get_flags (connection) & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0)
    return qmpctl_schema_new (NULL);

  root = qmp_connection_execute_sync (connection, "query-qmp-schema", NULL,
                                      QMP_EXECUTE_FLAGS_NONE, NULL, error);

  return root != NULL ? qmpctl_schema_new (root) : NULL;
}

/**
 * qmpctl_help_text:
 * @names: (element-type utf8): the server's commands
 * @schema: its schema, empty for a guest agent
 * @command: (nullable): the command to describe, or %NULL for the list
 *
 * Returns: the lines of `help [COMMAND]`, without a final newline
 */
char *
qmpctl_help_text (GPtrArray     *names,
                  QmpctlSchema  *schema,
                  const char    *command,
                  GError       **error)
{
  char *text;

  if (command == NULL)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      for (guint i = 0; i < names->len; i++)
        g_string_append_printf (out, "%s%s", i > 0 ? "\n" : "", (char *) g_ptr_array_index (names, i));

      return g_string_free (g_steal_pointer (&out), FALSE);
    }

  text = qmpctl_schema_describe (schema, command);
  if (text == NULL && g_ptr_array_find_with_equal_func (names, command, g_str_equal, NULL))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("The server has no schema that describes “%s”"), command);
  else if (text == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("“%s” is not a command of this server"), command);

  return text;
}
