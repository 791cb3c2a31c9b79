/* qmp-schema-type.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "qmp-schema-private.h"
#include "qmp-schema-type.h"

/**
 * QmpSchemaType:
 *
 * A type of a [class@Qmp.Schema]: what a command's arguments, a member or
 * an event's data must look like.
 *
 * A type is reached from a command or an event
 * ([method@Qmp.Schema.get_command_arguments],
 * [method@Qmp.Schema.get_path_type]), and from there through members,
 * variants, elements and alternatives.  It has no name of its own except
 * for the builtins (`str`, `int`, …): QEMU masks the others.
 *
 * A #QmpSchemaType is immutable and keeps its schema alive; it may be used
 * from any thread.
 *
 * ```c
 * g_autoptr(QmpSchemaType) arguments = qmp_schema_get_command_arguments (schema, "blockdev-add");
 * g_autoptr(QmpSchemaType) file = qmp_schema_type_get_variant_type (arguments, "file");
 * int aio = qmp_schema_type_find_member (file, "aio");
 * g_autoptr(QmpSchemaType) modes = qmp_schema_type_get_member_type (file, aio);
 *
 * g_print ("%s: %s\n", qmp_schema_type_get_discriminator (arguments),   // "driver"
 *          qmp_schema_type_get_enum_values (modes)[0]);                 // "threads"
 * ```
 *
 * Since: 1.0
 */

struct _QmpSchemaType
{
  gatomicrefcount ref_count;
  QmpSchema *schema;          /* owns @entity */
  QmpSchemaEntity *entity;
};

G_DEFINE_BOXED_TYPE (QmpSchemaType, qmp_schema_type, qmp_schema_type_ref, qmp_schema_type_unref)

QmpSchemaType *
_qmp_schema_type_new (QmpSchema       *schema,
                      QmpSchemaEntity *entity)
{
  QmpSchemaType *self = g_new0 (QmpSchemaType, 1);

  g_assert (entity->kind != ENTITY_COMMAND && entity->kind != ENTITY_EVENT);

  g_atomic_ref_count_init (&self->ref_count);
  self->schema = g_object_ref (schema);
  self->entity = entity;

  return self;
}

/**
 * qmp_schema_type_ref:
 * @self: a #QmpSchemaType
 *
 * Takes a reference to @self.
 *
 * ```c
 * QmpSchemaType *kept = qmp_schema_type_ref (type);
 * ```
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_type_ref (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * qmp_schema_type_unref:
 * @self: (transfer full): a #QmpSchemaType
 *
 * Drops a reference to @self.
 *
 * ```c
 * qmp_schema_type_unref (kept);
 * ```
 *
 * Since: 1.0
 */
void
qmp_schema_type_unref (QmpSchemaType *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_object_unref (self->schema);
  g_free (self);
}

/**
 * qmp_schema_type_get_kind:
 * @self: a #QmpSchemaType
 *
 * Gets the kind of @self, which says which of the other functions apply.
 *
 * ```c
 * if (qmp_schema_type_get_kind (type) == QMP_SCHEMA_TYPE_KIND_ENUM)
 *   values = qmp_schema_type_get_enum_values (type);
 * ```
 *
 * Returns: the kind
 *
 * Since: 1.0
 */
QmpSchemaTypeKind
qmp_schema_type_get_kind (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, QMP_SCHEMA_TYPE_KIND_UNKNOWN);

  return (QmpSchemaTypeKind) self->entity->kind;
}

/**
 * qmp_schema_type_get_name:
 * @self: a #QmpSchemaType
 *
 * Gets the name of a builtin type: `str`, `int`, `number`, `bool`, `null`
 * or `any`.  (QEMU reports every sized integer, such as `uint8`, as `int`.)
 * Other types have no name that would mean anything: see
 * [method@Qmp.SchemaType.to_string].
 *
 * ```c
 * if (g_strcmp0 (qmp_schema_type_get_name (type), "str") == 0)
 *   …
 * ```
 *
 * Returns: (nullable): the name of a builtin type, %NULL for the others
 *
 * Since: 1.0
 */
