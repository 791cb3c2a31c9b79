/* qmp-glib.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define QMP_INSIDE
# include "qmp-version.h"
# include "qmp-version-macros.h"
# include "qmp-enums.h"
# include "qmp-error.h"
# include "qmp-event.h"
# include "qmp-event-queue.h"
# include "qmp-connection.h"
# include "qmp-commands.h"
# include "qmp-json-template.h"
# include "qmp-listener.h"
# include "qmp-process.h"
# include "qmp-proxy.h"
# include "qmp-run-state-tracker.h"
# include "qmp-schema-type.h"
# include "qmp-schema.h"
# include "qmp-test-server.h"
#undef QMP_INSIDE
