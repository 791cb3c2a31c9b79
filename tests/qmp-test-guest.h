/* qmp-test-guest.h: a real Linux guest for the qmp-glib test suites
 *
 * Copyright the qmp-glib authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The guest: Debian 12's kernel and a busybox initramfs with the host's
 * qemu-ga, built by build-aux/make-test-guest.sh into the directory
 * `QMP_TEST_GUEST_DIR` (cached there; meson sets it to
 * BUILDDIR/tests/guest, and `QMP_TEST_GUEST_SCRIPT` to the script).  It
 * runs under `QMP_TEST_QEMU` (default qemu-system-x86_64) with TCG:
 *
 *   -accel tcg -M pc -m 256 -nodefaults -display none
 *   -kernel vmlinuz -initrd initrd.img
 *   -append "console=ttyS0 panic=-1 quiet [options]"
 *   -serial file:DIR/serial.log
 *   -device virtio-serial-pci,id=vser0
 *   -chardev socket,id=qga0,path=DIR/qga.sock,server=on,wait=off
 *   -device virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0
 *   -device pvpanic
 *   -qmp unix:DIR/qmp.sock,server=on,wait=off    (the test's monitor)
 *   -qmp unix:DIR/ctl.sock,server=on,wait=off    (the fixture's own)
 *
 * Booting it under TCG takes seconds (tens of them on a loaded machine),
 * so qmp_test_guest_start() boots it only once per process, saves the
 * booted machine with `migrate exec:`, and starts every guest after the
 * first from that state (`-incoming`): each test gets its own QEMU, in its
 * own temporary directory, with a guest that has already booted and whose
 * qemu-ga already answers.  The guest's /init options (`qmptest.*`, see
 * the script) apply to cold boots only (qmp_test_guest_boot()). */

typedef struct _QmpTestGuest QmpTestGuest;

/* A booted guest in a new QEMU (restored from the process's snapshot,
 * made on first use) with @extra_args (nullable, %NULL-terminated)
 * appended to the argv above (-no-reboot, -action panic=pause …; not
 * devices: the machine must be the one that was saved).  Returns once the
 * guest runs.  On failure an assertion fails (or, if assertions are
 * non-fatal, %NULL is returned).  QEMU gets SIGKILL when the starting
 * thread dies (PR_SET_PDEATHSIG): start guests from the main thread. */
QmpTestGuest *qmp_test_guest_start (const char * const *extra_args);

/* A cold boot with @append_options (nullable) added to the kernel command
 * line ("qmptest.panic=1" …): returns once the guest printed its
 * readiness marker on the serial console. */
QmpTestGuest *qmp_test_guest_boot (const char         *append_options,
                                   const char * const *extra_args);

/* The same cold boot, but returns at once after starting QEMU (its
 * sockets may not exist yet): for tests that connect before the guest
 * booted.  qmp_test_guest_wait_ready() then waits for the marker. */
QmpTestGuest *qmp_test_guest_launch (const char         *append_options,
                                     const char * const *extra_args);
gboolean      qmp_test_guest_wait_ready (QmpTestGuest *guest);

/* "unix:DIR/qmp.sock": a monitor for the test (QEMU takes one client). */
const char   *qmp_test_guest_get_qmp_address (QmpTestGuest *guest);

/* "unix:DIR/qga.sock": the chardev of the guest's virtio port
 * org.qemu.guest_agent.0, where qemu-ga runs inside the guest (connect
 * with QMP_CONNECTION_FLAGS_GUEST_AGENT). */
const char   *qmp_test_guest_get_agent_address (QmpTestGuest *guest);

const char   *qmp_test_guest_get_dir (QmpTestGuest *guest);

GPid          qmp_test_guest_get_pid (QmpTestGuest *guest);

/* What the guest printed on its serial console so far (transfer full). */
char         *qmp_test_guest_get_console (QmpTestGuest *guest);

/* Waits up to @timeout_ms for QEMU to exit by itself and returns its wait
 * status; on timeout an assertion fails (-1 if assertions are
 * non-fatal). */
int           qmp_test_guest_wait_exit (QmpTestGuest *guest,
                                        guint         timeout_ms);

/* SIGKILL if still running, reaps QEMU, removes its directory.
 * %NULL-safe. */
void          qmp_test_guest_free (QmpTestGuest *guest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QmpTestGuest, qmp_test_guest_free)

/* Seconds the cold boot of the snapshot took (kernel to readiness marker
 * and a first agent answer), 0 before it happened. */
double        qmp_test_guest_get_boot_seconds (void);

/* Removes the process's snapshot; call after g_test_run(). */
void          qmp_test_guest_cleanup (void);

G_END_DECLS
