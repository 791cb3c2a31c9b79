#!/usr/bin/python3
# test-vm-panel.py: drives examples/vm-panel.py, the GTK 4 VM manager, in a
# real window (under xvfb-run in the test suite) against a real QEMU:
# the buttons, the run-state label, the event log, a screenshot, and that
# QEMU is gone once the window closed, even while Python holds the
# process.  TAP on standard output.
#
#   test-vm-panel.py EXAMPLES-DIR SCREENSHOT.png
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import importlib.util
import os
import struct
import subprocess
import sys
import time
import zlib

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Gtk, Qmp  # noqa: E402

count = 0


def ok(condition, what):
    global count
    count += 1
    print('%s %d - %s' % ('ok' if condition else 'not ok', count, what), flush=True)
    if not condition:
        print('1..%d' % count)
        sys.exit(1)


def wait_until(condition, what, timeout=30):
    """Iterates the main context (never blocking in it) until condition()."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        if not context.iteration(False):
            time.sleep(0.002)
    ok(condition(), what)


def log_names(window):
    names = []
    row = window.log.get_first_child()
    while row is not None:
        names.append(row.get_child().get_name())
        row = row.get_next_sibling()
    return names


def pid_gone(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(')') + 2] == 'Z'


def xwd_to_png(xwd, path):
    """Writes the X window dump @xwd (ZPixmap, 24 or 32 bits per pixel, as
    xwd gives for Xvfb's TrueColor screen) as an RGB PNG."""
    fields = struct.unpack('>25I', xwd[:100])
    header_size, version, pixmap_format, depth, width, height = fields[:6]
    bits_per_pixel, bytes_per_line = fields[11], fields[12]
    red_mask, green_mask, blue_mask = fields[14:17]
    ncolors = fields[19]
    byte_order = fields[7]
    if version != 7 or pixmap_format != 2 or bits_per_pixel not in (24, 32):
        return False
    data = xwd[header_size + 12 * ncolors:]
    step = bits_per_pixel // 8
    order = '<' if byte_order == 0 else '>'

    def shift(mask):
        return (mask & -mask).bit_length() - 1

    shifts = [shift(m) for m in (red_mask, green_mask, blue_mask)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        line = data[y * bytes_per_line:y * bytes_per_line + width * step]
        for x in range(0, width * step, step):
            pixel = int.from_bytes(line[x:x + step], 'little' if order == '<' else 'big')
            rows += bytes(((pixel >> s) & 0xff) for s in shifts)

    def chunk(kind, payload):
        return (struct.pack('>I', len(payload)) + kind + payload
                + struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(bytes(rows), 6)))
        f.write(chunk(b'IEND', b''))
    return True


def screenshot(path):
    """The whole X screen (Xvfb's), through xwd."""
    try:
        xwd = subprocess.run(['xwd', '-root', '-silent'], check=True,
                             stdout=subprocess.PIPE).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print('# xwd: %s' % e)
        return False
    return xwd_to_png(xwd, path)


def main(argv):
    examples_dir, png = argv[1], argv[2]
    spec = importlib.util.spec_from_file_location(
        'vm_panel', os.path.join(examples_dir, 'vm-panel.py'))
    vm_panel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vm_panel)

    qemu = os.environ.get('QMP_TEST_QEMU', 'qemu-system-x86_64')
    app = vm_panel.VmPanelApplication(qemu)
    app.register(None)
    app.activate()
    window = app.window

    wait_until(lambda: window.tracker is not None
               and window.tracker.props.run_state == Qmp.RunState.PRELAUNCH,
               'QEMU starts, paused before launch (-S)')
    print('# peer: QEMU %u.%u.%u' % (window.process.get_connection().get_version_major(),
                                     window.process.get_connection().get_version_minor(),
                                     window.process.get_connection().get_version_micro()))
    wait_until(lambda: window.state_label.get_label() == 'prelaunch',
               'the label shows QEMU\'s state')
    ok(window.buttons['resume'].get_sensitive() and not window.buttons['pause'].get_sensitive(),
       'Resume is the button to press')

    window.buttons['resume'].emit('clicked')
    wait_until(lambda: window.state_label.get_label() == 'running', 'Resume: the label says running')
    wait_until(lambda: window.buttons['pause'].get_sensitive(), 'Pause becomes sensitive')

    window.buttons['pause'].emit('clicked')
    wait_until(lambda: window.state_label.get_label() == 'paused', 'Pause: the label says paused')
    wait_until(lambda: 'event-STOP' in log_names(window) and 'event-RESUME' in log_names(window),
               'the log shows RESUME and STOP')

    window.buttons['reset'].emit('clicked')
    wait_until(lambda: 'event-RESET' in log_names(window), 'Reset: the log shows RESET')
    # QEMU puts a machine that is not running in prelaunch on a reset; the
    # label follows whatever query-status says now.
    status = window.process.get_connection().execute_sync('query-status')['status']
    wait_until(lambda: window.state_label.get_label() == status,
               'after a reset the label says what query-status says (%s)' % status)

    window.buttons['resume'].emit('clicked')
    wait_until(lambda: window.state_label.get_label() == 'running', 'running again')
    window.buttons['powerdown'].emit('clicked')
    wait_until(lambda: 'event-POWERDOWN' in log_names(window), 'Power off: the log shows POWERDOWN')

    wait_until(lambda: window.get_mapped() and window.get_child().get_width() > 0, 'the window is shown')
    # Let the frame clock paint what changed before the X server is read.
    settle = time.monotonic() + 1
    wait_until(lambda: time.monotonic() > settle, 'the window painted its last changes')
    ok(screenshot(png), 'a screenshot saved to %s' % png)

    # Close the window while Python still holds the process: QEMU must go.
    process = window.process
    pid = int(process.get_subprocess().get_identifier())
    ok(not pid_gone(pid), 'QEMU runs before the window closes')
    window.close()
    wait_until(lambda: not app.get_windows(), 'the window closes once QEMU quit')
    wait_until(lambda: pid_gone(pid), 'QEMU is gone, with the process object still held')
    ok(process is not None, 'the process object was still held')

    print('1..%d' % count)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
