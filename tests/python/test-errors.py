#!/usr/bin/python3
# test-errors.py: per-call timeouts, the QMP class of errors and the
# docstrings of the override, against a real qemu-system-x86_64
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
OVERRIDES = os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python'))
sys.path.insert(0, OVERRIDES)
sys.path.insert(0, HERE)

import gi  # noqa: E402
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Gio, Qmp  # noqa: E402

from qmptest import Qemu, check, check_equal, raw_qmp, run_tap  # noqa: E402

SENTINEL = {'qom-type': 'memory-backend-ram', 'id': 'sentinel', 'size': 1048576}


def check_timed_out(error, *words):
    check(isinstance(error, GLib.Error), 'not a GLib.Error: %r' % (error,))
    check(error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT),
          'not G_IO_ERROR_TIMED_OUT: %s %d %s' % (error.domain, error.code, error.message))
    for word in words:
        check(word in error.message, '%r not in the message %r' % (word, error.message))
    check(error.qmp_class is None, 'a timeout has a QMP class')


def expect_error(function):
    try:
        value = function()
    except GLib.Error as e:
        return e
    raise AssertionError('no error, it returned %r' % (value,))


class StoppedQemu:
    """A QEMU with a second monitor (check_path) whose process is stopped
    with SIGSTOP while the block runs, and eight commands of conn in
    flight: the next command of conn waits in the library's queue."""

    def __init__(self):
        self.qemu = Qemu()
        self.check_path = os.path.join(self.qemu.tmpdir, 'check.sock')
        self.qemu.argv += ['-qmp', 'unix:%s,server=on,wait=off' % self.check_path]
        self.in_flight = []

    def __enter__(self):
        self.qemu.__enter__()
        try:
            self.conn = Qmp.Connection.new_for_address_sync(self.qemu.address)
            self.conn.set_timeout(60000)
            os.kill(self.qemu.process.pid, signal.SIGSTOP)
            # Written in the order of the calls, before what comes next.
            for _ in range(8):
                self.conn.execute_async('query-status', callback=self._on_status)
        except BaseException:
            self.qemu.kill()
            raise
        return self

    def _on_status(self, conn, result):
        self.in_flight.append(conn.execute_finish(result))

    def resume(self):
        os.kill(self.qemu.process.pid, signal.SIGCONT)
        context = GLib.MainContext.default()
        while len(self.in_flight) < 8:
            context.iteration(True)

    def __exit__(self, *exc):
        os.kill(self.qemu.process.pid, signal.SIGCONT)
        self.qemu.__exit__(*exc)
        return False


# ------------------------------------------------------------- timeouts

def test_execute_timeout_reply():
    with StoppedQemu() as stopped:
        error = expect_error(lambda: stopped.conn.execute_sync('object-add', SENTINEL,
                                                               timeout=0.2))
        check_timed_out(error, 'reply', '“object-add”', '200 ms')
        stopped.resume()
        check_equal([s['status'] for s in stopped.in_flight], ['running'] * 8, 'in flight')
        # Timed out in the queue: never sent, and the connection goes on.
        check_equal(stopped.conn.execute_sync('query-memdev'), [], 'memory backends')
        check_equal(raw_qmp(stopped.check_path, 'query-memdev'), [], 'memory backends')
        check_equal(stopped.conn.execute_sync('object-add', SENTINEL, timeout=30), {},
                    'object-add after')
        check_equal([m['id'] for m in raw_qmp(stopped.check_path, 'query-memdev')],
                    ['sentinel'], 'memory backends after')


def test_timeout_zero_never_sent():
    with Qemu() as qemu:
        conn = Qmp.Connection.new_for_address_sync(qemu.address)
        error = expect_error(lambda: conn.execute_sync('object-add', SENTINEL, timeout=0))
        check_timed_out(error, '“object-add”')
        error = expect_error(lambda: conn.execute_until_event_sync(
            'object-add', SENTINEL, 'NEVER', timeout=0))
        check_timed_out(error, 'reply to “object-add”')
        check_equal(conn.execute_sync('query-memdev'), [], 'memory backends')


def test_wait_event_timeout():
    error = expect_error(lambda: conn.wait_event_sync('NEVER', {'a': 1}, timeout=0.1))
    check_timed_out(error, 'event “NEVER”')
    error = expect_error(lambda: conn.wait_event_sync(timeout=0.1))
    check_timed_out(error, 'an event')
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status after')


def test_until_event_timeout_names_the_event():
    # The case: "cont" on a running VM gets its reply, and RESUME
    # never comes.
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status')
    error = expect_error(lambda: conn.execute_until_event_sync('cont', None, 'RESUME',
                                                               timeout=2))
    check_timed_out(error, 'event “RESUME” after the reply to “cont”')
    # In time, it works, with the return and the event.
    event, ret = conn.execute_until_event_sync('stop', None, 'STOP', timeout=30)
    check_equal((event.name, ret), ('STOP', {}), 'stop')
    event, ret = conn.execute_until_event_sync('cont', None, 'RESUME', timeout=30)
    check_equal((event.name, ret), ('RESUME', {}), 'cont')


