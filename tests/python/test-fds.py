#!/usr/bin/python3
# test-fds.py: file descriptors handed to a real QEMU from Python, a
# Gio.UnixFDList through introspection
#
# Run by meson test, which sets GI_TYPELIB_PATH and LD_LIBRARY_PATH to the
# build tree.  By hand:
#   GI_TYPELIB_PATH=_build/qmp-glib LD_LIBRARY_PATH=_build/qmp-glib \
#     /usr/bin/python3 tests/python/test-fds.py
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OVERRIDES = os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python'))
sys.path.insert(0, OVERRIDES)
sys.path.insert(0, HERE)

import gi  # noqa: E402
gi.require_version('Qmp', '1.0')
gi.require_version('Gio', '2.0')
from gi.repository import GLib, Gio, Qmp  # noqa: E402

from qmptest import Qemu, check, check_equal, run_tap  # noqa: E402

conn = None


def qemu_fd_target(fd):
    return os.readlink('/proc/%d/fd/%d' % (qemu.process.pid, fd))


def test_getfd_vnc():
    global conn
    conn = Qmp.Connection.new_for_address_sync(qemu.address)
    ours, theirs = socket.socketpair()
    fds = Gio.UnixFDList.new_from_array([os.dup(theirs.fileno())])
    theirs.close()
    check_equal(conn.execute_with_fds_sync('getfd', {'fdname': 'vnc0'}, fds), {}, 'getfd')
    # the caller keeps its list
    check_equal(fds.get_length(), 1, 'list length')
    os.fstat(fds.peek_fds()[0])
    del fds
    conn.execute_sync('add_client', {'protocol': 'vnc', 'fdname': 'vnc0'})
    ours.settimeout(10)
    check_equal(ours.recv(12), b'RFB 003.008\n', 'banner')
    ours.close()


def test_add_fd_async():
    path = os.path.join(qemu.tmpdir, 'data')
    with open(path, 'w') as f:
        f.write('data')
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    fds = Gio.UnixFDList()
    fds.append(fd)
    os.close(fd)

    loop = GLib.MainLoop()
    results = []

    def on_added(source, result, tag):
        results.append((tag, source.execute_with_fds_finish(result)))
        loop.quit()

    conn.execute_with_fds_async('add-fd', {'opaque': 'py'}, fds, callback=on_added,
                                user_data='tag')
    loop.run()
    tag, added = results[0]
    check_equal(tag, 'tag', 'user data')
    check_equal(qemu_fd_target(added['fd']), path, 'the descriptor QEMU got')

    sets = conn.query_fdsets_sync()
    check_equal(sets, [{'fdset-id': added['fdset-id'],
                        'fds': [{'fd': added['fd'], 'opaque': 'py'}]}], 'sets')

    # The typed calls take a plain descriptor and give the numbers back.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    ok, fdset_id, qemu_fd = conn.add_fd_sync(fd, added['fdset-id'], 'typed')
    os.close(fd)
    check(ok, 'add_fd_sync')
    check_equal(fdset_id, added['fdset-id'], 'set')
    check_equal(qemu_fd_target(qemu_fd), path, 'typed descriptor')
    check(conn.remove_fd_sync(fdset_id, -1), 'remove_fd_sync')
    check_equal(conn.query_fdsets_sync(), [], 'sets after remove-fd')


def test_without_descriptor():
    try:
        conn.execute_with_fds_sync('getfd', {'fdname': 'x'}, None)
    except GLib.Error as e:
        check_equal(e.qmp_class, 'GenericError', 'class')
        check('No file descriptor supplied' in e.message, e.message)
    else:
        raise AssertionError('getfd without a descriptor worked')


def test_fdset_rollback():
    path = os.path.join(qemu.tmpdir, 'disk')
    with open(path, 'wb') as f:
        f.write(b'\0' * 4096)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    ok, fdset_id, qemu_fd = conn.add_fd_sync(fd, -1, 'disk')
    os.close(fd)
    node = {'driver': 'raw', 'read-only': True,
            'file': {'driver': 'file', 'filename': '/dev/fdset/%d' % fdset_id,
                     'read-only': True}}
    try:
        conn.execute_with_fdset_sync(fdset_id, 'blockdev-add', dict(node, **{'node-name': '#bad'}))
    except GLib.Error as e:
        check_equal(e.qmp_class, 'GenericError', 'class')
    else:
        raise AssertionError('node-name #bad worked')
    check_equal(conn.query_fdsets_sync(), [], 'sets after a failed blockdev-add')

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    ok, fdset_id, qemu_fd = conn.add_fd_sync(fd, -1, 'disk')
    os.close(fd)
    check_equal(conn.execute_with_fdset_sync(fdset_id, 'blockdev-add',
                                             dict(node, **{'node-name': 'disk0'})),
                {}, 'blockdev-add')
    check_equal([s['fdset-id'] for s in conn.query_fdsets_sync()], [fdset_id], 'the set stays')


TESTS = [
    ('getfd with a Gio.UnixFDList, then add_client vnc', test_getfd_vnc),
    ('add-fd asynchronously, query-fdsets, typed add_fd/remove_fd', test_add_fd_async),
    ('getfd without a descriptor', test_without_descriptor),
    ('execute_with_fdset_sync removes the set of a failed command', test_fdset_rollback),
]

if __name__ == '__main__':
    with Qemu(['-vnc', 'none']) as qemu:
        run_tap(TESTS)
