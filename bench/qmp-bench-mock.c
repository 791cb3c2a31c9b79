/* qmp-bench-mock.c — a fast mock QMP server for the benchmark
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One thread, epoll, non-blocking sockets, any number of clients.  It
 * speaks like QEMU 7.2 (greeting, "\r\n" line ends, the id echoed, the
 * capabilities negotiation mode) and answers pipelined input: every
 * complete line in the read buffer is answered, and the answers go out in
 * as few writes as the socket allows.
 *
 *   qmp_capabilities            {"return": {}}
 *   query-status                {"return": {"status": "running", "singlestep": false, "running": true}}
 *   query-qmp-schema            a synthetic schema shaped like QEMU 7.2's: about 210 KB on one line
 *   bench-events {"count": N}   N events "BENCH", then {"return": {}}
 *   bench-long-line {"size": N} {"return": "aaa…"}: a string of N bytes on
 *                               one line, made as the client reads it
 *   bench-shape {"shape": S, "size": N}
 *                               an array of about N bytes made of one
 *                               shape repeated: "arrays" [], "objects" {},
 *                               "strings" "a", "ints" 0, "deep-arrays" and
 *                               "deep-objects" (nested 1,000 deep), "schema"
 *                               (the schema above, as a normal message)
 *   anything else               CommandNotFound
 *
 * Like QEMU it stops reading a client whose output it cannot get rid of,
 * and it makes the events of bench-events and the line of bench-long-line
 * only as fast as the client reads them, so memory stays bounded whatever
 * N is.
 *
 * Usage: qmp-bench-mock SOCKET-PATH
 * Prints "ready" on stdout once it listens; exits on SIGTERM, SIGINT, or
 * when its parent dies.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define GREETING \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
  "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* Stop making output (and reading input) for a client while this much is
 * waiting to be written to it. */
#define WBUF_HIGH (256 * 1024)
/* Stop reading a client whose unprocessed input is this large. */
#define RBUF_HIGH (1024 * 1024)
#define READ_CHUNK (64 * 1024)

typedef struct
{
  char *data;
  size_t len;
  size_t cap;
} Buf;

typedef struct
{
  int fd;
  uint32_t events;        /* what epoll watches for it */
  bool negotiated;
  bool eof;
  Buf in;
  size_t in_pos;          /* start of the unprocessed input */
  Buf out;
  size_t out_pos;         /* start of the unwritten output */
  /* bench-events in progress */
  long events_left;
  long events_seq;
  char events_id[128];    /* the command's id as JSON, "" when it had none */
  /* bench-long-line in progress: bytes of the string still to make */
  long long line_left;
  char line_id[128];
} Client;

static int epfd;
static char *schema_json;   /* the "return" value of query-qmp-schema */
static size_t schema_len;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

