/* qmpctl-json.c: command-line arguments to JSON, and JSON to text
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "qmpctl.h"

void
qmpctl_command_free (QmpctlCommand *command)
{
  g_free (command->name);
  g_clear_pointer (&command->arguments, json_object_unref);
  g_strfreev (command->args);
  g_free (command);
}

/* ------------------------------------------------------------ parsing */

static gboolean
skip_digits (const char **p)
{
  const char *start = *p;

  while (g_ascii_isdigit (**p))
    (*p)++;

  return *p > start;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static gboolean
skip_number (const char **p)
{
  if (**p == '-')
    (*p)++;
  if (**p == '0')
    (*p)++;
  else if (!skip_digits (p))
    return FALSE;
  if (**p == '.')
    {
      (*p)++;
      if (!skip_digits (p))
        return FALSE;
    }
  if (**p == 'e' || **p == 'E')
    {
      (*p)++;
      if (**p == '+' || **p == '-')
        (*p)++;
      if (!skip_digits (p))
        return FALSE;
    }

  return !g_ascii_isalnum (**p) && **p != '.';
}

static gboolean
skip_string (const char **p)
{
  for ((*p)++; **p != '"'; (*p)++)
    {
      if (**p == '\0')
        return FALSE;
      if (**p == '\\' && (*p)[1] != '\0')
        (*p)++;
    }
  (*p)++;

  return TRUE;
}

static gboolean
skip_literal (const char **p)
{
  static const char * const literals[] = { "true", "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (literals); i++)
    {
      gsize len = strlen (literals[i]);

      if (strncmp (*p, literals[i], len) == 0 && !g_ascii_isalnum ((*p)[len]))
        {
          *p += len;
          return TRUE;
        }
    }

  return FALSE;
}

/* json-glib accepts more than JSON: 'single quotes', 0x10, comments,
 * "var x = …".  A value is taken as JSON only when all its tokens are
 * JSON's, so that addr=0x3 stays the string "0x3". */
static gboolean
has_json_tokens (const char *text)
{
  const char *p = text;

  while (*p != '\0')
    {
      gboolean ok = TRUE;

      if (g_ascii_isspace (*p) || strchr ("{}[],:", *p) != NULL)
        p++;
      else if (*p == '"')
        ok = skip_string (&p);
      else if (*p == '-' || g_ascii_isdigit (*p))
        ok = skip_number (&p);
      else
        ok = skip_literal (&p);

      if (!ok)
        return FALSE;
    }

  return TRUE;
}

/* Whether @node holds a number beyond the doubles (1e400): json-glib
 * reads it as infinity, which JSON cannot write back. */
static gboolean
has_non_finite (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_members (object);

      for (GList *l = members; l != NULL; l = l->next)
        if (has_non_finite (json_object_get_member (object, l->data)))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (has_non_finite (json_array_get_element (array, i)))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      return !isfinite (json_node_get_double (node));
    }

  return FALSE;
}

/* The JSON value of @text, or NULL (with @error set) when it is no JSON. */
static JsonNode *
parse_json (const char  *text,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root = NULL;

  if (has_json_tokens (text) &&
      json_parser_load_from_data (parser, text, -1, &local_error))
    root = json_parser_get_root (parser);
  if (root != NULL && has_non_finite (root))
    root = NULL;

  if (root == NULL)
    {
      if (local_error != NULL)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     _("“%s” is not valid JSON: %s"), text, local_error->message);
      else
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     _("“%s” is not valid JSON"), text);
      return NULL;
    }

  return json_node_copy (root);
}

/* VALUE of KEY=VALUE: JSON when it parses as JSON, a string otherwise. */
static JsonNode *
parse_value (const char *text)
{
  JsonNode *node = parse_json (text, NULL);

  if (node == NULL)
    {
      node = json_node_new (JSON_NODE_VALUE);
      json_node_set_string (node, text);
    }

  return node;
}

/* The object that holds the last part of a dotted key, made as needed. */
static JsonObject *
lookup_parent (JsonObject  *object,
               char       **parts,
               const char  *key,
               GError     **error)
{
  for (guint i = 0; parts[i + 1] != NULL; i++)
    {
      JsonNode *member = json_object_get_member (object, parts[i]);

      if (member == NULL)
        {
          json_object_set_object_member (object, parts[i], json_object_new ());
          member = json_object_get_member (object, parts[i]);
        }
      else if (!JSON_NODE_HOLDS_OBJECT (member))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” conflicts with an earlier argument"), key);
          return NULL;
        }
      object = json_node_get_object (member);
    }

  return object;
}

