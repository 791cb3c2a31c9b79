/* qmp-test-utils.h: shared helpers of the qmp-glib test suites
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#ifndef QMP_TEST_UTILS_NO_LIBRARY
#include <qmp-glib.h>
#endif

G_BEGIN_DECLS

/* ---- real peers ---- */

/**
 * QmpTestPeerKind:
 * @QMP_TEST_PEER_QEMU_NONE: `qemu-system-x86_64 -M none -nodefaults
 *   -display none -qmp unix:DIR/qmp.sock,server=on,wait=off`
 * @QMP_TEST_PEER_QEMU_PC_XHCI: `qemu-system-x86_64 -M pc -accel tcg
 *   -nodefaults -display none -S -device qemu-xhci,id=xhci -qmp …`
 *   (real USB hotplug on bus `xhci.0`)
 * @QMP_TEST_PEER_QSD: `qemu-storage-daemon --chardev
 *   socket,path=DIR/qsd.sock,server=on,wait=on,id=c0 --monitor chardev=c0`
 *   (it starts once the test connects)
 * @QMP_TEST_PEER_QGA: `qemu-ga -m unix-listen -p DIR/qga.sock
 *   -t DIR/qga-state --pidfile DIR/qga.pid` (no greeting, `\n` line ends)
 *
 * The real peers the tests can start.  The binaries can be overridden with
 * the environment variables `QMP_TEST_QEMU`, `QMP_TEST_QSD` and
 * `QMP_TEST_QGA` (each independently: no test may assume that they are
 * the same QEMU version).
 */
typedef enum {
  QMP_TEST_PEER_QEMU_NONE,
  QMP_TEST_PEER_QEMU_PC_XHCI,
  QMP_TEST_PEER_QSD,
  QMP_TEST_PEER_QGA,
} QmpTestPeerKind;

typedef struct _QmpTestPeer QmpTestPeer;

/* Starts a peer in its own temporary directory (g_dir_make_tmp
 * "qmp-test-XXXXXX") with @extra_args (nullable, %NULL-terminated) appended
 * to its argv, and returns once its socket accepts connections (10 s at
 * most).  stdout is discarded, stderr goes to DIR/stderr.log and is quoted
 * in every failure message.  The peer gets SIGKILL when the thread that
 * started it dies (PR_SET_PDEATHSIG), so start peers from the test's main
 * thread.  If the binary is missing: with `QMP_TEST_ALLOW_SKIP` set, calls
 * g_test_skip() and returns %NULL (the caller then returns); otherwise an
 * assertion fails.  Also returns %NULL after a (non-fatal) assertion
 * failure. */
QmpTestPeer *qmp_test_peer_start (QmpTestPeerKind     kind,
                                  const char * const *extra_args);

/* Says which binary of @kind the test runs against, with g_test_message()
 * ("peer qemu-system-x86_64 10.0.2 (PATH: QEMU emulator version 10.0.2 …)",
 * from `--version`, run once per process), and returns the version
 * ("10.0.2"), or %NULL if the binary is missing.  qmp_test_peer_start()
 * calls it for every peer it starts.  If the environment variable
 * `QMP_TEST_EXPECT_VERSION` is set (`meson test --setup=qemu10` sets
 * "10.0"), a version that does not start with it fails an assertion: a
 * pass meant for one QEMU never runs against another by mistake. */
const char  *qmp_test_report_peer (QmpTestPeerKind kind);

/* "unix:/abs/path/qmp.sock" (or qsd.sock, qga.sock) */
const char  *qmp_test_peer_get_address (QmpTestPeer *peer);

/* The peer's own temporary directory, removed by qmp_test_peer_free(). */
const char  *qmp_test_peer_get_dir (QmpTestPeer *peer);

GPid         qmp_test_peer_get_pid (QmpTestPeer *peer);

/* Sends @signum to the peer at once (a no-op once it has exited).  After
 * SIGSTOP it returns only when every thread of the peer is stopped, after
 * SIGCONT only when none is, so what the test does next is ordered after
 * the signal's effect. */
