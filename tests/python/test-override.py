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
import gc
import json
import math
import os
import socket
import tempfile
import threading
import time
import unittest

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Gio, Json, Qmp  # noqa: E402
import gi.overrides.Qmp as override  # noqa: E402

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
    empty return, or the lines of `replies[name]` (bytes, %(id)s for the
    command's id), and, once flood() is called, sends TICK events without
    pause until it is closed.  `commands` are the commands it got, as
    the json module reads them."""

    def __init__(self, replies=None):
        self.replies = replies or {}
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
                    reply = self.replies.get(command['execute'],
                                             b'{"return": {}, "id": %(id)s}\r\n')
                    self._send(reply % {b'id': json.dumps(command['id']).encode()})
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


# What json-glib cannot hold as it is: integers beyond its 64 bits
# (2**64 - 1 and 2**70 used to go as -1), which JSON text carries, and
# U+0000 in strings (they used to be cut), which the library refuses in
# JSON text too.
BIG = [{'n': 2**64 - 1}, {'n': [2**70]}, {'n': -2**63 - 1}]
NUL = [{'s': 'a\0b'}, {'k\0x': 1}, {'l': [{'s': '\0'}]}]
INEXACT = BIG + NUL
# Its limits, which go through
EXACT = {'max': 2**63 - 1, 'min': -2**63, 'f': 0.1, 'e': 1e41, 's': 'é\n'}
# The return of "go": a uint64 above 2**63, which read from json-glib's
# tree used to be -1
GO_REPLY = (b'{"return": {"n": 18446744073709551615}, "id": %(id)s}\r\n'
            + event_line('DONE', {'d': 1}))


class ExactValuesTests(unittest.TestCase):

    def setUp(self):
        self.server = RawServer({'go': GO_REPLY})
        self.connection = Qmp.Connection.new_for_address_sync(self.server.address)
        self.assertEqual(self.server.commands[-1]['execute'], 'qmp_capabilities')

    def tearDown(self):
        self.connection.close_sync()
        self.server.close()

    def test_until_event_exact(self):
        # Without timeout= too, the arguments go and the return comes as
        # JSON text, exact.
        for arguments in BIG + [EXACT]:
            event, ret = self.connection.execute_until_event_sync('go', arguments, 'DONE')
            self.assertEqual(self.server.commands[-1]['arguments'], arguments)
            self.assertEqual(ret, {'n': 2**64 - 1})
            self.assertEqual(event.data, {'d': 1})

            async def coroutine():
                return await asyncio.wait_for(
                    self.connection.execute_until_event('go', arguments, 'DONE'), HANG)
            event, ret = asyncio.run(coroutine())
            self.assertEqual(self.server.commands[-1]['arguments'], arguments)
            self.assertEqual(ret, {'n': 2**64 - 1})
        sent = len(self.server.commands)
        for arguments in NUL:
            with self.assertRaises(GLib.Error) as caught:
                self.connection.execute_until_event_sync('go', arguments, 'DONE')
            self.assertIn('U+0000', caught.exception.message)
        self.assertEqual(len(self.server.commands), sent)

    def test_json_object_paths_refuse(self):
        # What takes a Json.Object in C refuses what it cannot hold, and
        # sends nothing.
        server = Qmp.TestServer.new()
        sent = len(self.server.commands)
        for value in INEXACT:
            calls = [
                lambda: self.connection.execute_with_fds_sync('go', value),
                lambda: self.connection.execute_with_fdset_sync(1, 'go', value),
                lambda: self.connection.execute_until_event_async('go', value, 'DONE'),
                lambda: self.connection.execute_until_event_sync('go', None, 'DONE', value),
                lambda: self.connection.wait_event_sync('DONE', value),
                lambda: self.connection.wait_event_async('DONE', value),
                lambda: Qmp.EventQueue.new(self.connection, 'DONE', value),
                lambda: Qmp.Event.new('DONE', value),
                lambda: Qmp.Event.new('DONE').matches('DONE', value),
                lambda: server.set_reply('x', value),
                lambda: server.emit_event('X', value),
                lambda: server.add_event_before_reply('x', 'X', value),
            ]
            for call in calls:
                with self.assertRaises(ValueError, msg=value):
                    call()
        for value in (2**64 - 1, ['\0']):
            with self.assertRaises(ValueError):
                server.set_reply('x', value)
        self.assertEqual(len(self.server.commands), sent)

        # The limits go through.
        self.connection.execute_with_fds_sync('go', EXACT)
        self.assertEqual(self.server.commands[-1]['arguments'], EXACT)
        self.assertEqual(Qmp.Event.new('E', EXACT).data, EXACT)

        async def coroutine():
            with self.assertRaises(ValueError):
                await self.connection.wait_event('DONE', INEXACT[0])
        asyncio.run(coroutine())


class QueueCancelTests(unittest.TestCase):

    def setUp(self):
        # Events written by a thread of its own while the loop is blocked
        self.server = RawServer()
        self.connection = Qmp.Connection.new_for_address_sync(self.server.address)

    def tearDown(self):
        self.connection.close_sync()
        self.server.close()

    async def cancel_after_pop(self, queue, i):
        """Cancels a get() of `queue` when its pop took the event {'i': i}
        already but the event loop did not run yet."""
        task = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)              # get() started the pop
        self.server.send_event('E', {'i': i})
        # The loop blocked while the pop takes the event (a cancel before
        # it would leave the event in the library's queue, or, with a
        # race of the library's own, lose it there).
        time.sleep(0.5)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)

    def test_get_cancelled_after_the_pop(self):
        # The event comes out next (it used to be lost).
        queue = Qmp.EventQueue.new(self.connection, 'E')

        async def main():
            await self.cancel_after_pop(queue, 0)
            self.assertEqual(queue.get_length(), 1)
            self.server.send_event('E', {'i': 1})
            self.server.send_event('E', {'i': 2})
            event = await asyncio.wait_for(queue.get(), HANG)
            self.assertEqual(event.data, {'i': 0})
            self.assertEqual(queue.pop_sync(timeout=HANG).data, {'i': 1})
            self.assertEqual(queue.pop_sync(timeout=HANG).data, {'i': 2})
            self.assertIsNone(queue.pop())

            # Given back to pop() and pop_sync() too
            for pop in (queue.pop, lambda: queue.pop_sync(timeout=HANG)):
                await self.cancel_after_pop(queue, 3)
                self.assertEqual(pop().data, {'i': 3})
            self.assertEqual(queue.get_length(), 0)

        asyncio.run(main())


class TimeoutTests(unittest.TestCase):

    def setUp(self):
        # "hang" is never answered
        self.server = RawServer({'hang': b''})
        self.connection = Qmp.Connection.new_for_address_sync(self.server.address)

    def tearDown(self):
        self.connection.close_sync()
        self.server.close()

    def assertTimesOut(self):
        # In a thread, waited for at most HANG seconds
        outcome = []

        def run():
            try:
                self.connection.execute_sync('hang', timeout=0.2)
            except GLib.Error as e:
                outcome.append(e)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(HANG)
        self.assertEqual(len(outcome), 1, 'the timeout did not fire')
        self.assertTrue(outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT))

    def test_infinite_timeout(self):
        # math.inf and what no thread can wait for are no timeout (they
        # used to kill the timer thread: no timeout fired after them).
        queue = Qmp.EventQueue.new(self.connection, 'E')
        for timeout in (math.inf, 1e10, 1e300, threading.TIMEOUT_MAX):
            self.assertEqual(self.connection.execute_sync('ok', timeout=timeout), {})
            self.server.send_event('E', {})
            self.assertEqual(queue.pop_sync(timeout=timeout).name, 'E')
            self.assertTimesOut()
        for timeout in (-1, math.nan):
            with self.assertRaises(ValueError):
                self.connection.execute_sync('ok', timeout=timeout)

    def test_timer_thread_survives(self):
        # A deadline no thread can wait for, given the timer thread
        # directly: it waits in steps, and the next timeout fires.
        class Call:
            timer_done = False

            def _on_timeout(self):
                raise RuntimeError('a timeout that fails')
        override._timers.add(1e300, Call())
        override._timers.add(0.01, Call())
        time.sleep(0.1)
        self.assertTimesOut()


class UntilEventRefusedTests(unittest.TestCase):

    def test_refused_command_starts_nothing(self):
        # A command name that the call refuses: the TypeError leaves no
        # wait behind (it used to keep the connection for ever).
        bad_calls = [
            lambda c: c.execute_until_event_sync(b'stop', None, 'STOP'),
            lambda c: c.execute_until_event_sync(None, None, 'STOP', timeout=HANG),
            lambda c: asyncio.run(c.execute_until_event(b'stop', None, 'STOP')),
            lambda c: asyncio.run(c.execute_until_event(None, None, 'STOP',
                                                        timeout=HANG)),
            # What only the command's call refuses (PyGObject cannot
            # encode a lone surrogate): the wait is cancelled.
            lambda c: c.execute_until_event_sync('stop', {'s': '\udcff'}, 'STOP'),
            lambda c: asyncio.run(c.execute_until_event('stop', {'s': '\udcff'}, 'STOP')),
        ]
        for call in bad_calls:
            server = Qmp.TestServer.new()
            server.set_reply('ok', {})
            connection = server.new_connection_sync()
            with self.assertRaises((TypeError, UnicodeError)):
                call(connection)
            # The connection goes on, and closes when dropped.
            self.assertEqual(connection.execute_sync('ok'), {})
            del connection
            deadline = time.monotonic() + HANG
            while server.get_n_clients() > 0 and time.monotonic() < deadline:
                gc.collect()
                GLib.MainContext.default().iteration(False)
                time.sleep(0.01)
            self.assertEqual(server.get_n_clients(), 0, 'the connection stayed')


class RawMethodsTests(unittest.TestCase):
    """The methods of the C library that the override does not redefine
    take dicts where they take a Json.Object or a Json.Node."""

    def setUp(self):
        self.server = Qmp.TestServer.new()
        self.server.set_reply('echo', {'x': 1})
        self.server.add_event_before_reply('echo', 'EV', {'a': 1})
        self.connection = self.server.new_connection_sync()

    def tearDown(self):
        self.connection.close_sync()
        self.server = None

    def test_dicts(self):
        none = Qmp.ExecuteFlags.NONE
        node = self.connection.execute_full_sync('echo', {'a': 1}, none, HANG * 1000)
        self.assertIsInstance(node, Json.Node)
        self.assertEqual(self.connection.execute_json_sync('echo', {'a': 1}, none), '{"x":1}')
        event, node = self.connection.execute_until_event_full_sync(
            'echo', {'a': 1}, 'EV', {'a': 1}, HANG * 1000)
        self.assertEqual(event.data, {'a': 1})
        # by keyword too
        self.connection.execute_json_sync('echo', arguments={'a': 1}, flags=none)
        with self.assertRaises(ValueError):
            self.connection.execute_json_sync('echo', {'a': 2**64}, none)

        loop = GLib.MainLoop()
        got = []

        def on_done(connection, result):
            got.append(connection.execute_json_finish(result))
            loop.quit()
        self.connection.execute_json_async('echo', {'a': 1}, none, None, on_done)
        source = GLib.timeout_add_seconds(HANG, loop.quit)
        loop.run()
        GLib.source_remove(source)
        self.assertEqual(got, ['{"x":1}'])

    def test_lone_surrogate(self):
        # TypeError, as for other values that are no JSON (it used to be
        # PyGObject's UnicodeEncodeError)
        bad = {'s': '\udcff'}
        calls = [
            lambda: self.connection.execute_sync('echo', bad),
            lambda: self.connection.execute_sync('echo', bad, timeout=HANG),
            lambda: self.connection.execute_with_fds_sync('echo', bad),
            lambda: self.connection.execute_json_sync('echo', bad, Qmp.ExecuteFlags.NONE),
            lambda: self.connection.wait_event_sync('EV', bad),
            lambda: Qmp.Event.new('EV', bad),
            lambda: self.server.set_reply('x', bad),
            lambda: asyncio.run(self.connection.execute('echo', bad)),
        ]
        for call in calls:
            with self.assertRaises(TypeError):
                call()
        self.assertEqual(self.connection.execute_sync('echo'), {'x': 1})


if __name__ == '__main__':
    unittest.main(verbosity=2)
