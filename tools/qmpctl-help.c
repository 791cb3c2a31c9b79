/* qmpctl-help.c: what the server's schema says about its commands
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gi18n.h>

#include "qmpctl.h"

/* QmpSchema resolved and checked the peer's schema; what is left to
 * bound here is the walk: types nest, refer to themselves (a
 * blockdev-add's file is a blockdev-add), and a type reached by many
 * paths is written once for each.  An alternate's alternatives are
 * looked into unless they are alternates: QAPI has no alternate of
 * alternates, and a peer's alternate of fifty times itself would make
 * the work grow as a power. */
#define MAX_TYPE_DEPTH 16
#define MAX_HELP_TEXT (256 * 1024)

int
qmpctl_compare_strings (gconstpointer a,
                        gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* ------------------------------------------------------------ loading */

/* The peer's data (and the user's) is theirs to choose: a member of
 * another type is taken as absent. */
static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *member = object != NULL ? json_object_get_member (object, name) : NULL;

  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) ||
      json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (member);
}

/**
 * qmpctl_get_object_member:
 * @object: (nullable): an object
 *
 * Returns: (nullable): the member @name of @object if it is an object
 */
JsonObject *
qmpctl_get_object_member (JsonObject *object,
                          const char *name)
{
  JsonNode *member = object != NULL ? json_object_get_member (object, name) : NULL;

  return member != NULL && JSON_NODE_HOLDS_OBJECT (member) ? json_node_get_object (member) : NULL;
}

/* Without query-qmp-schema: query-commands, `[{"name": …}, …]`, or for
 * the guest agent guest-info, `{"supported_commands": [{"name": …}, …]}`. */
static GPtrArray *
load_command_list (QmpConnection  *connection,
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
  else if (JSON_NODE_HOLDS_OBJECT (reply) &&
           json_object_has_member (json_node_get_object (reply), "supported_commands"))
    {
      JsonNode *node = json_object_get_member (json_node_get_object (reply), "supported_commands");

      array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_OBJECT (element) ?
                         get_string_member (json_node_get_object (element), "name") : NULL;

      if (name != NULL)
        g_ptr_array_add (names, g_strdup (name));
    }

  return g_steal_pointer (&names);
}

/**
 * qmpctl_load_commands:
 * @schema: (out) (transfer full) (nullable): the server's schema, %NULL
 *   when it has none (the guest agent)
 *
 * The server's commands, from its schema; a server without
 * query-qmp-schema (the guest agent) gives them without one.
 *
 * Returns: (transfer full) (element-type utf8): the names, sorted
 */
GPtrArray *
qmpctl_load_commands (QmpConnection  *connection,
                      QmpSchema     **schema,
                      GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) names = NULL;

  *schema = qmp_connection_get_schema_sync (connection, NULL, &local_error);
  if (*schema != NULL)
    {
      g_auto(GStrv) commands = qmp_schema_list_commands (*schema);

      names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; commands[i] != NULL; i++)
        g_ptr_array_add (names, g_steal_pointer (&commands[i]));
    }
  else if (g_error_matches (local_error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
    names = load_command_list (connection, error);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));

  if (names != NULL)
    g_ptr_array_sort (names, qmpctl_compare_strings);

  return g_steal_pointer (&names);
}

/* ------------------------------------------------------------ help */

/* The alternatives of alternate @type that are no alternates (see
 * above). */
static GPtrArray *
get_alternatives (QmpSchemaType *type)
{
  GPtrArray *alternatives = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_schema_type_unref);

  for (guint i = 0; i < qmp_schema_type_get_n_alternatives (type); i++)
    {
      QmpSchemaType *alternative = qmp_schema_type_get_alternative (type, i);

      if (qmp_schema_type_get_kind (alternative) == QMP_SCHEMA_TYPE_KIND_ALTERNATE)
        qmp_schema_type_unref (alternative);
      else
        g_ptr_array_add (alternatives, alternative);
    }

  return alternatives;
}

typedef struct
{
  GString *out;
  GPtrArray *ancestors;   /* QmpSchemaType: the objects being written */
} Help;

