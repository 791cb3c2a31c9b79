/* qmp-schema-validate.c: checking a command's arguments against a schema
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-error.h"
#include "qmp-schema.h"
#include "qmp-schema-private.h"

/* What QEMU's QMP input visitor refuses, found before the command is
 * sent: a value of the wrong JSON type, a missing member, a member that
 * the type does not have, an enum value it does not know.  What the
 * schema cannot say is not checked: the ranges of sized integers (QEMU
 * reports int8 … uint64 all as "int") and what the command does with
 * valid arguments. */

/* Nesting this deep is no command's arguments; it also bounds the walk
 * through a hostile schema whose alternates or unions refer to
 * themselves. */
#define MAX_DEPTH 256

/* Values listed in an enum error, at most. */
#define MAX_LISTED_VALUES 12

typedef struct
{
  const char *command;
  GString *path;                  /* of the value being checked: "file.filename" */
  QmpSchemaDeprecatedFunc deprecated_func;
  gpointer user_data;
  GError **error;
} Check;

static gboolean check_value (Check           *check,
                             QmpSchemaEntity *type,
                             JsonNode        *node,
                             guint            depth);

static gboolean G_GNUC_PRINTF (2, 3)
fail (Check      *check,
      const char *format,
      ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (check->path->len > 0)
    g_set_error (check->error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS,
                 "%s: %s: %s", check->command, check->path->str, what);
  else
    g_set_error (check->error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS,
                 "%s: %s", check->command, what);
  return FALSE;
}

static void
deprecated (Check      *check,
            const char *value)
{
  g_autoptr(GString) key = NULL;
  g_autofree char *message = NULL;

  if (check->deprecated_func == NULL)
    return;

  /* One key per command and member, whatever the array index. */
  key = g_string_new (check->command);
  g_string_append_c (key, ':');
  for (const char *p = check->path->str; *p != '\0'; p++)
    {
      if (*p == '[')
        {
          while (*p != '\0' && *p != ']')
            p++;
          g_string_append (key, "[]");
          if (*p == '\0')
            break;
          continue;
        }
      g_string_append_c (key, *p);
    }

  if (value != NULL)
    {
      g_string_append_printf (key, "=%s", value);
      message = g_strdup_printf (_("%s: %s: the value “%s” is deprecated"),
                                 check->command, check->path->str, value);
    }
  else if (check->path->len > 0)
    message = g_strdup_printf (_("%s: the member %s is deprecated"), check->command, check->path->str);
  else
    message = g_strdup_printf (_("The command %s is deprecated"), check->command);

  check->deprecated_func (key->str, message, check->user_data);
}

static const char *
describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return _("an object");
    case JSON_NODE_ARRAY:
      return _("an array");
    case JSON_NODE_NULL:
      return _("null");
    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          return _("a string");
        case G_TYPE_BOOLEAN:
          return _("a boolean");
        case G_TYPE_DOUBLE:
          return _("a number");
        case G_TYPE_INT64:
        default:
          return _("an integer");
        }
    }
}

