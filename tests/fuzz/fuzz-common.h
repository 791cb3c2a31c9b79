/* fuzz-common.h: what the fuzzing harnesses share
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each harness defines LLVMFuzzerTestOneInput().  Built with clang and
 * -Dfuzzing=enabled, libFuzzer calls it; in every build, replay-main.c
 * calls it for each file of the harness's checked-in corpus.  A harness
 * reports a finding by aborting: a failed g_assert, fuzz_fail(), or a
 * critical or a warning (peer data must never cause one).
 */

#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "qmp-fuzz"
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static inline GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   log_level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  /* Debug logging is turned on by some inputs, to run the code that
   * formats and redacts every line; what it prints is of no interest. */
  if (log_level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE))
    return G_LOG_WRITER_HANDLED;
  g_log_writer_default (log_level, fields, n_fields, user_data);
  /* GLib would stop a fatal message with SIGTRAP, which libFuzzer does not
   * catch: no crash file.  abort() it is. */
  abort ();
}

/* Reports a finding. */
#define fuzz_fail(...) \
  G_STMT_START { g_printerr (__VA_ARGS__); g_printerr ("\n"); abort (); } G_STMT_END

/* A hang is a finding: abort once the session's @deadline (monotonic
 * time) has passed, @seconds after it began. */
static inline void
fuzz_check_hang (const char *harness,
                 gint64      deadline,
                 int         seconds)
{
  if (g_get_monotonic_time () > deadline)
    fuzz_fail ("%s: the session did not end within %d s", harness, seconds);
}

static inline void
fuzz_init (void)
{
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_once_init_leave (&initialised, 1);
    }
}
