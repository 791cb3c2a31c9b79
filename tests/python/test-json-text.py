#!/usr/bin/python3
# test-json-text.py: the override's JSON text in and out, on the wire of
# a Qmp.TestServer, for what no QEMU does on demand: an event with a
# uint64 above 2**63 in its data, arguments with line breaks in strings.
# (Real QEMU's uint64 values, both ways: test-bindings.py.)
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import os
import threading
import unittest

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Gio, Qmp  # noqa: E402
import gi.overrides.Qmp as override  # noqa: E402

# How long a call that must end may take before it counts as hung: a
# bound on the wait, not a timed assertion.
HANG = 20

# What the library accepts (nesting up to 1023, integers of any length)
# and Python cannot hold: nesting past its recursion limit, more digits
# than its int-string limit.
DEEP = b'[' * 1000 + b']' * 1000
LONG = b'1' * 5000
TOO_DEEP = "nested too deeply for Python"
TOO_LONG = "integer too long for Python"

# Doubles that json-glib 1.6's generator writes as no JSON ("1e+41.0",
# "inf.0"), in the return values that come as a Json.Node tree.
ODD_DOUBLES = b'{"a": 1e41, "i": 1e400, "m": -1e41, "n": [1.5, true, null, "x", -7, {}]}'
ODD_DOUBLES_PYTHON = {'a': 1e41, 'i': float('inf'), 'm': -1e41,
                      'n': [1.5, True, None, 'x', -7, {}]}


