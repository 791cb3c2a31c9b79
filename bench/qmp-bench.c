/* qmp-bench.c — how fast qmp-glib is, next to the physical limit
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Starts qmp-bench-mock on a socket of its own temporary directory and
 * qmp-bench-raw (a client with nothing in it), then runs each scenario
 * with qmp-glib (public API only) and with the raw client, interleaved,
 * after a warm-up of both, and prints one table: median [min–max] of the
 * repetitions, and the ratio of the medians.  Scenario 7 starts a real
 * qemu-system-x86_64 the same way.  By default it runs twice, in a child
 * of its own each time: unpinned, and pinned (servers on one CPU, clients
 * on another), one table each.  See bench/README.md.
 */

#define _GNU_SOURCE   /* sched_setaffinity, CPU_SET */

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qmp-glib.h>

/* -------------------------------------------------------------- rows */

typedef enum {
  TARGET_NONE,
  TARGET_RATIO_MAX,   /* ratio ≤ target */
  TARGET_VALUE_MIN,   /* qmp-glib median ≥ target */
  TARGET_VALUE_MAX,   /* qmp-glib median ≤ target */
} TargetKind;

typedef struct
{
  const char *id;            /* for --json */
  const char *scenario;      /* the --scenario that runs it */
  const char *number;
  const char *title;
  const char *unit;
  int precision;             /* digits after the point */
  gboolean higher_is_better;
  TargetKind target_kind;
  double target;
  const char *target_text;
  const char *reference;     /* what the second column is: NULL for the raw client */

  GArray *lib;               /* doubles: one per repetition */
  GArray *raw;               /* the same, of the reference */
  char *skipped;             /* why it did not run */
  char *note;
  int target_met;            /* -1: not judged; set for custom targets */
} Row;

static Row rows[] = {
  { "serial-sync", "serial-sync", "1", "serial round trip, execute_sync", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.2, "≤ 1.2× raw" },
  { "serial-async", "serial-async", "2", "serial round trip, execute_async", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.5, "≤ 1.5× raw" },
  { "pipelined", "pipelined", "3", "pipelined, 100,000 execute_async", "µs/op", 2,
    FALSE, TARGET_RATIO_MAX, 1.3, "≤ 1.3× raw" },
  { "pipelined-window", "pipelined", "3b", "8 kept in flight from the callbacks", "µs/op", 2,
    FALSE, TARGET_NONE, 0, "—" },
  { "events", "events", "4", "events delivered as event::BENCH", "events/s", 0,
    TRUE, TARGET_VALUE_MIN, 1000000, "≥ 1,000,000/s" },
  { "events-data", "events", "4b", "event::BENCH, the handler reads the data", "events/s", 0,
    TRUE, TARGET_VALUE_MIN, 1000000, "≥ 1,000,000/s" },
  { "schema", "schema", "5", "~210 KB reply parsed and returned", "ms", 3,
    FALSE, TARGET_VALUE_MAX, 2.0, "≤ 2 ms" },
  /* Printed in the order of their numbers, wherever they are here. */
  { "python-serial", "python", "12a", "Python serial execute_sync, vs C", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.3, "≤ 1.3× C", "C" },
  { "python-serial-qemu-qmp", "python", "12b", "Python serial, vs qemu.qmp", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 0.5, "≥ 2× faster", "qemu.qmp" },
  { "python-schema", "python", "12c", "Python ~210 KB reply, vs C", "ms", 2,
    FALSE, TARGET_VALUE_MAX, 4.0, "≤ 4 ms", "C" },
  { "python-schema-qemu-qmp", "python", "12d", "Python ~210 KB reply, vs qemu.qmp", "ms", 2,
    FALSE, TARGET_RATIO_MAX, 1.0 / 3, "≥ 3× faster", "qemu.qmp" },
  { "reader-events", "line-reader", "13a", "200,000 events read, data looked up", "events/s", 0,
    TRUE, TARGET_NONE, 0, "", "GDIS" },
  { "reader-events-rss", "line-reader", "13b", "200,000 events read: peak RSS growth", "MiB", 1,
    FALSE, TARGET_NONE, 0, "", "GDIS" },
  { "reader-reply", "line-reader", "13c", "~210 KB reply read and parsed", "ms", 2,
    FALSE, TARGET_NONE, 0, "", "GDIS" },
  { "reader-reply-rss", "line-reader", "13d", "~210 KB reply: peak RSS growth", "MiB", 1,
    FALSE, TARGET_NONE, 0, "", "GDIS" },
  { "reader-long-line", "line-reader", "13e", "200 MB line: time until refused", "ms", 0,
    FALSE, TARGET_NONE, 0, "", "GDIS" },
  { "reader-long-line-rss", "line-reader", "13f", "200 MB line: peak RSS growth", "MiB", 1,
    FALSE, TARGET_VALUE_MAX, 72, "≤ 72 MiB", "GDIS" },
  { "connections-threads", "connections", "6a", "1,000 connections: threads", "threads", 0,
    FALSE, TARGET_NONE, 0, "1 I/O thread" },
  { "connections-rss", "connections", "6b", "1,000 connections: RSS each", "KiB/conn", 1,
    FALSE, TARGET_VALUE_MAX, 64, "≤ 64 KiB" },
  { "connections-time", "connections", "6c", "1,000 connections: connect all", "ms", 1,
    FALSE, TARGET_NONE, 0, "" },
  { "qemu-serial", "qemu", "7", "real QEMU, serial round trip", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.05, "≤ 1.05× raw" },
  { "memory-arrays", "memory", "8a", "peak RSS, reply of [],[],…", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-objects", "memory", "8b", "peak RSS, reply of {},{},…", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-strings", "memory", "8c", "peak RSS, reply of \"a\",\"a\",…", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-ints", "memory", "8d", "peak RSS, reply of 0,0,…", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-deep-arrays", "memory", "8e", "peak RSS, [[…]] 1,000 deep, repeated", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-deep-objects", "memory", "8f", "peak RSS, {\"a\":{…}} 1,000 deep, rep.", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "memory-schema", "memory", "8g", "peak RSS, the schema repeated", "× limit", 2,
    FALSE, TARGET_VALUE_MAX, 16, "≤ 16× limit" },
  { "schema-build", "schema-build", "9a", "QmpSchema from query-qmp-schema's text (as fetched)", "ms", 3,
    FALSE, TARGET_VALUE_MAX, 5.0, "≤ 5 ms" },
  { "schema-build-tree", "schema-build", "9b", "QmpSchema from a JsonNode tree of it", "ms", 3,
    FALSE, TARGET_VALUE_MAX, 5.0, "≤ 5 ms" },
  { "schema-memory", "schema-build", "9c", "QmpSchema: heap of one schema", "KiB", 0,
    FALSE, TARGET_NONE, 0, "" },
  { "slow-events-rss", "slow-events", "10", "1,000,000 events, 5 µs handler: peak RSS growth", "MiB", 1,
    FALSE, TARGET_VALUE_MAX, 64, "< 64 MiB" },
  { "proxy-serial", "proxy", "11", "serial round trip through a QmpProxy", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.5, "≤ 1.5× direct", "direct" },
  /* What a caller that needs no JsonNode tree gets: the return validated,
   * as text (execute_json_sync, execute_json_async), and an event's data
   * as the server wrote it (qmp_event_get_data_json).  Beside their tree
   * rows, they show json-glib's share of those. */
  { "serial-sync-text", "serial-sync", "1b", "serial round trip, execute_json_sync (text)", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.2, "≤ 1.2× raw" },
  { "schema-text", "schema", "5b", "~210 KB reply as text (execute_json_sync)", "ms", 3,
    FALSE, TARGET_VALUE_MAX, 2.0, "≤ 2 ms" },
  { "serial-async-text", "serial-async", "2b", "serial round trip, execute_json_async (text)", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.5, "≤ 1.5× raw" },
  { "pipelined-text", "pipelined", "3c", "pipelined, 100,000 execute_json_async (text)", "µs/op", 2,
    FALSE, TARGET_RATIO_MAX, 1.3, "≤ 1.3× raw" },
  { "events-text", "events", "4c", "event::BENCH, the handler reads the data as text", "events/s", 0,
    TRUE, TARGET_VALUE_MIN, 1000000, "≥ 1,000,000/s" },
  { "qemu-serial-text", "qemu", "7b", "real QEMU serial, execute_json_sync (text)", "µs/op", 1,
    FALSE, TARGET_RATIO_MAX, 1.05, "≤ 1.05× raw" },
};

enum { ROW_SERIAL_SYNC, ROW_SERIAL_ASYNC, ROW_PIPELINED, ROW_PIPELINED_WINDOW, ROW_EVENTS,
       ROW_EVENTS_DATA, ROW_SCHEMA,
       ROW_PYTHON_SERIAL, ROW_PYTHON_SERIAL_QEMU_QMP, ROW_PYTHON_SCHEMA, ROW_PYTHON_SCHEMA_QEMU_QMP,
       ROW_READER_EVENTS, ROW_READER_EVENTS_RSS, ROW_READER_REPLY, ROW_READER_REPLY_RSS,
       ROW_READER_LONG, ROW_READER_LONG_RSS,
       ROW_CONN_THREADS, ROW_CONN_RSS, ROW_CONN_TIME, ROW_QEMU, ROW_MEMORY_FIRST,
       ROW_SCHEMA_BUILD = ROW_MEMORY_FIRST + 7, ROW_SCHEMA_BUILD_TREE, ROW_SCHEMA_MEMORY,
       ROW_SLOW_EVENTS, ROW_PROXY, ROW_SERIAL_SYNC_TEXT, ROW_SCHEMA_TEXT,
       ROW_SERIAL_ASYNC_TEXT, ROW_PIPELINED_TEXT, ROW_EVENTS_TEXT, ROW_QEMU_TEXT, N_ROWS };

/* The shapes of scenario 8, in the order of its rows (the mock's names). */
static const char *memory_shapes[] = {
  "arrays", "objects", "strings", "ints", "deep-arrays", "deep-objects", "schema",
};
G_STATIC_ASSERT (G_N_ELEMENTS (memory_shapes) == ROW_SCHEMA_BUILD - ROW_MEMORY_FIRST);
G_STATIC_ASSERT (N_ROWS == G_N_ELEMENTS (rows));

static const char *scenario_names[] = {
  "python", "line-reader",
  "serial-sync", "serial-async", "pipelined", "events", "schema", "connections", "qemu", "memory",
  "schema-build", "slow-events", "proxy", NULL
};

/* ----------------------------------------------------------- options */

static char **opt_scenarios;
static char *opt_json;
static char *opt_mock;
static char *opt_raw;
static char *opt_qemu;
static int opt_reps = 7;
static gboolean opt_quick;
static gboolean opt_no_raw;
static int opt_connections = 1000;
static char *opt_connections_child;   /* internal: the address */
static char *opt_slow_events_child;   /* internal: the address */
static int opt_slow_events = 1000000;
static int opt_stall_seconds = 15;
static gint64 opt_memory_limit = 8 * 1024 * 1024;
static char *opt_memory_child;        /* internal: the address */
static char *opt_memory_shape;        /* internal */
static gint64 opt_memory_size;        /* internal */
static char *opt_placement;           /* NULL: both, one after the other */
static char *opt_json_part;           /* internal: this placement's JSON */
static char *opt_python;
static char *opt_python_script;
static char *opt_reader_child;        /* internal: the address */
static char *opt_reader_impl;         /* internal: channel, gdis */
static char *opt_reader_load;         /* internal: events, reply, long-line */
static gboolean opt_reader_no_parse;  /* internal */
static gint64 opt_reader_count;       /* internal */
static gint64 opt_long_line = 200 * 1000 * 1000;

static GOptionEntry option_entries[] = {
  { "scenario", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt_scenarios,
    "Run only this scenario (repeatable, or comma-separated): serial-sync, serial-async, "
    "pipelined, events, schema, connections, qemu, memory, schema-build, slow-events, "
    "python, line-reader", "NAME" },
  { "placement", 'p', 0, G_OPTION_ARG_STRING, &opt_placement,
    "unpinned, pinned (servers on one CPU, qmp-bench and the other clients on another), "
    "or both (the default: one table each)", "MODE" },
  { "json", 'j', 0, G_OPTION_ARG_FILENAME, &opt_json, "Also write the results as JSON to FILE", "FILE" },
  { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "Repetitions of each scenario (default 7; 3 at most for scenario 6)", "N" },
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
    "A tenth of the work and one repetition (for valgrind)", NULL },
  { "no-raw", 0, 0, G_OPTION_ARG_NONE, &opt_no_raw, "Do not run the raw client (for profiling)", NULL },
  { "mock", 0, 0, G_OPTION_ARG_FILENAME, &opt_mock, "The mock server (default: next to qmp-bench)", "PATH" },
  { "raw", 0, 0, G_OPTION_ARG_FILENAME, &opt_raw, "The raw client (default: next to qmp-bench)", "PATH" },
  { "qemu", 0, 0, G_OPTION_ARG_FILENAME, &opt_qemu, "QEMU binary (default: qemu-system-x86_64 in PATH)", "PATH" },
  { "connections", 'n', 0, G_OPTION_ARG_INT, &opt_connections, "Connections in scenario 6 (default 1000)", "N" },
  { "stall-timeout", 0, 0, G_OPTION_ARG_INT, &opt_stall_seconds,
    "Fail a scenario that makes no progress for this many seconds (default 15)", "S" },
  { "memory-limit", 0, 0, G_OPTION_ARG_INT64, &opt_memory_limit,
    "max-message-size in scenario 8 (default 8388608)", "BYTES" },
  { "connections-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_connections_child, NULL, NULL },
  { "slow-events", 0, 0, G_OPTION_ARG_INT, &opt_slow_events, "Events in scenario 10 (default 1000000)", "N" },
  { "slow-events-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_slow_events_child, NULL, NULL },
  { "python", 0, 0, G_OPTION_ARG_FILENAME, &opt_python,
    "The Python of the Python rows (default: /usr/bin/python3)", "PATH" },
  { "python-script", 0, 0, G_OPTION_ARG_FILENAME, &opt_python_script,
    "bench/qmp-bench.py, for the Python rows (without it they are not available)", "PATH" },
  { "long-line", 0, 0, G_OPTION_ARG_INT64, &opt_long_line,
    "Bytes of the long line of scenario 13 (default 200000000)", "BYTES" },
  { "json-part", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_json_part, NULL, NULL },
  { "reader-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_reader_child, NULL, NULL },
  { "reader-impl", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_reader_impl, NULL, NULL },
  { "reader-load", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_reader_load, NULL, NULL },
  { "reader-no-parse", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_reader_no_parse, NULL, NULL },
  { "reader-count", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_reader_count, NULL, NULL },
  { "memory-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_memory_child, NULL, NULL },
  { "memory-shape", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_memory_shape, NULL, NULL },
  { "memory-size", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_memory_size, NULL, NULL },
  { NULL }
};

/* ------------------------------------------------------------- state */

typedef struct
{
  char *self;                 /* this executable */
  char *tmpdir;
  char *mock_socket;
  char *mock_address;         /* "unix:…" */
  GSubprocess *mock;
  GSubprocess *raw;
  GOutputStream *raw_in;
  GDataInputStream *raw_out;
  GMainLoop *loop;
  double scale;
  int reps;
  gboolean measuring;         /* in a repetition, not a warm-up */
} Bench;

/* The CPU time of the thread that runs a scenario (where a _sync caller
 * builds its reply, where the event handlers run), per unit of the row,
 * one sample per repetition: rows 4, 4b, 4c and 5 report its median in
 * their note, next to what json-glib's own calls cost for the same work. */
static GArray *thread_cpu_samples[4];   /* 4, 4b, 5, 4c */

static double
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
thread_cpu_add (guint  which,
                double value)
{
  if (thread_cpu_samples[which] == NULL)
    thread_cpu_samples[which] = g_array_new (FALSE, FALSE, sizeof (double));
  g_array_append_val (thread_cpu_samples[which], value);
}

/* This run's placement: "unpinned" or "pinned" (see placement_pin_self()). */
static const char *placement = "unpinned";

static double
now_us (void)
{
  return (double) g_get_monotonic_time ();
}

static long
scaled (Bench *b,
        long   n)
{
  long m = (long) ((double) n * b->scale);

  return m > 0 ? m : 1;
}

static void
progress (const char *format,
          ...) G_GNUC_PRINTF (1, 2);

static void
progress (const char *format,
          ...)
{
  va_list args;
  g_autofree char *text = NULL;

  static gint64 start;

  if (start == 0)
    start = g_get_monotonic_time ();
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("qmp-bench: %s [%s, %.1f s]\n", text, placement,
              (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
}

static void
raise_nofile_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* ---------------------------------------------------------- watchdog */

/* A thread that watches the scenario in progress, so that a library that
 * loses a call fails the scenario instead of hanging the benchmark.  The
 * measured code pays one atomic increment per operation.  When nothing
 * happened for opt_stall_seconds:
 *  - a _sync scenario (the main thread is blocked in the library): the
 *    connection is closed, which fails the pending call;
 *  - an _async scenario: the main loop is quit, and the run abandons its
 *    connection and its state (leaked on purpose: closing a connection
 *    with calls still queued is what may have gone wrong). */
static GMutex watch_lock;
static QmpConnection *watch_conn;     /* protected by watch_lock */
static GMainLoop *watch_loop;         /* protected by watch_lock; NULL for _sync runs */
static gint watch_progress;           /* atomic */
static gint watch_stalled;            /* atomic */
static int abandoned_connections;     /* main thread only */

#define WATCH_TICK() g_atomic_int_inc (&watch_progress)

static void
watch_begin (QmpConnection *conn,
             GMainLoop     *loop)
{
  g_mutex_lock (&watch_lock);
  g_set_object (&watch_conn, conn);
  watch_loop = loop;
  g_atomic_int_set (&watch_stalled, FALSE);
  g_mutex_unlock (&watch_lock);
}

static void
watch_end (void)
{
  g_mutex_lock (&watch_lock);
  g_clear_object (&watch_conn);
  watch_loop = NULL;
  g_mutex_unlock (&watch_lock);
}

static gpointer
watchdog_thread (gpointer data)
{
  gint last = -1;
  int idle_seconds = 0;

  for (;;)
    {
      g_autoptr(QmpConnection) victim = NULL;
      gint progress;

      g_usleep (G_USEC_PER_SEC);
      progress = g_atomic_int_get (&watch_progress);

      g_mutex_lock (&watch_lock);
      if (watch_conn == NULL || progress != last)
        idle_seconds = 0;
      else if (++idle_seconds >= opt_stall_seconds)
        {
          g_atomic_int_set (&watch_stalled, TRUE);
          g_printerr ("qmp-bench: no progress for %d s: giving up on this scenario\n", opt_stall_seconds);
          if (watch_loop != NULL)
            g_main_loop_quit (watch_loop);
          else
            victim = g_object_ref (watch_conn);
          g_clear_object (&watch_conn);
          idle_seconds = 0;
        }
      last = progress;
      g_mutex_unlock (&watch_lock);

      if (victim != NULL)
        qmp_connection_close_sync (victim, NULL, NULL);
    }

  return NULL;
}

static gboolean
watch_has_stalled (void)
{
  return g_atomic_int_get (&watch_stalled);
}

/* The error of a failed run, said plainly when the watchdog caused it. */
static void
watch_explain (GError **error)
{
  if (error != NULL && *error != NULL && watch_has_stalled () &&
      !g_str_has_prefix ((*error)->message, "stalled"))
    g_prefix_error (error, "stalled (no progress for %d s, connection closed by the watchdog): ",
                    opt_stall_seconds);
}

/* ---------------------------------------------------------- placement */

/* Where the processes run.  Unpinned, the scheduler places them; on two
 * CPUs a client and its server often share one, and a round trip is then
 * a few µs of context switch instead of a wake-up on the other CPU.
 * Pinned, the servers (the mock, QEMU) run on one CPU and the clients on
 * another: qmp-bench with all its threads (the library's I/O thread too),
 * the raw client, Python, the children of scenarios 6, 8, 10 and 13.
 * Children inherit the affinity of the thread that starts them, so only
 * the servers need setting; see server_launcher_new(). */
static int server_cpu = -1;
static int client_cpu = -1;
static cpu_set_t server_cpu_set;
static gboolean servers_pinned;

/* The first two CPUs this process may use. */
static gboolean
placement_find_cpus (GError **error)
{
  cpu_set_t allowed;

  CPU_ZERO (&allowed);
  if (sched_getaffinity (0, sizeof allowed, &allowed) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "sched_getaffinity: %s",
                   g_strerror (errno));
      return FALSE;
    }
  for (int cpu = 0; cpu < CPU_SETSIZE && client_cpu < 0; cpu++)
    if (CPU_ISSET (cpu, &allowed))
      {
        if (server_cpu < 0)
          server_cpu = cpu;
        else
          client_cpu = cpu;
      }
  if (client_cpu < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "not available: pinning needs 2 CPUs, and this process may use %d",
                   CPU_COUNT (&allowed));
      return FALSE;
    }
  return TRUE;
}

/* Every thread of this process on the client CPU; the threads they make
 * from now on inherit it. */
static gboolean
placement_pin_self (GError **error)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, error);
  const char *name;
  cpu_set_t set;

  if (dir == NULL)
    return FALSE;
  CPU_ZERO (&set);
  CPU_SET (client_cpu, &set);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (sched_setaffinity ((pid_t) strtol (name, NULL, 10), sizeof set, &set) < 0 && errno != ESRCH)
      {
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "sched_setaffinity: %s",
                     g_strerror (errno));
        return FALSE;
      }

  CPU_ZERO (&server_cpu_set);
  CPU_SET (server_cpu, &server_cpu_set);
  servers_pinned = TRUE;
  return TRUE;
}

/* In each child: die with qmp-bench, even when it is killed. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* The same, for a server: on the server CPU when pinned. */
static void
server_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (servers_pinned)
    sched_setaffinity (0, sizeof server_cpu_set, &server_cpu_set);
}

