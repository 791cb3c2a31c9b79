/* qmp-event-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-event.h"

G_BEGIN_DECLS

/* Returns NULL when @object is not a well-formed event. */
QmpEvent *_qmp_event_new_from_object (JsonObject *object);

G_END_DECLS