const char *
qmp_schema_type_get_name (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->entity->kind == ENTITY_BUILTIN ? self->entity->name : NULL;
}

/**
 * qmp_schema_type_get_json_type:
 * @self: a #QmpSchemaType
 *
 * Gets the JSON type of a builtin type, as the schema says it: `string`,
 * `int`, `number`, `boolean`, `null` or `value` (anything).
 *
 * ```c
 * const char *json_type = qmp_schema_type_get_json_type (type);   // "string" for str
 * ```
 *
 * Returns: (nullable): the JSON type of a builtin, %NULL for the others
 *
 * Since: 1.0
 */
const char *
qmp_schema_type_get_json_type (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->entity->kind == ENTITY_BUILTIN ? self->entity->json_type : NULL;
}

static void
append_type (GString         *string,
             QmpSchemaEntity *entity,
             guint            depth)
{
  switch (entity->kind)
    {
    case ENTITY_BUILTIN:
      g_string_append (string, entity->name);
      break;
    case ENTITY_ENUM:
      g_string_append (string, "enum");
      break;
    case ENTITY_ARRAY:
      g_string_append_c (string, '[');
      if (depth < 8)
        append_type (string, entity->element, depth + 1);
      else
        g_string_append (string, "…");
      g_string_append_c (string, ']');
      break;
    case ENTITY_OBJECT:
      g_string_append (string, entity->tag != NULL ? "union" : "object");
      break;
    case ENTITY_ALTERNATE:
      g_string_append (string, "alternate");
      break;
    case ENTITY_UNKNOWN:
    case ENTITY_COMMAND:
    case ENTITY_EVENT:
    default:
      g_string_append (string, "unknown");
      break;
    }
}

/**
 * qmp_schema_type_to_string:
 * @self: a #QmpSchemaType
 *
 * Describes @self in a few words of QAPI's own syntax: the name of a
 * builtin (`str`), `enum`, `object`, `union` (an object with variants),
 * `alternate`, `unknown`, or an array as its element in brackets
 * (`[str]`).
 *
 * ```c
 * g_autofree char *text = qmp_schema_type_to_string (type);
 * g_print ("%s: %s\n", name, text);
 * ```
 *
 * Returns: (transfer full): the description
 *
 * Since: 1.0
 */
char *
qmp_schema_type_to_string (QmpSchemaType *self)
{
  GString *string;

  g_return_val_if_fail (self != NULL, NULL);

  string = g_string_new (NULL);
  append_type (string, self->entity, 0);
  return g_string_free (string, FALSE);
}

/**
 * qmp_schema_type_get_features:
 * @self: a #QmpSchemaType
 *
 * Gets the features of @self, such as `deprecated` or `unstable` (only
 * objects have any in QEMU's schemas so far).
 *
 * ```c
 * if (g_strv_contains (qmp_schema_type_get_features (type), "unstable"))
 *   …
 * ```
 *
 * Returns: (transfer none) (array zero-terminated=1): the features
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_type_get_features (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->entity->features;
}

/**
 * qmp_schema_type_equal:
 * @self: a #QmpSchemaType
 * @other: another #QmpSchemaType
 *
 * Tells whether @self and @other are the same type of the same schema;
 * a walk through a recursive type uses it to know where it has been.
 *
 * ```c
 * if (qmp_schema_type_equal (member_type, parent))
 *   g_print ("(recursive)\n");
 * ```
 *
 * Returns: %TRUE if they are the same type
 *
 * Since: 1.0
 */
gboolean
qmp_schema_type_equal (QmpSchemaType *self,
                       QmpSchemaType *other)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (other != NULL, FALSE);

  return self->entity == other->entity;
}

