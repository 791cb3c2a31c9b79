/* qmp-json-parser.c: the JSON parser for what the server sends
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

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

/* A string shorter than this is copied where it costs no allocation. */
#define SHORT_STRING 256

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
  GString *scratch;   /* reused for strings with escapes; made when
                       * first needed if NULL */
  GError **error;
  gboolean build;     /* FALSE: only check the JSON, build nothing */
  guint64 cost;       /* of the tree, in bytes of heap */
  guint64 transient;  /* the most that building one string needs besides */
  guint64 max_cost;   /* G_MAXUINT64: no limit */
  guint64 max_message_size;   /* for the error message */
  gboolean checked;   /* the text was checked before: its UTF-8 is valid */
  gboolean own_scratch;   /* scratch was made here, to be freed */
  char short_copy[SHORT_STRING];   /* a short string, NUL-terminated for
                                    * json-glib, which copies it at once */
} Parser;

#define PARSER_INIT(data, len, scratch, error, build) \
  { (data), (data) + (len), (data), (scratch), (error), (build), 0, 0, G_MAXUINT64, 0, FALSE, FALSE, "" }

/* What parse_value() and the bodies of objects and arrays return for a
 * value they checked without building. */
static JsonNode *const skipped = (JsonNode *) &skipped;
static JsonObject *const skipped_object = (JsonObject *) &skipped_object;
static JsonArray *const skipped_array = (JsonArray *) &skipped_array;

static JsonNode   *parse_value       (Parser *parser,
                                     guint   depth);
static JsonObject *parse_object_body (Parser *parser,
                                     guint   depth);
