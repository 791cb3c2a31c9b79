/* qmp-schema-type.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "qmp-version-macros.h"

G_BEGIN_DECLS

/**
 * QmpSchemaTypeKind:
 * @QMP_SCHEMA_TYPE_KIND_BUILTIN: a builtin type: `str`, `int`, `number`,
 *   `bool`, `null` or `any`
 * @QMP_SCHEMA_TYPE_KIND_ENUM: a string from a fixed set of values
 * @QMP_SCHEMA_TYPE_KIND_ARRAY: an array whose elements all have one type
 * @QMP_SCHEMA_TYPE_KIND_OBJECT: an object with named members, and when it
 *   is a union, variants chosen by the value of its discriminator
 * @QMP_SCHEMA_TYPE_KIND_ALTERNATE: a value of one of several types, told
 *   apart by its JSON type
 * @QMP_SCHEMA_TYPE_KIND_UNKNOWN: a kind of type (a `meta-type`) that this
 *   version of qmp-glib does not know; it accepts any value
 *
 * The kinds of types in a [class@Qmp.Schema].
 *
 * ```c
 * g_autoptr(QmpSchemaType) type = qmp_schema_get_command_return (schema, "query-block");
 *
 * if (type != NULL && qmp_schema_type_get_kind (type) == QMP_SCHEMA_TYPE_KIND_ARRAY)
 *   g_print ("query-block returns an array\n");
 * ```
 *
 * Since: 1.0
 */
typedef enum {
  QMP_SCHEMA_TYPE_KIND_BUILTIN,
  QMP_SCHEMA_TYPE_KIND_ENUM,
  QMP_SCHEMA_TYPE_KIND_ARRAY,
  QMP_SCHEMA_TYPE_KIND_OBJECT,
  QMP_SCHEMA_TYPE_KIND_ALTERNATE,
  QMP_SCHEMA_TYPE_KIND_UNKNOWN,
} QmpSchemaTypeKind;

#define QMP_TYPE_SCHEMA_TYPE (qmp_schema_type_get_type ())

typedef struct _QmpSchemaType QmpSchemaType;

QMP_AVAILABLE_IN_1_0
GType               qmp_schema_type_get_type          (void) G_GNUC_CONST;
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_type_ref               (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
void                qmp_schema_type_unref             (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
QmpSchemaTypeKind   qmp_schema_type_get_kind          (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
const char         *qmp_schema_type_get_name          (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
const char         *qmp_schema_type_get_json_type     (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
char               *qmp_schema_type_to_string         (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_type_get_features      (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_type_equal             (QmpSchemaType *self,
                                                       QmpSchemaType *other);

QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_type_accepts           (QmpSchemaType *self,
                                                       JsonNode      *value);

QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_type_get_enum_values   (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_type_get_enum_value_features (QmpSchemaType *self,
                                                             const char    *value);

QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_type_get_element_type  (QmpSchemaType *self);

QMP_AVAILABLE_IN_1_0
guint               qmp_schema_type_get_n_members     (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
const char         *qmp_schema_type_get_member_name   (QmpSchemaType *self,
                                                       guint          index);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_type_get_member_type   (QmpSchemaType *self,
                                                       guint          index);
QMP_AVAILABLE_IN_1_0
gboolean            qmp_schema_type_get_member_optional (QmpSchemaType *self,
                                                         guint          index);
QMP_AVAILABLE_IN_1_0
const char * const *qmp_schema_type_get_member_features (QmpSchemaType *self,
                                                         guint          index);
QMP_AVAILABLE_IN_1_0
int                 qmp_schema_type_find_member       (QmpSchemaType *self,
                                                       const char    *name);

QMP_AVAILABLE_IN_1_0
const char         *qmp_schema_type_get_discriminator (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
char              **qmp_schema_type_get_variant_names (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_type_get_variant_type  (QmpSchemaType *self,
                                                       const char    *name);

QMP_AVAILABLE_IN_1_0
guint               qmp_schema_type_get_n_alternatives (QmpSchemaType *self);
QMP_AVAILABLE_IN_1_0
QmpSchemaType      *qmp_schema_type_get_alternative   (QmpSchemaType *self,
                                                       guint          index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpSchemaType, qmp_schema_type_unref)

G_END_DECLS
