/* qmp-unix-socket.c: a listening Unix socket file that nobody sees with
 * the wrong permissions, or finds not listening
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#include "qmp-unix-socket-private.h"

/* QmpListener and QmpProxy both make a socket file for others to connect
 * to.  bind() creates the file with the process's umask, so a file made
 * by bind() at @path and chmod()ed after is seen, for a moment, with
 * permissions it should never have had (and a watcher of the directory
 * acts on it then); and a client that finds the file before listen() is
 * refused.  Here the socket is bound in a private directory beside @path,
 * made to listen and given its mode there, and only then linked to
 * @path. */

/* An existing @path is removed only if it is a socket that nobody listens
 * on any more: what a manager that was killed leaves behind. */
static gboolean
remove_stale (const char  *path,
              GError     **error)
{
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) connect_error = NULL;
  GStatBuf buf;

  if (g_lstat (path, &buf) != 0)
    return TRUE;   /* nothing there (or nothing we may see): link() tells */

  if (!S_ISSOCK (buf.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("“%s” exists and is not a socket"), path);
      return FALSE;
    }

  probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (probe == NULL)
    return FALSE;
  address = g_unix_socket_address_new (path);
  /* Not blocking: a listener with a full backlog would block us, and
   * counts as someone listening. */
  g_socket_set_blocking (probe, FALSE);
  if (g_socket_connect (probe, address, NULL, &connect_error) ||
      g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_PENDING) ||
      g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   _("Something listens on “%s” already"), path);
      return FALSE;
    }

  /* Only a refusal says that nobody listens; a socket we may not connect
   * to is not ours to remove. */
  if (!g_error_matches (connect_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&connect_error),
                                  _("Could not listen on “%s”: "), path);
      return FALSE;
    }

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not listen on “%s”: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

GSocket *
_qmp_unix_socket_listen (const char         *path,
                         guint               mode,
                         QmpUnixSocketFile  *file,
                         GError            **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *template = NULL;
  g_autofree char *private_path = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  GStatBuf buf;
  int saved_errno;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail ((mode & ~0777u) == 0, NULL);
  g_return_val_if_fail (file != NULL, NULL);

  if (!remove_stale (path, error))
    return NULL;

  dir = g_path_get_dirname (path);
  template = g_build_filename (dir, ".qmp-socket-XXXXXX", NULL);
  if (g_mkdtemp_full (template, 0700) == NULL)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not listen on “%s”: %s"), path, g_strerror (saved_errno));
      return NULL;
    }
  private_path = g_build_filename (template, "s", NULL);

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  address = g_unix_socket_address_new (private_path);
  if (socket == NULL || !g_socket_bind (socket, address, FALSE, error))
    {
      g_prefix_error (error, _("Could not listen on “%s”: "), path);
      g_unlink (private_path);
      g_rmdir (template);
      return NULL;
    }

  /* Listening before it appears at @path: nobody who finds the file
   * there is refused.  Nobody else can reach the private directory, so the
   * file stat()ed here is the one bound; link() keeps it, and never
   * replaces what appeared at @path meanwhile. */
  if (!g_socket_listen (socket, error))
    {
      g_prefix_error (error, _("Could not listen on “%s”: "), path);
      g_unlink (private_path);
      g_rmdir (template);
      return NULL;
    }
  if (g_chmod (private_path, (int) mode) != 0 ||
      g_lstat (private_path, &buf) != 0 ||
      link (private_path, path) != 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not listen on “%s”: %s"), path, g_strerror (saved_errno));
      g_unlink (private_path);
      g_rmdir (template);
      return NULL;
    }
  g_unlink (private_path);
  g_rmdir (template);

  file->path = g_strdup (path);
  file->dev = buf.st_dev;
  file->ino = buf.st_ino;

  return g_steal_pointer (&socket);
}

void
_qmp_unix_socket_file_remove (QmpUnixSocketFile *file)
{
  GStatBuf buf;

  g_return_if_fail (file != NULL);

  if (file->path != NULL && g_lstat (file->path, &buf) == 0 &&
      buf.st_dev == file->dev && buf.st_ino == file->ino)
    g_unlink (file->path);

  g_clear_pointer (&file->path, g_free);
}