static gboolean
is_ancestor (Help          *help,
             QmpSchemaType *type)
{
  for (guint i = 0; i < help->ancestors->len; i++)
    {
      if (qmp_schema_type_equal (g_ptr_array_index (help->ancestors, i), type))
        return TRUE;
    }

  return FALSE;
}

static void
append_features (GString            *out,
                 const char * const *features)
{
  g_autofree char *list = NULL;

  if (features == NULL || features[0] == NULL)
    return;

  list = g_strjoinv (", ", (char **) features);
  g_string_append_printf (out, " (%s)", list);
}

/* A type on one line: a builtin by its name (str, int, bool, any…), an
 * enum as its values, an array as [T], an alternate as its types; an
 * object as {…} when its members follow, else as {its members}. */
static void
append_summary (GString       *out,
                QmpSchemaType *type,
                gboolean       expanded,
                guint          depth)
{
  if (depth > MAX_TYPE_DEPTH)
    {
      g_string_append (out, "…");
      return;
    }

  switch (qmp_schema_type_get_kind (type))
    {
    case QMP_SCHEMA_TYPE_KIND_BUILTIN:
      g_string_append (out, qmp_schema_type_get_name (type));
      break;
    case QMP_SCHEMA_TYPE_KIND_ENUM:
      {
        const char * const *values = qmp_schema_type_get_enum_values (type);

        for (guint i = 0; values[i] != NULL; i++)
          {
            g_string_append_printf (out, "%s\"%s\"", i > 0 ? "|" : "", values[i]);
            append_features (out, qmp_schema_type_get_enum_value_features (type, values[i]));
          }
      }
      break;
    case QMP_SCHEMA_TYPE_KIND_ARRAY:
      {
        g_autoptr(QmpSchemaType) element = qmp_schema_type_get_element_type (type);

        g_string_append_c (out, '[');
        append_summary (out, element, expanded, depth + 1);
        g_string_append_c (out, ']');
      }
      break;
    case QMP_SCHEMA_TYPE_KIND_OBJECT:
      g_string_append_c (out, '{');
      if (expanded)
        g_string_append (out, "…");
      for (guint i = 0; !expanded && i < qmp_schema_type_get_n_members (type); i++)
        g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", qmp_schema_type_get_member_name (type, i));
      g_string_append_c (out, '}');
      break;
    case QMP_SCHEMA_TYPE_KIND_ALTERNATE:
      {
        g_autoptr(GPtrArray) alternatives = get_alternatives (type);

        for (guint i = 0; i < alternatives->len; i++)
          {
            g_string_append (out, i > 0 ? " or " : "");
            append_summary (out, g_ptr_array_index (alternatives, i), expanded, depth + 1);
          }
        if (alternatives->len == 0)
          g_string_append (out, "alternate");
      }
      break;
    case QMP_SCHEMA_TYPE_KIND_UNKNOWN:
    default:
      {
        g_autofree char *text = qmp_schema_type_to_string (type);

        g_string_append (out, text);
      }
      break;
    }
}

/* The object types that @type holds (itself, an array's element, an
 * alternate's objects), whose members a tree shows under it. */
static void
collect_objects (QmpSchemaType *type,
                 GPtrArray     *objects,
                 guint          depth)
{
  if (depth > MAX_TYPE_DEPTH)
    return;

  switch (qmp_schema_type_get_kind (type))
    {
    case QMP_SCHEMA_TYPE_KIND_OBJECT:
      g_ptr_array_add (objects, qmp_schema_type_ref (type));
      break;
    case QMP_SCHEMA_TYPE_KIND_ARRAY:
      {
        g_autoptr(QmpSchemaType) element = qmp_schema_type_get_element_type (type);

        collect_objects (element, objects, depth + 1);
      }
      break;
    case QMP_SCHEMA_TYPE_KIND_ALTERNATE:
      {
        g_autoptr(GPtrArray) alternatives = get_alternatives (type);

        for (guint i = 0; i < alternatives->len; i++)
          collect_objects (g_ptr_array_index (alternatives, i), objects, depth + 1);
      }
      break;
    case QMP_SCHEMA_TYPE_KIND_BUILTIN:
    case QMP_SCHEMA_TYPE_KIND_ENUM:
    case QMP_SCHEMA_TYPE_KIND_UNKNOWN:
    default:
      break;
    }
}

