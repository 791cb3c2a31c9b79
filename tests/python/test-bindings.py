#!/usr/bin/python3
# test-bindings.py: qmp-glib from Python, through PyGObject and the
# override in bindings/python, against a real qemu-system-x86_64
#
# Run by meson test, which sets GI_TYPELIB_PATH and LD_LIBRARY_PATH to the
# build tree.  By hand:
#   GI_TYPELIB_PATH=_build/qmp-glib LD_LIBRARY_PATH=_build/qmp-glib \
#     /usr/bin/python3 tests/python/test-bindings.py
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OVERRIDES = os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python'))

# gi.overrides extends its __path__ with every sys.path entry that has a
# gi/overrides directory (pkgutil.extend_path), so the override of the
# source tree is found as long as its directory comes before the import.
sys.path.insert(0, OVERRIDES)
sys.path.insert(0, HERE)

import gi  # noqa: E402
gi.require_version('Qmp', '1.0')
gi.require_version('Json', '1.0')
from gi.repository import GLib, Gio, Json, Qmp  # noqa: E402

from qmptest import QEMU, Qemu, check, check_equal, check_members, run_tap  # noqa: E402

QEMU_ARGV = [QEMU, '-M', 'none', '-nodefaults', '-display', 'none']

# Bounds every call of the shared connection, so that a test that waits
# for an event that never comes fails instead of hanging.
TIMEOUT_MSEC = 30000


def run_loop(loop, seconds=20):
    """Runs loop until it quits; fails if that takes longer than seconds."""
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add_seconds(seconds, on_timeout)
    loop.run()
    if not timed_out:
        GLib.source_remove(source)
    check(not timed_out, 'the main loop timed out after %d s' % seconds)


def check_qmp_error(error, code):
    check(isinstance(error, GLib.Error), 'not a GLib.Error: %r' % error)
    check_equal(error.domain, GLib.quark_to_string(Qmp.error_quark()), 'error domain')
    check_equal(error.domain, 'qmp-error-quark', 'error domain')
    check_equal(error.code, int(code), 'error code')
    check(error.matches(Qmp.error_quark(), code), 'GLib.Error.matches() is false')


def resumed(test):
    """Lets a test that stops the VM leave it running, also on failure, so
    that one failure does not leave the next test waiting for a STOP."""
    def wrapper():
        try:
            return test()
        finally:
            if conn is not None and conn.execute_sync('query-status')['status'] != 'running':
                conn.execute_until_event_sync('cont', event_name='RESUME')
    wrapper.__name__ = test.__name__
    return wrapper


def blockdev_create_args(job_id):
    return {'job-id': job_id,
            'options': {'driver': 'file',
                        'filename': os.path.join(qemu.tmpdir, job_id + '.img'),
                        'size': 1048576}}


# -------------------------------------------------------------- the override

def test_override_loaded():
    import gi.overrides.Qmp as override
    check_equal(os.path.dirname(os.path.abspath(override.__file__)),
                os.path.join(OVERRIDES, 'gi', 'overrides'), 'override directory')
    check_equal(Qmp.Connection.__module__, 'gi.overrides.Qmp', 'Qmp.Connection module')
    check_equal(Qmp.Event.__module__, 'gi.overrides.Qmp', 'Qmp.Event module')


def test_event_data_roundtrip():
    data = {'device': 'vd0', 'path': '/machine/peripheral/vd0',
            'nested': {'list': [1, -2, 3.5, True, False, None, 'é✓'], 'empty': {}},
            'big': 2 ** 62, 'quote': '"\\\n'}
    event = Qmp.Event.new('DEVICE_DELETED', data, None)
    check_equal(event.name, 'DEVICE_DELETED', 'name')
    check_equal(event.data, data, 'data')
    check_equal(event.get_data(), data, 'get_data()')
    check(event.timestamp is None, 'a timestamp came from nowhere')
    check(event.matches('DEVICE_DELETED', {'device': 'vd0'}), 'dict match')
    check(event.matches('DEVICE_DELETED', {'nested': data['nested']}), 'deep match')
    check(not event.matches('DEVICE_DELETED', {'device': 'vd1'}), 'wrong value matched')
    check(not event.matches('STOP', None), 'wrong name matched')
    check(event.matches('DEVICE_DELETED'), 'name only')
    check(Qmp.Event.new('STOP').data is None, 'data of an event without data')


