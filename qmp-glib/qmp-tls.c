/* qmp-tls.c: checking that a certificate's private key is its own
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-tls-private.h"

/* GLib 2.74 gives the certificate (X.509, DER) and, since 2.70, its
 * private key (PKCS #8, DER) as properties, but nothing to compare them
 * with: the public key is read from both here.  An RSA private key holds
 * its modulus and public exponent; an EC private key (RFC 5915) and a
 * PKCS #8 v2 key (RFC 5958) may hold the public key itself.  Only a
 * definite difference fails: what this reader does not follow passes, as
 * it did before, and the handshake stays the judge.
 *
 * The bytes are the user's files, but read as if hostile: every length is
 * checked against what is left, nothing recurses.  tests/fuzz/fuzz-tls-der.c
 * feeds _qmp_tls_key_matches_der() arbitrary bytes and checks its answers
 * against GnuTLS's. */

typedef struct
{
  const guint8 *data;
  gsize len;
} Der;

/* The value of the element with @tag at the start of @der, which is moved
 * past it.  Tags of one byte, definite lengths: what DER allows for the
 * structures read here. */
static gboolean
der_read (Der    *der,
          guint8  tag,
          Der    *value)
{
  gsize header = 2;
  gsize len;

  if (der->len < 2 || der->data[0] != tag)
    return FALSE;

  len = der->data[1];
  if (len >= 0x80)
    {
      guint n = len & 0x7f;

      if (n == 0 || n > sizeof (guint32) || der->len < 2 + n)
        return FALSE;
      len = 0;
      for (guint i = 0; i < n; i++)
        len = (len << 8) | der->data[2 + i];
      header += n;
    }
  if (len > der->len - header)
    return FALSE;

  value->data = der->data + header;
  value->len = len;
  der->data += header + len;
  der->len -= header + len;
  return TRUE;
}

/* Past the element at the start of @der, whatever its tag; not one with a
 * high tag number (low bits 0x1f), whose next bytes are that number, not
 * the length.  None is skipped in a certificate, so this is not one. */
static gboolean
der_skip (Der *der)
{
  Der value;

  return der->len > 0 && (der->data[0] & 0x1f) != 0x1f &&
         der_read (der, der->data[0], &value);
}

static gboolean
der_equal (const Der *a,
           const Der *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
}

/* A BIT STRING's bits, when it has no unused bits (as keys never do). */
static gboolean
der_read_bits (Der    *der,
               guint8  tag,
               Der    *bits)
{
  if (!der_read (der, tag, bits) || bits->len < 1 || bits->data[0] != 0)
    return FALSE;
  bits->data++;
  bits->len--;
  return TRUE;
}

/* An INTEGER's magnitude, without the sign byte DER may put first. */
static gboolean
der_read_integer (Der *der,
                  Der *value)
{
  if (!der_read (der, 0x02, value))
    return FALSE;
  while (value->len > 1 && value->data[0] == 0)
    {
      value->data++;
      value->len--;
    }
  return TRUE;
}

/* An EC point in the form of SEC 1, 2.3.3: compressed (02 or 03 by the
 * parity of y, then x), uncompressed (04, x, y) or hybrid (06 or 07, x, y).
 * A certificate may hold it compressed while the key GLib gives holds it
 * uncompressed: the same point. */
typedef struct
{
  const guint8 *x;
  const guint8 *y;          /* NULL when compressed */
  gsize len;                /* of x, and of y */
  guint odd;                /* the parity of y */
} EcPoint;

static gboolean
ec_point_read (const Der *der,
               EcPoint   *point)
{
  if (der->len < 2)
    return FALSE;

  switch (der->data[0])
    {
    case 0x02:
    case 0x03:
      point->x = der->data + 1;
      point->y = NULL;
      point->len = der->len - 1;
      point->odd = der->data[0] & 1;
      return TRUE;

    case 0x04:
    case 0x06:
    case 0x07:
      if ((der->len - 1) % 2 != 0)
        return FALSE;
      point->len = (der->len - 1) / 2;
      point->x = der->data + 1;
      point->y = point->x + point->len;
      point->odd = point->y[point->len - 1] & 1;
      /* a hybrid point's first byte tells the parity of y again */
      return der->data[0] == 0x04 || (der->data[0] & 1) == point->odd;

    default:
      return FALSE;
    }
}

/* Whether the EC points @a and @b are the same: 1 yes, 0 no, -1 cannot
 * tell (one is not a point in a form read here). */
