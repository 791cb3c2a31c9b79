#!/usr/bin/python3
# test-vm-panel-guest.py: examples/vm-panel.py, the GTK 4 VM manager, in a
# real window against a QEMU that runs a real Linux guest (the test guest
# of build-aux/make-test-guest.sh): Resume boots it, and Power off really
# powers it off: the guest's own SHUTDOWN, the label says so, the buttons
# go insensitive, and QEMU exits by itself.  TAP on standard output.
#
#   test-vm-panel-guest.py EXAMPLES-DIR
#
# Needs QMP_TEST_GUEST_SCRIPT and QMP_TEST_GUEST_DIR (meson test sets them).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Qmp', '1.0')
from gi.repository import Qmp  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('panel_test', os.path.join(here, 'test-vm-panel.py'))
panel_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(panel_test)
ok, wait_until, log_names, pid_gone = (panel_test.ok, panel_test.wait_until,
                                       panel_test.log_names, panel_test.pid_gone)


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


def main(argv):
    examples_dir = argv[1]
    script, image = os.environ['QMP_TEST_GUEST_SCRIPT'], os.environ['QMP_TEST_GUEST_DIR']
    subprocess.run(['/bin/sh', script, image], check=True, stdout=subprocess.DEVNULL)

    # The panel runs "QEMU -M pc -S -display none -nodefaults" and its own
    # monitor: a wrapper adds the guest.
    tmp = tempfile.mkdtemp(prefix='qmp-panel-guest-')
    serial = os.path.join(tmp, 'serial.log')
    wrapper = os.path.join(tmp, 'qemu')
    qemu = os.environ.get('QMP_TEST_QEMU', 'qemu-system-x86_64')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\nexec %s "$@" -accel tcg -m 256 -kernel %s -initrd %s '
                '-append "console=ttyS0 panic=-1 quiet" -serial file:%s\n'
                % (shlex.quote(qemu), shlex.quote(os.path.join(image, 'vmlinuz')),
                   shlex.quote(os.path.join(image, 'initrd.img')), shlex.quote(serial)))
    os.chmod(wrapper, 0o755)

    try:
        spec = importlib.util.spec_from_file_location(
            'vm_panel', os.path.join(examples_dir, 'vm-panel.py'))
        vm_panel = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vm_panel)
        app = vm_panel.VmPanelApplication(wrapper)
        app.register(None)
        app.activate()
        window = app.window

        wait_until(lambda: window.tracker is not None
                   and window.tracker.props.run_state == Qmp.RunState.PRELAUNCH,
                   'QEMU starts, paused before launch (-S)')
        pid = int(window.process.get_subprocess().get_identifier())
        connection = window.process.get_connection()
        print('# peer: QEMU %u.%u.%u' % (connection.get_version_major(), connection.get_version_minor(),
                                         connection.get_version_micro()), flush=True)

        window.buttons['resume'].emit('clicked')
        wait_until(lambda: window.state_label.get_label() == 'running', 'Resume: the label says running')
        wait_until(lambda: 'QMPTEST-READY' in read(serial) or pid_gone(pid),
                   'the guest boots to its init', timeout=240)
        ok(not pid_gone(pid), 'QEMU runs the booted guest')

        window.buttons['powerdown'].emit('clicked')
        wait_until(lambda: 'event-SHUTDOWN' in log_names(window),
                   "Power off: the log shows the guest's SHUTDOWN", timeout=60)
        names = log_names(window)
        ok(names.index('event-POWERDOWN') < names.index('event-SHUTDOWN'), 'POWERDOWN came first')
        wait_until(lambda: window.state_label.get_label() == 'shutdown', 'the label says shutdown')
        wait_until(lambda: not any(b.get_sensitive() for b in window.buttons.values()),
                   'every button is insensitive')
        wait_until(lambda: pid_gone(pid), 'QEMU exited by itself', timeout=60)
        # Had system_powerdown not finished on SHUTDOWN, the monitor closing
        # would fail it now, and the panel would log the error.
        wait_until(lambda: window.process.get_connection().is_closed(), 'the monitor closed')
        ok(all(n.startswith('event-') for n in log_names(window)),
           'no error in the log (system_powerdown finished): %s' % log_names(window))
        ok('power button' in read(serial), 'the guest saw its power button')

        window.close()
        wait_until(lambda: not app.get_windows(), 'the window closes')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print('1..%d' % panel_test.count)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
