/* qmp-handshake-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "qmp-channel-private.h"
#include "qmp-connection.h"
#include "qmp-worker-private.h"

G_BEGIN_DECLS

/* What the peer said of itself: QEMU in its greeting, the guest agent in
 * its reply to guest-info. */
typedef struct
{
  guint version_major;
  guint version_minor;
  guint version_micro;
  char *package;              /* never NULL */
  GStrv capabilities;         /* offered; never NULL */
  gboolean oob_enabled;       /* negotiated */
} QmpPeerInfo;

void _qmp_peer_info_free (QmpPeerInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpPeerInfo, _qmp_peer_info_free)

/* Called on the worker once the stream is connected (@stream is the one
 * given, or the one the handshake connected): returns the channel to talk
 * on, a new reference, or NULL with @error set. */
typedef QmpChannel *(*QmpHandshakeChannelFunc) (GIOStream  *stream,
                                                gpointer    user_data,
                                                GError    **error);

/* Called once, on the worker or (for an invalid address) in the caller's
 * thread: @info (owned) on success, @error (owned) otherwise. */
typedef void (*QmpHandshakeDoneFunc) (QmpPeerInfo *info,
                                      GError      *error,
                                      gpointer     user_data);

/* The bound of a TLS handshake given no timeout. */
#define QMP_TLS_DEFAULT_TIMEOUT_MSEC 10000

/* Connects to @address unless @stream is given (over TLS for a tls:
 * address, verified against @tls_database or the system's CAs, with
 * @tls_certificate as the client's if given), then reads the greeting
 * and negotiates capabilities (or, with %QMP_CONNECTION_FLAGS_GUEST_AGENT,
 * synchronises with the agent and asks its version), all of it bounded by
 * @timeout_msec (0: none) and @cancellable.  A channel that the handshake
 * got from @channel_func is left open on failure: its owner closes it. */
void _qmp_handshake_start (const char              *address,
                           GIOStream               *stream,
                           QmpConnectionFlags       flags,
                           GTlsDatabase            *tls_database,
                           GTlsCertificate         *tls_certificate,
                           guint                    timeout_msec,
                           GCancellable            *cancellable,
                           QmpHandshakeChannelFunc  channel_func,
                           QmpHandshakeDoneFunc     done_func,
                           gpointer                 user_data);

/* How many attempts of a guest agent resync wait for an answer at once:
 * sending another abandons the oldest. */
#define QMP_GUEST_SYNC_MAX_ATTEMPTS 8

/* Called once, on the worker: @error (owned) is NULL on success. */
typedef void (*QmpGuestSyncDoneFunc) (GError   *error,
                                      gpointer  user_data);

/* Waits until the guest agent on @channel answers: sends
 * guest-sync-delimited with a fresh token, and again with a new one while
 * none is answered, ever less often, until an answer to one of the last
 * %QMP_GUEST_SYNC_MAX_ATTEMPTS comes, @cancellable is cancelled or
 * @timeout_msec (0: none) passes.  May be called from any thread;
 * @done_func runs on the worker. */
void _qmp_guest_sync_start (QmpChannel           *channel,
                            guint                 timeout_msec,
                            GCancellable         *cancellable,
                            QmpGuestSyncDoneFunc  done_func,
                            gpointer              user_data);

/* For the tests, before they start a resync: the resyncs started from now
 * on retry first after @first_msec, then after twice as long each time up
 * to @max_msec (0: the default of each, 100 and 2000 ms). */
void _qmp_guest_sync_set_intervals (guint first_msec,
                                    guint max_msec);

G_END_DECLS