/* For the clients: they run where qmp-bench runs. */
static GSubprocessLauncher *
launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return launcher;
}

/* For the servers (the mock, QEMU): on the server CPU when pinned. */
static GSubprocessLauncher *
server_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, server_child_setup, NULL, NULL);
  return launcher;
}

static long
read_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmRSS:");
  return line ? strtol (line + 6, NULL, 10) : -1;
}

/* The peak RSS since the last reset_peak_rss(), in KiB. */
static long
read_peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmHWM:");
  return line ? strtol (line + 6, NULL, 10) : -1;
}

/* Makes VmHWM the current RSS (Linux 4.0 and later). */
static gboolean
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "5", 1) == 1;
  close (fd);
  return ok;
}

/* Threads of this process, and how many of them are qmp-glib's worker. */
static int
count_threads (int *io_threads)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *name;
  int n = 0;

  *io_threads = 0;
  if (dir == NULL)
    return -1;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", name);
      g_autofree char *comm = NULL;

      n++;
      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "qmp-worker"))
        (*io_threads)++;
    }
  return n;
}

/* ------------------------------------------------------ the raw client */

/* Runs one scenario in the raw client: "ok V1 V2 V3" → @values. */
static gboolean
raw_request (Bench       *b,
             const char  *scenario,
             const char  *socket_path,
             long         n,
             double      *values,
             int          n_values,
             GError     **error)
{
  g_autofree char *request = g_strdup_printf ("%s %s %ld\n", scenario, socket_path, n);
  g_autofree char *answer = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_output_stream_write_all (b->raw_in, request, strlen (request), NULL, NULL, error) ||
      !g_output_stream_flush (b->raw_in, NULL, error))
    return FALSE;

  answer = g_data_input_stream_read_line_utf8 (b->raw_out, NULL, NULL, error);
  if (answer == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "the raw client exited");
      return FALSE;
    }

  fields = g_strsplit (answer, " ", -1);
  if (!g_str_equal (fields[0], "ok") || g_strv_length (fields) < (guint) n_values + 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw client: %s", answer);
      return FALSE;
    }
  for (int i = 0; i < n_values; i++)
    values[i] = g_ascii_strtod (fields[i + 1], NULL);

  return TRUE;
}

/* ---------------------------------------------- qmp-glib: the scenarios */

typedef gboolean (*LibRunFunc) (Bench          *b,
                                QmpConnection  *conn,
                                long            n,
                                double         *value,
                                GError        **error);

static gboolean
check_status (JsonNode  *node,
              GError   **error)
{
  JsonObject *object;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  object = json_node_get_object (node);
  if (!json_object_has_member (object, "status"))
    goto bad;
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "query-status returned something unexpected");
  return FALSE;
}

/* The same check on the text of the return. */
static gboolean
check_status_text (const char  *text,
                   GError     **error)
{
  if (strstr (text, "\"status\"") != NULL)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "query-status returned something unexpected");
  return FALSE;
}

/* 1, 1b: execute_sync, or execute_json_sync (the return as text: no tree
 * is built), one after the other, no main loop. */
static gboolean
serial_sync_loop (QmpConnection  *conn,
                  gboolean        text,
                  long            n,
                  double         *value,
                  GError        **error)
{
  double t0 = now_us ();

  for (long i = 0; i < n; i++)
    {
      g_autoptr(JsonNode) ret = NULL;
      g_autofree char *ret_text = NULL;
      gboolean returned;

      if (text)
        returned = (ret_text = qmp_connection_execute_json_sync (conn, "query-status", NULL,
                                                                 QMP_EXECUTE_FLAGS_NONE, NULL, error)) != NULL;
      else
        returned = (ret = qmp_connection_execute_sync (conn, "query-status", NULL,
                                                       QMP_EXECUTE_FLAGS_NONE, NULL, error)) != NULL;
      WATCH_TICK ();
      if (!returned)
        return FALSE;
      if (i == 0 && !(text ? check_status_text (ret_text, error) : check_status (ret, error)))
        return FALSE;
    }

  *value = (now_us () - t0) / (double) n;
  return TRUE;
}

static gboolean
lib_serial_sync (Bench          *b,
                 QmpConnection  *conn,
                 long            n,
                 double         *value,
                 GError        **error)
{
  return serial_sync_loop (conn, FALSE, n, value, error);
}

static gboolean
lib_serial_sync_text (Bench          *b,
                      QmpConnection  *conn,
                      long            n,
                      double         *value,
                      GError        **error)
{
  return serial_sync_loop (conn, TRUE, n, value, error);
}

typedef struct
{
  Bench *b;
  QmpConnection *conn;
  gboolean text;             /* 2b, 3c: execute_json_async, no tree */
  long to_issue;
  long to_finish;
  GError *error;
  double t_end;
} AsyncRun;

static AsyncRun *
async_run_new (Bench         *b,
               QmpConnection *conn,
               gboolean       text,
               long           n)
{
  AsyncRun *run = g_new0 (AsyncRun, 1);

  run->b = b;
  run->conn = conn;
  run->text = text;
  run->to_issue = n;
  run->to_finish = n;
  return run;
}

/* After the loop: the result, or the error.  A stalled run is abandoned
 * with its connection: calls are still out there, and their callbacks
 * will find @run (leaked) if they ever come. */
static gboolean
async_run_end (AsyncRun  *run,
               long       n,
               double     t0,
               double    *value,
               GError   **error)
{
  if (watch_has_stalled ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "stalled: %ld of %ld calls finished, then nothing for %d s "
                   "(the connection is abandoned, not closed)",
                   n - run->to_finish, n, opt_stall_seconds);
      g_object_ref (run->conn);   /* never disposed: see the watchdog */
      abandoned_connections++;
      return FALSE;
    }
  if (run->error != NULL)
    {
      g_propagate_error (error, run->error);
      /* Calls may still be out there; @run stays for their callbacks. */
      return FALSE;
    }
  *value = (run->t_end - t0) / (double) n;
  g_free (run);
  return TRUE;
}

static void on_serial_async_done (GObject *source, GAsyncResult *result, gpointer user_data);

/* One query-status of @run: its return as a tree, or as text. */
static void
async_run_issue (AsyncRun            *run,
                 GAsyncReadyCallback  callback)
{
  if (run->text)
    qmp_connection_execute_json_async (run->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                       NULL, callback, run);
  else
    qmp_connection_execute_async (run->conn, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                  NULL, callback, run);
}

static void
async_run_finish_one (AsyncRun     *run,
                      GAsyncResult *result)
{
  GError **error = run->error ? NULL : &run->error;
  g_autoptr(JsonNode) ret = NULL;
  g_autofree char *text = NULL;
  gboolean returned;

  if (run->text)
    returned = (text = qmp_connection_execute_json_finish (run->conn, result, error)) != NULL;
  else
    returned = (ret = qmp_connection_execute_finish (run->conn, result, error)) != NULL;

  run->to_finish--;
  WATCH_TICK ();
  if (!returned && run->error == NULL)
    g_set_error (&run->error, G_IO_ERROR, G_IO_ERROR_FAILED, "no return");
  if (run->to_finish == 0)
    {
      run->t_end = now_us ();
      g_main_loop_quit (run->b->loop);
    }
}

/* 2: execute_async from a main loop, each call made by the callback of
 * the one before. */
static void
on_serial_async_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  AsyncRun *run = user_data;

  async_run_finish_one (run, result);
  if (run->to_issue > 0 && run->error == NULL)
    {
      run->to_issue--;
      async_run_issue (run, on_serial_async_done);
    }
  else if (run->error != NULL && run->to_finish > 0)
    g_main_loop_quit (run->b->loop);
}

static gboolean
serial_async_start (gpointer user_data)
{
  AsyncRun *run = user_data;

  run->to_issue--;
  async_run_issue (run, on_serial_async_done);
  return G_SOURCE_REMOVE;
}

/* Runs @start in the main loop until @run's N calls have finished. */
static gboolean
async_run_loop (AsyncRun     *run,
                GSourceFunc   start,
                long          n,
                double       *value,
                GError      **error)
{
  double t0 = now_us ();

  g_idle_add (start, run);
  g_main_loop_run (run->b->loop);
  return async_run_end (run, n, t0, value, error);
}

static gboolean
lib_serial_async (Bench          *b,
                  QmpConnection  *conn,
                  long            n,
                  double         *value,
                  GError        **error)
{
  return async_run_loop (async_run_new (b, conn, FALSE, n), serial_async_start, n, value, error);
}

/* 2b: the same with execute_json_async: the return as text, no tree. */
static gboolean
lib_serial_async_text (Bench          *b,
                       QmpConnection  *conn,
                       long            n,
                       double         *value,
                       GError        **error)
{
  return async_run_loop (async_run_new (b, conn, TRUE, n), serial_async_start, n, value, error);
}

/* 3: all the calls made at once from the main loop; the library keeps 8
 * of them on the wire. */
static void
on_pipelined_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  AsyncRun *run = user_data;

  async_run_finish_one (run, result);
}

static gboolean
pipelined_start (gpointer user_data)
{
  AsyncRun *run = user_data;

  for (; run->to_issue > 0; run->to_issue--)
    async_run_issue (run, on_pipelined_done);
  return G_SOURCE_REMOVE;
}

static gboolean
lib_pipelined (Bench          *b,
               QmpConnection  *conn,
               long            n,
               double         *value,
               GError        **error)
{
  return async_run_loop (async_run_new (b, conn, FALSE, n), pipelined_start, n, value, error);
}

/* 3c: the same with execute_json_async: the returns as text, no trees. */
static gboolean
lib_pipelined_text (Bench          *b,
                    QmpConnection  *conn,
                    long            n,
                    double         *value,
                    GError        **error)
{
  return async_run_loop (async_run_new (b, conn, TRUE, n), pipelined_start, n, value, error);
}

/* 3b: 8 calls in flight kept by the caller, as the raw client keeps them:
 * 8 made at first, then one more from each callback, until N were made.
 * Each new call waits for a callback in the caller's context. */
#define PIPELINE_WINDOW 8

static void
on_window_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  AsyncRun *run = user_data;

  async_run_finish_one (run, result);
  if (run->to_issue > 0 && run->error == NULL)
    {
      run->to_issue--;
      async_run_issue (run, on_window_done);
    }
  else if (run->error != NULL && run->to_finish > 0)
    g_main_loop_quit (run->b->loop);
}

