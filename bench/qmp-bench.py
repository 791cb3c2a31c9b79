#!/usr/bin/python3
# qmp-bench.py: the Python rows of the benchmark, for qmp-glib's PyGObject
# override and for QEMU's own Python client, qemu.qmp, against a
# qmp-bench-mock that already runs:
#
#   qmp-bench.py --socket PATH --scenario serial|schema --count N --reps R
#                --client qmp-glib|qemu.qmp
#
#   serial  N execute_sync ("query-status") in a loop, no main loop: µs/op
#   schema  N execute_sync ("query-qmp-schema"), the ~210 KB reply fully
#           converted to Python objects (lists, dicts…): ms per call
#           (dropping the result is not timed, as in qmp-bench's row 5)
#
# After a warm-up it runs R repetitions and prints one JSON line:
#   {"client": "...", "scenario": "...", "unit": "us/op" or "ms", "values": [...]}
# one value a repetition.  Exit status 77 when the client is not available:
# qmp-glib needs gi, the Qmp typelib and the override of bindings/python
# (GI_TYPELIB_PATH, LD_LIBRARY_PATH and PYTHONPATH as tests/python/meson.build
# sets them); qemu.qmp is looked for in QMP_BENCH_QEMU_QMP (or --qemu-qmp),
# a directory holding qemu/qmp (build-aux/fetch-qemu-qmp.sh makes _qemu-qmp),
# then on sys.path.
#
# qemu.qmp is used the way its documentation says: its asyncio QMPClient
# (`await client.execute(...)` in one event loop), or with --qemu-qmp-api
# legacy, the blocking QEMUMonitorProtocol (`qmp.cmd(...)`), which runs
# that event loop for each call.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import gc
import json
import os
import sys
import time

SKIP = 77

COMMANDS = {
    'serial': ('query-status', 'us/op', 1e6),
    'schema': ('query-qmp-schema', 'ms', 1e3),
}


def check_result(scenario, result):
    """Fails the run on a reply of the wrong shape (the mock's, not a
    stand-in)."""
    if scenario == 'serial':
        ok = isinstance(result, dict) and 'status' in result
    else:
        ok = isinstance(result, list) and len(result) >= 1000 and isinstance(result[0], dict)
    if not ok:
        raise SystemExit('qmp-bench.py: %s returned something unexpected: %.200r'
                         % (COMMANDS[scenario][0], result))


def timed_loop(call, scenario, count):
    """count calls of call(); returns the seconds they took, the time to
    drop a schema reply left out."""
    clock = time.perf_counter
    if scenario == 'serial':
        started = clock()
        for _ in range(count):
            call()
        return clock() - started
    total = 0.0
    for _ in range(count):
        started = clock()
        result = call()
        total += clock() - started
        del result
    return total


# -------------------------------------------------------------- qmp-glib

def qmp_glib_client(path):
    try:
        import gi
        gi.require_version('Qmp', '1.0')
        from gi.repository import Qmp
    except (ImportError, ValueError) as error:
        print('qmp-bench.py: qmp-glib from Python is not available: %s' % error,
              file=sys.stderr)
        sys.exit(SKIP)
    if not hasattr(Qmp.Connection, 'execute') or Qmp.Connection.__module__ != 'gi.overrides.Qmp':
        print('qmp-bench.py: the Qmp override of bindings/python is not on PYTHONPATH',
              file=sys.stderr)
        sys.exit(SKIP)
    print('# qmp-glib: override %s, typelib %s'
          % (sys.modules['gi.overrides.Qmp'].__file__,
             gi.Repository.get_default().get_typelib_path('Qmp')), file=sys.stderr)

    conn = Qmp.Connection.new_for_address_sync('unix:' + path)

    def run(scenario, count):
        command = COMMANDS[scenario][0]
        return timed_loop(lambda: conn.execute_sync(command), scenario, count)

    def once(scenario):
        return conn.execute_sync(COMMANDS[scenario][0])

    return run, once, conn.close_sync


# -------------------------------------------------------------- qemu.qmp

def import_qemu_qmp(directory):
    if directory:
        sys.path.insert(0, os.path.abspath(directory))
    try:
        import qemu.qmp
        import qemu.qmp.legacy          # both APIs must be there
    except ImportError as error:
        print('qmp-bench.py: qemu.qmp is not available (%s); build-aux/fetch-qemu-qmp.sh '
              'fetches it into _qemu-qmp, then set QMP_BENCH_QEMU_QMP=_qemu-qmp' % error,
              file=sys.stderr)
        sys.exit(SKIP)
    version = ''
    if directory and os.path.exists(os.path.join(directory, 'VERSION')):
        with open(os.path.join(directory, 'VERSION')) as f:
            version = ' (QEMU %s)' % f.read().strip()
    print('# qemu.qmp: %s%s' % (os.path.dirname(qemu.qmp.__file__), version), file=sys.stderr)
    end_messages_with_newline(qemu.qmp.QMPClient)
    return qemu.qmp


