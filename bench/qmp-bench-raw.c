/* qmp-bench-raw.c — the physical limit: a QMP client with nothing in it
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain blocking read()/write() on the Unix socket, preformatted command
 * lines, replies recognised by their first bytes and counted, never
 * parsed.  Whatever a real client does on top of this is overhead; this is
 * what qmp-bench compares qmp-glib with.
 *
 *   qmp-bench-raw SCENARIO SOCKET N [REPS]   run REPS times (default 1)
 *   qmp-bench-raw --stdin                    read "SCENARIO SOCKET N" lines
 *
 * Each run prints one line, "ok VALUE..." or "error MESSAGE":
 *
 *   serial       N query-status round trips, one at a time      µs/op
 *   pipelined    N query-status, 8 in flight (like qmp-glib)    µs/op
 *   events       bench-events with count N                      events/s
 *   schema       N query-qmp-schema, one at a time              ms/op
 *   connections  N connections, greeting and qmp_capabilities   ms-to-connect-all  KiB-RSS-per-connection  threads
 *
 * Every run but "connections" makes one connection (greeting and
 * negotiation are not timed) and closes it at the end.
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)
#define WINDOW 8   /* in-flight commands when pipelining: QEMU's queue length, as in qmp-glib */

typedef struct
{
  int fd;
  size_t pos;
  size_t len;
  char buf[BUF_SIZE];
} Conn;

static Conn conn;
static char error_message[512];

static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static bool fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static bool
fail (const char *fmt,
      ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (error_message, sizeof error_message, fmt, ap);
  va_end (ap);
  return false;
}

static bool
write_all (int         fd,
           const char *data,
           size_t      len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return fail ("write: %s", strerror (errno));
        }
      data += n;
      len -= (size_t) n;
    }
  return true;
}

/* One blocking read into the buffer, compacting it first if needed. */
static bool
fill (Conn *c)
{
  ssize_t n;

  if (c->pos == c->len)
    c->pos = c->len = 0;
  else if (c->len == BUF_SIZE)
    {
      memmove (c->buf, c->buf + c->pos, c->len - c->pos);
      c->len -= c->pos;
      c->pos = 0;
    }

  do
    n = read (c->fd, c->buf + c->len, BUF_SIZE - c->len);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return fail ("read: %s", strerror (errno));
  if (n == 0)
    return fail ("the server closed the connection");
  c->len += (size_t) n;
  return true;
}

/* Consumes one line of any length.  Returns 1 for an event, 0 for anything
 * else, -1 on failure. */
static int
next_line (Conn *c)
{
  int is_event = -1;

  for (;;)
    {
      char *nl;

      if (is_event < 0)
        {
          while (c->len - c->pos < 3)
            if (!fill (c))
              return -1;
          is_event = c->buf[c->pos + 2] == 't';   /* {"timestamp": ... */
        }

      nl = memchr (c->buf + c->pos, '\n', c->len - c->pos);
      if (nl != NULL)
        {
          c->pos = (size_t) (nl + 1 - c->buf);
          return is_event;
        }

      /* The rest of a long line is not needed: drop what we have. */
      c->pos = c->len = 0;
      if (!fill (c))
        return -1;
    }
}

/* Consumes every complete (short) line in the buffer, reading once first
 * if there is none; adds them up in @replies and @events. */
static bool
consume (Conn *c,
         long *replies,
         long *events)
{
  char *nl;

  while ((nl = memchr (c->buf + c->pos, '\n', c->len - c->pos)) == NULL)
    if (!fill (c))
      return false;

  do
    {
      if (c->buf[c->pos + 2] == 't')
        (*events)++;
      else
        (*replies)++;
      c->pos = (size_t) (nl + 1 - c->buf);
    }
  while ((nl = memchr (c->buf + c->pos, '\n', c->len - c->pos)) != NULL);

  return true;
}

static bool
expect_reply (Conn       *c,
              const char *what)
{
  char *nl;

  while ((nl = memchr (c->buf + c->pos, '\n', c->len - c->pos)) == NULL)
    if (!fill (c))
      return false;

  if (strncmp (c->buf + c->pos, "{\"return\"", 9) != 0 &&
      strncmp (c->buf + c->pos, "{\"QMP\"", 6) != 0)
    return fail ("unexpected answer to %s: %.*s", what, (int) (nl - (c->buf + c->pos)), c->buf + c->pos);
  c->pos = (size_t) (nl + 1 - c->buf);
  return true;
}