static gboolean
add_key_value (JsonObject  *object,
               const char  *argument,
               GError     **error)
{
  const char *equals = strchr (argument, '=');
  g_autofree char *key = NULL;
  g_auto(GStrv) parts = NULL;
  JsonObject *parent;
  const char *last;

  if (equals == NULL || equals == argument)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Malformed argument “%s”: expected KEY=VALUE or one JSON object"),
                   argument);
      return FALSE;
    }

  key = g_strndup (argument, equals - argument);
  parts = g_strsplit (key, ".", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (*parts[i] == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("Malformed key “%s”: a dot must separate two names"), key);
          return FALSE;
        }
    }

  parent = lookup_parent (object, parts, key, error);
  if (parent == NULL)
    return FALSE;

  last = parts[g_strv_length (parts) - 1];
  if (json_object_has_member (parent, last))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” conflicts with an earlier argument"), key);
      return FALSE;
    }
  json_object_set_member (parent, last, parse_value (equals + 1));

  return TRUE;
}

static JsonObject *
parse_json_object (const char  *text,
                   GError     **error)
{
  g_autoptr(JsonNode) node = parse_json (text, error);

  if (node == NULL)
    return NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a JSON object"), text);
      return NULL;
    }

  return json_object_ref (json_node_get_object (node));
}

/**
 * qmpctl_parse_arguments:
 * @args: a %NULL-terminated list of `KEY=VALUE`, or one JSON object
 *
 * Returns: (nullable): the arguments as an object, %NULL when @args is
 *   empty or on error
 */
JsonObject *
qmpctl_parse_arguments (const char * const  *args,
                        GError             **error)
{
  g_autoptr(JsonObject) object = NULL;

  if (args[0] == NULL)
    return NULL;

  /* JSON strings are Unicode: bytes of another encoding cannot be sent. */
  for (guint i = 0; args[i] != NULL; i++)
    {
      if (!g_utf8_validate (args[i], -1, NULL))
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("An argument is not valid UTF-8"));
          return NULL;
        }
    }

  if (args[0][0] == '{' && args[1] == NULL)
    return parse_json_object (args[0], error);

  object = json_object_new ();
  for (guint i = 0; args[i] != NULL; i++)
    {
      if (args[i][0] == '{')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("A JSON object must be the only argument of a command"));
          return NULL;
        }
      if (!add_key_value (object, args[i], error))
        return NULL;
    }

  return g_steal_pointer (&object);
}

static gboolean
is_command_name (const char *name)
{
  if (!g_ascii_isalpha (name[0]))
    return FALSE;

  for (const char *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
        return FALSE;
    }

  return TRUE;
}

static QmpctlCommand *
parse_command (const char * const  *args,
               GError             **error)
{
  g_autoptr(QmpctlCommand) command = g_new0 (QmpctlCommand, 1);
  g_autoptr(GError) local_error = NULL;

  if (args[0] == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("A command is missing (before or after a “,”)"));
      return NULL;
    }
  if (!is_command_name (args[0]))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a command name"), args[0]);
      return NULL;
    }

  command->name = g_strdup (args[0]);
  command->args = g_strdupv ((char **) args + 1);
  command->arguments = qmpctl_parse_arguments (args + 1, &local_error);
  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", args[0]);
      return NULL;
    }

  return g_steal_pointer (&command);
}

/**
 * qmpctl_parse_commands:
 * @args: `COMMAND [ARGUMENT…] [, COMMAND [ARGUMENT…]]…`
 *
 * Returns: (transfer full) (element-type QmpctlCommand): the commands
 */
GPtrArray *
qmpctl_parse_commands (const char * const  *args,
                       GError             **error)
{
  g_autoptr(GPtrArray) commands =
    g_ptr_array_new_with_free_func ((GDestroyNotify) qmpctl_command_free);
  g_autoptr(GPtrArray) group = g_ptr_array_new ();

  for (guint i = 0; ; i++)
    {
      QmpctlCommand *command;

      if (args[i] != NULL && strcmp (args[i], ",") != 0)
        {
          g_ptr_array_add (group, (gpointer) args[i]);
          continue;
        }

      g_ptr_array_add (group, NULL);
      command = parse_command ((const char * const *) group->pdata, error);
      if (command == NULL)
        return NULL;
      g_ptr_array_add (commands, command);
      g_ptr_array_set_size (group, 0);

      if (args[i] == NULL)
        break;
    }

  return g_steal_pointer (&commands);
}

