/* qmp-json-template.c: JSON templates with printf-style conversions
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "qmp-json-template.h"
#include "qmp-json-template-private.h"
#include "qmp-json-private.h"

/* A template is the caller's code, not the peer's data: anything wrong in
 * it is a programming error, reported as a critical that quotes it, and
 * nothing is built from it.  The conversions take their arguments from a
 * va_list, so once the template is wrong the rest cannot be trusted
 * either: parsing stops at the first problem. */

#define MAX_DEPTH 1024

typedef struct
{
  const char *format;
  const char *p;
  va_list *args;                       /* the values, or … */
  const QmpJsonTemplateValue *values;  /* … these */
  gsize n_values;
  gsize next_value;
  char *problem;        /* the first thing found wrong */
  gsize problem_at;     /* its byte offset in the template */
} Template;

typedef enum {
  LENGTH_NONE,
  LENGTH_LONG,          /* l */
  LENGTH_LONG_LONG,     /* ll */
  LENGTH_SIZE,          /* z */
} Length;

static JsonNode *parse_value (Template *t,
                              guint     depth);

static gboolean problem (Template   *t,
                         const char *format,
                         ...) G_GNUC_PRINTF (2, 3);

static gboolean
problem (Template   *t,
         const char *format,
         ...)
{
  va_list ap;

  if (t->problem != NULL)
    return FALSE;

  va_start (ap, format);
  t->problem = g_strdup_vprintf (format, ap);
  va_end (ap);
  t->problem_at = t->p - t->format;

  return FALSE;
}