static int
connect_socket (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      fail ("socket path too long");
      return -1;
    }
  strcpy (addr.sun_path, path);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      fail ("socket: %s", strerror (errno));
      return -1;
    }
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      fail ("connect %s: %s", path, strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

static const char capabilities_line[] = "{\"execute\":\"qmp_capabilities\"}\n";

/* Connects and negotiates; not timed. */
static bool
conn_open (Conn       *c,
           const char *path)
{
  c->pos = c->len = 0;
  c->fd = connect_socket (path);
  if (c->fd < 0)
    return false;
  if (!expect_reply (c, "the connection (greeting)") ||
      !write_all (c->fd, capabilities_line, sizeof capabilities_line - 1) ||
      !expect_reply (c, "qmp_capabilities"))
    {
      close (c->fd);
      return false;
    }
  return true;
}

/* --------------------------------------------------------- scenarios */

/* WINDOW query-status lines with ids 1..WINDOW, twice over, so that any
 * WINDOW consecutive slots are contiguous bytes. */
static char ring[2 * WINDOW * 64];
static size_t ring_offset[2 * WINDOW + 1];

static void
ring_init (void)
{
  size_t len = 0;
  int i;

  for (i = 0; i < 2 * WINDOW; i++)
    {
      ring_offset[i] = len;
      len += (size_t) snprintf (ring + len, sizeof ring - len,
                                "{\"execute\":\"query-status\",\"id\":%d}\n", i % WINDOW + 1);
    }
  ring_offset[2 * WINDOW] = len;
}

static bool
run_serial (const char *path,
            long        n,
            double     *result)
{
  double t0;
  long i;

  if (!conn_open (&conn, path))
    return false;

  t0 = now_us ();
  for (i = 0; i < n; i++)
    {
      int slot = (int) (i % WINDOW);
      int kind;

      if (!write_all (conn.fd, ring + ring_offset[slot], ring_offset[slot + 1] - ring_offset[slot]))
        goto out;
      kind = next_line (&conn);
      if (kind != 0)
        {
          if (kind > 0)
            fail ("an event instead of a reply");
          goto out;
        }
    }
  *result = (now_us () - t0) / (double) n;

out:
  close (conn.fd);
  return i == n;
}

static bool
run_pipelined (const char *path,
               long        n,
               double     *result)
{
  long sent, done = 0, events = 0;
  int slot;
  double t0;
  bool ok = false;

  if (!conn_open (&conn, path))
    return false;

  t0 = now_us ();
  sent = n < WINDOW ? n : WINDOW;
  if (!write_all (conn.fd, ring, ring_offset[sent]))
    goto out;
  slot = (int) (sent % WINDOW);

  while (done < n)
    {
      long before = done;
      long more;

      if (!consume (&conn, &done, &events))
        goto out;

      more = done - before;
      if (more > n - sent)
        more = n - sent;
      if (more > 0)
        {
          if (!write_all (conn.fd, ring + ring_offset[slot], ring_offset[slot + more] - ring_offset[slot]))
            goto out;
          slot = (int) ((slot + more) % WINDOW);
          sent += more;
        }
    }
  *result = (now_us () - t0) / (double) n;
  ok = events == 0 || fail ("unexpected events");

out:
  close (conn.fd);
  return ok;
}

static bool
run_events (const char *path,
            long        n,
            double     *result)
{
  char line[128];
  long replies = 0, events = 0;
  double t0;
  bool ok = false;

  if (!conn_open (&conn, path))
    return false;

  snprintf (line, sizeof line, "{\"execute\":\"bench-events\",\"arguments\":{\"count\":%ld},\"id\":1}\n", n);
  t0 = now_us ();
  if (!write_all (conn.fd, line, strlen (line)))
    goto out;
  while (replies == 0)
    if (!consume (&conn, &replies, &events))
      goto out;
  *result = (double) events / ((now_us () - t0) / 1e6);
  ok = events == n || fail ("%ld events instead of %ld", events, n);

out:
  close (conn.fd);
  return ok;
}

static bool
run_schema (const char *path,
            long        n,
            double     *result)
{
  static const char line[] = "{\"execute\":\"query-qmp-schema\",\"id\":1}\n";
  double t0;
  long i;

  if (!conn_open (&conn, path))
    return false;

  t0 = now_us ();
  for (i = 0; i < n; i++)
    {
      if (!write_all (conn.fd, line, sizeof line - 1))
        break;
      if (next_line (&conn) != 0)
        break;
    }
  if (i == n)
    *result = (now_us () - t0) / 1e3 / (double) n;

  close (conn.fd);
  return i == n;
}

static long
rss_kib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kib = -1;

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f) != NULL)
    if (strncmp (line, "VmRSS:", 6) == 0)
      kib = strtol (line + 6, NULL, 10);
  fclose (f);
  return kib;
}