static gboolean
window_start (gpointer user_data)
{
  AsyncRun *run = user_data;

  for (int i = 0; i < PIPELINE_WINDOW && run->to_issue > 0; i++, run->to_issue--)
    async_run_issue (run, on_window_done);
  return G_SOURCE_REMOVE;
}

static gboolean
lib_pipelined_window (Bench          *b,
                      QmpConnection  *conn,
                      long            n,
                      double         *value,
                      GError        **error)
{
  return async_run_loop (async_run_new (b, conn, FALSE, n), window_start, n, value, error);
}

/* 4: bench-events makes N events, then returns; the time until every one
 * was emitted as event::BENCH and the return came. */
typedef struct
{
  Bench *b;
  QmpConnection *conn;
  long expected;
  long received;
  gint64 seq_sum;            /* 4b: the "seq" members read */
  gboolean replied;
  GError *error;
  double t_end;
} EventsRun;

static void
events_run_check_done (EventsRun *run)
{
  if ((run->replied && run->received >= run->expected) || run->error != NULL)
    {
      run->t_end = now_us ();
      g_main_loop_quit (run->b->loop);
    }
}

static void
on_bench_event (QmpConnection *conn,
                QmpEvent      *event,
                gpointer       user_data)
{
  EventsRun *run = user_data;

  WATCH_TICK ();
  if (++run->received == run->expected)
    events_run_check_done (run);
}

/* 4b: what a handler that uses its event does: the data, and a member. */
static void
on_bench_event_data (QmpConnection *conn,
                     QmpEvent      *event,
                     gpointer       user_data)
{
  EventsRun *run = user_data;
  JsonObject *data = qmp_event_get_data (event);

  WATCH_TICK ();
  if (data != NULL)
    run->seq_sum += json_object_get_int_member_with_default (data, "seq", 0);
  if (++run->received == run->expected)
    events_run_check_done (run);
}

/* 4c: the same member, read from the data's text: no tree is built. */
static void
on_bench_event_text (QmpConnection *conn,
                     QmpEvent      *event,
                     gpointer       user_data)
{
  EventsRun *run = user_data;
  const char *data = qmp_event_get_data_json (event);
  const char *seq = data != NULL && data[0] == '{' ? strstr (data, "\"seq\"") : NULL;

  WATCH_TICK ();
  if (seq != NULL && (seq = strchr (seq, ':')) != NULL)
    run->seq_sum += g_ascii_strtoll (seq + 1, NULL, 10);
  if (++run->received == run->expected)
    events_run_check_done (run);
}

static void
on_bench_events_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  EventsRun *run = user_data;
  JsonNode *ret = qmp_connection_execute_finish (run->conn, result, &run->error);

  g_clear_pointer (&ret, json_node_unref);
  WATCH_TICK ();
  run->replied = TRUE;
  events_run_check_done (run);
}

static gboolean
events_run (Bench          *b,
            QmpConnection  *conn,
            GCallback       handler_func,
            long            n,
            double         *value,
            GError        **error)
{
  EventsRun *run = g_new0 (EventsRun, 1);
  g_autoptr(JsonObject) arguments = json_object_new ();
  gulong handler;
  double t0, cpu0, cpu;

  run->b = b;
  run->conn = conn;
  run->expected = n;
  json_object_set_int_member (arguments, "count", n);
  handler = g_signal_connect (conn, "event::BENCH", handler_func, run);

  t0 = now_us ();
  cpu0 = thread_cpu_us ();
  qmp_connection_execute_async (conn, "bench-events", arguments, QMP_EXECUTE_FLAGS_NONE,
                                NULL, on_bench_events_done, run);
  g_main_loop_run (b->loop);
  cpu = thread_cpu_us () - cpu0;
  g_signal_handler_disconnect (conn, handler);

  if (watch_has_stalled ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "stalled: %ld of %ld events, %s, then nothing for %d s",
                   run->received, n, run->replied ? "return received" : "no return", opt_stall_seconds);
      g_object_ref (conn);   /* abandoned, never disposed */
      abandoned_connections++;
      return FALSE;
    }
  if (run->error != NULL)
    {
      g_propagate_error (error, run->error);
      return FALSE;
    }
  /* The mock numbers its events from 0. */
  if (handler_func != G_CALLBACK (on_bench_event) && run->seq_sum != (gint64) n * (n - 1) / 2)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the events' data was not what the mock sent");
      g_free (run);
      return FALSE;
    }
  *value = (double) run->received / ((run->t_end - t0) / 1e6);
  if (b->measuring)
    thread_cpu_add (handler_func == G_CALLBACK (on_bench_event_data) ? 1
                    : handler_func == G_CALLBACK (on_bench_event_text) ? 3 : 0, cpu / (double) n);
  g_free (run);
  return TRUE;
}

static gboolean
lib_events (Bench          *b,
            QmpConnection  *conn,
            long            n,
            double         *value,
            GError        **error)
{
  return events_run (b, conn, G_CALLBACK (on_bench_event), n, value, error);
}

static gboolean
lib_events_data (Bench          *b,
                 QmpConnection  *conn,
                 long            n,
                 double         *value,
                 GError        **error)
{
  return events_run (b, conn, G_CALLBACK (on_bench_event_data), n, value, error);
}

static gboolean
lib_events_text (Bench          *b,
                 QmpConnection  *conn,
                 long            n,
                 double         *value,
                 GError        **error)
{
  return events_run (b, conn, G_CALLBACK (on_bench_event_text), n, value, error);
}

/* 5, 5b: query-qmp-schema, ~210 KB on one line: the time until the
 * parsed reply is in the caller's hands (freeing it is not counted), as a
 * tree, or as text (validated, no tree built).  For the tree, the CPU
 * time of the calling thread too. */
static gboolean
schema_loop (Bench          *b,
             QmpConnection  *conn,
             gboolean        text,
             long            n,
             double         *value,
             GError        **error)
{
  double total = 0, cpu = 0;

  for (long i = 0; i < n; i++)
    {
      g_autoptr(JsonNode) ret = NULL;
      g_autofree char *ret_text = NULL;
      double t0 = now_us ();
      double cpu0 = thread_cpu_us ();
      gboolean as_expected;

      if (text)
        ret_text = qmp_connection_execute_json_sync (conn, "query-qmp-schema", NULL,
                                                     QMP_EXECUTE_FLAGS_NONE, NULL, error);
      else
        ret = qmp_connection_execute_sync (conn, "query-qmp-schema", NULL,
                                           QMP_EXECUTE_FLAGS_NONE, NULL, error);
      cpu += thread_cpu_us () - cpu0;
      total += now_us () - t0;
      WATCH_TICK ();
      if (ret == NULL && ret_text == NULL)
        return FALSE;
      if (i > 0)
        continue;
      if (text)
        as_expected = ret_text[0] == '[' && strlen (ret_text) >= 100000;
      else
        as_expected = JSON_NODE_HOLDS_ARRAY (ret) && json_array_get_length (json_node_get_array (ret)) >= 1000;
      if (!as_expected)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "query-qmp-schema returned something unexpected");
          return FALSE;
        }
    }

  *value = total / 1e3 / (double) n;
  if (!text && b->measuring)
    thread_cpu_add (2, cpu / 1e3 / (double) n);
  return TRUE;
}

static gboolean
lib_schema (Bench          *b,
            QmpConnection  *conn,
            long            n,
            double         *value,
            GError        **error)
{
  return schema_loop (b, conn, FALSE, n, value, error);
}

static gboolean
lib_schema_text (Bench          *b,
                 QmpConnection  *conn,
                 long            n,
                 double         *value,
                 GError        **error)
{
  return schema_loop (b, conn, TRUE, n, value, error);
}

/* 7 and 7b: @lib (scenario 1 or 1b) with real QEMU; QEMU serves one
 * client at a time, so each run connects (not timed) and closes. */
static gboolean
lib_qemu_serial (Bench          *b,
                 LibRunFunc      lib,
                 const char     *address,
                 long            n,
                 double         *value,
                 GError        **error)
{
  g_autoptr(QmpConnection) conn = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE,
                                                                       NULL, error);
  gboolean ok;

  if (conn == NULL)
    return FALSE;
  watch_begin (conn, NULL);
  ok = lib (b, conn, n, value, error);
  watch_end ();
  qmp_connection_close_sync (conn, NULL, NULL);
  return ok;
}

/* --------------------------------------------------- running a scenario */

static void
row_skip (Row        *row,
          const char *reason)
{
  if (row->skipped == NULL)
    row->skipped = g_strdup (reason);
}

/* Warm-up of both, then the repetitions, interleaved: qmp-glib, raw,
 * qmp-glib, raw...  With @conn NULL, @address is connected to for each
 * run of @lib (scenario 7). */
static gboolean
measure (Bench          *b,
         Row            *row,
         LibRunFunc      lib,
         QmpConnection  *conn,
         const char     *address,
         const char     *raw_scenario,
         const char     *raw_socket,
         long            warmup,
         long            n,
         GError        **error)
{
  double value;
  gboolean ok = FALSE;

  if (conn != NULL)
    watch_begin (conn, lib == lib_serial_sync || lib == lib_schema ||
                 lib == lib_serial_sync_text || lib == lib_schema_text ? NULL : b->loop);

  progress ("%s %s: warm-up (%ld)", row->number, row->title, warmup);
  if (!(conn ? lib (b, conn, warmup, &value, error)
             : lib_qemu_serial (b, lib, address, warmup, &value, error)))
    goto out;
  if (b->raw != NULL && !raw_request (b, raw_scenario, raw_socket, warmup, &value, 1, error))
    goto out;

  for (int rep = 0; rep < b->reps; rep++)
    {
      b->measuring = TRUE;
      if (!(conn ? lib (b, conn, n, &value, error)
                 : lib_qemu_serial (b, lib, address, n, &value, error)))
        goto out;
      b->measuring = FALSE;
      g_array_append_val (row->lib, value);

      if (b->raw != NULL)
        {
          if (!raw_request (b, raw_scenario, raw_socket, n, &value, 1, error))
            goto out;
          g_array_append_val (row->raw, value);
        }
    }

  progress ("%s %s: done", row->number, row->title);
  ok = TRUE;

out:
  b->measuring = FALSE;
  watch_explain (error);
  if (conn != NULL)
    watch_end ();
  return ok;
}

static QmpConnection *
connect_mock (Bench   *b,
              GError **error)
{
  return qmp_connection_new_for_address_sync (b->mock_address, QMP_CONNECTION_FLAGS_NONE, NULL, error);
}

static void
run_on_mock (Bench      *b,
             Row        *row,
             LibRunFunc  lib,
             const char *raw_scenario,
             long        warmup,
             long        n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = connect_mock (b, &error);

  if (conn == NULL || !measure (b, row, lib, conn, NULL, raw_scenario, b->mock_socket, warmup, n, &error))
    {
      g_autofree char *reason = g_strdup_printf ("failed: %s", error->message);

      progress ("%s %s: %s", row->number, row->title, reason);
      row_skip (row, reason);
    }

  /* A stalled _async run leaves its connection open, with calls queued. */
  if (conn != NULL && !watch_has_stalled ())
    qmp_connection_close_sync (conn, NULL, NULL);
}

/* -------------------------------------- json-glib's share (4, 4b, 4c, 5) */

/* json-glib's share of a tree: the tree is first written down as a list
 * of operations (in order, names and strings pointing into it), then built
 * from that list with json-glib's calls alone, the typed setters that
 * qmp-glib's parser uses: building the same tree without any parsing. */
typedef enum
{
  OP_OBJECT,
  OP_ARRAY,
  OP_END,
  OP_STRING,
  OP_INT,
  OP_DOUBLE,
  OP_BOOLEAN,
  OP_NULL,
} OpKind;

typedef struct
{
  OpKind kind;
  const char *name;           /* the member's, in an object */
  const char *string;
  gint64 integer;
  double number;
} Op;

static void
ops_record (GArray     *ops,
            const char *name,
            JsonNode   *node)
{
  Op op = { OP_NULL, name, NULL, 0, 0 };

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *member_name;
        JsonNode *member;

        op.kind = OP_OBJECT;
        g_array_append_val (ops, op);
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &member_name, &member))
          ops_record (ops, member_name, member);
        break;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        op.kind = OP_ARRAY;
        g_array_append_val (ops, op);
        for (guint i = 0; i < json_array_get_length (array); i++)
          ops_record (ops, NULL, json_array_get_element (array, i));
        break;
      }

    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        op.kind = OP_STRING, op.string = json_node_get_string (node);
      else if (json_node_get_value_type (node) == G_TYPE_INT64)
        op.kind = OP_INT, op.integer = json_node_get_int (node);
      else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        op.kind = OP_BOOLEAN, op.integer = json_node_get_boolean (node);
      else
        op.kind = OP_DOUBLE, op.number = json_node_get_double (node);
      g_array_append_val (ops, op);
      return;

    case JSON_NODE_NULL:
    default:
      g_array_append_val (ops, op);
      return;
    }

  op.kind = OP_END;
  op.name = NULL;
  g_array_append_val (ops, op);
}

static JsonObject *ops_build_object (const Op *ops,
                                     guint    *i);
static JsonArray  *ops_build_array  (const Op *ops,
                                     guint    *i);

static JsonNode *
ops_build (const Op *ops,
           guint    *i)
{
  const Op *op = &ops[(*i)++];
  JsonNode *node = json_node_alloc ();

  switch (op->kind)
    {
    case OP_OBJECT:
      json_node_take_object (json_node_init (node, JSON_NODE_OBJECT), ops_build_object (ops, i));
      return node;
    case OP_ARRAY:
      json_node_take_array (json_node_init (node, JSON_NODE_ARRAY), ops_build_array (ops, i));
      return node;
    case OP_STRING:
      return json_node_init_string (node, op->string);
    case OP_INT:
      return json_node_init_int (node, op->integer);
    case OP_BOOLEAN:
      return json_node_init_boolean (node, op->integer);
    case OP_DOUBLE:
      return json_node_init_double (node, op->number);
    case OP_NULL:
    case OP_END:
    default:
      return json_node_init_null (node);
    }
}

/* The members after an OP_OBJECT, to its OP_END. */
static JsonObject *
ops_build_object (const Op *ops,
                  guint    *i)
{
  JsonObject *object = json_object_new ();

  for (;;)
    {
      const Op *op = &ops[(*i)++];

      switch (op->kind)
        {
        case OP_END:
          return object;
        case OP_OBJECT:
          json_object_set_object_member (object, op->name, ops_build_object (ops, i));
          break;
        case OP_ARRAY:
          json_object_set_array_member (object, op->name, ops_build_array (ops, i));
          break;
        case OP_STRING:
          json_object_set_string_member (object, op->name, op->string);
          break;
        case OP_INT:
          json_object_set_int_member (object, op->name, op->integer);
          break;
        case OP_BOOLEAN:
          json_object_set_boolean_member (object, op->name, op->integer);
          break;
        case OP_DOUBLE:
          json_object_set_double_member (object, op->name, op->number);
          break;
        case OP_NULL:
        default:
          json_object_set_null_member (object, op->name);
          break;
        }
    }
}

