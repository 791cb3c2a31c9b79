/* qmp-json-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The members of a line from the server that the protocol defines. */
typedef struct
{
  JsonNode *event;
  const char *data_json;    /* "data", checked but not parsed; in the line */
  gsize data_json_len;
  JsonNode *id;
  const char *ret_json;     /* "return", checked but not parsed; in the line */
  gsize ret_json_len;
  JsonNode *error;
  JsonNode *greeting;       /* "QMP" */
  gboolean has_timestamp;
  gint64 seconds;           /* -1 when absent or not an integer */
  gint64 microseconds;
} QmpMessage;

JsonObject *_qmp_json_object_copy_deep (JsonObject *object);
JsonNode   *_qmp_json_node_copy_redacted (JsonNode *node);
char       *_qmp_json_to_string_redacted (JsonNode *node);
char       *_qmp_json_string_quote     (const char *str);
gboolean    _qmp_debug_enabled         (void);
JsonNode   *_qmp_json_parse            (const char  *data,
                                        gsize        len,
                                        GString     *scratch,
                                        GError     **error);
gboolean    _qmp_json_parse_message    (const char  *data,
                                        gsize        len,
                                        GString     *scratch,
                                        QmpMessage  *message,
                                        gboolean    *not_an_object,
                                        GError     **error);
void        _qmp_message_clear         (QmpMessage  *message);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QmpMessage, _qmp_message_clear)

G_END_DECLS