static gboolean
adds_members (QmpSchemaType *type)
{
  return qmp_schema_type_get_n_members (type) > 0 ||
         qmp_schema_type_get_discriminator (type) != NULL;
}

static void append_members (Help          *help,
                            QmpSchemaType *type,
                            const char    *prefix,
                            guint          indent);

/* The members of object @type, one a line as KEY=TYPE (optional ones in
 * brackets, then the features such as "deprecated"), each followed by
 * the members of its objects, with their dotted keys; then, for a union,
 * each variant's own members under TAG="CASE":. */
static void
append_members (Help          *help,
                QmpSchemaType *type,
                const char    *prefix,
                guint          indent)
{
  const char *tag = qmp_schema_type_get_discriminator (type);
  g_auto(GStrv) variants = NULL;

  if (help->ancestors->len > MAX_TYPE_DEPTH)
    return;
  g_ptr_array_add (help->ancestors, type);

  for (guint i = 0; i < qmp_schema_type_get_n_members (type) && help->out->len < MAX_HELP_TEXT; i++)
    {
      const char *name = qmp_schema_type_get_member_name (type, i);
      gboolean optional = qmp_schema_type_get_member_optional (type, i);
      g_autoptr(QmpSchemaType) member = qmp_schema_type_get_member_type (type, i);
      g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_schema_type_unref);
      g_autofree char *key = NULL;
      gboolean recursive = FALSE;
      gboolean expanded = FALSE;

      collect_objects (member, objects, 0);
      for (guint j = 0; j < objects->len; j++)
        {
          if (is_ancestor (help, g_ptr_array_index (objects, j)))
            recursive = TRUE;
          else if (adds_members (g_ptr_array_index (objects, j)))
            expanded = TRUE;
        }

      key = g_strconcat (prefix, name, NULL);
      g_string_append_printf (help->out, "%*s%s%s=", indent, "", optional ? "[" : "", key);
      append_summary (help->out, member, expanded || recursive, 0);
      g_string_append (help->out, optional ? "]" : "");
      append_features (help->out, qmp_schema_type_get_member_features (type, i));
      if (recursive)
        g_string_append_printf (help->out, " %s", _("(recursive)"));
      g_string_append_c (help->out, '\n');

      for (guint j = 0; j < objects->len; j++)
        {
          QmpSchemaType *object = g_ptr_array_index (objects, j);
          g_autofree char *child_prefix = NULL;

          if (is_ancestor (help, object))
            continue;
          child_prefix = g_strconcat (key, qmp_schema_type_get_kind (member) == QMP_SCHEMA_TYPE_KIND_ARRAY ? "[]." : ".", NULL);
          append_members (help, object, child_prefix, indent + 2);
        }
    }

  variants = tag != NULL ? qmp_schema_type_get_variant_names (type) : NULL;
  for (guint i = 0; variants != NULL && variants[i] != NULL && help->out->len < MAX_HELP_TEXT; i++)
    {
      g_autoptr(QmpSchemaType) variant = qmp_schema_type_get_variant_type (type, variants[i]);

      /* A case that adds nothing is left out. */
      if (variant == NULL || !adds_members (variant) || is_ancestor (help, variant))
        continue;
      g_string_append_printf (help->out, "%*s%s%s=\"%s\":\n", indent, "", prefix, tag, variants[i]);
      append_members (help, variant, prefix, indent + 2);
    }

  g_ptr_array_set_size (help->ancestors, help->ancestors->len - 1);
}

