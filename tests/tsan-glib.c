/* tsan-glib.c: tell ThreadSanitizer about the synchronisation of GLib
 *
 * Linked into the test programs only when they are built with
 * -Db_sanitize=thread.  The GLib of the distribution is not instrumented,
 * and on Linux its GMutex, GCond and GRecMutex are built on futexes and
 * atomics compiled inside libglib, which ThreadSanitizer cannot see: every
 * field qmp-glib guards with a GMutex would be reported as a race.  These
 * definitions interpose the functions for every caller outside libglib
 * (qmp-glib, GIO, GObject, the tests; libglib calls its own functions
 * directly), call the real ones, and annotate the acquire and release they
 * imply.
 *
 * The same for the hand-offs through a GMainContext: attaching a source
 * (or making it ready from another thread) happens before its dispatch,
 * which libglib orders with the context's mutex.  g_source_attach() and
 * g_source_set_ready_time() release on the source; the source's dispatch
 * function is wrapped to acquire on it.  And g_object_unref() orders
 * every earlier unref before the finalize that the last one runs (GObject
 * counts with atomics ThreadSanitizer cannot see either).
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <pthread.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
void __tsan_ignore_thread_begin (void);
void __tsan_ignore_thread_end (void);

#define REAL(ret, name, ...) \
  static ret (*real_p) (__VA_ARGS__); \
  ret (*real) (__VA_ARGS__) = __atomic_load_n (&real_p, __ATOMIC_ACQUIRE); \
  if (real == NULL) \
    { \
      real = (ret (*) (__VA_ARGS__)) dlsym (RTLD_NEXT, #name); \
      __atomic_store_n (&real_p, real, __ATOMIC_RELEASE); \
    }

/* A lock is acquired once taken, released before it is let go. */
#define LOCK(type, name) \
void \
name (type *lock) \
{ \
  REAL (void, name, type *); \
  real (lock); \
  __tsan_acquire (lock); \
}

#define TRYLOCK(type, name) \
gboolean \
name (type *lock) \
{ \
  REAL (gboolean, name, type *); \
  if (!real (lock)) \
    return FALSE; \
  __tsan_acquire (lock); \
  return TRUE; \
}

#define UNLOCK(type, name) \
void \
name (type *lock) \
{ \
  REAL (void, name, type *); \
  __tsan_release (lock); \
  real (lock); \
}

LOCK (GMutex, g_mutex_lock)
TRYLOCK (GMutex, g_mutex_trylock)
UNLOCK (GMutex, g_mutex_unlock)
LOCK (GRecMutex, g_rec_mutex_lock)
TRYLOCK (GRecMutex, g_rec_mutex_trylock)
UNLOCK (GRecMutex, g_rec_mutex_unlock)
LOCK (GRWLock, g_rw_lock_writer_lock)
UNLOCK (GRWLock, g_rw_lock_writer_unlock)
LOCK (GRWLock, g_rw_lock_reader_lock)
UNLOCK (GRWLock, g_rw_lock_reader_unlock)

void
g_cond_wait (GCond  *cond,
             GMutex *mutex)
{
  REAL (void, g_cond_wait, GCond *, GMutex *);
  __tsan_release (mutex);
  real (cond, mutex);
  __tsan_acquire (mutex);
}

gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  gboolean ret;
  REAL (gboolean, g_cond_wait_until, GCond *, GMutex *, gint64);
  __tsan_release (mutex);
  ret = real (cond, mutex, end_time);
  __tsan_acquire (mutex);
  return ret;
}

void
(g_once_init_leave) (volatile void *location,
                   gsize          result)
{
  REAL (void, g_once_init_leave, volatile void *, gsize);
  __tsan_release ((void *) location);
  real (location, result);
}

gboolean
(g_once_init_enter) (volatile void *location)
{
  gboolean ret;
  REAL (gboolean, g_once_init_enter, volatile void *);
  ret = real (location);
  __tsan_acquire ((void *) location);
  return ret;
}

void
g_object_unref (gpointer object)
{
  REAL (void, g_object_unref, gpointer);
  __tsan_release (object);
  __tsan_acquire (object);
  real (object);
}

/* Each GSourceFuncs a source is attached with gets a copy whose dispatch
 * acquires on the source first; the copies are kept for the process. */
typedef struct
{
  GSourceFuncs wrapper;
  const GSourceFuncs *original;
} FuncsPair;

