/* fuzz-tls-der.c: the DER reader that tells whether a key is its certificate's
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is two bytes, the length N of the certificate (big-endian, cut
 * to what follows), N bytes of an X.509 certificate (DER), then the rest:
 * a PKCS #8 private key (DER).  Both go to _qmp_tls_key_matches_der(),
 * each copied into a buffer of its own exact size, so that a read past
 * either end is caught (by ASan, or valgrind in the replay).  An input of
 * fewer than two bytes is a certificate alone.
 *
 * Checked besides crashes, hangs and leaks: the answer is 1, 0 or -1, the
 * same twice.  Built with GnuTLS (HAVE_GNUTLS), the answer is also checked
 * against GnuTLS's own: where GnuTLS reads both the certificate and the key,
 * a "matches" must be GnuTLS's same key id and a "does not match" a
 * different one (the check refuses the pair then: a false "no" would refuse
 * a good certificate).
 */

#include <string.h>

#include <glib.h>

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#endif

#include "qmp-tls-private.h"

#include "fuzz-common.h"

#ifdef HAVE_GNUTLS
/* GnuTLS's verdict: 1 the same public key, 0 another, -1 it reads not both. */
static int
gnutls_key_matches (const guint8 *certificate,
                    gsize         certificate_len,
                    const guint8 *private_key,
                    gsize         private_key_len)
{
  gnutls_datum_t cert_datum = { (unsigned char *) certificate, certificate_len };
  gnutls_datum_t key_datum = { (unsigned char *) private_key, private_key_len };
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  guint8 cert_id[64], key_id[64];
  size_t cert_id_len = sizeof cert_id, key_id_len = sizeof key_id;
  int verdict = -1;

  if (certificate_len > G_MAXUINT || private_key_len > G_MAXUINT)
    return -1;

  if (gnutls_x509_crt_init (&crt) == 0 &&
      gnutls_x509_crt_import (crt, &cert_datum, GNUTLS_X509_FMT_DER) == 0 &&
      gnutls_x509_privkey_init (&key) == 0 &&
      gnutls_x509_privkey_import_pkcs8 (key, &key_datum, GNUTLS_X509_FMT_DER,
                                        NULL, GNUTLS_PKCS_PLAIN) == 0 &&
      gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, cert_id, &cert_id_len) == 0 &&
      gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len) == 0)
    verdict = cert_id_len == key_id_len && memcmp (cert_id, key_id, cert_id_len) == 0;

  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  return verdict;
}
#endif

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree guint8 *certificate = NULL;
  g_autofree guint8 *private_key = NULL;
  gsize certificate_len, private_key_len;
  int verdict;

  fuzz_init ();

  if (size < 2)
    {
      certificate_len = size;
      private_key_len = 0;
      certificate = g_memdup2 (data, size);
    }
  else
    {
      certificate_len = MIN ((gsize) (data[0] << 8 | data[1]), size - 2);
      private_key_len = size - 2 - certificate_len;
      certificate = g_memdup2 (data + 2, certificate_len);
      private_key = g_memdup2 (data + 2 + certificate_len, private_key_len);
    }

  verdict = _qmp_tls_key_matches_der (certificate, certificate_len, private_key, private_key_len);
  if (verdict != 1 && verdict != 0 && verdict != -1)
    fuzz_fail ("verdict %d", verdict);
  if (_qmp_tls_key_matches_der (certificate, certificate_len, private_key, private_key_len) != verdict)
    fuzz_fail ("two verdicts for the same input");

#ifdef HAVE_GNUTLS
  if (verdict != -1)
    {
      int gnutls_verdict = gnutls_key_matches (certificate, certificate_len,
                                               private_key, private_key_len);

      if (gnutls_verdict != -1 && gnutls_verdict != verdict)
        fuzz_fail ("the library says %s, GnuTLS says %s",
                   verdict ? "the key matches" : "the key does not match",
                   gnutls_verdict ? "it matches" : "it does not");
    }
#endif

  return 0;
}
