/* qmp-worker-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The one I/O thread that all connections share (GDBus's model).  It is
 * started by the first reference and stopped when the last is dropped. */
typedef struct _QmpWorker QmpWorker;

QmpWorker    *_qmp_worker_ref         (void);
void          _qmp_worker_unref       (QmpWorker    *worker);
GMainContext *_qmp_worker_get_context (QmpWorker    *worker);
gboolean      _qmp_worker_is_current  (QmpWorker    *worker);
void          _qmp_worker_invoke      (QmpWorker    *worker,
                                       GSourceFunc   func,
                                       gpointer      data,
                                       GDestroyNotify destroy);

void          _qmp_worker_idle_add    (QmpWorker    *worker,
                                       int           priority,
                                       const char   *static_name,
                                       GSourceFunc   func,
                                       gpointer      data,
                                       GDestroyNotify destroy);

gboolean      _qmp_worker_check_stream (GIOStream   *stream,
                                        GError     **error);

G_END_DECLS
