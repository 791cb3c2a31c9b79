/* qmpctl.h: what the files of qmpctl share
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <qmp-glib.h>

G_BEGIN_DECLS

/* Exit statuses, as --help documents them. */
enum {
  QMPCTL_EXIT_OK = 0,
  QMPCTL_EXIT_FAILED = 1,   /* a command failed, a wait timed out, … */
  QMPCTL_EXIT_USAGE = 2,    /* bad usage, or no QMP connection at all */
};

/* One command of a command line: a name and its arguments. */
typedef struct
{
  char *name;
  JsonObject *arguments;    /* nullable: no "arguments" member */
} QmpctlCommand;

void qmpctl_command_free (QmpctlCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpctlCommand, qmpctl_command_free)

/* qmpctl-json.c: arguments in, JSON out.  Argument errors are in
 * G_OPTION_ERROR, so that they exit with QMPCTL_EXIT_USAGE. */
JsonObject *qmpctl_parse_arguments (const char * const *args,
                                    GError            **error);
GPtrArray  *qmpctl_parse_commands  (const char * const *args,
                                    GError            **error);
gboolean    qmpctl_use_colour      (int                 fd);
typedef gboolean (*QmpctlWriteFunc) (const char *text,
                                     gpointer    user_data);
gboolean    qmpctl_print_json      (const char         *json,
                                    gboolean            pretty,
                                    gboolean            colour,
                                    QmpctlWriteFunc     write,
                                    gpointer            user_data);
char       *qmpctl_event_to_json   (QmpEvent           *event);
char       *qmpctl_format_error    (const GError       *error);

/* qmpctl.c: standard output, where a write error is an error: prints
 * @text or @json, and a newline, flushed; FALSE after a write error,
 * which also makes qmpctl fail when it exits. */
gboolean qmpctl_print_line      (const char *text);
gboolean qmpctl_print_json_line (const char *json,
                                 gboolean    pretty,
                                 gboolean    colour);

/* qmpctl.c: runs commands one after the other, stopping at the first
 * failure; every error (a line of text) and result (JSON, as the server
 * wrote it) goes through @output, which returns FALSE when it could not
 * write (and that stops the commands too). */
typedef gboolean (*QmpctlOutputFunc) (gboolean    is_error,
                                      const char *text,
                                      gpointer    user_data);
typedef void (*QmpctlDoneFunc)   (gboolean    success,
                                  gpointer    user_data);

void qmpctl_run_commands (QmpConnection    *connection,
                          GPtrArray        *commands,
                          GCancellable     *cancellable,
                          QmpctlOutputFunc  output,
                          QmpctlDoneFunc    done,
                          gpointer          user_data);

/* qmpctl-help.c: the server's schema (query-qmp-schema), for help and
 * completion; every member read from the peer is type-checked. */
typedef struct _QmpctlSchema QmpctlSchema;

const char   *qmpctl_json_get_string     (JsonObject     *object,
                                          const char     *name);
int           qmpctl_compare_strings     (gconstpointer   a,
                                          gconstpointer   b);
QmpctlSchema *qmpctl_schema_new          (JsonNode       *root);
void          qmpctl_schema_free         (QmpctlSchema   *self);
JsonObject   *qmpctl_schema_lookup       (QmpctlSchema   *self,
                                          const char     *name,
                                          const char     *meta_type);
char         *qmpctl_schema_describe     (QmpctlSchema   *self,
                                          const char     *command);
GPtrArray    *qmpctl_load_command_names  (QmpConnection  *connection,
                                          GError        **error);
QmpctlSchema *qmpctl_load_schema         (QmpConnection  *connection,
                                          GError        **error);
char         *qmpctl_help_text           (GPtrArray      *names,
                                          QmpctlSchema   *schema,
                                          const char     *command,
                                          GError        **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpctlSchema, qmpctl_schema_free)

/* qmpctl-shell.c: the interactive shell; returns an exit status. */
int qmpctl_shell (QmpConnection *connection,
                  gboolean       colour);

G_END_DECLS
