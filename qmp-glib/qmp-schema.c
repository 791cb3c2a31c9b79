/* qmp-schema.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-error.h"
#include "qmp-json-private.h"
#include "qmp-schema.h"
#include "qmp-schema-private.h"

/**
 * QmpSchema:
 *
 * What a QMP server accepts and sends: its commands with their arguments
 * and returns, its events, and the types behind them, as its
 * `query-qmp-schema` command describes them.
 *
 * Get the schema of a connection with
 * [method@Qmp.Connection.get_schema_sync]; the query runs once per
 * connection.  A schema is immutable: it may be used from any thread.
 *
 * QEMU hides the names of its types behind numbers (`"1"`, `"2"`, …) that
 * change from one build to the next; a #QmpSchema resolves them, so types
 * are reached from commands and events, by member names, never by those
 * numbers: [method@Qmp.Schema.get_command_arguments] returns a
 * [struct@Qmp.SchemaType], and [method@Qmp.Schema.has_path] answers the
 * path queries that libvirt uses to probe what a QEMU supports.
 *
 * ```c
 * g_autoptr(QmpSchema) schema = NULL;
 *
 * schema = qmp_connection_get_schema_sync (connection, NULL, &error);
 * if (schema == NULL)
 *   return FALSE;
 *
 * if (qmp_schema_has_path (schema, "blockdev-add/arg-type/+file/aio/^io_uring"))
 *   use_io_uring = TRUE;
 * ```
 *
 * [method@Qmp.Schema.validate_arguments] checks a command's arguments
 * against the schema, as %QMP_EXECUTE_FLAGS_VALIDATE does before a command
 * is sent.
 *
 * Since: 1.0
 */

struct _QmpSchema
{
  GObject parent_instance;

  GSList *blocks;             /* the arena every entity and string lives in */
  gsize block_used;
  gsize block_size;

  GHashTable *entities;       /* name as sent → QmpSchemaEntity */
  GPtrArray *commands;        /* of QmpSchemaEntity, sorted by name */
  GPtrArray *events;
};

G_DEFINE_FINAL_TYPE (QmpSchema, qmp_schema, G_TYPE_OBJECT)

static const char * const no_features[] = { NULL };

#define BLOCK_SIZE (64 * 1024)

/* ---------------------------------------------------------------- arena */

/* Everything a schema holds is made once and freed at once: a bump
 * allocator makes building it a fraction of what a malloc a member costs. */
static gpointer
arena_alloc (QmpSchema *self,
             gsize      size)
{
  gpointer p;

  size = (size + 7) & ~(gsize) 7;
  if (self->blocks == NULL || self->block_used + size > self->block_size)
    {
      gsize block_size = MAX (BLOCK_SIZE, size);

      self->blocks = g_slist_prepend (self->blocks, g_malloc0 (block_size));
      self->block_used = 0;
      self->block_size = block_size;
    }

  p = (char *) self->blocks->data + self->block_used;
  self->block_used += size;

  return p;
}

static const char *
arena_strdup (QmpSchema  *self,
              const char *str)
{
  gsize len = strlen (str) + 1;
  char *copy = arena_alloc (self, len);

  memcpy (copy, str, len);
  return copy;
}

/* -------------------------------------------------------------- parsing */

typedef struct
{
  QmpSchema *self;
  GError **error;
} Builder;

static gboolean G_GNUC_PRINTF (3, 4)
malformed (Builder    *builder,
           const char *entity,
           const char *format,
           ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (entity != NULL)
    g_set_error (builder->error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                 _("The server’s schema is malformed: “%s”: %s"), entity, what);
  else
    g_set_error (builder->error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                 _("The server’s schema is malformed: %s"), what);
  return FALSE;
}

static gboolean
bad_member (Builder    *builder,
            const char *entity,
            const char *member)
{
  return malformed (builder, entity, _("“%s” is missing or of the wrong type"), member);
}

/* A required string member, copied into the arena. */
static gboolean
get_string (Builder     *builder,
            JsonObject  *object,
            const char  *entity,
            const char  *member,
            const char **out)
{
  const char *value = _qmp_json_object_get_string (object, member);

  if (value == NULL)
    return bad_member (builder, entity, member);

  *out = arena_strdup (builder->self, value);
  return TRUE;
}

static gboolean
features_have (const char * const *features,
               const char         *feature)
{
  for (guint i = 0; features[i] != NULL; i++)
    if (g_str_equal (features[i], feature))
      return TRUE;

  return FALSE;
}

