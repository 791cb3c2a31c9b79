#!/usr/bin/python3
# test-qmpctl-fds.py: qmpctl --fd against real QEMUs, in TAP
#
#   test-qmpctl-fds.py QMPCTL
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from qmpctltest import is_listening

QMPCTL = sys.argv[1]
QEMU = os.environ.get('QMP_TEST_QEMU', 'qemu-system-x86_64')


def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG



class Qemu:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix='qmp-test-')
        self.path = os.path.join(self.dir, 'qmp.sock')
        self.process = subprocess.Popen(
            [QEMU, '-M', 'none', '-nodefaults', '-display', 'none',
             '-qmp', 'unix:%s,server=on,wait=off' % self.path, *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        # Listening, not only there: QEMU binds the file a moment before
        # it listens, and a connection in between is refused.
        while not is_listening(self.path):
            assert self.process.poll() is None, 'QEMU exited'
            assert time.monotonic() < deadline, 'no QMP socket'
            time.sleep(0.01)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.dir)


def json_documents(text):
    decoder = json.JSONDecoder()
    documents = []
    text = text.strip()
    while text:
        document, end = decoder.raw_decode(text)
        documents.append(document)
        text = text[end:].strip()
    return documents


def qmpctl(*args, pass_fds=()):
    return subprocess.run([QMPCTL, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, pass_fds=pass_fds)


def test_getfd_vnc():
    """--fd N sends descriptor N with the first command: QEMU's VNC server
    talks on the socket pair"""
    with Qemu('-vnc', 'none') as qemu:
        ours, theirs = socket.socketpair()
        fd = theirs.fileno()
        result = qmpctl('--socket', 'unix:' + qemu.path, '--fd', str(fd),
                        'getfd', 'fdname=vnc0', ',', 'add_client', 'protocol=vnc',
                        'fdname=vnc0', pass_fds=[fd])
        theirs.close()
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout) == [{}, {}], result.stdout
        ours.settimeout(10)
        assert ours.recv(12) == b'RFB 003.008\n'


def test_add_fd_launch():
    """--fd with a launched QEMU: add-fd puts the file in a set"""
    with tempfile.NamedTemporaryFile() as f:
        fd = os.open(f.name, os.O_RDONLY)
        result = qmpctl('--fd', str(fd), 'add-fd', 'opaque=x', ',', 'query-fdsets',
                        pass_fds=[fd])
        os.close(fd)
        assert result.returncode == 0, result.stderr
        added, sets = json_documents(result.stdout)
        assert sets == [{'fdset-id': added['fdset-id'],
                         'fds': [{'fd': added['fd'], 'opaque': 'x'}]}], sets


def test_bad_fd():
    """a descriptor that is not open is a usage error, before connecting"""
    result = qmpctl('--socket', 'unix:/nonexistent', '--fd', '987', 'getfd', 'fdname=x')
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert '--fd 987' in result.stderr, result.stderr
    result = qmpctl('--socket', 'unix:/nonexistent', '--fd', '0', 'events')
    assert result.returncode == 2, (result.returncode, result.stderr)


TESTS = [test_getfd_vnc, test_add_fd_launch, test_bad_fd]

if __name__ == '__main__':
    print('1..%d' % len(TESTS), flush=True)
    failed = 0
    for number, test in enumerate(TESTS, 1):
        try:
            test()
            print('ok %d - %s' % (number, test.__doc__.split('\n')[0]), flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print('not ok %d - %s: %r' % (number, test.__name__, e), flush=True)
    sys.exit(1 if failed else 0)