static void
skip_space (Template *t)
{
  while (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r')
    t->p++;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
parse_hex4 (Template *t,
            gunichar *out)
{
  gunichar value = 0;

  for (guint i = 0; i < 4; i++)
    {
      int digit = hex_value (t->p[i]);

      if (digit < 0)
        return problem (t, "an invalid \\u escape");
      value = value * 16 + digit;
    }

  t->p += 4;
  *out = value;
  return TRUE;
}

/* A string between double or single quotes (at the opening one).  Within
 * single quotes a double quote needs no escape; \' works in both. */
static char *
parse_quoted (Template *t)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char quote = *t->p++;

  for (;;)
    {
      char c = *t->p;

      if (c == '\0')
        {
          problem (t, "an unterminated string");
          return NULL;
        }
      if (c == quote)
        break;
      if ((guchar) c < 0x20)
        {
          problem (t, "a control character in a string");
          return NULL;
        }
      t->p++;
      if (c != '\\')
        {
          g_string_append_c (text, c);
          continue;
        }

      c = *t->p++;
      switch (c)
        {
        case '"': case '\'': case '\\': case '/':
          g_string_append_c (text, c);
          break;
        case 'b': g_string_append_c (text, '\b'); break;
        case 'f': g_string_append_c (text, '\f'); break;
        case 'n': g_string_append_c (text, '\n'); break;
        case 'r': g_string_append_c (text, '\r'); break;
        case 't': g_string_append_c (text, '\t'); break;
        case 'u':
          {
            gunichar unichar, low;

            if (!parse_hex4 (t, &unichar))
              return NULL;
            if (unichar >= 0xD800 && unichar <= 0xDBFF)
              {
                if (t->p[0] != '\\' || t->p[1] != 'u')
                  {
                    problem (t, "an unpaired surrogate in a \\u escape");
                    return NULL;
                  }
                t->p += 2;
                if (!parse_hex4 (t, &low))
                  return NULL;
                if (low < 0xDC00 || low > 0xDFFF)
                  {
                    problem (t, "an unpaired surrogate in a \\u escape");
                    return NULL;
                  }
                unichar = 0x10000 + ((unichar - 0xD800) << 10) + (low - 0xDC00);
              }
            else if ((unichar >= 0xDC00 && unichar <= 0xDFFF) || unichar == 0)
              {
                /* json-glib's strings end at NUL. */
                problem (t, "an invalid \\u escape");
                return NULL;
              }
            g_string_append_unichar (text, unichar);
            break;
          }
        default:
          t->p--;
          problem (t, "an invalid escape in a string");
          return NULL;
        }
    }

  if (!g_utf8_validate_len (text->str, text->len, NULL))
    {
      problem (t, "a string that is not UTF-8");
      return NULL;
    }
  t->p++;

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static JsonNode *
parse_number (Template *t)
{
  const char *start = t->p;
  gboolean is_integer = TRUE;
  g_autofree char *lexeme = NULL;

  if (*t->p == '-')
    t->p++;
  if (*t->p == '0')
    t->p++;
  else if (g_ascii_isdigit (*t->p))
    while (g_ascii_isdigit (*t->p))
      t->p++;
  else
    {
      problem (t, "an invalid number");
      return NULL;
    }
  if (*t->p == '.')
    {
      is_integer = FALSE;
      t->p++;
      if (!g_ascii_isdigit (*t->p))
        {
          problem (t, "an invalid number");
          return NULL;
        }
      while (g_ascii_isdigit (*t->p))
        t->p++;
    }
  if (*t->p == 'e' || *t->p == 'E')
    {
      is_integer = FALSE;
      t->p++;
      if (*t->p == '+' || *t->p == '-')
        t->p++;
      if (!g_ascii_isdigit (*t->p))
        {
          problem (t, "an invalid number");
          return NULL;
        }
      while (g_ascii_isdigit (*t->p))
        t->p++;
    }

  lexeme = g_strndup (start, t->p - start);
  if (is_integer)
    {
      gint64 value;

      errno = 0;
      value = g_ascii_strtoll (lexeme, NULL, 10);
      if (errno == ERANGE)
        {
          t->p = start;
          problem (t, "a number that does not fit in 64 bits");
          return NULL;
        }
      return json_node_init_int (json_node_alloc (), value);
    }
  else
    {
      double value = g_ascii_strtod (lexeme, NULL);

      if (!isfinite (value))
        {
          t->p = start;
          problem (t, "a number too large for a double");
          return NULL;
        }
      return json_node_init_double (json_node_alloc (), value);
    }
}

/* The next element of the array of values. */
static const QmpJsonTemplateValue *
next_value (Template *t)
{
  g_assert (t->next_value < t->n_values);
  return &t->values[t->next_value++];
}

/* The next value, of C type @type: from the va_list, or the @member of the
 * next element of the array, cast to @type. */
#define NEXT_VALUE(type, member) \
  (t->args != NULL ? va_arg (*t->args, type) : (type) next_value (t)->member)

/* A conversion (at its '%'), consuming its argument. */
static JsonNode *
parse_conversion (Template *t)
{
  const char *start = t->p;
  Length length = LENGTH_NONE;
  gint64 value = 0;
  int len;
  char c;

  t->p++;
  if (t->p[0] == 'l' && t->p[1] == 'l')
    length = LENGTH_LONG_LONG, t->p += 2;
  else if (t->p[0] == 'l')
    length = LENGTH_LONG, t->p++;
  else if (t->p[0] == 'z')
    length = LENGTH_SIZE, t->p++;

  c = *t->p;
  if (c == '\0')
    goto unknown;
  t->p++;
  len = (int) (t->p - start);

  switch (c)
    {
    case 's':
      {
        const char *string;

        if (length != LENGTH_NONE)
          goto unknown;
        string = NEXT_VALUE (const char *, string);
        if (string == NULL || !g_utf8_validate (string, -1, NULL))
          {
            t->p = start;
            problem (t, string ? "%%s is given a string that is not UTF-8" : "%%s is given NULL");
            return NULL;
          }
        return json_node_init_string (json_node_alloc (), string);
      }

    case 'd':
    case 'i':
      switch (length)
        {
        case LENGTH_NONE: value = NEXT_VALUE (int, integer); break;
        case LENGTH_LONG: value = NEXT_VALUE (long, integer); break;
        case LENGTH_LONG_LONG: value = NEXT_VALUE (long long, integer); break;
        case LENGTH_SIZE: value = NEXT_VALUE (gssize, integer); break;
        default: g_assert_not_reached ();
        }
      return json_node_init_int (json_node_alloc (), value);

    case 'u':
      {
        guint64 unsigned_value = 0;

        switch (length)
          {
          case LENGTH_NONE: unsigned_value = NEXT_VALUE (unsigned int, unsigned_integer); break;
          case LENGTH_LONG: unsigned_value = NEXT_VALUE (unsigned long, unsigned_integer); break;
          case LENGTH_LONG_LONG: unsigned_value = NEXT_VALUE (unsigned long long, unsigned_integer); break;
          case LENGTH_SIZE: unsigned_value = NEXT_VALUE (gsize, unsigned_integer); break;
          default: g_assert_not_reached ();
          }
        /* A JsonNode holds a gint64, which json-glib writes signed. */
        if (unsigned_value > G_MAXINT64)
          {
            t->p = start;
            problem (t, "%.*s is given %" G_GUINT64_FORMAT ", above G_MAXINT64, which a JsonNode cannot hold",
                     len, start, unsigned_value);
            return NULL;
          }
        return json_node_init_int (json_node_alloc (), (gint64) unsigned_value);
      }

    case 'f':
    case 'g':
      {
        double d;

        if (length != LENGTH_NONE && length != LENGTH_LONG)
          goto unknown;
        d = NEXT_VALUE (double, number);
        if (!isfinite (d))
          {
            t->p = start;
            problem (t, "%.*s is given %g, which JSON cannot carry", len, start, d);
            return NULL;
          }
        return json_node_init_double (json_node_alloc (), d);
      }

    case 'b':
      if (length != LENGTH_NONE)
        goto unknown;
      return json_node_init_boolean (json_node_alloc (), NEXT_VALUE (gboolean, boolean) != FALSE);

    case 'p':
      {
        JsonNode *node;

        if (length != LENGTH_NONE)
          goto unknown;
        node = NEXT_VALUE (JsonNode *, node);
        if (node == NULL)
          {
            t->p = start;
            problem (t, "%%p is given NULL");
            return NULL;
          }
        return _qmp_json_node_copy_deep (node);
      }

    default:
      break;
    }

unknown:
  len = (int) (t->p - start);
  t->p = start;
  problem (t, "an unknown conversion “%.*s”", len, start);
  return NULL;
}

static JsonNode *
parse_object (Template *t,
              guint     depth)
{
  g_autoptr(JsonObject) object = json_object_new ();

  t->p++;
  skip_space (t);
  if (*t->p == '}')
    {
      t->p++;
      return json_node_init_object (json_node_alloc (), object);
    }

  for (;;)
    {
      g_autofree char *name = NULL;
      const char *name_at;
      JsonNode *value;

      skip_space (t);
      name_at = t->p;
      if (*t->p == '"' || *t->p == '\'')
        {
          name = parse_quoted (t);
          if (name == NULL)
            return NULL;
        }
      else if (t->p[0] == '%' && t->p[1] == 's')
        {
          g_autoptr(JsonNode) node = parse_conversion (t);

          if (node == NULL)
            return NULL;
          name = g_strdup (json_node_get_string (node));
        }
      else
        {
          problem (t, "expected a member name");
          return NULL;
        }

      if (json_object_has_member (object, name))
        {
          t->p = name_at;
          problem (t, "the member “%s” is given twice", name);
          return NULL;
        }

      skip_space (t);
      if (*t->p != ':')
        {
          problem (t, "expected “:”");
          return NULL;
        }
      t->p++;

      value = parse_value (t, depth);
      if (value == NULL)
        return NULL;
      json_object_set_member (object, name, value);

      skip_space (t);
      if (*t->p == ',')
        {
          t->p++;
          continue;
        }
      if (*t->p == '}')
        {
          t->p++;
          return json_node_init_object (json_node_alloc (), object);
        }
      problem (t, "expected “,” or “}”");
      return NULL;
    }
}

static JsonNode *
parse_array (Template *t,
             guint     depth)
{
  g_autoptr(JsonArray) array = json_array_new ();

  t->p++;
  skip_space (t);
  if (*t->p == ']')
    {
      t->p++;
      return json_node_init_array (json_node_alloc (), array);
    }

  for (;;)
    {
      JsonNode *element = parse_value (t, depth);

      if (element == NULL)
        return NULL;
      json_array_add_element (array, element);

      skip_space (t);
      if (*t->p == ',')
        {
          t->p++;
          continue;
        }
      if (*t->p == ']')
        {
          t->p++;
          return json_node_init_array (json_node_alloc (), array);
        }
      problem (t, "expected “,” or “]”");
      return NULL;
    }
}

static gboolean
expect_literal (Template   *t,
                const char *literal)
{
  gsize len = strlen (literal);

  if (strncmp (t->p, literal, len) != 0)
    return problem (t, "an invalid literal");
  t->p += len;
  return TRUE;
}

static JsonNode *
parse_value (Template *t,
             guint     depth)
{
  skip_space (t);

  switch (*t->p)
    {
    case '{':
    case '[':
      if (depth >= MAX_DEPTH)
        {
          problem (t, "nested too deeply");
          return NULL;
        }
      return *t->p == '{' ? parse_object (t, depth + 1) : parse_array (t, depth + 1);

    case '"':
    case '\'':
      {
        g_autofree char *string = parse_quoted (t);

        return string ? json_node_init_string (json_node_alloc (), string) : NULL;
      }

    case '%':
      return parse_conversion (t);

    case 't':
      return expect_literal (t, "true") ? json_node_init_boolean (json_node_alloc (), TRUE) : NULL;
    case 'f':
      return expect_literal (t, "false") ? json_node_init_boolean (json_node_alloc (), FALSE) : NULL;
    case 'n':
      return expect_literal (t, "null") ? json_node_init_null (json_node_alloc ()) : NULL;

    case '\0':
      problem (t, "an unexpected end");
      return NULL;

    default:
      if (*t->p == '-' || g_ascii_isdigit (*t->p))
        return parse_number (t);
      problem (t, "an unexpected character");
      return NULL;
    }
}

/* The object of @format, or NULL after a critical that names @function
 * and quotes the template. */
static JsonObject *
build_object (const char                 *function,
              const char                 *format,
              va_list                    *args,
              const QmpJsonTemplateValue *values,
              gsize                       n_values)
{
  Template t = { format, format, args, values, n_values, 0, NULL, 0 };
  g_autoptr(JsonNode) node = NULL;

  node = parse_value (&t, 0);
  if (node != NULL)
    {
      skip_space (&t);
      if (*t.p != '\0')
        problem (&t, "more after the value");
      else if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          t.p = format;
          problem (&t, "not a JSON object");
        }
    }

  if (t.problem != NULL)
    {
      /* The template may be any bytes; the message stays UTF-8. */
      g_autofree char *shown = g_utf8_make_valid (format, -1);

      g_critical ("%s: invalid JSON template “%s”: %s at byte %" G_GSIZE_FORMAT,
                  function, shown, t.problem, t.problem_at);
      g_free (t.problem);
      return NULL;
    }

  return json_object_ref (json_node_get_object (node));
}

/**
 * qmp_json_build_object: (skip)
 * @format: a JSON template of an object, with conversions
 * @...: the values of the conversions, in order
 *
 * Builds a #JsonObject from a JSON template and values, as QEMU's own
 * tests write commands:
 *
 * ```c
 * g_autoptr(JsonObject) arguments =
 *   qmp_json_build_object ("{'driver': 'qcow2', 'node-name': %s, 'read-only': %b,"
 *                          " 'file': {'driver': 'file', 'filename': %s}}",
 *                          node_name, read_only, path);
 * ```
 *
 * The template is JSON with two additions.  A string may be written
 * between single quotes, in which a double quote needs no escape (`\'` is a
 * single quote, in either kind of string).  And a conversion may stand
 * wherever a value may (`%s` also for a member name), taking the next
 * argument:
 *
 * | conversion | argument | becomes |
 * | --- | --- | --- |
 * | `%s` | `const char *`: UTF-8, not %NULL | a string, escaped as JSON needs |
 * | `%d`, `%i` | `int` | an integer |
 * | `%u` | `unsigned int` | an integer |
 * | `%ld`, `%li`, `%lu` | `long`, `unsigned long` | an integer |
 * | `%lld`, `%lli`, `%llu` | `long long`, `unsigned long long` | an integer |
 * | `%zd`, `%zu` | `gssize`, `gsize` | an integer |
 * | `%f`, `%g`, `%lf` | `double` | a number |
 * | `%b` | `gboolean` | `true` or `false` |
 * | `%p` | `JsonNode *`, not %NULL | a copy of the node (the caller keeps its own) |
 *
 * `G_GINT64_FORMAT` and `G_GUINT64_FORMAT` are among them, so
 * `"%" G_GINT64_FORMAT` takes a #gint64.  A `%` inside a string is just a
 * `%`.  Beware that in QEMU's templates `%i` is a boolean: here it is an
 * `int`, as in printf(), and booleans are `%b`.
 *
 * A template that is not valid JSON, that is not an object, that has a
 * member twice, or that has an unknown conversion is a programming error,
 * and so is a value JSON or #JsonNode cannot carry: a %NULL or non-UTF-8
 * string, NaN, an infinity, an unsigned value above %G_MAXINT64.  Then a
 * critical names the template and what is wrong in it, and %NULL is
 * returned: a command is never built from part of a template.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL if the
 *   template is wrong
 *
 * Since: 1.0
 */
JsonObject *
qmp_json_build_object (const char *format,
                       ...)
{
  va_list args;
  JsonObject *object;

  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  object = build_object (G_STRFUNC, format, &args, NULL, 0);
  va_end (args);

  return object;
}

/**
 * qmp_json_build_object_va: (skip)
 * @format: a JSON template of an object, with conversions
 * @args: the values of the conversions, in order
 *
 * Like qmp_json_build_object(), with the values in a `va_list`.
 *
 * ```c
 * static JsonObject *
 * build_arguments (const char *format, ...)
 * {
 *   va_list args;
 *   va_start (args, format);
 *   JsonObject *object = qmp_json_build_object_va (format, args);
 *   va_end (args);
 *   return object;
 * }
 * ```
 *
 * Returns: (transfer full) (nullable): the object, or %NULL if the
 *   template is wrong
 *
 * Since: 1.0
 */
JsonObject *
qmp_json_build_object_va (const char *format,
                          va_list     args)
{
  va_list copy;
  JsonObject *object;

  g_return_val_if_fail (format != NULL, NULL);

  /* A va_list parameter may be an array in disguise: its address is not a
   * va_list *, a copy's is. */
  va_copy (copy, args);
  object = build_object (G_STRFUNC, format, &copy, NULL, 0);
  va_end (copy);

  return object;
}

JsonObject *
_qmp_json_build_object_array (const char                 *format,
                              const QmpJsonTemplateValue *values,
                              gsize                       n_values)
{
  g_return_val_if_fail (format != NULL, NULL);
  g_return_val_if_fail (values != NULL || n_values == 0, NULL);

  return build_object (G_STRFUNC, format, NULL, values, n_values);
}

/* The command of a template: "execute" (or "exec-oob") and "arguments",
 * nothing else; the library makes the "id". */
static gboolean
command_from_template (const char       *function,
                       const char       *format,
                       va_list          *args,
                       char            **command,
                       JsonObject      **arguments,
                       QmpExecuteFlags  *flags)
{
  g_autoptr(JsonObject) object = build_object (function, format, args, NULL, 0);
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (object == NULL)
    return FALSE;

  *command = NULL;
  *arguments = NULL;
  *flags = QMP_EXECUTE_FLAGS_NONE;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &member))
    {
      if ((g_str_equal (name, "execute") || g_str_equal (name, "exec-oob")) &&
          JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING &&
          *command == NULL)
        {
          *command = g_strdup (json_node_get_string (member));
          if (g_str_equal (name, "exec-oob"))
            *flags = QMP_EXECUTE_FLAGS_OOB;
        }
      else if (g_str_equal (name, "arguments") && JSON_NODE_HOLDS_OBJECT (member))
        {
          *arguments = json_object_ref (json_node_get_object (member));
        }
      else
        {
          g_critical ("%s: the template “%s” is not one command: its member “%s” is unexpected "
                      "(a command has one “execute” or “exec-oob” string, maybe an “arguments” "
                      "object, and nothing else: the library makes the “id”)",
                      function, format, name);
          g_clear_pointer (command, g_free);
          g_clear_pointer (arguments, json_object_unref);
          return FALSE;
        }
    }

  if (*command == NULL)
    {
      g_critical ("%s: the template “%s” is not a command: it has no “execute”", function, format);
      g_clear_pointer (arguments, json_object_unref);
      return FALSE;
    }

  return TRUE;
}

