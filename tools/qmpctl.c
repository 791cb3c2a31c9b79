/* qmpctl.c: the command-line client of qmp-glib
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gio/gunixfdlist.h>

#include "qmpctl.h"

#define DEFAULT_QEMU "qemu-system-x86_64"

/* QEMU serves one client a monitor: a second one waits for a greeting
 * that never comes.  Without --timeout, this bounds the connection. */
#define DEFAULT_CONNECT_TIMEOUT 10

/* A QEMU with nothing in it: starts in a blink, needs no image. */
static const char * const default_qemu_args[] = {
  "-M", "none", "-nodefaults", "-display", "none", NULL
};

typedef enum {
  MODE_COMMANDS,
  MODE_EVENTS,
  MODE_WAIT,
  MODE_SHELL,
  MODE_HELP,
  MODE_PROXY,
} Mode;

typedef struct
{
  /* the options */
  char *socket;
  gboolean launch;
  char *qemu;
  gboolean guest_agent;
  gboolean check;              /* --check: the arguments against the schema */
  int count;
  char *timeout_text;          /* --timeout as given, or NULL */
  double timeout;              /* seconds, 0 = none */
  gboolean version;
  GStrv fd_texts;              /* --fd, each a descriptor number */
  GUnixFDList *fd_list;        /* the descriptors of --fd, nullable */
  char *tls_ca;                /* --tls-ca, for a tls: --socket */
  char *tls_cert;              /* --tls-cert and --tls-key: a client certificate */
  char *tls_key;
  char *listen;                /* --listen: wait for a QEMU to connect there */
  char *mode_text;             /* --mode as given, or NULL */
  guint socket_mode;           /* proxy: of its socket; 0 = the library's 0600 */
  gboolean read_only;          /* proxy: its clients may only query */
  char *proxy_cert;            /* proxy tls: its certificate, its key, and */
  char *proxy_key;
  char *proxy_client_ca;       /* the CA of its clients' certificates */
  gboolean insecure_tcp;       /* proxy tcp: allowed, for all it gives away */
  GStrv qemu_args;             /* after "--"; NULL without "--" */
  GStrv args;                  /* what is left after the options */

  /* what the arguments ask for */
  Mode mode;
  GPtrArray *commands;         /* MODE_COMMANDS: QmpctlCommand */
  const char * const *event_names; /* MODE_EVENTS: in args */
  const char *event_name;      /* MODE_WAIT: in args */
  const char *help_command;    /* MODE_HELP: in args, nullable */
  QmpctlListen proxy_listen;   /* MODE_PROXY: where it listens */
  JsonObject *event_match;     /* MODE_WAIT, nullable */
  gboolean colour;
  gboolean hmp_text;           /* human-monitor-command's output as text */

  QmpProcess *process;         /* the QEMU launched, or NULL */
  QmpConnection *connection;
  QmpSchema *schema;           /* with --check */
  GMainLoop *loop;
  GCancellable *cancellable;   /* cancelled by SIGINT and SIGTERM */
  gboolean interrupted;
  gboolean timed_out;
  guint n_events;
  int status;
} Qmpctl;

static void
qmpctl_clear (Qmpctl *self)
{
  g_free (self->socket);
  g_free (self->qemu);
  g_free (self->timeout_text);
  g_strfreev (self->fd_texts);
  g_clear_object (&self->fd_list);
  g_free (self->tls_ca);
  g_free (self->tls_cert);
  g_free (self->tls_key);
  g_free (self->listen);
  g_free (self->mode_text);
  g_free (self->proxy_cert);
  g_free (self->proxy_key);
  g_free (self->proxy_client_ca);
  qmpctl_listen_clear (&self->proxy_listen);
  g_strfreev (self->qemu_args);
  g_strfreev (self->args);
  g_clear_pointer (&self->commands, g_ptr_array_unref);
  g_clear_pointer (&self->event_match, json_object_unref);
  g_clear_object (&self->schema);
  g_clear_object (&self->connection);
  g_clear_object (&self->process);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_object (&self->cancellable);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Qmpctl, qmpctl_clear)

/* ------------------------------------------------------------ output */

static int stdout_errno;       /* of the first write error on stdout; 0: none */

static gboolean
write_stdout (const char *text,
              gboolean    newline)
{
  if (stdout_errno != 0)
    return FALSE;

  errno = 0;
  if (fputs (text, stdout) == EOF || (newline && putc ('\n', stdout) == EOF) ||
      fflush (stdout) == EOF)
    {
      stdout_errno = errno != 0 ? errno : EIO;
      return FALSE;
    }

  return TRUE;
}

gboolean
qmpctl_print_line (const char *text)
{
  return write_stdout (text, TRUE);
}

static gboolean
print_piece (const char *text,
             gpointer    user_data)
{
  return write_stdout (text, FALSE);
}

/* JSON, pretty-printed as it is made, so that memory stays bounded by
 * the JSON, and a newline. */
gboolean
qmpctl_print_json_line (const char *json,
                        gboolean    pretty,
                        gboolean    colour)
{
  return qmpctl_print_json (json, pretty, colour, print_piece, NULL) && qmpctl_print_line ("");
}

/* g_print(), which GOption uses for --help, also keeps the error. */
static void
print_handler (const char *text)
{
  write_stdout (text, FALSE);
}