/**
 * qmpctl_parse_qmp_command:
 * @line: a QMP command as the protocol writes it, `{"execute": NAME}`
 *   with `"arguments"` or not
 *
 * Returns: (nullable): the command, %NULL on error
 */
QmpctlCommand *
qmpctl_parse_qmp_command (const char  *line,
                          GError     **error)
{
  g_autoptr(JsonObject) object = parse_json_object (line, error);
  g_autoptr(QmpctlCommand) command = NULL;
  JsonNode *execute, *arguments;
  gboolean valid;

  if (object == NULL)
    return NULL;

  /* The library makes the id; "exec-oob" has no place in a shell that
   * runs one line after the other. */
  execute = json_object_get_member (object, "execute");
  arguments = json_object_get_member (object, "arguments");
  valid = execute != NULL && JSON_NODE_HOLDS_VALUE (execute) &&
          json_node_get_value_type (execute) == G_TYPE_STRING &&
          (arguments == NULL || JSON_NODE_HOLDS_OBJECT (arguments)) &&
          json_object_get_size (object) == (arguments != NULL ? 2u : 1u);
  if (!valid)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("A QMP command is an object with “execute” and, optionally, “arguments”"));
      return NULL;
    }

  command = g_new0 (QmpctlCommand, 1);
  command->name = g_strdup (json_node_get_string (execute));
  if (arguments != NULL)
    command->arguments = json_object_ref (json_node_get_object (arguments));

  return g_steal_pointer (&command);
}

/* ------------------------------------------------------------ output */

/* Whether @p starts a control character that a terminal may act on: C0
 * but line feed and tab, DEL, or C1 (U+0080 to U+009F, which some
 * terminals take as CSI and the like); its length in @len. */
static gboolean
is_control (const char *p,
            gsize      *len)
{
  guchar c = *p;

  *len = 1;
  if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
    return TRUE;
  if (c == 0xc2 && (guchar) p[1] >= 0x80 && (guchar) p[1] <= 0x9f)
    {
      *len = 2;
      return TRUE;
    }

  return FALSE;
}

/* Appends @length bytes of @text (UTF-8) to @out, each control character
 * but line feed and tab written as \u00XX: what a peer sent (QEMU echoes
 * a caller's text in its errors, a guest agent sends what the guest
 * wants) cannot drive the terminal that qmpctl prints it on.  Within a
 * JSON string that is the same string, escaped. */
static void
append_escaping_controls (GString    *out,
                          const char *text,
                          gsize       length)
{
  const char *end = text + length;
  const char *p = text;

  while (p < end)
    {
      const char *start = p;
      gsize len = 0;

      while (p < end && !is_control (p, &len))
        p++;
      g_string_append_len (out, start, p - start);
      if (p < end)
        {
          gunichar c = len == 2 ? (guchar) p[1] : (guchar) *p;

          g_string_append_printf (out, "\\u%04X", c);
          p += len;
        }
    }
}

/* @text (UTF-8, from the peer) with each control character but line feed
 * and tab written as \u00XX, for a terminal */
static char *
escape_controls (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));

  append_escaping_controls (out, text, strlen (text));
  return g_string_free (out, FALSE);
}

/**
 * qmpctl_hmp_text:
 * @json: the result of @command
 *
 * human-monitor-command returns the text that the human monitor printed,
 * as a JSON string, which reads badly with its "\n" and "\r".
 *
 * Returns: (nullable): that text without its last line end, or %NULL
 *   when @command is another command or its result no string
 */
