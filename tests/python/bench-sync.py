#!/usr/bin/python3
# bench-sync.py: what the override adds to a serial execute_sync, against
# a real qemu-system-x86_64 (a benchmark, not a test: meson test --benchmark)
#
#   bench-sync.py [CALLS [ROUNDS]]
#
# Other arguments (those of `meson test --benchmark --test-args`, meant
# for qmp-bench) are ignored.
#
# Measures serial query-status round trips through
#   - the introspected C call without the override (Json in and out),
#   - the override from a worker thread (no Ctrl-C handling),
#   - the override from the main thread (Ctrl-C handling),
#   - the override with timeout= (a timer per call),
#   - the asyncio coroutine, serially,
# interleaved over ROUNDS rounds, and prints the median of each in µs per
# call and its ratio to the plain C call, and the CPU time that this
# process spent per call (all its threads; less noisy on a loaded machine).
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python')))
sys.path.insert(0, HERE)

import gi  # noqa: E402
gi.require_version('Qmp', '1.0')
from gi.repository import Qmp  # noqa: E402
from gi.module import get_introspection_module  # noqa: E402

from qmptest import Qemu  # noqa: E402

RawQmp = get_introspection_module('Qmp')


def counts(args):
    """CALLS and ROUNDS from the command line.  `meson test --benchmark
    --test-args ...` gives every benchmark the arguments meant for
    qmp-bench: anything but one or two counts is set aside, with a note."""
    if len(args) <= 2 and all(arg.isdigit() and int(arg) > 0 for arg in args):
        values = [int(arg) for arg in args]
        return tuple((values + [2000, 7][len(values):])[:2])
    print('bench-sync.py: ignoring arguments that are not its counts: %s'
          % ' '.join(args), file=sys.stderr)
    return 2000, 7


CALLS, ROUNDS = counts(sys.argv[1:])


def raw(conn):
    for _ in range(CALLS):
        RawQmp.Connection.execute_sync(conn, 'query-status', None,
                                       Qmp.ExecuteFlags.NONE, None)


def override_main(conn):
    for _ in range(CALLS):
        conn.execute_sync('query-status')


def override_thread(conn):
    thread = threading.Thread(target=override_main, args=(conn,))
    thread.start()
    thread.join()


def override_timeout(conn):
    for _ in range(CALLS):
        conn.execute_sync('query-status', timeout=30)


def asyncio_execute(conn):
    async def serial():
        for _ in range(CALLS):
            await conn.execute('query-status')
    asyncio.run(serial())


def main():
    ways = [('C call through gi, no override', raw),
            ('override, worker thread', override_thread),
            ('override, main thread (Ctrl-C)', override_main),
            ('override, main thread, timeout=', override_timeout),
            ('await conn.execute() (asyncio)', asyncio_execute)]
    times = {name: [] for name, _ in ways}
    cpu = {name: [] for name, _ in ways}
    with Qemu() as qemu:
        conn = Qmp.Connection.new_for_address_sync(qemu.address)
        override_main(conn)         # warm up
        for _ in range(ROUNDS):
            for name, function in ways:
                started = time.perf_counter()
                started_cpu = time.process_time()
                function(conn)
                times[name].append((time.perf_counter() - started) / CALLS * 1e6)
                cpu[name].append((time.process_time() - started_cpu) / CALLS * 1e6)
        conn.close_sync()
    base = statistics.median(times[ways[0][0]])
    base_cpu = statistics.median(cpu[ways[0][0]])
    print('%d serial query-status calls, median of %d rounds; os.getloadavg() %.1f'
          % (CALLS, ROUNDS, os.getloadavg()[0]))
    print('%-34s %16s %26s' % ('', 'wall time/call', 'CPU time/call (this process)'))
    for name, _ in ways:
        median = statistics.median(times[name])
        median_cpu = statistics.median(cpu[name])
        print('%-34s %7.1f µs %5.2f×   %7.1f µs (+%.1f µs)'
              % (name, median, median / base, median_cpu, median_cpu - base_cpu))


if __name__ == '__main__':
    main()
