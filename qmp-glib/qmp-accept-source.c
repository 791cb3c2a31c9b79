/* qmp-accept-source.c: accepting on a listening socket without spinning
 * when accept() fails
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "qmp-accept-source-private.h"

/* QmpProxy and QmpTestServer accept on the I/O thread.  When accept()
 * fails for want of descriptors, the client stays in the backlog and the
 * socket stays readable: a source that only watches for G_IO_IN is
 * dispatched again at once, and the thread spins until a descriptor is
 * freed.  This one stops polling the socket for a while instead, with
 * the source's ready time as the timer: nothing else to destroy on
 * close, and nothing that outlives the source. */

typedef struct
{
  GSource source;
  GSocket *socket;
  gpointer tag;                 /* the socket's descriptor, polled for G_IO_IN but while paused */
  gboolean paused;
} QmpAcceptSource;

static gboolean
accept_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  QmpAcceptSource *self = (QmpAcceptSource *) source;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;

  /* The pause is over: watch the socket again, and try at once for the
   * clients that waited in the backlog. */
  if (self->paused)
    {
      self->paused = FALSE;
      g_source_set_ready_time (source, -1);
      g_source_modify_unix_fd (source, self->tag, G_IO_IN);
    }

  for (guint tries = 0; client == NULL && tries < 2; tries++)
    {
      g_clear_error (&error);
      client = g_socket_accept (self->socket, NULL, &error);
      if (client == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
    }

  if (client == NULL)
    {
      g_debug ("cannot accept a client (%s): trying again in %u ms",
               error->message, QMP_ACCEPT_RETRY_MSEC);
      self->paused = TRUE;
      g_source_modify_unix_fd (source, self->tag, 0);
      g_source_set_ready_time (source, g_get_monotonic_time () + QMP_ACCEPT_RETRY_MSEC * G_TIME_SPAN_MILLISECOND);
      return G_SOURCE_CONTINUE;
    }

  /* Without a callback, the client is closed with its last reference */
  if (callback != NULL)
    ((QmpAcceptFunc) (void (*) (void)) callback) (client, user_data);

  return G_SOURCE_CONTINUE;
}

static void
accept_source_finalize (GSource *source)
{
  QmpAcceptSource *self = (QmpAcceptSource *) source;

  g_clear_object (&self->socket);
}

static GSourceFuncs accept_source_funcs = {
  .dispatch = accept_source_dispatch,
  .finalize = accept_source_finalize,
};

GSource *
_qmp_accept_source_new (GSocket *socket)
{
  GSource *source;
  QmpAcceptSource *self;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  source = g_source_new (&accept_source_funcs, sizeof (QmpAcceptSource));
  self = (QmpAcceptSource *) source;
  self->socket = g_object_ref (socket);
  g_socket_set_blocking (socket, FALSE);
  self->tag = g_source_add_unix_fd (source, g_socket_get_fd (socket), G_IO_IN);

  return source;
}