/* At exit, also after GOption printed --help: what is still buffered is
 * written, and a write error becomes a failure.  A reader that went away
 * (EPIPE) ends qmpctl quietly, as it ends cat, but not with status 0. */
static void
check_stdout_at_exit (void)
{
  gboolean failed = stdout_errno != 0 || ferror (stdout);

  errno = 0;
  if (fclose (stdout) != 0)
    {
      failed = TRUE;
      if (stdout_errno == 0)
        stdout_errno = errno;
    }
  if (!failed)
    return;

  if (stdout_errno != EPIPE)
    g_printerr (_("%s: Could not write to standard output: %s\n"),
                g_get_prgname (), g_strerror (stdout_errno != 0 ? stdout_errno : EIO));
  _exit (QMPCTL_EXIT_FAILED);
}

/* A closed standard descriptor would go to the next file opened, such as
 * the monitor's socket, and output with it.  /dev/null opened read-only
 * holds its place, and writing to it fails as writing to a closed
 * descriptor does (EBADF). */
static void
hold_closed_std_fds (void)
{
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
    {
      int null;

      if (fcntl (fd, F_GETFD) != -1 || errno != EBADF)
        continue;
      null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null != fd && null != -1)
        close (null);
      if (null == fd)
        fcntl (fd, F_SETFD, 0);
    }
}

static void
print_error (const GError *error)
{
  g_autofree char *text = qmpctl_format_error (error);

  g_printerr ("%s\n", text);
}

/* The library warns of what is deprecated, once per name, on the calls
 * that asked for the check: a message for the user of a command line,
 * not a debugging aid with a pid and a time. */
static void
on_library_warning (const char     *log_domain,
                    GLogLevelFlags  log_level,
                    const char     *message,
                    gpointer        user_data)
{
  g_printerr (_("%s: warning: %s\n"), g_get_prgname (), message);
}

/* ------------------------------------------------------------ options */

static const char summary[] = N_(
  "Runs QMP commands on a QEMU or a qemu-storage-daemon and prints their\n"
  "results as JSON.\n"
  "\n"
  "  qmpctl [OPTION…] COMMAND [ARGUMENT…] [, COMMAND [ARGUMENT…]]…\n"
  "      run the commands one after the other and print each result;\n"
  "      stop at the first error\n"
  "  qmpctl [OPTION…] events [EVENT…]\n"
  "      print events (all, or those named) as JSON lines until Ctrl-C\n"
  "  qmpctl [OPTION…] wait EVENT [KEY=VALUE…]\n"
  "      wait for the next EVENT whose data has these members, print it\n"
  "  qmpctl [OPTION…] shell\n"
  "      an interactive shell: Tab completes command and argument names,\n"
  "      events show up between prompts, Ctrl-D or “exit” leaves\n"
  "  qmpctl [OPTION…] help [COMMAND]\n"
  "      list the commands that the server knows, or show the arguments\n"
  "      that COMMAND takes (KEY=TYPE, [optional]) and what it returns,\n"
  "      from the server's own schema; “help” works in the shell too\n"
  "  qmpctl [OPTION…] proxy LISTEN-ADDRESS\n"
  "      share the server's monitor: serve it to any number of QMP clients\n"
  "      on the Unix socket LISTEN-ADDRESS (a path or unix:PATH, created\n"
  "      owner-only), until Ctrl-C or until QEMU goes away; or on\n"
  "      tls:HOST:PORT, to clients with a certificate from --proxy-client-ca\n"
  "\n"
  "Without --socket, qmpctl launches its own QEMU for the job and quits it\n"
  "at the end: “qemu-system-x86_64 -M none -nodefaults -display none”, or\n"
  "the binary of --qemu or $QMPCTL_QEMU with the arguments after “--”.\n"
  "\n"
  "An ARGUMENT is KEY=VALUE, where VALUE is JSON when it parses as JSON\n"
  "(42, true, null, [1,2], {\"a\":1}, '\"quoted\"') and a string otherwise,\n"
  "and a dotted KEY makes nested objects: file.driver=file gives\n"
  "{\"file\": {\"driver\": \"file\"}}.  One argument that starts with “{” is\n"
  "the whole JSON object of arguments.\n"
  "\n"
  "With --check, the arguments are checked against the server's schema\n"
  "before anything is sent, and a VALUE is typed by its KEY's type: a string\n"
  "member given id=123 gets \"123\".  The shell always does both when the\n"
  "server has a schema.");

