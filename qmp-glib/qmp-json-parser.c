/* qmp-json-parser.c: the JSON parser for what the server sends
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-error.h"
#include "qmp-json-private.h"

/* Why not JsonParser: it recurses without a bound, so a line of 100,000
 * '[' overflows the stack of the thread that parses it (a crash from
 * input, on the worker every connection shares); and it sets up a scanner
 * and emits signals for every member, which costs more than all the rest
 * of handling a reply.  This parser builds the same JsonNode trees, bounds
 * the nesting as QEMU's own parser does, and checks UTF-8. */

#define MAX_DEPTH 1024

/* What a tree costs, charged while its text is checked, so that a line
 * whose tree would be too large is refused before anything is built from
 * it: a line of "{},{},…" takes 110 times its size as json-glib nodes.
 * Measured with glibc's malloc on x86-64 (json-glib 1.6, GLib 2.74, with
 * G_SLICE=always-malloc, which costs more than the slice allocator) and
 * rounded up; tests/test-json-cost.c checks that it stays an upper bound. */
#define COST_NODE           48    /* a JsonNode: null */
#define COST_SCALAR         80    /* a JsonNode and its JsonValue */
#define COST_ARRAY          128   /* a JsonNode, JsonArray and GPtrArray */
#define COST_ARRAY_FIRST    32    /* the first block of element pointers */
#define COST_ELEMENT        16    /* a pointer, in a block at worst half full */
#define COST_OBJECT         336   /* a JsonNode, JsonObject, GHashTable, 8 buckets */
#define COST_OBJECT_FIRST   112   /* the 8 buckets remade for a first member */
#define COST_MEMBER         32    /* its link in the list of names in order */
#define COST_BUCKETS        64    /* from the 5th member on: the buckets of one
                                     (20 bytes each, at worst 3/8 full) */

typedef struct
{
  const char *p;
  const char *end;
  const char *start;
  GString *scratch;   /* reused for strings with escapes */
  GError **error;
  gboolean build;     /* FALSE: only check the JSON, build nothing */
  guint64 cost;       /* of the tree, in bytes of heap */
  guint64 transient;  /* the most that building one string needs besides */
  guint64 max_cost;   /* G_MAXUINT64: no limit */
  guint64 max_message_size;   /* for the error message */
} Parser;

#define PARSER_INIT(data, len, scratch, error, build) \
  { (data), (data) + (len), (data), (scratch), (error), (build), 0, 0, G_MAXUINT64, 0 }

/* What parse_value() returns for a value it checked without building. */
static JsonNode *const skipped = (JsonNode *) &skipped;

static JsonNode *parse_value (Parser *parser,
                              guint   depth);

static gboolean
fail (Parser     *parser,
      const char *what)
{
  g_set_error (parser->error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
               _("%s at byte %zu"), what, (size_t) (parser->p - parser->start));
  return FALSE;
}

/* What malloc takes for @size bytes: 16-byte steps, with an 8-byte header,
 * 32 at least. */
static guint64
heap_size (guint64 size)
{
  return MAX (32, (size + 8 + 15) & ~(guint64) 15);
}

static G_GNUC_NO_INLINE gboolean
fail_too_large (Parser *parser)
{
  g_set_error (parser->error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE,
               _("The server sent a message that would take more than %llu bytes of memory once parsed "
                 "(%d times the limit of %llu bytes)"),
               (unsigned long long) parser->max_cost, QMP_JSON_TREE_FACTOR,
               (unsigned long long) parser->max_message_size);
  return FALSE;
}

/* On every value: inline, the error out of the way. */
static inline gboolean
charge (Parser  *parser,
        guint64  bytes)
{
  parser->cost += bytes;
  if (G_LIKELY (parser->cost + parser->transient <= parser->max_cost))
    return TRUE;
  return fail_too_large (parser);
}

/* A string of @len bytes: its copy in the tree, and while it is built a
 * copy of our own (and, for one with escapes, the scratch buffer). */
static gboolean
charge_string (Parser   *parser,
               gsize     len,
               gboolean  escaped)
{
  guint64 transient = heap_size (len + 1) + (escaped ? 2 * ((guint64) len + 1) : 0);

  parser->transient = MAX (parser->transient, transient);
  return charge (parser, heap_size (len + 1));
}