static int
count_threads (void)
{
  DIR *dir = opendir ("/proc/self/task");
  struct dirent *entry;
  int n = 0;

  if (dir == NULL)
    return -1;
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      n++;
  closedir (dir);
  return n;
}

static bool
run_connections (const char *path,
                 long        n,
                 double     *result)
{
  int *fds = calloc ((size_t) n, sizeof *fds);
  long baseline, rss, i, opened = 0;
  double t0, elapsed;
  bool ok = false;

  if (fds == NULL)
    return fail ("out of memory");

  baseline = rss_kib ();
  t0 = now_us ();
  for (i = 0; i < n; i++)
    {
      fds[i] = connect_socket (path);
      if (fds[i] < 0)
        goto out;
      opened++;
      /* Negotiation is written at once, pipelined behind the greeting. */
      if (!write_all (fds[i], capabilities_line, sizeof capabilities_line - 1))
        goto out;
    }
  for (i = 0; i < n; i++)
    {
      int lines = 0;

      /* Greeting and return: two lines, counted, not parsed. */
      while (lines < 2)
        {
          ssize_t got = read (fds[i], conn.buf, BUF_SIZE);
          ssize_t j;

          if (got <= 0)
            {
              if (got < 0 && errno == EINTR)
                continue;
              fail ("connection %ld: %s", i, got < 0 ? strerror (errno) : "closed by the server");
              goto out;
            }
          for (j = 0; j < got; j++)
            lines += conn.buf[j] == '\n';
        }
    }
  elapsed = now_us () - t0;
  rss = rss_kib ();

  result[0] = elapsed / 1e3;
  result[1] = (double) (rss - baseline) / (double) n;
  result[2] = count_threads ();
  ok = true;

out:
  for (i = 0; i < opened; i++)
    close (fds[i]);
  free (fds);
  return ok;
}

/* Runs one scenario and prints its result line. */
static void
run (const char *scenario,
     const char *path,
     long        n)
{
  double result[3] = { 0, 0, 0 };
  int nresults = 1;
  bool ok;

  error_message[0] = '\0';

  if (n <= 0)
    ok = fail ("N must be positive");
  else if (strcmp (scenario, "serial") == 0)
    ok = run_serial (path, n, result);
  else if (strcmp (scenario, "pipelined") == 0)
    ok = run_pipelined (path, n, result);
  else if (strcmp (scenario, "events") == 0)
    ok = run_events (path, n, result);
  else if (strcmp (scenario, "schema") == 0)
    ok = run_schema (path, n, result);
  else if (strcmp (scenario, "connections") == 0)
    {
      ok = run_connections (path, n, result);
      nresults = 3;
    }
  else
    ok = fail ("unknown scenario %s", scenario);

  if (ok)
    {
      int i;

      printf ("ok");
      for (i = 0; i < nresults; i++)
        printf (" %.6g", result[i]);
      printf ("\n");
    }
  else
    printf ("error %s\n", error_message[0] ? error_message : "failed");
  fflush (stdout);
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

int
main (int   argc,
      char *argv[])
{
  signal (SIGPIPE, SIG_IGN);
  raise_nofile_limit ();
  ring_init ();

  if (argc == 2 && strcmp (argv[1], "--stdin") == 0)
    {
      char line[4096];

      while (fgets (line, sizeof line, stdin) != NULL)
        {
          char scenario[64], path[4000];
          long n;

          if (sscanf (line, "%63s %3999s %ld", scenario, path, &n) != 3)
            {
              printf ("error bad request\n");
              fflush (stdout);
              continue;
            }
          run (scenario, path, n);
        }
      return 0;
    }

  if (argc == 4 || argc == 5)
    {
      long reps = argc == 5 ? strtol (argv[4], NULL, 10) : 1;
      long i;

      for (i = 0; i < reps; i++)
        run (argv[1], argv[2], strtol (argv[3], NULL, 10));
      return 0;
    }

  fprintf (stderr,
           "usage: %s SCENARIO SOCKET N [REPS]\n"
           "       %s --stdin\n"
           "scenarios: serial pipelined events schema connections\n",
           argv[0], argv[0]);
  return 2;
}