def test_arguments_type_errors():
    # Rejected before anything is sent (no connection needed to tell).
    for bad in ([1, 2], 'text', 3):
        try:
            conn.execute_sync('query-status', bad)
        except TypeError:
            pass
        else:
            raise AssertionError('%r was accepted as arguments' % (bad,))
    try:
        conn.execute_sync('query-status', {'x': float('nan')})
    except ValueError:
        pass
    else:
        raise AssertionError('NaN was accepted')
    try:
        conn.wait_event_sync('STOP', ['not', 'a', 'dict'])
    except TypeError:
        pass
    else:
        raise AssertionError('a list was accepted as event_match')


# ------------------------------------------------- commands, no main loop

def test_connect():
    global conn
    conn = Qmp.Connection.new_for_address_sync(qemu.address)
    check(isinstance(conn, Qmp.Connection), 'no connection')
    conn.set_timeout(TIMEOUT_MSEC)
    version = conn.execute_sync('query-version')
    check_equal(conn.get_version_major(), version['qemu']['major'], 'major version')
    check_equal(conn.props.version_minor, version['qemu']['minor'], 'minor version')
    check_equal(conn.props.version_micro, version['qemu']['micro'], 'micro version')
    check_equal(conn.get_package(), version['package'], 'package')
    check('oob' in conn.get_capabilities(), 'QEMU offers oob')
    check(conn.check_version(2, 0, 0), 'check_version (2, 0, 0)')
    check(not conn.is_closed(), 'closed at once')


def test_execute_sync_returns_python():
    status = conn.execute_sync('query-status')
    check(isinstance(status, dict), 'query-status returned %r' % (status,))
    check_equal(status['status'], 'running', 'status')
    check(status['running'] is True, 'running is not the bool True')
    check_equal(conn.execute_sync('qom-get', {'path': '/machine', 'property': 'type'}),
                'none-machine', 'a string return')
    children = conn.execute_sync('qom-list', {'path': '/machine'})
    check(isinstance(children, list) and all(isinstance(c, dict) for c in children),
          'qom-list returned %r' % (children,))
    check({'name': 'type', 'type': 'string'} in children, 'qom-list lacks "type"')


def test_execute_sync_dict_arguments():
    ret = conn.execute_sync('object-add', {'qom-type': 'memory-backend-ram',
                                           'id': 'mem0', 'size': 1048576})
    check_equal(ret, {}, 'return of object-add')
    size = conn.execute_sync('qom-get', {'path': '/objects/mem0', 'property': 'size'})
    check(type(size) is int, 'size is a %s' % type(size).__name__)
    check_equal(size, 1048576, 'size')
    # The flags and the cancellable still go positionally or by keyword.
    check_equal(conn.execute_sync('object-del', {'id': 'mem0'},
                                  Qmp.ExecuteFlags.NONE, Gio.Cancellable()), {}, 'object-del')
    check_equal(conn.execute_sync('query-status', flags=Qmp.ExecuteFlags.NONE,
                                  cancellable=None)['status'], 'running', 'keywords')


def test_execute_sync_json_arguments():
    # Whoever built a Json.Object keeps that way open.
    obj = Json.from_string('{"path": "/machine", "property": "type"}').get_object()
    check_equal(conn.execute_sync('qom-get', obj), 'none-machine', 'Json.Object arguments')
    node = Json.from_string('{"path": "/machine", "property": "type"}')
    check_equal(conn.execute_sync('qom-get', node), 'none-machine', 'Json.Node arguments')


def test_big_integers():
    # QEMU's uint64 above 2**63, both ways: the override sends and reads
    # JSON text, never a Json.Node (whose integers are gint64).
    for value in (2**63 + 12345, 2**64 - 1):
        check_equal(conn.execute_sync('migrate-set-parameters', {'max-bandwidth': value}), {},
                    'migrate-set-parameters')
        got = conn.execute_sync('query-migrate-parameters')['max-bandwidth']
        check(type(got) is int, 'max-bandwidth is a %s' % type(got).__name__)
        check_equal(got, value, 'max-bandwidth')

    loop = GLib.MainLoop()
    got = []

    def on_done(source, result):
        got.append(source.execute_finish(result))
        loop.quit()

    conn.execute_async('query-migrate-parameters', callback=on_done)
    run_loop(loop)
    check_equal(got[0]['max-bandwidth'], 2**64 - 1, 'max-bandwidth from execute_async')
    conn.execute_sync('migrate-set-parameters', {'max-bandwidth': 2**27})