/* What @command takes and returns, as lines without a final newline. */
static char *
describe (QmpSchema  *schema,
          const char *command)
{
  g_autoptr(QmpSchemaType) arguments = qmp_schema_get_command_arguments (schema, command);
  g_autoptr(QmpSchemaType) ret = qmp_schema_get_command_return (schema, command);
  g_autoptr(GPtrArray) ancestors = g_ptr_array_new ();
  Help help = { g_string_new (command), ancestors };

  append_features (help.out, qmp_schema_get_command_features (schema, command));
  g_string_append_c (help.out, '\n');
  if (arguments != NULL && qmp_schema_type_get_kind (arguments) == QMP_SCHEMA_TYPE_KIND_OBJECT)
    append_members (&help, arguments, "", 2);
  if (help.out->len >= MAX_HELP_TEXT)
    g_string_append (help.out, "…\n");
  if (ret != NULL)
    {
      g_autoptr(GString) type = g_string_new (NULL);

      append_summary (type, ret, FALSE, 0);
      g_string_append_printf (help.out, _("Returns: %s"), type->str);
    }

  return g_strchomp (g_string_free (help.out, FALSE));
}

/**
 * qmpctl_help_text:
 * @names: (element-type utf8): the server's commands
 * @schema: (nullable): its schema, %NULL for a guest agent
 * @command: (nullable): the command to describe, or %NULL for the list
 *
 * Returns: the lines of `help [COMMAND]`, without a final newline
 */
char *
qmpctl_help_text (GPtrArray     *names,
                  QmpSchema     *schema,
                  const char    *command,
                  GError       **error)
{
  if (command == NULL)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      for (guint i = 0; i < names->len; i++)
        g_string_append_printf (out, "%s%s", i > 0 ? "\n" : "", (char *) g_ptr_array_index (names, i));

      return g_string_free (g_steal_pointer (&out), FALSE);
    }

  if (schema != NULL && qmp_schema_has_command (schema, command))
    return describe (schema, command);

  if (g_ptr_array_find_with_equal_func (names, command, g_str_equal, NULL))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("The server has no schema that describes “%s”"), command);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("“%s” is not a command of this server"), command);

  return NULL;
}

/* ------------------------------------------------------------ KEY=VALUE */

static const char *
get_discriminator_value (QmpSchemaType *type,
                         JsonObject    *given)
{
  const char *tag = qmp_schema_type_get_discriminator (type);

  return tag != NULL ? get_string_member (given, tag) : NULL;
}

/* The type of member @name of @type, an object (with the variant that
 * @given selects) or an alternate of objects. */
static QmpSchemaType *
find_member_type (QmpSchemaType *type,
                  JsonObject    *given,
                  const char    *name,
                  guint          depth)
{
  QmpSchemaTypeKind kind = qmp_schema_type_get_kind (type);
  const char *value;
  int index;

  if (depth > MAX_TYPE_DEPTH)
    return NULL;

  if (kind == QMP_SCHEMA_TYPE_KIND_ALTERNATE)
    {
      g_autoptr(GPtrArray) alternatives = get_alternatives (type);

      for (guint i = 0; i < alternatives->len; i++)
        {
          QmpSchemaType *found = find_member_type (g_ptr_array_index (alternatives, i), given, name, depth + 1);

          if (found != NULL)
            return found;
        }
      return NULL;
    }
  if (kind != QMP_SCHEMA_TYPE_KIND_OBJECT)
    return NULL;

  index = qmp_schema_type_find_member (type, name);
  if (index >= 0)
    return qmp_schema_type_get_member_type (type, index);

  value = get_discriminator_value (type, given);
  if (value != NULL)
    {
      g_autoptr(QmpSchemaType) variant = qmp_schema_type_get_variant_type (type, value);

      if (variant != NULL)
        return find_member_type (variant, given, name, depth + 1);
    }

  return NULL;
}

/**
 * qmpctl_find_key_type:
 * @arguments: a command's arguments type
 * @given: (nullable): the arguments given, whose discriminators choose
 *   the variants of unions
 * @key: a dotted key, such as `file.filename`
 *
 * Returns: (transfer full) (nullable): the type of @key
 */
