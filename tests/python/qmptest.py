# qmptest.py: what the Python tests share: a QEMU of their own and TAP
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

# As in the C suites; meson test --setup=qemu10 sets it.
QEMU = os.environ.get('QMP_TEST_QEMU') or 'qemu-system-x86_64'

_PR_SET_PDEATHSIG = 1

# Looked up now, not in the child: dlopen() and dlsym() take the dynamic
# loader's lock, which another thread of the test (the library's I/O
# thread, the override's) may hold at fork(), and the child would then
# wait for it forever, and Popen() for the child.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent():
    # Runs in the child between fork and exec: the kernel kills QEMU if
    # the test dies, whatever way it dies.
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


class Qemu:
    """A qemu-system-x86_64 with a QMP socket in a temporary directory of
    its own; a context manager that kills it and removes the directory."""

    def __init__(self, extra_args=()):
        self.tmpdir = tempfile.mkdtemp(prefix='qmp-test-')
        self.path = os.path.join(self.tmpdir, 'qmp.sock')
        self.address = 'unix:' + self.path
        self.argv = [QEMU, '-M', 'none', '-nodefaults', '-display', 'none',
                     '-qmp', 'unix:%s,server=on,wait=off' % self.path]
        self.argv += list(extra_args)
        self.process = None

    def __enter__(self):
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent)
            self._wait_for_socket()
        except BaseException:
            self.kill()
            raise
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def _wait_for_socket(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('%s exited with status %d during start-up'
                                   % (QEMU, self.process.returncode))
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(self.path)
                    # QEMU serves one monitor client at a time: let this
                    # probe go before the real client comes.
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError('%s did not open %s' % (QEMU, self.path))
            time.sleep(0.02)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def raw_qmp(path, command, arguments=None, timeout=10):
    """Runs one command over a fresh connection without qmp-glib, so that a
    test can check what QEMU really did; returns the "return" member."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile('rw', encoding='utf-8', newline='')

        def reply(id_):
            while True:
                line = f.readline()
                if not line:
                    raise RuntimeError('QEMU closed the connection')
                msg = json.loads(line)
                if msg.get('id') == id_:
                    if 'error' in msg:
                        raise RuntimeError(msg['error']['desc'])
                    return msg['return']

        json.loads(f.readline())        # the greeting
        f.write(json.dumps({'execute': 'qmp_capabilities', 'id': 1}) + '\n')
        f.flush()
        reply(1)
        msg = {'execute': command, 'id': 2}
        if arguments is not None:
            msg['arguments'] = arguments
        f.write(json.dumps(msg) + '\n')
        f.flush()
        return reply(2)


class TestFailure(Exception):
    pass


def check(condition, message='check failed'):
    if not condition:
        raise TestFailure(message)


def check_equal(got, expected, what='value'):
    if got != expected:
        raise TestFailure('%s: expected %r, got %r' % (what, expected, got))


def check_members(got, expected, what='value'):
    """got is a dict with expected's members and values, and maybe more:
    a later QEMU may add members to a reply or an event."""
    check(isinstance(got, dict), '%s: expected a dict, got %r' % (what, got))
    check_equal({k: got.get(k) for k in expected}, expected, what)


def report_peer(binary=QEMU):
    """Names the QEMU the tests run against in a TAP comment, from its
    --version; with QMP_TEST_EXPECT_VERSION set, one of another version
    bails out."""
    path = shutil.which(binary) or binary
    line = subprocess.run([path, '--version'], stdout=subprocess.PIPE, check=True,
                          universal_newlines=True).stdout.split('\n')[0]
    version = re.search(r'\d+\.\d+\.\d+', line).group(0)
    print('# peer %s %s (%s: %s)' % (os.path.basename(path), version, path, line), flush=True)
    expected = os.environ.get('QMP_TEST_EXPECT_VERSION', '')
    if expected and not (version + '.').startswith(expected + '.'):
        print('Bail out! %s is %s, but QMP_TEST_EXPECT_VERSION is %s'
              % (path, version, expected), flush=True)
        sys.exit(1)


def run_tap(tests):
    """Runs each (name, function[, todo]) in TAP and exits non-zero on a
    failure.  A function may return 'SKIP reason' to skip itself; a test
    with a todo string is a known bug, reported with TAP's TODO directive
    (meson then fails the suite when it passes, so that the mark goes)."""
    report_peer()
    print('1..%d' % len(tests), flush=True)
    failed = 0
    for number, (name, function, *todo) in enumerate(tests, 1):
        directive = ''
        try:
            result = function()
            status = 'ok'
            if isinstance(result, str) and result.startswith('SKIP'):
                directive = ' # ' + result
            elif todo:
                directive = ' # TODO ' + todo[0]
        except Exception:
            status = 'not ok'
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
            if todo:
                directive = ' # TODO ' + todo[0]
            else:
                failed += 1
        print('%s %d - %s%s' % (status, number, name, directive), flush=True)
    sys.exit(1 if failed else 0)