/**
 * qmp_schema_type_accepts:
 * @self: a #QmpSchemaType
 * @value: a JSON value
 *
 * Checks whether @value has a JSON type that @self takes, at its top
 * level: a string for `str` and for an enum, an integer for `int`, an
 * integer or a double for `number`, an array for an array type, an object
 * for an object, anything for `any` and for a kind of type that qmp-glib
 * does not know.  An alternate takes what one of its alternatives takes:
 * this is how QEMU picks the alternative a value stands for.
 *
 * Nothing below the top level is checked: not the members of an object,
 * the elements of an array, nor whether a string is one of an enum's
 * values.  [method@Qmp.Schema.validate_arguments] checks all of that, for
 * the arguments of a command.
 *
 * What the check is for: reading a value typed by a person, such as
 * `KEY=123` on a command line, which may be the integer or the string.
 *
 * ```c
 * g_autoptr(JsonNode) number = json_from_string ("123", NULL);
 *
 * // "id" takes a str: send the text as typed, not the integer it parses as
 * if (!qmp_schema_type_accepts (id_type, number))
 *   json_object_set_string_member (arguments, "id", "123");
 * ```
 *
 * Returns: %TRUE if @self takes a value of the JSON type of @value
 *
 * Since: 1.0
 */
gboolean
qmp_schema_type_accepts (QmpSchemaType *self,
                         JsonNode      *value)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  return _qmp_schema_entity_accepts (self->entity, value);
}

/**
 * qmp_schema_type_get_enum_values:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_ENUM
 *
 * Gets the values of an enum, in the schema's order.
 *
 * ```c
 * const char * const *values = qmp_schema_type_get_enum_values (type);
 * g_autofree char *list = g_strjoinv (", ", (char **) values);
 * ```
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   values, %NULL if @self is not an enum
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_type_get_enum_values (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->entity->kind == ENTITY_ENUM ? self->entity->values : NULL;
}

/**
 * qmp_schema_type_get_enum_value_features:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_ENUM
 * @value: one of its values
 *
 * Gets the features of one value of an enum: `deprecated` says that a
 * value should not be used any more.  QEMU before 6.2 reported none.
 *
 * ```c
 * const char * const *features = qmp_schema_type_get_enum_value_features (type, "legacy");
 * gboolean deprecated = features && g_strv_contains (features, "deprecated");
 * ```
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   features, %NULL if @self is not an enum or has no such value
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_type_get_enum_value_features (QmpSchemaType *self,
                                         const char    *value)
{
  gint index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);

  if (self->entity->kind != ENTITY_ENUM)
    return NULL;

  index = _qmp_schema_entity_find_value (self->entity, value);
  return index >= 0 ? self->entity->value_features[index] : NULL;
}

/**
 * qmp_schema_type_get_element_type:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_ARRAY
 *
 * Gets the type of the elements of an array.
 *
 * ```c
 * g_autoptr(QmpSchemaType) element = qmp_schema_type_get_element_type (type);
 * ```
 *
 * Returns: (transfer full) (nullable): the element type, %NULL if @self is
 *   not an array
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_type_get_element_type (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->entity->kind != ENTITY_ARRAY)
    return NULL;

  return _qmp_schema_type_new (self->schema, self->entity->element);
}

/**
 * qmp_schema_type_get_n_members:
 * @self: a #QmpSchemaType
 *
 * Gets the number of members of an object: for a union, those that all
 * its variants share (the discriminator among them); each variant's own
 * are in [method@Qmp.SchemaType.get_variant_type].
 *
 * ```c
 * for (guint i = 0; i < qmp_schema_type_get_n_members (type); i++)
 *   g_print ("%s%s\n", qmp_schema_type_get_member_name (type, i),
 *            qmp_schema_type_get_member_optional (type, i) ? " (optional)" : "");
 * ```
 *
 * Returns: the number of members, 0 if @self is not an object
 *
 * Since: 1.0
 */