#define N_PAIRS 64
static FuncsPair pairs[N_PAIRS];
static guint n_pairs;
static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;

/* The GSource may be freed by libglib in another thread after its last
 * dispatch, with a reference count this tool cannot see: the wrapper's
 * own accesses to it are not checked (the dispatch function is). */
__attribute__ ((no_sanitize_thread)) static gboolean
dispatch_wrapper (GSource     *source,
                  GSourceFunc  callback,
                  gpointer     user_data)
{
  const GSourceFuncs *funcs = source->source_funcs;
  FuncsPair *pair = (FuncsPair *) funcs;

  __tsan_acquire (source);
  return pair->original->dispatch (source, callback, user_data);
}

__attribute__ ((no_sanitize_thread)) static void
wrap_funcs (GSource *source)
{
  const GSourceFuncs *funcs = source->source_funcs;
  FuncsPair *pair = NULL;
  guint i;

  if (funcs == NULL || funcs->dispatch == NULL || funcs->dispatch == dispatch_wrapper)
    return;
  pthread_mutex_lock (&pairs_lock);
  for (i = 0; i < n_pairs; i++)
    if (pairs[i].original == funcs)
      pair = &pairs[i];
  if (pair == NULL && n_pairs < N_PAIRS)
    {
      pair = &pairs[n_pairs++];
      pair->wrapper = *funcs;
      pair->wrapper.dispatch = dispatch_wrapper;
      pair->original = funcs;
    }
  pthread_mutex_unlock (&pairs_lock);
  if (pair != NULL)
    source->source_funcs = &pair->wrapper;
}

guint
g_source_attach (GSource      *source,
                 GMainContext *context)
{
  guint id;
  REAL (guint, g_source_attach, GSource *, GMainContext *);
  wrap_funcs (source);
  __tsan_release (source);
  __tsan_release (context != NULL ? context : g_main_context_default ());
  /* What libglib does inside (grow the context's arrays) it does under
   * the context's lock, which the tool cannot see. */
  __tsan_ignore_thread_begin ();
  id = real (source, context);
  __tsan_ignore_thread_end ();
  return id;
}

/* The callback's record: libglib holds it with a reference count of its
 * own while the callback runs, so that a source destroyed in another
 * thread meanwhile frees the data (its GDestroyNotify) only after the
 * callback returned.  That count is compiled inside libglib, where the
 * tool cannot see it: the record is made here instead, through
 * g_source_set_callback_indirect(); using it acquires what its making
 * released, each unref releases, and the last one acquires before the
 * notify. */
typedef struct
{
  gint ref_count;
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} Callback;

static void
callback_ref (gpointer cb_data)
{
  Callback *callback = cb_data;

  __tsan_acquire (callback);
  __atomic_fetch_add (&callback->ref_count, 1, __ATOMIC_RELAXED);
}

static void
callback_unref (gpointer cb_data)
{
  Callback *callback = cb_data;

  __tsan_release (callback);
  if (__atomic_fetch_sub (&callback->ref_count, 1, __ATOMIC_ACQ_REL) != 1)
    return;
  __tsan_acquire (callback);
  if (callback->notify != NULL)
    callback->notify (callback->data);
  free (callback);
}

static void
callback_get (gpointer      cb_data,
              GSource      *source,
              GSourceFunc  *func,
              gpointer     *data)
{
  Callback *callback = cb_data;

  __tsan_acquire (callback);
  *func = callback->func;
  *data = callback->data;
}

static GSourceCallbackFuncs callback_funcs = { callback_ref, callback_unref, callback_get };

void
g_source_set_callback (GSource        *source,
                       GSourceFunc     func,
                       gpointer        data,
                       GDestroyNotify  notify)
{
  Callback *callback = malloc (sizeof (Callback));

  if (callback == NULL)
    abort ();
  callback->ref_count = 1;
  callback->func = func;
  callback->data = data;
  callback->notify = notify;
  __tsan_release (callback);
  /* libglib frees the record it replaces under the context's lock. */
  __tsan_ignore_thread_begin ();
  g_source_set_callback_indirect (source, callback, &callback_funcs);
  __tsan_ignore_thread_end ();
}

/* The last reference to a context destroys the sources still attached,
 * in the calling thread, after the context's lock; and frees the context
 * after what every thread that held a reference did with it. */
void
g_main_context_unref (GMainContext *context)
{
  REAL (void, g_main_context_unref, GMainContext *);
  __tsan_release (context);
  __tsan_acquire (context);
  real (context);
}

