/* qmp-event-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-event.h"
#include "qmp-json-private.h"

G_BEGIN_DECLS

/* Returns NULL when @message is not a well-formed event. */
QmpEvent *_qmp_event_new_from_message (QmpMessage *message);
QmpEvent *_qmp_event_copy             (QmpEvent   *self);
gsize     _qmp_event_get_size         (QmpEvent   *self);
GQuark    _qmp_event_get_detail       (QmpEvent   *self);
GQuark    _qmp_event_get_detail_after (QmpEvent   *self,
                                       GQuark     *last);
gboolean  _qmp_event_matches_transient (QmpEvent    *self,
                                        const char  *event_name,
                                        JsonObject  *event_match,
                                        JsonObject **scratch);

G_END_DECLS