static int
ec_point_equal (const Der *a,
                const Der *b)
{
  EcPoint pa, pb;

  if (!ec_point_read (a, &pa) || !ec_point_read (b, &pb))
    return -1;
  if (pa.len != pb.len || memcmp (pa.x, pb.x, pa.len) != 0 || pa.odd != pb.odd)
    return 0;
  if (pa.y != NULL && pb.y != NULL && memcmp (pa.y, pb.y, pa.len) != 0)
    return 0;
  return 1;
}

typedef enum {
  KEY_OTHER,
  KEY_RSA,
  KEY_EC,
  KEY_ED25519,
  KEY_ED448,
} KeyKind;

static KeyKind
key_kind (const Der *oid)
{
  /* 1.2.840.113549.1.1.1 rsaEncryption, .10 RSASSA-PSS */
  static const guint8 rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };
  /* 1.2.840.10045.2.1 ecPublicKey */
  static const guint8 ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
  /* 1.3.101.112 Ed25519, 1.3.101.113 Ed448 */
  static const guint8 eddsa[] = { 0x2b, 0x65 };

  if (oid->len == sizeof rsa + 1 && memcmp (oid->data, rsa, sizeof rsa) == 0 &&
      (oid->data[sizeof rsa] == 0x01 || oid->data[sizeof rsa] == 0x0a))
    return KEY_RSA;
  if (oid->len == sizeof ec && memcmp (oid->data, ec, sizeof ec) == 0)
    return KEY_EC;
  if (oid->len == sizeof eddsa + 1 && memcmp (oid->data, eddsa, sizeof eddsa) == 0 &&
      oid->data[sizeof eddsa] == 0x70)
    return KEY_ED25519;
  if (oid->len == sizeof eddsa + 1 && memcmp (oid->data, eddsa, sizeof eddsa) == 0 &&
      oid->data[sizeof eddsa] == 0x71)
    return KEY_ED448;
  return KEY_OTHER;
}

/* The algorithm, its parameters and the public key of an X.509
 * certificate. */
static gboolean
read_certificate (const guint8 *certificate,
                  gsize         certificate_len,
                  Der          *oid,
                  Der          *parameters,
                  Der          *public_key)
{
  Der der = { certificate, certificate_len };
  Der cert, tbs, spki, algorithm;

  if (!der_read (&der, 0x30, &cert) || !der_read (&cert, 0x30, &tbs))
    return FALSE;
  if (tbs.len > 0 && tbs.data[0] == 0xa0 && !der_skip (&tbs))   /* version */
    return FALSE;
  /* serialNumber, signature, issuer, validity, subject */
  for (guint i = 0; i < 5; i++)
    if (!der_skip (&tbs))
      return FALSE;

  if (!der_read (&tbs, 0x30, &spki) ||
      !der_read (&spki, 0x30, &algorithm) ||
      !der_read (&algorithm, 0x06, oid))
    return FALSE;
  *parameters = algorithm;
  return der_read_bits (&spki, 0x03, public_key);
}

/* Whether the EC parameters @a and @b name two different curves; not when
 * either is not a named curve (an OBJECT IDENTIFIER). */
static gboolean
ec_curves_differ (const Der *a,
                  const Der *b)
{
  Der da = *a, db = *b, curve_a, curve_b;

  return der_read (&da, 0x06, &curve_a) && der_read (&db, 0x06, &curve_b) &&
         !der_equal (&curve_a, &curve_b);
}

/* Whether the PKCS #8 @private_key belongs to the certificate's public key
 * @public_key of algorithm @oid with @parameters: 1 yes, 0 no, -1 cannot
 * tell. */