/* The elements after an OP_ARRAY, to its OP_END. */
static JsonArray *
ops_build_array (const Op *ops,
                 guint    *i)
{
  JsonArray *array = json_array_new ();

  while (ops[*i].kind != OP_END)
    json_array_add_element (array, ops_build (ops, i));
  (*i)++;
  return array;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median_of (GArray *values)
{
  g_autoptr(GArray) sorted = NULL;
  guint n;

  if (values == NULL || values->len == 0)
    return NAN;
  sorted = g_array_copy (values);
  g_array_sort (sorted, compare_doubles);
  n = sorted->len;
  return n % 2 ? g_array_index (sorted, double, n / 2)
               : (g_array_index (sorted, double, n / 2 - 1) + g_array_index (sorted, double, n / 2)) / 2;
}

/* The notes of rows 4, 4b, 4c and 5: the CPU time of the thread that ran
 * them, and what json-glib's own calls take for the same trees, measured
 * here in that thread (CPU time, medians of 5 runs): the part of the row
 * that no parser building json-glib nodes can save. */
static void
note_json_glib_share (Bench *b)
{
  double copies[5], objects[5];

  if (thread_cpu_samples[2] != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QmpConnection) conn = connect_mock (b, &error);
      g_autoptr(JsonNode) schema = NULL;

      if (conn != NULL)
        schema = qmp_connection_execute_sync (conn, "query-qmp-schema", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      if (schema != NULL)
        {
          g_autoptr(GArray) copy_ms = g_array_new (FALSE, FALSE, sizeof (double));
          g_autoptr(GArray) free_ms = g_array_new (FALSE, FALSE, sizeof (double));

          g_autoptr(GArray) ops = g_array_new (FALSE, FALSE, sizeof (Op));

          ops_record (ops, NULL, schema);
          for (int i = 0; i < 7; i++)
            {
              guint at = 0;
              double t0 = thread_cpu_us ();
              JsonNode *copy = ops_build ((const Op *) (void *) ops->data, &at);
              double t1 = thread_cpu_us ();

              json_node_unref (copy);
              if (i < 2)
                continue;   /* warm-up */
              copies[i - 2] = (t1 - t0) / 1e3;
              g_array_append_val (copy_ms, copies[i - 2]);
              objects[i - 2] = (thread_cpu_us () - t1) / 1e3;
              g_array_append_val (free_ms, objects[i - 2]);
            }
          rows[ROW_SCHEMA].note = g_strdup_printf ("caller's thread CPU %.2f ms a call; json-glib's calls alone "
                                                   "build the same tree in %.2f ms CPU (and free it in %.2f)",
                                                   median_of (thread_cpu_samples[2]),
                                                   median_of (copy_ms), median_of (free_ms));
        }
      if (conn != NULL)
        qmp_connection_close_sync (conn, NULL, NULL);
    }

  if (thread_cpu_samples[1] != NULL)
    {
      g_autoptr(GArray) per_event = g_array_new (FALSE, FALSE, sizeof (double));
      enum { COUNT = 20000 };

      /* The data object of a BENCH event built, sealed (as
       * qmp_event_get_data() returns it) and freed, one after the other
       * as a handler's are. */
      for (int i = 0; i < 7; i++)
        {
          double t0 = thread_cpu_us ();

          for (int j = 0; j < COUNT; j++)
            {
              JsonObject *data = json_object_new ();

              json_object_set_string_member (data, "device", "bench0");
              json_object_set_string_member (data, "path", "/machine/peripheral/bench0");
              json_object_set_int_member (data, "seq", j);
              json_object_seal (data);
              json_object_unref (data);
            }
          if (i < 2)
            continue;
          objects[i - 2] = (thread_cpu_us () - t0) / COUNT;
          g_array_append_val (per_event, objects[i - 2]);
        }
      rows[ROW_EVENTS_DATA].note = g_strdup_printf ("handler's thread CPU %.2f µs an event (4: %.2f); json-glib's "
                                                    "calls alone build, seal and free a data object like the "
                                                    "event's in %.2f µs",
                                                    median_of (thread_cpu_samples[1]),
                                                    median_of (thread_cpu_samples[0]),
                                                    median_of (per_event));
    }
  else if (thread_cpu_samples[0] != NULL)
    rows[ROW_EVENTS].note = g_strdup_printf ("handler's thread CPU %.2f µs an event",
                                             median_of (thread_cpu_samples[0]));
  /* 4c beside 4b: what the data object costs the handler's thread. */
  if (thread_cpu_samples[3] != NULL)
    rows[ROW_EVENTS_TEXT].note = g_strdup_printf ("handler's thread CPU %.2f µs an event (4b, the data as "
                                                  "a tree: %.2f)",
                                                  median_of (thread_cpu_samples[3]),
                                                  median_of (thread_cpu_samples[1]));
  (void) copies;
}

/* 6: each run in a fresh process (this program with --connections-child,
 * or the raw client), so the RSS delta is that of the connections alone. */
static gboolean
run_connections_child (Bench   *b,
                       gboolean raw,
                       long     n,
                       double   values[4],
                       GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *out = NULL;
  g_autofree char *count = g_strdup_printf ("%ld", n);
  g_auto(GStrv) fields = NULL;
  int n_values = raw ? 3 : 4;

  if (raw)
    child = g_subprocess_launcher_spawn (launcher, error, opt_raw, "connections", b->mock_socket, count, NULL);
  else
    child = g_subprocess_launcher_spawn (launcher, error, b->self, "--connections-child", b->mock_address,
                                         "--connections", count, NULL);
  if (child == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, error))
    return FALSE;
  if (!g_subprocess_wait_check (child, NULL, error))
    return FALSE;

  g_strstrip (out);
  fields = g_strsplit (out, " ", -1);
  if (!g_str_equal (fields[0], "ok") || g_strv_length (fields) < (guint) n_values + 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", raw ? "raw client" : "qmp-bench child", out);
      return FALSE;
    }
  for (int i = 0; i < n_values; i++)
    values[i] = g_ascii_strtod (fields[i + 1], NULL);
  if (raw)
    values[3] = 0;
  return TRUE;
}

static void
run_connections (Bench *b)
{
  g_autoptr(GError) error = NULL;
  Row *threads = &rows[ROW_CONN_THREADS], *rss = &rows[ROW_CONN_RSS], *conn_time = &rows[ROW_CONN_TIME];
  double v[4];
  int reps = MIN (b->reps, 3);
  int io_threads_max = 0;
  long n = opt_connections;

  progress ("6 %ld connections: warm-up (100)", n);
  if (!run_connections_child (b, FALSE, MIN (n, 100), v, &error) ||
      (b->raw != NULL && !run_connections_child (b, TRUE, MIN (n, 100), v, &error)))
    goto failed;

  for (int rep = 0; rep < reps; rep++)
    {
      if (!run_connections_child (b, FALSE, n, v, &error))
        goto failed;
      g_array_append_val (conn_time->lib, v[0]);
      g_array_append_val (rss->lib, v[1]);
      g_array_append_val (threads->lib, v[2]);
      io_threads_max = MAX (io_threads_max, (int) v[3]);

      if (b->raw != NULL)
        {
          if (!run_connections_child (b, TRUE, n, v, &error))
            goto failed;
          g_array_append_val (conn_time->raw, v[0]);
          g_array_append_val (rss->raw, v[1]);
          g_array_append_val (threads->raw, v[2]);
        }
    }

  threads->target_met = io_threads_max == 1;
  threads->note = g_strdup_printf ("%d of them qmp-glib I/O (qmp-worker)", io_threads_max);
  if (n != 1000)
    {
      conn_time->note = g_strdup_printf ("%ld connections", n);
      rss->note = g_strdup_printf ("%ld connections", n);
    }
  progress ("6 %ld connections: done", n);
  return;

failed:
  progress ("6 connections: failed: %s", error->message);
  row_skip (threads, error->message);
  row_skip (rss, error->message);
  row_skip (conn_time, error->message);
}

/* The body of the connections child: a warm-up connection (so that the
 * library's fixed costs, its worker thread included, are in the baseline),
 * then N at once with new_for_address_async. */
typedef struct
{
  long pending;
  GPtrArray *conns;
  GError *error;
  GMainLoop *loop;
} ConnectRun;

static void
on_child_connected (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ConnectRun *run = user_data;
  QmpConnection *conn = qmp_connection_new_for_address_finish (result, run->error ? NULL : &run->error);

  if (conn != NULL)
    g_ptr_array_add (run->conns, conn);
  if (--run->pending == 0)
    g_main_loop_quit (run->loop);
}

static gboolean
on_child_timeout (gpointer user_data)
{
  g_print ("error no progress for %d s while connecting\n", 4 * opt_stall_seconds);
  fflush (stdout);
  _exit (1);
}

static int
connections_child (const char *address,
                   long        n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) first = NULL;
  ConnectRun run = { n, g_ptr_array_new_with_free_func (g_object_unref), NULL, g_main_loop_new (NULL, FALSE) };
  long baseline, rss;
  double t0, elapsed;
  int threads, io_threads;

  raise_nofile_limit ();

  first = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  if (first == NULL)
    {
      g_print ("error %s\n", error->message);
      return 1;
    }
  baseline = read_rss_kib ();

  g_timeout_add_seconds (4 * opt_stall_seconds, on_child_timeout, NULL);
  t0 = now_us ();
  for (long i = 0; i < n; i++)
    qmp_connection_new_for_address_async (address, QMP_CONNECTION_FLAGS_NONE, NULL,
                                          on_child_connected, &run);
  g_main_loop_run (run.loop);
  elapsed = now_us () - t0;

  if (run.error != NULL)
    {
      g_print ("error %ld of %ld connected: %s\n", (long) run.conns->len, n, run.error->message);
      return 1;
    }

  rss = read_rss_kib ();
  threads = count_threads (&io_threads);
  g_print ("ok %.3f %.3f %d %d\n", elapsed / 1e3, (double) (rss - baseline) / (double) n, threads, io_threads);
  fflush (stdout);

  /* The process ends here: the sockets close with it. */
  _exit (0);
}

/* 8: what one reply of a shape costs at most, each run in a fresh process
 * (this program with --memory-child) so that its peak RSS is the reply's
 * alone.  The tree of the densest shapes costs up to ~110 bytes per byte
 * of JSON: without a bound on it, a reply within max-message-size takes
 * that many times the limit. */
typedef struct
{
  gboolean accepted;
  double peak_bytes;          /* peak RSS minus the RSS before the call */
  double message_bytes;       /* the reply's line */
} MemoryRun;

static gboolean
run_memory_child (Bench      *b,
                  const char *shape,
                  gint64      size,
                  MemoryRun  *run,
                  GError    **error)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *out = NULL;
  g_autofree char *size_arg = g_strdup_printf ("%" G_GINT64_FORMAT, size);
  g_autofree char *limit_arg = g_strdup_printf ("%" G_GINT64_FORMAT, opt_memory_limit);
  g_auto(GStrv) fields = NULL;

  child = g_subprocess_launcher_spawn (launcher, error, b->self, "--memory-child", b->mock_address,
                                       "--memory-shape", shape, "--memory-size", size_arg,
                                       "--memory-limit", limit_arg, NULL);
  if (child == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, error))
    return FALSE;
  if (!g_subprocess_wait_check (child, NULL, error))
    return FALSE;

  g_strstrip (out);
  fields = g_strsplit (out, " ", -1);
  if (!g_str_equal (fields[0], "ok") || g_strv_length (fields) < 4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "qmp-bench child: %s", out);
      return FALSE;
    }
  run->accepted = g_str_equal (fields[1], "accepted");
  run->peak_bytes = g_ascii_strtod (fields[2], NULL) * 1024;
  run->message_bytes = g_ascii_strtod (fields[3], NULL);
  return TRUE;
}

static void
run_memory (Bench *b)
{
  double limit = (double) opt_memory_limit;

  for (guint i = 0; i < G_N_ELEMENTS (memory_shapes); i++)
    {
      Row *row = &rows[ROW_MEMORY_FIRST + i];
      g_autoptr(GError) error = NULL;
      MemoryRun run, largest = { FALSE, 0, 0 };
      /* Room for the reply's envelope: the line is then just within the
       * limit. */
      gint64 hi = opt_memory_limit - 64, lo = 0;
      double worst;

      progress ("%s %s: a reply of %" G_GINT64_FORMAT " bytes", row->number, row->title, hi);
      if (!run_memory_child (b, memory_shapes[i], hi, &run, &error))
        goto failed;
      worst = run.peak_bytes;

      if (run.accepted)
        {
          largest = run;
        }
      else
        {
          /* Rejected at the limit: find the largest reply accepted, to
           * 1/128 of the limit, and what it cost. */
          for (int step = 0; step < 7; step++)
            {
              gint64 mid = lo + (hi - lo) / 2;

              if (!run_memory_child (b, memory_shapes[i], mid, &run, &error))
                goto failed;
              worst = MAX (worst, run.peak_bytes);
              if (run.accepted)
                {
                  lo = mid;
                  largest = run;
                }
              else
                hi = mid;
            }
        }

      g_array_append_val (row->lib, (double) { worst / limit });
      if (largest.accepted)
        row->note = g_strdup_printf ("%s: largest accepted %.0f%% of the limit, "
                                     "%.1f B of RSS per message byte; %s at the limit",
                                     memory_shapes[i], 100 * largest.message_bytes / limit,
                                     largest.peak_bytes / largest.message_bytes,
                                     largest.message_bytes >= limit - 128 ? "accepted" : "rejected");
      else
        row->note = g_strdup_printf ("%s: rejected down to %.1f%% of the limit",
                                     memory_shapes[i], 100 * (double) hi / limit);
      progress ("%s %s: done", row->number, row->title);
      continue;

    failed:
      progress ("%s %s: failed: %s", row->number, row->title, error->message);
      row_skip (row, error->message);
    }
}

/* The body of the memory child: prints "ok accepted|rejected PEAK_KIB
 * LINE_BYTES". */
static int
memory_child (const char *address,
              const char *shape,
              gint64      size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(JsonObject) warm_args = json_object_new ();
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) warm = NULL;
  g_autoptr(JsonNode) ret = NULL;
  gsize line_bytes;
  long base, peak;

  conn = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  if (conn == NULL)
    {
      g_print ("error %s\n", error->message);
      return 1;
    }
  qmp_connection_set_max_message_size (conn, opt_memory_limit);

  /* A small one first: the library's lazy costs go into the baseline. */
  json_object_set_string_member (warm_args, "shape", shape);
  json_object_set_int_member (warm_args, "size", 4096);
  warm = qmp_connection_execute_sync (conn, "bench-shape", warm_args, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  if (warm == NULL)
    {
      g_print ("error %s\n", error->message);
      return 1;
    }
  g_clear_pointer (&warm, json_node_unref);
  malloc_trim (0);

  if (!reset_peak_rss ())
    {
      g_print ("error cannot reset the peak RSS (/proc/self/clear_refs)\n");
      return 1;
    }
  base = read_rss_kib ();

  json_object_set_string_member (args, "shape", shape);
  json_object_set_int_member (args, "size", size);
  ret = qmp_connection_execute_sync (conn, "bench-shape", args, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  if (ret == NULL && !g_error_matches (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE))
    {
      g_print ("error %s\n", error->message);
      return 1;
    }

  peak = read_peak_rss_kib ();

  /* The mock makes the value exactly @size bytes long. */
  line_bytes = (gsize) size + strlen ("{\"return\": , \"id\": 2}\r\n");
  g_print ("ok %s %ld %" G_GSIZE_FORMAT "\n", ret ? "accepted" : "rejected", peak - base, line_bytes);
  fflush (stdout);
  _exit (0);
}

/* 10: a flood of events for a handler slower than the server (5 µs an
 * event), in a fresh process (this program with --slow-events-child): how
 * much the process grows while the events wait, its peak RSS (VmHWM) less
 * its RSS once connected. */
typedef struct
{
  long expected;
  long received;
  gboolean replied;
  GError *error;
  GMainLoop *loop;
} SlowEventsRun;

static void
on_slow_event (QmpConnection *conn,
               QmpEvent      *event,
               gpointer       user_data)
{
  SlowEventsRun *run = user_data;
  gint64 until = g_get_monotonic_time () + 5;

  while (g_get_monotonic_time () < until)
    ;
  if (++run->received >= run->expected && run->replied)
    g_main_loop_quit (run->loop);
}

static void
on_slow_events_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  SlowEventsRun *run = user_data;
  JsonNode *ret = qmp_connection_execute_finish (QMP_CONNECTION (source), result, &run->error);

  g_clear_pointer (&ret, json_node_unref);
  run->replied = TRUE;
  if (run->received >= run->expected || run->error != NULL)
    g_main_loop_quit (run->loop);
}

static long
read_hwm_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmHWM:");
  return line ? strtol (line + 6, NULL, 10) : -1;
}

