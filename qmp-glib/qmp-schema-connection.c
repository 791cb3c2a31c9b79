/* qmp-schema-connection.c: a connection's schema, fetched once, and the
 * argument check of its execute calls
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "qmp-channel-private.h"
#include "qmp-connection-private.h"
#include "qmp-error.h"
#include "qmp-json-private.h"
#include "qmp-schema.h"
#include "qmp-schema-private.h"
#include "qmp-sync-private.h"

/* What a connection keeps about its schema, in its qdata: kept out of
 * QmpConnection's own struct, which knows nothing of schemas.  The fetch
 * holds a reference too, not to the connection, which may go first. */
typedef struct
{
  gatomicrefcount ref_count;
  GMutex lock;
  GCond cond;                 /* a fetch ended, or a _sync waiter was cancelled */
  QmpSchema *schema;          /* once fetched */
  GError *error;              /* a fetch that will always fail (no schema) */
  gboolean fetching;
  guint fetches_done;         /* how _sync waiters know their fetch ended */
  GError *last_error;         /* the error of the last fetch that ended */
  GList *waiters;             /* of Waiter, for the running fetch */
  GHashTable *warned;         /* deprecated things logged already */
  gboolean validate;          /* the validate-arguments property */
} SchemaState;

/* An _async caller of get_schema waiting for the fetch.  Its cancelled
 * handler holds a reference to the task, by which it finds the waiter:
 * whoever takes the waiter from the list disconnects it, never waiting
 * (the fetch thread must not wait for the caller's own handlers, which
 * may wait for another waiter's schema). */
typedef struct
{
  GTask *task;
  gulong cancelled_id;
  GSource *timeout_source;    /* nullable: a checked call's timeout, holding the task */
  char *command;              /* the checked call's, for the timeout's message */
  guint timeout_msec;
} Waiter;

/* Set in a thread while it makes a call that must not be checked: a
 * checked call submitted again. */
static GPrivate skip_check;

G_LOCK_DEFINE_STATIC (state_made);

static SchemaState *
schema_state_ref (SchemaState *state)
{
  g_atomic_ref_count_inc (&state->ref_count);
  return state;
}

static void
schema_state_unref (gpointer data)
{
  SchemaState *state = data;

  if (!g_atomic_ref_count_dec (&state->ref_count))
    return;

  /* Each waiter's task holds the connection, which holds the state. */
  g_assert (state->waiters == NULL);

  g_clear_object (&state->schema);
  g_clear_error (&state->error);
  g_clear_error (&state->last_error);
  g_clear_pointer (&state->warned, g_hash_table_unref);
  g_mutex_clear (&state->lock);
  g_cond_clear (&state->cond);
  g_free (state);
}

/* Not G_DEFINE_QUARK: every call of every thread asks for this quark, and
 * the macro's static is written and read without atomics, a data race
 * between the first calls of two threads. */
static GQuark
schema_state_quark (void)
{
  static GQuark quark;
  GQuark q = g_atomic_int_get (&quark);

  if (G_UNLIKELY (q == 0))
    {
      q = g_quark_from_static_string ("qmp-schema-state");
      g_atomic_int_set (&quark, q);
    }

  return q;
}

/* Every call asks (for the validate flag): no lock once it is made. */
static SchemaState *
get_state (QmpConnection *self)
{
  SchemaState *state = g_object_get_qdata (G_OBJECT (self), schema_state_quark ());

  if (G_LIKELY (state != NULL))
    return state;

  G_LOCK (state_made);
  state = g_object_get_qdata (G_OBJECT (self), schema_state_quark ());
  if (state == NULL)
    {
      state = g_new0 (SchemaState, 1);
      g_atomic_ref_count_init (&state->ref_count);
      g_mutex_init (&state->lock);
      g_cond_init (&state->cond);
      state->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_object_set_qdata_full (G_OBJECT (self), schema_state_quark (), state, schema_state_unref);
    }
  G_UNLOCK (state_made);

  return state;
}

/* ---------------------------------------------------------------- fetch */

static void
waiter_free (Waiter *waiter)
{
  /* Run late, the handler finds no waiter. */
  if (waiter->cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (g_task_get_cancellable (waiter->task), waiter->cancelled_id);
  if (waiter->timeout_source != NULL)
    {
      g_source_destroy (waiter->timeout_source);
      g_source_unref (waiter->timeout_source);
    }
  g_free (waiter->command);
  g_object_unref (waiter->task);
  g_free (waiter);
}

/* What a checked call gets when its timeout passes before the schema
 * came, in the words of the call's own timeout. */
static GError *
schema_timeout_error (const char *command,
                      guint       timeout_msec)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                      _("Timed out after %u ms waiting for the server’s schema to check “%s”"),
                      timeout_msec, command);
}