/* The optional "features" member: an array of strings. */
static gboolean
get_features (Builder             *builder,
              JsonObject          *object,
              const char          *entity,
              const char * const **out)
{
  JsonNode *node = json_object_get_member (object, "features");
  JsonArray *array;
  const char **features;
  guint n;

  *out = no_features;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return bad_member (builder, entity, "features");

  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n == 0)
    return TRUE;

  features = arena_alloc (builder->self, (n + 1) * sizeof (char *));
  for (guint i = 0; i < n; i++)
    {
      const char *feature = _qmp_json_node_get_string (json_array_get_element (array, i));

      if (feature == NULL)
        return bad_member (builder, entity, "features");
      features[i] = arena_strdup (builder->self, feature);
    }
  features[n] = NULL;
  *out = features;

  return TRUE;
}

/* An array member whose elements are all objects; NULL when it is absent
 * and @required is FALSE. */
static gboolean
get_object_array (Builder     *builder,
                  JsonObject  *object,
                  const char  *entity,
                  const char  *member,
                  gboolean     required,
                  JsonArray  **out)
{
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array;

  *out = NULL;
  if (node == NULL && !required)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return bad_member (builder, entity, member);

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (array, i)))
      return bad_member (builder, entity, member);

  *out = array;
  return TRUE;
}