static const char description[] = N_(
  "Examples:\n"
  "  qmpctl query-version , query-status\n"
  "  qmpctl --socket /tmp/qmp.sock qom-get path=/machine property=type\n"
  "  qmpctl -s /tmp/qmp.sock qom-get '{\"path\": \"/machine\", \"property\": \"type\"}'\n"
  "  qmpctl -s /tmp/qsd.sock blockdev-add driver=raw node-name=disk0 \\\n"
  "      file.driver=file file.filename=/tmp/disk.img read-only=true\n"
  "  qmpctl -s /tmp/qmp.sock help blockdev-add\n"
  "  qmpctl -s /tmp/qmp.sock events --count 1 SHUTDOWN\n"
  "  qmpctl -s /tmp/qsd.sock --timeout 60 wait JOB_STATUS_CHANGE id=job0 status=concluded\n"
  "  qmpctl -s tcp:localhost:4444 shell\n"
  "  qmpctl -s /tmp/qmp.sock proxy /tmp/shared.sock   (then: qmpctl -s /tmp/shared.sock shell)\n"
  "  qmpctl -s /tmp/qmp.sock proxy --read-only --mode 0660 /tmp/monitor.sock\n"
  "  qmpctl -s /tmp/qmp.sock proxy --proxy-cert server-cert.pem --proxy-key server-key.pem \\\n"
  "      --proxy-client-ca ca-cert.pem tls:0.0.0.0:4444\n"
  "  qmpctl query-cpus-fast -- -M q35 -accel tcg -smp 2 -display none\n"
  "\n"
  "A QEMU to talk to:\n"
  "  qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off\n"
  "\n"
  "--timeout bounds each command and the connection (10 s without it: a QEMU\n"
  "monitor serves one client at a time, and the next waits); for “wait”, the\n"
  "wait; for “events”, the whole stream.  “events” ends with status 0 on Ctrl-C,\n"
  "after --count events, at the timeout or when the server closes the\n"
  "connection, except that fewer events than --count give status 1.\n"
  "“wait” sees only events that come after it connected.\n"
  "\n"
  "“proxy” writes a line on standard error (“qmpctl: Listening on …”) once\n"
  "clients may connect, and one when it ends.\n"
  "It ends with status 0 on Ctrl-C or SIGTERM, and when QEMU shut down (its\n"
  "SHUTDOWN event came: a “quit”, a signal, the guest powered off); with\n"
  "status 1 when the connection to QEMU was lost otherwise, or the socket\n"
  "could not be made (an existing file that is not a stale socket is never\n"
  "replaced).  Either way it closes every client and removes the socket.\n"
  "--timeout bounds its connection to QEMU, not the clients' commands.\n"
  "On tls:HOST:PORT it shows the certificate of --proxy-cert and lets in only\n"
  "clients whose certificate chains to --proxy-client-ca; port 0 picks a free\n"
  "port, which the “Listening on” line shows.  tcp:HOST:PORT (no encryption, no\n"
  "check of who connects) hands full control of the VM to anyone who can reach\n"
  "the port: it is refused unless --insecure-tcp is given.\n"
  "\n"
  "Exit status: 0 on success; 1 when a command failed (printed as\n"
  "“CLASS: description” on standard error, e.g. “CommandNotFound: …”), a wait\n"
  "timed out or the connection was lost; 2 on bad usage or arguments, or when\n"
  "no QMP connection could be made (a bad address, a peer that is not QMP).\n"
  "\n"
  "Colours: on a terminal, unless $NO_COLOR is set.\n"
  "Traffic: G_MESSAGES_DEBUG=Qmp prints every line sent and received.");

/* Everything after the first lone "--" is for QEMU, so that QEMU's own
 * options never reach GOption. */
static GStrv
split_qemu_args (int     argc,
                 char  **argv,
                 GStrv  *qemu_args)
{
  int i;

  for (i = 0; i < argc && strcmp (argv[i], "--") != 0; i++)
    ;

  *qemu_args = i < argc ? g_strdupv (argv + i + 1) : NULL;
  argv[i] = NULL;

  return g_strdupv (argv);
}

static gboolean
parse_options (Qmpctl  *self,
               int      argc,
               char   **argv,
               GError **error)
{
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_STRING, &self->socket,
      N_("Talk to the QMP server at ADDRESS: unix:PATH, tcp:HOST:PORT or a path"),
      N_("ADDRESS") },
    { "launch", 'l', 0, G_OPTION_ARG_NONE, &self->launch,
      N_("Launch a QEMU for the job and quit it at the end (the default without --socket)"),
      NULL },
    { "qemu", 'q', 0, G_OPTION_ARG_FILENAME, &self->qemu,
      N_("The program to launch (default: $QMPCTL_QEMU, else qemu-system-x86_64)"),
      N_("BINARY") },
    { "guest-agent", 'g', 0, G_OPTION_ARG_NONE, &self->guest_agent,
      N_("The server at --socket is a QEMU guest agent"), NULL },
    { "check", 'c', 0, G_OPTION_ARG_NONE, &self->check,
      N_("Check the arguments against the server's schema before sending them"), NULL },
    { "count", 'n', 0, G_OPTION_ARG_INT, &self->count,
      N_("events: exit after N events"), N_("N") },
    { "timeout", 't', 0, G_OPTION_ARG_STRING, &self->timeout_text,
      N_("Give up after SECONDS (see below)"), N_("SECONDS") },
    { "fd", 0, 0, G_OPTION_ARG_STRING_ARRAY, &self->fd_texts,
      N_("Send descriptor N of qmpctl with the first command (repeatable)"), N_("N") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &self->version,
      N_("Print the version of qmpctl and exit"), NULL },
    { "tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &self->tls_ca,
      N_("Verify the server of a tls:HOST:PORT --socket against the CA certificates in FILE"),
      N_("FILE") },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &self->tls_cert,
      N_("Show the server the client certificate in FILE (with --tls-key)"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &self->tls_key,
      N_("The private key of --tls-cert"), N_("FILE") },
    { "listen", 0, 0, G_OPTION_ARG_FILENAME, &self->listen,
      N_("Wait for a QEMU to connect to the Unix socket PATH (created owner-only)"), N_("PATH") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &self->mode_text,
      N_("proxy: the permissions of its socket, in octal (default 0600: the owner only)"),
      N_("MODE") },
    { "read-only", 0, 0, G_OPTION_ARG_NONE, &self->read_only,
      N_("proxy: its clients may run query-* commands only"), NULL },
    { "proxy-cert", 0, 0, G_OPTION_ARG_FILENAME, &self->proxy_cert,
      N_("proxy tls:HOST:PORT: the proxy's own certificate, in FILE (with --proxy-key)"),
      N_("FILE") },
    { "proxy-key", 0, 0, G_OPTION_ARG_FILENAME, &self->proxy_key,
      N_("proxy tls:HOST:PORT: the private key of --proxy-cert"), N_("FILE") },
    { "proxy-client-ca", 0, 0, G_OPTION_ARG_FILENAME, &self->proxy_client_ca,
      N_("proxy tls:HOST:PORT: let in only clients whose certificate chains to the CA certificates in FILE"),
      N_("FILE") },
    { "insecure-tcp", 0, 0, G_OPTION_ARG_NONE, &self->insecure_tcp,
      N_("proxy tcp:HOST:PORT: listen on plain TCP, where anyone who can reach the port controls the VM"),
      NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new (_("COMMAND [ARGUMENT…] [, COMMAND…] [-- QEMU-ARGUMENT…]"));
  g_auto(GStrv) args = split_qemu_args (argc, argv, &self->qemu_args);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _(summary));
  g_option_context_set_description (context, _(description));

  if (!g_option_context_parse_strv (context, &args, error))
    return FALSE;

  self->args = g_strdupv (args[0] != NULL ? args + 1 : args);

  return TRUE;
}