void         qmp_test_peer_kill_signal (QmpTestPeer *peer,
                                        int          signum);

/* Waits up to @timeout_ms for the peer to exit by itself and returns its
 * wait status (for g_spawn_check_wait_status(), WIFEXITED() …).  On
 * timeout an assertion fails (after killing the peer and removing its
 * directory) and, if assertions are non-fatal, -1 is returned. */
int          qmp_test_peer_wait_exit (QmpTestPeer *peer,
                                      guint        timeout_ms);

/* SIGCONT + SIGKILL if still running, reaps it, removes its temporary
 * directory recursively.  %NULL-safe. */
void         qmp_test_peer_free (QmpTestPeer *peer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpTestPeer, qmp_test_peer_free)

/* TRUE when the environment variable `QMP_TEST_SLOW` is set to a non-empty
 * value (valgrind runs): tests shrink their loop counts. */
gboolean     qmp_test_is_slow (void);

/* @n, or MAX (@n / 50, 1) when qmp_test_is_slow(). */
guint        qmp_test_scale (guint n);

/* ---- scripted mock QMP server on a socket pair ----
 *
 * The test suites use the public QmpTestServer (with the qmp_test_held_*
 * helpers below); this private mock is left for what no public server
 * can reasonably do, each saying why: test-json's /json/write/arguments
 * (the client's bytes read by a parser that is not the library's own)
 * and test-event-flood's blocked consumer (a server whose writes block
 * when the client stops reading). */

typedef struct _QmpMock QmpMock;

/* socketpair (AF_UNIX, SOCK_STREAM): the server end stays with the mock as
 * a blocking GSocket with a 10 s timeout; every failure of the server end
 * (including a timeout) is an assertion failure, except in
 * qmp_mock_try_send_raw(). */
QmpMock     *qmp_mock_new (void);

/* The library's end, a GSocketConnection (transfer none). */
GIOStream   *qmp_mock_get_client_stream (QmpMock *mock);

/* Writes @line followed by "\r\n". */
void         qmp_mock_send (QmpMock    *mock,
                            const char *line);

/* Writes @len bytes of @data exactly as they are. */
void         qmp_mock_send_raw (QmpMock    *mock,
                                const void *data,
                                gsize       len);

/* Like qmp_mock_send_raw(), but reports failure (the library may already
 * have hung up: G_IO_ERROR_BROKEN_PIPE …) instead of asserting. */
gboolean     qmp_mock_try_send_raw (QmpMock     *mock,
                                    const void  *data,
                                    gsize        len,
                                    GError     **error);

/* Sends {"QMP": {"version": {"qemu": {"micro", "minor", "major"},
 * "package": "mock"}, "capabilities": @capabilities_json}};
 * @capabilities_json is JSON text such as "[\"oob\"]" (%NULL means "[]"). */
void         qmp_mock_send_greeting (QmpMock    *mock,
                                     guint       major,
                                     guint       minor,
                                     guint       micro,
                                     const char *capabilities_json);

/* Reads one line (up to "\n", without its "\r\n" or "\n"), parses it and
 * asserts that it is a JSON object, returned (transfer full).  Bytes after
 * the line are kept for the next call.  Nothing within 10 s, the peer
 * hanging up, or anything but a JSON object is an assertion failure. */
JsonObject  *qmp_mock_receive (QmpMock *mock);

/* TRUE if no byte arrives within @msec (at most 10 s; also TRUE if the
 * peer hangs up without sending anything); FALSE as soon as one does.  The
 * bytes are kept for qmp_mock_receive(). */
gboolean     qmp_mock_receive_nothing (QmpMock *mock,
                                       guint    msec);

/* Sends {"return": @return_json, "id": <@command's id copied>} (no "id" if
 * @command has none); @return_json is JSON text, %NULL means "{}". */