char *
qmpctl_hmp_text (const char *command,
                 const char *json)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GString) lines = NULL;
  JsonNode *root;
  GString *text;

  if (strcmp (command, "human-monitor-command") != 0)
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_VALUE (root) ||
      json_node_get_value_type (root) != G_TYPE_STRING)
    return NULL;

  /* HMP ends its lines with "\r\n"; what HMP prints may quote the
   * caller's or the guest's text. */
  lines = g_string_new (json_node_get_string (root));
  g_string_replace (lines, "\r\n", "\n", 0);
  text = g_string_sized_new (lines->len);
  append_escaping_controls (text, lines->str, lines->len);
  if (text->len > 0 && text->str[text->len - 1] == '\n')
    g_string_truncate (text, text->len - 1);

  return g_string_free (text, FALSE);
}

/* jq's colours; NULL is the terminal's own */
#define COLOUR_KEY     "34;1"
#define COLOUR_STRING  "32"
#define COLOUR_NUMBER  NULL
#define COLOUR_BOOLEAN NULL
#define COLOUR_NULL    "1;30"
#define COLOUR_PUNCT   "1"

/**
 * qmpctl_use_colour:
 *
 * Colour for a terminal, unless NO_COLOR (https://no-color.org) is set or
 * the terminal is dumb.
 */
gboolean
qmpctl_use_colour (int fd)
{
  const char *no_colour = g_getenv ("NO_COLOR");

  return isatty (fd) &&
         (no_colour == NULL || *no_colour == '\0') &&
         g_strcmp0 (g_getenv ("TERM"), "dumb") != 0;
}

/* Pretty output of deeply nested JSON is far larger than the JSON (each
 * "[]," 2048 levels deep takes a line of 2048 spaces), so it is written
 * as it is made, in pieces of about this size. */
#define PRINTER_CHUNK (64 * 1024)

/* The printer walks JSON text that the library already checked, and
 * copies every number, string and literal as it is: a number keeps the
 * lexeme the server wrote (18446744073709551615, 1e400, -0), which no
 * JsonNode can hold.  Only whitespace is its own. */
typedef struct
{
  GString *out;
  gboolean pretty;
  gboolean colour;
  const char *p;       /* the next character of the text */
  QmpctlWriteFunc write;
  gpointer user_data;
  gboolean failed;     /* write failed: the rest is only walked */
} Printer;

static void
printer_flush (Printer *printer)
{
  if (!printer->failed && printer->out->len > 0)
    printer->failed = !printer->write (printer->out->str, printer->user_data);
  g_string_truncate (printer->out, 0);
}

static void
print_coloured (Printer    *printer,
                const char *colour,
                const char *text,
                gsize       length)
{
  if (printer->colour && colour != NULL)
    g_string_append_printf (printer->out, "\033[%sm", colour);
  /* A string the library checked holds no C0 control characters, but may
   * hold DEL and C1 ones, raw: escaped, the same string. */
  if (*text == '"')
    append_escaping_controls (printer->out, text, length);
  else
    g_string_append_len (printer->out, text, length);
  if (printer->colour && colour != NULL)
    g_string_append (printer->out, "\033[0m");
  if (printer->out->len >= PRINTER_CHUNK)
    printer_flush (printer);
}

static void
print_punct (Printer    *printer,
             const char *punct)
{
  print_coloured (printer, COLOUR_PUNCT, punct, strlen (punct));
}

static void
print_newline (Printer *printer,
               guint    depth)
{
  if (!printer->pretty)
    return;

  g_string_append_c (printer->out, '\n');
  for (guint i = 0; i < depth; i++)
    g_string_append (printer->out, "  ");
  if (printer->out->len >= PRINTER_CHUNK)
    printer_flush (printer);
}

static void
skip_space (Printer *printer)
{
  while (*printer->p == ' ' || *printer->p == '\t' || *printer->p == '\r' || *printer->p == '\n')
    printer->p++;
}

/* A string, number or literal, copied as it is; @colour NULL chooses by
 * its kind. */
static void
print_token (Printer    *printer,
             const char *colour)
{
  const char *start = printer->p;

  if (*start == '"')
    skip_string (&printer->p);
  else
    while (*printer->p != '\0' && strchr (",:]} \t\r\n", *printer->p) == NULL)
      printer->p++;

  if (colour == NULL)
    {
      switch (*start)
        {
        case '"': colour = COLOUR_STRING; break;
        case 'n': colour = COLOUR_NULL; break;
        case 't': case 'f': colour = COLOUR_BOOLEAN; break;
        default: colour = COLOUR_NUMBER; break;
        }
    }

  print_coloured (printer, colour, start, printer->p - start);
}

static void print_value (Printer *printer,
                         guint    depth);