static gboolean
usage_error (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, message);
  return FALSE;
}

static gboolean
check_options (Qmpctl  *self,
               GError **error)
{
  if (self->socket != NULL && (self->launch || self->qemu_args != NULL))
    return usage_error (error, _("--socket talks to a running server: it excludes --launch and QEMU arguments after “--”"));
  if (self->socket != NULL && self->qemu != NULL)
    return usage_error (error, _("--qemu names the program to launch: it excludes --socket"));
  if (self->listen != NULL && (self->socket != NULL || self->launch || self->qemu != NULL ||
                               self->qemu_args != NULL))
    return usage_error (error, _("--listen waits for a QEMU to connect: it excludes --socket and --launch"));
  if ((self->tls_ca != NULL || self->tls_cert != NULL) && !g_str_has_prefix (self->socket ? self->socket : "", "tls:"))
    return usage_error (error, _("--tls-ca and --tls-cert need a tls:HOST:PORT --socket"));
  if ((self->tls_cert == NULL) != (self->tls_key == NULL))
    return usage_error (error, _("--tls-cert and --tls-key go together"));
  if (self->guest_agent && self->socket == NULL && self->listen == NULL)
    return usage_error (error, _("--guest-agent needs the --socket of a running guest agent"));
  if (self->count < 0)
    return usage_error (error, _("--count must be a positive number"));
  if (self->timeout_text != NULL)
    {
      char *end = NULL;

      self->timeout = g_ascii_strtod (self->timeout_text, &end);
      if (end == self->timeout_text || *end != '\0' ||
          !(self->timeout >= 0 && self->timeout * 1000 <= G_MAXUINT))
        return usage_error (error, _("--timeout must be a number of seconds, at least 0"));
    }
  if (self->args[0] == NULL)
    return usage_error (error, _("No command given: try “qmpctl query-status”, or see “qmpctl --help”"));

  return TRUE;
}

