/* test-json-cost.c: the parser's cost model against the heap that
 * json-glib really takes for the same tree, and the debug log's bound
 *
 * The parser's source is included: its functions are not exported, and
 * the model is in its static ones.
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <malloc.h>
#include <string.h>

#include "qmp-json-parser.c"
#include "qmp-test-utils.h"

/* What the tree of a valid JSON value costs, by the model. */
static guint64
tree_cost (const char *data,
           gsize       len)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  Parser parser = PARSER_INIT (data, len, scratch, NULL, FALSE);

  if (parse_document (&parser) == NULL)
    return 0;
  return parser.cost + parser.transient;
}

static char *
repeat_unit (const char *unit,
             guint       n)
{
  GString *text = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append (text, unit);
    }
  g_string_append_c (text, ']');

  return g_string_free (text, FALSE);
}

static char *
nested (const char *open,
        const char *inner,
        const char *close,
        guint       depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, open);
  g_string_append (text, inner);
  for (guint i = 0; i < depth; i++)
    g_string_append (text, close);

  return g_string_free (text, FALSE);
}

/* An object of @n members "k0": 0, … */
static char *
object_of (guint n)
{
  GString *text = g_string_new ("{");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s\"k%u\":0", i ? "," : "", i);
  g_string_append_c (text, '}');

  return g_string_free (text, FALSE);
}

static char *
string_of (const char *piece,
           guint       n)
{
  GString *text = g_string_new ("\"");

  for (guint i = 0; i < n; i++)
    g_string_append (text, piece);
  g_string_append_c (text, '"');

  return g_string_free (text, FALSE);
}

/* The model may count more than the heap (it counts the copies made while
 * building, and rounds up), never less: the bound on what a message
 * builds rests on it. */
static void
check_cost (const char *name,
            const char *text,
            double      max_ratio)
{
  gsize len = strlen (text);
  guint64 cost = tree_cost (text, len);
  JsonNode *node;
  gsize before, used;

  g_assert_cmpuint (cost, >, 0);

  malloc_trim (0);
  before = qmp_test_heap_in_use ();
  node = _qmp_json_parse (text, len, NULL, NULL);
  used = qmp_test_heap_in_use () - before;
  g_assert_nonnull (node);

  g_test_message ("%-24s %8zu bytes: heap %9zu, model %9" G_GUINT64_FORMAT " (%.2f×), %.1f per byte",
                  name, len, used, cost, (double) cost / (double) used, (double) cost / (double) len);
  g_assert_cmpuint (cost, >=, used);
  g_assert_cmpfloat ((double) cost, <=, max_ratio * (double) used);

  json_node_unref (node);
}

static void
test_cost_model (void)
{
  static const char * const units[] = {
    "[]", "{}", "\"a\"", "0", "-1.5e300", "null", "true", "[0]", "[0,1,2]", "{\"a\":0}",
    "\"abcdefghijklmnopqrstuvw\"", "\"\\u00e9\\n\"", "\"\\/\"",
  };
  guint n = 20000;

  if (!qmp_test_heap_measurable ())
    {
      g_test_skip ("malloc is not glibc's (valgrind, ASan): its heap cannot be measured");
      return;
    }

  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      g_autofree char *text = repeat_unit (units[i], n);

      check_cost (units[i], text, 1.5);
    }

  /* Objects of every size up to where the hash table has grown a few
   * times, and strings across malloc's size steps. */
  for (guint members = 1; members <= 40; members++)
    {
      g_autofree char *object = object_of (members);
      g_autofree char *text = repeat_unit (object, n / members + 1);
      g_autofree char *name = g_strdup_printf ("objects of %u members", members);

      check_cost (name, text, 1.5);
    }
  for (guint length = 0; length <= 40; length++)
    {
      g_autofree char *string = string_of ("x", length);
      g_autofree char *text = repeat_unit (string, n);
      g_autofree char *name = g_strdup_printf ("strings of %u bytes", length);

      check_cost (name, text, 1.5);
    }

  {
    g_autofree char *big = object_of (100000);
    g_autofree char *deep_arrays = nested ("[", "", "]", 1000);
    g_autofree char *deep_objects = nested ("{\"a\":", "{}", "}", 999);
    g_autofree char *text_arrays = repeat_unit (deep_arrays, 50);
    g_autofree char *text_objects = repeat_unit (deep_objects, 50);
    g_autofree char *long_string = string_of ("x", 1000000);
    g_autofree char *escaped_string = string_of ("\\/", 500000);

    check_cost ("one object, 100,000", big, 1.5);
    check_cost ("arrays 1,000 deep", text_arrays, 1.5);
    check_cost ("objects 1,000 deep", text_objects, 1.5);
    /* Counted: its copy while it is built, and the scratch buffer. */
    check_cost ("a string of 1 MB", long_string, 2.5);
    check_cost ("a string of \\/ escapes", escaped_string, 4.5);
  }
}