def test_error_command_not_found():
    try:
        conn.execute_sync('no-such-command')
    except GLib.Error as e:
        check_qmp_error(e, Qmp.Error.COMMAND_NOT_FOUND)
        check('no-such-command' in e.message, 'message: %s' % e.message)
    else:
        raise AssertionError('no error')
    # The connection goes on.
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status after')


def test_error_classes():
    try:
        conn.execute_sync('qom-get', {'path': '/nope', 'property': 'x'})
    except GLib.Error as e:
        check_qmp_error(e, Qmp.Error.DEVICE_NOT_FOUND)
    else:
        raise AssertionError('no error')
    try:
        conn.execute_sync('device_add', {'driver': 'usb-kbd', 'id': 'k'})
    except GLib.Error as e:
        check_qmp_error(e, Qmp.Error.GENERIC_ERROR)
        check('usb' in e.message, 'message: %s' % e.message)
    else:
        raise AssertionError('device_add of a USB device without USB worked')


@resumed
def test_sync_without_main_loop():
    check_equal(GLib.main_depth(), 0, 'main depth')
    event, ret = conn.execute_until_event_sync('stop', event_name='STOP')
    check_equal(ret, {}, 'return of stop')
    check_equal(event.name, 'STOP', 'event name')
    check(event.data is None, 'STOP has data: %r' % (event.data,))
    check_equal(conn.execute_sync('query-status')['status'], 'paused', 'status')
    event, ret = conn.execute_until_event_sync('cont', None, 'RESUME')
    check_equal(event.name, 'RESUME', 'event name')
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status')


def test_execute_until_event_sync_match():
    event, ret = conn.execute_until_event_sync(
        'blockdev-create', blockdev_create_args('job0'),
        event_name='JOB_STATUS_CHANGE',
        event_match={'id': 'job0', 'status': 'concluded'})
    check_equal(ret, {}, 'return')
    check_members(event.data, {'id': 'job0', 'status': 'concluded'}, 'event data')
    check_equal(conn.execute_sync('job-dismiss', {'id': 'job0'}), {}, 'job-dismiss')


@resumed
def test_wait_event_sync_from_thread():
    # The event comes from commands that another thread sends until the
    # wait has returned (however late this thread gets to it);
    # wait_event_sync sees only what comes after it was called.
    done = threading.Event()

    def kick():
        while not done.wait(0.05):
            conn.execute_sync('stop')
            conn.execute_sync('cont')

    kicker = threading.Thread(target=kick)
    kicker.start()
    try:
        event = conn.wait_event_sync('STOP')
    finally:
        done.set()
        kicker.join()
    check_equal(event.name, 'STOP', 'event')


def test_sync_in_worker_thread():
    results = []

    def worker():
        try:
            results.append(conn.execute_sync('query-status'))
            conn.execute_sync('no-such-command')
        except GLib.Error as e:
            results.append(e)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    check(not thread.is_alive(), 'the thread hangs')
    check_equal(results[0]['status'], 'running', 'status from a thread')
    check_qmp_error(results[1], Qmp.Error.COMMAND_NOT_FOUND)


def test_cancel_sync():
    cancellable = Gio.Cancellable()
    timer = threading.Timer(0.2, cancellable.cancel)
    timer.start()
    started = time.monotonic()
    try:
        conn.wait_event_sync('NEVER', cancellable=cancellable)
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
              'not G_IO_ERROR_CANCELLED: %s %d %s' % (e.domain, e.code, e.message))
    else:
        raise AssertionError('wait_event_sync returned')
    finally:
        timer.join()
    check(time.monotonic() - started < 10, 'the cancellation took too long')
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status after')


def test_timeout_sync():
    conn.props.timeout = 200
    try:
        conn.wait_event_sync('NEVER')
    except GLib.Error as e:
        check(e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT),
              'not G_IO_ERROR_TIMED_OUT: %s %d %s' % (e.domain, e.code, e.message))
    else:
        raise AssertionError('wait_event_sync returned')
    finally:
        conn.set_timeout(TIMEOUT_MSEC)
    check_equal(conn.execute_sync('query-status')['status'], 'running', 'status after')


