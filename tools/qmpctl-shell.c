/* qmpctl-shell.c: the interactive shell of qmpctl
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "qmpctl.h"

#define PROMPT "qmp> "
#define HISTORY_SIZE 1000

/* Readline runs in its callback mode, fed from the GLib main loop, so that
 * events and results can be printed above the prompt while it waits. */
typedef struct
{
  QmpConnection *connection;
  gboolean colour;
  gboolean hmp_text;            /* human-monitor-command's output as text */
  GMainLoop *loop;
  GCancellable *cancellable;    /* of the lines being run; Ctrl-C cancels it */
  GPtrArray *command_names;     /* the server's, and ours; sorted */
  QmpSchema *schema;            /* nullable: the guest agent has none */
  GPtrArray *candidates;        /* of the completion under way */
  guint next_candidate;
  char *history_path;
  guint stdin_source;
  guint signal_sources[2];
  guint pending;                /* lines being run */
  gboolean reading;             /* readline's handler is installed */
  gboolean in_line_handler;     /* readline runs on_line(): the line is done */
  int status;
} Shell;

/* Readline's callbacks take no user data. */
static Shell *shell;

/* ------------------------------------------------------------ output */

static void shell_quit (Shell *self);

typedef enum {
  OUTPUT_ERROR,       /* a line, on stderr */
  OUTPUT_TEXT,        /* lines */
  OUTPUT_RESULT,      /* JSON, pretty-printed */
  OUTPUT_EVENT,       /* JSON, on one line */
} OutputKind;

/* Prints @text above the prompt and the line being edited, which stay.
 * When standard output fails, the shell ends with a failure. */
static gboolean
shell_print (Shell      *self,
             OutputKind  kind,
             const char *text)
{
  gboolean redisplay = self->reading && !self->in_line_handler;
  gboolean written = TRUE;

  /* In the line handler, readline already left the line, and shows a new
   * prompt when the handler returns: redisplaying there confuses it. */
  if (redisplay)
    {
      rl_clear_visible_line ();
      fflush (rl_outstream);   /* before @text, also when it goes to stderr */
    }
  if (kind == OUTPUT_ERROR)
    g_printerr ("%s\n", text);
  else if (kind == OUTPUT_TEXT)
    written = qmpctl_print_line (text);
  else
    written = qmpctl_print_json_line (text, kind == OUTPUT_RESULT, self->colour);
  if (!written)
    {
      self->status = QMPCTL_EXIT_FAILED;
      shell_quit (self);
      return FALSE;
    }
  if (redisplay)
    {
      rl_on_new_line ();
      rl_redisplay ();
    }

  return TRUE;
}

/* The QmpctlOutputFunc of the commands run */
static gboolean
shell_output (gboolean    is_error,
              const char *command,
              const char *text,
              gpointer    user_data)
{
  Shell *self = user_data;
  g_autofree char *hmp = NULL;

  if (!is_error && self->hmp_text && (hmp = qmpctl_hmp_text (command, text)) != NULL)
    return *hmp == '\0' || shell_print (self, OUTPUT_TEXT, hmp);

  return shell_print (self, is_error ? OUTPUT_ERROR : OUTPUT_RESULT, text);
}

static void
on_event (QmpConnection *connection,
          QmpEvent      *event,
          gpointer       user_data)
{
  Shell *self = user_data;
  g_autofree char *json = qmpctl_event_to_json (event);

  shell_print (self, OUTPUT_EVENT, json);
}

/* ------------------------------------------------------------ completion */

static gboolean
is_guest_agent (Shell *self)
{
  return (qmp_connection_get_flags (self->connection) & QMP_CONNECTION_FLAGS_GUEST_AGENT) != 0;
}

/* Without them, the shell still works: it completes less, its help knows
 * less, and it checks nothing. */
static void
load_commands (Shell *self)
{
  g_autoptr(GError) error = NULL;

  self->command_names = qmpctl_load_commands (self->connection, &self->schema, &error);
  if (self->command_names == NULL)
    {
      g_autofree char *text = qmpctl_format_error (error);

      g_printerr ("%s\n", text);
      self->command_names = g_ptr_array_new_with_free_func (g_free);
    }
  g_ptr_array_add (self->command_names, g_strdup ("exit"));
  g_ptr_array_add (self->command_names, g_strdup ("help"));
  g_ptr_array_sort (self->command_names, qmpctl_compare_strings);
}

/* The words of the command that ends at @end, after the last ",". */
static GPtrArray *
split_current_command (const char *line,
                       int         end)
{
  g_autofree char *head = g_strndup (line, end);
  g_auto(GStrv) words = g_strsplit_set (head, " \t", -1);
  GPtrArray *command = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; words[i] != NULL; i++)
    {
      if (strcmp (words[i], ",") == 0)
        g_ptr_array_set_size (command, 0);
      else if (*words[i] != '\0')
        g_ptr_array_add (command, g_strdup (words[i]));
    }

  return command;
}