static int
slow_events_child (const char *address,
                   long        n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  g_autoptr(JsonObject) arguments = json_object_new ();
  SlowEventsRun run = { n, 0, FALSE, NULL, g_main_loop_new (NULL, FALSE) };
  guint64 dropped = 0;
  long baseline;
  double t0;

  conn = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  if (conn == NULL)
    {
      g_print ("error %s\n", error->message);
      return 1;
    }
  g_signal_connect (conn, "event::BENCH", G_CALLBACK (on_slow_event), &run);
  baseline = read_rss_kib ();

  json_object_set_int_member (arguments, "count", n);
  t0 = now_us ();
  qmp_connection_execute_async (conn, "bench-events", arguments, QMP_EXECUTE_FLAGS_NONE,
                                NULL, on_slow_events_done, &run);
  g_main_loop_run (run.loop);
  if (run.error != NULL)
    {
      g_print ("error %s\n", run.error->message);
      return 1;
    }

  /* Libraries before the bound have no such property. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (conn), "dropped-events") != NULL)
    g_object_get (conn, "dropped-events", &dropped, NULL);

  g_print ("ok %.1f %.3f %ld %" G_GUINT64_FORMAT "\n", (double) (read_hwm_kib () - baseline) / 1024.0,
           (now_us () - t0) / 1e6, run.received, dropped);
  fflush (stdout);
  _exit (0);
}

static void
run_slow_events (Bench *b)
{
  Row *row = &rows[ROW_SLOW_EVENTS];
  g_autoptr(GError) error = NULL;
  g_autofree char *count = g_strdup_printf ("%ld", (long) MAX (opt_slow_events * b->scale, 1000));
  double seconds = 0;
  long received = 0;
  guint64 dropped = 0;
  /* Its figure hardly moves, and a run takes 5 s at least. */
  int reps = MIN (b->reps, 2);

  for (int rep = 0; rep < reps; rep++)
    {
      g_autoptr(GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
      g_autoptr(GSubprocess) child = NULL;
      g_autofree char *out = NULL;
      g_auto(GStrv) fields = NULL;
      double growth;

      progress ("8 %s events for a slow handler: run %d of %d", count, rep + 1, reps);
      child = g_subprocess_launcher_spawn (launcher, &error, b->self, "--slow-events-child", b->mock_address,
                                           "--slow-events", count, NULL);
      if (child == NULL ||
          !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, &error) ||
          !g_subprocess_wait_check (child, NULL, &error))
        goto failed;
      fields = g_strsplit (g_strstrip (out), " ", -1);
      if (!g_str_equal (fields[0], "ok") || g_strv_length (fields) < 5)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "qmp-bench child: %s", out);
          goto failed;
        }
      growth = g_ascii_strtod (fields[1], NULL);
      g_array_append_val (row->lib, growth);
      seconds = g_ascii_strtod (fields[2], NULL);
      received = strtol (fields[3], NULL, 10);
      dropped = g_ascii_strtoull (fields[4], NULL, 10);
    }

  row->note = g_strdup_printf ("%s events in %.1f s: %ld emitted, %" G_GUINT64_FORMAT " dropped",
                               count, seconds, received, dropped);
  progress ("10 slow events: done");
  return;

failed:
  progress ("10 slow events: failed: %s", error->message);
  row_skip (row, error->message);
}

/* 7 and 7b: real QEMU, started here in its own directory and stopped at
 * the end; 7b runs right after 7, against the same QEMU. */
static void
run_qemu (Bench *b)
{
  static const struct { guint row; LibRunFunc lib; } runs[] = {
    { ROW_QEMU, lib_serial_sync },
    { ROW_QEMU_TEXT, lib_serial_sync_text },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autofree char *qemu_path = NULL;
  g_autofree char *dir = g_build_filename (b->tmpdir, "qemu", NULL);
  g_autofree char *sock = g_build_filename (dir, "qmp.sock", NULL);
  g_autofree char *qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", sock);
  g_autofree char *address = g_strdup_printf ("unix:%s", sock);
  gint64 deadline;

  qemu_path = opt_qemu ? g_strdup (opt_qemu) : g_find_program_in_path ("qemu-system-x86_64");
  if (qemu_path == NULL)
    {
      progress ("7: skipped: qemu-system-x86_64 not found");
      for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
        row_skip (&rows[runs[i].row], "skipped: qemu-system-x86_64 not found");
      return;
    }

  g_mkdir (dir, 0700);
  launcher = server_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, dir);
  qemu = g_subprocess_launcher_spawn (launcher, &error, qemu_path, "-M", "none", "-nodefaults",
                                      "-display", "none", "-qmp", qmp_arg, NULL);
  if (qemu == NULL)
    goto failed;

  /* wait=off: QEMU listens before its main loop starts; wait for the
   * socket, not for a fixed time. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!g_file_test (sock, G_FILE_TEST_EXISTS))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "QEMU did not create %s", sock);
          goto failed;
        }
      g_usleep (10000);
    }

  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      Row *row = &rows[runs[i].row];

      if (!measure (b, row, runs[i].lib, NULL, address, "serial", sock, scaled (b, 200), scaled (b, 2000),
                    &error))
        {
          progress ("%s %s: failed: %s", row->number, row->title, error->message);
          row_skip (row, error->message);
          g_clear_error (&error);
        }
    }

  g_subprocess_send_signal (qemu, SIGTERM);
  g_subprocess_wait (qemu, NULL, NULL);
  return;

failed:
  progress ("7 real QEMU: failed: %s", error->message);
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    row_skip (&rows[runs[i].row], error->message);
  if (qemu != NULL)
    {
      g_subprocess_force_exit (qemu);
      g_subprocess_wait (qemu, NULL, NULL);
    }
}

/* 9: building a QmpSchema from a real QEMU's query-qmp-schema (207 KB
 * for 7.2), fetched once: from the reply's text, as
 * qmp_connection_get_schema_sync() does it (the JSON parse included), and
 * from a JsonNode tree (qmp_schema_new()); the heap one schema holds,
 * from mallinfo2(). */
static gboolean
schema_build_fetch (Bench       *b,
                    char       **text,
                    char       **version,
                    GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *qemu_path = opt_qemu ? g_strdup (opt_qemu) : g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *dir = g_build_filename (b->tmpdir, "qemu-schema", NULL);
  g_autofree char *sock = g_build_filename (dir, "qmp.sock", NULL);
  g_autofree char *qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", sock);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  if (qemu_path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "skipped: qemu-system-x86_64 not found");
      return FALSE;
    }

  g_mkdir (dir, 0700);
  launcher = server_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  qemu = g_subprocess_launcher_spawn (launcher, error, qemu_path, "-M", "none", "-nodefaults",
                                      "-display", "none", "-qmp", qmp_arg, NULL);
  if (qemu == NULL)
    return FALSE;
  /* The reply's own bytes, as QEMU writes them: over a plain socket,
   * once QEMU listens on it. */
  client = g_socket_client_new ();
  socket_address = g_unix_socket_address_new (sock);
  while (stream == NULL)
    {
      g_autoptr(GError) connect_error = NULL;

      stream = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (socket_address), NULL, &connect_error);
      if (stream == NULL && g_get_monotonic_time () > deadline)
        {
          g_propagate_error (error, g_steal_pointer (&connect_error));
          break;
        }
      if (stream == NULL)
        g_usleep (10000);
    }
  if (stream != NULL)
    {
      GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (stream));
      const char request[] = "{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"query-qmp-schema\"}\n";

      in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (stream)));
      g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
      if (g_output_stream_write_all (out, request, strlen (request), NULL, NULL, error))
        for (int i = 0; i < 3 && (i == 0 || line != NULL); i++)
          {
            g_free (line);
            line = g_data_input_stream_read_line (in, NULL, NULL, error);
          }
    }
  if (line != NULL)
    {
      g_autoptr(JsonNode) node = json_from_string (line, error);
      JsonNode *ret = node && JSON_NODE_HOLDS_OBJECT (node)
                      ? json_object_get_member (json_node_get_object (node), "return") : NULL;

      if (ret != NULL && JSON_NODE_HOLDS_ARRAY (ret))
        {
          reply = json_node_ref (ret);
          *text = g_steal_pointer (&line);
          *version = g_strdup_printf ("%s, %zu bytes, %u entries", qemu_path, strlen (*text),
                                      json_array_get_length (json_node_get_array (reply)));
        }
      else if (node != NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no schema in QEMU's reply");
    }
  g_clear_object (&in);
  g_clear_object (&stream);
  g_subprocess_force_exit (qemu);
  g_subprocess_wait (qemu, NULL, NULL);

  return reply != NULL;
}

static void
run_schema_build (Bench *b)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *version = NULL;
  g_autoptr(JsonNode) tree = NULL;
  JsonNode *array;
  long n = MAX (scaled (b, 50), 3);

  if (!schema_build_fetch (b, &text, &version, &error))
    {
      progress ("9 schema build: %s", error->message);
      row_skip (&rows[ROW_SCHEMA_BUILD], error->message);
      row_skip (&rows[ROW_SCHEMA_BUILD_TREE], error->message);
      row_skip (&rows[ROW_SCHEMA_MEMORY], error->message);
      return;
    }
  tree = json_from_string (text, NULL);
  array = json_object_get_member (json_node_get_object (tree), "return");
  progress ("9 schema build: %s, %d × %ld builds", version, b->reps, n);

  for (int rep = 0; rep < b->reps; rep++)
    {
      struct mallinfo2 before, after;
      QmpSchema *schema;
      double t0, value;

      t0 = now_us ();
      for (long i = 0; i < n; i++)
        g_object_unref (qmp_schema_new (array, NULL));
      value = (now_us () - t0) / 1e3 / (double) n;
      g_array_append_val (rows[ROW_SCHEMA_BUILD_TREE].lib, value);

      t0 = now_us ();
      for (long i = 0; i < n; i++)
        g_object_unref (qmp_schema_new_from_data (text, -1, NULL));
      value = (now_us () - t0) / 1e3 / (double) n;
      g_array_append_val (rows[ROW_SCHEMA_BUILD].lib, value);

      before = mallinfo2 ();
      schema = qmp_schema_new (array, NULL);
      after = mallinfo2 ();
      value = (double) (after.uordblks - before.uordblks) / 1024.0;
      g_array_append_val (rows[ROW_SCHEMA_MEMORY].lib, value);
      g_object_unref (schema);
    }

  for (int r = ROW_SCHEMA_BUILD; r <= ROW_SCHEMA_MEMORY; r++)
    rows[r].note = g_strdup (version);
}

/* --------------------------------------- helpers: a child, with a limit */

typedef struct
{
  GMainLoop *loop;
  gboolean done;
  char *out;
  char *err;
  GError *error;
} CapturedRun;

static void
on_captured (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CapturedRun *run = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &run->error);
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}

static gboolean
on_captured_timeout (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Runs @argv (a client: on the client CPU when pinned) to its end, or
 * kills it after @timeout_s seconds; its stdout and stderr in @out and
 * @err, its exit status in @status (-1 for a signal). */
static gboolean
run_captured (const char * const *argv,
              int                 timeout_s,
              char              **out,
              char              **err,
              int                *status,
              GError            **error)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                          G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CapturedRun run = { loop, FALSE, NULL, NULL, NULL };

  child = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (child == NULL)
    return FALSE;

  g_main_context_push_thread_default (context);
  timeout = g_timeout_source_new_seconds (timeout_s);
  g_source_set_callback (timeout, on_captured_timeout, loop, NULL);
  g_source_attach (timeout, context);
  g_subprocess_communicate_utf8_async (child, NULL, cancellable, on_captured, &run);
  g_main_loop_run (loop);
  if (!run.done)
    {
      g_subprocess_force_exit (child);
      g_cancellable_cancel (cancellable);
      while (!run.done)
        g_main_context_iteration (context, TRUE);
      g_clear_error (&run.error);
      g_set_error (&run.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not finish in %d s (killed)",
                   argv[0], timeout_s);
    }
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);
  g_subprocess_wait (child, NULL, NULL);

  if (run.error != NULL)
    {
      g_free (run.out);
      g_free (run.err);
      g_propagate_error (error, run.error);
      return FALSE;
    }
  *status = g_subprocess_get_if_exited (child) ? g_subprocess_get_exit_status (child) : -1;
  *out = run.out;
  *err = run.err;
  return TRUE;
}

/* The last non-empty line of @text, for an error message. */
static char *
last_line (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);

  for (int i = (int) g_strv_length (lines) - 1; i >= 0; i--)
    if (*g_strstrip (lines[i]) != '\0')
      return g_strdup (lines[i]);
  return g_strdup ("(no output)");
}

/* 12: Python, through bench/qmp-bench.py (another program: its interface
 * is in README.md), against the same mock server.  The C reference is
 * measured here, with the same counts, just before. */
typedef struct
{
  GArray *values;             /* NULL: not available, or failed */
  char *reason;
} PythonResult;

static void
python_result_clear (PythonResult *r)
{
  g_clear_pointer (&r->values, g_array_unref);
  g_clear_pointer (&r->reason, g_free);
}

static void
python_run (Bench        *b,
            const char   *scenario,
            const char   *client,
            long          count,
            PythonResult *result)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *count_arg = g_strdup_printf ("%ld", count);
  g_autofree char *reps_arg = g_strdup_printf ("%d", b->reps);
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) node = NULL;
  const char *python = opt_python ? opt_python : "/usr/bin/python3";
  const char *argv[] = { python, opt_python_script, "--socket", b->mock_socket, "--scenario", scenario,
                         "--count", count_arg, "--reps", reps_arg, "--client", client, NULL };
  const char *expected_unit = g_str_equal (scenario, "serial") ? "us/op" : "ms";
  JsonObject *object;
  JsonNode *member, *unit;
  JsonArray *values;
  int status;

  result->values = NULL;
  result->reason = NULL;
  if (opt_python_script == NULL || !g_file_test (opt_python_script, G_FILE_TEST_EXISTS))
    {
      result->reason = g_strdup_printf ("not available: no qmp-bench.py (%s)",
                                        opt_python_script ? opt_python_script : "no --python-script");
      return;
    }
  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
    {
      result->reason = g_strdup_printf ("not available: no %s", python);
      return;
    }

  progress ("12 Python, %s, %s: %d × %ld", client, scenario, b->reps, count);
  if (!run_captured (argv, 120 + 10 * b->reps, &out, &err, &status, &error))
    {
      result->reason = g_strdup_printf ("failed: %s", error->message);
      return;
    }
  if (status == 77)
    {
      g_autofree char *why = last_line (err);

      result->reason = g_strdup_printf ("not available: %s: %s", client, why);
      return;
    }
  if (status != 0)
    {
      g_autofree char *why = last_line (err);

      result->reason = g_strdup_printf ("failed: qmp-bench.py --client %s exited with %d: %s", client, status, why);
      return;
    }

  line = last_line (out);
  node = json_from_string (line, NULL);
  object = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  member = object ? json_object_get_member (object, "values") : NULL;
  unit = object ? json_object_get_member (object, "unit") : NULL;
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member) ||
      unit == NULL || json_node_get_value_type (unit) != G_TYPE_STRING ||
      !g_str_equal (json_node_get_string (unit), expected_unit))
    {
      result->reason = g_strdup_printf ("failed: qmp-bench.py printed “%s” (values in %s expected)",
                                        line, expected_unit);
      return;
    }
  values = json_node_get_array (member);
  result->values = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < json_array_get_length (values); i++)
    {
      JsonNode *v = json_array_get_element (values, i);

      if (JSON_NODE_HOLDS_VALUE (v) && (json_node_get_value_type (v) == G_TYPE_DOUBLE ||
                                        json_node_get_value_type (v) == G_TYPE_INT64))
        g_array_append_val (result->values, (double) { json_node_get_double (v) });
    }
  if (result->values->len == 0)
    {
      python_result_clear (result);
      result->reason = g_strdup_printf ("failed: qmp-bench.py printed no values: “%s”", line);
    }
}

/* @row gets @lib's values, and @ref's as its reference; or the reason why
 * not. */
static void
python_fill_row (Row          *row,
                 PythonResult *lib,
                 GArray       *ref_values,
                 const char   *ref_reason)
{
  if (lib->values == NULL)
    {
      row_skip (row, lib->reason);
      return;
    }
  if (ref_values == NULL)
    {
      row_skip (row, ref_reason);
      return;
    }
  g_array_append_vals (row->lib, lib->values->data, lib->values->len);
  g_array_append_vals (row->raw, ref_values->data, ref_values->len);
}

/* The C reference: @lib with @count per repetition, on a connection of
 * its own, after a warm-up; added to @values. */
