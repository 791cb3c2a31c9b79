#!/usr/bin/python3
# test-asyncio.py: the override's coroutines under plain asyncio.run(), and
# under a GLib main loop, against a real qemu-system-x86_64
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
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

QEMU_ARGV = ['qemu-system-x86_64', '-M', 'none', '-nodefaults', '-display', 'none']
SENTINEL = {'qom-type': 'memory-backend-ram', 'id': 'sentinel', 'size': 1048576}


def run(coroutine_function):
    """A test that runs coroutine_function(qemu) under asyncio.run(), with a
    QEMU of its own (and a second monitor at qemu.check_path); the
    whole run is bounded so that a lost callback fails instead of hanging."""
    def test():
        qemu = Qemu()
        qemu.check_path = os.path.join(qemu.tmpdir, 'check.sock')
        qemu.argv += ['-qmp', 'unix:%s,server=on,wait=off' % qemu.check_path]
        with qemu:
            async def bounded():
                return await asyncio.wait_for(coroutine_function(qemu), 60)
            return asyncio.run(bounded())
    test.__name__ = coroutine_function.__name__
    return test


async def connect(qemu):
    conn = await Qmp.Connection.new_for_address(qemu.address)
    check(isinstance(conn, Qmp.Connection), 'not a connection: %r' % (conn,))
    conn.set_timeout(60000)
    return conn


@run
async def test_execute(qemu):
    check_equal(GLib.main_depth(), 0, 'main depth')
    conn = await connect(qemu)
    status = await conn.execute('query-status')
    check_equal(status['status'], 'running', 'status')
    check_equal(await conn.execute('qom-get', {'path': '/machine', 'property': 'type'}),
                'none-machine', 'qom-get')
    # Many at once, gathered.
    results = await asyncio.gather(*[conn.execute('query-status') for _ in range(50)])
    check_equal([r['running'] for r in results], [True] * 50, 'gathered')
    try:
        await conn.execute('no-such-command')
    except GLib.Error as e:
        check(e.matches(Qmp.error_quark(), Qmp.Error.COMMAND_NOT_FOUND), 'code')
        check_equal(e.qmp_class, 'CommandNotFound', 'qmp_class')
    else:
        raise AssertionError('no error')
    try:
        await conn.execute('query-status', ['not a dict'])
    except TypeError:
        pass
    else:
        raise AssertionError('a list was accepted as arguments')
    check(await conn.close(), 'close')
    check(conn.is_closed(), 'is_closed')


@run
async def test_execute_until_event(qemu):
    conn = await connect(qemu)
    event, ret = await conn.execute_until_event('stop', event_name='STOP')
    check_equal((event.name, ret), ('STOP', {}), 'stop')
    check_equal((await conn.execute('query-status'))['status'], 'paused', 'status')
    event, ret = await conn.execute_until_event('cont', None, 'RESUME', timeout=30)
    check_equal((event.name, ret), ('RESUME', {}), 'cont')
    job = {'job-id': 'job0', 'options': {'driver': 'file', 'size': 1048576,
                                         'filename': os.path.join(qemu.tmpdir, 'a.img')}}
    event, ret = await conn.execute_until_event(
        'blockdev-create', job, 'JOB_STATUS_CHANGE', {'id': 'job0', 'status': 'concluded'})
    check_equal(event.data, {'id': 'job0', 'status': 'concluded'}, 'event data')
    await conn.execute('job-dismiss', {'id': 'job0'})


@run
async def test_events(qemu):
    conn = await connect(qemu)
    names = []
    async with conn.events(['STOP', 'RESUME']) as events:
        # Between the calls nothing is lost: the stream keeps them.
        await conn.execute('stop')
        await conn.execute('cont')
        await conn.execute('stop')
        await conn.execute('cont')
        async for event in events:
            check(isinstance(event, Qmp.Event), 'not an event: %r' % (event,))
            names.append(event.name)
            if len(names) == 4:
                break
        check_equal(events.dropped, 0, 'dropped')
    check_equal(names, ['STOP', 'RESUME', 'STOP', 'RESUME'], 'events')


@run
async def test_events_match_and_close(qemu):
    conn = await connect(qemu)
    events = conn.events('JOB_STATUS_CHANGE', {'id': 'job1'})
    others = conn.events('JOB_STATUS_CHANGE', {'id': 'other'})
    stops = conn.events(['STOP'])
    job = {'job-id': 'job1', 'options': {'driver': 'file', 'size': 1048576,
                                         'filename': os.path.join(qemu.tmpdir, 'b.img')}}
    await conn.execute_until_event('blockdev-create', job, 'JOB_STATUS_CHANGE',
                                   {'id': 'job1', 'status': 'concluded'})
    await conn.execute('stop')
    await conn.close()
    # Each ends with the connection, after what it kept.
    statuses = [event.data['status'] async for event in events]
    check_equal(statuses[0], 'created', 'first status')
    check_equal(statuses[-1], 'concluded', 'last status')
    check_equal([event async for event in others], [], 'events of another job')
    check_equal([event.name async for event in stops], ['STOP'], 'stops')