static int
key_matches (const guint8 *private_key,
             gsize         private_key_len,
             const Der    *oid,
             const Der    *parameters,
             const Der    *public_key)
{
  Der der = { private_key, private_key_len };
  Der info, version, algorithm, key_oid, octets, attributes, v2_public_key;
  KeyKind kind = key_kind (oid);
  gboolean has_v2_public_key;

  if (!der_read (&der, 0x30, &info) ||
      !der_read (&info, 0x02, &version) ||
      !der_read (&info, 0x30, &algorithm) ||
      !der_read (&algorithm, 0x06, &key_oid) ||
      !der_read (&info, 0x04, &octets))
    return -1;

  if (kind == KEY_OTHER || key_kind (&key_oid) == KEY_OTHER)
    return -1;
  if (kind != key_kind (&key_oid))
    return 0;

  /* OneAsymmetricKey (RFC 5958): [0] attributes, [1] the public key.  What
   * signs is the key itself: its own public numbers come first, [1] is
   * read only where it has none (EdDSA, an EC key without its point). */
  if (info.len > 0 && info.data[0] == 0xa0 && !der_read (&info, 0xa0, &attributes))
    return -1;
  has_v2_public_key = der_read_bits (&info, 0x81, &v2_public_key);

  switch (kind)
    {
    case KEY_RSA:
      {
        Der cert_key = *public_key, cert_sequence, key_sequence, n1, e1, n2, e2;

        /* RSAPublicKey { n, e } against RSAPrivateKey { version, n, e, … } */
        if (!der_read (&cert_key, 0x30, &cert_sequence) ||
            !der_read_integer (&cert_sequence, &n1) || !der_read_integer (&cert_sequence, &e1) ||
            !der_read (&octets, 0x30, &key_sequence) ||
            !der_read (&key_sequence, 0x02, &version) ||
            !der_read_integer (&key_sequence, &n2) || !der_read_integer (&key_sequence, &e2))
          return -1;
        return der_equal (&n1, &n2) && der_equal (&e1, &e2);
      }

    case KEY_EC:
      {
        Der key_sequence, secret, curve, tagged, point;

        /* ECPrivateKey { 1, privateKey, [0] parameters, [1] publicKey } */
        if (!der_read (&octets, 0x30, &key_sequence) ||
            !der_read (&key_sequence, 0x02, &version) ||
            !der_read (&key_sequence, 0x04, &secret))
          return -1;
        /* A key of another curve, whatever point it claims; a key naming
         * two curves (in the AlgorithmIdentifier and in [0]) is not
         * understood. */
        if (key_sequence.len > 0 && key_sequence.data[0] == 0xa0)
          {
            if (!der_read (&key_sequence, 0xa0, &curve) || ec_curves_differ (&algorithm, &curve))
              return -1;
            if (ec_curves_differ (parameters, &curve))
              return 0;
          }
        if (ec_curves_differ (parameters, &algorithm))
          return 0;
        if (der_read (&key_sequence, 0xa1, &tagged) && der_read_bits (&tagged, 0x03, &point))
          return ec_point_equal (&point, public_key);
        return has_v2_public_key ? ec_point_equal (&v2_public_key, public_key) : -1;
      }

    case KEY_ED25519:
    case KEY_ED448:
      /* Without [1], the public key would have to be computed from the
       * secret. */
      return has_v2_public_key ? der_equal (&v2_public_key, public_key) : -1;

    case KEY_OTHER:
    default:
      return -1;
    }
}

int
_qmp_tls_key_matches_der (const guint8 *certificate,
                          gsize         certificate_len,
                          const guint8 *private_key,
                          gsize         private_key_len)
{
  Der oid, parameters, public_key;

  g_assert (certificate != NULL || certificate_len == 0);
  g_assert (private_key != NULL || private_key_len == 0);

  if (!read_certificate (certificate, certificate_len, &oid, &parameters, &public_key))
    return -1;
  return key_matches (private_key, private_key_len, &oid, &parameters, &public_key);
}

/* The key leaves no copy in freed memory. */
static void
wipe_free (GByteArray *bytes)
{
  memset (bytes->data, 0, bytes->len);
  g_byte_array_unref (bytes);
}

typedef GByteArray SecretBytes;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretBytes, wipe_free)

gboolean
_qmp_tls_check_certificate (GTlsCertificate  *certificate,
                            GError          **error)
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(SecretBytes) private_key = NULL;
  g_autofree char *pkcs11_uri = NULL;

  g_assert (G_IS_TLS_CERTIFICATE (certificate));

  g_object_get (certificate,
                "certificate", &der,
                "private-key", &private_key,
                "private-key-pkcs11-uri", &pkcs11_uri,
                NULL);

  /* In a token: nothing to read, the token is the judge. */
  if (private_key == NULL && pkcs11_uri != NULL)
    return TRUE;

  if (private_key == NULL)
    {
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                           _("The certificate has no private key"));
      return FALSE;
    }

  if (der == NULL)
    return TRUE;

  if (_qmp_tls_key_matches_der (der->data, der->len, private_key->data, private_key->len) == 0)
    {
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                           _("The private key does not match the certificate"));
      return FALSE;
    }

  return TRUE;
}
