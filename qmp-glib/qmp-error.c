/* qmp-error.c
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "qmp-error.h"
#include "qmp-error-private.h"

/**
 * qmp_error_quark:
 *
 * Gets the quark of the %QMP_ERROR domain: errors that the QMP server
 * reported, and violations of the protocol.
 *
 * ```c
 * if (g_error_matches (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
 *   g_print ("this QEMU is too old for that\n");
 * ```
 *
 * Returns: the error domain
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (qmp-error-quark, qmp_error)

/* The error classes that QEMU sends, in the order of #QmpError.  QEMU has
 * sent only GenericError for new errors since 2.x, but the old classes still
 * appear (CommandNotFound in particular), so they keep their own codes. */
static const char * const error_classes[] = {
  [QMP_ERROR_GENERIC_ERROR] = "GenericError",
  [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
  [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
  [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
  [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_classes) == QMP_ERROR_KVM_MISSING_CAP + 1);

QmpError
_qmp_error_from_class (const char *error_class)
{
  if (error_class != NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (error_classes); i++)
        if (g_str_equal (error_class, error_classes[i]))
          return (QmpError) i;
    }

  return QMP_ERROR_GENERIC_ERROR;
}