/* What the arguments after the options ask for. */
static gboolean
parse_mode (Qmpctl  *self,
            GError **error)
{
  const char * const *args = (const char * const *) self->args;
  g_autoptr(GError) local_error = NULL;

  if (strcmp (args[0], "events") == 0)
    {
      self->mode = MODE_EVENTS;
      self->event_names = args + 1;
    }
  else if (strcmp (args[0], "wait") == 0)
    {
      self->mode = MODE_WAIT;
      self->event_name = args[1];
      if (self->event_name == NULL)
        return usage_error (error, _("“wait” needs the name of an event, e.g. “wait STOP”"));
      self->event_match = qmpctl_parse_arguments (args + 2, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  else if (strcmp (args[0], "help") == 0)
    {
      self->mode = MODE_HELP;
      self->help_command = args[1];
      if (args[1] != NULL && args[2] != NULL)
        return usage_error (error, _("“help” takes one command name at most"));
    }
  else if (strcmp (args[0], "shell") == 0)
    {
      self->mode = MODE_SHELL;
      if (args[1] != NULL)
        return usage_error (error, _("“shell” takes no arguments"));
    }
  else if (strcmp (args[0], "proxy") == 0)
    {
      self->mode = MODE_PROXY;
      if (args[1] == NULL || args[2] != NULL)
        return usage_error (error, _("“proxy” takes one LISTEN-ADDRESS, e.g. “proxy /tmp/shared.sock”"));
      if (self->guest_agent)
        return usage_error (error, _("“proxy” serves a QEMU monitor, not a guest agent"));
      if (!qmpctl_parse_listen_address (args[1], &self->proxy_listen, error))
        return FALSE;
    }
  else
    {
      self->mode = MODE_COMMANDS;
      self->commands = qmpctl_parse_commands (args, error);
      if (self->commands == NULL)
        return FALSE;
    }

  if (self->count > 0 && self->mode != MODE_EVENTS)
    return usage_error (error, _("--count applies to “events” only"));
  if (self->check && self->mode != MODE_COMMANDS)
    return usage_error (error, _("--check applies to commands only (the shell always checks)"));
  if (self->fd_texts != NULL && self->mode != MODE_COMMANDS)
    return usage_error (error, _("--fd applies to commands only"));
  if ((self->mode_text != NULL || self->read_only) && self->mode != MODE_PROXY)
    return usage_error (error, _("--mode and --read-only apply to “proxy” only"));
  if ((self->proxy_cert != NULL || self->proxy_key != NULL || self->proxy_client_ca != NULL) &&
      (self->mode != MODE_PROXY || self->proxy_listen.kind != QMPCTL_LISTEN_TLS))
    return usage_error (error, _("--proxy-cert, --proxy-key and --proxy-client-ca apply to “proxy tls:HOST:PORT” only"));
  if (self->insecure_tcp && (self->mode != MODE_PROXY || self->proxy_listen.kind != QMPCTL_LISTEN_TCP))
    return usage_error (error, _("--insecure-tcp applies to “proxy tcp:HOST:PORT” only"));
  if (self->mode_text != NULL && self->proxy_listen.kind != QMPCTL_LISTEN_UNIX)
    return usage_error (error, _("--mode applies to a Unix socket only, not to tcp: or tls:"));
  if (self->mode == MODE_PROXY && self->proxy_listen.kind == QMPCTL_LISTEN_TLS)
    {
      const char *missing = self->proxy_cert == NULL ? "--proxy-cert" :
                            self->proxy_key == NULL ? "--proxy-key" :
                            self->proxy_client_ca == NULL ? "--proxy-client-ca" : NULL;

      if (missing != NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                       _("“proxy tls:HOST:PORT” needs %s: it takes the proxy's certificate "
                         "(--proxy-cert FILE), its private key (--proxy-key FILE) and the CA "
                         "that clients' certificates must chain to (--proxy-client-ca FILE)"),
                       missing);
          return FALSE;
        }
    }
  /* No opt-in by default, and no opt-out by accident: the option says
   * what it does. */
  if (self->mode == MODE_PROXY && self->proxy_listen.kind == QMPCTL_LISTEN_TCP && !self->insecure_tcp)
    return usage_error (error, _("“proxy tcp:HOST:PORT” would hand full control of the VM to anyone "
                                 "who can reach the port, with no encryption and no check of who "
                                 "connects: use tls:HOST:PORT with client certificates, or give "
                                 "--insecure-tcp if that is really meant"));
  if (self->mode_text != NULL)
    {
      guint64 socket_mode;

      if (!g_ascii_string_to_unsigned (self->mode_text, 8, 1, 0777, &socket_mode, NULL))
        return usage_error (error, _("--mode must be permissions in octal, from 1 to 0777, e.g. 0660"));
      self->socket_mode = (guint) socket_mode;
    }

  /* Checked now, but duplicated by the call that sends them. */
  for (guint i = 0; self->fd_texts != NULL && self->fd_texts[i] != NULL; i++)
    {
      guint64 fd;

      if (self->fd_list == NULL)
        self->fd_list = g_unix_fd_list_new ();
      if (!g_ascii_string_to_unsigned (self->fd_texts[i], 10, 0, G_MAXINT, &fd, NULL) ||
          fcntl ((int) fd, F_GETFD) < 0 ||
          g_unix_fd_list_append (self->fd_list, (int) fd, NULL) < 0)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                       _("--fd %s: not an open file descriptor"), self->fd_texts[i]);
          return FALSE;
        }
    }

  return TRUE;
}

/* ------------------------------------------------------------ connecting */

static guint
get_timeout_msec (Qmpctl *self)
{
  return self->timeout > 0 ? MAX (1, (guint) ceil (self->timeout * 1000)) : 0;
}

static QmpConnectionFlags
get_flags (Qmpctl *self)
{
  return self->guest_agent ? QMP_CONNECTION_FLAGS_GUEST_AGENT : QMP_CONNECTION_FLAGS_NONE;
}

static gboolean
is_storage_daemon (const char *program)
{
  g_autofree char *base = g_path_get_basename (program);

  return strstr (base, "storage-daemon") != NULL;
}

static gboolean
launch (Qmpctl  *self,
        GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  const char *qemu = self->qemu;

  if (qemu == NULL || *qemu == '\0')
    qemu = g_getenv ("QMPCTL_QEMU");
  if (qemu == NULL || *qemu == '\0')
    qemu = DEFAULT_QEMU;

  g_strv_builder_add (builder, qemu);
  if (self->qemu_args != NULL)
    g_strv_builder_addv (builder, (const char **) self->qemu_args);
  else if (!is_storage_daemon (qemu))
    g_strv_builder_addv (builder, (const char **) default_qemu_args);
  argv = g_strv_builder_end (builder);

  self->process = qmp_process_new_sync ((const char * const *) argv, get_flags (self), NULL, error);
  if (self->process == NULL)
    return FALSE;

  self->connection = g_object_ref (qmp_process_get_connection (self->process));
  qmp_connection_set_timeout (self->connection, get_timeout_msec (self));

  return TRUE;
}