def test_until_event_timeout_names_the_reply():
    with StoppedQemu() as stopped:
        error = expect_error(lambda: stopped.conn.execute_until_event_sync(
            'stop', None, 'STOP', timeout=0.2))
        check_timed_out(error, 'reply to “stop”')
        stopped.resume()
        check_equal(stopped.conn.execute_sync('query-status')['status'], 'running',
                    'the stop that timed out was sent')


def test_until_event_error_return():
    # An error return finishes it at once, timeout or not.
    for timeout in (None, 30):
        error = expect_error(lambda: conn.execute_until_event_sync(
            'no-such-command', None, 'NEVER', timeout=timeout))
        check_equal(error.qmp_class, 'CommandNotFound', 'class')


def test_timeout_with_cancellable():
    # The caller's cancellable still cancels (CANCELLED, not TIMED_OUT),
    # and a cancelled one stops it before it starts.
    cancellable = Gio.Cancellable()
    timer = threading.Timer(0.1, cancellable.cancel)
    timer.start()
    try:
        error = expect_error(lambda: conn.wait_event_sync('NEVER', cancellable=cancellable,
                                                          timeout=30))
    finally:
        timer.join()
    check(error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          'not cancelled: %s' % error.message)
    error = expect_error(lambda: conn.execute_until_event_sync(
        'query-status', None, 'NEVER', cancellable=cancellable, timeout=30))
    check(error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          'not cancelled: %s' % error.message)


def test_timeout_in_thread():
    results = []

    def worker():
        try:
            conn.wait_event_sync('NEVER', timeout=0.1)
        except GLib.Error as e:
            results.append(e)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    check_timed_out(results[0], 'NEVER')


def test_bad_timeouts():
    for bad in (-1, float('nan')):
        try:
            conn.execute_sync('query-status', timeout=bad)
        except ValueError:
            pass
        else:
            raise AssertionError('timeout=%r accepted' % (bad,))
    try:
        conn.execute_sync('query-status', timeout='soon')
    except ValueError:
        pass
    else:
        raise AssertionError('a str timeout accepted')


def test_event_queue_sync():
    with Qemu() as qemu:
        c = Qmp.Connection.new_for_address_sync(qemu.address)
        c.set_timeout(60000)
        queue = Qmp.EventQueue.new(c, 'JOB_STATUS_CHANGE', {'id': 'q0', 'status': 'concluded'})
        every = Qmp.EventQueue.new(c, capacity=3)
        check(isinstance(queue, Qmp.EventQueue), 'no queue')
        error = expect_error(lambda: queue.pop_sync(timeout=0.1))
        check_timed_out(error, 'an event')
        job = {'job-id': 'q0', 'options': {'driver': 'file', 'size': 1048576,
                                           'filename': os.path.join(qemu.tmpdir, 'q.img')}}
        c.execute_sync('blockdev-create', job)
        event = queue.pop_sync(timeout=30)
        check_equal(event.data, {'id': 'q0', 'status': 'concluded'}, 'event')
        c.execute_sync('job-dismiss', {'id': 'q0'})
        c.execute_sync('stop')
        c.close_sync()
        # The last three of every event, then the end.
        names = [e.name for e in every]
        check_equal(names[-1], 'STOP', 'last event')
        check_equal(len(names), 3, 'kept')
        check(every.get_dropped() > 0, 'nothing dropped')
        check_equal(list(queue), [], 'the rest of the job queue')


# --------------------------------------------------------------- errors

def test_qmp_class():
    cases = [
        (lambda: conn.execute_sync('no-such-command'), 'CommandNotFound',
         Qmp.Error.COMMAND_NOT_FOUND),
        (lambda: conn.execute_sync('qom-get', {'path': '/nope', 'property': 'x'}),
         'DeviceNotFound', Qmp.Error.DEVICE_NOT_FOUND),
        (lambda: conn.execute_sync('query-balloon'), 'DeviceNotActive',
         Qmp.Error.DEVICE_NOT_ACTIVE),
        (lambda: conn.execute_sync('device_add', {'driver': 'usb-kbd', 'id': 'k'}),
         'GenericError', Qmp.Error.GENERIC_ERROR),
    ]
    for call, qmp_class, code in cases:
        error = expect_error(call)
        check(error.matches(Qmp.error_quark(), code), 'code of %s: %d' % (qmp_class, error.code))
        check_equal(error.qmp_class, qmp_class, 'qmp_class')
        check_equal(Qmp.error_qmp_class(error), qmp_class, 'Qmp.error_qmp_class()')
    # Not a server's error: no class.
    error = GLib.Error.new_literal(Qmp.error_quark(), 'bad line', int(Qmp.Error.PROTOCOL))
    check(error.qmp_class is None, 'a protocol error has a class')
    error = GLib.Error.new_literal(Gio.io_error_quark(), 'closed', int(Gio.IOErrorEnum.CLOSED))
    check(error.qmp_class is None, 'an I/O error has a class')