guint
qmp_schema_type_get_n_members (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->entity->kind == ENTITY_OBJECT ? self->entity->n_members : 0;
}

static const QmpSchemaMember *
get_member (QmpSchemaType *self,
            guint          index)
{
  if (self->entity->kind != ENTITY_OBJECT || index >= self->entity->n_members)
    return NULL;

  return &self->entity->members[index];
}

/**
 * qmp_schema_type_get_member_name:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_OBJECT
 * @index: a member's index, below [method@Qmp.SchemaType.get_n_members]
 *
 * Gets the name of a member of an object.
 *
 * ```c
 * const char *name = qmp_schema_type_get_member_name (type, 0);
 * ```
 *
 * Returns: the name
 *
 * Since: 1.0
 */
const char *
qmp_schema_type_get_member_name (QmpSchemaType *self,
                                 guint          index)
{
  const QmpSchemaMember *member;

  g_return_val_if_fail (self != NULL, NULL);
  member = get_member (self, index);
  g_return_val_if_fail (member != NULL, NULL);

  return member->name;
}

/**
 * qmp_schema_type_get_member_type:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_OBJECT
 * @index: a member's index, below [method@Qmp.SchemaType.get_n_members]
 *
 * Gets the type of a member of an object.
 *
 * ```c
 * g_autoptr(QmpSchemaType) member_type = qmp_schema_type_get_member_type (type, i);
 * ```
 *
 * Returns: (transfer full): the member's type
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_type_get_member_type (QmpSchemaType *self,
                                 guint          index)
{
  const QmpSchemaMember *member;

  g_return_val_if_fail (self != NULL, NULL);
  member = get_member (self, index);
  g_return_val_if_fail (member != NULL, NULL);

  return _qmp_schema_type_new (self->schema, member->type);
}

/**
 * qmp_schema_type_get_member_optional:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_OBJECT
 * @index: a member's index, below [method@Qmp.SchemaType.get_n_members]
 *
 * Tells whether a member of an object may be left out.
 *
 * ```c
 * if (!qmp_schema_type_get_member_optional (type, i))
 *   g_print ("%s is required\n", qmp_schema_type_get_member_name (type, i));
 * ```
 *
 * Returns: %TRUE if the member is optional
 *
 * Since: 1.0
 */
gboolean
qmp_schema_type_get_member_optional (QmpSchemaType *self,
                                     guint          index)
{
  const QmpSchemaMember *member;

  g_return_val_if_fail (self != NULL, FALSE);
  member = get_member (self, index);
  g_return_val_if_fail (member != NULL, FALSE);

  return member->optional;
}

/**
 * qmp_schema_type_get_member_features:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_OBJECT
 * @index: a member's index, below [method@Qmp.SchemaType.get_n_members]
 *
 * Gets the features of a member of an object, such as `deprecated` or
 * `unstable`.
 *
 * ```c
 * if (g_strv_contains (qmp_schema_type_get_member_features (type, i), "deprecated"))
 *   g_print ("%s is deprecated\n", qmp_schema_type_get_member_name (type, i));
 * ```
 *
 * Returns: (transfer none) (array zero-terminated=1): the features
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_type_get_member_features (QmpSchemaType *self,
                                     guint          index)
{
  const QmpSchemaMember *member;

  g_return_val_if_fail (self != NULL, NULL);
  member = get_member (self, index);
  g_return_val_if_fail (member != NULL, NULL);

  return member->features;
}

/**
 * qmp_schema_type_find_member:
 * @self: a #QmpSchemaType
 * @name: the name of a member
 *
 * Finds a member of an object by name (not in its variants).
 *
 * ```c
 * int i = qmp_schema_type_find_member (type, "node-name");
 * if (i >= 0 && qmp_schema_type_get_member_optional (type, i))
 *   …
 * ```
 *
 * Returns: the member's index, or -1 if @self has no such member
 *
 * Since: 1.0
 */
