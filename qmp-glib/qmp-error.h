/* qmp-error.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <glib.h>

#include "qmp-version-macros.h"

G_BEGIN_DECLS

/**
 * QMP_ERROR:
 *
 * The error domain of errors that the QMP server reported, and of
 * violations of the protocol.
 *
 * Errors of the transport (a closed connection, a timeout, a
 * cancellation) are in the %G_IO_ERROR domain.
 *
 * Since: 1.0
 */
#define QMP_ERROR (qmp_error_quark ())

/**
 * QmpError:
 * @QMP_ERROR_GENERIC_ERROR: the server reported `GenericError`, or an
 *   error class that this version of qmp-glib does not know
 * @QMP_ERROR_COMMAND_NOT_FOUND: the server reported `CommandNotFound`
 * @QMP_ERROR_DEVICE_NOT_ACTIVE: the server reported `DeviceNotActive`
 * @QMP_ERROR_DEVICE_NOT_FOUND: the server reported `DeviceNotFound`
 * @QMP_ERROR_KVM_MISSING_CAP: the server reported `KVMMissingCap`
 * @QMP_ERROR_PROTOCOL: the server broke the protocol (a malformed line,
 *   a missing greeting, a reply that is neither a return nor an error);
 *   the connection is closed
 * @QMP_ERROR_MESSAGE_TOO_LARGE: the server sent a line longer than
 *   [property@Qmp.Connection:max-message-size], or one whose parsed tree
 *   would take more than 14 times that; the connection is closed
 * @QMP_ERROR_INVALID_ARGUMENTS: the arguments of a command do not fit the
 *   server's schema ([method@Qmp.Schema.validate_arguments]): nothing was
 *   sent.  The message names the command and the JSON path of the problem
 *
 * Error codes in the %QMP_ERROR domain.
 *
 * For errors that the server reported, the message of the #GError is the
 * `desc` member of the server's reply, unchanged.
 *
 * ```c
 * g_autoptr(JsonNode) ret = qmp_connection_execute_sync (connection, "query-cpus-fast", NULL,
 *                                                        QMP_EXECUTE_FLAGS_NONE, NULL, &error);
 * if (g_error_matches (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
 *   g_print ("QEMU before 2.12 has no query-cpus-fast\n");
 * else if (ret == NULL)
 *   g_printerr ("%s\n", error->message);
 * ```
 *
 * Since: 1.0
 */
typedef enum {
  QMP_ERROR_GENERIC_ERROR,
  QMP_ERROR_COMMAND_NOT_FOUND,
  QMP_ERROR_DEVICE_NOT_ACTIVE,
  QMP_ERROR_DEVICE_NOT_FOUND,
  QMP_ERROR_KVM_MISSING_CAP,
  QMP_ERROR_PROTOCOL,
  QMP_ERROR_MESSAGE_TOO_LARGE,
  QMP_ERROR_INVALID_ARGUMENTS,
} QmpError;

QMP_AVAILABLE_IN_1_0
GQuark qmp_error_quark (void);

G_END_DECLS