static gboolean
connect_to_socket (Qmpctl  *self,
                   GError **error)
{
  double seconds = self->timeout_text != NULL ? self->timeout : DEFAULT_CONNECT_TIMEOUT;
  g_autoptr(GError) local_error = NULL;

  /* The timeout property also bounds connecting, the greeting and the
   * negotiation, so that a busy monitor or a stopped QEMU cannot hang
   * qmpctl.  The commands get --timeout only. */
  g_autoptr(GTlsDatabase) ca = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;

  if (self->tls_ca != NULL && (ca = g_tls_file_database_new (self->tls_ca, error)) == NULL)
    return FALSE;
  if (self->tls_cert != NULL &&
      (certificate = g_tls_certificate_new_from_files (self->tls_cert, self->tls_key, error)) == NULL)
    return FALSE;

  self->connection = g_initable_new (QMP_TYPE_CONNECTION, NULL, &local_error,
                                     "address", self->socket,
                                     "flags", get_flags (self),
                                     "timeout", seconds > 0 ? MAX (1, (guint) ceil (seconds * 1000)) : 0,
                                     "tls-database", ca,
                                     "tls-certificate", certificate,
                                     NULL);
  if (self->connection != NULL)
    {
      qmp_connection_set_timeout (self->connection, get_timeout_msec (self));
      return TRUE;
    }

  /* The monitor accepts the connection and then says nothing: the usual
   * reason is that it serves another client. */
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) && !self->guest_agent)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 _("No QMP greeting from %s after %g s: is another client connected?"),
                 self->socket, seconds);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));

  return FALSE;
}

/* --listen: the first QEMU that connects and greets.  --timeout bounds
 * its greeting, not the wait for it to connect. */
static gboolean
listen_for_qemu (Qmpctl  *self,
                 GError **error)
{
  double seconds = self->timeout_text != NULL ? self->timeout : DEFAULT_CONNECT_TIMEOUT;
  g_autoptr(QmpListener) listener = NULL;

  listener = g_initable_new (QMP_TYPE_LISTENER, NULL, error,
                             "address", self->listen,
                             "flags", get_flags (self),
                             "timeout", seconds > 0 ? MAX (1, (guint) ceil (seconds * 1000)) : 0,
                             NULL);
  if (listener == NULL)
    return FALSE;

  self->connection = qmp_listener_accept_sync (listener, self->cancellable, error);
  if (self->connection == NULL)
    return FALSE;

  qmp_connection_set_timeout (self->connection, get_timeout_msec (self));
  return TRUE;
}

static void
shut_down (Qmpctl *self)
{
  g_autoptr(GError) error = NULL;

  if (self->process != NULL && !qmp_process_shutdown_sync (self->process, NULL, &error))
    print_error (error);
}

/* ------------------------------------------------------------ running commands */

typedef struct
{
  QmpConnection *connection;
  GPtrArray *commands;
  QmpSchema *schema;           /* nullable: types KEY=VALUE */
  gboolean check;
  guint next;
  GCancellable *cancellable;
  GUnixFDList *fd_list;        /* for the first command, nullable */
  QmpctlOutputFunc output;
  QmpctlDoneFunc done;
  gpointer user_data;
} Batch;

static void
batch_finish (Batch    *batch,
              gboolean  success)
{
  batch->done (success, batch->user_data);

  g_object_unref (batch->connection);
  g_ptr_array_unref (batch->commands);
  g_clear_object (&batch->schema);
  g_clear_object (&batch->cancellable);
  g_clear_object (&batch->fd_list);
  g_free (batch);
}

static void batch_next (Batch *batch);

