/* qmp-test-tls.c: certificates made with certtool, for the TLS tests
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "qmp-test-tls.h"

struct _QmpTestCerts
{
  char *dir;
  char *key_type;
};

static void
run_certtool (QmpTestCerts       *certs,
              const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_ptr_array_add (argv, (char *) "certtool");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (certs->dir, (char **) argv->pdata, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("certtool %s failed: %s", args[0], err);
}

void
qmp_test_certs_set_key_type (QmpTestCerts *certs,
                             const char   *key_type)
{
  static const char * const key_types[] = { "rsa", "rsa-pss", "ecdsa", "ed25519", NULL };

  g_assert_true (g_strv_contains (key_types, key_type));
  g_free (certs->key_type);
  certs->key_type = g_strdup (key_type);
}

QmpTestCerts *
qmp_test_certs_new (const char *key_type)
{
  QmpTestCerts *certs = g_new0 (QmpTestCerts, 1);
  g_autoptr(GError) error = NULL;

  certs->dir = g_dir_make_tmp ("qmp-test-certs-XXXXXX", &error);
  g_assert_no_error (error);
  qmp_test_certs_set_key_type (certs, key_type);

  return certs;
}

void
qmp_test_certs_free (QmpTestCerts *certs)
{
  const char *argv[] = { "rm", "-rf", certs->dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, NULL, NULL);
  g_free (certs->dir);
  g_free (certs->key_type);
  g_free (certs);
}

char *
qmp_test_certs_path (QmpTestCerts *certs,
                     const char   *name)
{
  return g_build_filename (certs->dir, name, NULL);
}

void
qmp_test_certs_make (QmpTestCerts *certs,
                     const char   *name,
                     const char   *ca,
                     const char   *info)
{
  g_autofree char *key = g_strconcat (name, "-key.pem", NULL);
  g_autofree char *cert = g_strconcat (name, "-cert.pem", NULL);
  g_autofree char *template = g_strconcat (name, ".info", NULL);
  g_autofree char *template_path = qmp_test_certs_path (certs, template);
  g_autofree char *full = g_strconcat (info, "expiration_days = 2\n", NULL);
  g_autofree char *ca_cert = g_strconcat (ca != NULL ? ca : "", "-cert.pem", NULL);
  g_autofree char *ca_key = g_strconcat (ca != NULL ? ca : "", "-key.pem", NULL);
  const char *rsa_args[] = { "--generate-privkey", "--key-type", certs->key_type, "--bits", "2048",
                             "--outfile", key, NULL };
  const char *other_args[] = { "--generate-privkey", "--key-type", certs->key_type, "--outfile", key, NULL };
  const char *self_args[] = { "--generate-self-signed", "--load-privkey", key,
                              "--template", template, "--outfile", cert, NULL };
  const char *signed_args[] = { "--generate-certificate", "--load-privkey", key,
                                "--load-ca-certificate", ca_cert, "--load-ca-privkey", ca_key,
                                "--template", template, "--outfile", cert, NULL };
  g_autoptr(GError) error = NULL;

  g_file_set_contents (template_path, full, -1, &error);
  g_assert_no_error (error);
  run_certtool (certs, g_str_has_prefix (certs->key_type, "rsa") ? rsa_args : other_args);
  run_certtool (certs, ca == NULL ? self_args : signed_args);
}

GTlsCertificate *
qmp_test_certs_load (QmpTestCerts *certs,
                     const char   *name,
                     const char   *key_name)
{
  g_autofree char *cert_file = g_strconcat (name, "-cert.pem", NULL);
  g_autofree char *key_file = g_strconcat (key_name != NULL ? key_name : name, "-key.pem", NULL);
  g_autofree char *cert = qmp_test_certs_path (certs, cert_file);
  g_autofree char *key = qmp_test_certs_path (certs, key_file);
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate = g_tls_certificate_new_from_files (cert, key, &error);

  g_assert_no_error (error);
  return certificate;
}

GTlsDatabase *
qmp_test_certs_load_ca (QmpTestCerts *certs,
                        const char   *name)
{
  g_autofree char *file = g_strconcat (name, "-cert.pem", NULL);
  g_autofree char *path = qmp_test_certs_path (certs, file);
  g_autoptr(GError) error = NULL;
  GTlsDatabase *database = g_tls_file_database_new (path, &error);

  g_assert_no_error (error);
  return database;
}

QmpConnection *
qmp_test_connect_tls (const char       *address,
                      GTlsDatabase     *database,
                      GTlsCertificate  *certificate,
                      guint             timeout_msec,
                      GError          **error)
{
  return g_initable_new (QMP_TYPE_CONNECTION, NULL, error,
                         "address", address,
                         "tls-database", database,
                         "tls-certificate", certificate,
                         "timeout", timeout_msec,
                         NULL);
}