QmpSchemaType *
qmpctl_find_key_type (QmpSchemaType *arguments,
                      JsonObject    *given,
                      const char    *key)
{
  g_auto(GStrv) parts = g_strsplit (key, ".", -1);
  g_autoptr(QmpSchemaType) type = qmp_schema_type_ref (arguments);

  for (guint i = 0; parts[i] != NULL && type != NULL; i++)
    {
      QmpSchemaType *member = find_member_type (type, given, parts[i], 0);

      g_clear_pointer (&type, qmp_schema_type_unref);
      type = member;
      given = qmpctl_get_object_member (given, parts[i]);
    }

  return g_steal_pointer (&type);
}

static void
add_member_names (QmpSchemaType *type,
                  JsonObject    *given,
                  const char    *prefix,
                  GPtrArray     *names,
                  guint          depth)
{
  QmpSchemaTypeKind kind = qmp_schema_type_get_kind (type);
  const char *value;

  if (depth > MAX_TYPE_DEPTH)
    return;

  if (kind == QMP_SCHEMA_TYPE_KIND_ALTERNATE)
    {
      g_autoptr(GPtrArray) alternatives = get_alternatives (type);

      for (guint i = 0; i < alternatives->len; i++)
        add_member_names (g_ptr_array_index (alternatives, i), given, prefix, names, depth + 1);
      return;
    }
  if (kind != QMP_SCHEMA_TYPE_KIND_OBJECT)
    return;

  for (guint i = 0; i < qmp_schema_type_get_n_members (type); i++)
    g_ptr_array_add (names, g_strconcat (prefix, qmp_schema_type_get_member_name (type, i), "=", NULL));

  value = get_discriminator_value (type, given);
  if (value != NULL)
    {
      g_autoptr(QmpSchemaType) variant = qmp_schema_type_get_variant_type (type, value);

      if (variant != NULL)
        add_member_names (variant, given, prefix, names, depth + 1);
    }
}

/**
 * qmpctl_add_member_names:
 * @type: an object, or an alternate of objects
 * @given: (nullable): the members given, whose discriminator chooses the
 *   variant of a union
 * @names: (element-type utf8): where `PREFIXNAME=` is added for each member
 */
void
qmpctl_add_member_names (QmpSchemaType *type,
                         JsonObject    *given,
                         const char    *prefix,
                         GPtrArray     *names)
{
  add_member_names (type, given, prefix, names, 0);
}

/* The object that holds the last part of @parts, in @object. */
static JsonObject *
find_parent (JsonObject  *object,
             char       **parts)
{
  for (guint i = 0; object != NULL && parts[i + 1] != NULL; i++)
    object = qmpctl_get_object_member (object, parts[i]);

  return object;
}

/**
 * qmpctl_type_arguments:
 *
 * KEY=VALUE took VALUE as JSON when it parses as JSON: where the schema
 * says that KEY takes a string and not that JSON (`id=123` for a `str`),
 * VALUE becomes the string as typed.
 */
void
qmpctl_type_arguments (QmpSchema     *schema,
                       QmpctlCommand *command)
{
  g_autoptr(QmpSchemaType) arguments = NULL;
  g_autoptr(JsonNode) text = json_node_new (JSON_NODE_VALUE);

  if (command->arguments == NULL || command->args == NULL)
    return;
  arguments = qmp_schema_get_command_arguments (schema, command->name);
  if (arguments == NULL)
    return;

  json_node_set_string (text, "");
  for (guint i = 0; command->args[i] != NULL; i++)
    {
      const char *equals = strchr (command->args[i], '=');
      g_autofree char *key = NULL;
      g_auto(GStrv) parts = NULL;
      g_autoptr(QmpSchemaType) type = NULL;
      JsonObject *parent;
      JsonNode *value;
      const char *last;

      if (equals == NULL)
        continue;
      key = g_strndup (command->args[i], equals - command->args[i]);
      parts = g_strsplit (key, ".", -1);
      parent = find_parent (command->arguments, parts);
      last = parts[g_strv_length (parts) - 1];
      value = parent != NULL ? json_object_get_member (parent, last) : NULL;
      type = qmpctl_find_key_type (arguments, command->arguments, key);
      if (value == NULL || type == NULL || qmp_schema_type_accepts (type, value) ||
          !qmp_schema_type_accepts (type, text))
        continue;

      json_object_set_string_member (parent, last, equals + 1);
    }
}