static JsonArray  *parse_array_body  (Parser *parser,
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
 * copy of our own (and, for one with escapes, the scratch buffer); a
 * short one is copied into the parser itself. */
static gboolean
charge_string (Parser   *parser,
               gsize     len,
               gboolean  escaped)
{
  guint64 transient = heap_size (len + 1) + (escaped ? 2 * ((guint64) len + 1) : 0);

  parser->transient = MAX (parser->transient, transient);
  return charge (parser, heap_size (len + 1));
}

static GString *
parser_get_scratch (Parser *parser)
{
  if (parser->scratch == NULL)
    {
      parser->scratch = g_string_sized_new (64);
      parser->own_scratch = TRUE;
    }
  return parser->scratch;
}

static void
parser_finish (Parser *parser)
{
  if (parser->own_scratch)
    g_string_free (g_steal_pointer (&parser->scratch), TRUE);
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

/* A string's text, decoded: in the input when it has no escapes (then not
 * NUL-terminated), else in the scratch buffer. */
typedef struct
{
  const char *str;
  gsize len;
  gboolean in_scratch;
} Text;

#define TEXT_IS(text, literal) \
  ((text)->len == sizeof (literal) - 1 && memcmp ((text)->str, (literal), sizeof (literal) - 1) == 0)

#define ONES  G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGHS G_GUINT64_CONSTANT (0x8080808080808080)

/* Where the plain run of a string that starts at @p ends: at the first
 * '"', '\\' or control character, or at @end.  The bytes passed are or-ed
 * into *seen, whose 0x80 bits then tell whether any was not ASCII.  Eight
 * bytes at a time, as long as eight are left. */
static inline const char *
scan_plain (const char *p,
            const char *end,
            guint64    *seen)
{
  guint64 all = 0;

  while (end - p >= 8)
    {
      guint64 v, quote, backslash, stop;

      memcpy (&v, p, 8);
      quote = v ^ (ONES * '"');
      backslash = v ^ (ONES * '\\');
      /* The 0x80 bit of each byte that is zero (a '"' or '\\') or below
       * 0x20; a borrow may set it in bytes after the first, never before. */
      stop = (((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) |
              ((v - ONES * 0x20) & ~v)) & HIGHS;
      if (stop != 0)
        {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN && defined (__GNUC__)
          /* The first byte that ends the run: bytes are in memory order. */
          guint n = __builtin_ctzll (stop) / 8;

          if (n > 0)
            all |= v & (G_MAXUINT64 >> (64 - 8 * n));
          *seen |= all;
          return p + n;
#else
          break;
#endif
        }
      all |= v;
      p += 8;
    }

  while (p < end && *p != '"' && *p != '\\' && (guchar) *p >= 0x20)
    all |= (guchar) *p++;

  *seen |= all;
  return p;
}

/* Parses a string (the opening quote already consumed) into @text, and
 * charges what its copy in the tree costs.  A string with escapes is
 * decoded into the scratch buffer, which it holds until the next one. */
G_ALWAYS_INLINE static inline gboolean
parse_string (Parser *parser,
              Text   *text)
{
  const char *run = parser->p;
  guint64 seen = 0;

  /* The common case: no escapes, used where it is. */
  parser->p = scan_plain (parser->p, parser->end, &seen);
  if (parser->p < parser->end && *parser->p == '"')
    {
      if ((seen & HIGHS) != 0 && !parser->checked && !g_utf8_validate_len (run, parser->p - run, NULL))
        return fail (parser, _("Invalid UTF-8 in a string"));
      if (!charge_string (parser, parser->p - run, FALSE))
        return FALSE;
      text->str = run;
      text->len = parser->p - run;
      text->in_scratch = FALSE;
      parser->p++;
      return TRUE;
    }

  {
    GString *scratch = parser_get_scratch (parser);
    const char *problem;

    g_string_truncate (scratch, 0);
    parser->p = run;
    if ((problem = _qmp_json_decode_string (&parser->p, parser->end, scratch)) != NULL)
      return fail (parser, problem);

    if (!charge_string (parser, scratch->len, TRUE))
      return FALSE;
    text->str = scratch->str;
    text->len = scratch->len;
    text->in_scratch = TRUE;
    return TRUE;
  }
}

/* @text NUL-terminated, for json-glib to copy before the next string is
 * parsed: where it is when it has escapes, else in the parser when it is
 * short, else in *heap. */
static const char *
text_terminate (Parser     *parser,
                const Text *text,
                char      **heap)
{
  if (text->in_scratch)
    return text->str;

  if (text->len >= SHORT_STRING)
    return *heap = g_strndup (text->str, text->len);

  memcpy (parser->short_copy, text->str, text->len);
  parser->short_copy[text->len] = '\0';
  return parser->short_copy;
}

/* Checks a number at the parser's position and moves past it; *is_integer
 * tells one without fraction or exponent. */
static gboolean
scan_number (Parser   *parser,
             gboolean *is_integer)
{
  *is_integer = TRUE;

  if (parser->p < parser->end && *parser->p == '-')
    parser->p++;

  if (parser->p < parser->end && *parser->p == '0')
    parser->p++;
  else if (parser->p < parser->end && g_ascii_isdigit (*parser->p))
    while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
      parser->p++;
  else
    return fail (parser, _("Invalid number"));

  if (parser->p < parser->end && *parser->p == '.')
    {
      *is_integer = FALSE;
      parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        return fail (parser, _("Invalid number"));
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }

  if (parser->p < parser->end && (*parser->p == 'e' || *parser->p == 'E'))
    {
      *is_integer = FALSE;
      parser->p++;
      if (parser->p < parser->end && (*parser->p == '+' || *parser->p == '-'))
        parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        return fail (parser, _("Invalid number"));
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }

  return TRUE;
}

/* The value of an integer's text (checked by scan_number()), as json-glib
 * keeps it: QEMU sends uint64 values above G_MAXINT64, kept in the int's
 * bits, so that (guint64) json_node_get_int() gives them back exactly.
 * FALSE when it is beyond both ranges: then it is a double. */
static gboolean
integer_value (const char *start,
               const char *end,
               gint64     *value)
{
  gboolean negative = *start == '-';
  const char *digits = negative ? start + 1 : start;
  guint64 magnitude = 0;

  /* 19 digits cannot overflow 64 bits: only longer ones are checked. */
  if (end - digits <= 19)
    for (const char *p = digits; p < end; p++)
      magnitude = magnitude * 10 + (guint) (*p - '0');
  else
    for (const char *p = digits; p < end; p++)
      {
        guint digit = *p - '0';

        if (magnitude > (G_MAXUINT64 - digit) / 10)
          return FALSE;
        magnitude = magnitude * 10 + digit;
      }

  if (negative)
    {
      if (magnitude > (guint64) G_MAXINT64 + 1)
        return FALSE;
      *value = magnitude == (guint64) G_MAXINT64 + 1 ? G_MININT64 : -(gint64) magnitude;
    }
  else
    *value = (gint64) magnitude;

  return TRUE;
}

static double
double_value (const char *start,
              const char *end)
{
  gsize len = end - start;
  char buffer[64];

  /* The line is not NUL-terminated: converted from a copy.  No integer
   * has 64 digits; a double that long is absurd but valid. */
  if (len >= sizeof buffer)
    {
      g_autofree char *copy = g_strndup (start, len);

      return g_ascii_strtod (copy, NULL);
    }
  memcpy (buffer, start, len);
  buffer[len] = '\0';
  return g_ascii_strtod (buffer, NULL);
}

static JsonNode *
parse_number (Parser *parser)
{
  const char *start = parser->p;
  gboolean is_integer;
  gint64 value;

  if (!scan_number (parser, &is_integer) || !charge (parser, COST_SCALAR))
    return NULL;
  if (!parser->build)
    return skipped;

  if (is_integer && integer_value (start, parser->p, &value))
    return json_node_init_int (json_node_alloc (), value);
  return json_node_init_double (json_node_alloc (), double_value (start, parser->p));
}

/* Called for each member of an object with its name, which is valid only
 * during the call, and the parser at its value, which it parses. */
typedef gboolean (*MemberFunc) (Parser     *parser,
                                const Text *name,
                                guint       depth,
                                gpointer    user_data);

/* Parses the members of an object whose '{' is consumed, each value with
 * @func, or only checked when @func is NULL. */
static gboolean
parse_members (Parser     *parser,
               guint       depth,
               MemberFunc  func,
               gpointer    user_data)
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
      Text name;

      skip_space (parser);
      if (parser->p >= parser->end || *parser->p != '"')
        return fail (parser, _("Expected a member name"));
      parser->p++;
      if (!parse_string (parser, &name))
        return FALSE;

      skip_space (parser);
      if (parser->p >= parser->end || *parser->p != ':')
        return fail (parser, _("Expected “:”"));
      parser->p++;

      n_members++;
      if (!charge (parser, COST_MEMBER + (n_members == 1 ? COST_OBJECT_FIRST : 0) +
                           (n_members >= 5 ? COST_BUCKETS : 0)))
        return FALSE;

      if (func != NULL)
        {
          if (!func (parser, &name, depth, user_data))
            return FALSE;
        }
      else if (parse_value (parser, depth) == NULL)
        return FALSE;

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

/* A member of an object being built: its name is copied (on the stack when
 * short) before the value is parsed, which may reuse the scratch buffer.
 * Strings, objects and arrays go in with json-glib's typed setters, which
 * look the name up once where json_object_set_member() does twice; a
 * repeated member is replaced either way, the last one wins. */
static gboolean
object_member (Parser     *parser,
               const Text *name,
               guint       depth,
               gpointer    user_data)
{
  JsonObject *object = user_data;
  char buffer[64];
  g_autofree char *heap = NULL;
  const char *copy;
  JsonNode *value;

  if (name->len < sizeof buffer)
    {
      memcpy (buffer, name->str, name->len);
      buffer[name->len] = '\0';
      copy = buffer;
    }
  else
    copy = heap = g_strndup (name->str, name->len);

  skip_space (parser);
  if (parser->p < parser->end && *parser->p == '"')
    {
      g_autofree char *string_heap = NULL;
      Text text;

      parser->p++;
      if (!parse_string (parser, &text) || !charge (parser, COST_SCALAR))
        return FALSE;
      json_object_set_string_member (object, copy, text_terminate (parser, &text, &string_heap));
      return TRUE;
    }

  if (parser->p < parser->end && (*parser->p == '{' || *parser->p == '[') && depth < MAX_DEPTH)
    {
      if (*parser->p++ == '{')
        {
          JsonObject *member = parse_object_body (parser, depth + 1);

          if (member == NULL)
            return FALSE;
          json_object_set_object_member (object, copy, member);
        }
      else
        {
          JsonArray *member = parse_array_body (parser, depth + 1);

          if (member == NULL)
            return FALSE;
          json_object_set_array_member (object, copy, member);
        }
      return TRUE;
    }

  if (parser->p < parser->end && (*parser->p == '-' || g_ascii_isdigit (*parser->p)))
    {
      const char *start = parser->p;
      gboolean is_integer;
      gint64 number;

      if (!scan_number (parser, &is_integer) || !charge (parser, COST_SCALAR))
        return FALSE;
      if (is_integer && integer_value (start, parser->p, &number))
        json_object_set_int_member (object, copy, number);
      else
        json_object_set_double_member (object, copy, double_value (start, parser->p));
      return TRUE;
    }

  /* true, false and null: the typed setters, again one lookup less */
  if (parser->p < parser->end && (*parser->p == 't' || *parser->p == 'f' || *parser->p == 'n'))
    {
      char first = *parser->p;

      if (!expect_literal (parser, first == 't' ? "true" : first == 'f' ? "false" : "null") ||
          !charge (parser, first == 'n' ? COST_NODE : COST_SCALAR))
        return FALSE;
      if (first == 'n')
        json_object_set_null_member (object, copy);
      else
        json_object_set_boolean_member (object, copy, first == 't');
      return TRUE;
    }

  value = parse_value (parser, depth);
  if (value == NULL)
    return FALSE;
  json_object_set_member (object, copy, value);
  return TRUE;
}

/* The object whose '{' is consumed; skipped_object when not building. */
static JsonObject *
parse_object_body (Parser *parser,
                   guint   depth)
{
  JsonObject *object;

  if (!parser->build)
    return parse_members (parser, depth, NULL, NULL) ? skipped_object : NULL;

  object = json_object_new ();
  if (!parse_members (parser, depth, object_member, object))
    g_clear_pointer (&object, json_object_unref);

  return object;
}

/* The array whose '[' is consumed; skipped_array when not building. */
static JsonArray *
parse_array_body (Parser *parser,
                  guint   depth)
{
  JsonArray *array;

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
  return array != NULL ? array : skipped_array;

error:
  if (array != NULL)
    json_array_unref (array);
  return NULL;
}

static JsonNode *
parse_object (Parser *parser,
              guint   depth)
{
  JsonObject *object = parse_object_body (parser, depth);
  JsonNode *node;

  if (object == NULL || object == skipped_object)
    return object == NULL ? NULL : skipped;

  node = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);
  return node;
}

static JsonNode *
parse_array (Parser *parser,
             guint   depth)
{
  JsonArray *array = parse_array_body (parser, depth);
  JsonNode *node;

  if (array == NULL || array == skipped_array)
    return array == NULL ? NULL : skipped;

  node = json_node_init_array (json_node_alloc (), array);
  json_array_unref (array);
  return node;
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
        Text text;

        parser->p++;
        if (!parse_string (parser, &text) || !charge (parser, COST_SCALAR))
          return NULL;
        if (!parser->build)
          return skipped;
        {
          g_autofree char *heap = NULL;

          return json_node_init_string (json_node_alloc (), text_terminate (parser, &text, &heap));
        }
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
 * checked with one.  @scratch may be NULL. */
JsonNode *
_qmp_json_parse (const char  *data,
                 gsize        len,
                 GString     *scratch,
                 GError     **error)
{
  Parser parser = PARSER_INIT (data, len, scratch, error, TRUE);
  JsonNode *node;

  node = parse_document (&parser);
  parser_finish (&parser);
  return node;
}

/* Builds the tree of text that _qmp_json_parse_message() checked (a
 * "return" or a "data"): it is valid JSON whose UTF-8 is not checked
 * again. */
JsonNode *
_qmp_json_parse_checked (const char *data,
                         gsize       len)
{
  Parser parser = PARSER_INIT (data, len, NULL, NULL, TRUE);
  JsonNode *node;

  parser.checked = TRUE;
  node = parse_document (&parser);
  parser_finish (&parser);
  /* It was checked when it came. */
  g_assert (node != NULL);
  return node;
}

/* Builds the tree of text that _qmp_json_parse_command() checked (a
 * client's arguments or id), as long as it costs at most
 * %QMP_JSON_TREE_FACTOR times @max_message_size; beyond, NULL with
 * %QMP_ERROR_MESSAGE_TOO_LARGE, found before the tree grows past it. */
JsonNode *
_qmp_json_parse_checked_bounded (const char  *data,
                                 gsize        len,
                                 guint64      max_message_size,
                                 GError     **error)
{
  Parser parser = PARSER_INIT (data, len, NULL, error, TRUE);
  JsonNode *node;

  parser.checked = TRUE;
  parser_set_limit (&parser, max_message_size, QMP_JSON_TREE_FACTOR);
  node = parse_document (&parser);
  parser_finish (&parser);
  return node;
}

/* The object of an event's "data" that _qmp_json_parse_message() checked:
 * without a node around it. */
JsonObject *
_qmp_json_parse_checked_object (const char *data,
                                gsize       len)
{
  Parser parser = PARSER_INIT (data, len, NULL, NULL, TRUE);
  JsonObject *object;

  parser.checked = TRUE;
  skip_space (&parser);
  g_assert (parser.p < parser.end && *parser.p == '{');
  parser.p++;
  object = parse_object_body (&parser, 1);
  parser_finish (&parser);
  /* It was checked when it came. */
  g_assert (object != NULL && object != skipped_object);
  return object;
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
  parser_finish (&parser);
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
  g_clear_pointer (&message->event, g_free);
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

/* A member of the timestamp: "seconds" and "microseconds" are read into
 * the message without a node (-1 when not an integer), the rest checked. */
static gboolean
timestamp_member (Parser     *parser,
                  const Text *name,
                  guint       depth,
                  gpointer    user_data)
{
  QmpMessage *message = user_data;
  gint64 *slot = NULL;
  const char *start;
  gboolean is_integer;
  gint64 number;

  if (TEXT_IS (name, "seconds"))
    slot = &message->seconds;
  else if (TEXT_IS (name, "microseconds"))
    slot = &message->microseconds;

  skip_space (parser);
  start = parser->p;
  if (slot == NULL || parser->p >= parser->end || (*parser->p != '-' && !g_ascii_isdigit (*parser->p)))
    {
      gboolean build = parser->build;
      gboolean ok;

      parser->build = FALSE;
      ok = parse_value (parser, depth) != NULL;
      parser->build = build;
      if (slot != NULL)
        *slot = -1;
      return ok;
    }

  if (!scan_number (parser, &is_integer) || !charge (parser, COST_SCALAR))
    return FALSE;
  *slot = is_integer && integer_value (start, parser->p, &number) ? number : -1;
  return TRUE;
}

/* A member of "error": "class" and "desc" are built, the rest checked. */
static gboolean
error_member (Parser     *parser,
              const Text *name,
              guint       depth,
              gpointer    user_data)
{
  gboolean build = parser->build;
  gboolean ok;

  if (TEXT_IS (name, "class") || TEXT_IS (name, "desc"))
    return object_member (parser, name, depth, user_data);

  parser->build = FALSE;
  ok = parse_value (parser, depth) != NULL;
  parser->build = build;
  return ok;
}

typedef enum
{
  MEMBER_OTHER,
  MEMBER_TIMESTAMP,
  MEMBER_DATA,
  MEMBER_RETURN,
  MEMBER_ERROR,
  MEMBER_EVENT,
  MEMBER_ID,
  MEMBER_QMP,
} MemberKind;

static MemberKind
member_kind (const Text *name)
{
  if (TEXT_IS (name, "timestamp"))
    return MEMBER_TIMESTAMP;
  if (TEXT_IS (name, "data"))
    return MEMBER_DATA;
  if (TEXT_IS (name, "return"))
    return MEMBER_RETURN;
  if (TEXT_IS (name, "error"))
    return MEMBER_ERROR;
  if (TEXT_IS (name, "event"))
    return MEMBER_EVENT;
  if (TEXT_IS (name, "id"))
    return MEMBER_ID;
  if (TEXT_IS (name, "QMP"))
    return MEMBER_QMP;
  return MEMBER_OTHER;
}

/* The one object a line must be: each member's value (at depth 1) parsed
 * by @func, then nothing but white space.  The object itself is never
 * built, and not charged.  When the line is not an object,
 * *@not_an_object tells a valid JSON value (no error is set then) from
 * text that is not JSON. */
static gboolean
parse_line_object (Parser     *parser,
                   MemberFunc  func,
                   gpointer    user_data,
                   gboolean   *not_an_object)
{
  skip_space (parser);
  if (parser->p >= parser->end || *parser->p != '{')
    {
      parser->build = FALSE;
      *not_an_object = parse_document (parser) != NULL;
      return FALSE;
    }
  parser->p++;

  skip_space (parser);
  while (parser->p < parser->end && *parser->p != '}')
    {
      Text name;

      if (*parser->p != '"')
        return fail (parser, _("Expected a member"));
      parser->p++;
      if (!parse_string (parser, &name))
        return FALSE;
      skip_space (parser);
      if (parser->p >= parser->end || *parser->p != ':')
        return fail (parser, _("Expected a member"));
      parser->p++;
      skip_space (parser);

      /* The name is still valid: only a value reuses the scratch buffer. */
      if (!func (parser, &name, 1, user_data))
        return FALSE;

      skip_space (parser);
      if (parser->p < parser->end && *parser->p == ',')
        {
          parser->p++;
          skip_space (parser);
          /* A member must follow: no trailing comma. */
          if (parser->p >= parser->end || *parser->p != '"')
            return fail (parser, _("Expected a member"));
          continue;
        }
      if (parser->p < parser->end && *parser->p == '}')
        break;
      return fail (parser, _("Expected a member"));
    }

  if (parser->p >= parser->end)
    return fail (parser, _("Expected a member"));
  parser->p++;

  skip_space (parser);
  if (parser->p != parser->end)
    return fail (parser, _("Unexpected data after the value"));

  return TRUE;
}

typedef struct
{
  QmpMessage *message;
  gboolean want_greeting;
} MessageLine;

/* A member of a server's line (see _qmp_json_parse_message()). */
static gboolean
message_member (Parser     *parser,
                const Text *name,
                guint       depth,
                gpointer    user_data)
{
  MessageLine *line = user_data;
  QmpMessage *message = line->message;
  MemberKind kind = member_kind (name);

  /* A repeated member: the last one wins, as in a JsonObject, also when
   * it has another type than the one before. */
  if (kind == MEMBER_TIMESTAMP)
    {
      message->seconds = -1;
      message->microseconds = -1;
    }

  /* Only what the protocol uses is built, and only in the shape it has: a
   * server cannot make one line cost many times its size. */
  if (kind == MEMBER_TIMESTAMP && parser->p < parser->end && *parser->p == '{')
    {
      parser->p++;
      return parse_members (parser, depth + 1, timestamp_member, message);
    }
  else if (kind == MEMBER_DATA || kind == MEMBER_RETURN)
    {
      /* An event's data and a reply's return are checked here but built
       * only where they are used, on the caller's thread: the I/O thread
       * that every connection shares does the least, and a tree is freed
       * by the thread that allocated it. */
      const char *start = parser->p;
      gboolean ok;

      parser->build = FALSE;
      ok = parse_value (parser, depth) != NULL;
      parser->build = TRUE;
      if (!ok)
        return FALSE;
      if (kind == MEMBER_DATA)
        {
          message->data_json = start;
          message->data_json_len = parser->p - start;
        }
      else
        {
          message->ret_json = start;
          message->ret_json_len = parser->p - start;
        }
      return TRUE;
    }
  else if (kind == MEMBER_ERROR && parser->p < parser->end && *parser->p == '{')
    {
      JsonObject *object = json_object_new ();
      gboolean ok;

      parser->p++;
      ok = parse_members (parser, depth + 1, error_member, object);
      g_clear_pointer (&message->error, json_node_unref);
      message->error = json_node_init_object (json_node_alloc (), object);
      json_object_unref (object);
      if (!ok)
        return FALSE;
      message->has_error = TRUE;
      return TRUE;
    }
  else if (kind == MEMBER_EVENT && parser->p < parser->end && *parser->p == '"')
    {
      Text text = { NULL, 0, FALSE };

      /* The name alone, as the event keeps it. */
      message->has_event = TRUE;
      g_clear_pointer (&message->event, g_free);
      parser->p++;
      if (!parse_string (parser, &text) || !charge (parser, COST_SCALAR))
        return FALSE;
      message->event = g_strndup (text.str, text.len);
      return TRUE;
    }
  else
    {
      char first = parser->p < parser->end ? *parser->p : '\0';
      JsonNode **slot = NULL;
      JsonNode *value;

      if (kind == MEMBER_EVENT)
        {
          /* Not a string: a malformed event. */
          message->has_event = TRUE;
          g_clear_pointer (&message->event, g_free);
        }
      else if (kind == MEMBER_ID)
        {
          message->has_id = TRUE;
          g_clear_pointer (&message->id, json_node_unref);
          if (first == '-' || g_ascii_isdigit (first))
            slot = &message->id;
        }
      else if (kind == MEMBER_ERROR)
        {
          message->has_error = TRUE;   /* not an object: malformed */
          g_clear_pointer (&message->error, json_node_unref);
        }
      else if (kind == MEMBER_QMP)
        {
          message->has_greeting = TRUE;
          if (line->want_greeting)
            slot = &message->greeting;
        }

      parser->build = slot != NULL;
      value = parse_value (parser, depth);
      parser->build = TRUE;
      if (value == NULL)
        return FALSE;
      if (slot != NULL)
        replace (slot, value);
      return TRUE;
    }
}

/* Parses a line that must be one JSON object into its QMP members, without
 * building the object itself: every line costs one hash table less, and an
 * event's name and timestamp no node at all.  Members the protocol does
 * not define are checked and dropped.  On error, @not_an_object tells a
 * valid JSON value that is not an object from a line that is not JSON.
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
  MessageLine line = { message, want_greeting };

  parser_set_limit (&parser, max_message_size, QMP_JSON_TREE_FACTOR);
  memset (message, 0, sizeof *message);
  message->seconds = -1;
  message->microseconds = -1;
  *not_an_object = FALSE;

  if (!parse_line_object (&parser, message_member, &line, not_an_object))
    {
      parser_finish (&parser);
      _qmp_message_clear (message);
      return FALSE;
    }

  parser_finish (&parser);
  return TRUE;
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

/* ------------------------------------------------------------ commands */

void
_qmp_command_line_clear (QmpCommandLine *line)
{
  g_clear_pointer (&line->execute.string, g_free);
  g_clear_pointer (&line->exec_oob.string, g_free);
  g_clear_pointer (&line->unexpected, g_free);
}

typedef struct
{
  QmpCommandLine *line;
  guint n_members;
} CommandLine;

/* A member of a client's line (see _qmp_json_parse_command()). */
static gboolean
command_member (Parser     *parser,
                const Text *name,
                guint       depth,
                gpointer    user_data)
{
  CommandLine *command = user_data;
  QmpCommandLine *line = command->line;
  QmpCommandMember *member = NULL;
  const char *start = parser->p;

  command->n_members++;
  if (TEXT_IS (name, "execute"))
    member = &line->execute;
  else if (TEXT_IS (name, "exec-oob"))
    member = &line->exec_oob;
  else if (TEXT_IS (name, "arguments"))
    member = &line->arguments;
  else if (TEXT_IS (name, "id"))
    member = &line->id;
  else if (line->unexpected == NULL)
    {
      /* Copied now: the value may reuse the scratch buffer. */
      line->unexpected = g_strndup (name->str, name->len);
      line->unexpected_order = command->n_members;
    }

  if (member != NULL && (member == &line->execute || member == &line->exec_oob) &&
      parser->p < parser->end && *parser->p == '"')
    {
      Text text = { NULL, 0, FALSE };

      parser->p++;
      if (!parse_string (parser, &text))
        return FALSE;
      g_clear_pointer (&member->string, g_free);
      member->string = g_strndup (text.str, text.len);
    }
  else
    {
      if (parse_value (parser, depth) == NULL)
        return FALSE;
      if (member != NULL)
        g_clear_pointer (&member->string, g_free);
    }

  if (member != NULL)
    {
      if (member->order == 0)
        member->order = command->n_members;
      member->json = start;
      member->len = parser->p - start;
    }

  return TRUE;
}

/* Parses a client's line, which must be one JSON object, into the members
 * a command has, without building anything: each one's value is checked
 * and left where it is in the line, so that a proxy can pass the arguments
 * and the id on as the client wrote them.  "execute" and "exec-oob" are
 * decoded when they are strings.  A repeated member keeps its first place
 * and its last value, as in a JsonObject.  Of the other members, the name
 * of the first is kept.  On error, @not_an_object tells a valid JSON value
 * that is not an object from a line that is not JSON.  Nothing is built,
 * so a line costs no more than its own bytes (and the names it decodes). */
gboolean
_qmp_json_parse_command (const char      *data,
                         gsize            len,
                         GString         *scratch,
                         QmpCommandLine  *line,
                         gboolean        *not_an_object,
                         GError         **error)
{
  Parser parser = PARSER_INIT (data, len, scratch, error, FALSE);
  CommandLine command = { line, 0 };

  memset (line, 0, sizeof *line);
  *not_an_object = FALSE;

  if (!parse_line_object (&parser, command_member, &command, not_an_object))
    {
      parser_finish (&parser);
      _qmp_command_line_clear (line);
      return FALSE;
    }

  parser_finish (&parser);
  return TRUE;
}