static QmpSchemaJsonKind
json_kind_from_name (const char *json_type)
{
  static const struct { const char *name; QmpSchemaJsonKind kind; } kinds[] = {
    { "string", JSON_KIND_STRING },
    { "int", JSON_KIND_INT },
    { "number", JSON_KIND_NUMBER },
    { "boolean", JSON_KIND_BOOLEAN },
    { "null", JSON_KIND_NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (json_type, kinds[i].name))
      return kinds[i].kind;

  return JSON_KIND_VALUE;
}

static gboolean
parse_enum (Builder         *builder,
            JsonObject      *object,
            QmpSchemaEntity *entity)
{
  JsonArray *members;
  const char **values;

  /* QEMU 6.2 added "members", with features per value, to "values". */
  if (!get_object_array (builder, object, entity->name, "members", FALSE, &members))
    return FALSE;

  if (members != NULL)
    {
      entity->n_values = json_array_get_length (members);
      values = arena_alloc (builder->self, (entity->n_values + 1) * sizeof (char *));
      entity->value_features = arena_alloc (builder->self, (entity->n_values + 1) * sizeof (char **));
      for (guint i = 0; i < entity->n_values; i++)
        {
          JsonObject *member = json_array_get_object_element (members, i);

          if (!get_string (builder, member, entity->name, "name", &values[i]) ||
              !get_features (builder, member, entity->name, &entity->value_features[i]))
            return FALSE;
        }
    }
  else
    {
      JsonNode *node = json_object_get_member (object, "values");
      JsonArray *array;

      if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
        return bad_member (builder, entity->name, "values");

      array = json_node_get_array (node);
      entity->n_values = json_array_get_length (array);
      values = arena_alloc (builder->self, (entity->n_values + 1) * sizeof (char *));
      entity->value_features = arena_alloc (builder->self, (entity->n_values + 1) * sizeof (char **));
      for (guint i = 0; i < entity->n_values; i++)
        {
          const char *value = _qmp_json_node_get_string (json_array_get_element (array, i));

          if (value == NULL)
            return bad_member (builder, entity->name, "values");
          values[i] = arena_strdup (builder->self, value);
          entity->value_features[i] = no_features;
        }
    }

  values[entity->n_values] = NULL;
  entity->values = values;

  return TRUE;
}

/* The "members" of an object ("name", "type", optional when "default" is
 * there) or of an alternate ("type" only). */
static gboolean
parse_members (Builder         *builder,
               JsonObject      *object,
               QmpSchemaEntity *entity,
               gboolean         named)
{
  JsonArray *members;

  if (!get_object_array (builder, object, entity->name, "members", TRUE, &members))
    return FALSE;

  entity->n_members = json_array_get_length (members);
  entity->members = arena_alloc (builder->self, MAX (entity->n_members, 1) * sizeof (QmpSchemaMember));
  for (guint i = 0; i < entity->n_members; i++)
    {
      JsonObject *member = json_array_get_object_element (members, i);
      QmpSchemaMember *m = &entity->members[i];

      if ((named && !get_string (builder, member, entity->name, "name", &m->name)) ||
          !get_string (builder, member, entity->name, "type", &m->type_name) ||
          !get_features (builder, member, entity->name, &m->features))
        return FALSE;

      m->optional = json_object_has_member (member, "default");
      m->deprecated = features_have (m->features, "deprecated");
    }

  return TRUE;
}

static gboolean
parse_variants (Builder         *builder,
                JsonObject      *object,
                QmpSchemaEntity *entity)
{
  JsonArray *variants;

  if (!json_object_has_member (object, "tag"))
    return TRUE;
  if (!get_string (builder, object, entity->name, "tag", &entity->tag) ||
      !get_object_array (builder, object, entity->name, "variants", TRUE, &variants))
    return FALSE;

  entity->n_variants = json_array_get_length (variants);
  entity->variants = arena_alloc (builder->self, MAX (entity->n_variants, 1) * sizeof (QmpSchemaMember));
  for (guint i = 0; i < entity->n_variants; i++)
    {
      JsonObject *variant = json_array_get_object_element (variants, i);
      QmpSchemaMember *v = &entity->variants[i];

      if (!get_string (builder, variant, entity->name, "case", &v->name) ||
          !get_string (builder, variant, entity->name, "type", &v->type_name))
        return FALSE;
      v->features = no_features;
    }

  if (_qmp_schema_entity_find_member (entity, entity->tag) == NULL)
    return malformed (builder, entity->name, _("the discriminator “%s” is not a member"), entity->tag);

  return TRUE;
}

static gboolean
parse_entity (Builder          *builder,
              JsonNode         *node,
              guint             index,
              QmpSchemaEntity **out)
{
  static const struct { const char *name; QmpSchemaEntityKind kind; } kinds[] = {
    { "builtin", ENTITY_BUILTIN },
    { "enum", ENTITY_ENUM },
    { "array", ENTITY_ARRAY },
    { "object", ENTITY_OBJECT },
    { "alternate", ENTITY_ALTERNATE },
    { "command", ENTITY_COMMAND },
    { "event", ENTITY_EVENT },
  };
  QmpSchema *self = builder->self;
  JsonObject *object = _qmp_json_node_get_object (node);
  QmpSchemaEntity *entity;
  const char *name, *meta_type;

  name = _qmp_json_object_get_string (object, "name");
  meta_type = _qmp_json_object_get_string (object, "meta-type");
  if (name == NULL || meta_type == NULL)
    return malformed (builder, NULL, _("entry %u is not an object with a “name” and a “meta-type”"), index);

  entity = arena_alloc (self, sizeof (QmpSchemaEntity));
  entity->name = arena_strdup (self, name);
  entity->kind = ENTITY_UNKNOWN;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (meta_type, kinds[i].name))
      entity->kind = kinds[i].kind;

  if (!get_features (builder, object, entity->name, &entity->features))
    return FALSE;
  entity->deprecated = features_have (entity->features, "deprecated");

  switch (entity->kind)
    {
    case ENTITY_BUILTIN:
      if (!get_string (builder, object, entity->name, "json-type", &entity->json_type))
        return FALSE;
      entity->json_kind = json_kind_from_name (entity->json_type);
      break;

    case ENTITY_ENUM:
      if (!parse_enum (builder, object, entity))
        return FALSE;
      break;

    case ENTITY_ARRAY:
      if (!get_string (builder, object, entity->name, "element-type", &entity->element_name))
        return FALSE;
      break;

    case ENTITY_OBJECT:
      if (!parse_members (builder, object, entity, TRUE) ||
          !parse_variants (builder, object, entity))
        return FALSE;
      break;

    case ENTITY_ALTERNATE:
      if (!parse_members (builder, object, entity, FALSE))
        return FALSE;
      break;

    case ENTITY_COMMAND:
      if (!get_string (builder, object, entity->name, "arg-type", &entity->arg_name) ||
          !get_string (builder, object, entity->name, "ret-type", &entity->ret_name))
        return FALSE;
      if (json_object_has_member (object, "allow-oob") &&
          !_qmp_json_object_get_boolean (object, "allow-oob", &entity->allow_oob))
        return bad_member (builder, entity->name, "allow-oob");
      break;

    case ENTITY_EVENT:
      if (!get_string (builder, object, entity->name, "arg-type", &entity->arg_name))
        return FALSE;
      break;

    case ENTITY_UNKNOWN:
    default:
      break;
    }

  *out = entity;
  return TRUE;
}

static gboolean
resolve (Builder          *builder,
         QmpSchemaEntity  *entity,
         const char       *type_name,
         QmpSchemaEntity **out)
{
  QmpSchemaEntity *type = g_hash_table_lookup (builder->self->entities, type_name);

  /* A command or an event is not a type. */
  if (type == NULL || type->kind == ENTITY_COMMAND || type->kind == ENTITY_EVENT)
    return malformed (builder, entity->name, _("refers to the unknown type “%s”"), type_name);

  *out = type;
  return TRUE;
}

