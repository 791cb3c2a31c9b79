/* qmp-json-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonObject *_qmp_json_object_copy_deep (JsonObject *object);
JsonNode   *_qmp_json_node_copy_redacted (JsonNode *node);
char       *_qmp_json_to_string_redacted (JsonNode *node);
char       *_qmp_json_string_quote     (const char *str);
gboolean    _qmp_debug_enabled         (void);
JsonNode   *_qmp_json_parse            (const char  *data,
                                        gsize        len,
                                        GString     *scratch,
                                        GError     **error);

G_END_DECLS