/* What a type expects, in the words of describe_node(). */
static const char *
describe_type (QmpSchemaEntity *type)
{
  switch (type->kind)
    {
    case ENTITY_BUILTIN:
      switch (type->json_kind)
        {
        case JSON_KIND_STRING:
          return _("a string");
        case JSON_KIND_INT:
          return _("an integer");
        case JSON_KIND_NUMBER:
          return _("a number");
        case JSON_KIND_BOOLEAN:
          return _("a boolean");
        case JSON_KIND_NULL:
          return _("null");
        case JSON_KIND_VALUE:
        default:
          return _("any value");
        }
    case ENTITY_ENUM:
      return _("a string");
    case ENTITY_ARRAY:
      return _("an array");
    case ENTITY_OBJECT:
      return _("an object");
    case ENTITY_ALTERNATE:
    case ENTITY_UNKNOWN:
    case ENTITY_COMMAND:
    case ENTITY_EVENT:
    default:
      return _("any value");
    }
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* Whether @node has the JSON type that @type wants, before any deeper
 * check: how QEMU picks an alternative. */
static gboolean
json_type_matches (QmpSchemaEntity *type,
                   JsonNode        *node)
{
  GType value_type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  switch (type->kind)
    {
    case ENTITY_BUILTIN:
      switch (type->json_kind)
        {
        case JSON_KIND_STRING:
          return value_type == G_TYPE_STRING;
        case JSON_KIND_INT:
          return value_type == G_TYPE_INT64;
        case JSON_KIND_NUMBER:
          return value_type == G_TYPE_INT64 || value_type == G_TYPE_DOUBLE;
        case JSON_KIND_BOOLEAN:
          return value_type == G_TYPE_BOOLEAN;
        case JSON_KIND_NULL:
          return JSON_NODE_HOLDS_NULL (node);
        case JSON_KIND_VALUE:
        default:
          return TRUE;
        }
    case ENTITY_ENUM:
      return value_type == G_TYPE_STRING;
    case ENTITY_ARRAY:
      return JSON_NODE_HOLDS_ARRAY (node);
    case ENTITY_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (node);
    case ENTITY_ALTERNATE:
    case ENTITY_UNKNOWN:
    case ENTITY_COMMAND:
    case ENTITY_EVENT:
    default:
      return TRUE;
    }
}

/* An alternate takes a value when one of its alternatives does; QAPI
 * allows no alternate among them, so they are not looked into (a hostile
 * schema's alternate that lists itself could otherwise make this
 * exponential). */
gboolean
_qmp_schema_entity_accepts (QmpSchemaEntity *type,
                            JsonNode        *node)
{
  if (type->kind != ENTITY_ALTERNATE)
    return json_type_matches (type, node);

  for (guint i = 0; i < type->n_members; i++)
    if (json_type_matches (type->members[i].type, node))
      return TRUE;

  return FALSE;
}

static gboolean
check_enum (Check           *check,
            QmpSchemaEntity *type,
            JsonNode        *node)
{
  const char *value = json_node_get_string (node);
  g_autoptr(GString) values = NULL;
  gint index = _qmp_schema_entity_find_value (type, value);

  if (index >= 0)
    {
      if (g_strv_contains ((const char * const *) type->value_features[index], "deprecated"))
        deprecated (check, value);
      return TRUE;
    }

  values = g_string_new (NULL);
  for (guint i = 0; i < type->n_values && i < MAX_LISTED_VALUES; i++)
    g_string_append_printf (values, "%s\"%s\"", i > 0 ? ", " : "", type->values[i]);
  if (type->n_values > MAX_LISTED_VALUES)
    g_string_append (values, ", …");

  return fail (check, _("expected one of %s, got \"%s\""), values->str, value);
}

/* The variant of @type that the value of its discriminator in @object
 * selects; NULL when it has none (or the value is not a string). */
static QmpSchemaEntity *
selected_variant (QmpSchemaEntity *type,
                  JsonObject      *object)
{
  const QmpSchemaMember *variant;
  JsonNode *tag;

  if (type->kind != ENTITY_OBJECT || type->tag == NULL)
    return NULL;

  tag = json_object_get_member (object, type->tag);
  if (tag == NULL || !node_is_string (tag))
    return NULL;

  variant = _qmp_schema_entity_find_variant (type, json_node_get_string (tag));
  return variant != NULL && variant->type->kind == ENTITY_OBJECT ? variant->type : NULL;
}

/* Whether @name is a member of @type or of the variants that @object
 * selects; of any variant when the discriminator selects none, so that a
 * typo gets "unknown member" rather than a missing discriminator.  Only
 * one level fans out to every variant: a union whose variants are itself
 * must not make the search exponential. */
static gboolean
type_has_member (QmpSchemaEntity *type,
                 JsonObject      *object,
                 const char      *name,
                 gboolean         fan_out,
                 guint            depth)
{
  QmpSchemaEntity *variant;

  if (depth > MAX_DEPTH || type->kind != ENTITY_OBJECT)
    return FALSE;
  if (_qmp_schema_entity_find_member (type, name) != NULL)
    return TRUE;
  if (type->tag == NULL)
    return FALSE;

  variant = selected_variant (type, object);
  if (variant != NULL)
    return type_has_member (variant, object, name, fan_out, depth + 1);

  if (fan_out)
    for (guint i = 0; i < type->n_variants; i++)
      if (type_has_member (type->variants[i].type, object, name, FALSE, depth + 1))
        return TRUE;

  return FALSE;
}

static void
path_push (GString    *path,
           const char *name)
{
  if (path->len > 0)
    g_string_append_c (path, '.');
  g_string_append (path, name);
}

/* The members of @type (and of the variant it selects) in @object. */
static gboolean
check_members (Check           *check,
               QmpSchemaEntity *type,
               JsonObject      *object,
               guint            depth)
{
  QmpSchemaEntity *variant;

  if (depth > MAX_DEPTH)
    return fail (check, _("the value is nested too deeply"));

  for (guint i = 0; i < type->n_members; i++)
    {
      const QmpSchemaMember *member = &type->members[i];
      JsonNode *node = json_object_get_member (object, member->name);
      gsize len = check->path->len;

      if (node == NULL)
        {
          if (member->optional)
            continue;
          return fail (check, _("missing member \"%s\""), member->name);
        }

      path_push (check->path, member->name);
      if (member->deprecated)
        deprecated (check, NULL);
      if (!check_value (check, member->type, node, depth + 1))
        return FALSE;
      g_string_truncate (check->path, len);
    }

  variant = selected_variant (type, object);
  if (variant != NULL && !check_members (check, variant, object, depth + 1))
    return FALSE;

  return TRUE;
}

static gboolean
check_object (Check           *check,
              QmpSchemaEntity *type,
              JsonObject      *object,
              gboolean         any_member,
              guint            depth)
{
  if (!any_member)
    {
      JsonObjectIter iter;
      const char *name;

      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, NULL))
        if (!type_has_member (type, object, name, TRUE, 0))
          return fail (check, _("unknown member \"%s\""), name);
    }

  return check_members (check, type, object, depth);
}

