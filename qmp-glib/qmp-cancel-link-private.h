/* qmp-cancel-link-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A thread's "cancelled" handler, kept connected between its _sync calls
 * while they pass the same cancellable (see qmp-cancel-link.c). */
typedef struct _QmpCancelLink QmpCancelLink;

/* Runs in the thread that cancelled, with the link's lock held: it may
 * only hand work to another thread. */
typedef void (*QmpCancelLinkFunc) (gpointer data);

QmpCancelLink *_qmp_cancel_link_prepare (GCancellable      *cancellable);
gboolean       _qmp_cancel_link_begin   (QmpCancelLink     *link,
                                         GCancellable      *cancellable,
                                         QmpCancelLinkFunc  func,
                                         gpointer           data,
                                         GDestroyNotify     data_free);
void           _qmp_cancel_link_end     (QmpCancelLink     *link,
                                         gpointer           data);

G_END_DECLS
