/* qmp-json-template-private.h: JSON templates with their values in an array
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One value for a conversion, as an array gives it instead of a va_list:
 * each conversion takes the next element and reads the member of its type
 * (`%d` the integer cast to an int, `%lu` the unsigned one cast to an
 * unsigned long, …).  So a fuzzer can choose the template and the values
 * without knowing which conversions the template holds. */
typedef struct
{
  const char *string;          /* %s */
  gint64 integer;              /* %d %i %ld %li %lld %lli %zd */
  guint64 unsigned_integer;    /* %u %lu %llu %zu */
  double number;               /* %f %g %lf */
  gboolean boolean;            /* %b */
  JsonNode *node;              /* %p */
} QmpJsonTemplateValue;

/* qmp_json_build_object() with its values in @values.  @n_values must be
 * at least the number of conversions: the number of '%' in @format is. */
JsonObject *_qmp_json_build_object_array (const char                 *format,
                                          const QmpJsonTemplateValue *values,
                                          gsize                       n_values);

G_END_DECLS