class JsonTextTests(unittest.TestCase):

    def setUp(self):
        self.server = Qmp.TestServer.new()
        self.connection = self.server.new_connection_sync()
        self.assertEqual(Qmp.Connection.__module__, 'gi.overrides.Qmp')

    def tearDown(self):
        if not self.connection.is_closed():
            self.connection.close_sync()
        self.server = None

    def test_event_data_exact(self):
        # The line written by hand: json-glib could not write it.  The
        # data is parsed once, by the json module, from the server's text.
        queue = Qmp.EventQueue.new(self.connection, 'BIG')
        self.server.send_raw(b'{"event": "BIG", "data": {"n": 18446744073709551615, '
                             b'"m": -9223372036854775808, "f": 0.1, "s": "\\u00e9"}, '
                             b'"timestamp": {"seconds": 1, "microseconds": 2}}\r\n')
        event = queue.pop_sync(timeout=10)
        self.assertEqual(event.data, {'n': 2**64 - 1, 'm': -2**63, 'f': 0.1, 's': '\u00e9'})
        self.assertIsInstance(event.data['n'], int)

    def test_return_exact(self):
        def answer(server, command):
            if command.name != 'big':
                return False
            # The reply by hand, for the same reason.
            server.send_raw(b'{"return": [18446744073709551615, 1e400, -0, 0.5], "id": %d}\r\n'
                            % command.id)
            return True

        self.server.set_command_func(answer)
        self.assertEqual(self.connection.execute_sync('big'),
                         [2**64 - 1, float('inf'), 0, 0.5])
        self.server.set_command_func(None)

    def test_arguments_on_one_line(self):
        # Strings with line breaks, non-ASCII text and nesting reach the
        # server as one command line.
        self.server.set_reply('echo', None)
        arguments = {'text': 'a\nb\r\n', 'name': 'é€', 'nested': {'list': [1, None, True, 2.5]}}
        self.connection.execute_sync('echo', arguments)
        command = self.server.next_command_sync()
        self.assertEqual(command.name, 'qmp_capabilities')
        command = self.server.next_command_sync()
        self.assertEqual(command.name, 'echo')
        self.assertEqual(command.arguments, arguments)

    def answer_with(self, name, line):
        """The server answers `name` with the reply line `line` (bytes
        with %d for the id), by hand."""
        def answer(server, command):
            if command.name != name:
                return False
            server.send_raw(line % command.id + b'\r\n')
            return True
        self.server.set_command_func(answer)

    def run_bounded(self, function):
        """function() in a thread, waited for at most HANG seconds: its
        value or exception; a call that hangs fails the test."""
        outcome = []

        def run():
            try:
                outcome.append((function(), None))
            except BaseException as e:
                outcome.append((None, e))
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(HANG)
        self.assertFalse(thread.is_alive(), 'the call hung')
        return outcome[0]

    def test_until_event_timeout_reply_raises(self):
        # Whatever parsing the reply raises ends execute_until_event with
        # timeout= (it used to wait for ever for a reply it had lost).
        self.answer_with('go', b'{"return": {}, "id": %d}')

        def failing_loads(text):
            raise ValueError('hostile')
        saved = override._loads
        override._loads = failing_loads
        try:
            value, error = self.run_bounded(
                lambda: self.connection.execute_until_event_sync(
                    'go', event_name='NEVER', timeout=HANG * 3))
            self.assertIsInstance(error, ValueError)

            async def coroutine():
                return await asyncio.wait_for(
                    self.connection.execute_until_event('go', event_name='NEVER',
                                                        timeout=HANG * 3), HANG)
            with self.assertRaisesRegex(ValueError, 'hostile'):
                asyncio.run(coroutine())
        finally:
            override._loads = saved
            self.server.set_command_func(None)

    def assertProtocolError(self, error, message):
        self.assertIsInstance(error, GLib.Error)
        self.assertTrue(error.matches(Qmp.error_quark(), Qmp.Error.PROTOCOL), error)
        self.assertIn(message, error.message)

    def test_return_beyond_python(self):
        # A clear GLib.Error, not RecursionError or ValueError.
        for value, message in ((DEEP, TOO_DEEP), (LONG, TOO_LONG)):
            self.answer_with('odd', b'{"return": ' + value + b', "id": %d}')
            with self.assertRaises(GLib.Error) as caught:
                self.connection.execute_sync('odd')
            self.assertProtocolError(caught.exception, message)

            value, error = self.run_bounded(
                lambda: self.connection.execute_until_event_sync(
                    'odd', event_name='NEVER', timeout=HANG * 3))
            self.assertProtocolError(error, message)

            async def coroutine():
                return await asyncio.wait_for(self.connection.execute('odd'), HANG)
            with self.assertRaises(GLib.Error) as caught:
                asyncio.run(coroutine())
            self.assertProtocolError(caught.exception, message)
        self.server.set_command_func(None)
        # The connection goes on.
        self.server.set_reply('fine', {'ok': 1})
        self.assertEqual(self.connection.execute_sync('fine'), {'ok': 1})

    def test_event_data_beyond_python(self):
        queue = Qmp.EventQueue.new(self.connection, 'ODD')
        for value, message in ((DEEP, TOO_DEEP), (LONG, TOO_LONG)):
            self.server.send_raw(b'{"event": "ODD", "data": {"v": ' + value + b'}, '
                                 b'"timestamp": {"seconds": 1, "microseconds": 2}}\r\n')
            event = queue.pop_sync(timeout=HANG)
            self.assertEqual(event.name, 'ODD')
            for get in (lambda: event.data, event.get_data):
                with self.assertRaises(GLib.Error) as caught:
                    get()
                self.assertProtocolError(caught.exception, message)
            # repr() does not raise: it shows the text
            self.assertTrue(repr(event).startswith("<Qmp.Event ODD data='{\"v\": "), repr(event))

    def test_until_event_doubles(self):
        # The return and then the event, for each way to call it.
        def answer(server, command):
            if command.name != 'go':
                return False
            server.send_raw(b'{"return": %s, "id": %d}\r\n' % (ODD_DOUBLES, command.id))
            server.send_raw(b'{"event": "DONE", "data": {"d": 1e41}, '
                            b'"timestamp": {"seconds": 1, "microseconds": 2}}\r\n')
            return True
        self.server.set_command_func(answer)

        event, ret = self.connection.execute_until_event_sync('go', event_name='DONE')
        self.assertEqual(ret, ODD_DOUBLES_PYTHON)
        self.assertEqual(event.data, {'d': 1e41})

        loop = GLib.MainLoop()
        got = []

        def on_done(connection, result):
            try:
                got.append(connection.execute_until_event_finish(result))
            except Exception as e:
                got.append(e)
            loop.quit()
        self.connection.execute_until_event_async('go', event_name='DONE', callback=on_done)
        source = GLib.timeout_add_seconds(HANG, loop.quit)
        loop.run()
        GLib.source_remove(source)
        self.assertEqual(len(got), 1, 'the call hung')
        self.assertIsInstance(got[0], tuple, got[0])
        self.assertEqual(got[0][1], ODD_DOUBLES_PYTHON)

        async def coroutine():
            return await asyncio.wait_for(
                self.connection.execute_until_event('go', event_name='DONE'), HANG)
        event, ret = asyncio.run(coroutine())
        self.assertEqual(ret, ODD_DOUBLES_PYTHON)
        self.server.set_command_func(None)

    def test_fds_doubles(self):
        self.answer_with('go', b'{"return": ' + ODD_DOUBLES + b', "id": %d}')
        read_end, write_end = os.pipe()
        try:
            fds = Gio.UnixFDList.new_from_array([os.dup(read_end)])
            self.assertEqual(self.connection.execute_with_fds_sync('go', None, fds),
                             ODD_DOUBLES_PYTHON)
            self.assertEqual(self.connection.execute_with_fdset_sync(1, 'go'),
                             ODD_DOUBLES_PYTHON)
        finally:
            os.close(read_end)
            os.close(write_end)
        self.answer_with('query-fdsets',
                         b'{"return": [{"fdset-id": 1, "fds": [{"fd": 30, "opaque": "x"}], '
                         b'"x": 1e41}], "id": %d}')
        self.assertEqual(self.connection.query_fdsets_sync(),
                         [{'fdset-id': 1, 'fds': [{'fd': 30, 'opaque': 'x'}], 'x': 1e41}])
        self.server.set_command_func(None)


if __name__ == '__main__':
    unittest.main(verbosity=2)
