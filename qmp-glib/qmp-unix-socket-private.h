/* qmp-unix-socket-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <sys/types.h>

#include <gio/gio.h>

G_BEGIN_DECLS

/* A Unix socket file made by _qmp_unix_socket_listen(): its path, and the
 * file it was, so that only that file is ever removed. */
typedef struct
{
  char  *path;
  dev_t  dev;
  ino_t  ino;
} QmpUnixSocketFile;

/* A socket listening at @path with the permissions @mode from the moment
 * the file appears there.  An existing file at @path is replaced only if
 * it is a stale socket (nothing listens on it); anything else fails with
 * G_IO_ERROR_EXISTS or G_IO_ERROR_ADDRESS_IN_USE.  @file is filled in on
 * success.  The socket is blocking, as g_socket_new() makes it. */
GSocket *_qmp_unix_socket_listen (const char         *path,
                                  guint               mode,
                                  QmpUnixSocketFile  *file,
                                  GError            **error);

/* Removes @file's path if it is still the file that was made there, and
 * clears @file.  Safe to call on a cleared or zeroed @file. */
void _qmp_unix_socket_file_remove (QmpUnixSocketFile *file);

G_END_DECLS