/* The arguments typed so far, whose discriminators choose the members
 * of a union; NULL when they do not parse. */
static JsonObject *
parse_given (GPtrArray *words)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  for (guint i = 1; i < words->len; i++)
    g_ptr_array_add (args, g_ptr_array_index (words, i));
  g_ptr_array_add (args, NULL);

  return qmpctl_parse_arguments ((const char * const *) args->pdata, NULL);
}

/* "NAME=" for each member that @text may start: of the arguments, or of
 * the object that a dotted key ("file.fi") reaches.  A schema may list
 * members by the hundred thousand: duplicates are found with a set, not
 * by a search of the array for each. */
static GPtrArray *
get_argument_names (Shell      *self,
                    GPtrArray  *words,
                    const char *text)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) set = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(QmpSchemaType) arguments = NULL;
  g_autoptr(QmpSchemaType) type = NULL;
  g_autoptr(JsonObject) given = NULL;
  const char *dot = strrchr (text, '.');
  g_autofree char *prefix = g_strndup (text, dot != NULL ? dot + 1 - text : 0);
  GPtrArray *candidates = g_ptr_array_new_with_free_func (g_free);

  if (self->schema != NULL)
    arguments = qmp_schema_get_command_arguments (self->schema, g_ptr_array_index (words, 0));
  if (arguments == NULL)
    return candidates;

  given = parse_given (words);
  if (dot == NULL)
    type = g_steal_pointer (&arguments);
  else
    {
      g_autofree char *key = g_strndup (text, dot - text);
      JsonObject *object = given;
      g_auto(GStrv) parts = g_strsplit (key, ".", -1);

      type = qmpctl_find_key_type (arguments, given, key);
      /* The members given of that object */
      for (guint i = 0; object != NULL && parts[i] != NULL; i++)
        object = qmpctl_get_object_member (object, parts[i]);
      /* before the arguments that hold it go */
      if (object != NULL)
        json_object_ref (object);
      g_clear_pointer (&given, json_object_unref);
      given = object;
    }
  if (type == NULL)
    return candidates;

  qmpctl_add_member_names (type, given, prefix, names);
  for (guint i = 0; i < names->len; i++)
    {
      char *name = g_ptr_array_index (names, i);

      if (g_hash_table_add (set, name))
        g_ptr_array_add (candidates, g_strdup (name));
    }

  return candidates;
}

/* "KEY=VALUE" for each value that KEY takes: an enum's values, true and
 * false. */
static GPtrArray *
get_values (Shell      *self,
            GPtrArray  *words,
            const char *text)
{
  GPtrArray *candidates = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *key = g_strndup (text, strchr (text, '=') - text);
  g_autoptr(QmpSchemaType) arguments = NULL;
  g_autoptr(QmpSchemaType) type = NULL;
  g_autoptr(JsonObject) given = NULL;
  const char * const *values = NULL;
  static const char * const booleans[] = { "false", "true", NULL };

  if (self->schema != NULL)
    arguments = qmp_schema_get_command_arguments (self->schema, g_ptr_array_index (words, 0));
  if (arguments == NULL)
    return candidates;

  given = parse_given (words);
  type = qmpctl_find_key_type (arguments, given, key);
  if (type != NULL && qmp_schema_type_get_kind (type) == QMP_SCHEMA_TYPE_KIND_ENUM)
    values = qmp_schema_type_get_enum_values (type);
  else if (type != NULL && g_strcmp0 (qmp_schema_type_get_json_type (type), "boolean") == 0)
    values = booleans;

  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    g_ptr_array_add (candidates, g_strconcat (key, "=", values[i], NULL));

  return candidates;
}

static char *
generate_candidate (const char *text,
                    int         state)
{
  Shell *self = shell;

  if (state == 0)
    self->next_candidate = 0;

  while (self->next_candidate < self->candidates->len)
    {
      const char *candidate = g_ptr_array_index (self->candidates, self->next_candidate++);

      if (g_str_has_prefix (candidate, text))
        return strdup (candidate);
    }

  return NULL;
}

static char **
complete (const char *text,
          int         start,
          int         end)
{
  Shell *self = shell;
  g_autoptr(GPtrArray) words = split_current_command (rl_line_buffer, start);

  rl_attempted_completion_over = 1;   /* never file names */
  g_clear_pointer (&self->candidates, g_ptr_array_unref);

  /* a command, also after "help" */
  if (words->len == 0 ||
      (words->len == 1 && strcmp (g_ptr_array_index (words, 0), "help") == 0))
    self->candidates = g_ptr_array_ref (self->command_names);
  else if (strchr (text, '=') == NULL)
    {
      self->candidates = get_argument_names (self, words, text);
      rl_completion_append_character = '\0';   /* the value follows "=" */
    }
  else
    self->candidates = get_values (self, words, text);

  return rl_completion_matches (text, generate_candidate);
}