/* An object's members or an array's elements; the text is at the "{" or
 * "[".  The library limits nesting, and so this recursion. */
static void
print_container (Printer *printer,
                 guint    depth)
{
  gboolean is_object = *printer->p == '{';
  char close = is_object ? '}' : ']';

  print_punct (printer, is_object ? "{" : "[");
  printer->p++;
  skip_space (printer);
  if (*printer->p != close)
    {
      for (;;)
        {
          print_newline (printer, depth + 1);
          if (is_object)
            {
              skip_space (printer);
              print_token (printer, COLOUR_KEY);
              skip_space (printer);
              if (*printer->p == ':')
                printer->p++;
              print_punct (printer, ":");
              if (printer->pretty)
                g_string_append_c (printer->out, ' ');
            }
          print_value (printer, depth + 1);
          skip_space (printer);
          if (*printer->p != ',')
            break;
          printer->p++;
          print_punct (printer, ",");
        }
      print_newline (printer, depth);
    }
  if (*printer->p == close)
    printer->p++;
  print_punct (printer, is_object ? "}" : "]");
}

static void
print_value (Printer *printer,
             guint    depth)
{
  skip_space (printer);
  if (*printer->p == '{' || *printer->p == '[')
    print_container (printer, depth);
  else
    print_token (printer, NULL);
}

/**
 * qmpctl_print_json:
 * @json: valid JSON, such as the library checked it
 * @pretty: indented with two spaces, or all on one line without spaces
 * @write: called with the text, piece by piece, without a final newline
 *
 * Prints @json with its numbers, strings and literals as they are in it,
 * but for the control characters of its strings, which are escaped.
 *
 * Returns: %FALSE when @write failed
 */
gboolean
qmpctl_print_json (const char      *json,
                   gboolean         pretty,
                   gboolean         colour,
                   QmpctlWriteFunc  write,
                   gpointer         user_data)
{
  g_autoptr(GString) out = g_string_sized_new (PRINTER_CHUNK);
  Printer printer = { out, pretty, colour, json, write, user_data, FALSE };

  print_value (&printer, 0);
  printer_flush (&printer);

  return !printer.failed;
}

/**
 * qmpctl_event_to_json:
 *
 * Returns: @event as compact JSON, in QEMU's own form:
 *   `{"event":…,"data":…,"timestamp":{"seconds":…,"microseconds":…}}`,
 *   where "data" is left out when the event has none, and an unknown
 *   timestamp is -1/-1 as QEMU sends it
 */
char *
qmpctl_event_to_json (QmpEvent *event)
{
  g_autoptr(GString) text = g_string_new ("{\"event\":");
  g_autoptr(JsonNode) name = json_node_init_string (json_node_alloc (), qmp_event_get_name (event));
  g_autofree char *quoted_name = json_to_string (name, FALSE);
  /* As the server wrote it: its numbers are exact. */
  const char *data = qmp_event_get_data_json (event);
  GDateTime *timestamp = qmp_event_get_timestamp (event);

  g_string_append (text, quoted_name);
  if (data != NULL)
    {
      g_string_append (text, ",\"data\":");
      g_string_append (text, data);
    }
  g_string_append_printf (text, ",\"timestamp\":{\"seconds\":%" G_GINT64_FORMAT ",\"microseconds\":%d}}",
                          timestamp != NULL ? g_date_time_to_unix (timestamp) : -1,
                          timestamp != NULL ? g_date_time_get_microsecond (timestamp) : -1);

  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* QmpError's codes back to QMP's class names. */
static const char * const error_classes[] = {
  [QMP_ERROR_GENERIC_ERROR] = "GenericError",
  [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
  [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
  [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
  [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

/**
 * qmpctl_format_error:
 *
 * Returns: `CLASS: desc` for an error that the server reported, and
 *   `qmpctl: message` for any other
 */
char *
qmpctl_format_error (const GError *error)
{
  /* The server's words, and the library's, which may quote the server */
  g_autofree char *message = escape_controls (error->message);

  if (error->domain == QMP_ERROR &&
      error->code >= 0 && (gsize) error->code < G_N_ELEMENTS (error_classes))
    return g_strdup_printf ("%s: %s", error_classes[error->code], message);

  return g_strdup_printf ("%s: %s", g_get_prgname (), message);
}