def test_qmp_class_in_async_callback():
    loop = GLib.MainLoop()
    got = []

    def on_done(source, result):
        try:
            source.execute_finish(result)
        except GLib.Error as e:
            got.append(e)
        loop.quit()

    conn.execute_async('query-balloon', callback=on_done)
    loop.run()
    check_equal(got[0].qmp_class, 'DeviceNotActive', 'qmp_class')


# ----------------------------- bugs the C library had, seen from Python

def test_c_precancelled_not_sent():
    # qmp_connection_execute_sync () with a cancellable cancelled before the
    # call failed with G_IO_ERROR_CANCELLED but still wrote the command.
    from gi.module import get_introspection_module
    from gi.repository import Json
    raw = get_introspection_module('Qmp')
    with Qemu() as qemu:
        c = Qmp.Connection.new_for_address_sync(qemu.address)
        cancellable = Gio.Cancellable()
        cancellable.cancel()
        arguments = Json.from_string(
            '{"qom-type": "memory-backend-ram", "id": "sentinel", "size": 1048576}').get_object()
        try:
            raw.Connection.execute_sync(c, 'object-add', arguments, Qmp.ExecuteFlags.NONE,
                                        cancellable)
        except GLib.Error:
            pass
        check_equal(c.execute_sync('query-memdev'), [], 'memory backends')


def test_c_detailless_handler():
    # connection_on_event () asked g_signal_has_handler_pending () with the
    # event's detail only, which does not see handlers connected to "event"
    # without one: once the STOP quark existed, such a handler missed STOP.
    conn.disconnect(conn.connect('event::STOP', lambda c, e: None))
    seen = []
    handler = conn.connect('event', lambda c, e: seen.append(e.name))
    try:
        conn.execute_until_event_sync('stop', event_name='STOP')
        conn.execute_until_event_sync('cont', event_name='RESUME')
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass
    finally:
        conn.disconnect(handler)
    check_equal(seen, ['STOP', 'RESUME'], 'events seen by a handler of "event"')


# ----------------------------------------------------------- docstrings

def test_docstrings():
    names = []
    for cls in (Qmp.Connection, Qmp.Process, Qmp.Event, Qmp.EventStream, Qmp.EventQueue,
                Qmp.RunStateTracker):
        for name, member in vars(cls).items():
            if name.startswith('_') or name in ('name', 'data', 'timestamp'):
                continue
            function = getattr(member, '__func__', member)
            if not callable(function):
                continue
            names.append('%s.%s' % (cls.__name__, name))
            doc = function.__doc__ or ''
            check(name + '(' in doc, '%s.%s: no signature in %r' % (cls.__name__, name, doc))
            check('::\n\n' in doc,
                  '%s.%s: no example in %r' % (cls.__name__, name, doc))
    # The typed commands are among them, and the coroutines.
    for name in ('Connection.stop_sync', 'Connection.query_status_sync',
                 'Connection.execute', 'Connection.events', 'Process.shutdown_sync',
                 'Process.launch', 'Connection.new_for_address', 'EventQueue.pop_sync',
                 'EventQueue.get', 'RunStateTracker.new_sync'):
        check(name in names, '%s is not overridden' % name)
    check('Ctrl-C' in Qmp.Connection.device_del_sync.__doc__, 'device_del_sync doc')


TESTS = [
    ('execute_sync timeout: the reply, never sent', test_execute_timeout_reply),
    ('timeout=0 is over before it is sent', test_timeout_zero_never_sent),
    ('wait_event_sync timeout names the event', test_wait_event_timeout),
    ('execute_until_event_sync timeout: the event after the reply',
     test_until_event_timeout_names_the_event),
    ('execute_until_event_sync timeout: the reply', test_until_event_timeout_names_the_reply),
    ('execute_until_event_sync error return', test_until_event_error_return),
    ('timeout and a cancellable', test_timeout_with_cancellable),
    ('timeout in a worker thread', test_timeout_in_thread),
    ('bad timeouts are refused', test_bad_timeouts),
    ('Qmp.EventQueue: iteration, timeout, the end', test_event_queue_sync),
    ('GLib.Error.qmp_class', test_qmp_class),
    ('qmp_class of an _async call', test_qmp_class_in_async_callback),
    ('every override has a docstring with an example', test_docstrings),
    ('C: a command cancelled before the call is not sent', test_c_precancelled_not_sent),
    ('C: a handler of "event" without a detail sees every event', test_c_detailless_handler),
]

if __name__ == '__main__':
    with Qemu() as qemu:
        conn = Qmp.Connection.new_for_address_sync(qemu.address)
        conn.set_timeout(60000)
        run_tap(TESTS)
