#!/usr/bin/python3
# test-proxy.py: a Qmp.Proxy from Python, in front of a real QEMU: plain
# TCP by its explicit opt-out, the address it got as an out argument, a
# read-only client, a client over a socket pair, and QEMU's events, with
# no main loop running (the proxy forwards on the library's I/O thread).
#
# Run by meson test, which sets GI_TYPELIB_PATH and LD_LIBRARY_PATH to the
# build tree.  By hand:
#   GI_TYPELIB_PATH=_build/qmp-glib LD_LIBRARY_PATH=_build/qmp-glib \
#     /usr/bin/python3 tests/python/test-proxy.py
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
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

upstream = None
proxy = None


def test_tcp_insecure():
    global upstream, proxy
    upstream = Qmp.Connection.new_for_address_sync(qemu.address)
    proxy = Qmp.Proxy.new(upstream)
    address = Gio.InetSocketAddress.new_from_string('127.0.0.1', 0)
    ok, bound = proxy.listen_tcp_insecure(address, Qmp.ProxyClientFlags.READ_ONLY)
    check(ok, 'listen_tcp_insecure')
    check(bound.get_port() > 0, 'the port it got')

    client = Qmp.Connection.new_for_address_sync('tcp:127.0.0.1:%d' % bound.get_port())
    check('status' in client.execute_sync('query-status'), 'query-status')
    try:
        client.execute_sync('stop')
    except GLib.Error as e:
        check_equal(e.qmp_class, 'GenericError', 'class')
        check_equal(e.message, 'The command stop is not allowed on a read-only connection', 'message')
    else:
        raise AssertionError('a read-only client could stop the VM')
    check_equal(upstream.query_status_sync()[0], Qmp.RunState.RUNNING, 'still running')
    client.close_sync()


def test_stream_events():
    stream = proxy.new_client_stream(Qmp.ProxyClientFlags.NONE)
    client = Qmp.Connection.new_sync(stream, Qmp.ConnectionFlags.NONE)
    event, ret = client.execute_until_event_sync('stop', None, 'STOP', None)
    check_equal(event.get_name(), 'STOP', 'event')
    check_equal(ret, {}, 'return')
    event, ret = client.execute_until_event_sync('cont', None, 'RESUME', None)
    check_equal(event.get_name(), 'RESUME', 'event')
    client.close_sync()


TESTS = [
    ('plain TCP by its opt-out, read-only, the port as an out argument', test_tcp_insecure),
    ('a client over a socket pair gets its events, no main loop running', test_stream_events),
]

if __name__ == '__main__':
    with Qemu() as qemu:
        run_tap(TESTS)
