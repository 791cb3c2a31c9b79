/* qmp-json-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What the tree of one line may cost, in multiples of max-message-size:
 * with the line itself and the copy of its "return" or "data" that waits
 * for the caller, a message takes at most 16 times the limit. */
#define QMP_JSON_TREE_FACTOR 14

/* The members of a line from the server that the protocol defines. */
typedef struct
{
  gboolean has_event;       /* an "event" member, whatever its type */
  char *event;              /* its name, when it is a string */
  const char *data_json;    /* "data", checked but not parsed; in the line */
  gsize data_json_len;
  gboolean has_id;
  JsonNode *id;             /* when it is a number */
  const char *ret_json;     /* "return", checked but not parsed; in the line */
  gsize ret_json_len;
  gboolean has_error;
  JsonNode *error;          /* when an object: its "class" and "desc" only */
  gboolean has_greeting;    /* a "QMP" member, whatever its type */
  JsonNode *greeting;       /* "QMP", when a greeting is expected */
  gint64 seconds;           /* -1 when absent or not an integer */
  gint64 microseconds;
} QmpMessage;

/* A member of a client's command line: its last value, as text in the
 * line (checked JSON, not NUL-terminated). */
typedef struct
{
  guint order;              /* 0: absent; else where it first came, from 1 */
  const char *json;
  gsize len;
  char *string;             /* "execute", "exec-oob": the value decoded, when
                             * it is a string */
} QmpCommandMember;

/* The members of a client's command line that QMP defines. */
typedef struct
{
  QmpCommandMember execute;
  QmpCommandMember exec_oob;
  QmpCommandMember arguments;
  QmpCommandMember id;
  char *unexpected;         /* the name of the first other member */
  guint unexpected_order;
} QmpCommandLine;

JsonNode   *_qmp_json_node_copy_deep   (JsonNode   *node);
JsonObject *_qmp_json_object_copy_deep (JsonObject *object);
char       *_qmp_json_to_string_redacted (JsonNode *node);
char       *_qmp_json_to_string        (JsonNode   *node);
void        _qmp_json_append_node      (GString    *out,
                                        JsonNode   *node);
void        _qmp_json_append_string    (GString    *out,
                                        const char *str);
char       *_qmp_json_string_quote     (const char *str);
gboolean    _qmp_debug_enabled         (void);
gboolean    _qmp_debug_enabled_since   (gboolean    at_start);
const char *_qmp_json_decode_string    (const char **p,
                                        const char  *end,
                                        GString     *out);
JsonNode   *_qmp_json_parse            (const char  *data,
                                        gsize        len,
                                        GString     *scratch,
                                        GError     **error);
JsonNode   *_qmp_json_parse_checked    (const char  *data,
                                        gsize        len);
JsonNode   *_qmp_json_parse_checked_bounded (const char  *data,
                                             gsize        len,
                                             guint64      max_message_size,
                                             GError     **error);
JsonObject *_qmp_json_parse_checked_object (const char *data,
                                            gsize       len);
gboolean    _qmp_json_check            (const char  *data,
                                        gsize        len,
                                        GError     **error);
char       *_qmp_json_line_for_log     (const char  *line,
                                        gsize        len,
                                        GString     *scratch,
                                        guint64      max_message_size);
gboolean    _qmp_json_parse_message    (const char  *data,
                                        gsize        len,
                                        GString     *scratch,
                                        gboolean     want_greeting,
                                        guint64      max_message_size,
                                        QmpMessage  *message,
                                        gboolean    *not_an_object,
                                        GError     **error);
void        _qmp_message_clear         (QmpMessage  *message);
gboolean    _qmp_json_parse_command    (const char      *data,
                                        gsize            len,
                                        GString         *scratch,
                                        QmpCommandLine  *line,
                                        gboolean        *not_an_object,
                                        GError         **error);
void        _qmp_command_line_clear    (QmpCommandLine  *line);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QmpMessage, _qmp_message_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QmpCommandLine, _qmp_command_line_clear)

/* Reading peer data: NULL (or FALSE) when the member is absent or of
 * another type, never a critical; @object and @node may be NULL. */
JsonObject *_qmp_json_node_get_object    (JsonNode    *node);
const char *_qmp_json_node_get_string    (JsonNode    *node);
gboolean    _qmp_json_node_get_int       (JsonNode    *node,
                                          gint64      *value);
gboolean    _qmp_json_node_get_boolean   (JsonNode    *node,
                                          gboolean    *value);
JsonObject *_qmp_json_object_get_object  (JsonObject  *object,
                                          const char  *member);
JsonArray  *_qmp_json_object_get_array   (JsonObject  *object,
                                          const char  *member);
const char *_qmp_json_object_get_string  (JsonObject  *object,
                                          const char  *member);
gboolean    _qmp_json_object_get_int     (JsonObject  *object,
                                          const char  *member,
                                          gint64      *value);
gboolean    _qmp_json_object_get_boolean (JsonObject  *object,
                                          const char  *member,
                                          gboolean    *value);

G_END_DECLS