static gboolean
resolve_entity (Builder         *builder,
                QmpSchemaEntity *entity)
{
  switch (entity->kind)
    {
    case ENTITY_ARRAY:
      return resolve (builder, entity, entity->element_name, &entity->element);

    case ENTITY_OBJECT:
    case ENTITY_ALTERNATE:
      for (guint i = 0; i < entity->n_members; i++)
        if (!resolve (builder, entity, entity->members[i].type_name, &entity->members[i].type))
          return FALSE;
      for (guint i = 0; i < entity->n_variants; i++)
        if (!resolve (builder, entity, entity->variants[i].type_name, &entity->variants[i].type))
          return FALSE;
      return TRUE;

    case ENTITY_COMMAND:
      return resolve (builder, entity, entity->arg_name, &entity->arg_type) &&
             resolve (builder, entity, entity->ret_name, &entity->ret_type);

    case ENTITY_EVENT:
      return resolve (builder, entity, entity->arg_name, &entity->arg_type);

    case ENTITY_BUILTIN:
    case ENTITY_ENUM:
    case ENTITY_UNKNOWN:
    default:
      return TRUE;
    }
}

static int
compare_entities (gconstpointer a,
                  gconstpointer b)
{
  const QmpSchemaEntity *ea = *(QmpSchemaEntity * const *) a;
  const QmpSchemaEntity *eb = *(QmpSchemaEntity * const *) b;

  return strcmp (ea->name, eb->name);
}

gpointer
_qmp_schema_alloc (QmpSchema *self,
                   gsize      size)
{
  return arena_alloc (self, size);
}

const char *
_qmp_schema_strndup (QmpSchema  *self,
                     const char *str,
                     gsize       len)
{
  char *copy = arena_alloc (self, len + 1);

  memcpy (copy, str, len);
  copy[len] = '\0';
  return copy;
}

gboolean
_qmp_schema_features_have (const char * const *features,
                           const char         *feature)
{
  return features_have (features, feature);
}

QmpSchemaJsonKind
_qmp_schema_json_kind (const char *json_type)
{
  return json_kind_from_name (json_type);
}

gboolean
_qmp_schema_add_entity (QmpSchema        *self,
                        QmpSchemaEntity  *entity,
                        GError          **error)
{
  Builder builder = { self, error };

  if (!g_hash_table_insert (self->entities, (gpointer) entity->name, entity))
    return malformed (&builder, entity->name, _("it is defined twice"));

  if (entity->kind == ENTITY_COMMAND)
    g_ptr_array_add (self->commands, entity);
  else if (entity->kind == ENTITY_EVENT)
    g_ptr_array_add (self->events, entity);

  return TRUE;
}

/* Once every entity is there: the references become pointers. */
gboolean
_qmp_schema_resolve (QmpSchema  *self,
                     GError    **error)
{
  Builder builder = { self, error };
  GHashTableIter iter;
  gpointer entity;

  g_hash_table_iter_init (&iter, self->entities);
  while (g_hash_table_iter_next (&iter, NULL, &entity))
    if (!resolve_entity (&builder, entity))
      return FALSE;

  g_ptr_array_sort (self->commands, compare_entities);
  g_ptr_array_sort (self->events, compare_entities);

  return TRUE;
}

static gboolean
schema_build (QmpSchema  *self,
              JsonNode   *node,
              GError    **error)
{
  Builder builder = { self, error };
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return malformed (&builder, NULL, _("it is not an array"));

  array = json_node_get_array (node);
  n = json_array_get_length (array);
  for (guint i = 0; i < n; i++)
    {
      QmpSchemaEntity *entity = NULL;

      if (!parse_entity (&builder, json_array_get_element (array, i), i, &entity) ||
          !_qmp_schema_add_entity (self, entity, error))
        return FALSE;
    }

  return _qmp_schema_resolve (self, error);
}

/* -------------------------------------------------------------- GObject */

static void
qmp_schema_finalize (GObject *object)
{
  QmpSchema *self = QMP_SCHEMA (object);

  g_clear_pointer (&self->entities, g_hash_table_unref);
  g_clear_pointer (&self->commands, g_ptr_array_unref);
  g_clear_pointer (&self->events, g_ptr_array_unref);
  g_slist_free_full (self->blocks, g_free);

  G_OBJECT_CLASS (qmp_schema_parent_class)->finalize (object);
}

static void
qmp_schema_class_init (QmpSchemaClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qmp_schema_finalize;
}

static void
qmp_schema_init (QmpSchema *self)
{
  self->entities = g_hash_table_new (g_str_hash, g_str_equal);
  self->commands = g_ptr_array_new ();
  self->events = g_ptr_array_new ();
}

/**
 * qmp_schema_new:
 * @schema: the return value of `query-qmp-schema`: an array of objects
 * @error: return location for a #GError
 *
 * Builds a schema from what a server's `query-qmp-schema` returned.  Every
 * member is checked: a malformed schema fails with %QMP_ERROR_PROTOCOL.
 * Most programs use [method@Qmp.Connection.get_schema_sync] instead.
 *
 * ```c
 * g_autoptr(JsonNode) reply = qmp_connection_execute_sync (connection, "query-qmp-schema",
 *                                                          NULL, QMP_EXECUTE_FLAGS_NONE,
 *                                                          NULL, &error);
 * g_autoptr(QmpSchema) schema = reply ? qmp_schema_new (reply, &error) : NULL;
 * ```
 *
 * Returns: (transfer full): the schema, or %NULL on error
 *
 * Since: 1.0
 */