static gboolean
check_alternate (Check           *check,
                 QmpSchemaEntity *type,
                 JsonNode        *node,
                 guint            depth)
{
  g_autoptr(GString) expected = NULL;

  for (guint i = 0; i < type->n_members; i++)
    if (json_type_matches (type->members[i].type, node))
      return check_value (check, type->members[i].type, node, depth + 1);

  expected = g_string_new (NULL);
  for (guint i = 0; i < type->n_members; i++)
    {
      if (i > 0)
        g_string_append (expected, i + 1 < type->n_members ? ", " : _(" or "));
      g_string_append (expected, describe_type (type->members[i].type));
    }

  return fail (check, _("expected %s, got %s"), expected->str, describe_node (node));
}

static gboolean
check_value (Check           *check,
             QmpSchemaEntity *type,
             JsonNode        *node,
             guint            depth)
{
  if (depth > MAX_DEPTH)
    return fail (check, _("the value is nested too deeply"));

  if (type->kind == ENTITY_ALTERNATE)
    return check_alternate (check, type, node, depth);

  if (!json_type_matches (type, node))
    return fail (check, _("expected %s, got %s"), describe_type (type), describe_node (node));

  switch (type->kind)
    {
    case ENTITY_ENUM:
      return check_enum (check, type, node);

    case ENTITY_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        gsize len = check->path->len;

        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            g_string_append_printf (check->path, "[%u]", i);
            if (!check_value (check, type->element, json_array_get_element (array, i), depth + 1))
              return FALSE;
            g_string_truncate (check->path, len);
          }
        return TRUE;
      }

    case ENTITY_OBJECT:
      return check_object (check, type, json_node_get_object (node), FALSE, depth);

    case ENTITY_BUILTIN:
    case ENTITY_ALTERNATE:
    case ENTITY_UNKNOWN:
    case ENTITY_COMMAND:
    case ENTITY_EVENT:
    default:
      return TRUE;
    }
}

