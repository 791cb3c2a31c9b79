/* replay-main.c: runs a harness on every file of its corpus
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Linked with one harness instead of libFuzzer, so that every build (gcc,
 * no clang needed) re-runs the checked-in corpus: `fuzz-replay-NAME DIR…`
 * (or FILE…), one TAP test per file.
 */

#include <string.h>

#include <glib.h>

#include "fuzz-common.h"

static void
replay_file (gconstpointer data)
{
  const char *path = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
}

static void
add_file (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *dir_base = g_path_get_basename (dir);
  g_autofree char *test_path = g_strdup_printf ("/replay/%s/%s", dir_base, base);

  g_test_add_data_func_full (test_path, g_strdup (path), replay_file, g_free);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) names = NULL;
      const char *name;

      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          add_file (argv[i]);
          continue;
        }

      dir = g_dir_open (argv[i], 0, NULL);
      g_assert_nonnull (dir);
      names = g_ptr_array_new_with_free_func (g_free);
      while ((name = g_dir_read_name (dir)) != NULL)
        if (name[0] != '.')
          g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, compare_strings);
      /* An empty corpus would make a test that cannot fail. */
      g_assert_cmpuint (names->len, >, 0);
      for (guint k = 0; k < names->len; k++)
        add_file (g_ptr_array_index (names, k));
    }

  return g_test_run ();
}