# ------------------------------------------------------------ main loop

@resumed
def test_event_signal():
    loop = GLib.MainLoop()
    seen = []
    wrong = []

    def on_stop(connection, event):
        seen.append((connection, event))
        loop.quit()

    stop_id = conn.connect('event::STOP', on_stop)
    resume_id = conn.connect('event::RESUME', lambda c, e: wrong.append(e))
    before = GLib.DateTime.new_now_utc()
    try:
        conn.execute_async('stop')
        run_loop(loop)
    finally:
        conn.disconnect(stop_id)
        conn.disconnect(resume_id)
    check_equal(len(seen), 1, 'STOP handler calls')
    connection, event = seen[0]
    check(connection == conn, 'the handler got another connection')
    check(isinstance(event, Qmp.Event), 'not a Qmp.Event: %r' % (event,))
    check_equal(event.name, 'STOP', 'name')
    check(event.data is None, 'data: %r' % (event.data,))
    lag = event.timestamp.difference(before) / 1e6
    check(-5 < lag < 60, 'the timestamp is %g s after the call' % lag)
    check_equal(wrong, [], 'a RESUME handler saw STOP')


def test_event_signal_with_data():
    loop = GLib.MainLoop()
    statuses = []

    def on_job(connection, event):
        statuses.append(event.data['status'])
        if event.data['id'] == 'job1' and event.data['status'] == 'concluded':
            loop.quit()

    handler = conn.connect('event::JOB_STATUS_CHANGE', on_job)
    try:
        conn.execute_async('blockdev-create', blockdev_create_args('job1'))
        run_loop(loop)
    finally:
        conn.disconnect(handler)
    check_equal(statuses[0], 'created', 'first status')
    check_equal(statuses[-1], 'concluded', 'last status')
    conn.execute_sync('job-dismiss', {'id': 'job1'})


def test_execute_async_callback():
    loop = GLib.MainLoop()
    got = []

    def on_done(source, result, user_data):
        try:
            got.append((source, source.execute_finish(result), user_data))
        except Exception as e:
            got.append(e)
        loop.quit()

    conn.execute_async('qom-get', {'path': '/machine', 'property': 'type'},
                       callback=on_done, user_data='data')
    run_loop(loop)
    check(isinstance(got[0], tuple), 'the call failed: %r' % (got[0],))
    source, value, user_data = got[0]
    check(source == conn, 'source object')
    check_equal(value, 'none-machine', 'value')
    check_equal(user_data, 'data', 'user data')


def test_execute_async_positional():
    loop = GLib.MainLoop()
    got = []

    def on_done(source, result):
        got.append(source.execute_finish(result))
        loop.quit()

    conn.execute_async('query-status', None, Qmp.ExecuteFlags.NONE, None, on_done)
    run_loop(loop)
    check_equal(got[0]['status'], 'running', 'status')


def test_execute_async_error():
    loop = GLib.MainLoop()
    got = []

    def on_done(source, result):
        try:
            got.append(source.execute_finish(result))
        except GLib.Error as e:
            got.append(e)
        loop.quit()

    conn.execute_async('no-such-command', callback=on_done)
    run_loop(loop)
    check_qmp_error(got[0], Qmp.Error.COMMAND_NOT_FOUND)


def test_execute_until_event_async():
    loop = GLib.MainLoop()
    got = []

    def on_done(source, result):
        try:
            got.append(source.execute_until_event_finish(result))
        except GLib.Error as e:
            got.append(e)
        loop.quit()

    conn.execute_until_event_async('blockdev-create', blockdev_create_args('job2'),
                                   event_name='JOB_STATUS_CHANGE',
                                   event_match={'id': 'job2', 'status': 'concluded'},
                                   callback=on_done)
    run_loop(loop)
    check(isinstance(got[0], tuple), 'the call failed: %r' % (got[0],))
    event, ret = got[0]
    check_equal(ret, {}, 'return')
    check_members(event.data, {'id': 'job2', 'status': 'concluded'}, 'event data')
    conn.execute_sync('job-dismiss', {'id': 'job2'})