static void
fetch_done (SchemaState *state,
            QmpSchema   *schema,
            GError      *error)
{
  GList *waiters;

  g_mutex_lock (&state->lock);
  state->fetching = FALSE;
  state->fetches_done++;
  g_clear_error (&state->last_error);
  if (schema != NULL)
    state->schema = g_object_ref (schema);
  else if (error->domain == QMP_ERROR)
    state->error = g_error_copy (error);   /* the server has no (valid) schema */
  else
    state->last_error = g_error_copy (error);  /* closed, timed out: may work later */
  waiters = g_steal_pointer (&state->waiters);
  g_cond_broadcast (&state->cond);
  g_mutex_unlock (&state->lock);

  /* Taken from the list: a cancellation finds them no more. */
  for (GList *l = waiters; l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;

      if (schema != NULL)
        g_task_return_pointer (waiter->task, g_object_ref (schema), g_object_unref);
      else
        g_task_return_error (waiter->task, g_error_copy (error));
      waiter_free (waiter);
    }
  g_list_free (waiters);
}

static gpointer
fetch_thread (gpointer data)
{
  QmpConnection *self = data;
  SchemaState *state = schema_state_ref (get_state (self));
  g_autoptr(QmpCall) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(QmpSchema) schema = NULL;

  /* Not checked (no public function), with the connection's timeout */
  call = _qmp_call_new (QMP_CALL_COMMAND, "query-qmp-schema", NULL, FALSE, NULL, NULL);
  _qmp_connection_submit_call (self, call, -1);

  /* Waited for without the connection: every waiter holds it, so once
   * its last reference goes, no one can wait for the schema any more,
   * and its dispose, which closes it, ends the query however long the
   * peer stays silent. */
  g_object_unref (self);
  _qmp_call_wait (call);

  /* The text, not a JsonNode tree: building the tree would cost several
   * times what the schema does (see qmp-schema-text.c). */
  error = _qmp_call_steal_error (call);
  if (error == NULL)
    {
      reply = _qmp_call_steal_return_json (call);
      schema = qmp_schema_new_from_data (reply, -1, &error);
    }
  else if (g_error_matches (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
    {
      g_prefix_error (&error, _("The server has no schema (a guest agent has none): "));
    }

  fetch_done (state, schema, error);
  schema_state_unref (state);

  return NULL;
}

/* With state->lock held: starts the query unless it runs already.  It
 * runs in a thread of its own, once per connection, so that it depends on
 * no main context: a _sync caller may run none, and a GTask would leave
 * its completion in the creator's context, holding the connection. */
static void
fetch_start_locked (QmpConnection *self,
                    SchemaState   *state)
{
  if (state->fetching)
    return;

  state->fetching = TRUE;
  g_thread_unref (g_thread_new ("qmp-schema", fetch_thread, g_object_ref (self)));
}

/* ------------------------------------------------------------ get_schema */

static int
waiter_compare_task (gconstpointer waiter,
                     gconstpointer task)
{
  return ((const Waiter *) waiter)->task == task ? 0 : 1;
}

/* The waiter of @task, taken from the list; NULL when the fetch ended
 * first. */
static Waiter *
take_waiter (GTask *task)
{
  SchemaState *state = get_state (g_task_get_source_object (task));
  Waiter *waiter = NULL;
  GList *link;

  g_mutex_lock (&state->lock);
  link = g_list_find_custom (state->waiters, task, waiter_compare_task);
  if (link != NULL)
    {
      waiter = link->data;
      state->waiters = g_list_delete_link (state->waiters, link);
    }
  g_mutex_unlock (&state->lock);

  return waiter;
}

static void
on_waiter_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = take_waiter (user_data);

  if (waiter == NULL)
    return;

  g_task_return_new_error (waiter->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _("Operation was cancelled"));
  waiter_free (waiter);
}

static gboolean
on_waiter_timeout (gpointer user_data)
{
  Waiter *waiter = take_waiter (user_data);

  if (waiter != NULL)
    {
      g_task_return_error (waiter->task,
                           schema_timeout_error (waiter->command, waiter->timeout_msec));
      waiter_free (waiter);
    }

  return G_SOURCE_REMOVE;
}

/* Returns the schema, or the error that will not go away, through @task
 * if there is one. */
static gboolean
schema_state_return_cached (SchemaState *state,
                            GTask       *task)
{
  QmpSchema *schema = NULL;
  GError *error = NULL;

  g_mutex_lock (&state->lock);
  if (state->schema != NULL)
    schema = g_object_ref (state->schema);
  else if (state->error != NULL)
    error = g_error_copy (state->error);
  g_mutex_unlock (&state->lock);

  if (schema != NULL)
    g_task_return_pointer (task, schema, g_object_unref);
  else if (error != NULL)
    g_task_return_error (task, error);

  return schema != NULL || error != NULL;
}

/* get_schema_async, for @command (nullable) that waits at most
 * @timeout_msec (0: forever) for the schema before its check. */
static void
schema_get_async (QmpConnection       *self,
                  const char          *command,
                  guint                timeout_msec,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SchemaState *state;
  Waiter *waiter;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qmp_connection_get_schema_async);
  state = get_state (self);

  if (schema_state_return_cached (state, task))
    return;

  /* Connected outside the lock (the handler takes it), before the waiter
   * is listed, so that whoever takes it can disconnect it; it finds
   * nothing if it runs meanwhile. */
  waiter = g_new0 (Waiter, 1);
  waiter->task = g_object_ref (task);
  if (cancellable != NULL)
    waiter->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_waiter_cancelled),
                                                  g_object_ref (task), g_object_unref);

  g_mutex_lock (&state->lock);
  if (state->schema == NULL && state->error == NULL && !g_cancellable_is_cancelled (cancellable))
    {
      /* Attached with the waiter listed, so that it always finds it. */
      if (timeout_msec > 0)
        {
          waiter->command = g_strdup (command);
          waiter->timeout_msec = timeout_msec;
          waiter->timeout_source = g_timeout_source_new (timeout_msec);
          g_source_set_static_name (waiter->timeout_source, "[qmp-glib] schema timeout");
          g_task_attach_source (task, waiter->timeout_source, on_waiter_timeout);
        }
      state->waiters = g_list_append (state->waiters, g_steal_pointer (&waiter));
      fetch_start_locked (self, state);
    }
  g_mutex_unlock (&state->lock);

  if (waiter == NULL)
    return;   /* waiting */

  /* The fetch ended meanwhile, or the call was cancelled already. */
  waiter_free (waiter);
  if (!schema_state_return_cached (state, task))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
}