@run
async def test_events_of_every_name(qemu):
    conn = await connect(qemu)
    # Once some handler named the STOP detail (its quark exists), a
    # handler of every "event" signal no longer gets STOP (a bug of the C
    # library's); the queue under events() gets it.
    conn.disconnect(conn.connect('event::STOP', lambda c, e: None))
    everything = conn.events()
    await conn.execute('stop')
    await conn.execute('cont')
    await conn.close()
    names = [event.name async for event in everything]
    check_equal(names, ['STOP', 'RESUME'], 'events')


@run
async def test_events_bounded(qemu):
    conn = await connect(qemu)
    async with conn.events(['STOP', 'RESUME'], max_queued=2) as events:
        for _ in range(3):
            await conn.execute_until_event('stop', event_name='STOP')
            await conn.execute_until_event('cont', event_name='RESUME')
        # Six came, two are kept: the newest.
        got = []
        async for event in events:
            got.append(event.name)
            if len(got) == 2:
                break
        check_equal(got, ['STOP', 'RESUME'], 'kept')
        check_equal(events.dropped, 4, 'dropped')


@run
async def test_events_close(qemu):
    # close(), and the end of "async with", end an iteration, also one
    # waiting in another task, and drop the queue.
    conn = await connect(qemu)
    events = conn.events('SUSPEND')
    queue = events.queue
    check(isinstance(queue, Qmp.EventQueue), 'no queue: %r' % (queue,))
    waiting = asyncio.create_task(events.__anext__())
    await conn.execute('query-status')
    events.close()
    try:
        await waiting
    except StopAsyncIteration:
        pass
    else:
        raise AssertionError('the iteration did not end')
    check(events.queue is None, 'the queue is kept')
    check_equal([e async for e in events], [], 'events after close')
    async with conn.events('SUSPEND') as events:
        pass
    check(events.queue is None, 'the queue is kept after async with')
    try:
        conn.events('SUSPEND', max_queued=0)
    except ValueError:
        pass
    else:
        raise AssertionError('max_queued=0 accepted')
    # The connection's close ends a waiting iteration too.
    events = conn.events('SUSPEND')
    waiting = asyncio.create_task(events.__anext__())
    await conn.execute('query-status')
    await conn.close()
    try:
        await waiting
    except StopAsyncIteration:
        pass
    else:
        raise AssertionError('the iteration did not end with the connection')


@run
async def test_event_queue_async(qemu):
    conn = await connect(qemu)
    queue = Qmp.EventQueue.new(conn, ['STOP', 'RESUME'], None, 2)
    for _ in range(2):
        await conn.execute('stop')
        await conn.execute('cont')
    check_equal((await queue.get(timeout=30)).name, 'STOP', 'first kept')
    check_equal(queue.get_dropped(), 2, 'dropped')
    task = asyncio.create_task(queue.get())
    check_equal((await task).name, 'RESUME', 'second kept')
    # A get cancelled with its task takes nothing from the queue.
    task = asyncio.create_task(queue.get())
    await conn.execute('query-status')
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    try:
        await queue.get(timeout=0.1)
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), e.message)
    else:
        raise AssertionError('no timeout')
    await conn.execute('stop')
    check_equal((await queue.get()).name, 'STOP', 'after the cancelled get')
    await conn.execute('cont')
    await conn.close()
    check_equal([e.name async for e in queue], ['RESUME'], 'async for until closed')


@run
async def test_wait_event_and_cancel(qemu):
    conn = await connect(qemu)
    # Armed when wait_event() returns: even a command that goes straight
    # to the C library (a _sync call) right after it counts.
    waiter = asyncio.create_task(conn.wait_event('STOP'))
    conn.execute_sync('stop')
    event = await waiter
    check_equal(event.name, 'STOP', 'event')
    await conn.execute('cont')
    # Or awaited later, with a match.
    resumed = conn.wait_event('RESUME', {'nothing': 'matches'}, timeout=0.5)
    stopped = conn.wait_event('STOP', timeout=30)
    await conn.execute('stop')
    await conn.execute('cont')
    check_equal((await stopped).name, 'STOP', 'stopped')
    try:
        await resumed
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), e.message)
    else:
        raise AssertionError('a RESUME matched {"nothing": "matches"}')

    # A wait that never ends, cancelled with its task.
    task = asyncio.ensure_future(conn.wait_event('NEVER'))
    await conn.execute('query-status')
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError('the task was not cancelled')
    check(task.cancelled(), 'task.cancelled()')
    # And the caller's own cancellable.
    cancellable = Gio.Cancellable()
    task = asyncio.ensure_future(conn.wait_event('NEVER', cancellable=cancellable))
    await conn.execute('query-status')
    cancellable.cancel()
    try:
        await task
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED), e.message)
    else:
        raise AssertionError('no error')
    check_equal((await conn.execute('query-status'))['status'], 'running', 'status after')


