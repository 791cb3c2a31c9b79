/* qmp-channel-private.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

#include "qmp-event.h"
#include "qmp-worker-private.h"

G_BEGIN_DECLS

/* The protocol engine behind a QmpConnection: framing, ids, the command
 * queue, replies, events and their watchers, cancellation, timeouts and
 * close.  Reading happens on the shared worker thread, or in a _sync
 * caller that reads its own reply while no one else reads; submitting and
 * writing may happen on any thread under the channel's lock. */
typedef struct _QmpChannel QmpChannel;

/* One operation on a channel. */
typedef struct _QmpCall QmpCall;

typedef enum {
  QMP_CALL_COMMAND,      /* finishes on its reply */
  QMP_CALL_UNTIL_EVENT,  /* finishes on its reply and on a matching event */
  QMP_CALL_WAIT_EVENT,   /* sends nothing; finishes on a matching event */
  QMP_CALL_GREETING,     /* sends nothing; finishes on the server's greeting */
} QmpCallKind;

/* Called once when @call is finished, on whichever thread finished it
 * (the worker, a thread that submitted or cancelled, or a _sync caller
 * reading for itself), unless _qmp_call_set_done_on_worker() was called. */
typedef void (*QmpCallDoneFunc) (QmpCall  *call,
                                 gpointer  user_data);

/* Called by the reader (the worker thread, or a _sync caller reading its
 * own reply) without any lock held, with the channel's reference on
 * @event: the consumer is the only one that holds it, so the event (and
 * the data object its handlers made) is freed where it is consumed, not
 * by the reader.  The event function returns TRUE when its consumer holds
 * as many events as it may: the channel then stops reading until
 * _qmp_channel_resume_reading(), unless a call waits for input. */
typedef gboolean (*QmpChannelEventFunc)  (GObject  *owner,
                                          QmpEvent *event);
typedef void (*QmpChannelClosedFunc) (GObject      *owner,
                                      gboolean      remote_peer_vanished,
                                      const GError *error);

/* Called on the worker once the stream is closed; @error (owned) is set
 * when the channel was already closed or the stream failed to close. */
typedef void (*QmpChannelCloseDoneFunc) (GError   *error,
                                         gpointer  user_data);

QmpCall    *_qmp_call_new             (QmpCallKind      kind,
                                       const char      *command,
                                       JsonObject      *arguments,
                                       gboolean         oob,
                                       const char      *event_name,
                                       JsonObject      *event_match);
QmpCall    *_qmp_call_new_capabilities (gboolean       enable_oob);
void        _qmp_call_take_arguments_json (QmpCall     *call,
                                           char        *arguments_json);
QmpCall    *_qmp_call_ref             (QmpCall         *call);
void        _qmp_call_unref           (QmpCall         *call);
void        _qmp_call_set_done_func   (QmpCall         *call,
                                       QmpCallDoneFunc  func,
                                       gpointer         user_data);
void        _qmp_call_set_unlimited   (QmpCall         *call);
void        _qmp_call_set_done_on_worker (QmpCall      *call);
gboolean    _qmp_call_set_fds         (QmpCall         *call,
                                       GUnixFDList     *fd_list,
                                       GError         **error);
GUnixFDList *_qmp_call_get_fds        (QmpCall         *call);
void        _qmp_call_set_in_event_context (QmpCall    *call);
void        _qmp_call_wait            (QmpCall         *call);
JsonNode   *_qmp_call_steal_return    (QmpCall         *call);
char       *_qmp_call_steal_return_json (QmpCall        *call);
QmpEvent   *_qmp_call_steal_event     (QmpCall         *call);
GError     *_qmp_call_steal_error     (QmpCall         *call);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpCall, _qmp_call_unref)

QmpChannel *_qmp_channel_new          (GIOStream            *stream,
                                       gboolean              guest_agent,
                                       GObject              *owner,
                                       QmpChannelEventFunc   event_func,
                                       QmpChannelClosedFunc  closed_func,
                                       GError              **error);
QmpChannel *_qmp_channel_ref          (QmpChannel           *self);
void        _qmp_channel_unref        (QmpChannel           *self);
void        _qmp_channel_start        (QmpChannel           *self);
void        _qmp_channel_submit       (QmpChannel           *self,
                                       QmpCall              *call,
                                       GCancellable         *cancellable,
                                       guint                 timeout_msec);
void        _qmp_channel_close        (QmpChannel           *self,
                                       GError               *error,
                                       gboolean              remote_peer_vanished,
                                       QmpChannelCloseDoneFunc done_func,
                                       gpointer              user_data);
gboolean    _qmp_channel_is_closed    (QmpChannel           *self);
void        _qmp_channel_resume_reading (QmpChannel         *self);
void        _qmp_channel_set_negotiated (QmpChannel         *self,
                                         gboolean            oob_enabled);
void        _qmp_channel_set_max_message_size (QmpChannel   *self,
                                               guint64       max_message_size);

void        _qmp_channel_wakeup_after_reading (GMainContext *context);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpChannel, _qmp_channel_unref)

G_END_DECLS