def test_wait_event_async():
    loop = GLib.MainLoop()
    got = []

    def on_event(source, result):
        try:
            got.append(source.wait_event_finish(result))
        except GLib.Error as e:
            got.append(e)
        loop.quit()

    # Armed when called, so the events of the command after it count.
    conn.wait_event_async('JOB_STATUS_CHANGE', {'id': 'job3', 'status': 'concluded'},
                          callback=on_event)
    conn.execute_async('blockdev-create', blockdev_create_args('job3'))
    run_loop(loop)
    check(isinstance(got[0], Qmp.Event), 'the wait failed: %r' % (got[0],))
    check_members(got[0].data, {'id': 'job3', 'status': 'concluded'}, 'event data')
    conn.execute_sync('job-dismiss', {'id': 'job3'})


def test_cancel_async():
    loop = GLib.MainLoop()
    got = []
    cancellable = Gio.Cancellable()

    def on_event(source, result):
        try:
            got.append(source.wait_event_finish(result))
        except GLib.Error as e:
            got.append(e)
        loop.quit()

    conn.wait_event_async('NEVER', cancellable=cancellable, callback=on_event)
    GLib.timeout_add(100, cancellable.cancel)
    run_loop(loop)
    check(isinstance(got[0], GLib.Error)
          and got[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          'not cancelled: %r' % (got[0],))


@resumed
def test_typed_commands():
    check(conn.stop_sync(), 'stop_sync')
    state, running = conn.query_status_sync()
    check_equal(state, Qmp.RunState.PAUSED, 'run state')
    check(running is False, 'running')
    check(conn.cont_sync(None), 'cont_sync')
    state, running = conn.query_status_sync()
    check_equal(state, Qmp.RunState.RUNNING, 'run state')


def test_new_for_address_async():
    # A second client needs a QEMU of its own: QEMU serves one at a time.
    with Qemu() as other:
        loop = GLib.MainLoop()
        got = []

        def on_connected(source, result, user_data):
            try:
                got.append((Qmp.Connection.new_for_address_finish(result), user_data))
            except GLib.Error as e:
                got.append(e)
            loop.quit()

        Qmp.Connection.new_for_address_async(other.address, callback=on_connected,
                                             user_data='data')
        run_loop(loop)
        check(isinstance(got[0], tuple), 'the connection failed: %r' % (got[0],))
        c, user_data = got[0]
        check_equal(user_data, 'data', 'user data')
        check_equal(c.execute_sync('query-status')['status'], 'running', 'status')
        c.close_sync()


def test_closed_signal():
    # A QEMU of its own, told to quit: the peer goes away.
    with Qemu() as other:
        c = Qmp.Connection.new_for_address_sync(other.address)
        loop = GLib.MainLoop()
        closed = []

        def on_closed(connection, remote_peer_vanished, error):
            closed.append((remote_peer_vanished, error))
            loop.quit()

        c.connect('closed', on_closed)
        c.execute_async('quit')
        run_loop(loop)
        check_equal(len(closed), 1, 'closed emissions')
        check(closed[0][0] is True, 'remote_peer_vanished is not True')
        check(c.is_closed(), 'is_closed()')
        try:
            c.execute_sync('query-status')
        except GLib.Error as e:
            check_equal(e.domain, GLib.quark_to_string(Gio.io_error_quark()), 'domain')
        else:
            raise AssertionError('a command ran on a closed connection')


def test_process_new_sync_events():
    # qmp_process_new_sync () builds the connection while a private main
    # context is the thread-default one; the connection's signals must still
    # reach the caller's main loop.
    process = Qmp.Process.new_sync(QEMU_ARGV)
    try:
        c = process.get_connection()
        loop = GLib.MainLoop()
        seen = []
        c.connect('event::STOP', lambda connection, event: (seen.append(event), loop.quit()))
        c.execute_async('stop')
        run_loop(loop, 5)
        check_equal([e.name for e in seen], ['STOP'], 'events')
    finally:
        process.shutdown_sync()


def test_process_new_async_events():
    loop = GLib.MainLoop()
    made = []

    def on_made(source, result):
        try:
            made.append(Qmp.Process.new_finish(result))
        except GLib.Error as e:
            made.append(e)
        loop.quit()

    Qmp.Process.new_async(QEMU_ARGV, callback=on_made)
    run_loop(loop, 60)
    process = made[0]
    check(isinstance(process, Qmp.Process), 'no process: %r' % (process,))
    try:
        c = process.get_connection()
        seen = []
        c.connect('event::STOP', lambda connection, event: (seen.append(event), loop.quit()))
        check_equal(c.execute_sync('stop'), {}, 'stop')
        run_loop(loop)
        check_equal([e.name for e in seen], ['STOP'], 'events')
    finally:
        check(process.shutdown_sync(), 'shutdown_sync')


def test_raw_api_without_override():
    # Without the override, the introspected API takes and returns Json.
    code = r'''
import sys
import gi
gi.require_version("Json", "1.0")
gi.require_version("Qmp", "1.0")
from gi.repository import Json, Qmp
if Qmp.Connection.__module__ != "gi.repository.Qmp":
    print("SKIP an installed override was loaded")
    sys.exit(0)
c = Qmp.Connection.new_for_address_sync(sys.argv[1], Qmp.ConnectionFlags.NONE, None)
args = Json.from_string('{"path": "/machine", "property": "type"}').get_object()
node = c.execute_sync("qom-get", args, Qmp.ExecuteFlags.NONE, None)
assert isinstance(node, Json.Node), node
assert node.get_string() == "none-machine", node.get_string()
status = c.execute_sync("query-status", None, Qmp.ExecuteFlags.NONE, None)
assert status.get_object().get_string_member("status") == "running"
print("raw ok")
'''
    env = dict(os.environ)
    env['PYTHONPATH'] = ''
    # A QEMU of its own: QEMU serves one client at a time on a socket.
    with Qemu() as other:
        out = subprocess.run([sys.executable, '-c', code, other.address], env=env,
                             stdout=subprocess.PIPE, timeout=60, check=True,
                             universal_newlines=True).stdout.strip()
    if out.startswith('SKIP'):
        return out
    check_equal(out, 'raw ok', 'output')


TESTS = [
    ('the override comes from the source tree', test_override_loaded),
    ('Event.data round-trips Python values', test_event_data_roundtrip),
    ('connect with new_for_address_sync', test_connect),
    ('arguments that are not a dict are refused', test_arguments_type_errors),
    ('execute_sync returns Python values', test_execute_sync_returns_python),
    ('execute_sync takes a dict', test_execute_sync_dict_arguments),
    ('execute_sync still takes Json', test_execute_sync_json_arguments),
    ('integers above 2**63 go and come back exact', test_big_integers),
    ('CommandNotFound is Qmp.Error.COMMAND_NOT_FOUND', test_error_command_not_found),
    ('DeviceNotFound and GenericError', test_error_classes),
    ('_sync calls with no main loop', test_sync_without_main_loop),
    ('execute_until_event_sync with a dict match', test_execute_until_event_sync_match),
    ('wait_event_sync with the command from a thread', test_wait_event_sync_from_thread),
    ('_sync calls from a worker thread', test_sync_in_worker_thread),
    ('a cancelled wait_event_sync', test_cancel_sync),
    ('the timeout property bounds a _sync call', test_timeout_sync),
    ('event::STOP in a GLib.MainLoop', test_event_signal),
    ('event::JOB_STATUS_CHANGE data as dicts', test_event_signal_with_data),
    ('execute_async with a callback and user data', test_execute_async_callback),
    ('execute_async with positional arguments', test_execute_async_positional),
    ('execute_async error in the callback', test_execute_async_error),
    ('execute_until_event_async with a dict match', test_execute_until_event_async),
    ('wait_event_async with a dict match', test_wait_event_async),
    ('a cancelled wait_event_async', test_cancel_async),
    ('typed commands', test_typed_commands),
    ('new_for_address_async with keyword arguments', test_new_for_address_async),
    ('closed when QEMU quits', test_closed_signal),
    ('events on the connection of Qmp.Process.new_async', test_process_new_async_events),
    ('events on the connection of Qmp.Process.new_sync', test_process_new_sync_events),
    ('the raw Json API without the override', test_raw_api_without_override),
]

if __name__ == '__main__':
    conn = None
    with Qemu() as qemu:
        run_tap(TESTS)
