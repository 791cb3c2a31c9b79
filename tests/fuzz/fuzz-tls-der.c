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
 * a "matches" must be the same public key (RSA n and e, or the curve and
 * the point) and a "does not match" another one (the check refuses the
 * pair then: a false "no" would refuse a good certificate).
 */

#include <string.h>

#include <glib.h>

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#endif

#include "qmp-tls-private.h"

#include "fuzz-common.h"

#ifdef HAVE_GNUTLS
static gboolean
datum_equal (const gnutls_datum_t *a,
             const gnutls_datum_t *b)
{
  return a->size == b->size && memcmp (a->data, b->data, a->size) == 0;
}

/* The public key's numbers: RSA n and e, or the curve and the point. */
typedef struct
{
  int family;               /* 1 RSA (also RSA-PSS), 2 EC and EdDSA */
  gnutls_ecc_curve_t curve;
  gnutls_datum_t a, b;      /* n and e, or x and y (none for EdDSA) */
} PublicNumbers;

static gboolean
public_numbers (gnutls_pubkey_t  key,
                PublicNumbers   *numbers)
{
  switch (gnutls_pubkey_get_pk_algorithm (key, NULL))
    {
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS:
      numbers->family = 1;
      return gnutls_pubkey_export_rsa_raw2 (key, &numbers->a, &numbers->b,
                                            GNUTLS_EXPORT_FLAG_NO_LZ) == 0;
    case GNUTLS_PK_ECDSA:
    case GNUTLS_PK_EDDSA_ED25519:
    case GNUTLS_PK_EDDSA_ED448:
      numbers->family = 2;
      return gnutls_pubkey_export_ecc_raw2 (key, &numbers->curve, &numbers->a, &numbers->b,
                                            GNUTLS_EXPORT_FLAG_NO_LZ) == 0;
    default:
      return FALSE;
    }
}

static void
public_numbers_clear (PublicNumbers *numbers)
{
  gnutls_free (numbers->a.data);
  gnutls_free (numbers->b.data);
}

/* GnuTLS's verdict: 1 the same public key, 0 another, -1 it reads not
 * both.  The key's public key is what GnuTLS computes from it, as it
 * would to sign; compared as numbers, so that an RSA key and an RSA-PSS
 * certificate of the same modulus match. */
static int
gnutls_key_matches (const guint8 *certificate,
                    gsize         certificate_len,
                    const guint8 *private_key,
                    gsize         private_key_len)
{
  gnutls_datum_t cert_datum = { (unsigned char *) certificate, certificate_len };
  gnutls_datum_t key_datum = { (unsigned char *) private_key, private_key_len };
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t x509_key = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_pubkey_t cert_public = NULL, key_public = NULL;
  PublicNumbers cert_numbers = { 0, }, key_numbers = { 0, };
  int verdict = -1;

  if (certificate_len > G_MAXUINT || private_key_len > G_MAXUINT)
    return -1;

  if (gnutls_x509_crt_init (&crt) == 0 &&
      gnutls_x509_crt_import (crt, &cert_datum, GNUTLS_X509_FMT_DER) == 0 &&
      gnutls_pubkey_init (&cert_public) == 0 &&
      gnutls_pubkey_import_x509 (cert_public, crt, 0) == 0 &&
      gnutls_x509_privkey_init (&x509_key) == 0 &&
      gnutls_x509_privkey_import_pkcs8 (x509_key, &key_datum, GNUTLS_X509_FMT_DER,
                                        NULL, GNUTLS_PKCS_PLAIN) == 0 &&
      gnutls_privkey_init (&key) == 0 &&
      gnutls_privkey_import_x509 (key, x509_key, 0) == 0 &&
      gnutls_pubkey_init (&key_public) == 0 &&
      gnutls_pubkey_import_privkey (key_public, key, 0, 0) == 0 &&
      public_numbers (cert_public, &cert_numbers) &&
      public_numbers (key_public, &key_numbers))
    verdict = cert_numbers.family == key_numbers.family &&
              cert_numbers.curve == key_numbers.curve &&
              datum_equal (&cert_numbers.a, &key_numbers.a) &&
              datum_equal (&cert_numbers.b, &key_numbers.b);

  public_numbers_clear (&key_numbers);
  public_numbers_clear (&cert_numbers);
  if (key_public != NULL)
    gnutls_pubkey_deinit (key_public);
  if (key != NULL)
    gnutls_privkey_deinit (key);
  if (x509_key != NULL)
    gnutls_x509_privkey_deinit (x509_key);
  if (cert_public != NULL)
    gnutls_pubkey_deinit (cert_public);
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