void
g_source_set_ready_time (GSource *source,
                         gint64   ready_time)
{
  REAL (void, g_source_set_ready_time, GSource *, gint64);
  __tsan_release (source);
  real (source, ready_time);
}

/* The functions of libglib that attach a source of their own: their
 * callback acquires on a token that the call released. */
typedef struct
{
  GSourceFunc function;
  gpointer data;
  GDestroyNotify notify;
} Trampoline;

static gboolean
trampoline_call (gpointer user_data)
{
  Trampoline *t = user_data;

  __tsan_acquire (t);
  return t->function (t->data);
}

static void
trampoline_free (gpointer user_data)
{
  Trampoline *t = user_data;

  __tsan_acquire (t);
  if (t->notify != NULL)
    t->notify (t->data);
  g_free (t);
}

static Trampoline *
trampoline_new (GSourceFunc    function,
                gpointer       data,
                GDestroyNotify notify)
{
  Trampoline *t = g_new (Trampoline, 1);

  t->function = function;
  t->data = data;
  t->notify = notify;
  __tsan_release (t);
  return t;
}

void
g_main_context_invoke_full (GMainContext   *context,
                            gint            priority,
                            GSourceFunc     function,
                            gpointer        data,
                            GDestroyNotify  notify)
{
  REAL (void, g_main_context_invoke_full, GMainContext *, gint, GSourceFunc, gpointer, GDestroyNotify);
  real (context, priority, trampoline_call,
        trampoline_new (function, data, notify), trampoline_free);
}

guint
g_idle_add_full (gint           priority,
                 GSourceFunc    function,
                 gpointer       data,
                 GDestroyNotify notify)
{
  REAL (guint, g_idle_add_full, gint, GSourceFunc, gpointer, GDestroyNotify);
  return real (priority, trampoline_call,
               trampoline_new (function, data, notify), trampoline_free);
}

guint
g_timeout_add_full (gint           priority,
                    guint          interval,
                    GSourceFunc    function,
                    gpointer       data,
                    GDestroyNotify notify)
{
  REAL (guint, g_timeout_add_full, gint, guint, GSourceFunc, gpointer, GDestroyNotify);
  return real (priority, interval, trampoline_call,
               trampoline_new (function, data, notify), trampoline_free);
}

void
g_main_context_invoke (GMainContext *context,
                       GSourceFunc   function,
                       gpointer      data)
{
  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, function, data, NULL);
}

guint
g_idle_add (GSourceFunc function,
            gpointer    data)
{
  return g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, function, data, NULL);
}

guint
g_timeout_add (guint       interval,
               GSourceFunc function,
               gpointer    data)
{
  return g_timeout_add_full (G_PRIORITY_DEFAULT, interval, function, data, NULL);
}

/* Without G_DISABLE_CHECKS the grefcount macros call into libglib. */
gboolean
(g_atomic_ref_count_dec) (gatomicrefcount *arc)
{
  gboolean ret;
  REAL (gboolean, g_atomic_ref_count_dec, gatomicrefcount *);
  __tsan_release (arc);
  ret = real (arc);
  if (ret)
    __tsan_acquire (arc);
  return ret;
}

/* json-glib counts its references with atomics of its own. */
#define UNREF(type, name) \
void \
name (type *object) \
{ \
  REAL (void, name, type *); \
  __tsan_release (object); \
  __tsan_acquire (object); \
  real (object); \
}

UNREF (JsonNode, json_node_unref)
UNREF (JsonObject, json_object_unref)
UNREF (JsonArray, json_array_unref)
UNREF (GBytes, g_bytes_unref)

/* An object's data list is locked with a bit lock of libglib: storing
 * data happens before getting it. */
void
g_object_set_qdata_full (GObject        *object,
                         GQuark          quark,
                         gpointer        data,
                         GDestroyNotify  destroy)
{
  REAL (void, g_object_set_qdata_full, GObject *, GQuark, gpointer, GDestroyNotify);
  __tsan_release ((char *) object + 1);
  real (object, quark, data, destroy);
}

void
g_object_set_qdata (GObject  *object,
                    GQuark    quark,
                    gpointer  data)
{
  REAL (void, g_object_set_qdata, GObject *, GQuark, gpointer);
  __tsan_release ((char *) object + 1);
  real (object, quark, data);
}

