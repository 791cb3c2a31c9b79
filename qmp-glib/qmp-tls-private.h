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

G_END_DECLS