void         qmp_mock_reply (QmpMock    *mock,
                             JsonObject *command,
                             const char *return_json);

/* Sends {"error": {"class": @klass, "desc": @desc}, "id": <@command's id>}. */
void         qmp_mock_reply_error (QmpMock    *mock,
                                   JsonObject *command,
                                   const char *klass,
                                   const char *desc);

/* Sends {"timestamp": {"seconds", "microseconds"}, "event": @name,
 * "data": @data_json}; "data" is left out when @data_json is %NULL. */
void         qmp_mock_send_event (QmpMock    *mock,
                                  const char *name,
                                  const char *data_json,
                                  gint64      seconds,
                                  gint64      microseconds);

/* Shuts down and closes the server end: the library sees the peer go
 * away.  Only qmp_mock_get_client_stream() and qmp_mock_free() may be
 * called afterwards. */
void         qmp_mock_close (QmpMock *mock);
/* Shuts down the mock's reading side only: the client's writes fail
 * (EPIPE), while the mock may still send and never ends the stream. */
void         qmp_mock_stop_reading (QmpMock *mock);

/* %NULL-safe. */
void         qmp_mock_free (QmpMock *mock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpMock, qmp_mock_free)

/* ---- waiting for asynchronous results ---- */

/* A GAsyncReadyCallback that stores a reference to @result in the
 * GAsyncResult * that @user_data points to. */
void          qmp_test_store_result (GObject      *source_object,
                                     GAsyncResult *result,
                                     gpointer      user_data);

/* Iterates the thread-default main context until *@slot is set (by
 * qmp_test_store_result()) and returns it (transfer full, *@slot cleared);
 * 30 s at most, then an assertion fails. */
GAsyncResult *qmp_test_wait_result (GAsyncResult **slot);

/* Iterates the thread-default main context until *@flag is TRUE; 30 s at
 * most, then an assertion fails. */
void          qmp_test_wait_flag (gboolean *flag);

/* What @socket sent that its peer did not read yet (SIOCOUTQ) */
int           qmp_test_socket_unread_bytes (GSocket *socket);

/* The bytes glibc's malloc has handed out and not taken back (mallinfo2) */
gsize         qmp_test_heap_in_use (void);
/* Whether qmp_test_heap_in_use() says anything: not under valgrind or
 * ASan, whose malloc is not glibc's */
gboolean      qmp_test_heap_measurable (void);

#ifndef QMP_TEST_UTILS_NO_LIBRARY
/* A connection to @peer with @flags, made synchronously; asserts that it
 * succeeds.  Returns it (transfer full). */
QmpConnection *qmp_test_peer_connect (QmpTestPeer        *peer,
                                      QmpConnectionFlags  flags);

/* Arguments whose reply names its caller, for a command that a real QEMU
 * answers with an error quoting them (qom-list) or the mock echoes:
 * {"path": "/qmp-test/tTHREAD/iI"}.  A reply that went to the wrong call
 * shows.  Returns it (transfer full). */
JsonObject    *qmp_test_tagged_arguments    (guint         thread,
                                             guint         i);
/* Asserts that @error is QEMU's error for qom-list of the path of
 * qmp_test_tagged_arguments (@thread, @i). */
void           qmp_test_assert_tagged_error (const GError *error,
                                             guint         thread,
                                             guint         i);

/* A guest agent connection to @peer (a qemu-ga), with no timeout once made.
 * qemu-ga serves one client at a time: a connection made while it still
 * finishes with the previous one is refused or reset, and tried again
 * (5 s at most).  Returns it (transfer full). */
QmpConnection *qmp_test_guest_agent_connect (QmpTestPeer *peer);

/* ---- commands of a QmpTestServer, held for the test ---- */

/* Every command that @server's canned answers do not take is handed to
 * its "command" signal, in the thread-default main context of the thread
 * that made the server; a QmpTestHeld keeps them there, in order, for the
 * test to answer when and how it wants.  While one exists, make no _sync
 * call that the server must answer from that thread (see
 * QmpTestServer::command). */
