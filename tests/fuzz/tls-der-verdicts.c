/* tls-der-verdicts.c: the answers the seeds of fuzz-tls-der must get
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `tls-der-verdicts DIR`: each file of DIR whose name ends in -match,
 * -mismatch or -unknown (see make-tls-der-corpus.py: real pairs made with
 * openssl, the key as GLib gives it) must get 1, 0 or -1 from
 * _qmp_tls_key_matches_der().  The fuzzer checks that nothing crashes;
 * this checks that the answers are right.
 */

#include <string.h>

#include <glib.h>

#include "qmp-tls-private.h"

static void
check_file (gconstpointer data)
{
  const char *path = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree guint8 *certificate = NULL;
  g_autofree guint8 *private_key = NULL;
  gsize len = 0, certificate_len;
  int expected;

  if (g_str_has_suffix (path, "-mismatch"))
    expected = 0;
  else if (g_str_has_suffix (path, "-match"))
    expected = 1;
  else
    expected = -1;

  /* The format of fuzz-tls-der.c: two bytes of length, the certificate,
   * the key; each copied to a buffer of its exact size. */
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, 2);
  certificate_len = (guint8) contents[0] << 8 | (guint8) contents[1];
  g_assert_cmpuint (certificate_len, <=, len - 2);
  certificate = g_memdup2 (contents + 2, certificate_len);
  private_key = g_memdup2 (contents + 2 + certificate_len, len - 2 - certificate_len);

  g_assert_cmpint (_qmp_tls_key_matches_der (certificate, certificate_len,
                                             private_key, len - 2 - certificate_len),
                   ==, expected);
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
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint n_verdicts[3] = { 0, };

  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (argc, ==, 2);

  dir = g_dir_open (argv[1], 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int kind = g_str_has_suffix (name, "-mismatch") ? 0 :
                 g_str_has_suffix (name, "-match") ? 1 :
                 g_str_has_suffix (name, "-unknown") ? 2 : -1;

      if (kind >= 0)
        {
          n_verdicts[kind]++;
          g_ptr_array_add (names, g_strdup (name));
        }
    }
  /* Each answer at least once, or the test could not fail. */
  g_assert_cmpuint (n_verdicts[0], >, 0);
  g_assert_cmpuint (n_verdicts[1], >, 0);
  g_assert_cmpuint (n_verdicts[2], >, 0);

  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *test_path = g_strdup_printf ("/tls-der/%s", file);

      g_test_add_data_func_full (test_path, g_build_filename (argv[1], file, NULL),
                                 check_file, g_free);
    }

  return g_test_run ();
}