static gboolean
python_c_reference (Bench       *b,
                    LibRunFunc   lib,
                    long         count,
                    GArray      *values,
                    char       **reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = connect_mock (b, &error);
  double value;

  if (conn == NULL)
    goto failed;
  watch_begin (conn, NULL);
  if (!lib (b, conn, MAX (count / 5, 1), &value, &error))
    goto failed;
  for (int rep = 0; rep < b->reps; rep++)
    {
      if (!lib (b, conn, count, &value, &error))
        goto failed;
      g_array_append_val (values, value);
    }
  watch_end ();
  qmp_connection_close_sync (conn, NULL, NULL);
  return TRUE;

failed:
  watch_explain (&error);
  watch_end ();
  *reason = g_strdup_printf ("failed: the C reference: %s", error->message);
  return FALSE;
}

static void
run_python (Bench *b)
{
  static const struct {
    const char *scenario;
    LibRunFunc c_lib;
    long count;
    int row_c, row_qemu_qmp;
  } runs[] = {
    { "serial", lib_serial_sync, 2000, ROW_PYTHON_SERIAL, ROW_PYTHON_SERIAL_QEMU_QMP },
    { "schema", lib_schema, 20, ROW_PYTHON_SCHEMA, ROW_PYTHON_SCHEMA_QEMU_QMP },
  };

  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      PythonResult lib = { 0 }, qemu_qmp = { 0 };
      g_autoptr(GArray) c_values = g_array_new (FALSE, FALSE, sizeof (double));
      g_autofree char *c_reason = NULL;
      long count = MAX (scaled (b, runs[i].count), 3);
      gboolean c_ok;

      /* Python's repetitions run in one process, so they cannot be
       * interleaved with C's: C's come before and after them instead, so
       * that a change of load while Python runs shows in both. */
      progress ("12 Python, C reference, %s: %d × %ld", runs[i].scenario, b->reps, count);
      c_ok = python_c_reference (b, runs[i].c_lib, count, c_values, &c_reason);
      python_run (b, runs[i].scenario, "qmp-glib", count, &lib);
      python_run (b, runs[i].scenario, "qemu.qmp", count, &qemu_qmp);
      if (c_ok)
        {
          progress ("12 Python, C reference again, %s: %d × %ld", runs[i].scenario, b->reps, count);
          c_ok = python_c_reference (b, runs[i].c_lib, count, c_values, &c_reason);
        }

      python_fill_row (&rows[runs[i].row_c], &lib, c_ok ? c_values : NULL, c_reason);
      python_fill_row (&rows[runs[i].row_qemu_qmp], &lib, qemu_qmp.values, qemu_qmp.reason);
      if (rows[runs[i].row_c].lib->len > 0)
        rows[runs[i].row_c].note = g_strdup_printf ("%ld calls a repetition, in one Python process; "
                                                    "C's repetitions before and after it", count);
      python_result_clear (&lib);
      python_result_clear (&qemu_qmp);
    }
  progress ("12 Python: done");
}

/* 13: the channel's own line reader beside GDataInputStream, which the
 * design first specified: the same event flood, the same reply and a
 * 200 MB line, each measurement in a fresh process (this program with
 * --reader-child) so that its peak RSS (VmHWM) is the reading's alone.
 * GDataInputStream is used as an application would: read_line_async on
 * the socket's input, a 64 KiB buffer (the channel's largest read), each
 * line parsed with JsonParser and its members looked up as the channel's
 * callers do. */

/* The default of QmpConnection:max-message-size. */
static guint64
default_max_message_size (void)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (QMP_TYPE_CONNECTION);
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), "max-message-size");

  return G_PARAM_SPEC_UINT64 (pspec)->default_value;
}

/* A QMP client on GDataInputStream, in the child. */
typedef struct
{
  GSocketConnection *stream;
  GDataInputStream *in;
  GOutputStream *out;
  JsonParser *parser;
  GMainLoop *loop;
  gboolean parse;
  guint64 limit;              /* a longer line is refused once read */
  long events;
  gint64 seq_sum;
  JsonNode *reply;            /* the last "return" */
  gboolean replied;
  GError *error;
} GdisClient;

static gboolean gdis_handle_line (GdisClient *c, const char *line, gsize len, GError **error);

static GdisClient *
gdis_client_new (const char  *address,
                 gboolean     parse,
                 GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree char *line = NULL;
  GdisClient *c;
  gsize len;
  static const char capabilities[] = "{\"execute\": \"qmp_capabilities\"}\n";

  if (!g_str_has_prefix (address, "unix:"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a unix: address: %s", address);
      return NULL;
    }
  socket_address = g_unix_socket_address_new (address + 5);
  c = g_new0 (GdisClient, 1);
  c->stream = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (socket_address), NULL, error);
  if (c->stream == NULL)
    {
      g_free (c);
      return NULL;
    }
  c->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (c->stream)));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (c->in), 64 * 1024);
  /* QMP's lines end in "\r\n" or "\n": the '\r' is white space to JSON. */
  g_data_input_stream_set_newline_type (c->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  c->out = g_io_stream_get_output_stream (G_IO_STREAM (c->stream));
  c->parser = json_parser_new_immutable ();
  c->loop = g_main_loop_new (NULL, FALSE);
  c->parse = parse;
  c->limit = G_MAXUINT64;

  /* The greeting, then the negotiation; not timed. */
  line = g_data_input_stream_read_line (c->in, &len, NULL, error);
  if (line == NULL || !g_output_stream_write_all (c->out, capabilities, strlen (capabilities), NULL, NULL, error))
    goto failed;
  g_free (line);
  line = g_data_input_stream_read_line (c->in, &len, NULL, error);
  if (line == NULL || !g_str_has_prefix (line, "{\"return\""))
    goto failed;
  return c;

failed:
  if (error != NULL && *error == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no greeting or negotiation");
  g_object_unref (c->stream);
  g_object_unref (c->in);
  g_object_unref (c->parser);
  g_main_loop_unref (c->loop);
  g_free (c);
  return NULL;
}

/* One line: an event (its data looked up, as 4b's handler does) or a
 * return (kept, as execute_sync returns it). */
static gboolean
gdis_handle_line (GdisClient  *c,
                  const char  *line,
                  gsize        len,
                  GError     **error)
{
  JsonObject *object;

  if (len > c->limit)
    {
      g_set_error (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE, "a line of %" G_GSIZE_FORMAT " bytes", len);
      return FALSE;
    }
  if (!c->parse)
    {
      /* Reading alone: recognised by their first bytes, as the raw client does. */
      if (g_str_has_prefix (line, "{\"timestamp\""))
        c->events++;
      else if (g_str_has_prefix (line, "{\"return\""))
        c->replied = TRUE;
      return TRUE;
    }

  if (!json_parser_load_from_data (c->parser, line, (gssize) len, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (c->parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not an object");
      return FALSE;
    }
  object = json_node_get_object (json_parser_get_root (c->parser));
  if (json_object_has_member (object, "event"))
    {
      JsonObject *data = json_object_get_object_member (object, "data");

      c->events++;
      if (data != NULL)
        c->seq_sum += json_object_get_int_member_with_default (data, "seq", 0);
    }
  else if (json_object_has_member (object, "return"))
    {
      g_clear_pointer (&c->reply, json_node_unref);
      c->reply = json_object_dup_member (object, "return");
      c->replied = TRUE;
    }
  return TRUE;
}

static void
on_gdis_line (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GdisClient *c = user_data;
  gsize len;
  g_autofree char *line = g_data_input_stream_read_line_finish (c->in, result, &len, &c->error);

  if (line == NULL && c->error == NULL)
    g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "the server closed the connection");
  if (line == NULL || !gdis_handle_line (c, line, len, &c->error) || c->replied)
    {
      g_main_loop_quit (c->loop);
      return;
    }
  g_data_input_stream_read_line_async (c->in, G_PRIORITY_DEFAULT, NULL, on_gdis_line, c);
}

/* Writes @command and reads lines until its return. */
static gboolean
gdis_execute (GdisClient  *c,
              const char  *command,
              GError     **error)
{
  c->replied = FALSE;
  if (!g_output_stream_write_all (c->out, command, strlen (command), NULL, NULL, error))
    return FALSE;
  g_data_input_stream_read_line_async (c->in, G_PRIORITY_DEFAULT, NULL, on_gdis_line, c);
  g_main_loop_run (c->loop);
  if (c->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&c->error));
      return FALSE;
    }
  return TRUE;
}

/* The child: one load, read by one implementation; prints "ok VALUE
 * PEAK_KIB", VALUE in events/s (events), ms a call (reply), ms until the
 * line is refused (long-line). */
static int
reader_child (const char *address,
              const char *impl,
              const char *load,
              gboolean    parse,
              gint64      count)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpConnection) conn = NULL;
  GdisClient *gdis = NULL;
  gboolean channel = g_str_equal (impl, "channel");
  Bench bench = { 0 };
  double value = 0, t0;
  long base;

  bench.loop = g_main_loop_new (NULL, FALSE);
  bench.reps = 1;
  bench.scale = 1;
  if (channel)
    conn = qmp_connection_new_for_address_sync (address, QMP_CONNECTION_FLAGS_NONE, NULL, &error);
  else
    gdis = gdis_client_new (address, parse, &error);
  if (conn == NULL && gdis == NULL)
    goto failed;

  /* A small one first: what any call costs once goes into the baseline. */
  if (g_str_equal (load, "events"))
    {
      if (channel ? !lib_events_data (&bench, conn, 1000, &value, &error)
                  : !gdis_execute (gdis, "{\"execute\": \"bench-events\", \"arguments\": {\"count\": 1000}}\n", &error))
        goto failed;
    }
  else if (g_str_equal (load, "reply"))
    {
      /* A small reply: the big one's memory is what is measured. */
      if (channel ? !lib_serial_sync (&bench, conn, 1, &value, &error)
                  : !gdis_execute (gdis, "{\"execute\": \"query-status\"}\n", &error))
        goto failed;
    }
  if (gdis != NULL)
    {
      gdis->events = 0;
      gdis->seq_sum = 0;
      g_clear_pointer (&gdis->reply, json_node_unref);
    }
  malloc_trim (0);
  if (!reset_peak_rss ())
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot reset the peak RSS (/proc/self/clear_refs)");
      goto failed;
    }
  base = read_rss_kib ();

  if (g_str_equal (load, "events"))
    {
      if (channel)
        {
          if (!lib_events_data (&bench, conn, count, &value, &error))
            goto failed;
        }
      else
        {
          g_autofree char *command = g_strdup_printf ("{\"execute\": \"bench-events\", "
                                                      "\"arguments\": {\"count\": %" G_GINT64_FORMAT "}}\n", count);

          t0 = now_us ();
          if (!gdis_execute (gdis, command, &error))
            goto failed;
          value = (double) gdis->events / ((now_us () - t0) / 1e6);
          if (gdis->events != count || (parse && gdis->seq_sum != count * (count - 1) / 2))
            {
              g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "%ld events, not what the mock sent",
                           gdis->events);
              goto failed;
            }
        }
    }
  else if (g_str_equal (load, "reply"))
    {
      if (channel)
        {
          if (!lib_schema (&bench, conn, count, &value, &error))
            goto failed;
        }
      else
        {
          double total = 0;

          for (gint64 i = 0; i < count; i++)
            {
              t0 = now_us ();
              if (!gdis_execute (gdis, "{\"execute\": \"query-qmp-schema\"}\n", &error))
                goto failed;
              total += now_us () - t0;
              /* Freed, like lib_schema's, outside the time. */
              if (parse && (gdis->reply == NULL || !JSON_NODE_HOLDS_ARRAY (gdis->reply)))
                {
                  g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "no schema in the reply");
                  goto failed;
                }
              g_clear_pointer (&gdis->reply, json_node_unref);
            }
          value = total / 1e3 / (double) count;
        }
    }
  else if (g_str_equal (load, "long-line"))
    {
      g_autofree char *command = g_strdup_printf ("{\"execute\": \"bench-long-line\", "
                                                  "\"arguments\": {\"size\": %" G_GINT64_FORMAT "}}\n", count);
      g_autoptr(JsonNode) ret = NULL;

      /* Both with the channel's default max-message-size, 64 MiB. */
      t0 = now_us ();
      if (channel)
        {
          g_autoptr(JsonObject) arguments = json_object_new ();

          json_object_set_int_member (arguments, "size", count);
          ret = qmp_connection_execute_sync (conn, "bench-long-line", arguments, QMP_EXECUTE_FLAGS_NONE,
                                             NULL, &error);
        }
      else
        {
          gdis->limit = default_max_message_size ();
          gdis_execute (gdis, command, &error);
        }
      value = (now_us () - t0) / 1e3;
      if (!g_error_matches (error, QMP_ERROR, QMP_ERROR_MESSAGE_TOO_LARGE))
        {
          if (error == NULL)
            g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "a line of %" G_GINT64_FORMAT " bytes was accepted",
                         count);
          goto failed;
        }
    }

  g_print ("ok %.6g %ld\n", value, read_peak_rss_kib () - base);
  fflush (stdout);
  _exit (0);

failed:
  g_print ("error %s\n", error ? error->message : "failed");
  fflush (stdout);
  _exit (1);
}

/* Runs one measurement in a child: @value and @peak_mib. */
static gboolean
reader_measure (Bench       *b,
                const char  *impl,
                const char  *load,
                gboolean     parse,
                gint64       count,
                double      *value,
                double      *peak_mib,
                GError     **error)
{
  g_autofree char *count_arg = g_strdup_printf ("%" G_GINT64_FORMAT, count);
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) fields = NULL;
  const char *argv[] = { b->self, "--reader-child", b->mock_address, "--reader-impl", impl,
                         "--reader-load", load, "--reader-count", count_arg,
                         parse ? NULL : "--reader-no-parse", NULL };
  int status;

  if (!run_captured (argv, 4 * opt_stall_seconds, &out, &err, &status, error))
    return FALSE;
  fields = g_strsplit (g_strstrip (out), " ", -1);
  if (status != 0 || !g_str_equal (fields[0], "ok") || g_strv_length (fields) < 3)
    {
      g_autofree char *why = last_line (*out ? out : err);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s, %s: %s", impl, load, why);
      return FALSE;
    }
  *value = g_ascii_strtod (fields[1], NULL);
  *peak_mib = g_ascii_strtod (fields[2], NULL) / 1024.0;
  return TRUE;
}

static void
run_line_reader (Bench *b)
{
  static const struct {
    const char *load;
    long count;
    int row_time, row_rss;
  } loads[] = {
    { "events", 200000, ROW_READER_EVENTS, ROW_READER_EVENTS_RSS },
    { "reply", 20, ROW_READER_REPLY, ROW_READER_REPLY_RSS },
    { "long-line", 0, ROW_READER_LONG, ROW_READER_LONG_RSS },
  };
  for (guint i = 0; i < G_N_ELEMENTS (loads); i++)
    {
      Row *time_row = &rows[loads[i].row_time], *rss_row = &rows[loads[i].row_rss];
      g_autoptr(GError) error = NULL;
      gint64 count = loads[i].count ? MAX (scaled (b, loads[i].count), 3) : opt_long_line;
      /* The long line's peak is the same every time. */
      int reps = MIN (b->reps, loads[i].count ? 3 : 2);
      double value, peak, read_only = 0;

      progress ("13 %s: channel and GDataInputStream, %d × %" G_GINT64_FORMAT, loads[i].load, reps, count);
      for (int rep = 0; rep < reps; rep++)
        {
          if (!reader_measure (b, "channel", loads[i].load, TRUE, count, &value, &peak, &error))
            goto failed;
          g_array_append_val (time_row->lib, value);
          g_array_append_val (rss_row->lib, peak);
          if (!reader_measure (b, "gdis", loads[i].load, TRUE, count, &value, &peak, &error))
            goto failed;
          g_array_append_val (time_row->raw, value);
          g_array_append_val (rss_row->raw, peak);
        }

      /* What GDataInputStream costs without JsonParser: once. */
      if (loads[i].count != 0)
        {
          if (!reader_measure (b, "gdis", loads[i].load, FALSE, count, &read_only, &peak, &error))
            goto failed;
          time_row->note = g_strdup_printf ("%" G_GINT64_FORMAT " %s; GDataInputStream alone (lines not parsed): "
                                            "%.*f %s",
                                            count, loads[i].count == 20 ? "calls" : "events",
                                            time_row->precision, read_only, time_row->unit);
        }
      else
        {
          time_row->note = g_strdup_printf ("a line of %" G_GINT64_FORMAT " bytes, max-message-size %" G_GUINT64_FORMAT
                                            " (the default) for both; GDataInputStream can only refuse it once read",
                                            count, default_max_message_size ());
        }
      continue;

    failed:
      progress ("13 %s: failed: %s", loads[i].load, error->message);
      row_skip (time_row, error->message);
      row_skip (rss_row, error->message);
    }
  progress ("13 line reader: done");
}