@run
async def test_cancel_before_sent(qemu):
    conn = await connect(qemu)
    os.kill(qemu.process.pid, signal.SIGSTOP)
    try:
        in_flight = [asyncio.ensure_future(conn.execute('query-status')) for _ in range(8)]
        queued = asyncio.ensure_future(conn.execute('object-add', SENTINEL))
        timed_out = asyncio.ensure_future(conn.execute('object-add', dict(SENTINEL, id='s2'),
                                                       timeout=0.2))
        await asyncio.sleep(0)
        queued.cancel()
        try:
            await queued
        except asyncio.CancelledError:
            pass
        try:
            await timed_out
        except GLib.Error as e:
            check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), e.message)
            check('reply to “object-add”' in e.message, e.message)
        else:
            raise AssertionError('no timeout')
    finally:
        os.kill(qemu.process.pid, signal.SIGCONT)
    statuses = await asyncio.gather(*in_flight)
    check_equal([s['status'] for s in statuses], ['running'] * 8, 'in flight')
    check_equal(await conn.execute('query-memdev'), [], 'memory backends')
    check_equal(raw_qmp(qemu.check_path, 'query-memdev'), [], 'memory backends (check)')


@run
async def test_timeouts(qemu):
    conn = await connect(qemu)
    try:
        await conn.execute_until_event('cont', None, 'RESUME', timeout=2)
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), e.message)
        check('event “RESUME” after the reply to “cont”' in e.message, e.message)
    else:
        raise AssertionError('no timeout')
    try:
        await conn.wait_event('NEVER', timeout=0.1)
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), e.message)
        check('event “NEVER”' in e.message, e.message)
    else:
        raise AssertionError('no timeout')
    check_equal(await conn.execute('query-status', timeout=30),
                await conn.execute('query-status'), 'in time')


@run
async def test_sync_connection_without_loop(qemu):
    # A connection made by a _sync constructor in this thread, whose
    # context nothing runs: calls and events() work all the same.
    conn = Qmp.Connection.new_for_address_sync(qemu.address)
    check_equal((await conn.execute('query-status'))['status'], 'running', 'status')
    async with conn.events('STOP') as events:
        event, _ = await conn.execute_until_event('stop', event_name='STOP')
        check_equal(event.name, 'STOP', 'event')
        check_equal((await events.__anext__()).name, 'STOP', 'from the stream')
    await conn.execute('cont')
    conn.close_sync()


@run
async def test_process(qemu):
    process = await Qmp.Process.launch(QEMU_ARGV)
    try:
        conn = process.get_connection()
        async with conn.events('STOP') as events:
            await conn.execute('stop')
            async for event in events:
                check_equal(event.name, 'STOP', 'event')
                break
    finally:
        check(await process.shutdown(), 'shutdown')


def test_under_glib_main_loop():
    # The application runs a GLib main loop in its main thread, where it
    # made the connection (so events reach handlers there), and asyncio in
    # another thread.
    with Qemu() as qemu:
        conn = Qmp.Connection.new_for_address_sync(qemu.address)
        conn.set_timeout(60000)
        loop = GLib.MainLoop()
        result = []
        in_main = []
        handler = conn.connect('event::STOP', lambda c, e: in_main.append(
            threading.current_thread() is threading.main_thread()))

        async def script():
            async with conn.events(['STOP', 'RESUME']) as events:
                ret = await conn.execute('stop')
                await conn.execute('cont')
                names = []
                async for event in events:
                    names.append(event.name)
                    if len(names) == 2:
                        break
            return ret, names

        def thread():
            try:
                result.append(asyncio.run(asyncio.wait_for(script(), 60)))
            except BaseException as e:
                result.append(e)
            GLib.idle_add(loop.quit)

        worker = threading.Thread(target=thread)
        # Started once the loop runs (owns the main context).
        GLib.idle_add(worker.start)
        loop.run()
        worker.join()
        conn.disconnect(handler)
        check(isinstance(result[0], tuple), 'the script failed: %r' % (result[0],))
        check_equal(result[0], ({}, ['STOP', 'RESUME']), 'result')
        check_equal(in_main, [True], 'the STOP handler ran in the main thread')


TESTS = [
    ('execute, errors and close under asyncio.run', test_execute),
    ('execute_until_event', test_execute_until_event),
    ('async for over STOP and RESUME', test_events),
    ('events() with a match ends on close', test_events_match_and_close),
    ('events() of every name', test_events_of_every_name),
    ('events() is bounded and counts what it dropped', test_events_bounded),
    ('events() streams close', test_events_close),
    ('Qmp.EventQueue under asyncio', test_event_queue_async),
    ('wait_event, and cancelling its task', test_wait_event_and_cancel),
    ('a cancelled or timed out command is never sent', test_cancel_before_sent),
    ('timeouts name what was missing', test_timeouts),
    ('events() of a connection made by new_for_address_sync',
     test_sync_connection_without_loop),
    ('Process.launch and shutdown', test_process),
    ('asyncio in a thread, a GLib main loop in the main one', test_under_glib_main_loop),
]

if __name__ == '__main__':
    run_tap(TESTS)