/* ------------------------------------------------------------ lines */

static void
maybe_quit (Shell *self)
{
  if (!self->reading && self->pending == 0)
    g_main_loop_quit (self->loop);
}

static gboolean on_stdin (int          fd,
                          GIOCondition condition,
                          gpointer     user_data);

/* Input is not read while a line runs, so that results come in the order
 * of the lines, and Ctrl-D after a line waits for its result. */
static void
watch_stdin (Shell    *self,
             gboolean  watch)
{
  if (!watch)
    g_clear_handle_id (&self->stdin_source, g_source_remove);
  else if (self->stdin_source == 0)
    self->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                        on_stdin, self);
}

static void
stop_reading (Shell *self)
{
  if (!self->reading)
    return;

  rl_callback_handler_remove ();
  self->reading = FALSE;
  watch_stdin (self, FALSE);
}

static void
on_line_done (gboolean success,
              gpointer user_data)
{
  Shell *self = user_data;

  self->pending--;
  if (self->reading)
    watch_stdin (self, TRUE);
  maybe_quit (self);
}

/* "COMMAND {…}" keeps its JSON as typed; anything else is split as a
 * POSIX shell would split it. */
static GStrv
split_line (const char  *line,
            GError     **error)
{
  gsize name_length = strcspn (line, " \t");
  const char *json = line + name_length + strspn (line + name_length, " \t");
  GStrv args = NULL;

  if (*json != '{')
    return g_shell_parse_argv (line, NULL, &args, error) ? args : NULL;

  args = g_new0 (char *, 3);
  args[0] = g_strndup (line, name_length);
  args[1] = g_strchomp (g_strdup (json));

  return args;
}

static void
add_to_history (const char *line)
{
  HIST_ENTRY *last = history_length > 0 ? history_get (history_base + history_length - 1) : NULL;

  if (last == NULL || strcmp (last->line, line) != 0)
    add_history (line);
}

/* help [COMMAND]: the commands, or what COMMAND takes and returns. */
static void
run_help (Shell              *self,
          const char * const *args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (args[1] != NULL && args[2] != NULL)
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("“help” takes one command name at most"));
  else
    text = qmpctl_help_text (self->command_names, self->schema, args[1], &error);

  if (text != NULL)
    shell_print (self, OUTPUT_TEXT, text);
  else
    {
      g_autofree char *message = qmpctl_format_error (error);

      shell_print (self, OUTPUT_ERROR, message);
    }
}

static void
run_line (Shell      *self,
          const char *line)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  g_autoptr(GPtrArray) commands = NULL;

  /* A raw QMP line, as QEMU's qmp-shell takes it */
  if (line[0] == '{')
    {
      QmpctlCommand *command = qmpctl_parse_qmp_command (line, &error);

      if (command != NULL)
        {
          commands = g_ptr_array_new_with_free_func ((GDestroyNotify) qmpctl_command_free);
          g_ptr_array_add (commands, command);
        }
    }
  else
    args = split_line (line, &error);
  if (args != NULL && strcmp (args[0], "help") == 0)
    {
      run_help (self, (const char * const *) args);
      return;
    }
  if (args != NULL)
    commands = qmpctl_parse_commands ((const char * const *) args, &error);
  if (commands == NULL)
    {
      g_autofree char *text = qmpctl_format_error (error);

      shell_print (self, OUTPUT_ERROR, text);
      return;
    }

  self->pending++;
  watch_stdin (self, FALSE);
  /* The schema is there for help and completion: checking costs nothing
   * more, and tells a typo from QEMU's refusal before anything is sent. */
  qmpctl_run_commands (self->connection, commands, self->schema, self->schema != NULL,
                       self->cancellable, shell_output, on_line_done, self);
}

static void
on_line (char *line)
{
  Shell *self = shell;
  g_autofree char *stripped = line != NULL ? g_strstrip (g_strdup (line)) : NULL;

  free (line);

  /* Ctrl-D or "exit"; "quit" is QMP's, and quits QEMU. */
  if (stripped == NULL || strcmp (stripped, "exit") == 0)
    {
      if (stripped == NULL)
        qmpctl_print_line ("");
      else
        add_to_history (stripped);
      stop_reading (self);
      maybe_quit (self);
      return;
    }

  if (*stripped == '\0')
    return;

  add_to_history (stripped);
  self->in_line_handler = TRUE;
  run_line (self, stripped);
  self->in_line_handler = FALSE;
}

