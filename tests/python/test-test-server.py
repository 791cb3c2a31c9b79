#!/usr/bin/python3
# test-test-server.py: Qmp.TestServer from Python's unittest, as a
# project that drives QEMU would test its code without QEMU, with the
# library's PyGObject override (dicts in, dicts out; this file is also the
# Python example of docs/testing.md)
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import time
import unittest

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import Gio, GLib, Qmp  # noqa: E402


# The code under test: it pauses a VM unless it is paused already.
def pause(connection):
    status = connection.execute_sync('query-status')
    if status['status'] == 'paused':
        return False
    connection.execute_sync('stop')
    return True


class TestServerTests(unittest.TestCase):

    def setUp(self):
        self.server = Qmp.TestServer.new()
        self.connection = self.server.new_connection_sync()

    def tearDown(self):
        if not self.connection.is_closed():
            self.connection.close_sync()
        self.server = None

    def test_canned_replies(self):
        self.server.set_reply('query-status', {'status': 'running', 'running': True})
        self.server.set_reply('stop')

        self.assertTrue(pause(self.connection))

        names = [c.name for c in self.server.get_commands()]
        self.assertEqual(names, ['qmp_capabilities', 'query-status', 'stop'])

    def test_paused_already(self):
        self.server.set_reply('query-status', {'status': 'paused', 'running': False})

        self.assertFalse(pause(self.connection))
        # stop was never sent
        self.assertNotIn('stop', [c.name for c in self.server.get_commands()])

    def test_error(self):
        self.server.set_error('query-status', 'GenericError', 'Not now')
        with self.assertRaises(GLib.Error) as caught:
            pause(self.connection)
        self.assertTrue(caught.exception.matches(Qmp.error_quark(), Qmp.Error.GENERIC_ERROR))
        self.assertEqual(caught.exception.message, 'Not now')

    def test_handler(self):
        loop = GLib.MainLoop()
        seen = []

        def on_command(server, command):
            seen.append((command.name, command.arguments))
            if command.name != 'echo':
                return False          # CommandNotFound
            server.emit_event('ECHOED')
            command.reply(command.arguments)
            return True

        def on_done(connection, result):
            self.result = connection.execute_finish(result)
            loop.quit()

        self.server.connect('command', on_command)
        events = []
        self.connection.connect('event', lambda c, e: events.append(e.get_name()))
        self.connection.execute_async('echo', {'a': [1, 2]}, callback=on_done)
        loop.run()

        self.assertEqual(self.result, {'a': [1, 2]})
        self.assertEqual(seen, [('echo', {'a': [1, 2]})])
        self.assertEqual(events, ['ECHOED'])

        # A command the handler declines.  Not with execute_sync: the
        # handler runs in this thread's main context, which a _sync call
        # would keep from running.
        def on_declined(connection, result):
            try:
                connection.execute_finish(result)
            except GLib.Error as error:
                self.error = error
            loop.quit()

        self.connection.execute_async('nope', callback=on_declined)
        loop.run()
        self.assertTrue(self.error.matches(Qmp.error_quark(), Qmp.Error.COMMAND_NOT_FOUND))
        self.assertEqual(seen[1], ('nope', None))

    def test_command_func(self):
        # Runs on the server's own thread: execute_sync can wait for it.
        def answer(server, command):
            if command.name != 'query-balloon':
                return False
            command.reply({'actual': 1 << 30})
            return True

        self.server.set_command_func(answer)
        self.assertEqual(self.connection.execute_sync('query-balloon'), {'actual': 1 << 30})
        with self.assertRaises(GLib.Error):
            self.connection.execute_sync('query-other')
        self.server.set_command_func(None)

    def test_received(self):
        self.server.set_reply('block_resize', None)
        self.connection.execute_sync('block_resize', {'node-name': 'disk0', 'size': 4096})

        command = self.server.next_command_sync()
        self.assertEqual(command.name, 'qmp_capabilities')
        command = self.server.next_command_sync()
        self.assertEqual(command.name, 'block_resize')
        self.assertEqual(command.arguments, {'node-name': 'disk0', 'size': 4096})
        self.assertIsInstance(command.id, int)
        self.assertFalse(command.oob)
        self.assertTrue(command.is_answered())

    def test_event(self):
        loop = GLib.MainLoop()
        events = []

        def on_event(connection, result):
            events.append(connection.wait_event_finish(result))
            loop.quit()

        # Waiting first: an event counts from the call on
        self.connection.wait_event_async('SHUTDOWN', callback=on_event)
        when = GLib.DateTime.new_from_unix_utc(1700000000)
        self.server.emit_event('SHUTDOWN', {'guest': True}, when)
        loop.run()
        event, = events
        self.assertEqual(event.data, {'guest': True})
        self.assertEqual(event.timestamp.to_unix(), 1700000000)

    def test_old_qemu(self):
        self.server.set_version(2, 8, 1)
        self.server.set_package('')
        self.server.set_capabilities()
        old = self.server.new_connection_sync(Qmp.ConnectionFlags.OOB)
        self.assertEqual(old.get_version_minor(), 8)
        self.assertEqual(old.get_capabilities(), [])
        self.assertFalse(old.get_oob_enabled())
        old.close_sync()

    def test_guest_agent(self):
        self.server.set_guest_agent(True)
        self.server.set_reply('guest-ping')
        agent = self.server.new_connection_sync(Qmp.ConnectionFlags.GUEST_AGENT)
        self.assertEqual(agent.get_version_major(), 7)
        agent.execute_sync('guest-ping')
        names = [c.get_name() for c in self.server.get_commands()]
        self.assertIn('guest-sync-delimited', names)
        self.assertEqual(names[-2:], ['guest-info', 'guest-ping'])
        agent.close_sync()

    def test_peer_vanishes(self):
        self.server.set_reply('stop')
        self.server.close_after(5)
        with self.assertRaises(GLib.Error) as caught:
            self.connection.execute_sync('stop')
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                Gio.IOErrorEnum.CONNECTION_CLOSED))

    def test_malformed_line(self):
        self.server.send_raw(b'{"event": [}\r\n')
        with self.assertRaises(GLib.Error) as caught:
            self.connection.wait_event_sync('NEVER')
        self.assertTrue(caught.exception.matches(Qmp.error_quark(), Qmp.Error.PROTOCOL))

    def test_listen(self):
        self.assertTrue(self.server.listen())
        address = self.server.get_address()
        path = address[len('unix:'):]
        self.assertTrue(os.path.exists(path))
        client = Qmp.Connection.new_for_address_sync(address)
        self.assertEqual(self.server.get_n_clients(), 2)
        self.assertEqual(self.server.props.n_clients, 2)
        client.close_sync()
        # notify::n-clients wakes the server's context when the client is gone
        context = GLib.MainContext.default()
        while self.server.props.n_clients != 1:
            context.iteration(True)
        # The server's own connection goes first, so that dropping the
        # server leaves nothing of it in flight on the I/O thread; the
        # directory goes with the server's last reference, which a client
        # that is still being closed may hold for a moment.
        self.connection.close_sync()
        self.server = None
        deadline = GLib.get_monotonic_time() + 10 * GLib.USEC_PER_SEC
        while (os.path.exists(os.path.dirname(path))
               and GLib.get_monotonic_time() < deadline):
            context.iteration(False)
            time.sleep(0.001)
        self.assertFalse(os.path.exists(os.path.dirname(path)))


if __name__ == '__main__':
    unittest.main(verbosity=2)
