/* qmp-schema-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-connection.h"
#include "qmp-schema.h"
#include "qmp-schema-type.h"

G_BEGIN_DECLS

/* What query-qmp-schema describes, resolved: every reference to a type is
 * a pointer, so nobody after the parser sees QEMU's masked names. */
typedef enum {
  ENTITY_BUILTIN   = QMP_SCHEMA_TYPE_KIND_BUILTIN,
  ENTITY_ENUM      = QMP_SCHEMA_TYPE_KIND_ENUM,
  ENTITY_ARRAY     = QMP_SCHEMA_TYPE_KIND_ARRAY,
  ENTITY_OBJECT    = QMP_SCHEMA_TYPE_KIND_OBJECT,
  ENTITY_ALTERNATE = QMP_SCHEMA_TYPE_KIND_ALTERNATE,
  ENTITY_UNKNOWN   = QMP_SCHEMA_TYPE_KIND_UNKNOWN,
  ENTITY_COMMAND,
  ENTITY_EVENT,
} QmpSchemaEntityKind;

/* How a builtin checks its JSON value. */
typedef enum {
  JSON_KIND_VALUE,     /* "value" (any), or a json-type we do not know */
  JSON_KIND_STRING,
  JSON_KIND_INT,
  JSON_KIND_NUMBER,
  JSON_KIND_BOOLEAN,
  JSON_KIND_NULL,
} QmpSchemaJsonKind;

typedef struct _QmpSchemaEntity QmpSchemaEntity;

/* An object member, an alternative (name %NULL) or a union variant (name
 * is the case). */
typedef struct
{
  const char *name;
  const char *type_name;        /* as sent; only until resolved */
  QmpSchemaEntity *type;
  gboolean optional;
  gboolean deprecated;
  const char * const *features;
} QmpSchemaMember;

struct _QmpSchemaEntity
{
  QmpSchemaEntityKind kind;
  const char *name;             /* as sent: masked ("123") for most types */
  const char * const *features; /* never NULL */
  gboolean deprecated;

  /* builtin */
  const char *json_type;
  QmpSchemaJsonKind json_kind;

  /* enum: values[n_values], value_features[i] never NULL */
  const char * const *values;
  const char * const **value_features;
  guint n_values;

  /* array */
  const char *element_name;
  QmpSchemaEntity *element;

  /* object: members, then variants by the member named tag; alternate:
   * the alternatives in members */
  QmpSchemaMember *members;
  guint n_members;
  const char *tag;
  QmpSchemaMember *variants;
  guint n_variants;

  /* command, event */
  const char *arg_name;
  const char *ret_name;
  QmpSchemaEntity *arg_type;
  QmpSchemaEntity *ret_type;
  gboolean allow_oob;
};

/* Building a schema (qmp-schema.c), for the parser of JSON text
 * (qmp-schema-text.c): entities and strings live in the schema's arena. */
gpointer          _qmp_schema_alloc           (QmpSchema        *self,
                                               gsize             size);
const char       *_qmp_schema_strndup         (QmpSchema        *self,
                                               const char       *str,
                                               gsize             len);
gboolean          _qmp_schema_features_have   (const char * const *features,
                                               const char       *feature);
QmpSchemaJsonKind _qmp_schema_json_kind       (const char       *json_type);
gboolean          _qmp_schema_add_entity      (QmpSchema        *self,
                                               QmpSchemaEntity  *entity,
                                               GError          **error);
gboolean          _qmp_schema_resolve         (QmpSchema        *self,
                                               GError          **error);
/* Parses JSON text (an array, or {"return": array}) straight into @self. */
gboolean          _qmp_schema_parse_text      (QmpSchema        *self,
                                               const char       *data,
                                               gsize             length,
                                               GError          **error);

/* Entity lookups for the other schema files; all return NULL when absent. */
QmpSchemaEntity *_qmp_schema_lookup          (QmpSchema          *self,
                                              const char         *name);
QmpSchemaEntity *_qmp_schema_lookup_kind     (QmpSchema          *self,
                                              const char         *name,
                                              QmpSchemaEntityKind kind);