/* The debug log builds what it shows: a line whose tree would cost more
 * than a quarter of a message's bound is not shown. */
static void
test_line_for_log (void)
{
  const char *secret = "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"secret\", "
                       "\"id\": \"s0\", \"data\": \"hunter2\"}, \"password\": \"x\"}";
  g_autofree char *heavy = repeat_unit ("{}", 1000);
  g_autoptr(GString) scratch = g_string_new (NULL);
  g_autofree char *shown = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *invalid = NULL;

  shown = _qmp_json_line_for_log (secret, strlen (secret), scratch, 1024);
  g_assert_null (strstr (shown, "hunter2"));
  g_assert_nonnull (strstr (shown, "<redacted>"));
  g_assert_nonnull (strstr (shown, "\"s0\""));

  /* 1,000 {} cost 336 KB; 3 × 64 KiB is less, 3 × 256 KiB more. */
  refused = _qmp_json_line_for_log (heavy, strlen (heavy), scratch, 64 * 1024);
  expected = g_strdup_printf ("(%zu bytes, too large to log)", strlen (heavy));
  g_assert_cmpstr (refused, ==, expected);
  g_clear_pointer (&refused, g_free);
  refused = _qmp_json_line_for_log (heavy, strlen (heavy), scratch, 256 * 1024);
  g_assert_true (g_str_has_prefix (refused, "[{},{}"));

  invalid = _qmp_json_line_for_log ("{\"a\":", 5, scratch, 1024);
  g_assert_cmpstr (invalid, ==, "(not JSON)");
}

/* The bound is on the whole line's tree: one byte of limit less than what
 * the line costs, and it is refused. */
static void
test_message_bound (void)
{
  g_autofree char *heavy = repeat_unit ("{}", 1000);
  g_autofree char *line = g_strdup_printf ("{\"return\": %s, \"id\": 1}", heavy);
  guint64 cost = tree_cost (heavy, strlen (heavy));
  guint64 limit = cost / QMP_JSON_TREE_FACTOR;
  g_autoptr(GString) scratch = g_string_new (NULL);
  gboolean not_an_object;

  for (guint64 try = limit - 100; try < limit + 100; try++)
    {
      g_auto(QmpMessage) message = { 0, };
      g_autoptr(GError) error = NULL;
      gboolean ok;

      ok = _qmp_json_parse_message (line, strlen (line), scratch, FALSE, try,
                                    &message, &not_an_object, &error);
      if (try * QMP_JSON_TREE_FACTOR < cost)
        {
          g_assert_false (ok);
          g_assert_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE);
          g_assert_false (not_an_object);
        }
      else if (try * QMP_JSON_TREE_FACTOR > cost + 1000)
        {
          /* The line's other members cost a little more. */
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_cmpuint (message.ret_json_len, ==, strlen (heavy));
        }
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json-cost/model", test_cost_model);
  g_test_add_func ("/json-cost/line-for-log", test_line_for_log);
  g_test_add_func ("/json-cost/message-bound", test_message_bound);

  return g_test_run ();
}
