/* qmp-test-tls.h: certificates made with certtool, for the TLS tests
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <qmp-glib.h>

G_BEGIN_DECLS

/* A temporary directory of NAME-cert.pem and NAME-key.pem pairs, each
 * made with its own key of @key_type (see qmp_test_certs_set_key_type()),
 * valid for two days; removed with all it holds by qmp_test_certs_free(). */
typedef struct _QmpTestCerts QmpTestCerts;

QmpTestCerts    *qmp_test_certs_new            (const char    *key_type);
void             qmp_test_certs_free           (QmpTestCerts  *certs);
/* The key type of the pairs made from now on: "rsa", "rsa-pss",
 * "ecdsa" or "ed25519". */
void             qmp_test_certs_set_key_type   (QmpTestCerts  *certs,
                                                const char    *key_type);
/* The file @name in the directory. */
char            *qmp_test_certs_path           (QmpTestCerts  *certs,
                                                const char    *name);
/* NAME-cert.pem with the certtool template lines @info (expiration_days
 * is added): self-signed when @ca is NULL, else signed by the
 * certificate named @ca. */
void             qmp_test_certs_make           (QmpTestCerts  *certs,
                                                const char    *name,
                                                const char    *ca,
                                                const char    *info);
/* NAME-cert.pem with the key of @key_name (NULL: its own). */
GTlsCertificate *qmp_test_certs_load           (QmpTestCerts  *certs,
                                                const char    *name,
                                                const char    *key_name);
/* NAME-cert.pem as the one certificate authority of a database. */
GTlsDatabase    *qmp_test_certs_load_ca        (QmpTestCerts  *certs,
                                                const char    *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpTestCerts, qmp_test_certs_free)

/* A connection to a tls: @address, constructed with these properties. */
QmpConnection   *qmp_test_connect_tls          (const char       *address,
                                                GTlsDatabase     *database,
                                                GTlsCertificate  *certificate,
                                                guint             timeout_msec,
                                                GError          **error);

G_END_DECLS
