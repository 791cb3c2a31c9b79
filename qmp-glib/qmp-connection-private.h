/* qmp-connection-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-connection.h"

G_BEGIN_DECLS

void _qmp_connection_set_context (QmpConnection *self,
                                  GMainContext  *context);

G_END_DECLS
