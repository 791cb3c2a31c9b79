#!/usr/bin/python3
# test-sigint.py: Ctrl-C interrupts the _sync calls of a Python script
#
# Each test runs a child Python process that connects to a real
# qemu-system-x86_64 of its own and blocks in a _sync call; once its main
# thread sleeps in that call, the test sends it SIGINT and checks that it
# ended with KeyboardInterrupt (and, where it can tell, that the command
# was never sent and that the connection still works).
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import platform
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OVERRIDES = os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python'))
sys.path.insert(0, HERE)

from qmptest import Qemu, check, check_equal, raw_qmp, run_tap  # noqa: E402

# A bound for a child to end after SIGINT: only there so that a child that
# ignores it fails the test instead of hanging it (the real figure, well
# under a second, is printed).
BOUND = 10

CHILD_PRELUDE = r'''
import os, signal, sys, threading
sys.path.insert(0, %r)
import gi
gi.require_version("Qmp", "1.0")
from gi.repository import GLib, Gio, Qmp
conn = Qmp.Connection.new_for_address_sync(sys.argv[1])
conn.set_timeout(120000)
def blocked():
    print("blocked", flush=True)
''' % OVERRIDES


class Child:
    """A child Python process running CHILD_PRELUDE + code against
    address; lines() reads its output."""

    def __init__(self, code, address, stdin=None, args=()):
        env = dict(os.environ)
        env['PYTHONPATH'] = OVERRIDES + os.pathsep + env.get('PYTHONPATH', '')
        self.process = subprocess.Popen(
            [sys.executable, '-c', CHILD_PRELUDE + code, address] + list(args), env=env,
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)

    def expect(self, line):
        got = self.process.stdout.readline().strip()
        if got != line:
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError('the child printed %r, not %r; stderr:\n%s'
                                 % (got, line, err))

    def wait_blocked(self, tid=None):
        """Waits until the child's main thread (or thread tid) sleeps in a
        system call (futex or poll: a _sync call waiting), after it printed
        "blocked"."""
        if tid is None:
            self.expect('blocked')
            tid = self.process.pid
        syscall = '/proc/%d/task/%d/syscall' % (self.process.pid, tid)
        stat = '/proc/%d/task/%d/stat' % (self.process.pid, tid)

        def waiting():
            if platform.machine() == 'x86_64':
                # 202: futex, 7: poll, 271: ppoll
                with open(syscall) as f:
                    return f.read().split()[:1] in (['202'], ['7'], ['271'])
            with open(stat) as f:
                return f.read().rsplit(')', 1)[1].split()[0] == 'S'

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if waiting():
                # And stays there: not a passing GIL hand-over.  (Were
                # SIGINT to come before the call, the test would still pass,
                # through the path of a call cancelled before it started.)
                time.sleep(0.05)
                if waiting():
                    return
            time.sleep(0.01)
        raise AssertionError('the child never blocked')

    def interrupt(self):
        """Sends SIGINT; returns (seconds until it ended, stdout, stderr)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError('the child ignored SIGINT for %d s' % BOUND)
        elapsed = time.monotonic() - started
        print('# ended %.3f s after SIGINT' % elapsed)
        return elapsed, out, err

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def check_keyboard_interrupt(child, code, err):
    check_equal(code, -signal.SIGINT, 'exit status (stderr: %s)' % err)
    check('KeyboardInterrupt' in err, 'no KeyboardInterrupt in:\n' + err)
    check('Converting the GError failed' not in err, 'PyGObject saw it:\n' + err)


def interrupted_call(call):
    """A test: the child blocks in call (Python code using conn); SIGINT
    makes it exit with KeyboardInterrupt."""
    def test():
        with Qemu() as qemu:
            child = Child('blocked()\n%s\nprint("returned", flush=True)\n' % call,
                          qemu.address)
            try:
                child.wait_blocked()
                _, out, err = child.interrupt()
            finally:
                child.kill()
            check_keyboard_interrupt(child, child.process.returncode, err)
            check('returned' not in out, 'the call returned: ' + out)
            # QEMU is unharmed.
            check_equal(raw_qmp(qemu.path, 'query-status')['status'], 'running', 'status')
    return test


def test_new_for_address_sync():
    # A server that accepts and never greets: construction waits for the
    # greeting until Ctrl-C.
    with Qemu() as qemu:
        path = os.path.join(qemu.tmpdir, 'silent.sock')
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)
            child = Child('blocked()\nQmp.Connection.new_for_address_sync(sys.argv[2])\n'
                          'print("returned", flush=True)\n', qemu.address, args=[path])
            try:
                child.wait_blocked()
                _, out, err = child.interrupt()
            finally:
                child.kill()
            check_keyboard_interrupt(child, child.process.returncode, err)
            check('returned' not in out, 'the call returned: ' + out)


def test_process_new_sync():
    # A "QEMU" that never greets (a shell that sleeps, given the monitor's
    # arguments as its positional parameters): Qmp.Process.new_sync waits
    # for the greeting until Ctrl-C, and the sleeper goes with it.
    with Qemu() as qemu:
        pidfile = os.path.join(qemu.tmpdir, 'sleeper.pid')
        code = ('blocked()\nQmp.Process.new_sync(["/bin/sh", "-c", '
                '"echo $$ > %s; exec sleep 1000", "sh"])\n'
                'print("returned", flush=True)\n' % pidfile)
        child = Child(code, qemu.address)
        try:
            child.wait_blocked()
            # The sleeper has started (and said who it is) before Ctrl-C:
            # the call is waiting for its greeting, not still spawning it.
            deadline = time.monotonic() + BOUND
            text = ''
            while not text.endswith('\n'):
                check(time.monotonic() < deadline, 'the sleeper wrote no pid file')
                try:
                    with open(pidfile) as f:
                        text = f.read()
                except FileNotFoundError:
                    pass
                time.sleep(0.01)
            sleeper = int(text)
            _, out, err = child.interrupt()
        finally:
            child.kill()
        check_keyboard_interrupt(child, child.process.returncode, err)
        check('returned' not in out, 'the call returned: ' + out)

        def alive():
            try:
                with open('/proc/%d/stat' % sleeper) as f:
                    return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
            except FileNotFoundError:
                return False

        deadline = time.monotonic() + BOUND
        while alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        check(not alive(), 'the sleeper outlived the interrupted new_sync')


def test_caught_and_connection_works():
    # The script catches KeyboardInterrupt, goes on with the same
    # connection, and Ctrl-C keeps working for the next call.
    code = r'''
for _ in range(2):
    blocked()
    try:
        conn.wait_event_sync("SHUTDOWN")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(conn.execute_sync("query-status")["status"], flush=True)
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True)
blocked()
conn.wait_event_sync("SHUTDOWN")
'''
    with Qemu() as qemu:
        child = Child(code, qemu.address)
        try:
            for _ in range(2):
                child.wait_blocked()
                child.process.send_signal(signal.SIGINT)
                child.expect('interrupted')
                child.expect('running')
            child.expect('True')
            child.wait_blocked()
            _, out, err = child.interrupt()
        finally:
            child.kill()
        check_keyboard_interrupt(child, child.process.returncode, err)


def test_command_not_sent():
    # QEMU is stopped (SIGSTOP), so the library has 8 commands written and
    # unanswered, and the ninth, object-add, waits in its queue when
    # Ctrl-C comes: it must never reach QEMU.
    code = r'''
print("connected", flush=True)
sys.stdin.readline()
for i in range(8):
    conn.execute_async("query-status")
blocked()
try:
    conn.execute_sync("object-add", {"qom-type": "memory-backend-ram",
                                     "id": "sentinel", "size": 1048576})
    print("returned", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
sys.stdin.readline()
memdevs = [m.get("id") for m in conn.execute_sync("query-memdev")]
print("sentinel" in memdevs, flush=True)
'''
    qemu = Qemu()
    check_path = os.path.join(qemu.tmpdir, 'check.sock')
    qemu.argv += ['-qmp', 'unix:%s,server=on,wait=off' % check_path]
    with qemu:
        child = Child(code, qemu.address, stdin=subprocess.PIPE)
        process = child.process
        stopped = False
        try:
            child.expect('connected')
            # Stopped once connected, before the commands go.
            os.kill(qemu.process.pid, signal.SIGSTOP)
            stopped = True
            process.stdin.write('\n')
            process.stdin.flush()
            child.wait_blocked()
            process.send_signal(signal.SIGINT)
            child.expect('interrupted')
            os.kill(qemu.process.pid, signal.SIGCONT)
            stopped = False
            process.stdin.write('\n')
            process.stdin.flush()
            child.expect('False')
            process.stdin.close()
            check_equal(process.wait(BOUND), 0, 'exit status')
        finally:
            if stopped:
                os.kill(qemu.process.pid, signal.SIGCONT)
            child.kill()
        memdevs = raw_qmp(check_path, 'query-memdev')
        check_equal(memdevs, [], 'memory backends (the cancelled object-add was sent)')
        # A sentinel would have been seen there.
        raw_qmp(check_path, 'object-add', {'qom-type': 'memory-backend-ram',
                                           'id': 'sentinel', 'size': 1048576})
        check_equal([m.get('id') for m in raw_qmp(check_path, 'query-memdev')],
                    ['sentinel'], 'memory backends after object-add')


def test_worker_thread_not_interrupted():
    # Only the main thread gets SIGINT: a call of a worker thread goes on,
    # the main thread (in join) gets KeyboardInterrupt.
    code = r'''
result = []
done = threading.Event()
def worker():
    result.append(conn.wait_event_sync("STOP", timeout=60))
    done.set()
thread = threading.Thread(target=worker)
thread.start()
print(thread.native_id, flush=True)
try:
    blocked()
    done.wait()
except KeyboardInterrupt:
    print("interrupted", flush=True)
conn.execute_sync("stop")
done.wait(60)
print(result[0].name, flush=True)
conn.execute_sync("cont")
'''
    with Qemu() as qemu:
        child = Child(code, qemu.address)
        try:
            worker = int(child.process.stdout.readline())
            child.wait_blocked(worker)
            child.wait_blocked()
            child.process.send_signal(signal.SIGINT)
            child.expect('interrupted')
            child.expect('STOP')
            check_equal(child.process.wait(BOUND), 0, 'exit status')
        finally:
            child.kill()


def test_own_sigint_handler():
    # A script with a SIGINT handler of its own keeps it: the override
    # does not cancel the call, and the handler runs once it is over.
    code = r'''
signal.signal(signal.SIGINT, lambda s, f: print("handler", flush=True))
def later():
    sys.stdin.readline()
    conn.execute_sync("stop")
threading.Thread(target=later).start()
blocked()
print(conn.wait_event_sync("STOP").name, flush=True)
'''
    with Qemu() as qemu:
        child = Child(code, qemu.address, stdin=subprocess.PIPE)
        try:
            child.wait_blocked()
            child.process.send_signal(signal.SIGINT)
            child.process.stdin.write('\n')
            child.process.stdin.flush()
            out, err = child.process.communicate(timeout=60)
        finally:
            child.kill()
        check_equal(child.process.returncode, 0, 'exit status (%s)' % err)
        check_equal(out.split(), ['handler', 'STOP'], 'output')


def test_sigint_storm():
    # SIGINTs at any moment of a loop of serial execute_sync: each call
    # returns or raises KeyboardInterrupt, and none fails with a
    # cancellation that no Ctrl-C of its own made (the override reuses a
    # call's internal cancellable for the next one when nothing cancelled
    # it).
    #
    # Python raises KeyboardInterrupt between any two bytecodes, the
    # loop's own too (its jump back is where it checks for signals): those
    # are caught apart, as "stray", so that the run goes on.
    code = r'''
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
calls = interrupted = stray = 0
print("ready", flush=True)
while True:
    try:
        while not stop.is_set():
            try:
                status = conn.execute_sync("query-status")["status"]
                assert status == "running", status
                calls += 1
            except KeyboardInterrupt:
                interrupted += 1
            except GLib.Error as e:
                print("UNEXPECTED %s" % e, flush=True)
                os._exit(3)
        break
    except KeyboardInterrupt:
        stray += 1
print("calls %d interrupted %d stray %d" % (calls, interrupted, stray), flush=True)
print(conn.execute_sync("query-status")["status"], flush=True)
'''
    with Qemu() as qemu:
        child = Child(code, qemu.address, stdin=subprocess.PIPE)
        try:
            child.expect('ready')
            for i in range(60):
                time.sleep(0.002 + (i % 7) * 0.003)
                child.process.send_signal(signal.SIGINT)
            time.sleep(0.1)
            out, err = child.process.communicate(input='', timeout=60)
        finally:
            child.kill()
        check('UNEXPECTED' not in out, 'a call failed: ' + out)
        if child.process.returncode != 0:
            # A SIGINT between two statements of the loop's own code ends
            # the child as it would any script: not what is tested here.
            check_keyboard_interrupt(child, child.process.returncode, err)
            return 'SKIP a SIGINT came outside the try'
        lines = out.split('\n')
        print('# %s' % lines[0])
        check(lines[0].startswith('calls '), 'output: ' + out)
        # One Ctrl-C interrupts one call, never the next one too.
        words = lines[0].split()
        interrupted, stray = int(words[3]), int(words[5])
        check(0 < interrupted and interrupted + stray <= 60,
              '%d interruptions and %d stray for 60 SIGINTs' % (interrupted, stray))
        check_equal(lines[1], 'running', 'the last call')


TESTS = [
    ('Ctrl-C in wait_event_sync', interrupted_call('conn.wait_event_sync("SHUTDOWN")')),
    ('Ctrl-C in wait_event_sync with a cancellable',
     interrupted_call('conn.wait_event_sync("SHUTDOWN", cancellable=Gio.Cancellable())')),
    ('Ctrl-C in wait_event_sync with a timeout',
     interrupted_call('conn.wait_event_sync("SHUTDOWN", timeout=100)')),
    ('Ctrl-C in execute_until_event_sync',
     interrupted_call('conn.execute_until_event_sync("query-status", event_name="NEVER")')),
    ('Ctrl-C in execute_until_event_sync with a timeout',
     interrupted_call('conn.execute_until_event_sync("query-status", event_name="NEVER", '
                      'timeout=100)')),
    ('Ctrl-C in Qmp.EventQueue iteration',
     interrupted_call('next(iter(Qmp.EventQueue.new(conn, "NEVER")))')),
    ('Ctrl-C in a typed command (system_powerdown_sync)',
     interrupted_call('conn.system_powerdown_sync()')),
    ('Ctrl-C in new_for_address_sync', test_new_for_address_sync),
    ('Ctrl-C in Qmp.Process.new_sync', test_process_new_sync),
    ('KeyboardInterrupt caught, the connection goes on', test_caught_and_connection_works),
    ('a command cancelled by Ctrl-C is never sent', test_command_not_sent),
    ('a call in a worker thread is not interrupted', test_worker_thread_not_interrupted),
    ('a SIGINT handler of the script is kept', test_own_sigint_handler),
    ('SIGINTs during serial execute_sync', test_sigint_storm),
]

if __name__ == '__main__':
    run_tap(TESTS)