static void
skip_space (Parser *parser)
{
  while (parser->p < parser->end &&
         (*parser->p == ' ' || *parser->p == '\t' || *parser->p == '\n' || *parser->p == '\r'))
    parser->p++;
}

static gboolean
expect_literal (Parser     *parser,
                const char *literal)
{
  gsize len = strlen (literal);

  if ((gsize) (parser->end - parser->p) < len || memcmp (parser->p, literal, len) != 0)
    return fail (parser, _("Invalid literal"));

  parser->p += len;
  return TRUE;
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

/* Four hex digits at *p, which is left after them; FALSE (and *p where it
 * was) when there are not. */
static const char *
read_hex4 (const char **p,
           const char  *end,
           gunichar    *out)
{
  gunichar value = 0;

  if (end - *p < 4)
    return _("Truncated \\u escape");

  for (guint i = 0; i < 4; i++)
    {
      int digit = hex_value ((*p)[i]);

      if (digit < 0)
        return _("Invalid \\u escape");
      value = value * 16 + digit;
    }

  *p += 4;
  *out = value;
  return NULL;
}

/* Decodes the body of a JSON string from *p (just after its opening quote)
 * to its closing quote, appending it to @out: escapes, surrogate pairs,
 * and no U+0000 (JsonNode strings end at NUL), no control character, only
 * valid UTF-8.  Returns NULL with *p after the closing quote, or why not
 * (translated) with *p where the problem is.  Shared by this parser and
 * QmpSchema's reader of query-qmp-schema's text. */
const char *
_qmp_json_decode_string (const char **p,
                         const char  *end,
                         GString     *out)
{
  gsize start = out->len;

  while (*p < end)
    {
      char c = **p;
      const char *problem;
      gunichar unichar, low;

      if (c == '"')
        {
          (*p)++;
          if (!g_utf8_validate_len (out->str + start, out->len - start, NULL))
            return _("Invalid UTF-8 in a string");
          return NULL;
        }

      if ((guchar) c < 0x20)
        return _("Control character in a string");

      if (c != '\\')
        {
          g_string_append_c (out, c);
          (*p)++;
          continue;
        }

      (*p)++;
      if (*p >= end)
        break;

      switch (*(*p)++)
        {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          if ((problem = read_hex4 (p, end, &unichar)) != NULL)
            return problem;

          if (unichar >= 0xD800 && unichar <= 0xDBFF)
            {
              if (end - *p < 2 || (*p)[0] != '\\' || (*p)[1] != 'u')
                return _("Unpaired surrogate in a \\u escape");
              *p += 2;
              if ((problem = read_hex4 (p, end, &low)) != NULL)
                return problem;
              if (low < 0xDC00 || low > 0xDFFF)
                return _("Unpaired surrogate in a \\u escape");
              unichar = 0x10000 + ((unichar - 0xD800) << 10) + (low - 0xDC00);
            }
          else if (unichar >= 0xDC00 && unichar <= 0xDFFF)
            {
              return _("Unpaired surrogate in a \\u escape");
            }

          /* QEMU escapes U+0000 as \\u0000: kept out, as JsonNode strings
           * are NUL-terminated. */
          if (unichar == 0)
            return _("A string holds U+0000");

          g_string_append_unichar (out, unichar);
          break;

        default:
          (*p)--;
          return _("Invalid escape in a string");
        }
    }

  return _("Unterminated string");
}

static char skipped_string[] = "";

/* Parses a string (the opening quote already consumed) into a newly
 * allocated, NUL-terminated, valid UTF-8 string; when not building, checks
 * it and returns skipped_string, which must not be freed. */
static char *
parse_string (Parser *parser)
{
  const char *run = parser->p;

  /* The common case: no escapes, copied at once. */
  while (parser->p < parser->end && *parser->p != '"' && *parser->p != '\\' &&
         (guchar) *parser->p >= 0x20)
    parser->p++;

  if (parser->p < parser->end && *parser->p == '"')
    {
      if (!g_utf8_validate_len (run, parser->p - run, NULL))
        {
          fail (parser, _("Invalid UTF-8 in a string"));
          return NULL;
        }
      if (!charge_string (parser, parser->p - run, FALSE))
        return NULL;
      parser->p++;
      return parser->build ? g_strndup (run, parser->p - 1 - run) : skipped_string;
    }

  {
    const char *problem;

    g_string_truncate (parser->scratch, 0);
    parser->p = run;
    if ((problem = _qmp_json_decode_string (&parser->p, parser->end, parser->scratch)) != NULL)
      {
        fail (parser, problem);
        return NULL;
      }
  }

  if (!charge_string (parser, parser->scratch->len, TRUE))
    return NULL;
  return parser->build ? g_strndup (parser->scratch->str, parser->scratch->len) : skipped_string;
}

static JsonNode *
parse_number (Parser *parser)
{
  const char *start = parser->p;
  gboolean is_integer = TRUE;
  char buffer[64];
  gsize len;

  if (parser->p < parser->end && *parser->p == '-')
    parser->p++;

  if (parser->p < parser->end && *parser->p == '0')
    parser->p++;
  else if (parser->p < parser->end && g_ascii_isdigit (*parser->p))
    while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
      parser->p++;
  else
    {
      fail (parser, _("Invalid number"));
      return NULL;
    }

  if (parser->p < parser->end && *parser->p == '.')
    {
      is_integer = FALSE;
      parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        {
          fail (parser, _("Invalid number"));
          return NULL;
        }
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }

  if (parser->p < parser->end && (*parser->p == 'e' || *parser->p == 'E'))
    {
      is_integer = FALSE;
      parser->p++;
      if (parser->p < parser->end && (*parser->p == '+' || *parser->p == '-'))
        parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        {
          fail (parser, _("Invalid number"));
          return NULL;
        }
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }

  if (!charge (parser, COST_SCALAR))
    return NULL;
  if (!parser->build)
    return skipped;

  /* The line is not NUL-terminated: convert from a copy. */
  len = parser->p - start;
  if (len >= sizeof buffer)
    {
      /* No integer has 64 digits; a double that long is absurd but valid. */
      g_autofree char *copy = g_strndup (start, len);

      return json_node_init_double (json_node_alloc (), g_ascii_strtod (copy, NULL));
    }
  memcpy (buffer, start, len);
  buffer[len] = '\0';

  if (is_integer)
    {
      gint64 value;

      errno = 0;
      value = g_ascii_strtoll (buffer, NULL, 10);
      if (errno != ERANGE)
        return json_node_init_int (json_node_alloc (), value);

      /* QEMU sends uint64 values above G_MAXINT64: kept as json-glib keeps
       * them, in the int's bits, so that (guint64) json_node_get_int()
       * gives them back exactly.  Beyond that, a double. */
      if (buffer[0] != '-')
        {
          guint64 unsigned_value;

          errno = 0;
          unsigned_value = g_ascii_strtoull (buffer, NULL, 10);
          if (errno != ERANGE)
            return json_node_init_int (json_node_alloc (), (gint64) unsigned_value);
        }
    }

  return json_node_init_double (json_node_alloc (), g_ascii_strtod (buffer, NULL));
}

/* Called for each member of an object, with the member's value (owned). */
typedef void (*MemberFunc) (const char *name,
                            JsonNode   *value,
                            gpointer    user_data);

/* Parses the members of an object whose '{' is consumed; those named in
 * @wanted (all, if NULL) are built and given to @func, the others only
 * checked. */
static gboolean
parse_members (Parser             *parser,
               guint               depth,
               const char * const *wanted,
               MemberFunc          func,
               gpointer            user_data)
{
  guint n_members = 0;

  if (!charge (parser, COST_OBJECT))
    return FALSE;

  skip_space (parser);
  if (parser->p < parser->end && *parser->p == '}')
    {
      parser->p++;
      return TRUE;
    }

  for (;;)
    {
      char *name;
      JsonNode *member;
      gboolean build = parser->build;
      gboolean keep;

      skip_space (parser);
      if (parser->p >= parser->end || *parser->p != '"')
        return fail (parser, _("Expected a member name"));
      parser->p++;
      name = parse_string (parser);
      if (name == NULL)
        return FALSE;

      skip_space (parser);
      if (parser->p >= parser->end || *parser->p != ':')
        {
          if (name != skipped_string)
            g_free (name);
          return fail (parser, _("Expected “:”"));
        }
      parser->p++;

      n_members++;
      if (!charge (parser, COST_MEMBER + (n_members == 1 ? COST_OBJECT_FIRST : 0) +
                           (n_members >= 5 ? COST_BUCKETS : 0)))
        {
          if (name != skipped_string)
            g_free (name);
          return FALSE;
        }

      keep = build && (wanted == NULL || g_strv_contains (wanted, name));
      parser->build = keep;
      member = parse_value (parser, depth);
      parser->build = build;
      if (member == NULL)
        {
          if (name != skipped_string)
            g_free (name);
          return FALSE;
        }
      if (keep && func != NULL)
        func (name, member, user_data);
      if (name != skipped_string)
        g_free (name);

      skip_space (parser);
      if (parser->p < parser->end && *parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (parser->p < parser->end && *parser->p == '}')
        {
          parser->p++;
          return TRUE;
        }
      return fail (parser, _("Expected “,” or “}”"));
    }
}

static void
object_add_member (const char *name,
                   JsonNode   *value,
                   gpointer    user_data)
{
  json_object_set_member (user_data, name, value);
}

static JsonNode *
parse_object (Parser *parser,
              guint   depth)
{
  JsonObject *object;
  JsonNode *node = NULL;

  if (!parser->build)
    return parse_members (parser, depth, NULL, NULL, NULL) ? skipped : NULL;

  object = json_object_new ();

  if (parse_members (parser, depth, NULL, object_add_member, object))
    {
      node = json_node_alloc ();
      json_node_init_object (node, object);
    }
  json_object_unref (object);

  return node;
}

static JsonNode *
parse_array (Parser *parser,
             guint   depth)
{
  JsonArray *array;
  JsonNode *node;

  if (!charge (parser, COST_ARRAY))
    return NULL;
  array = parser->build ? json_array_new () : NULL;

  skip_space (parser);
  if (parser->p < parser->end && *parser->p == ']')
    {
      parser->p++;
      goto done;
    }

  if (!charge (parser, COST_ARRAY_FIRST))
    goto error;

  for (;;)
    {
      JsonNode *element;

      if (!charge (parser, COST_ELEMENT))
        goto error;
      element = parse_value (parser, depth);
      if (element == NULL)
        goto error;
      if (array != NULL)
        json_array_add_element (array, element);

      skip_space (parser);
      if (parser->p < parser->end && *parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (parser->p < parser->end && *parser->p == ']')
        {
          parser->p++;
          break;
        }
      fail (parser, _("Expected “,” or “]”"));
      goto error;
    }

done:
  if (array == NULL)
    return skipped;
  node = json_node_alloc ();
  json_node_init_array (node, array);
  json_array_unref (array);
  return node;

error:
  if (array != NULL)
    json_array_unref (array);
  return NULL;
}

static JsonNode *
parse_value (Parser *parser,
             guint   depth)
{
  skip_space (parser);
  if (parser->p >= parser->end)
    {
      fail (parser, _("Unexpected end of data"));
      return NULL;
    }

  switch (*parser->p)
    {
    case '{':
    case '[':
      if (depth >= MAX_DEPTH)
        {
          fail (parser, _("Nested too deeply"));
          return NULL;
        }
      return *parser->p++ == '{' ? parse_object (parser, depth + 1) : parse_array (parser, depth + 1);

    case '"':
      {
        char *string;
        JsonNode *node;

        parser->p++;
        string = parse_string (parser);
        if (string == NULL)
          return NULL;
        if (!charge (parser, COST_SCALAR))
          {
            if (string != skipped_string)
              g_free (string);
            return NULL;
          }
        if (string == skipped_string)
          return skipped;
        node = json_node_init_string (json_node_alloc (), string);
        g_free (string);
        return node;
      }

    case 't':
      if (!expect_literal (parser, "true") || !charge (parser, COST_SCALAR))
        return NULL;
      return parser->build ? json_node_init_boolean (json_node_alloc (), TRUE) : skipped;

    case 'f':
      if (!expect_literal (parser, "false") || !charge (parser, COST_SCALAR))
        return NULL;
      return parser->build ? json_node_init_boolean (json_node_alloc (), FALSE) : skipped;

    case 'n':
      if (!expect_literal (parser, "null") || !charge (parser, COST_NODE))
        return NULL;
      return parser->build ? json_node_init_null (json_node_alloc ()) : skipped;

    default:
      return parse_number (parser);
    }
}

static void
parser_set_limit (Parser  *parser,
                  guint64  max_message_size,
                  guint    factor)
{
  parser->max_message_size = max_message_size;
  parser->max_cost = max_message_size * factor;
}

/* One JSON value, surrounded by nothing but white space; when not
 * building, skipped for a valid one. */
static JsonNode *
parse_document (Parser *parser)
{
  JsonNode *node;

  node = parse_value (parser, 0);
  if (node == NULL)
    return NULL;

  skip_space (parser);
  if (parser->p != parser->end)
    {
      fail (parser, _("Unexpected data after the value"));
      if (node != skipped)
        json_node_unref (node);
      return NULL;
    }

  return node;
}

/* Parses one JSON value, surrounded by nothing but white space.  Returns
 * NULL with @error set on anything else.  No limit: for text that was
 * checked with one. */
JsonNode *
_qmp_json_parse (const char  *data,
                 gsize        len,
                 GString     *scratch,
                 GError     **error)
{
  g_autoptr(GString) own_scratch = scratch ? NULL : g_string_new (NULL);
  Parser parser = PARSER_INIT (data, len, scratch ? scratch : own_scratch, error, TRUE);

  return parse_document (&parser);
}

/* A line as the debug log shows it, secrets redacted.  The line is not
 * checked yet: its tree, and the redacted copy of it, may each take only
 * a part of what a message may, so that logging keeps to the same bound. */
char *
_qmp_json_line_for_log (const char *line,
                        gsize       len,
                        GString    *scratch,
                        guint64     max_message_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  Parser parser = PARSER_INIT (line, len, scratch, &error, TRUE);

  parser_set_limit (&parser, max_message_size, QMP_JSON_TREE_FACTOR / 4);
  root = parse_document (&parser);
  if (root != NULL)
    return _qmp_json_to_string_redacted (root);
  if (g_error_matches (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE))
    return g_strdup_printf ("(%" G_GSIZE_FORMAT " bytes, too large to log)", len);
  return g_strdup ("(not JSON)");
}

/* ------------------------------------------------------------ messages */

void
_qmp_message_clear (QmpMessage *message)
{
  g_clear_pointer (&message->event, json_node_unref);
  g_clear_pointer (&message->id, json_node_unref);
  g_clear_pointer (&message->error, json_node_unref);
  g_clear_pointer (&message->greeting, json_node_unref);
}

static void
replace (JsonNode **slot,
         JsonNode  *value)
{
  /* A repeated member: the last one wins, as in a JsonObject. */
  if (*slot != NULL)
    json_node_unref (*slot);
  *slot = value;
}

static void
timestamp_member (const char *name,
                  JsonNode   *value,
                  gpointer    user_data)
{
  QmpMessage *message = user_data;
  gint64 number = -1;

  if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_INT64)
    number = json_node_get_int (value);

  if (g_str_equal (name, "seconds"))
    message->seconds = number;
  else if (g_str_equal (name, "microseconds"))
    message->microseconds = number;

  json_node_unref (value);
}

/* Parses a line that must be one JSON object into its QMP members, without
 * building the object itself: every line costs one hash table less, and an
 * event's timestamp none at all.  Members the protocol does not define are
 * checked and dropped.  On error, @not_an_object tells a valid JSON value
 * that is not an object from a line that is not JSON.
 *
 * The line's tree (all of it, built here or not) may cost at most
 * %QMP_JSON_TREE_FACTOR times @max_message_size: beyond, the error is
 * %QMP_ERROR_MESSAGE_TOO_LARGE, found before the tree grows past the
 * bound, and what was built is freed. */
gboolean
_qmp_json_parse_message (const char  *data,
                         gsize        len,
                         GString     *scratch,
                         gboolean     want_greeting,
                         guint64      max_message_size,
                         QmpMessage  *message,
                         gboolean    *not_an_object,
                         GError     **error)
{
  Parser parser = PARSER_INIT (data, len, scratch, error, TRUE);

  parser_set_limit (&parser, max_message_size, QMP_JSON_TREE_FACTOR);
  memset (message, 0, sizeof *message);
  message->seconds = -1;
  message->microseconds = -1;
  *not_an_object = FALSE;

  skip_space (&parser);
  if (parser.p >= parser.end || *parser.p != '{')
    {
      parser.build = FALSE;
      *not_an_object = parse_document (&parser) != NULL;
      return FALSE;
    }
  parser.p++;

  /* The timestamp is recognised by its name before its value is parsed, so
   * its members go straight into the message. */
  skip_space (&parser);
  while (parser.p < parser.end && *parser.p != '}')
    {
      g_autofree char *name = NULL;

      if (*parser.p != '"')
        goto invalid;
      parser.p++;
      name = parse_string (&parser);
      if (name == NULL)
        goto error;
      skip_space (&parser);
      if (parser.p >= parser.end || *parser.p != ':')
        goto invalid;
      parser.p++;
      skip_space (&parser);

      /* A repeated member: the last one wins, as in a JsonObject, also
       * when it has another type than the one before. */
      if (g_str_equal (name, "timestamp"))
        {
          message->seconds = -1;
          message->microseconds = -1;
        }

      /* Only what the protocol uses is built, and only in the shape it
       * has: a server cannot make one line cost many times its size.
       * Member values are at depth 1, as in _qmp_json_parse(). */
      if (g_str_equal (name, "timestamp") && parser.p < parser.end && *parser.p == '{')
        {
          static const char * const wanted[] = { "seconds", "microseconds", NULL };

          parser.p++;
          if (!parse_members (&parser, 2, wanted, timestamp_member, message))
            goto error;
        }
      else if (g_str_equal (name, "data") || g_str_equal (name, "return"))
        {
          /* An event's data and a reply's return are checked here but
           * built only where they are used, on the caller's thread: the
           * I/O thread that every connection shares does the least, and a
           * tree is freed by the thread that allocated it. */
          const char *start = parser.p;

          parser.build = FALSE;
          if (parse_value (&parser, 1) == NULL)
            goto error;
          parser.build = TRUE;
          if (name[0] == 'd')
            {
              message->data_json = start;
              message->data_json_len = parser.p - start;
            }
          else
            {
              message->ret_json = start;
              message->ret_json_len = parser.p - start;
            }
        }
      else if (g_str_equal (name, "error") && parser.p < parser.end && *parser.p == '{')
        {
          static const char * const wanted[] = { "class", "desc", NULL };
          JsonObject *object = json_object_new ();
          gboolean ok;

          parser.p++;
          ok = parse_members (&parser, 2, wanted, object_add_member, object);
          g_clear_pointer (&message->error, json_node_unref);
          message->error = json_node_init_object (json_node_alloc (), object);
          json_object_unref (object);
          if (!ok)
            goto error;
          message->has_error = TRUE;
        }
      else
        {
          char first = parser.p < parser.end ? *parser.p : '\0';
          JsonNode **slot = NULL;
          JsonNode *value;

          if (g_str_equal (name, "event"))
            {
              message->has_event = TRUE;
              g_clear_pointer (&message->event, json_node_unref);
              if (first == '"')
                slot = &message->event;
            }
          else if (g_str_equal (name, "id"))
            {
              message->has_id = TRUE;
              g_clear_pointer (&message->id, json_node_unref);
              if (first == '-' || g_ascii_isdigit (first))
                slot = &message->id;
            }
          else if (g_str_equal (name, "error"))
            {
              message->has_error = TRUE;   /* not an object: malformed */
              g_clear_pointer (&message->error, json_node_unref);
            }
          else if (g_str_equal (name, "QMP"))
            {
              if (want_greeting)
                slot = &message->greeting;
            }

          parser.build = slot != NULL;
          value = parse_value (&parser, 1);
          parser.build = TRUE;
          if (value == NULL)
            goto error;
          if (slot != NULL)
            replace (slot, value);
        }

      skip_space (&parser);
      if (parser.p < parser.end && *parser.p == ',')
        {
          parser.p++;
          skip_space (&parser);
          /* A member must follow: no trailing comma. */
          if (parser.p >= parser.end || *parser.p != '"')
            goto invalid;
          continue;
        }
      if (parser.p < parser.end && *parser.p == '}')
        break;
      goto invalid;
    }

  if (parser.p >= parser.end)
    goto invalid;
  parser.p++;

  skip_space (&parser);
  if (parser.p != parser.end)
    {
      fail (&parser, _("Unexpected data after the value"));
      goto error;
    }

  return TRUE;

invalid:
  fail (&parser, _("Expected a member"));
error:
  _qmp_message_clear (message);
  return FALSE;
}

/* Checks that @data is one JSON value, surrounded by nothing but white
 * space, building nothing; @error says what is wrong otherwise.  For
 * JSON text that a caller hands over to be sent as it is. */
gboolean
_qmp_json_check (const char  *data,
                 gsize        len,
                 GError     **error)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  Parser parser = PARSER_INIT (data, len, scratch, error, FALSE);

  return parse_document (&parser) != NULL;
}
