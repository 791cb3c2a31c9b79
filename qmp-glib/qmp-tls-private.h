/* qmp-tls-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether @certificate has a private key, and whether that key is the
 * certificate's own.  GLib 2.74 checks neither when it loads a pair of
 * files, so a mismatched pair was otherwise found only by the peer, at
 * the first handshake.  Fails with G_TLS_ERROR_BAD_CERTIFICATE.  A key
 * that cannot be compared (in a PKCS #11 token, or an EdDSA key stored
 * without its public half) passes. */
gboolean _qmp_tls_check_certificate (GTlsCertificate  *certificate,
                                     GError          **error);

/* Whether the private key @private_key (PKCS #8, DER) belongs to the
 * certificate @certificate (X.509, DER): 1 yes, 0 no, -1 cannot tell
 * (what is not read, or not understood, is -1: only a definite difference
 * is 0).  Any bytes may be given: tests/fuzz/fuzz-tls-der.c feeds it
 * arbitrary ones. */
int _qmp_tls_key_matches_der (const guint8 *certificate,
                              gsize         certificate_len,
                              const guint8 *private_key,
                              gsize         private_key_len);

G_END_DECLS
