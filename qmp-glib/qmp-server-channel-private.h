/* qmp-server-channel-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The server half of QMP on one client's stream: the greeting, capability
 * negotiation, commands read with their ids, exec-oob and descriptors,
 * replies and events written.  Reading happens on the shared worker
 * thread; writing may be asked for from any thread, under the channel's
 * lock, as in the client's QmpChannel. */
typedef struct _QmpServerChannel QmpServerChannel;

/* One command as the client sent it. */
typedef struct
{
  char *name;
  char *arguments_json;     /* nullable; the arguments as the client wrote
                             * them (checked JSON, an object) */
  JsonObject *arguments;    /* nullable; built unless the owner wants text only */
  JsonNode *id;             /* nullable; any JSON value, as sent; built as
                             * @arguments is */
  char *id_json;            /* nullable; the id as the client wrote it, to
                             * copy into the reply */
  gboolean oob;             /* sent as exec-oob */
  GUnixFDList *fds;         /* nullable; descriptors that came with it */
  gboolean answered;        /* the channel answered it itself */
  gboolean in_flight;       /* given unanswered to the owner of an in-order
                             * channel, which counts it until it is
                             * answered, once */
  gsize line_len;           /* its line's length, counted with it */
  guint64 seq;              /* its place among the answers of an in-order
                             * channel; 0: none (exec-oob, or a channel
                             * whose answers go out as they come) */
} QmpServerRequest;

void _qmp_server_request_free (QmpServerRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpServerRequest, _qmp_server_request_free)

/* Called on the worker thread without any lock held, in the order the
 * client sent its commands; @request is handed over.  Commands the channel
 * answered itself (negotiation, a command before it) come too, with
 * answered set, so that the owner sees everything the client sent. */
typedef void (*QmpServerChannelCommandFunc) (GObject          *owner,
                                             QmpServerChannel *channel,
                                             QmpServerRequest *request);

/* Called once on the worker thread when the stream is closed, whoever
 * closed it. */
typedef void (*QmpServerChannelClosedFunc)  (GObject          *owner,
                                             QmpServerChannel *channel);

QmpServerChannel *_qmp_server_channel_new   (GIOStream                    *stream,
                                             const char                   *greeting_json,
                                             gboolean                      oob_offered,
                                             GObject                      *owner,
                                             QmpServerChannelCommandFunc   command_func,
                                             QmpServerChannelClosedFunc    closed_func,
                                             GError                      **error);
QmpServerChannel *_qmp_server_channel_ref   (QmpServerChannel *self);
void              _qmp_server_channel_unref (QmpServerChannel *self);
void              _qmp_server_channel_set_guest_agent (QmpServerChannel *self);
void              _qmp_server_channel_set_want_trees  (QmpServerChannel *self,
                                                       gboolean          want_trees);
void              _qmp_server_channel_set_in_order    (QmpServerChannel *self);
gboolean          _qmp_server_channel_is_guest_agent  (QmpServerChannel *self);
void              _qmp_server_channel_start (QmpServerChannel *self);
void              _qmp_server_channel_close (QmpServerChannel *self);
gboolean          _qmp_server_channel_is_closed (QmpServerChannel *self);
gboolean          _qmp_server_channel_is_negotiated (QmpServerChannel *self);

/* The answer to @request, with its id_json (nullable: no id);
 * @return_json is the "return" member, serialized.  On an in-order
 * channel it waits for the answers to the in-band commands before it. */
void _qmp_server_channel_reply       (QmpServerChannel       *self,
                                      const QmpServerRequest *request,
                                      const char             *return_json);
void _qmp_server_channel_reply_error (QmpServerChannel       *self,
                                      const QmpServerRequest *request,
                                      const char             *error_class,
                                      const char             *desc);
/* @request gets no answer: on an in-order channel, the ones behind it no
 * longer wait for it. */
void _qmp_server_channel_skip        (QmpServerChannel       *self,
                                      const QmpServerRequest *request);
/* @data_json nullable; @timestamp_usec since the epoch, or -1 for QEMU's
 * "no clock" timestamp (-1, -1).  Dropped before negotiation, as QEMU
 * does. */
void _qmp_server_channel_send_event  (QmpServerChannel *self,
                                      const char       *name,
                                      const char       *data_json,
                                      gint64            timestamp_usec);
/* Bytes as they are, no line end added. */
void _qmp_server_channel_send_raw    (QmpServerChannel *self,
                                      const char       *data,
                                      gsize             len);

/* @head, then @n_fill bytes of 'x', then @tail, made as they are
 * written: a line of any size at the cost of a chunk. */
void _qmp_server_channel_send_filled (QmpServerChannel *self,
                                      const char       *head,
                                      guint64           n_fill,
                                      const char       *tail);

/* Faults: the next line written is cut after @n_bytes and the stream is
 * closed; reading or writing stop until turned on again. */
void _qmp_server_channel_cut_next_line (QmpServerChannel *self,
                                        gsize             n_bytes);
void _qmp_server_channel_set_reading   (QmpServerChannel *self,
                                        gboolean          reading);
void _qmp_server_channel_set_writing   (QmpServerChannel *self,
                                        gboolean          writing);
/* -1, or the channel closes once it wrote @n_bytes since the start, the
 * greeting included; what is past them is not written. */
void _qmp_server_channel_set_write_limit (QmpServerChannel *self,
                                          gint64            n_bytes);
void _qmp_server_channel_set_max_message_size (QmpServerChannel *self,
                                               guint64           max_message_size);

gboolean _qmp_server_socket_pair (GSocketConnection **client,
                                  GSocketConnection **server,
                                  GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpServerChannel, _qmp_server_channel_unref)

G_END_DECLS