static void
on_executed (GObject      *source_object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Batch *batch = user_data;
  QmpctlCommand *command = g_ptr_array_index (batch->commands, batch->next - 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;

  /* As text, so that every number prints as the server wrote it (the
   * command with --fd's descriptors gives a tree). */
  if (g_async_result_is_tagged (result, qmp_connection_execute_async))
    {
      g_autoptr(JsonNode) node = qmp_connection_execute_with_fds_finish (QMP_CONNECTION (source_object),
                                                                         result, &error);

      json = node != NULL ? json_to_string (node, FALSE) : NULL;
    }
  else
    {
      json = qmp_connection_execute_json_finish (QMP_CONNECTION (source_object), result, &error);
    }
  if (json == NULL)
    {
      text = qmpctl_format_error (error);
      batch->output (TRUE, command->name, text, batch->user_data);
      batch_finish (batch, FALSE);
      return;
    }

  if (!batch->output (FALSE, command->name, json, batch->user_data))
    {
      batch_finish (batch, FALSE);
      return;
    }
  batch_next (batch);
}

static void
batch_next (Batch *batch)
{
  QmpctlCommand *command;

  if (batch->next == batch->commands->len)
    {
      batch_finish (batch, TRUE);
      return;
    }

  command = g_ptr_array_index (batch->commands, batch->next++);
  if (batch->schema != NULL)
    qmpctl_type_arguments (batch->schema, command);
  if (batch->fd_list != NULL && batch->next == 1)
    {
      qmp_connection_execute_with_fds_async (batch->connection, command->name, command->arguments,
                                             batch->fd_list,
                                             batch->check ? QMP_EXECUTE_FLAGS_VALIDATE : QMP_EXECUTE_FLAGS_NONE,
                                             batch->cancellable, on_executed, batch);
      return;
    }
  qmp_connection_execute_json_async (batch->connection, command->name, command->arguments,
                                     batch->check ? QMP_EXECUTE_FLAGS_VALIDATE : QMP_EXECUTE_FLAGS_NONE,
                                     batch->cancellable, on_executed, batch);
}

/* @fd_list (nullable) goes with the first command. */
static void
run_batch (QmpConnection    *connection,
           GPtrArray        *commands,
           QmpSchema        *schema,
           gboolean          check,
           GUnixFDList      *fd_list,
           GCancellable     *cancellable,
           QmpctlOutputFunc  output,
           QmpctlDoneFunc    done,
           gpointer          user_data)
{
  Batch *batch = g_new0 (Batch, 1);

  batch->fd_list = fd_list != NULL ? g_object_ref (fd_list) : NULL;

  batch->connection = g_object_ref (connection);
  batch->commands = g_ptr_array_ref (commands);
  batch->schema = schema != NULL ? g_object_ref (schema) : NULL;
  batch->check = check;
  batch->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  batch->output = output;
  batch->done = done;
  batch->user_data = user_data;

  batch_next (batch);
}

void
qmpctl_run_commands (QmpConnection    *connection,
                     GPtrArray        *commands,
                     QmpSchema        *schema,
                     gboolean          check,
                     GCancellable     *cancellable,
                     QmpctlOutputFunc  output,
                     QmpctlDoneFunc    done,
                     gpointer          user_data)
{
  run_batch (connection, commands, schema, check, NULL, cancellable, output, done, user_data);
}

static gboolean
on_output (gboolean    is_error,
           const char *command,
           const char *text,
           gpointer    user_data)
{
  Qmpctl *self = user_data;
  g_autofree char *hmp = NULL;

  if (!is_error && self->hmp_text && (hmp = qmpctl_hmp_text (command, text)) != NULL)
    return *hmp == '\0' || qmpctl_print_line (hmp);
  if (!is_error)
    return qmpctl_print_json_line (text, TRUE, self->colour);

  g_printerr ("%s\n", text);

  return TRUE;
}

static void
on_commands_done (gboolean success,
                  gpointer user_data)
{
  Qmpctl *self = user_data;

  self->status = success ? QMPCTL_EXIT_OK : QMPCTL_EXIT_FAILED;
  g_main_loop_quit (self->loop);
}

static void
run_commands (Qmpctl *self)
{
  g_autoptr(GError) error = NULL;

  /* The check needs the schema; the library would fetch it for the
   * first command, but qmpctl also types the arguments with it. */
  if (self->check)
    {
      self->schema = qmp_connection_get_schema_sync (self->connection, self->cancellable, &error);
      if (self->schema == NULL)
        {
          print_error (error);
          self->status = QMPCTL_EXIT_FAILED;
          return;
        }
    }

  run_batch (self->connection, self->commands, self->schema, self->check, self->fd_list,
             self->cancellable, on_output, on_commands_done, self);
  g_main_loop_run (self->loop);
}

/* ------------------------------------------------------------ events and wait */

/* Flushed at once: a pipe reader wants each event when it comes.  When it
 * cannot be written, the stream ends with a failure. */
static gboolean
print_event (Qmpctl   *self,
             QmpEvent *event)
{
  g_autofree char *json = qmpctl_event_to_json (event);

  if (qmpctl_print_json_line (json, FALSE, self->colour))
    return TRUE;

  self->status = QMPCTL_EXIT_FAILED;
  g_main_loop_quit (self->loop);

  return FALSE;
}

/* The end of the stream: the timeout, or the server went away. */
static void
end_events (Qmpctl *self)
{
  if (self->count > 0 && self->n_events < (guint) self->count)
    {
      g_printerr (_("%s: Only %u of %d events came\n"), g_get_prgname (), self->n_events, self->count);
      self->status = QMPCTL_EXIT_FAILED;
    }
  g_main_loop_quit (self->loop);
}

static void
on_event (QmpConnection *connection,
          QmpEvent      *event,
          gpointer       user_data)
{
  Qmpctl *self = user_data;

  /* Events come in batches: the loop may not have quit yet. */
  if (self->count > 0 && self->n_events == (guint) self->count)
    return;

  if (self->event_names[0] != NULL &&
      !g_strv_contains (self->event_names, qmp_event_get_name (event)))
    return;

  if (!print_event (self, event))
    return;
  self->n_events++;
  if (self->count > 0 && self->n_events == (guint) self->count)
    g_main_loop_quit (self->loop);
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  Qmpctl *self = user_data;

  if (error != NULL && !remote_peer_vanished)
    print_error (error);
  end_events (self);
}

static gboolean
on_events_timeout (gpointer user_data)
{
  end_events (user_data);

  return G_SOURCE_REMOVE;
}

static void
on_events_interrupted (GCancellable *cancellable,
                       Qmpctl       *self)
{
  g_main_loop_quit (self->loop);
}

static void
run_events (Qmpctl *self)
{
  g_signal_connect (self->connection, "event", G_CALLBACK (on_event), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_closed), self);
  g_cancellable_connect (self->cancellable, G_CALLBACK (on_events_interrupted), self, NULL);
  if (self->timeout > 0)
    g_timeout_add (get_timeout_msec (self), on_events_timeout, self);

  g_main_loop_run (self->loop);
}