/**
 * qmp_connection_get_schema_async:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the schema is there
 * @user_data: (closure callback): data for @callback
 *
 * Gets the server's schema: what it describes with `query-qmp-schema`.
 * The query runs once per connection: later calls give the same
 * #QmpSchema, and calls made while it runs wait for it.  A server without
 * a schema (the guest agent) fails with %QMP_ERROR_COMMAND_NOT_FOUND, a
 * malformed schema with %QMP_ERROR_PROTOCOL; those failures are kept too,
 * while a failure of the connection (a timeout, a close) is not.
 *
 * Cancelling stops this call's wait, not the query that other calls may
 * be waiting for.
 *
 * ```c
 * static void
 * on_schema (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(QmpSchema) schema = NULL;
 *
 *   schema = qmp_connection_get_schema_finish (QMP_CONNECTION (source), result, &error);
 *   if (schema != NULL && qmp_schema_has_command (schema, "blockdev-reopen"))
 *     …
 * }
 *
 * qmp_connection_get_schema_async (connection, NULL, on_schema, NULL);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_get_schema_async (QmpConnection       *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (QMP_IS_CONNECTION (self));
  g_return_if_fail (_qmp_connection_is_ready (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  schema_get_async (self, NULL, 0, cancellable, callback, user_data);
}

/**
 * qmp_connection_get_schema_finish:
 * @self: a #QmpConnection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Qmp.Connection.get_schema_async].
 *
 * ```c
 * schema = qmp_connection_get_schema_finish (connection, result, &error);
 * ```
 *
 * Returns: (transfer full): the schema, or %NULL on error
 *
 * Since: 1.0
 */
QmpSchema *
qmp_connection_get_schema_finish (QmpConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qmp_connection_get_schema_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Holds a reference to the connection (whose qdata is the state), so
 * that the caller need not wait for it: run late, it wakes no one. */
static void
on_sync_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  SchemaState *state = get_state (user_data);

  g_mutex_lock (&state->lock);
  g_cond_broadcast (&state->cond);
  g_mutex_unlock (&state->lock);
}