QmpSchema *
qmp_schema_new (JsonNode  *schema,
                GError   **error)
{
  g_autoptr(QmpSchema) self = NULL;

  g_return_val_if_fail (schema != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (QMP_TYPE_SCHEMA, NULL);
  if (!schema_build (self, schema, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * qmp_schema_new_from_data:
 * @data: JSON text: the array that `query-qmp-schema` returns, or a whole
 *   reply `{"return": [...]}`
 * @length: the length of @data in bytes, or -1 if it is nul-terminated
 * @error: return location for a #GError
 *
 * Builds a schema from saved JSON text, such as the output of `qmpctl
 * query-qmp-schema`: to check arguments, or to look at what a QEMU
 * supports, without running it.  Text that is not JSON fails with
 * %QMP_ERROR_PROTOCOL, like a malformed schema.
 *
 * ```c
 * g_autofree char *data = NULL;
 * gsize length;
 *
 * if (g_file_get_contents ("qemu-7.2-schema.json", &data, &length, &error))
 *   schema = qmp_schema_new_from_data (data, length, &error);
 * ```
 *
 * Returns: (transfer full): the schema, or %NULL on error
 *
 * Since: 1.0
 */
QmpSchema *
qmp_schema_new_from_data (const char  *data,
                          gssize       length,
                          GError     **error)
{
  g_autoptr(QmpSchema) self = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (QMP_TYPE_SCHEMA, NULL);
  if (!_qmp_schema_parse_text (self, data, length < 0 ? strlen (data) : (gsize) length, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* -------------------------------------------------------------- lookups */

QmpSchemaEntity *
_qmp_schema_lookup (QmpSchema  *self,
                    const char *name)
{
  return g_hash_table_lookup (self->entities, name);
}

QmpSchemaEntity *
_qmp_schema_lookup_kind (QmpSchema           *self,
                         const char          *name,
                         QmpSchemaEntityKind  kind)
{
  QmpSchemaEntity *entity = g_hash_table_lookup (self->entities, name);

  return entity != NULL && entity->kind == kind ? entity : NULL;
}

const QmpSchemaMember *
_qmp_schema_entity_find_member (QmpSchemaEntity *entity,
                                const char      *name)
{
  if (entity->kind != ENTITY_OBJECT)
    return NULL;

  for (guint i = 0; i < entity->n_members; i++)
    if (g_str_equal (entity->members[i].name, name))
      return &entity->members[i];

  return NULL;
}

const QmpSchemaMember *
_qmp_schema_entity_find_variant (QmpSchemaEntity *entity,
                                 const char      *name)
{
  for (guint i = 0; i < entity->n_variants; i++)
    if (g_str_equal (entity->variants[i].name, name))
      return &entity->variants[i];

  return NULL;
}

gint
_qmp_schema_entity_find_value (QmpSchemaEntity *entity,
                               const char      *value)
{
  for (guint i = 0; i < entity->n_values; i++)
    if (g_str_equal (entity->values[i], value))
      return (gint) i;

  return -1;
}

/**
 * qmp_schema_has_command:
 * @self: a #QmpSchema
 * @name: the name of a command, such as `"blockdev-add"`
 *
 * Tells whether the server has the command @name.
 *
 * ```c
 * const char *command = qmp_schema_has_command (schema, "blockdev-reopen")
 *                         ? "blockdev-reopen" : "x-blockdev-reopen";
 * ```
 *
 * Returns: %TRUE if the server has the command
 *
 * Since: 1.0
 */
gboolean
qmp_schema_has_command (QmpSchema  *self,
                        const char *name)
{
  g_return_val_if_fail (QMP_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return _qmp_schema_lookup_kind (self, name, ENTITY_COMMAND) != NULL;
}

/**
 * qmp_schema_has_event:
 * @self: a #QmpSchema
 * @name: the name of an event, such as `"JOB_STATUS_CHANGE"`
 *
 * Tells whether the server can send the event @name.
 *
 * ```c
 * if (!qmp_schema_has_event (schema, "DEVICE_UNPLUG_GUEST_ERROR"))
 *   g_message ("this QEMU does not report refused unplugs");
 * ```
 *
 * Returns: %TRUE if the server has the event
 *
 * Since: 1.0
 */
gboolean
qmp_schema_has_event (QmpSchema  *self,
                      const char *name)
{
  g_return_val_if_fail (QMP_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return _qmp_schema_lookup_kind (self, name, ENTITY_EVENT) != NULL;
}

static char **
list_names (GPtrArray *entities)
{
  char **names = g_new (char *, entities->len + 1);

  for (guint i = 0; i < entities->len; i++)
    names[i] = g_strdup (((QmpSchemaEntity *) entities->pdata[i])->name);
  names[entities->len] = NULL;

  return names;
}

/**
 * qmp_schema_list_commands:
 * @self: a #QmpSchema
 *
 * Lists the server's commands, sorted by name.
 *
 * ```c
 * g_auto(GStrv) commands = qmp_schema_list_commands (schema);
 *
 * for (guint i = 0; commands[i] != NULL; i++)
 *   g_print ("%s\n", commands[i]);
 * ```
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   commands
 *
 * Since: 1.0
 */
char **
qmp_schema_list_commands (QmpSchema *self)
{
  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);

  return list_names (self->commands);
}

/**
 * qmp_schema_list_events:
 * @self: a #QmpSchema
 *
 * Lists the server's events, sorted by name.
 *
 * ```c
 * g_auto(GStrv) events = qmp_schema_list_events (schema);
 * ```
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   events
 *
 * Since: 1.0
 */
char **
qmp_schema_list_events (QmpSchema *self)
{
  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);

  return list_names (self->events);
}

/**
 * qmp_schema_get_command_arguments:
 * @self: a #QmpSchema
 * @command: the name of a command
 *
 * Gets the type of @command's arguments: an object (a union for commands
 * such as `blockdev-add`), empty when the command takes none.
 *
 * ```c
 * g_autoptr(QmpSchemaType) arguments = qmp_schema_get_command_arguments (schema, "device_add");
 *
 * for (guint i = 0; i < qmp_schema_type_get_n_members (arguments); i++)
 *   g_print ("%s\n", qmp_schema_type_get_member_name (arguments, i));
 * ```
 *
 * Returns: (transfer full) (nullable): the type, or %NULL if the server
 *   has no such command
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_get_command_arguments (QmpSchema  *self,
                                  const char *command)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  entity = _qmp_schema_lookup_kind (self, command, ENTITY_COMMAND);
  return entity != NULL ? _qmp_schema_type_new (self, entity->arg_type) : NULL;
}

/**
 * qmp_schema_get_command_return:
 * @self: a #QmpSchema
 * @command: the name of a command
 *
 * Gets the type of what @command returns.
 *
 * ```c
 * g_autoptr(QmpSchemaType) ret = qmp_schema_get_command_return (schema, "query-status");
 * g_autofree char *text = qmp_schema_type_to_string (ret);   // "object"
 * ```
 *
 * Returns: (transfer full) (nullable): the type, or %NULL if the server
 *   has no such command
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_get_command_return (QmpSchema  *self,
                               const char *command)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  entity = _qmp_schema_lookup_kind (self, command, ENTITY_COMMAND);
  return entity != NULL ? _qmp_schema_type_new (self, entity->ret_type) : NULL;
}

/**
 * qmp_schema_get_command_allow_oob:
 * @self: a #QmpSchema
 * @command: the name of a command
 *
 * Tells whether @command may be run out of band
 * (%QMP_EXECUTE_FLAGS_OOB).
 *
 * ```c
 * if (qmp_schema_get_command_allow_oob (schema, "migrate-pause"))
 *   flags |= QMP_EXECUTE_FLAGS_OOB;
 * ```
 *
 * Returns: %TRUE if the server has @command and allows it out of band
 *
 * Since: 1.0
 */
gboolean
qmp_schema_get_command_allow_oob (QmpSchema  *self,
                                  const char *command)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (command != NULL, FALSE);

  entity = _qmp_schema_lookup_kind (self, command, ENTITY_COMMAND);
  return entity != NULL && entity->allow_oob;
}

/**
 * qmp_schema_get_command_features:
 * @self: a #QmpSchema
 * @command: the name of a command
 *
 * Gets the features of @command, such as `deprecated` or `unstable`.
 *
 * ```c
 * const char * const *features = qmp_schema_get_command_features (schema, "device_add");
 *
 * if (features != NULL && g_strv_contains (features, "json-cli-hotplug"))
 *   …
 * ```
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   features (an empty array when it has none), or %NULL if the server
 *   has no such command
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_get_command_features (QmpSchema  *self,
                                 const char *command)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  entity = _qmp_schema_lookup_kind (self, command, ENTITY_COMMAND);
  return entity != NULL ? entity->features : NULL;
}

/**
 * qmp_schema_get_event_data:
 * @self: a #QmpSchema
 * @event: the name of an event
 *
 * Gets the type of @event's `data`: an object, empty when the event has
 * no data.
 *
 * ```c
 * g_autoptr(QmpSchemaType) data = qmp_schema_get_event_data (schema, "SHUTDOWN");
 * int reason = qmp_schema_type_find_member (data, "reason");
 * ```
 *
 * Returns: (transfer full) (nullable): the type, or %NULL if the server
 *   has no such event
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_get_event_data (QmpSchema  *self,
                           const char *event)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (event != NULL, NULL);

  entity = _qmp_schema_lookup_kind (self, event, ENTITY_EVENT);
  return entity != NULL ? _qmp_schema_type_new (self, entity->arg_type) : NULL;
}

/**
 * qmp_schema_get_event_features:
 * @self: a #QmpSchema
 * @event: the name of an event
 *
 * Gets the features of @event, such as `deprecated`.
 *
 * ```c
 * const char * const *features = qmp_schema_get_event_features (schema, "MEM_UNPLUG_ERROR");
 * ```
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   features, or %NULL if the server has no such event
 *
 * Since: 1.0
 */
const char * const *
qmp_schema_get_event_features (QmpSchema  *self,
                               const char *event)
{
  QmpSchemaEntity *entity;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (event != NULL, NULL);

  entity = _qmp_schema_lookup_kind (self, event, ENTITY_EVENT);
  return entity != NULL ? entity->features : NULL;
}

/* ----------------------------------------------------------- path query */

/* libvirt's virQEMUQAPISchemaPathGet(), with its semantics: see
 * docs/schema.md.  The walk never consumes a component when it goes
 * through an array or an alternate, so a hostile schema whose array holds
 * itself would loop: the hops are bounded as libvirt bounds them. */

#define MAX_PATH_HOPS 1000

typedef struct
{
  char **components;
  guint next;
  guint hops;
  QmpSchemaEntity *found;   /* the type a type query ends at */
} PathWalk;

static gboolean walk_type (PathWalk        *walk,
                           QmpSchemaEntity *type);

/* The component without its modifier; libvirt skips any first character
 * that is not a letter (a space quotes a name that starts with one). */
static const char *
component_name (const char *component)
{
  return g_ascii_isalpha (component[0]) || component[0] == '\0' ? component : component + 1;
}

static gboolean
walk_features (PathWalk           *walk,
               const char         *component,
               const char * const *features)
{
  /* "$feature" ends a path. */
  if (walk->components[walk->next] != NULL)
    return FALSE;

  return features_have (features, component + 1);
}

static gboolean
walk_object (PathWalk        *walk,
             QmpSchemaEntity *type)
{
  const char *component = walk->components[walk->next++];
  const QmpSchemaMember *member;

  switch (component[0])
    {
    case '^':
    case '!':
      return FALSE;
    case '$':
      return walk_features (walk, component, type->features);
    case '+':
      member = _qmp_schema_entity_find_variant (type, component + 1);
      break;
    default:
      member = _qmp_schema_entity_find_member (type, component_name (component));
      if (member != NULL && component[0] == '*' && !member->optional)
        return FALSE;
      break;
    }

  return member != NULL && walk_type (walk, member->type);
}

static gboolean
walk_enum (PathWalk        *walk,
           QmpSchemaEntity *type)
{
  const char *component = walk->components[walk->next++];
  const char *feature;
  gint index;

  if (component[0] != '^')
    return FALSE;

  index = _qmp_schema_entity_find_value (type, component + 1);
  if (index < 0)
    return FALSE;

  /* "^value" may be followed by one "$feature" of that value. */
  feature = walk->components[walk->next];
  if (feature == NULL)
    return TRUE;
  walk->next++;
  if (feature[0] != '$')
    return FALSE;

  return walk_features (walk, feature, type->value_features[index]);
}

static gboolean
walk_builtin (PathWalk        *walk,
              QmpSchemaEntity *type)
{
  const char *component = walk->components[walk->next++];

  if (component[0] != '!' || walk->components[walk->next] != NULL)
    return FALSE;

  return g_str_equal (type->json_type, component + 1);
}

static gboolean
walk_type (PathWalk        *walk,
           QmpSchemaEntity *type)
{
  if (++walk->hops > MAX_PATH_HOPS)
    return FALSE;

  if (walk->components[walk->next] == NULL)
    {
      walk->found = type;
      return TRUE;
    }

  switch (type->kind)
    {
    case ENTITY_OBJECT:
      return walk_object (walk, type);
    case ENTITY_ENUM:
      return walk_enum (walk, type);
    case ENTITY_BUILTIN:
      return walk_builtin (walk, type);
    case ENTITY_ARRAY:
      /* Arrays are flattened to their elements. */
      return walk_type (walk, type->element);
    case ENTITY_ALTERNATE:
      /* The first alternative that answers. */
      for (guint i = 0; i < type->n_members; i++)
        {
          guint next = walk->next;

          if (walk_type (walk, type->members[i].type))
            return TRUE;
          walk->next = next;
          walk->found = NULL;
        }
      return FALSE;
    case ENTITY_UNKNOWN:
    case ENTITY_COMMAND:
    case ENTITY_EVENT:
    default:
      return FALSE;
    }
}

static gboolean
walk_path (QmpSchema  *self,
           const char *path,
           PathWalk   *walk)
{
  g_auto(GStrv) components = g_strsplit (path, "/", 0);
  QmpSchemaEntity *entity;
  const char *component;
  gboolean found;

  memset (walk, 0, sizeof *walk);
  if (components[0] == NULL)
    return FALSE;

  /* The first component names a command or an event, never a masked
   * type: those names are not stable. */
  entity = g_hash_table_lookup (self->entities, components[0]);
  if (entity == NULL || (entity->kind != ENTITY_COMMAND && entity->kind != ENTITY_EVENT))
    return FALSE;

  walk->components = components;
  walk->next = 1;
  component = components[1];
  if (component == NULL)
    found = TRUE;
  else if (component[0] == '$')
    {
      walk->next++;
      found = walk_features (walk, component, entity->features);
    }
  else if (g_str_equal (component, "arg-type"))
    {
      walk->next++;
      found = walk_type (walk, entity->arg_type);
    }
  else if (g_str_equal (component, "ret-type") && entity->kind == ENTITY_COMMAND)
    {
      walk->next++;
      found = walk_type (walk, entity->ret_type);
    }
  else
    found = FALSE;

  walk->components = NULL;
  return found;
}

/**
 * qmp_schema_has_path:
 * @self: a #QmpSchema
 * @path: a query in libvirt's syntax, such as
 *   `"blockdev-add/arg-type/+file/aio"`
 *
 * Answers a query on the schema in the syntax of libvirt's
 * `virQEMUQAPISchemaPathGet()`: the way a manager probes what a QEMU
 * supports without comparing version numbers.
 *
 * A path is made of components separated by `/`.  The first is the name
 * of a command or an event.  The second selects `arg-type` (a command's
 * arguments or an event's data) or `ret-type` (a command's return).  Each
 * one after that depends on the type reached so far:
 *
 * - `name`: the member `name` of an object; `*name`: the same, and the
 *   member must be optional;
 * - `+case`: the variant `case` of a union;
 * - `^value`: TRUE if the enum has `value`; it may be followed by one
 *   `$feature`, TRUE if that value has the feature;
 * - `!json-type`: TRUE if the builtin type is of that JSON type (`string`,
 *   `int`, `number`, `boolean`, `null` or `value`);
 * - `$feature`: TRUE if the command, event or object type has the
 *   feature (such as `deprecated`).
 *
 * Arrays are looked through to their elements; an alternate answers TRUE
 * if one of its alternatives does.  `^`, `!` and `$` components end a
 * path.  A name that starts with something else than a letter is written
 * after one space.  Any other path (a malformed one included) answers
 * FALSE.  See the "Schema" guide for examples.
 *
 * ```c
 * if (qmp_schema_has_path (schema, "blockdev-add/arg-type/+file/aio/^io_uring"))
 *   aio = "io_uring";
 * if (qmp_schema_has_path (schema, "query-status/ret-type/status"))
 *   …
 * ```
 *
 * Returns: %TRUE if the schema has what @path describes
 *
 * Since: 1.0
 */
gboolean
qmp_schema_has_path (QmpSchema  *self,
                     const char *path)
{
  PathWalk walk;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return walk_path (self, path, &walk);
}

/**
 * qmp_schema_get_path_type:
 * @self: a #QmpSchema
 * @path: a path that ends at a type, in the syntax of
 *   [method@Qmp.Schema.has_path]
 *
 * Gets the type that @path leads to, such as the type of a member.
 *
 * ```c
 * g_autoptr(QmpSchemaType) aio = qmp_schema_get_path_type (schema, "blockdev-add/arg-type/+file/aio");
 * const char * const *modes = aio ? qmp_schema_type_get_enum_values (aio) : NULL;
 * ```
 *
 * Returns: (transfer full) (nullable): the type, or %NULL if the schema
 *   has no such path or the path ends with a `^`, `!` or `$` query
 *
 * Since: 1.0
 */
QmpSchemaType *
qmp_schema_get_path_type (QmpSchema  *self,
                          const char *path)
{
  PathWalk walk;

  g_return_val_if_fail (QMP_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (!walk_path (self, path, &walk) || walk.found == NULL)
    return NULL;

  return _qmp_schema_type_new (self, walk.found);
}