def end_messages_with_newline(client_class):
    """qemu.qmp writes each message as bare JSON, which QEMU's streaming
    parser takes, while qmp-bench-mock answers complete lines: one '\\n'
    after each message, in the same write (the only change to qemu.qmp;
    QEMU itself would ignore it as white space)."""
    def _do_send(self, msg):
        assert self._writer is not None
        self._writer.write(bytes(msg) + b'\n')

    _do_send.__doc__ = client_class._do_send.__doc__
    client_class._do_send = _do_send


def qemu_qmp_async_client(qmp, path):
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = qmp.QMPClient('qmp-bench')
    loop.run_until_complete(client.connect(path))

    async def serial(command, count):
        clock = time.perf_counter
        started = clock()
        for _ in range(count):
            await client.execute(command)
        return clock() - started

    async def schema(command, count):
        clock = time.perf_counter
        total = 0.0
        for _ in range(count):
            started = clock()
            result = await client.execute(command)
            total += clock() - started
            del result
        return total

    def run(scenario, count):
        loop_body = serial if scenario == 'serial' else schema
        return loop.run_until_complete(loop_body(COMMANDS[scenario][0], count))

    def once(scenario):
        return loop.run_until_complete(client.execute(COMMANDS[scenario][0]))

    def close():
        loop.run_until_complete(client.disconnect())
        loop.close()

    return run, once, close


def qemu_qmp_legacy_client(qmp, path):
    from qemu.qmp.legacy import QEMUMonitorProtocol

    monitor = QEMUMonitorProtocol(path)
    monitor.connect()

    def run(scenario, count):
        command = COMMANDS[scenario][0]
        return timed_loop(lambda: monitor.cmd(command), scenario, count)

    def once(scenario):
        return monitor.cmd(COMMANDS[scenario][0])

    return run, once, monitor.close


# ------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser(
        description='The Python rows of the benchmark, against a running qmp-bench-mock.')
    parser.add_argument('--socket', required=True, help='the mock server\'s socket')
    parser.add_argument('--scenario', required=True, choices=sorted(COMMANDS))
    parser.add_argument('--count', type=int, required=True, help='calls a repetition')
    parser.add_argument('--reps', type=int, required=True, help='repetitions')
    parser.add_argument('--client', required=True, choices=['qmp-glib', 'qemu.qmp'])
    parser.add_argument('--warmup', type=int, default=None,
                        help='calls before the repetitions (default: count / 5, at least 2)')
    parser.add_argument('--qemu-qmp', default=os.environ.get('QMP_BENCH_QEMU_QMP'),
                        metavar='DIR', help='where qemu/qmp is (default: $QMP_BENCH_QEMU_QMP)')
    parser.add_argument('--qemu-qmp-api', choices=['asyncio', 'legacy'], default='asyncio',
                        help='qemu.qmp\'s QMPClient under asyncio (default), or its '
                             'blocking legacy QEMUMonitorProtocol')
    args = parser.parse_args()
    if args.count < 1 or args.reps < 1:
        parser.error('--count and --reps must be at least 1')

    if args.client == 'qmp-glib':
        run, once, close = qmp_glib_client(args.socket)
        client = 'qmp-glib'
    else:
        qmp = import_qemu_qmp(args.qemu_qmp)
        if args.qemu_qmp_api == 'asyncio':
            run, once, close = qemu_qmp_async_client(qmp, args.socket)
        else:
            run, once, close = qemu_qmp_legacy_client(qmp, args.socket)
        client = 'qemu.qmp'

    _, unit, scale = COMMANDS[args.scenario]
    check_result(args.scenario, once(args.scenario))
    warmup = args.warmup if args.warmup is not None else max(2, args.count // 5)
    run(args.scenario, warmup)

    values = []
    for _ in range(args.reps):
        # A collection in the middle of one repetition and not of another
        # is noise: start each from a clean slate (the collector stays on,
        # as in a real script).
        gc.collect()
        seconds = run(args.scenario, args.count)
        values.append(round(seconds / args.count * scale, 3 if unit == 'ms' else 2))
    close()

    line = {'client': client, 'scenario': args.scenario, 'unit': unit, 'values': values}
    if client == 'qemu.qmp':
        line['api'] = args.qemu_qmp_api
    print(json.dumps(line), flush=True)


if __name__ == '__main__':
    main()
