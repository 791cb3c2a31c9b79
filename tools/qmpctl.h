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
  GStrv args;               /* the KEY=VALUE given, for typing by the schema */
} QmpctlCommand;

void qmpctl_command_free (QmpctlCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpctlCommand, qmpctl_command_free)

/* qmpctl-json.c: arguments in, JSON out.  Argument errors are in
 * G_OPTION_ERROR, so that they exit with QMPCTL_EXIT_USAGE. */
JsonObject *qmpctl_parse_arguments (const char * const *args,
                                    GError            **error);
GPtrArray  *qmpctl_parse_commands  (const char * const *args,
                                    GError            **error);
QmpctlCommand *qmpctl_parse_qmp_command (const char    *line,
                                         GError       **error);
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
char       *qmpctl_hmp_text        (const char         *command,
                                    const char         *json);

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
 * write (and that stops the commands too).  With @schema, KEY=VALUE
 * arguments are typed by it; with @check, checked before they are sent. */
typedef gboolean (*QmpctlOutputFunc) (gboolean    is_error,
                                      const char *command,
                                      const char *text,
                                      gpointer    user_data);
typedef void (*QmpctlDoneFunc)   (gboolean    success,
                                  gpointer    user_data);

void qmpctl_run_commands (QmpConnection    *connection,
                          GPtrArray        *commands,
                          QmpSchema        *schema,
                          gboolean          check,
                          GCancellable     *cancellable,
                          QmpctlOutputFunc  output,
                          QmpctlDoneFunc    done,
                          gpointer          user_data);

/* qmpctl-help.c: the server's schema (QmpSchema), for help, completion
 * and the typing of KEY=VALUE arguments. */
int            qmpctl_compare_strings    (gconstpointer   a,
                                          gconstpointer   b);
JsonObject    *qmpctl_get_object_member  (JsonObject     *object,
                                          const char     *name);
GPtrArray     *qmpctl_load_commands      (QmpConnection  *connection,
                                          QmpSchema     **schema,
                                          GError        **error);
char          *qmpctl_help_text          (GPtrArray      *names,
                                          QmpSchema      *schema,
                                          const char     *command,
                                          GError        **error);
QmpSchemaType *qmpctl_find_key_type      (QmpSchemaType  *arguments,
                                          JsonObject     *given,
                                          const char     *key);
void           qmpctl_add_member_names   (QmpSchemaType  *type,
                                          JsonObject     *given,
                                          const char     *prefix,
                                          GPtrArray      *names);
void           qmpctl_type_arguments     (QmpSchema      *schema,
                                          QmpctlCommand  *command);

/* qmpctl-proxy.c: where "proxy" listens.  qmpctl_parse_listen_address()
 * reads LISTEN-ADDRESS (errors in G_OPTION_ERROR); qmpctl_prepare_listen()
 * then resolves its host and loads the TLS files, before anything is
 * connected; qmpctl_proxy() serves @connection's QEMU there until
 * @cancellable is cancelled or QEMU goes away, and returns an exit status. */
typedef enum {
  QMPCTL_LISTEN_UNIX,
  QMPCTL_LISTEN_TCP,           /* plain TCP: with --insecure-tcp only */
  QMPCTL_LISTEN_TLS,
} QmpctlListenKind;

typedef struct
{
  QmpctlListenKind kind;
  char *path;                  /* UNIX */
  char *host;                  /* TCP, TLS: as given, without brackets */
  guint16 port;                /* TCP, TLS: 0 picks a free one */
  GSocketAddress *address;     /* TCP, TLS: the host resolved */
  GTlsCertificate *certificate; /* TLS: the proxy's own, with its key */
  GTlsDatabase *client_ca;     /* TLS: what clients' certificates chain to */
} QmpctlListen;

void     qmpctl_listen_clear         (QmpctlListen  *listen);
gboolean qmpctl_parse_listen_address (const char    *address,
                                      QmpctlListen  *listen,
                                      GError       **error);
gboolean qmpctl_prepare_listen       (QmpctlListen  *listen,
                                      const char    *cert_file,
                                      const char    *key_file,
                                      const char    *client_ca_file,
                                      GCancellable  *cancellable,
                                      GError       **error);
int      qmpctl_proxy                (QmpConnection *connection,
                                      QmpctlListen  *listen,
                                      guint          mode,
                                      gboolean       read_only,
                                      GCancellable  *cancellable);

/* qmpctl-shell.c: the interactive shell; returns an exit status. */
int qmpctl_shell (QmpConnection *connection,
                  gboolean       colour,
                  gboolean       hmp_text);

G_END_DECLS