typedef struct _QmpTestHeld QmpTestHeld;

QmpTestHeld          *qmp_test_held_new        (QmpTestServer *server);

/* How many commands are held now */
guint                 qmp_test_held_get_length (QmpTestHeld   *held);

/* Iterates the thread-default main context until a command is held (30 s
 * at most) and returns the first (transfer full); asserts that it is
 * @name unless that is %NULL. */
QmpTestServerCommand *qmp_test_held_next       (QmpTestHeld   *held,
                                                const char    *name);

/* qmp_test_held_next(), then answers with @return_json (JSON text;
 * %NULL means "{}"). */
void                  qmp_test_held_reply      (QmpTestHeld   *held,
                                                const char    *name,
                                                const char    *return_json);

/* Disconnects, drops the commands not taken.  %NULL-safe. */
void                  qmp_test_held_free       (QmpTestHeld   *held);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpTestHeld, qmp_test_held_free)

/* Greeting and negotiation in one step: sends a 7.2.0 greeting offering
 * @capabilities_json (%NULL means "[]"), starts qmp_connection_new_async()
 * on the client stream with @flags, receives the qmp_capabilities command,
 * asserts its shape ("arguments": {"enable": ["oob"]} iff @flags has
 * QMP_CONNECTION_FLAGS_OOB and the capabilities contain "oob", no
 * "arguments" otherwise), replies, and iterates the thread-default main
 * context until the construction finishes (10 s at most); asserts no
 * error.  Returns the connection (transfer full). */
QmpConnection *qmp_mock_connect (QmpMock            *mock,
                                 QmpConnectionFlags  flags,
                                 const char         *capabilities_json);

/* ---- a process out of descriptors ---- */

/* For a test that changes what the whole process has (RLIMIT_NOFILE):
 * runs the current test again in a subprocess (g_test_trap_subprocess(),
 * its stderr inherited) whose TMPDIR is a new temporary directory, removed
 * with what is left in it once the subprocess ended, passed or not;
 * asserts that it passed, and returns %FALSE.  In the subprocess, returns
 * %TRUE at once: the test's body runs there.
 *
 *   if (!qmp_test_trap_subprocess_in_tmp_dir (60 * G_USEC_PER_SEC))
 *     return;
 */
gboolean       qmp_test_trap_subprocess_in_tmp_dir (guint64 usec_timeout);

/* The process's descriptor table full, with a client waiting at each
 * listening Unix socket of the process. */
typedef struct _QmpTestFdsFull QmpTestFdsFull;

/* Makes a client socket for each of @paths (%NULL-terminated), lowers
 * RLIMIT_NOFILE to 128 and fills the table, then connects each client:
 * connect() takes no descriptor, so each waits in its listener's backlog,
 * whose accept() fails with EMFILE.  Asserts that for a second of that,
 * the process used less than a quarter of a second of CPU (a listener
 * that spins on its readable socket uses all of it), and that no client
 * was accepted. */
QmpTestFdsFull *qmp_test_fds_full_new            (const char * const *paths);

/* Frees the descriptors and restores the limit.  Done by
 * qmp_test_fds_full_free() too. */
void            qmp_test_fds_full_release        (QmpTestFdsFull     *full);

/* After the release: client @i (the index of its path) as a connection,
 * through its greeting and negotiation, 5 s at most (transfer full). */
QmpConnection  *qmp_test_fds_full_connect        (QmpTestFdsFull     *full,
                                                  guint               i);

/* Asserts that client @i sees its listener hang up (5 s at most), with no
 * greeting. */
void            qmp_test_fds_full_assert_hung_up (QmpTestFdsFull     *full,
                                                  guint               i);

/* Releases, and closes the clients not taken.  %NULL-safe. */
void            qmp_test_fds_full_free           (QmpTestFdsFull     *full);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpTestFdsFull, qmp_test_fds_full_free)
#endif

G_END_DECLS
