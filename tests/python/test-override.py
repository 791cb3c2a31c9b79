#!/usr/bin/python3
# test-override.py: what the override does under conditions no QEMU
# makes on demand (a flood of events, values json-glib cannot hold, …),
# against servers of the test's own (no QEMU needed)
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import faulthandler
import json
import os
import socket
import tempfile
import threading
import time
import unittest

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Gio, Qmp  # noqa: E402

# How long a call that must end may take before it counts as hung: a
# bound on the wait, not a timed assertion.
HANG = 20

GREETING = (b'{"QMP": {"version": {"qemu": {"major": 8, "minor": 0, "micro": 0}, '
            b'"package": ""}, "capabilities": []}}\r\n')


def event_line(name, data):
    return (b'{"event": "%s", "data": %s, "timestamp": {"seconds": 1, "microseconds": 2}}\r\n'
            % (name.encode(), json.dumps(data).encode()))


class RawServer:
    """A QMP server on a Unix socket that answers every command with an
    empty return and, once flood() is called, sends TICK events without
    pause until it is closed."""

    def __init__(self):
        self.tmpdir = tempfile.mkdtemp(prefix='qmp-override-')
        self.path = os.path.join(self.tmpdir, 'qmp.sock')
        self.address = 'unix:' + self.path
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(self.path)
        self._listener.listen(1)
        self._lock = threading.Lock()
        self._flood = threading.Event()
        self._closed = False
        self._client = None
        self.commands = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _send(self, data):
        with self._lock:
            self._client.sendall(data)

    def _serve(self):
        client, _ = self._listener.accept()
        self._client = client
        client.sendall(GREETING)
        threading.Thread(target=self._flooder, daemon=True).start()
        buffer = b''
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    return
                buffer += data
                while b'\n' in buffer:
                    line, buffer = buffer.split(b'\n', 1)
                    command = json.loads(line)
                    self.commands.append(command)
                    self._send(b'{"return": {}, "id": %s}\r\n' % json.dumps(command['id']).encode())
        except OSError:
            pass

    def _flooder(self):
        self._flood.wait()
        burst = event_line('TICK', {'x': 1}) * 20
        while not self._closed:
            try:
                self._send(burst)
            except OSError:
                return
            time.sleep(0.001)

    def flood(self):
        self._flood.set()

    def send_event(self, name, data):
        self._send(event_line(name, data))

    def close(self):
        self._closed = True
        self._flood.set()
        for sock in (self._client, self._listener):
            if sock is not None:
                sock.close()
        os.unlink(self.path)
        os.rmdir(self.tmpdir)


class FloodTests(unittest.TestCase):
    """A connection of `await Qmp.Connection.new_for_address()` emits its
    signals in the override's background thread, where the coroutine
    calls start too."""

    def setUp(self):
        self.server = RawServer()
        # A loop thread that blocks for ever fails the test, not the suite.
        faulthandler.dump_traceback_later(HANG * 3, exit=True)

    def tearDown(self):
        faulthandler.cancel_dump_traceback_later()
        self.server.close()

    def test_calls_start_during_a_flood(self):
        handled = []

        def on_tick(connection, event):
            handled.append(1)
            time.sleep(0.0001)          # a handler that does a little work

        async def main():
            connection = await asyncio.wait_for(
                Qmp.Connection.new_for_address(self.server.address), HANG)
            connection.connect('event::TICK', on_tick)
            self.server.flood()
            while len(handled) < 1000:
                await asyncio.sleep(0.01)
            # The command starts (it used to wait for an idle source that
            # the emission of the events never let run)
            n_commands = len(self.server.commands)
            await asyncio.wait_for(connection.execute('x'), HANG)
            self.assertEqual(len(self.server.commands), n_commands + 1)

            # wait_event() arms its filter without waiting for the
            # background thread (it used to block the loop thread).
            before = time.monotonic()
            waiter = connection.wait_event('MARK')
            self.assertLess(time.monotonic() - before, HANG)
            self.server.send_event('MARK', {'n': 1})
            event = await asyncio.wait_for(waiter, HANG)
            self.assertEqual(event.data, {'n': 1})
            await asyncio.wait_for(connection.close(), HANG)

        asyncio.run(main())


if __name__ == '__main__':
    unittest.main(verbosity=2)