/* get_schema_sync, for @command (nullable) that waits at most
 * @timeout_msec (0: forever) for the schema before its check. */
static QmpSchema *
schema_get_sync (QmpConnection  *self,
                 const char     *command,
                 guint           timeout_msec,
                 GCancellable   *cancellable,
                 GError        **error)
{
  SchemaState *state;
  QmpSchema *schema = NULL;
  gulong cancelled_id = 0;
  guint fetches_done;
  gint64 deadline = 0;
  gboolean timed_out = FALSE;

  if (timeout_msec > 0)
    deadline = g_get_monotonic_time () + timeout_msec * G_TIME_SPAN_MILLISECOND;

  state = get_state (self);
  if (cancellable != NULL)
    cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_sync_cancelled),
                                          g_object_ref (self), g_object_unref);

  g_mutex_lock (&state->lock);
  fetches_done = state->fetches_done;
  if (state->schema == NULL && state->error == NULL)
    fetch_start_locked (self, state);

  /* Until the fetch that runs now ended. */
  while (state->schema == NULL && state->error == NULL &&
         state->fetches_done == fetches_done &&
         !g_cancellable_is_cancelled (cancellable) && !timed_out)
    {
      if (deadline == 0)
        g_cond_wait (&state->cond, &state->lock);
      else
        timed_out = !g_cond_wait_until (&state->cond, &state->lock, deadline);
    }

  if (state->schema != NULL)
    schema = g_object_ref (state->schema);
  else if (state->error != NULL)
    g_propagate_error (error, g_error_copy (state->error));
  else if (state->fetches_done != fetches_done && state->last_error != NULL)
    g_propagate_error (error, g_error_copy (state->last_error));
  else if (g_cancellable_is_cancelled (cancellable))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
  else
    g_propagate_error (error, schema_timeout_error (command, timeout_msec));
  g_mutex_unlock (&state->lock);

  /* Without waiting for a cancellation that runs in another thread: the
   * caller's own handlers may wait for this call to return. */
  if (cancelled_id != 0)
    _qmp_cancellable_disconnect_nowait (cancellable, cancelled_id);

  return schema;
}

/**
 * qmp_connection_get_schema_sync:
 * @self: a #QmpConnection
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Gets the server's schema, blocking the calling thread until it is
 * there; see [method@Qmp.Connection.get_schema_async].  No main loop is
 * run meanwhile.
 *
 * ```c
 * g_autoptr(QmpSchema) schema = qmp_connection_get_schema_sync (connection, NULL, &error);
 *
 * if (schema == NULL)
 *   g_printerr ("%s\n", error->message);
 * else if (qmp_schema_has_path (schema, "device_add/arg-type/driver"))
 *   …
 * ```
 *
 * Returns: (transfer full): the schema, or %NULL on error
 *
 * Since: 1.0
 */
