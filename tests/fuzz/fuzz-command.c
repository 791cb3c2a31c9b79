/* fuzz-command.c: a client's command line, without a tree and with one
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is one line a client of QmpProxy or QmpTestServer sends.  The
 * server channel checks it with _qmp_json_parse_command(), which builds
 * no tree and keeps the arguments and the id as spans of the line.  Before
 * that, the channel parsed the line into a tree with _qmp_json_parse() and
 * looked at its members; both ways must decide the same, with oob enabled
 * and without:
 * - a line that is not JSON, or JSON that is not an object, is refused by
 *   both, with the same error;
 * - for an object, the same reply: the same problem text, or the same
 *   command name and oob flag;
 * - the id (told in error replies too) and the arguments: each span lies
 *   inside the input and reads back as a tree equal to the tree's member.
 * Any difference aborts.
 */

#include <string.h>

#include <json-glib/json-glib.h>

#include "qmp-json-private.h"

#include "fuzz-common.h"

typedef enum
{
  VERDICT_NOT_JSON,
  VERDICT_NOT_OBJECT,
  VERDICT_PROBLEM,
  VERDICT_COMMAND,
} Verdict;

typedef struct
{
  Verdict verdict;
  char *problem;          /* VERDICT_PROBLEM */
  char *name;             /* VERDICT_COMMAND */
  gboolean oob;
} Decision;

static void
decision_clear (Decision *d)
{
  g_free (d->problem);
  g_free (d->name);
}

static const char *
verdict_name (Verdict verdict)
{
  static const char *const names[] = { "not JSON", "not an object", "problem", "command" };

  return names[verdict];
}

/* What the channel decided from a tree (before commit 0fd8a86, which
 * made it use the spans), but in the members' order. */
static void
decide_tree (JsonNode *node,
             gboolean  oob_enabled,
             Decision *d)
{
  JsonObjectIter iter;
  const char *member;
  JsonNode *value;
  const char *execute = NULL;
  const char *exec_oob = NULL;
  const char *problem = NULL;
  g_autofree char *unexpected = NULL;

  if (node == NULL)
    {
      d->verdict = VERDICT_NOT_JSON;
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      d->verdict = VERDICT_NOT_OBJECT;
      return;
    }

  /* In the members' order: the tree-based channel iterated in the hash
   * table's order, which made "the first unexpected member" any of them. */
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &member, &value))
    {
      if (g_str_equal (member, "execute") || (g_str_equal (member, "exec-oob") && oob_enabled))
        {
          const char *name = _qmp_json_node_get_string (value);

          if (name == NULL)
            problem = g_str_equal (member, "execute")
              ? "QMP input member 'execute' must be a string"
              : "QMP input member 'exec-oob' must be a string";
          else if (g_str_equal (member, "execute"))
            execute = name;
          else
            exec_oob = name;
        }
      else if (g_str_equal (member, "arguments"))
        {
          if (!JSON_NODE_HOLDS_OBJECT (value))
            problem = "QMP input member 'arguments' must be an object";
        }
      else if (g_str_equal (member, "id"))
        {
        }
      else if (unexpected == NULL)
        {
          unexpected = g_strdup_printf ("QMP input member '%s' is unexpected", member);
        }
    }

  if (problem == NULL && unexpected != NULL)
    problem = unexpected;
  if (problem == NULL && execute == NULL && exec_oob == NULL)
    problem = "QMP input lacks member 'execute'";
  if (problem == NULL && execute != NULL && exec_oob != NULL)
    problem = "QMP input must not contain both 'execute' and 'exec-oob'";

  if (problem != NULL)
    {
      d->verdict = VERDICT_PROBLEM;
      d->problem = g_strdup (problem);
      return;
    }
  d->verdict = VERDICT_COMMAND;
  d->name = g_strdup (execute ? execute : exec_oob);
  d->oob = exec_oob != NULL;
}

/* What the channel decides from the spans (channel_handle_line () of
 * qmp-server-channel.c, step for step). */