int
qmp_schema_type_find_member (QmpSchemaType *self,
                             const char    *name)
{
  const QmpSchemaMember *member;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);

  member = _qmp_schema_entity_find_member (self->entity, name);
  return member != NULL ? (int) (member - self->entity->members) : -1;
}

/**
 * qmp_schema_type_get_discriminator:
 * @self: a #QmpSchemaType
 *
 * Gets the discriminator of a union: the member whose value chooses the
 * variant, such as `driver` for `blockdev-add`.
 *
 * ```c
 * const char *tag = qmp_schema_type_get_discriminator (type);
 * ```
 *
 * Returns: (nullable): the discriminator, %NULL if @self is not a union
 *
 * Since: 1.0
 */
const char *
qmp_schema_type_get_discriminator (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->entity->kind == ENTITY_OBJECT ? self->entity->tag : NULL;
}

/**
 * qmp_schema_type_get_variant_names:
 * @self: a #QmpSchemaType
 *
 * Gets the values of the discriminator that have a variant, in the
 * schema's order.
 *
 * ```c
 * g_auto(GStrv) drivers = qmp_schema_type_get_variant_names (type);
 * ```
 *
 * Returns: (transfer full) (array zero-terminated=1): the variants (none
 *   if @self is not a union)
 *
 * Since: 1.0
 */
char **
qmp_schema_type_get_variant_names (QmpSchemaType *self)
{
  QmpSchemaEntity *entity;
  char **names;

  g_return_val_if_fail (self != NULL, NULL);

  entity = self->entity;
  names = g_new (char *, entity->n_variants + 1);
  for (guint i = 0; i < entity->n_variants; i++)
    names[i] = g_strdup (entity->variants[i].name);
  names[entity->n_variants] = NULL;

  return names;
}

/**
 * qmp_schema_type_get_variant_type:
 * @self: a #QmpSchemaType
 * @name: a value of the discriminator
 *
 * Gets the type of a union's variant: the members that come with that
 * value of the discriminator, in addition to the union's own.
 *
 * ```c
 * g_autoptr(QmpSchemaType) file = qmp_schema_type_get_variant_type (type, "file");
 * ```
 *
 * Returns: (transfer full) (nullable): the variant's type, %NULL if @self
 *   has no such variant
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_type_get_variant_type (QmpSchemaType *self,
                                  const char    *name)
{
  const QmpSchemaMember *variant;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  variant = _qmp_schema_entity_find_variant (self->entity, name);
  return variant != NULL ? _qmp_schema_type_new (self->schema, variant->type) : NULL;
}

/**
 * qmp_schema_type_get_n_alternatives:
 * @self: a #QmpSchemaType
 *
 * Gets the number of types an alternate may be.
 *
 * ```c
 * for (guint i = 0; i < qmp_schema_type_get_n_alternatives (type); i++)
 *   …
 * ```
 *
 * Returns: the number of alternatives, 0 if @self is not an alternate
 *
 * Since: 1.0
 */
guint
qmp_schema_type_get_n_alternatives (QmpSchemaType *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->entity->kind == ENTITY_ALTERNATE ? self->entity->n_members : 0;
}

/**
 * qmp_schema_type_get_alternative:
 * @self: a #QmpSchemaType of kind %QMP_SCHEMA_TYPE_KIND_ALTERNATE
 * @index: below [method@Qmp.SchemaType.get_n_alternatives]
 *
 * Gets one of the types an alternate may be.
 *
 * ```c
 * g_autoptr(QmpSchemaType) first = qmp_schema_type_get_alternative (type, 0);
 * ```
 *
 * Returns: (transfer full): the alternative
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_type_get_alternative (QmpSchemaType *self,
                                 guint          index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->entity->kind == ENTITY_ALTERNATE, NULL);
  g_return_val_if_fail (index < self->entity->n_members, NULL);

  return _qmp_schema_type_new (self->schema, self->entity->members[index].type);
}