QmpSchema *
qmp_connection_get_schema_sync (QmpConnection  *self,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (_qmp_connection_is_ready (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return schema_get_sync (self, NULL, 0, cancellable, error);
}

/* ------------------------------------------------------- the check hooks */

/**
 * qmp_connection_get_validate_arguments:
 * @self: a #QmpConnection
 *
 * Gets the value of [property@Qmp.Connection:validate-arguments].
 *
 * ```c
 * gboolean checked = qmp_connection_get_validate_arguments (connection);
 * ```
 *
 * Returns: %TRUE if every command's arguments are checked before it is sent
 *
 * Since: 1.0
 */
gboolean
qmp_connection_get_validate_arguments (QmpConnection *self)
{
  g_return_val_if_fail (QMP_IS_CONNECTION (self), FALSE);

  return g_atomic_int_get (&get_state (self)->validate);
}

/**
 * qmp_connection_set_validate_arguments:
 * @self: a #QmpConnection
 * @validate: whether to check every command's arguments
 *
 * Sets [property@Qmp.Connection:validate-arguments]: when %TRUE, every
 * command is checked as with %QMP_EXECUTE_FLAGS_VALIDATE.
 *
 * ```c
 * qmp_connection_set_validate_arguments (connection, TRUE);
 * ```
 *
 * Since: 1.0
 */
void
qmp_connection_set_validate_arguments (QmpConnection *self,
                                       gboolean       validate)
{
  SchemaState *state;

  g_return_if_fail (QMP_IS_CONNECTION (self));

  state = get_state (self);
  if (g_atomic_int_exchange (&state->validate, !!validate) != !!validate)
    g_object_notify (G_OBJECT (self), "validate-arguments");
}

static void
log_deprecated (const char *key,
                const char *message,
                gpointer    user_data)
{
  SchemaState *state = user_data;
  gboolean first;

  g_mutex_lock (&state->lock);
  first = g_hash_table_add (state->warned, g_strdup (key));
  g_mutex_unlock (&state->lock);

  /* Only a call that asked for the check gets here. */
  if (first)
    g_warning ("%s", message);
}

static gboolean
needs_check (QmpConnection   *self,
             QmpExecuteFlags  flags)
{
  if (g_private_get (&skip_check) != NULL)
    return FALSE;

  return (flags & QMP_EXECUTE_FLAGS_VALIDATE) != 0 || g_atomic_int_get (&get_state (self)->validate);
}

static gboolean
check_call (QmpConnection  *self,
            QmpSchema      *schema,
            const char     *command,
            JsonObject     *arguments,
            GError        **error)
{
  return _qmp_schema_check (schema, command, arguments, log_deprecated, get_state (self), error);
}

gboolean
_qmp_connection_check_call_sync (QmpConnection    *self,
                                 const char       *command,
                                 JsonObject       *arguments,
                                 QmpExecuteFlags   flags,
                                 int               timeout_msec,
                                 GCancellable     *cancellable,
                                 GError          **error)
{
  g_autoptr(QmpSchema) schema = NULL;

  if (!needs_check (self, flags))
    return TRUE;

  schema = schema_get_sync (self, command, _qmp_connection_resolve_timeout (self, timeout_msec),
                            cancellable, error);
  return schema != NULL && check_call (self, schema, command, arguments, error);
}

/* An _async call waiting for the schema before its check. */
typedef struct
{
  gpointer source_tag;
  char *command;
  JsonObject *arguments;      /* nullable; a private copy */
  QmpExecuteFlags flags;
  char *event_name;
  JsonObject *event_match;    /* nullable; a private copy */
  GCancellable *cancellable;
  GAsyncReadyCallback callback;
  gpointer user_data;
  gboolean full;              /* an _full_async call, with its own timeout */
  int timeout_msec;
  gboolean with_fds;          /* a _with_fds_async call */
  GUnixFDList *fd_list;       /* nullable: its duplicates of the descriptors */
} PendingCall;

static void
pending_call_free (PendingCall *pending)
{
  g_free (pending->command);
  g_clear_pointer (&pending->arguments, json_object_unref);
  g_free (pending->event_name);
  g_clear_pointer (&pending->event_match, json_object_unref);
  g_clear_object (&pending->cancellable);
  g_clear_object (&pending->fd_list);
  g_free (pending);
}

static void
fail_call (QmpConnection       *self,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data,
           GError              *error)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_return_error (task, error);
}

/* In the caller's context, once the schema is there. */
static void
on_schema_for_call (GObject      *source_object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  QmpConnection *self = QMP_CONNECTION (source_object);
  PendingCall *pending = user_data;
  g_autoptr(QmpSchema) schema = NULL;
  GError *error = NULL;

  schema = qmp_connection_get_schema_finish (self, result, &error);
  if (schema == NULL ||
      !check_call (self, schema, pending->command, pending->arguments, &error))
    {
      fail_call (self, pending->source_tag, pending->cancellable,
                 pending->callback, pending->user_data, error);
      pending_call_free (pending);
      return;
    }

  /* Submitted again, as the caller made it, but not checked again. */
  g_private_set (&skip_check, GINT_TO_POINTER (TRUE));
  if (pending->with_fds && pending->source_tag == (gpointer) qmp_connection_execute_async)
    qmp_connection_execute_with_fds_async (self, pending->command, pending->arguments,
                                           pending->fd_list, pending->flags, pending->cancellable,
                                           pending->callback, pending->user_data);
  else if (pending->with_fds)
    qmp_connection_execute_until_event_with_fds_async (self, pending->command, pending->arguments,
                                                       pending->fd_list, pending->event_name,
                                                       pending->event_match, pending->cancellable,
                                                       pending->callback, pending->user_data);
  else if (pending->full && pending->source_tag == (gpointer) qmp_connection_execute_async)
    qmp_connection_execute_full_async (self, pending->command, pending->arguments, pending->flags,
                                       pending->timeout_msec, pending->cancellable,
                                       pending->callback, pending->user_data);
  else if (pending->full)
    qmp_connection_execute_until_event_full_async (self, pending->command, pending->arguments,
                                                   pending->event_name, pending->event_match,
                                                   pending->timeout_msec, pending->cancellable,
                                                   pending->callback, pending->user_data);
  else
    /* The only checked call that has no _full form (execute and
     * execute_until_event are made of theirs). */
    qmp_connection_execute_json_async (self, pending->command, pending->arguments, pending->flags,
                                       pending->cancellable, pending->callback, pending->user_data);
  g_private_set (&skip_check, NULL);

  pending_call_free (pending);
}

static gboolean
check_call_async (QmpConnection       *self,
                  gpointer             source_tag,
                  gboolean             full,
                  gboolean             with_fds,
                  const char          *command,
                  JsonObject          *arguments,
                  GUnixFDList         *fd_list,
                  QmpExecuteFlags      flags,
                  const char          *event_name,
                  JsonObject          *event_match,
                  int                  timeout_msec,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  SchemaState *state;
  g_autoptr(QmpSchema) schema = NULL;
  GError *error = NULL;
  PendingCall *pending;

  if (!needs_check (self, flags))
    return FALSE;

  state = get_state (self);
  g_mutex_lock (&state->lock);
  if (state->schema != NULL)
    schema = g_object_ref (state->schema);
  else if (state->error != NULL)
    error = g_error_copy (state->error);
  g_mutex_unlock (&state->lock);

  /* The schema is there: checked now, and the call keeps its place. */
  if (schema != NULL && check_call (self, schema, command, arguments, &error))
    return FALSE;

  if (error != NULL)
    {
      fail_call (self, source_tag, cancellable, callback, user_data, error);
      return TRUE;
    }

  pending = g_new0 (PendingCall, 1);
  pending->source_tag = source_tag;
  pending->command = g_strdup (command);
  pending->arguments = arguments ? _qmp_json_object_copy_deep (arguments) : NULL;
  pending->flags = flags;
  pending->event_name = g_strdup (event_name);
  pending->event_match = event_match ? _qmp_json_object_copy_deep (event_match) : NULL;
  pending->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  pending->callback = callback;
  pending->user_data = user_data;
  pending->full = full;
  pending->timeout_msec = timeout_msec;
  pending->with_fds = with_fds;
  pending->fd_list = fd_list ? g_object_ref (fd_list) : NULL;
  schema_get_async (self, command, _qmp_connection_resolve_timeout (self, timeout_msec),
                    cancellable, on_schema_for_call, pending);

  return TRUE;
}

gboolean
_qmp_connection_check_call_async (QmpConnection       *self,
                                  gpointer             source_tag,
                                  const char          *command,
                                  JsonObject          *arguments,
                                  QmpExecuteFlags      flags,
                                  const char          *event_name,
                                  JsonObject          *event_match,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  return check_call_async (self, source_tag, FALSE, FALSE, command, arguments, NULL, flags,
                           event_name, event_match, -1, cancellable, callback, user_data);
}

gboolean
_qmp_connection_check_fds_call_async (QmpConnection       *self,
                                      gpointer             source_tag,
                                      const char          *command,
                                      JsonObject          *arguments,
                                      GUnixFDList         *fd_list,
                                      QmpExecuteFlags      flags,
                                      const char          *event_name,
                                      JsonObject          *event_match,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  return check_call_async (self, source_tag, FALSE, TRUE, command, arguments, fd_list, flags,
                           event_name, event_match, -1, cancellable, callback, user_data);
}

gboolean
_qmp_connection_check_full_call_async (QmpConnection       *self,
                                       gpointer             source_tag,
                                       const char          *command,
                                       JsonObject          *arguments,
                                       QmpExecuteFlags      flags,
                                       const char          *event_name,
                                       JsonObject          *event_match,
                                       int                  timeout_msec,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  return check_call_async (self, source_tag, TRUE, FALSE, command, arguments, NULL, flags,
                           event_name, event_match, timeout_msec, cancellable, callback,
                           user_data);
}

gboolean
_qmp_connection_has_command (QmpConnection *self,
                             const char    *command,
                             guint          major,
                             guint          minor,
                             guint          micro)
{
  SchemaState *state = get_state (self);
  g_autoptr(QmpSchema) schema = NULL;

  g_mutex_lock (&state->lock);
  if (state->schema != NULL)
    schema = g_object_ref (state->schema);
  g_mutex_unlock (&state->lock);

  if (schema != NULL)
    return qmp_schema_has_command (schema, command);

  return qmp_connection_check_version (self, major, minor, micro);
}