/**
 * qmp_connection_execute_printf_async: (skip)
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: a #GAsyncReadyCallback to call when the reply came
 * @user_data: the data to pass to @callback
 * @format: a JSON template of the command, with conversions
 * @...: the values of the conversions, in order
 *
 * Sends a command written as a JSON template, with `%s` for a string
 * that is escaped as JSON needs and the other conversions of
 * qmp_json_build_object():
 *
 * ```c
 * qmp_connection_execute_printf_async (connection, NULL, on_deleted, NULL,
 *                                      "{'execute': 'device_del', 'arguments': {'id': %s}}",
 *                                      id);
 * ```
 *
 * The template has an `execute` member, or `exec-oob` for
 * %QMP_EXECUTE_FLAGS_OOB, and maybe `arguments`; nothing else (the
 * library makes the `id`).  Anything else, or a template that
 * qmp_json_build_object() refuses, is a programming error: a critical names
 * the template, nothing is sent and @callback is not called.  Otherwise
 * this is [method@Qmp.Connection.execute_async], cancellation and all.
 *
 * Since: 1.0
 */
void
qmp_connection_execute_printf_async (QmpConnection       *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data,
                                     const char          *format,
                                     ...)
{
  g_autofree char *command = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  QmpExecuteFlags flags;
  va_list args;
  gboolean ok;

  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (format != NULL);

  va_start (args, format);
  ok = command_from_template (G_STRFUNC, format, &args, &command, &arguments, &flags);
  va_end (args);
  if (!ok)
    return;

  qmp_connection_execute_async (self, command, arguments, flags, cancellable, callback, user_data);
}

