#!/usr/bin/python3
# run-example-qom-get.py: runs examples/qom-get against a QEMU of its own
# and checks what it printed, in TAP
#
#   run-example-qom-get.py COMMAND [ARGUMENT…]
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qmptest import Qemu, check, check_equal, run_tap  # noqa: E402

command = sys.argv[1:]


def run(args):
    return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def test_value():
    with Qemu() as qemu:
        process = run(command + [qemu.address, '/machine', 'type'])
        check_equal(process.stderr, '', 'stderr')
        check_equal(process.returncode, 0, 'exit status')
        check_equal(process.stdout, '"none-machine"\n', 'output')


def test_escaped():
    # Quotes and backslashes reach QEMU as they were typed: its error
    # quotes the path back.
    path = '/machine/"it\'s" \\ here'
    with Qemu() as qemu:
        process = run(command + [qemu.address, path, 'type'])
        check_equal(process.returncode, 1, 'exit status')
        check_equal(process.stdout, '', 'output')
        check_equal(process.stderr, "qom-get: Device '%s' not found\n" % path, 'stderr')


def test_usage():
    process = run(command)
    check_equal(process.returncode, 2, 'exit status without arguments')
    check('Usage:' in process.stderr, 'no usage message: %r' % process.stderr)


run_tap([
    ('prints the value of a property', test_value),
    ('passes any path through %s intact', test_escaped),
    ('usage error without arguments', test_usage),
])