/* Commands whose arguments are not all in the schema: QEMU declares them
 * with 'gen': false and parses the arguments itself, which
 * query-qmp-schema does not show.  device_add takes any property of the
 * device; netdev_add (before QEMU 5.2) and object-add (before 6.0) took
 * any property of the backend too, until QAPI described them as unions,
 * which is how the check tells the two forms apart. */
static gboolean
command_takes_any_member (const char      *command,
                          QmpSchemaEntity *arguments)
{
  if (g_str_equal (command, "device_add"))
    return TRUE;

  if (g_str_equal (command, "netdev_add") || g_str_equal (command, "object-add"))
    return arguments->kind == ENTITY_OBJECT && arguments->tag == NULL;

  return FALSE;
}

gboolean
_qmp_schema_check (QmpSchema               *self,
                   const char              *command,
                   JsonObject              *arguments,
                   QmpSchemaDeprecatedFunc  deprecated_func,
                   gpointer                 user_data,
                   GError                 **error)
{
  g_autoptr(GString) path = g_string_new (NULL);
  g_autoptr(JsonObject) empty = NULL;
  Check check = { command, path, deprecated_func, user_data, error };
  QmpSchemaEntity *entity;

  entity = _qmp_schema_lookup_kind (self, command, ENTITY_COMMAND);
  if (entity == NULL)
    {
      g_set_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                   _("%s: the server has no such command"), command);
      return FALSE;
    }

  if (entity->deprecated)
    deprecated (&check, NULL);

  if (arguments == NULL)
    arguments = empty = json_object_new ();

  /* The arguments of a command are an object (QAPI allows nothing else);
   * a schema that says otherwise accepts them unchecked. */
  if (entity->arg_type->kind != ENTITY_OBJECT)
    return TRUE;

  return check_object (&check, entity->arg_type, arguments,
                       command_takes_any_member (command, entity->arg_type), 0);
}

/**
 * qmp_schema_validate_arguments:
 * @self: a #QmpSchema
 * @command: the name of a command
 * @arguments: (nullable): its arguments
 * @error: return location for a #GError
 *
 * Checks @arguments against what the schema says @command takes, as
 * %QMP_EXECUTE_FLAGS_VALIDATE does before a command is sent.
 *
 * A mismatch fails with %QMP_ERROR_INVALID_ARGUMENTS, with a message that
 * names the command and the JSON path of the problem:
 * `blockdev-add: file.filename: expected a string, got an integer`,
 * `blockdev-add: unknown member "drvier"`,
 * `blockdev-add: missing member "driver"`.  A command that the server
 * does not have fails with %QMP_ERROR_COMMAND_NOT_FOUND.
 *
 * Values are checked for their JSON type, enum values, required and
 * unknown members; a union through the value of its discriminator, an
 * alternate through the JSON type of the value; `any` accepts anything.
 * Members that the schema cannot list are accepted: `device_add` takes
 * any property of the device.  The schema does not give the ranges of
 * sized integers (`uint8` …): any integer passes.
 *
 * ```c
 * g_autoptr(JsonObject) arguments = json_object_new ();
 *
 * json_object_set_string_member (arguments, "driver", "null-co");
 * json_object_set_int_member (arguments, "node-name", 7);
 * if (!qmp_schema_validate_arguments (schema, "blockdev-add", arguments, &error))
 *   g_printerr ("%s\n", error->message);
 *   // blockdev-add: node-name: expected a string, got an integer
 * ```
 *
 * Returns: %TRUE if the arguments fit the schema
 *
 * Since: 1.0
 */
gboolean
qmp_schema_validate_arguments (QmpSchema   *self,
                               const char  *command,
                               JsonObject  *arguments,
                               GError     **error)
{
  g_return_val_if_fail (QMP_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (command != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _qmp_schema_check (self, command, arguments, NULL, NULL, error);
}