/**
 * qmp_connection_execute_printf_finish: (skip)
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.execute_printf_async], as
 * [method@Qmp.Connection.execute_finish] does.
 *
 * ```c
 * // in on_deleted (), given to qmp_connection_execute_printf_async ()
 * g_autoptr(GError) error = NULL;
 * g_autoptr(JsonNode) ret = qmp_connection_execute_printf_finish (QMP_CONNECTION (source),
 *                                                                 result, &error);
 * if (ret == NULL)
 *   g_warning ("device_del: %s", error->message);
 * ```
 *
 * Returns: (transfer full) (nullable): the `return` member of the reply,
 *   or %NULL with @error set
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_printf_finish (QmpConnection  *self,
                                      GAsyncResult   *result,
                                      GError        **error)
{
  return qmp_connection_execute_finish (self, result, error);
}

/**
 * qmp_connection_execute_printf_sync: (skip)
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 * @format: a JSON template of the command, with conversions
 * @...: the values of the conversions, in order
 *
 * Sends a command written as a JSON template and waits for its reply:
 *
 * ```c
 * g_autoptr(JsonNode) ret =
 *   qmp_connection_execute_printf_sync (connection, NULL, &error,
 *                                       "{'execute': 'qom-get',"
 *                                       " 'arguments': {'path': %s, 'property': 'type'}}",
 *                                       path);
 * ```
 *
 * See [method@Qmp.Connection.execute_printf_async] for the template; a
 * wrong one is a critical, and %NULL is returned without @error set.
 * Otherwise this is [method@Qmp.Connection.execute_sync].
 *
 * Returns: (transfer full) (nullable): the `return` member of the reply,
 *   or %NULL with @error set
 *
 * Since: 1.0
 */
JsonNode *
qmp_connection_execute_printf_sync (QmpConnection  *self,
                                    GCancellable   *cancellable,
                                    GError        **error,
                                    const char     *format,
                                    ...)
{
  g_autofree char *command = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  QmpExecuteFlags flags;
  va_list args;
  gboolean ok;

  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_return_val_if_fail (format != NULL, NULL);

  va_start (args, format);
  ok = command_from_template (G_STRFUNC, format, &args, &command, &arguments, &flags);
  va_end (args);
  if (!ok)
    return NULL;

  return qmp_connection_execute_sync (self, command, arguments, flags, cancellable, error);
}