static void
die (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fputs ("qmp-bench-mock: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

/* ----------------------------------------------------------- buffers */

static void
buf_reserve (Buf    *b,
             size_t  extra)
{
  size_t cap;

  if (b->len + extra <= b->cap)
    return;
  cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra)
    cap *= 2;
  b->data = realloc (b->data, cap);
  if (b->data == NULL)
    die ("out of memory");
  b->cap = cap;
}

static void
buf_append (Buf        *b,
            const char *s,
            size_t      n)
{
  buf_reserve (b, n);
  memcpy (b->data + b->len, s, n);
  b->len += n;
}

static void
buf_puts (Buf        *b,
          const char *s)
{
  buf_append (b, s, strlen (s));
}

static void buf_printf (Buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
buf_printf (Buf        *b,
            const char *fmt,
            ...)
{
  va_list ap;
  int n;

  buf_reserve (b, 256);
  va_start (ap, fmt);
  n = vsnprintf (b->data + b->len, b->cap - b->len, fmt, ap);
  va_end (ap);
  if (n < 0)
    die ("vsnprintf failed");
  if ((size_t) n >= b->cap - b->len)
    {
      buf_reserve (b, (size_t) n + 1);
      va_start (ap, fmt);
      vsnprintf (b->data + b->len, b->cap - b->len, fmt, ap);
      va_end (ap);
    }
  b->len += (size_t) n;
}

/* ------------------------------------------------- the synthetic schema */

/* Shaped like QEMU 7.2's query-qmp-schema: 1051 entries (216 commands, 52
 * events, 553 objects, 132 enums, 86 arrays, 6 builtins, 6 alternates),
 * about 4,400 objects, 9,400 strings and 1,000 nulls in all. */
static const char *words[] = {
  "node-name", "device", "id", "driver", "filename", "size", "speed", "granularity",
  "job-id", "format", "mode", "bus", "addr", "status", "enabled", "persistent",
  "read-only", "backing", "cache", "direct", "no-flush", "discard", "detect-zeroes",
  "iops", "bps", "guest", "reason", "path", "name", "type", "value", "offset",
  "count", "host", "port", "qom-type", "props", "file", "target", "sync",
  "on-error", "auto-finalize", "auto-dismiss", "locking", "aio", "base", "top",
  "backing-file-format", "throttle-group", "dirty-bitmap", "x-perf", "compression-level",
  "cpu-throttle-increment", "max-bandwidth",
};

static unsigned long rng_state = 12345;

static unsigned
rng (unsigned n)
{
  rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned) ((rng_state >> 33) % n);
}

static const char *
word (void)
{
  return words[rng (sizeof words / sizeof words[0])];
}

static void
schema_build (void)
{
  Buf b = { 0 };
  int i, j, n;

  buf_puts (&b, "[");
  for (i = 0; i < 1051; i++)
    {
      if (i > 0)
        buf_puts (&b, ", ");

      if (i < 216)
        buf_printf (&b, "{\"name\": \"x-query-%s-%s-%d\", \"ret-type\": \"%u\", \"meta-type\": \"command\", \"arg-type\": \"%u\"}",
                    word (), word (), i, rng (900), rng (900));
      else if (i < 268)
        buf_printf (&b, "{\"name\": \"BENCH_EVENT_%d_%s\", \"meta-type\": \"event\", \"arg-type\": \"%u\"}",
                    i, word (), rng (900));
      else if (i < 821)
        {
          buf_printf (&b, "{\"name\": \"%d\", \"members\": [", i);
          n = 1 + (int) rng (8);
          for (j = 0; j < n; j++)
            {
              if (j > 0)
                buf_puts (&b, ", ");
              if (rng (2))
                buf_printf (&b, "{\"name\": \"%s\", \"default\": null, \"type\": \"%s\"}",
                            word (), rng (3) ? "str" : "int");
              else
                buf_printf (&b, "{\"name\": \"%s\", \"type\": \"%u\"}", word (), rng (900));
            }
          buf_puts (&b, "], \"meta-type\": \"object\"}");
        }
      else if (i < 953)
        {
          const char *values[13];

          n = 2 + (int) rng (11);
          for (j = 0; j < n; j++)
            values[j] = word ();
          buf_printf (&b, "{\"name\": \"%d\", \"members\": [", i);
          for (j = 0; j < n; j++)
            buf_printf (&b, "%s{\"name\": \"%s\"}", j ? ", " : "", values[j]);
          buf_puts (&b, "], \"meta-type\": \"enum\", \"values\": [");
          for (j = 0; j < n; j++)
            buf_printf (&b, "%s\"%s\"", j ? ", " : "", values[j]);
          buf_puts (&b, "]}");
        }
      else if (i < 1039)
        buf_printf (&b, "{\"name\": \"[%u]\", \"element-type\": \"%u\", \"meta-type\": \"array\"}",
                    rng (900), rng (900));
      else if (i < 1045)
        buf_printf (&b, "{\"name\": \"%s\", \"json-type\": \"%s\", \"meta-type\": \"builtin\"}",
                    word (), rng (2) ? "int" : "string");
      else
        buf_printf (&b, "{\"name\": \"%d\", \"members\": [{\"type\": \"%u\"}, {\"type\": \"str\"}, {\"type\": \"null\"}], \"meta-type\": \"alternate\"}",
                    i, rng (900));
    }
  buf_puts (&b, "]");

  schema_json = b.data;
  schema_len = b.len;
}

/* ------------------------------------------------- a tiny JSON scanner */

/* Enough JSON to find the top-level members of a command: values are
 * skipped, not parsed.  Returns NULL on malformed input. */
static const char *
skip_ws (const char *p,
         const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

static const char *
skip_string (const char *p,
             const char *end)
{
  /* at the opening quote */
  for (p++; p < end; p++)
    {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        return p + 1;
    }
  return NULL;
}

static const char *
skip_value (const char *p,
            const char *end)
{
  int depth = 0;

  if (p >= end)
    return NULL;

  if (*p == '"')
    return skip_string (p, end);

  if (*p == '{' || *p == '[')
    {
      for (; p < end; p++)
        {
          if (*p == '"')
            {
              p = skip_string (p, end);
              if (p == NULL)
                return NULL;
              p--;
            }
          else if (*p == '{' || *p == '[')
            depth++;
          else if (*p == '}' || *p == ']')
            {
              if (--depth == 0)
                return p + 1;
            }
        }
      return NULL;
    }

  /* number, true, false, null */
  while (p < end && *p != ',' && *p != '}' && *p != ']' &&
         *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
    p++;
  return p;
}

typedef struct
{
  const char *start;
  size_t len;
} Span;

/* Finds the members named in @names (NULL-terminated) of the object in
 * [p, end); fills @values (spans of the raw JSON values; len 0 when
 * absent).  Returns false when the text is not an object. */
static bool
scan_object (const char  *p,
             const char  *end,
             const char **names,
             Span        *values)
{
  int i;

  for (i = 0; names[i] != NULL; i++)
    values[i].start = NULL, values[i].len = 0;

  p = skip_ws (p, end);
  if (p >= end || *p != '{')
    return false;
  p = skip_ws (p + 1, end);
  if (p < end && *p == '}')
    return true;

  for (;;)
    {
      const char *key, *key_end, *value;

      if (p >= end || *p != '"')
        return false;
      key = p + 1;
      p = skip_string (p, end);
      if (p == NULL)
        return false;
      key_end = p - 1;
      p = skip_ws (p, end);
      if (p >= end || *p != ':')
        return false;
      p = skip_ws (p + 1, end);
      value = p;
      p = skip_value (p, end);
      if (p == NULL || p == value)
        return false;

      for (i = 0; names[i] != NULL; i++)
        if ((size_t) (key_end - key) == strlen (names[i]) &&
            memcmp (key, names[i], (size_t) (key_end - key)) == 0)
          {
            values[i].start = value;
            values[i].len = (size_t) (p - value);
          }

      p = skip_ws (p, end);
      if (p < end && *p == ',')
        {
          p = skip_ws (p + 1, end);
          continue;
        }
      if (p < end && *p == '}')
        return true;
      return false;
    }
}

/* ----------------------------------------------------------- replies */

static void
reply_return (Client     *c,
              Span        id,
              const char *value,
              size_t      value_len)
{
  buf_reserve (&c->out, value_len + id.len + 32);
  buf_puts (&c->out, "{\"return\": ");
  buf_append (&c->out, value, value_len);
  if (id.len > 0)
    {
      buf_puts (&c->out, ", \"id\": ");
      buf_append (&c->out, id.start, id.len);
    }
  buf_puts (&c->out, "}\r\n");
}

static void
reply_error (Client     *c,
             Span        id,
             const char *klass,
             const char *desc)
{
  buf_puts (&c->out, "{");
  if (id.len > 0)
    {
      buf_puts (&c->out, "\"id\": ");
      buf_append (&c->out, id.start, id.len);
      buf_puts (&c->out, ", ");
    }
  buf_printf (&c->out, "\"error\": {\"class\": \"%s\", \"desc\": \"%s\"}}\r\n", klass, desc);
}

#define RETURN_LITERAL(c, id, s) reply_return ((c), (id), (s), sizeof (s) - 1)

/* The shapes whose tree costs the most per byte of JSON, for the memory
 * scenario: one unit, repeated.  NULL for a shape it does not know. */
static char *
shape_unit (const char *shape,
            size_t      shape_len)
{
  Buf b = { 0 };
  int depth = 1000;   /* the parser takes 1,024 */

#define SHAPE_IS(s) (shape_len == sizeof (s) - 1 && memcmp (shape, s, shape_len) == 0)
  if (SHAPE_IS ("arrays"))
    buf_puts (&b, "[]");
  else if (SHAPE_IS ("objects"))
    buf_puts (&b, "{}");
  else if (SHAPE_IS ("strings"))
    buf_puts (&b, "\"a\"");
  else if (SHAPE_IS ("ints"))
    buf_puts (&b, "0");
  else if (SHAPE_IS ("deep-arrays"))
    {
      for (int i = 0; i < depth; i++)
        buf_puts (&b, "[");
      for (int i = 0; i < depth; i++)
        buf_puts (&b, "]");
    }
  else if (SHAPE_IS ("deep-objects"))
    {
      for (int i = 0; i < depth - 1; i++)
        buf_puts (&b, "{\"a\":");
      buf_puts (&b, "{}");
      for (int i = 0; i < depth - 1; i++)
        buf_puts (&b, "}");
    }
  else if (SHAPE_IS ("schema"))
    buf_append (&b, schema_json, schema_len);
  else
    return NULL;
#undef SHAPE_IS

  buf_append (&b, "", 1);
  return b.data;
}

static void
reply_shape (Client *c,
             Span    id,
             Span    arguments)
{
  static const char *shape_names[] = { "shape", "size", NULL };
  Span args[2];
  char *unit = NULL;
  size_t unit_len, size = 0;
  Buf value = { 0 };

  if (arguments.len > 0 && scan_object (arguments.start, arguments.start + arguments.len, shape_names, args) &&
      args[0].len >= 2 && args[1].len > 0)
    {
      unit = shape_unit (args[0].start + 1, args[0].len - 2);
      size = strtoul (args[1].start, NULL, 10);
    }
  if (unit == NULL)
    {
      reply_error (c, id, "GenericError", "bench-shape needs a known shape and a size");
      return;
    }

  unit_len = strlen (unit);
  buf_reserve (&value, size + unit_len + 2);
  buf_puts (&value, "[");
  while (value.len + unit_len + 2 <= size || value.len == 1)
    {
      if (value.len > 1)
        buf_puts (&value, ",");
      buf_append (&value, unit, unit_len);
    }
  /* Exactly @size bytes: white space costs nothing once parsed. */
  while (value.len + 1 < size)
    buf_puts (&value, " ");
  buf_puts (&value, "]");
  reply_return (c, id, value.data, value.len);
  free (value.data);
  free (unit);
}

static void
handle_line (Client     *c,
             const char *line,
             const char *end)
{
  static const char *top_names[] = { "execute", "exec-oob", "id", "arguments", NULL };
  static const char *count_names[] = { "count", NULL };
  static const char *size_names[] = { "size", NULL };
  Span top[4];
  Span execute, id, arguments;
  char name[128];
  size_t name_len;

  line = skip_ws (line, end);
  if (line == end)
    return;   /* blank line */

  if (!scan_object (line, end, top_names, top))
    {
      Span none = { NULL, 0 };

      reply_error (c, none, "GenericError", "JSON parse error");
      return;
    }

  execute = top[0].len ? top[0] : top[1];
  id = top[2];
  arguments = top[3];

  if (execute.len < 2 || execute.start[0] != '"' || execute.len - 2 >= sizeof name)
    {
      reply_error (c, id, "GenericError", "QMP input member 'execute' must be a string");
      return;
    }
  name_len = execute.len - 2;
  memcpy (name, execute.start + 1, name_len);
  name[name_len] = '\0';

  if (!c->negotiated)
    {
      if (strcmp (name, "qmp_capabilities") == 0)
        {
          c->negotiated = true;
          RETURN_LITERAL (c, id, "{}");
        }
      else
        reply_error (c, id, "CommandNotFound",
                     "Expecting capabilities negotiation with 'qmp_capabilities'");
      return;
    }

  if (strcmp (name, "query-status") == 0)
    RETURN_LITERAL (c, id, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
  else if (strcmp (name, "query-qmp-schema") == 0)
    reply_return (c, id, schema_json, schema_len);
  else if (strcmp (name, "bench-events") == 0)
    {
      Span count[1];
      long n = 0;

      if (arguments.len > 0 && scan_object (arguments.start, arguments.start + arguments.len,
                                            count_names, count) && count[0].len > 0)
        n = strtol (count[0].start, NULL, 10);
      if (n <= 0)
        {
          RETURN_LITERAL (c, id, "{}");
          return;
        }
      if (id.len >= sizeof c->events_id)
        {
          reply_error (c, id, "GenericError", "id too long");
          return;
        }
      memcpy (c->events_id, id.start ? id.start : "", id.len);
      c->events_id[id.len] = '\0';
      c->events_left = n;
      c->events_seq = 0;
    }
  else if (strcmp (name, "bench-long-line") == 0)
    {
      Span size[1];
      long long n = 0;

      if (arguments.len > 0 && scan_object (arguments.start, arguments.start + arguments.len,
                                            size_names, size) && size[0].len > 0)
        n = strtoll (size[0].start, NULL, 10);
      if (n <= 0 || id.len >= sizeof c->line_id)
        {
          reply_error (c, id, "GenericError", "bench-long-line needs a size and a short id");
          return;
        }
      memcpy (c->line_id, id.start ? id.start : "", id.len);
      c->line_id[id.len] = '\0';
      c->line_left = n;
      buf_puts (&c->out, "{\"return\": \"");
    }
  else if (strcmp (name, "bench-shape") == 0)
    reply_shape (c, id, arguments);
  else if (strcmp (name, "qmp_capabilities") == 0)
    reply_error (c, id, "CommandNotFound",
                 "Capabilities negotiation is already complete, command ignored");
  else
    {
      char desc[200];

      snprintf (desc, sizeof desc, "The command %s has not been found", name);
      reply_error (c, id, "CommandNotFound", desc);
    }
}

/* Makes more of the events of a bench-events in progress, and its return
 * after the last one. */
static void
make_events (Client *c)
{
  struct timeval tv;

  gettimeofday (&tv, NULL);
  while (c->events_left > 0 && c->out.len - c->out_pos < WBUF_HIGH)
    {
      buf_printf (&c->out,
                  "{\"timestamp\": {\"seconds\": %ld, \"microseconds\": %ld}, \"event\": \"BENCH\", "
                  "\"data\": {\"device\": \"bench0\", \"path\": \"/machine/peripheral/bench0\", \"seq\": %ld}}\r\n",
                  (long) tv.tv_sec, (long) tv.tv_usec, c->events_seq);
      c->events_seq++;
      c->events_left--;
    }

  if (c->events_left == 0)
    {
      Span id = { c->events_id, strlen (c->events_id) };

      RETURN_LITERAL (c, id, "{}");
      c->events_left = -1;
    }
}

/* Makes more of the string of a bench-long-line in progress, and the end
 * of its line after the last byte. */
static void
make_long_line (Client *c)
{
  static char chunk[64 * 1024];

  if (chunk[0] == '\0')
    memset (chunk, 'a', sizeof chunk);

  while (c->line_left > 0 && c->out.len - c->out_pos < WBUF_HIGH)
    {
      size_t n = c->line_left < (long long) sizeof chunk ? (size_t) c->line_left : sizeof chunk;

      buf_append (&c->out, chunk, n);
      c->line_left -= (long long) n;
    }

  if (c->line_left == 0)
    {
      buf_puts (&c->out, "\"");
      if (c->line_id[0] != '\0')
        {
          buf_puts (&c->out, ", \"id\": ");
          buf_puts (&c->out, c->line_id);
        }
      buf_puts (&c->out, "}\r\n");
      c->line_left = -1;
    }
}

/* A bench-events or bench-long-line is being made: no input is read or
 * handled meanwhile, as in QEMU, where a command's reply comes before the
 * next command is handled. */
static bool
client_generating (Client *c)
{
  return c->events_left > 0 || c->line_left > 0;
}

/* ----------------------------------------------------------- clients */

static void
client_free (Client *c)
{
  epoll_ctl (epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  free (c->in.data);
  free (c->out.data);
  free (c);
}

/* Handles what can be handled without more output room. */
static void
client_process (Client *c)
{
  for (;;)
    {
      char *line, *nl;

      if (c->out.len - c->out_pos >= WBUF_HIGH)
        return;

      if (c->events_left > 0)
        {
          make_events (c);
          continue;
        }
      c->events_left = 0;
      if (c->line_left > 0)
        {
          make_long_line (c);
          continue;
        }
      c->line_left = 0;

      line = c->in.data + c->in_pos;
      nl = c->in.len > c->in_pos ? memchr (line, '\n', c->in.len - c->in_pos) : NULL;
      if (nl == NULL)
        break;
      c->in_pos = (size_t) (nl + 1 - c->in.data);
      handle_line (c, line, nl);
    }

  /* Keep only the partial line. */
  if (c->in_pos > 0)
    {
      memmove (c->in.data, c->in.data + c->in_pos, c->in.len - c->in_pos);
      c->in.len -= c->in_pos;
      c->in_pos = 0;
    }
}

/* Returns false when the client is gone. */
static bool
client_flush (Client *c)
{
  while (c->out_pos < c->out.len)
    {
      ssize_t n = send (c->fd, c->out.data + c->out_pos, c->out.len - c->out_pos, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
          return false;
        }
      c->out_pos += (size_t) n;
    }
  c->out.len = 0;
  c->out_pos = 0;
  return true;
}

static void
client_update_events (Client *c)
{
  uint32_t want = 0;
  struct epoll_event ev;

  if (!c->eof && c->in.len - c->in_pos < RBUF_HIGH && c->out.len - c->out_pos < WBUF_HIGH &&
      !client_generating (c))
    want |= EPOLLIN;
  if (c->out_pos < c->out.len)
    want |= EPOLLOUT;

  if (want == c->events)
    return;
  ev.events = want;
  ev.data.ptr = c;
  if (epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
    die ("epoll_ctl: %s", strerror (errno));
  c->events = want;
}

/* Returns false when the client is to be freed. */
static bool
client_read (Client *c)
{
  for (;;)
    {
      ssize_t n;

      buf_reserve (&c->in, READ_CHUNK);
      n = recv (c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
          return false;
        }
      if (n == 0)
        {
          c->eof = true;
          return true;
        }
      c->in.len += (size_t) n;
      if ((size_t) n < READ_CHUNK || c->in.len - c->in_pos >= RBUF_HIGH)
        return true;
    }
}

static void
client_run (Client   *c,
            uint32_t  revents)
{
  if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof)
    {
      if (!client_read (c))
        {
          client_free (c);
          return;
        }
    }

  for (;;)
    {
      client_process (c);
      if (!client_flush (c))
        {
          client_free (c);
          return;
        }
      /* Go on while writing made room for more events or more line. */
      if (client_generating (c) && c->out_pos == c->out.len)
        continue;
      break;
    }

  if (c->eof && c->out_pos == c->out.len && !client_generating (c))
    {
      client_free (c);
      return;
    }
  if ((revents & EPOLLERR) != 0)
    {
      client_free (c);
      return;
    }

  client_update_events (c);
}

static void
accept_clients (int lfd)
{
  for (;;)
    {
      int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      Client *c;
      struct epoll_event ev;

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
          if (errno == EMFILE || errno == ENFILE)
            {
              fprintf (stderr, "qmp-bench-mock: accept: %s\n", strerror (errno));
              return;
            }
          die ("accept: %s", strerror (errno));
        }

      c = calloc (1, sizeof *c);
      if (c == NULL)
        die ("out of memory");
      c->fd = fd;
      c->events = EPOLLIN;
      ev.events = EPOLLIN;
      ev.data.ptr = c;
      if (epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        die ("epoll_ctl: %s", strerror (errno));

      buf_puts (&c->out, GREETING);
      if (!client_flush (c))
        {
          client_free (c);
          continue;
        }
      client_update_events (c);
    }
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

static volatile sig_atomic_t quit;

static void
on_signal (int sig)
{
  (void) sig;
  quit = 1;
}

int
main (int   argc,
      char *argv[])
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct epoll_event ev;
  struct sigaction sa;
  int lfd;
  static int listen_tag;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  if (strlen (argv[1]) >= sizeof addr.sun_path)
    die ("socket path too long");

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);
  raise_nofile_limit ();
  schema_build ();

  strcpy (addr.sun_path, argv[1]);
  unlink (argv[1]);
  lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    die ("socket: %s", strerror (errno));
  if (bind (lfd, (struct sockaddr *) &addr, sizeof addr) < 0)
    die ("bind %s: %s", argv[1], strerror (errno));
  if (listen (lfd, 4096) < 0)
    die ("listen: %s", strerror (errno));

  epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    die ("epoll_create1: %s", strerror (errno));
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag;
  if (epoll_ctl (epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
    die ("epoll_ctl: %s", strerror (errno));

  printf ("ready %zu\n", schema_len);
  fflush (stdout);

  while (!quit)
    {
      struct epoll_event events[256];
      int n, i;

      n = epoll_wait (epfd, events, 256, -1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          die ("epoll_wait: %s", strerror (errno));
        }

      for (i = 0; i < n; i++)
        {
          if (events[i].data.ptr == &listen_tag)
            accept_clients (lfd);
          else
            client_run (events[i].data.ptr, events[i].events);
        }
    }

  unlink (argv[1]);
  return 0;
}