/* ----------------------------------------------------------- results */

typedef struct
{
  gboolean valid;
  double median, min, max;
} Stats;

static Stats
stats_of (GArray *values)
{
  Stats s = { FALSE, 0, 0, 0 };
  g_autoptr(GArray) sorted = NULL;
  guint n = values->len;

  if (n == 0)
    return s;
  sorted = g_array_copy (values);
  g_array_sort (sorted, compare_doubles);
  s.valid = TRUE;
  s.min = g_array_index (sorted, double, 0);
  s.max = g_array_index (sorted, double, n - 1);
  s.median = n % 2 ? g_array_index (sorted, double, n / 2)
                   : (g_array_index (sorted, double, n / 2 - 1) + g_array_index (sorted, double, n / 2)) / 2;
  return s;
}

/* How many times qmp-glib is slower (or bigger) than raw: > 1 is worse,
 * whichever way the unit goes.  NAN when it means nothing. */
static double
row_ratio (Row *row)
{
  Stats lib = stats_of (row->lib), raw = stats_of (row->raw);

  if (!lib.valid || !raw.valid)
    return NAN;
  if (row->higher_is_better)
    return lib.median > 0 ? raw.median / lib.median : NAN;
  /* A raw figure of nothing makes no ratio. */
  if (raw.median <= 0)
    return NAN;
  return lib.median / raw.median;
}

/* 1: met, 0: missed, -1: not judged. */
static int
row_target_met (Row *row)
{
  Stats lib = stats_of (row->lib);
  double ratio = row_ratio (row);

  if (row->skipped != NULL || !lib.valid)
    return -1;
  switch (row->target_kind)
    {
    case TARGET_RATIO_MAX:
      return isnan (ratio) ? -1 : ratio <= row->target;
    case TARGET_VALUE_MIN:
      return lib.median >= row->target;
    case TARGET_VALUE_MAX:
      return lib.median <= row->target;
    case TARGET_NONE:
    default:
      return row->target_met;
    }
}

static char *
format_value (Row    *row,
              double  v)
{
  return g_strdup_printf ("%.*f", row->precision, v);
}

static char *
format_stats (Row    *row,
              GArray *values)
{
  Stats s = stats_of (values);
  g_autofree char *med = NULL, *min = NULL, *max = NULL;

  if (!s.valid)
    return g_strdup ("-");
  med = format_value (row, s.median);
  if (values->len == 1)
    return g_steal_pointer (&med);
  min = format_value (row, s.min);
  max = format_value (row, s.max);
  return g_strdup_printf ("%s [%s–%s]", med, min, max);
}

/* printf's widths count bytes; these count characters. */
static void
print_padded (GString    *out,
              const char *text,
              int         width,
              gboolean    right)
{
  int pad = width - (int) g_utf8_strlen (text, -1);

  if (right)
    for (; pad > 0; pad--)
      g_string_append_c (out, ' ');
  g_string_append (out, text);
  if (!right)
    for (; pad > 0; pad--)
      g_string_append_c (out, ' ');
}

/* "3b" after "3", "12a" after "10". */
static int
compare_row_numbers (gconstpointer a,
                     gconstpointer b)
{
  const char *x = rows[*(const guint *) a].number, *y = rows[*(const guint *) b].number;
  char *x_end, *y_end;
  long i = strtol (x, &x_end, 10), j = strtol (y, &y_end, 10);

  return i != j ? (i < j ? -1 : 1) : strcmp (x_end, y_end);
}

/* The rows in the order of their numbers. */
static const guint *
rows_in_order (void)
{
  static guint order[N_ROWS];

  for (guint r = 0; r < N_ROWS; r++)
    order[r] = r;
  qsort (order, N_ROWS, sizeof order[0], compare_row_numbers);
  return order;
}

static gboolean
row_selected (Row *row)
{
  return row->lib->len > 0 || row->skipped != NULL;
}

/* The 1-minute load average: other work on the machine shows in the
 * figures, so the table says how busy it was. */
static double
read_loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return NAN;
  return g_ascii_strtod (text, NULL);
}

static double load_start = NAN, load_end = NAN;

/* What the placement of this run means, for the table's heading. */
static char *
placement_describe (void)
{
  if (g_str_equal (placement, "pinned"))
    return g_strdup_printf ("pinned: servers (the mock, QEMU) on CPU %d; qmp-bench with all its threads "
                            "(the library's I/O thread too), the raw client, Python and the children on CPU %d",
                            server_cpu, client_cpu);
  return g_strdup ("unpinned: the scheduler places every process and thread");
}

/* A reference's name, for the footnote. */
static const char *
reference_explain (const char *reference)
{
  if (g_str_equal (reference, "raw"))
    return "raw: qmp-bench-raw, read()/write() and nothing else";
  if (g_str_equal (reference, "C"))
    return "C: the same call through qmp-glib from C, measured just before and just after";
  if (g_str_equal (reference, "qemu.qmp"))
    return "qemu.qmp: QEMU's Python client";
  if (g_str_equal (reference, "direct"))
    return "direct: the same calls on a connection straight to the server";
  if (g_str_equal (reference, "GDIS"))
    return "GDIS: GDataInputStream read_line_async, lines parsed with JsonParser (qmp-glib: the channel's own reader)";
  return reference;
}

static const char *
row_reference (Row *row)
{
  return row->reference ? row->reference : "raw";
}

static void
print_table (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  static const char *headers[] = { "#", "scenario", "unit", "qmp-glib median [min–max]", "vs",
                                   "reference median [min–max]", "ratio", "target", "met" };
  int widths[] = { 3, 8, 9, 30, 8, 30, 7, 13, 4 };
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) references = g_ptr_array_new ();
  g_autofree char *heading = placement_describe ();
  const guint *order = rows_in_order ();

  for (guint r = 0; r < N_ROWS; r++)
    if (row_selected (&rows[r]))
      {
        widths[1] = MAX (widths[1], (int) g_utf8_strlen (rows[r].title, -1));
        widths[7] = MAX (widths[7], (int) g_utf8_strlen (rows[r].target_text, -1));
      }

  g_string_append_printf (out, "\n== placement %s ==\n", heading);
  g_string_append_printf (out, "load average (1 min) before: %.2f (%d CPUs)\n\n",
                          load_start, g_get_num_processors ());
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      print_padded (out, headers[i], widths[i], i == 3 || i == 5 || i == 6);
      g_string_append (out, i + 1 < G_N_ELEMENTS (headers) ? "  " : "\n");
    }
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      for (int j = 0; j < widths[i]; j++)
        g_string_append_c (out, '-');
      g_string_append (out, i + 1 < G_N_ELEMENTS (headers) ? "  " : "\n");
    }

  for (guint r = 0; r < N_ROWS; r++)
    {
      Row *row = &rows[order[r]];
      g_autofree char *lib = NULL, *raw = NULL, *ratio = NULL;
      const char *met;
      double q;
      int m;

      if (!row_selected (row))
        continue;
      if (!g_ptr_array_find_with_equal_func (references, row_reference (row), g_str_equal, NULL))
        g_ptr_array_add (references, (gpointer) row_reference (row));

      if (row->skipped != NULL && row->lib->len == 0)
        {
          /* "not available: why" shows as "not available". */
          const char *colon = strchr (row->skipped, ':');

          lib = colon ? g_strndup (row->skipped, (gsize) (colon - row->skipped)) : g_strdup ("-");
          raw = g_strdup ("-");
          ratio = g_strdup ("-");
          g_ptr_array_add (notes, g_strdup_printf ("%s: %s", row->number, row->skipped));
        }
      else
        {
          lib = format_stats (row, row->lib);
          raw = format_stats (row, row->raw);
          q = row_ratio (row);
          ratio = isnan (q) ? g_strdup ("n/a") : g_strdup_printf ("%.2f", q);
        }
      if (row->note != NULL)
        g_ptr_array_add (notes, g_strdup_printf ("%s: %s", row->number, row->note));

      m = row_target_met (row);
      met = m < 0 ? (row->skipped != NULL ? "n/a" : "") : m ? "yes" : "NO";

      print_padded (out, row->number, widths[0], FALSE);
      g_string_append (out, "  ");
      print_padded (out, row->title, widths[1], FALSE);
      g_string_append (out, "  ");
      print_padded (out, row->unit, widths[2], FALSE);
      g_string_append (out, "  ");
      print_padded (out, lib, widths[3], TRUE);
      g_string_append (out, "  ");
      print_padded (out, row_reference (row), widths[4], FALSE);
      g_string_append (out, "  ");
      print_padded (out, raw, widths[5], TRUE);
      g_string_append (out, "  ");
      print_padded (out, ratio, widths[6], TRUE);
      g_string_append (out, "  ");
      print_padded (out, *row->target_text ? row->target_text : "—", widths[7], FALSE);
      g_string_append (out, "  ");
      g_string_append (out, met);
      g_string_append_c (out, '\n');
    }

  g_string_append_printf (out, "\nload average (1 min) after: %.2f\n", load_end);
  g_string_append (out, "ratio: qmp-glib ÷ reference for times and sizes, reference ÷ qmp-glib for rates; "
                   "above 1 is slower or bigger than the reference.\n");
  for (guint i = 0; i < references->len; i++)
    g_string_append_printf (out, "vs %s\n", reference_explain (g_ptr_array_index (references, i)));
  for (guint i = 0; i < notes->len; i++)
    g_string_append_printf (out, "%s\n", (char *) g_ptr_array_index (notes, i));

  g_print ("%s", out->str);
}

