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

/* ------------------------------------------------------------ output */

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

typedef struct
{
  GString *out;
  gboolean pretty;
  gboolean colour;
} Printer;

static void print_node (Printer  *printer,
                        JsonNode *node,
                        guint     depth);

static void
print_coloured (Printer    *printer,
                const char *colour,
                const char *text)
{
  if (printer->colour && colour != NULL)
    g_string_append_printf (printer->out, "\033[%sm%s\033[0m", colour, text);
  else
    g_string_append (printer->out, text);
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
}

static void
print_scalar (Printer  *printer,
              JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  const char *colour;

  if (JSON_NODE_HOLDS_NULL (node))
    colour = COLOUR_NULL;
  else if (json_node_get_value_type (node) == G_TYPE_STRING)
    colour = COLOUR_STRING;
  else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    colour = COLOUR_BOOLEAN;
  else
    colour = COLOUR_NUMBER;

  print_coloured (printer, colour, text);
}

static void
print_key (Printer    *printer,
           const char *key)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *text = NULL;

  json_node_set_string (node, key);
  text = json_to_string (node, FALSE);
  print_coloured (printer, COLOUR_KEY, text);
  print_coloured (printer, COLOUR_PUNCT, ":");
  if (printer->pretty)
    g_string_append_c (printer->out, ' ');
}

/* An object's members or an array's elements, between @open and @close. */
static void
print_container (Printer    *printer,
                 JsonNode   *node,
                 guint       depth,
                 const char *open,
                 const char *close)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonArray *array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_autoptr(GList) members = object != NULL ? json_object_get_members (object) : NULL;
  guint length = object != NULL ? json_object_get_size (object) : json_array_get_length (array);
  GList *member = members;

  print_coloured (printer, COLOUR_PUNCT, open);
  for (guint i = 0; i < length; i++)
    {
      if (i > 0)
        print_coloured (printer, COLOUR_PUNCT, ",");
      print_newline (printer, depth + 1);
      if (object != NULL)
        {
          print_key (printer, member->data);
          print_node (printer, json_object_get_member (object, member->data), depth + 1);
          member = member->next;
        }
      else
        print_node (printer, json_array_get_element (array, i), depth + 1);
    }
  if (length > 0)
    print_newline (printer, depth);
  print_coloured (printer, COLOUR_PUNCT, close);
}

static void
print_node (Printer  *printer,
            JsonNode *node,
            guint     depth)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    print_container (printer, node, depth, "{", "}");
  else if (JSON_NODE_HOLDS_ARRAY (node))
    print_container (printer, node, depth, "[", "]");
  else
    print_scalar (printer, node);
}

/**
 * qmpctl_format_json:
 * @pretty: indented with two spaces, or all on one line without spaces
 *
 * Returns: @node as text, without a final newline
 */
char *
qmpctl_format_json (JsonNode *node,
                    gboolean  pretty,
                    gboolean  colour)
{
  Printer printer = { g_string_new (NULL), pretty, colour };

  print_node (&printer, node, 0);

  return g_string_free (printer.out, FALSE);
}

/**
 * qmpctl_format_event:
 *
 * Returns: @event as one line, in QEMU's own form:
 *   `{"event":…,"data":…,"timestamp":{"seconds":…,"microseconds":…}}`,
 *   where "data" is left out when the event has none, and an unknown
 *   timestamp is -1/-1 as QEMU sends it
 */
char *
qmpctl_format_event (QmpEvent *event,
                     gboolean  colour)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *data = qmp_event_get_data (event);
  GDateTime *timestamp = qmp_event_get_timestamp (event);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, qmp_event_get_name (event));
  if (data != NULL)
    {
      g_autoptr(JsonNode) data_node = json_node_init_object (json_node_alloc (), data);

      json_builder_set_member_name (builder, "data");
      json_builder_add_value (builder, g_steal_pointer (&data_node));
    }
  json_builder_set_member_name (builder, "timestamp");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "seconds");
  json_builder_add_int_value (builder, timestamp != NULL ? g_date_time_to_unix (timestamp) : -1);
  json_builder_set_member_name (builder, "microseconds");
  json_builder_add_int_value (builder, timestamp != NULL ? g_date_time_get_microsecond (timestamp) : -1);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);

  return qmpctl_format_json (root, FALSE, colour);
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
  if (error->domain == QMP_ERROR &&
      error->code >= 0 && (gsize) error->code < G_N_ELEMENTS (error_classes))
    return g_strdup_printf ("%s: %s", error_classes[error->code], error->message);

  return g_strdup_printf ("%s: %s", g_get_prgname (), error->message);
}
