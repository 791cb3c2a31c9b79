/* qmp-error-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qmp-error.h"

G_BEGIN_DECLS

QmpError _qmp_error_from_class (const char *error_class);

G_END_DECLS
