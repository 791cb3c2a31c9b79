#!/usr/bin/python3
# run-example.py: runs one of the query-status examples against a QEMU of
# its own and checks what it printed and did, in TAP
#
#   run-example.py COMMAND [ARGUMENT…]
#
# runs COMMAND [ARGUMENT…] unix:PATH, where PATH is the QMP socket of a
# fresh qemu-system-x86_64, then COMMAND [ARGUMENT…] alone (a usage error).
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qmptest import Qemu, check, check_equal, raw_qmp, run_tap  # noqa: E402

EXPECTED = [
    r'Connected to QEMU \d+\.\d+\.\d+',
    r'Status: running',
    r'STOP at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)',
]

command = sys.argv[1:]
result = {}


def run(args):
    return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def test_run():
    with Qemu() as qemu:
        process = run(command + [qemu.address])
        result['process'] = process
        for line in process.stderr.splitlines():
            print('# stderr: ' + line)
        check_equal(process.returncode, 0, 'exit status')
        # What the example did, seen by a client of our own once it left.
        result['status'] = raw_qmp(qemu.path, 'query-status')['status']


def test_output():
    lines = result['process'].stdout.splitlines()
    check_equal(len(lines), len(EXPECTED), 'number of lines in %r' % lines)
    for line, pattern in zip(lines, EXPECTED):
        check(re.fullmatch(pattern, line), '%r does not match %r' % (line, pattern))


def test_stopped():
    check_equal(result.get('status'), 'paused', 'status of QEMU after the example')


def test_usage():
    process = run(command)
    check_equal(process.returncode, 2, 'exit status without an address')
    check('Usage:' in process.stderr, 'no usage message: %r' % process.stderr)


run_tap([
    ('runs to the end against QEMU', test_run),
    ('prints the version, the status and STOP', test_output),
    ('left QEMU paused', test_stopped),
    ('usage error without an address', test_usage),
])