const QmpSchemaMember *_qmp_schema_entity_find_member  (QmpSchemaEntity *entity,
                                                        const char      *name);
const QmpSchemaMember *_qmp_schema_entity_find_variant (QmpSchemaEntity *entity,
                                                        const char      *name);
gint             _qmp_schema_entity_find_value (QmpSchemaEntity *entity,
                                                const char      *value);

/* Whether @node has a JSON type that @type takes (qmp-schema-validate.c):
 * what qmp_schema_type_accepts() answers. */
gboolean         _qmp_schema_entity_accepts  (QmpSchemaEntity    *type,
                                              JsonNode           *node);

QmpSchemaType   *_qmp_schema_type_new        (QmpSchema          *schema,
                                              QmpSchemaEntity    *entity);

/* Deprecated things the check met: called for each, with a message. */
typedef void (*QmpSchemaDeprecatedFunc) (const char *key,
                                         const char *message,
                                         gpointer    user_data);

gboolean _qmp_schema_check (QmpSchema               *self,
                            const char              *command,
                            JsonObject              *arguments,
                            QmpSchemaDeprecatedFunc  deprecated_func,
                            gpointer                 user_data,
                            GError                 **error);

/* The hooks of QmpConnection's execute functions (qmp-schema-connection.c).
 *
 * _sync: when @flags or the connection ask for it, checks the call (the
 * schema is fetched first if need be, and waited for at most the call's
 * @timeout_msec: -1 for the connection's, 0 for none); FALSE with @error
 * set means nothing must be sent. */
gboolean _qmp_connection_check_call_sync  (QmpConnection       *self,
                                           const char          *command,
                                           JsonObject          *arguments,
                                           QmpExecuteFlags      flags,
                                           int                  timeout_msec,
                                           GCancellable        *cancellable,
                                           GError             **error);

/* _async: returns FALSE when the call goes on as usual (no check wanted,
 * or it passed); TRUE when the hook took the call over: it failed the
 * call through @callback (a GTask of @self with @source_tag), or it waits
 * for the schema and then calls the public function again, with the same
 * arguments, from the caller's context.  @event_name and @event_match are
 * those of execute_until_event_async (@source_tag says which). */
gboolean _qmp_connection_check_call_async (QmpConnection       *self,
                                           gpointer             source_tag,
                                           const char          *command,
                                           JsonObject          *arguments,
                                           QmpExecuteFlags      flags,
                                           const char          *event_name,
                                           JsonObject          *event_match,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);

/* The same for the _full_async calls (qmp-connection-full.c): @source_tag
 * is that of their task, qmp_connection_execute_async or
 * qmp_connection_execute_until_event_async; the call made again is the
 * _full one, with @timeout_msec. */
/* The same for the _with_fds_async calls (qmp-connection-fds.c): @fd_list
 * (nullable) holds the call's own duplicates, which the check keeps while
 * it waits for the schema; the call made again is the _with_fds one. */
gboolean _qmp_connection_check_fds_call_async (QmpConnection       *self,
                                               gpointer             source_tag,
                                               const char          *command,
                                               JsonObject          *arguments,
                                               GUnixFDList         *fd_list,
                                               QmpExecuteFlags      flags,
                                               const char          *event_name,
                                               JsonObject          *event_match,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);

gboolean _qmp_connection_check_full_call_async (QmpConnection       *self,
                                                gpointer             source_tag,
                                                const char          *command,
                                                JsonObject          *arguments,
                                                QmpExecuteFlags      flags,
                                                const char          *event_name,
                                                JsonObject          *event_match,
                                                int                  timeout_msec,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);

/* Whether the server has @command: by its schema when the connection has
 * fetched it already (a downstream QEMU may have backported a command, or
 * left one out), else by its version being at least major.minor.micro. */
gboolean _qmp_connection_has_command (QmpConnection *self,
                                      const char    *command,
                                      guint          major,
                                      guint          minor,
                                      guint          micro);

G_END_DECLS