static gboolean
on_stdin (int          fd,
          GIOCondition condition,
          gpointer     user_data)
{
  rl_callback_read_char ();

  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------ signals */

/* Ctrl-C cancels what runs and discards the line, as in a shell. */
static gboolean
on_interrupt (gpointer user_data)
{
  Shell *self = user_data;

  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (self->reading)
    {
      rl_replace_line ("", 0);
      rl_crlf ();
      rl_on_new_line ();
      rl_redisplay ();
    }

  return G_SOURCE_CONTINUE;
}

static void
shell_quit (Shell *self)
{
  g_cancellable_cancel (self->cancellable);
  stop_reading (self);
  g_main_loop_quit (self->loop);
}

static gboolean
on_terminate (gpointer user_data)
{
  shell_quit (user_data);

  return G_SOURCE_CONTINUE;
}

static void
on_closed (QmpConnection *connection,
           gboolean       remote_peer_vanished,
           GError        *error,
           gpointer       user_data)
{
  Shell *self = user_data;
  g_autofree char *text = NULL;

  /* After "quit", QEMU goes away as it should: no need for its errno. */
  if (remote_peer_vanished)
    text = g_strdup_printf (_("%s: The server closed the connection"), g_get_prgname ());
  else if (error != NULL)
    text = qmpctl_format_error (error);
  if (text != NULL)
    shell_print (self, OUTPUT_ERROR, text);

  stop_reading (self);
  if (!remote_peer_vanished)
    self->status = QMPCTL_EXIT_FAILED;
  g_main_loop_quit (self->loop);
}

/* ------------------------------------------------------------ the shell */

static void
load_history (Shell *self)
{
  self->history_path = g_build_filename (g_get_user_state_dir (), "qmpctl_history", NULL);
  using_history ();
  stifle_history (HISTORY_SIZE);
  read_history (self->history_path);
}

static void
save_history (Shell *self)
{
  g_autofree char *directory = g_path_get_dirname (self->history_path);

  if (g_mkdir_with_parents (directory, 0700) == 0 && write_history (self->history_path) == 0)
    history_truncate_file (self->history_path, HISTORY_SIZE);
}

static gboolean
print_banner (Shell *self)
{
  const char *package = qmp_connection_get_package (self->connection);
  g_autofree char *banner = NULL;

  banner = g_strdup_printf (is_guest_agent (self) ? _("Connected to the QEMU guest agent %u.%u.%u%s%s%s.\n") :
                                                    _("Connected to QEMU %u.%u.%u%s%s%s.\n"),
                            qmp_connection_get_version_major (self->connection),
                            qmp_connection_get_version_minor (self->connection),
                            qmp_connection_get_version_micro (self->connection),
                            package != NULL && *package != '\0' ? " (" : "",
                            package != NULL ? package : "",
                            package != NULL && *package != '\0' ? ")" : "");
  /* One line, which the next ends. */
  g_strchomp (banner);

  return qmpctl_print_line (banner) &&
         qmpctl_print_line (_("Type a command and its arguments as KEY=VALUE or a JSON object; "
                              "Tab completes; Ctrl-D or “exit” leaves."));
}

static void
start_reading (Shell *self)
{
  rl_readline_name = "qmpctl";
  rl_attempted_completion_function = complete;
  rl_completer_word_break_characters = " \t";
  rl_catch_signals = 0;   /* GLib's g_unix_signal_add handles them */

  rl_callback_handler_install (PROMPT, on_line);
  self->reading = TRUE;
  watch_stdin (self, TRUE);
}

static void
shell_clear (Shell *self)
{
  g_signal_handlers_disconnect_by_data (self->connection, self);
  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->command_names, g_ptr_array_unref);
  g_clear_object (&self->schema);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_clear_pointer (&self->history_path, g_free);
  shell = NULL;
}

/**
 * qmpctl_shell:
 *
 * Reads lines `COMMAND [ARGUMENT…]` until Ctrl-D or `exit`, and runs them
 * as the command line does.  Events are printed between prompts.
 *
 * Returns: the exit status
 */
int
qmpctl_shell (QmpConnection *connection,
              gboolean       colour,
              gboolean       hmp_text)
{
  Shell self = { .connection = connection, .colour = colour, .hmp_text = hmp_text,
                 .status = QMPCTL_EXIT_OK };

  shell = &self;
  self.loop = g_main_loop_new (NULL, FALSE);
  self.cancellable = g_cancellable_new ();
  load_commands (&self);
  load_history (&self);

  g_signal_connect (connection, "event", G_CALLBACK (on_event), &self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), &self);
  self.signal_sources[0] = g_unix_signal_add (SIGINT, on_interrupt, &self);
  self.signal_sources[1] = g_unix_signal_add (SIGTERM, on_terminate, &self);

  if (print_banner (&self))
    {
      start_reading (&self);
      g_main_loop_run (self.loop);
      stop_reading (&self);
    }
  else
    self.status = QMPCTL_EXIT_FAILED;

  save_history (&self);
  shell_clear (&self);

  return self.status;
}