static void
on_waited (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Qmpctl *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpEvent) event = NULL;

  event = qmp_connection_wait_event_finish (QMP_CONNECTION (source_object), result, &error);
  if (event != NULL)
    {
      self->status = print_event (self, event) ? QMPCTL_EXIT_OK : QMPCTL_EXIT_FAILED;
      g_main_loop_quit (self->loop);
      return;
    }
  else if (self->timed_out)
    g_printerr (_("%s: No %s event came within %g s\n"),
                g_get_prgname (), self->event_name, self->timeout);
  else if (!self->interrupted)
    print_error (error);

  self->status = QMPCTL_EXIT_FAILED;
  g_main_loop_quit (self->loop);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  Qmpctl *self = user_data;

  self->timed_out = TRUE;
  g_cancellable_cancel (self->cancellable);

  return G_SOURCE_REMOVE;
}

static void
run_wait (Qmpctl *self)
{
  qmp_connection_wait_event_async (self->connection, self->event_name, self->event_match,
                                   self->cancellable, on_waited, self);
  if (self->timeout > 0)
    g_timeout_add (get_timeout_msec (self), on_wait_timeout, self);

  g_main_loop_run (self->loop);
}

/* ------------------------------------------------------------ help */

static void
run_help (Qmpctl *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autofree char *text = NULL;

  names = qmpctl_load_commands (self->connection, &schema, &error);
  if (names != NULL)
    text = qmpctl_help_text (names, schema, self->help_command, &error);

  if (text == NULL)
    {
      print_error (error);
      self->status = QMPCTL_EXIT_FAILED;
    }
  else
    self->status = qmpctl_print_line (text) ? QMPCTL_EXIT_OK : QMPCTL_EXIT_FAILED;
}

/* ------------------------------------------------------------ main */

static int
usage_failed (const GError *error)
{
  print_error (error);
  g_printerr ("%s\n", _("Try “qmpctl --help” for more information."));

  return QMPCTL_EXIT_USAGE;
}

static gboolean
on_signal (gpointer user_data)
{
  Qmpctl *self = user_data;

  self->interrupted = TRUE;
  g_cancellable_cancel (self->cancellable);

  return G_SOURCE_CONTINUE;
}

static void
run (Qmpctl *self)
{
  self->loop = g_main_loop_new (NULL, FALSE);
  self->cancellable = g_cancellable_new ();
  self->colour = qmpctl_use_colour (STDOUT_FILENO);
  /* Scripts get JSON, which they can parse whatever the text is. */
  self->hmp_text = isatty (STDOUT_FILENO);

  if (self->mode == MODE_SHELL)
    {
      self->status = qmpctl_shell (self->connection, self->colour, self->hmp_text);
      return;
    }
  if (self->mode == MODE_HELP)
    {
      run_help (self);
      return;
    }

  g_unix_signal_add (SIGINT, on_signal, self);
  g_unix_signal_add (SIGTERM, on_signal, self);

  switch (self->mode)
    {
    case MODE_COMMANDS:
      run_commands (self);
      break;
    case MODE_EVENTS:
      /* Only the stream's own --timeout applies to it. */
      qmp_connection_set_timeout (self->connection, 0);
      run_events (self);
      break;
    case MODE_WAIT:
      qmp_connection_set_timeout (self->connection, 0);
      run_wait (self);
      break;
    case MODE_PROXY:
      /* The clients bound their own commands. */
      qmp_connection_set_timeout (self->connection, 0);
      self->status = qmpctl_proxy (self->connection, &self->proxy_listen, self->socket_mode,
                                   self->read_only, self->cancellable);
      break;
    case MODE_SHELL:
    case MODE_HELP:
    default:
      g_assert_not_reached ();
    }
}

int
main (int    argc,
      char **argv)
{
  g_auto(Qmpctl) self = { 0, };
  g_autoptr(GError) error = NULL;

  hold_closed_std_fds ();
  /* A reader that went away is an EPIPE to handle, not a signal. */
  signal (SIGPIPE, SIG_IGN);
  atexit (check_stdout_at_exit);
  g_set_print_handler (print_handler);

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("qmpctl");
  g_log_set_handler ("Qmp", G_LOG_LEVEL_WARNING, on_library_warning, NULL);

  if (!parse_options (&self, argc, argv, &error))
    return usage_failed (error);

  if (self.version)
    {
      g_autofree char *version = g_strdup_printf ("qmpctl %s", QMP_VERSION_S);

      return qmpctl_print_line (version) ? QMPCTL_EXIT_OK : QMPCTL_EXIT_FAILED;
    }

  if (!check_options (&self, &error) || !parse_mode (&self, &error))
    return usage_failed (error);

  /* A host that does not resolve or a certificate that does not load is
   * a bad address or argument: found before any QEMU is connected to. */
  if (self.mode == MODE_PROXY &&
      !qmpctl_prepare_listen (&self.proxy_listen, self.proxy_cert, self.proxy_key,
                              self.proxy_client_ca, NULL, &error))
    {
      print_error (error);
      return QMPCTL_EXIT_USAGE;
    }

  if (!(self.listen != NULL ? listen_for_qemu (&self, &error) :
        self.socket != NULL ? connect_to_socket (&self, &error) : launch (&self, &error)))
    {
      print_error (error);
      return QMPCTL_EXIT_USAGE;
    }

  run (&self);
  shut_down (&self);

  return self.status;
}