gpointer
g_object_get_qdata (GObject *object,
                    GQuark   quark)
{
  gpointer ret;
  REAL (gpointer, g_object_get_qdata, GObject *, GQuark);
  ret = real (object, quark);
  __tsan_acquire ((char *) object + 1);
  return ret;
}

/* A GAsyncQueue and a GThreadPool hand their data over under a lock of
 * libglib: pushing an item happens before popping it.  The queue's own
 * nodes are allocated and freed inside, under that lock. */
void
g_async_queue_push (GAsyncQueue *queue,
                    gpointer     data)
{
  REAL (void, g_async_queue_push, GAsyncQueue *, gpointer);
  __tsan_release (queue);
  __tsan_ignore_thread_begin ();
  real (queue, data);
  __tsan_ignore_thread_end ();
}

void
g_async_queue_push_front (GAsyncQueue *queue,
                          gpointer     data)
{
  REAL (void, g_async_queue_push_front, GAsyncQueue *, gpointer);
  __tsan_release (queue);
  __tsan_ignore_thread_begin ();
  real (queue, data);
  __tsan_ignore_thread_end ();
}

gpointer
g_async_queue_pop (GAsyncQueue *queue)
{
  gpointer ret;
  REAL (gpointer, g_async_queue_pop, GAsyncQueue *);
  __tsan_ignore_thread_begin ();
  ret = real (queue);
  __tsan_ignore_thread_end ();
  __tsan_acquire (queue);
  return ret;
}

gpointer
g_async_queue_try_pop (GAsyncQueue *queue)
{
  gpointer ret;
  REAL (gpointer, g_async_queue_try_pop, GAsyncQueue *);
  __tsan_ignore_thread_begin ();
  ret = real (queue);
  __tsan_ignore_thread_end ();
  __tsan_acquire (queue);
  return ret;
}

gpointer
g_async_queue_timeout_pop (GAsyncQueue *queue,
                           guint64      timeout)
{
  gpointer ret;
  REAL (gpointer, g_async_queue_timeout_pop, GAsyncQueue *, guint64);
  __tsan_ignore_thread_begin ();
  ret = real (queue, timeout);
  __tsan_ignore_thread_end ();
  __tsan_acquire (queue);
  return ret;
}

typedef struct
{
  GFunc func;
  gpointer user_data;
} PoolFunc;

static void
pool_func_call (gpointer data,
                gpointer user_data)
{
  PoolFunc *pool_func = user_data;

  __tsan_acquire (data);
  pool_func->func (data, pool_func->user_data);
}

GThreadPool *
g_thread_pool_new (GFunc     func,
                   gpointer  user_data,
                   gint      max_threads,
                   gboolean  exclusive,
                   GError  **error)
{
  /* Kept as long as the pool: pools are few and live long. */
  PoolFunc *pool_func = g_new (PoolFunc, 1);
  REAL (GThreadPool *, g_thread_pool_new, GFunc, gpointer, gint, gboolean, GError **);

  pool_func->func = func;
  pool_func->user_data = user_data;
  return real (pool_func_call, pool_func, max_threads, exclusive, error);
}

gboolean
g_thread_pool_push (GThreadPool  *pool,
                    gpointer      data,
                    GError      **error)
{
  gboolean ret;
  REAL (gboolean, g_thread_pool_push, GThreadPool *, gpointer, GError **);
  __tsan_release (data);
  __tsan_ignore_thread_begin ();
  ret = real (pool, data, error);
  __tsan_ignore_thread_end ();
  return ret;
}

/* tsan.supp ignores what libglib does with its own memory, and so the
 * free() inside g_free(): freeing goes through here instead, from an
 * instrumented module, and is checked against the accesses of other
 * threads.  The TSan build runs the tests with G_SLICE=always-malloc,
 * where a slice is a malloc() block too (GObject instances among them). */
void
g_free (gpointer mem)
{
  free (mem);
}

void
g_slice_free1 (gsize    block_size,
               gpointer mem_block)
{
  gboolean always_malloc;
  REAL (void, g_slice_free1, gsize, gpointer);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  always_malloc = g_slice_get_config (G_SLICE_CONFIG_ALWAYS_MALLOC);
  G_GNUC_END_IGNORE_DEPRECATIONS

  /* Run by hand without G_SLICE=always-malloc: a block of a magazine. */
  if (always_malloc)
    free (mem_block);
  else
    real (block_size, mem_block);
}