static void
json_add_stats (JsonBuilder *builder,
                const char  *name,
                GArray      *values)
{
  Stats s = stats_of (values);

  json_builder_set_member_name (builder, name);
  if (!s.valid)
    {
      json_builder_add_null_value (builder);
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "median");
  json_builder_add_double_value (builder, s.median);
  json_builder_set_member_name (builder, "min");
  json_builder_add_double_value (builder, s.min);
  json_builder_set_member_name (builder, "max");
  json_builder_add_double_value (builder, s.max);
  json_builder_set_member_name (builder, "samples");
  json_builder_begin_array (builder);
  for (guint i = 0; i < values->len; i++)
    json_builder_add_double_value (builder, g_array_index (values, double, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

/* This placement's results: the figures of each row, the placement, and
 * the load average before and after. */
static void
json_add_placement (JsonBuilder *builder,
                    Bench       *b,
                    const char  *skipped)
{
  g_autofree char *description = placement_describe ();
  const guint *order = rows_in_order ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "placement");
  json_builder_add_string_value (builder, placement);
  json_builder_set_member_name (builder, "placement_description");
  json_builder_add_string_value (builder, description);
  json_builder_set_member_name (builder, "server_cpu");
  if (servers_pinned)
    json_builder_add_int_value (builder, server_cpu);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "client_cpu");
  if (servers_pinned)
    json_builder_add_int_value (builder, client_cpu);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "qmp_glib_version");
  json_builder_add_string_value (builder, QMP_VERSION_S);
  json_builder_set_member_name (builder, "cpus");
  json_builder_add_int_value (builder, g_get_num_processors ());
  if (skipped != NULL)
    {
      json_builder_set_member_name (builder, "skipped");
      json_builder_add_string_value (builder, skipped);
      json_builder_end_object (builder);
      return;
    }
  json_builder_set_member_name (builder, "load_average_start");
  json_builder_add_double_value (builder, load_start);
  json_builder_set_member_name (builder, "load_average_end");
  json_builder_add_double_value (builder, load_end);
  json_builder_set_member_name (builder, "repetitions");
  json_builder_add_int_value (builder, b->reps);
  json_builder_set_member_name (builder, "scale");
  json_builder_add_double_value (builder, b->scale);
  json_builder_set_member_name (builder, "scenarios");
  json_builder_begin_array (builder);
  for (guint r = 0; r < N_ROWS; r++)
    {
      Row *row = &rows[order[r]];
      double ratio = row_ratio (row);
      int met = row_target_met (row);

      if (!row_selected (row))
        continue;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, row->id);
      json_builder_set_member_name (builder, "number");
      json_builder_add_string_value (builder, row->number);
      json_builder_set_member_name (builder, "title");
      json_builder_add_string_value (builder, row->title);
      json_builder_set_member_name (builder, "unit");
      json_builder_add_string_value (builder, row->unit);
      json_add_stats (builder, "qmp_glib", row->lib);
      json_builder_set_member_name (builder, "reference");
      json_builder_add_string_value (builder, row_reference (row));
      /* "raw": the reference's figures, whatever the reference is. */
      json_add_stats (builder, "raw", row->raw);
      json_builder_set_member_name (builder, "ratio");
      if (isnan (ratio))
        json_builder_add_null_value (builder);
      else
        json_builder_add_double_value (builder, ratio);
      json_builder_set_member_name (builder, "target");
      json_builder_add_string_value (builder, row->target_text);
      json_builder_set_member_name (builder, "target_met");
      if (met < 0)
        json_builder_add_null_value (builder);
      else
        json_builder_add_boolean_value (builder, met);
      if (row->skipped != NULL)
        {
          json_builder_set_member_name (builder, "skipped");
          json_builder_add_string_value (builder, row->skipped);
        }
      if (row->note != NULL)
        {
          json_builder_set_member_name (builder, "note");
          json_builder_add_string_value (builder, row->note);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

/* --json: {"placements": [this placement]}; --json-part (from the parent
 * of a run of both placements): this placement alone. */
static gboolean
write_json (Bench       *b,
            const char  *skipped,
            GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  const char *path = opt_json_part ? opt_json_part : opt_json;

  if (opt_json_part == NULL)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "placements");
      json_builder_begin_array (builder);
    }
  json_add_placement (builder, b, skipped);
  if (opt_json_part == NULL)
    {
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_file (generator, path, error);
}

/* ------------------------------------------------ 11: through a proxy */

/* One repetition of scenario 11: @n serial round trips on each of @proxied
 * and @direct, in alternating runs of PROXY_CHUNK, so that a change in
 * the machine's load hits both alike; the mean of each, in µs. */
#define PROXY_CHUNK 100

static gboolean
proxy_serial_run (QmpConnection  *proxied,
                  QmpConnection  *direct,
                  long            n,
                  double         *proxied_us,
                  double         *direct_us,
                  GError        **error)
{
  double spent[2] = { 0, 0 };
  QmpConnection *conns[2] = { proxied, direct };

  for (long done = 0; done < n; done += PROXY_CHUNK)
    for (guint c = 0; c < G_N_ELEMENTS (conns); c++)
      {
        long chunk = MIN (PROXY_CHUNK, n - done);
        double t0 = now_us ();

        for (long i = 0; i < chunk; i++)
          {
            g_autoptr(JsonNode) ret = qmp_connection_execute_sync (conns[c], "query-status", NULL,
                                                                   QMP_EXECUTE_FLAGS_NONE, NULL, error);

            WATCH_TICK ();
            if (ret == NULL)
              return FALSE;
            if (done == 0 && i == 0 && !check_status (ret, error))
              return FALSE;
          }
        spent[c] += now_us () - t0;
      }

  *proxied_us = spent[0] / (double) n;
  *direct_us = spent[1] / (double) n;
  return TRUE;
}

/* 11: execute_sync through a QmpProxy in this process (the client on a
 * socket pair from qmp_proxy_new_client_stream(), the proxy's upstream
 * connected to the mock), against execute_sync on a direct connection to
 * the same mock.  The "raw" column is the direct one. */
static gboolean
proxy_measure (Bench   *b,
               Row     *row,
               GError **error)
{
  g_autoptr(QmpConnection) upstream = NULL;
  g_autoptr(QmpConnection) direct = NULL;
  g_autoptr(QmpConnection) client = NULL;
  g_autoptr(QmpProxy) proxy = NULL;
  g_autoptr(GIOStream) stream = NULL;
  long warmup = scaled (b, 2000), n = scaled (b, 10000);
  double proxied_us, direct_us;
  gboolean ok = FALSE;

  upstream = connect_mock (b, error);
  if (upstream == NULL)
    return FALSE;
  proxy = qmp_proxy_new (upstream);
  stream = qmp_proxy_new_client_stream (proxy, QMP_PROXY_CLIENT_FLAGS_NONE, error);
  if (stream == NULL)
    goto out;
  client = qmp_connection_new_sync (stream, QMP_CONNECTION_FLAGS_NONE, NULL, error);
  if (client == NULL)
    goto out;
  direct = connect_mock (b, error);
  if (direct == NULL)
    goto out;

  /* The watchdog closes the upstream connection on a stall: both calls
   * then fail. */
  watch_begin (upstream, NULL);

  progress ("%s %s: warm-up (%ld)", row->number, row->title, warmup);
  if (!proxy_serial_run (client, direct, warmup, &proxied_us, &direct_us, error))
    goto out;

  for (int rep = 0; rep < b->reps; rep++)
    {
      if (!proxy_serial_run (client, direct, n, &proxied_us, &direct_us, error))
        goto out;
      g_array_append_val (row->lib, proxied_us);
      g_array_append_val (row->raw, direct_us);
    }

  progress ("%s %s: done", row->number, row->title);
  ok = TRUE;

out:
  watch_explain (error);
  watch_end ();
  if (client != NULL)
    qmp_connection_close_sync (client, NULL, NULL);
  if (direct != NULL)
    qmp_connection_close_sync (direct, NULL, NULL);
  qmp_proxy_close (proxy);
  qmp_connection_close_sync (upstream, NULL, NULL);
  return ok;
}

static void
run_proxy (Bench *b)
{
  g_autoptr(GError) error = NULL;
  Row *row = &rows[ROW_PROXY];

  if (!proxy_measure (b, row, &error))
    {
      g_autofree char *reason = g_strdup_printf ("failed: %s", error->message);

      progress ("%s %s: %s", row->number, row->title, reason);
      row_skip (row, reason);
      return;
    }
  row->note = g_strdup ("the raw column is execute_sync on a direct connection to the same mock, "
                        "alternating with the proxied calls every " G_STRINGIFY (PROXY_CHUNK));
}

/* ------------------------------------------------------------- setup */

static gboolean
start_mock (Bench   *b,
            GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = server_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  b->mock = g_subprocess_launcher_spawn (launcher, error, opt_mock, b->mock_socket, NULL);
  if (b->mock == NULL)
    return FALSE;

  /* It says "ready" once it listens. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b->mock));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, error);
  if (line == NULL || !g_str_has_prefix (line, "ready"))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the mock server did not start");
      return FALSE;
    }
  return TRUE;
}

static gboolean
start_raw (Bench   *b,
           GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                          G_SUBPROCESS_FLAGS_STDOUT_PIPE);

  b->raw = g_subprocess_launcher_spawn (launcher, error, opt_raw, "--stdin", NULL);
  if (b->raw == NULL)
    return FALSE;
  b->raw_in = g_subprocess_get_stdin_pipe (b->raw);
  b->raw_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b->raw));
  return TRUE;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

/* Interrupted (Ctrl-C, or meson's timeout): remove the temporary
 * directory on the way out.  unlink() and rmdir() are async-signal-safe;
 * the paths are made before the handler is installed.  The children die
 * with this process. */
static char *cleanup_paths[5];   /* files first, then directories */

static void
on_fatal_signal (int sig)
{
  for (guint i = 0; i < G_N_ELEMENTS (cleanup_paths); i++)
    if (cleanup_paths[i] != NULL && unlink (cleanup_paths[i]) < 0)
      rmdir (cleanup_paths[i]);
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
install_cleanup (Bench *b)
{
  cleanup_paths[0] = g_strdup (b->mock_socket);
  cleanup_paths[1] = g_build_filename (b->tmpdir, "qemu", "qmp.sock", NULL);
  cleanup_paths[2] = g_build_filename (b->tmpdir, "qemu", NULL);
  cleanup_paths[3] = g_strdup (b->tmpdir);
  signal (SIGINT, on_fatal_signal);
  signal (SIGTERM, on_fatal_signal);
  signal (SIGHUP, on_fatal_signal);
}

static gboolean
scenario_wanted (const char *name)
{
  if (opt_scenarios == NULL)
    return TRUE;
  for (char **s = opt_scenarios; *s != NULL; s++)
    {
      g_auto(GStrv) parts = g_strsplit (*s, ",", -1);

      for (char **p = parts; *p != NULL; p++)
        if (g_str_equal (g_strstrip (*p), name))
          return TRUE;
    }
  return FALSE;
}

static char *
sibling_path (const char *self,
              const char *name)
{
  g_autofree char *dir = g_path_get_dirname (self);

  return g_build_filename (dir, name, NULL);
}

/* A placement's run ends as on Ctrl-C when this process ends (meson's
 * timeout): it removes its temporary directory on SIGTERM. */
static void
placement_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Both placements, each in a child (this program with --placement), one
 * after the other; their JSON joined in one file. */
static int
run_placements (const char  *self,
                char       **args)
{
  static const char *modes[] = { "unpinned", "pinned" };
  g_autoptr(JsonArray) parts = json_array_new ();
  g_autofree char *tmpdir = NULL;
  g_autoptr(GError) error = NULL;
  int failures = 0;

  if (opt_json != NULL && (tmpdir = g_dir_make_tmp ("qmp-bench-json-XXXXXX", &error)) == NULL)
    {
      g_printerr ("qmp-bench: %s\n", error->message);
      return 1;
    }

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
      g_autoptr(GSubprocess) child = NULL;
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autofree char *part = tmpdir ? g_build_filename (tmpdir, modes[i], NULL) : NULL;
      g_autofree char *text = NULL;

      g_ptr_array_add (argv, (gpointer) self);
      for (char **a = args + 1; *a != NULL; a++)
        g_ptr_array_add (argv, *a);
      /* The last --placement is the one that counts. */
      g_ptr_array_add (argv, "--placement");
      g_ptr_array_add (argv, (gpointer) modes[i]);
      if (part != NULL)
        {
          g_ptr_array_add (argv, "--json-part");
          g_ptr_array_add (argv, part);
        }
      g_ptr_array_add (argv, NULL);

      fflush (stdout);
      g_subprocess_launcher_set_child_setup (launcher, placement_child_setup, NULL, NULL);
      child = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
      if (child == NULL || !g_subprocess_wait_check (child, NULL, &error))
        {
          g_printerr ("qmp-bench: the %s run failed: %s\n", modes[i], error->message);
          g_clear_error (&error);
          failures++;
        }

      if (part != NULL && g_file_get_contents (part, &text, NULL, NULL))
        {
          JsonNode *node = json_from_string (text, NULL);

          if (node != NULL)
            json_array_add_element (parts, node);
          g_unlink (part);
        }
    }

  if (opt_json != NULL)
    {
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
      g_autoptr(JsonObject) object = json_object_new ();

      json_object_set_array_member (object, "placements", json_array_ref (parts));
      json_node_set_object (root, object);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      if (!json_generator_to_file (generator, opt_json, &error))
        {
          g_printerr ("qmp-bench: %s\n", error->message);
          failures++;
        }
      g_rmdir (tmpdir);
    }

  return failures > 0 ? 1 : 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (argv);   /* for the children of --placement both */
  Bench bench = { 0 };
  Bench *b = &bench;

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new ("— benchmark qmp-glib against a mock QMP server, a raw client and QEMU");
  g_option_context_add_main_entries (context, option_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("qmp-bench: %s\n", error->message);
      return 2;
    }

  if (opt_connections_child != NULL)
    return connections_child (opt_connections_child, opt_connections);
  if (opt_slow_events_child != NULL)
    return slow_events_child (opt_slow_events_child, opt_slow_events);
  if (opt_memory_child != NULL)
    return memory_child (opt_memory_child, opt_memory_shape, opt_memory_size);
  if (opt_reader_child != NULL)
    return reader_child (opt_reader_child, opt_reader_impl, opt_reader_load, !opt_reader_no_parse,
                         opt_reader_count);

  if (opt_scenarios != NULL)
    for (char **s = opt_scenarios; *s != NULL; s++)
      {
        g_auto(GStrv) parts = g_strsplit (*s, ",", -1);

        for (char **p = parts; *p != NULL; p++)
          if (!g_strv_contains (scenario_names, g_strstrip (*p)))
            {
              g_printerr ("qmp-bench: unknown scenario “%s”\n", *p);
              return 2;
            }
      }

  b->self = g_file_read_link ("/proc/self/exe", &error);
  if (b->self == NULL)
    {
      g_printerr ("qmp-bench: %s\n", error->message);
      return 1;
    }

  if (opt_placement == NULL || g_str_equal (opt_placement, "both"))
    return run_placements (b->self, args);
  if (g_str_equal (opt_placement, "pinned"))
    {
      placement = "pinned";
      /* Before any thread is made, so that every one inherits it. */
      if (!placement_find_cpus (&error) || !placement_pin_self (&error))
        {
          g_autoptr(GError) json_error = NULL;

          g_print ("\n== placement pinned: %s ==\n", error->message);
          if ((opt_json != NULL || opt_json_part != NULL) && !write_json (b, error->message, &json_error))
            g_printerr ("qmp-bench: %s\n", json_error->message);
          return 0;
        }
    }
  else if (!g_str_equal (opt_placement, "unpinned"))
    {
      g_printerr ("qmp-bench: --placement is unpinned, pinned or both, not “%s”\n", opt_placement);
      return 2;
    }

  raise_nofile_limit ();
  g_thread_unref (g_thread_new ("qmp-bench-watchdog", watchdog_thread, NULL));
  if (opt_mock == NULL)
    opt_mock = sibling_path (b->self, "qmp-bench-mock");
  if (opt_raw == NULL)
    opt_raw = sibling_path (b->self, "qmp-bench-raw");
  b->scale = opt_quick ? 0.1 : 1.0;
  b->reps = opt_quick ? 1 : MAX (opt_reps, 1);
  b->loop = g_main_loop_new (NULL, FALSE);

  for (guint r = 0; r < N_ROWS; r++)
    {
      rows[r].lib = g_array_new (FALSE, FALSE, sizeof (double));
      rows[r].raw = g_array_new (FALSE, FALSE, sizeof (double));
      rows[r].target_met = -1;
    }

  b->tmpdir = g_dir_make_tmp ("qmp-bench-XXXXXX", &error);
  if (b->tmpdir == NULL)
    {
      g_printerr ("qmp-bench: %s\n", error->message);
      return 1;
    }
  b->mock_socket = g_build_filename (b->tmpdir, "mock.sock", NULL);
  b->mock_address = g_strdup_printf ("unix:%s", b->mock_socket);
  install_cleanup (b);

  if (!start_mock (b, &error) || (!opt_no_raw && !start_raw (b, &error)))
    {
      g_printerr ("qmp-bench: %s\n", error->message);
      remove_tree (b->tmpdir);
      return 1;
    }

  load_start = read_loadavg ();
  progress ("%d repetitions%s; mock server on %s", b->reps, opt_quick ? " (quick)" : "", b->mock_socket);

  if (scenario_wanted ("serial-sync"))
    {
      run_on_mock (b, &rows[ROW_SERIAL_SYNC], lib_serial_sync, "serial", scaled (b, 2000), scaled (b, 10000));
      run_on_mock (b, &rows[ROW_SERIAL_SYNC_TEXT], lib_serial_sync_text, "serial",
                   scaled (b, 2000), scaled (b, 10000));
    }
  if (scenario_wanted ("serial-async"))
    {
      run_on_mock (b, &rows[ROW_SERIAL_ASYNC], lib_serial_async, "serial", scaled (b, 2000), scaled (b, 10000));
      run_on_mock (b, &rows[ROW_SERIAL_ASYNC_TEXT], lib_serial_async_text, "serial",
                   scaled (b, 2000), scaled (b, 10000));
    }
  /* Before the 100,000 calls in flight at once of "pipelined": they leave
   * this thread's malloc arena in pieces, and a 210 KB tree built in it
   * afterwards took 3.9–6.5 ms instead of 2.5–3.1 (so did json-glib's
   * calls alone, in note_json_glib_share()). */
  if (scenario_wanted ("schema"))
    {
      run_on_mock (b, &rows[ROW_SCHEMA], lib_schema, "schema", MAX (scaled (b, 5), 2), MAX (scaled (b, 20), 3));
      run_on_mock (b, &rows[ROW_SCHEMA_TEXT], lib_schema_text, "schema",
                   MAX (scaled (b, 5), 2), MAX (scaled (b, 20), 3));
    }
  if (scenario_wanted ("pipelined"))
    {
      run_on_mock (b, &rows[ROW_PIPELINED], lib_pipelined, "pipelined", scaled (b, 10000), scaled (b, 100000));
      run_on_mock (b, &rows[ROW_PIPELINED_TEXT], lib_pipelined_text, "pipelined",
                   scaled (b, 10000), scaled (b, 100000));
      run_on_mock (b, &rows[ROW_PIPELINED_WINDOW], lib_pipelined_window, "pipelined",
                   scaled (b, 10000), scaled (b, 100000));
    }
  if (scenario_wanted ("events"))
    {
      run_on_mock (b, &rows[ROW_EVENTS], lib_events, "events", scaled (b, 20000), scaled (b, 200000));
      run_on_mock (b, &rows[ROW_EVENTS_DATA], lib_events_data, "events", scaled (b, 20000), scaled (b, 200000));
      run_on_mock (b, &rows[ROW_EVENTS_TEXT], lib_events_text, "events", scaled (b, 20000), scaled (b, 200000));
    }
  note_json_glib_share (b);
  if (scenario_wanted ("connections"))
    run_connections (b);
  if (scenario_wanted ("qemu"))
    run_qemu (b);
  if (scenario_wanted ("slow-events"))
    run_slow_events (b);
  if (scenario_wanted ("memory"))
    run_memory (b);
  if (scenario_wanted ("python"))
    run_python (b);
  if (scenario_wanted ("line-reader"))
    run_line_reader (b);
  if (scenario_wanted ("schema-build"))
    run_schema_build (b);
  if (scenario_wanted ("proxy"))
    run_proxy (b);

  load_end = read_loadavg ();
  if (opt_quick)
    {
      rows[ROW_PIPELINED].note = g_strdup ("--quick: 10,000 calls, not 100,000");
      rows[ROW_PIPELINED_WINDOW].note = g_strdup ("--quick: 10,000 calls, not 100,000");
      rows[ROW_PIPELINED_TEXT].note = g_strdup ("--quick: 10,000 calls, not 100,000");
    }

  print_table ();

  if ((opt_json != NULL || opt_json_part != NULL) && !write_json (b, NULL, &error))
    g_printerr ("qmp-bench: %s\n", error->message);

  if (abandoned_connections > 0)
    {
      /* Stopping the mock would close the abandoned connections, with
       * their calls still queued: leave now, the mock follows (it dies
       * with its parent). */
      g_printerr ("qmp-bench: %d connection(s) abandoned after a stall; exiting without closing them\n",
                  abandoned_connections);
      remove_tree (b->tmpdir);
      fflush (stdout);
      _exit (0);
    }

  if (b->raw != NULL)
    {
      g_output_stream_close (b->raw_in, NULL, NULL);
      g_subprocess_wait (b->raw, NULL, NULL);
      g_clear_object (&b->raw_out);
      g_clear_object (&b->raw);
    }
  g_subprocess_send_signal (b->mock, SIGTERM);
  g_subprocess_wait (b->mock, NULL, NULL);
  g_clear_object (&b->mock);
  remove_tree (b->tmpdir);

  for (guint r = 0; r < N_ROWS; r++)
    {
      g_array_unref (rows[r].lib);
      g_array_unref (rows[r].raw);
      g_free (rows[r].skipped);
      g_free (rows[r].note);
    }
  g_main_loop_unref (b->loop);
  g_free (b->self);
  g_free (b->tmpdir);
  g_free (b->mock_socket);
  g_free (b->mock_address);

  return 0;
}