static void
decide_spans (gboolean               parsed,
              gboolean               not_an_object,
              const QmpCommandLine  *command,
              gboolean               oob_enabled,
              Decision              *d)
{
  const QmpCommandMember *problem_member = NULL;
  const char *problem = NULL;
  const char *unexpected_name;
  guint unexpected_order;
  const char *exec_oob;

  if (!parsed)
    {
      d->verdict = not_an_object ? VERDICT_NOT_OBJECT : VERDICT_NOT_JSON;
      return;
    }

  if (command->execute.order != 0 && command->execute.string == NULL)
    problem_member = &command->execute;
  if (command->exec_oob.order != 0 && command->exec_oob.string == NULL && oob_enabled &&
      (problem_member == NULL || command->exec_oob.order > problem_member->order))
    problem_member = &command->exec_oob;
  if (command->arguments.order != 0 && command->arguments.json[0] != '{' &&
      (problem_member == NULL || command->arguments.order > problem_member->order))
    problem_member = &command->arguments;

  if (problem_member == &command->execute)
    problem = "QMP input member 'execute' must be a string";
  else if (problem_member == &command->exec_oob)
    problem = "QMP input member 'exec-oob' must be a string";
  else if (problem_member == &command->arguments)
    problem = "QMP input member 'arguments' must be an object";

  unexpected_name = command->unexpected;
  unexpected_order = command->unexpected_order;
  if (!oob_enabled && command->exec_oob.order != 0 &&
      (unexpected_name == NULL || command->exec_oob.order < unexpected_order))
    unexpected_name = "exec-oob";
  if (problem == NULL && unexpected_name != NULL)
    {
      d->verdict = VERDICT_PROBLEM;
      d->problem = g_strdup_printf ("QMP input member '%s' is unexpected", unexpected_name);
      return;
    }

  exec_oob = oob_enabled ? command->exec_oob.string : NULL;
  if (problem == NULL && command->execute.string == NULL && exec_oob == NULL)
    problem = "QMP input lacks member 'execute'";
  if (problem == NULL && command->execute.string != NULL && exec_oob != NULL)
    problem = "QMP input must not contain both 'execute' and 'exec-oob'";
  if (problem != NULL)
    {
      d->verdict = VERDICT_PROBLEM;
      d->problem = g_strdup (problem);
      return;
    }
  d->verdict = VERDICT_COMMAND;
  d->oob = exec_oob != NULL;
  d->name = g_strdup (d->oob ? exec_oob : command->execute.string);
}

/* A member's span lies in the input and reads back as the tree's member. */
static void
check_span (const uint8_t          *data,
            size_t                  size,
            const QmpCommandMember *member,
            JsonObject             *object,
            const char             *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonNode *expected = json_object_get_member (object, name);

  if ((member->order != 0) != (expected != NULL))
    fuzz_fail ("fuzz-command: \"%s\" is %s in the spans, %s in the tree", name,
               member->order != 0 ? "present" : "absent", expected != NULL ? "present" : "absent");
  if (member->order == 0)
    return;

  if (member->json < (const char *) data || member->len == 0 || member->len > size ||
      member->json + member->len > (const char *) data + size)
    fuzz_fail ("fuzz-command: the span of \"%s\" (offset %td, %zu bytes) is outside the input of %zu bytes",
               name, member->json - (const char *) data, member->len, size);

  node = _qmp_json_parse (member->json, member->len, NULL, &error);
  if (node == NULL)
    fuzz_fail ("fuzz-command: the span of \"%s\" (%.*s) does not read back: %s",
               name, (int) member->len, member->json, error->message);
  if (!json_node_equal (node, expected))
    {
      g_autofree char *text = json_to_string (expected, FALSE);

      fuzz_fail ("fuzz-command: the span of \"%s\" is %.*s, the tree's member %s",
                 name, (int) member->len, member->json, text);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  g_autoptr(GError) tree_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) tree = NULL;
  g_auto(QmpCommandLine) command = { 0, };
  gboolean not_an_object = FALSE;
  gboolean parsed;

  fuzz_init ();

  tree = _qmp_json_parse ((const char *) data, size, NULL, &tree_error);
  parsed = _qmp_json_parse_command ((const char *) data, size, scratch, &command, &not_an_object, &error);

  /* The error is only set for a line that is not JSON. */
  if ((!parsed && !not_an_object) != (error != NULL) || (parsed && not_an_object))
    fuzz_fail ("fuzz-command: _qmp_json_parse_command () returned %d, not_an_object %d, with%s an error",
               parsed, not_an_object, error == NULL ? "out" : "");

  for (int oob_enabled = 0; oob_enabled <= 1; oob_enabled++)
    {
      Decision by_tree = { 0, };
      Decision by_spans = { 0, };

      decide_tree (tree, oob_enabled, &by_tree);
      decide_spans (parsed, not_an_object, &command, oob_enabled, &by_spans);

      if (by_tree.verdict != by_spans.verdict ||
          g_strcmp0 (by_tree.problem, by_spans.problem) != 0 ||
          g_strcmp0 (by_tree.name, by_spans.name) != 0 ||
          by_tree.oob != by_spans.oob)
        fuzz_fail ("fuzz-command: with oob %s, the tree says %s (%s%s%s), the spans say %s (%s%s%s)",
                   oob_enabled ? "on" : "off",
                   verdict_name (by_tree.verdict), by_tree.problem ? by_tree.problem : "",
                   by_tree.name ? by_tree.name : "", by_tree.oob ? ", oob" : "",
                   verdict_name (by_spans.verdict), by_spans.problem ? by_spans.problem : "",
                   by_spans.name ? by_spans.name : "", by_spans.oob ? ", oob" : "");

      decision_clear (&by_tree);
      decision_clear (&by_spans);
    }

  if (parsed)
    {
      JsonObject *object = json_node_get_object (tree);

      check_span (data, size, &command.id, object, "id");
      check_span (data, size, &command.arguments, object, "arguments");
      check_span (data, size, &command.execute, object, "execute");
      check_span (data, size, &command.exec_oob, object, "exec-oob");
    }

  return 0;
}
