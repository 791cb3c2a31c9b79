#!/usr/bin/python3
# test-subproject.py: qmp-glib as a meson subproject of a small parent
# project, in TAP
#
#   test-subproject.py [--tests-dir TESTS] SOURCE-ROOT
#
# The parent (in a temporary directory, SOURCE-ROOT linked as
# subprojects/qmp-glib) asks for dependency('qmp-glib-1.0', fallback:
# 'qmp-glib') as README.md shows and builds examples/query-status.c with
# it.  qmp-glib must add none of its tests, docs, qmpctl, examples or
# benchmark to the parent, build its introspection data and VAPI when the
# parent asks, and the parent's program must work against a real QEMU.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument('--tests-dir')
parser.add_argument('source_root')
options = parser.parse_args()

source_root = os.path.abspath(options.source_root)
tests_dir = options.tests_dir or os.path.join(source_root, 'tests')
sys.path.insert(0, os.path.join(tests_dir, 'python'))

from qmptest import check, check_equal, run_tap  # noqa: E402

CLEARED = ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'PYTHONPATH',
           'PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR', 'XDG_DATA_DIRS',
           'MESON_DEVENV', 'MESON_PROJECT_NAME')

PARENT_MESON_BUILD = '''\
project('parent', 'c', meson_version: '>= 1.0')

qmp_glib_dep = dependency('qmp-glib-1.0', version: '>= 1.0', fallback: 'qmp-glib')

query_status = executable('query-status', 'query-status.c',
  dependencies: qmp_glib_dep)
test('parent-test', query_status, args: ['unix:/nonexistent'], should_fail: true)
'''

# Targets of the subproject that only a parent's request may bring
UNWANTED = ('qmpctl', 'query-status', 'qmp-bench', 'docs', 'test-', '.gir',
            '.typelib', '.vapi')

tmp = tempfile.mkdtemp(prefix='qmp-subproject-')
parent = os.path.join(tmp, 'parent')
build = os.path.join(parent, '_build')
env = {k: v for k, v in os.environ.items() if k not in CLEARED}
env['LC_ALL'] = 'C.UTF-8'
state = {}


def run_checked(args, what, quiet=True):
    process = subprocess.run(args, env=env, cwd=parent, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=180)
    if process.returncode != 0 or not quiet:
        for line in process.stdout.splitlines()[-40:]:
            print('# ' + line)
    check_equal(process.returncode, 0, 'exit status of %s' % what)
    return process.stdout


def subproject_targets():
    targets = json.loads(run_checked(['meson', 'introspect', '--targets', build],
                                     'meson introspect'))
    return sorted(t['name'] for t in targets if t['subproject'] == 'qmp-glib')


def test_build():
    os.makedirs(os.path.join(parent, 'subprojects'))
    os.symlink(source_root, os.path.join(parent, 'subprojects', 'qmp-glib'))
    with open(os.path.join(parent, 'meson.build'), 'w') as f:
        f.write(PARENT_MESON_BUILD)
    shutil.copy(os.path.join(source_root, 'examples', 'query-status.c'), parent)
    run_checked(['meson', 'setup', build, '--buildtype=debug'], 'meson setup')
    run_checked(['ninja', '-C', build], 'ninja')
    state['built'] = True


def test_no_tests():
    check(state.get('built'), 'not built')
    listed = run_checked(['meson', 'test', '-C', build, '--list', '--no-rebuild'],
                         'meson test --list').split()
    check_equal(listed, ['parent-test'], 'the tests of the parent')


def test_library_only():
    check(state.get('built'), 'not built')
    targets = subproject_targets()
    print('# qmp-glib targets: ' + ', '.join(targets))
    check('qmp-glib-1.0' in targets, 'the library is not built')
    unwanted = [t for t in targets if any(u in t for u in UNWANTED)]
    check_equal(unwanted, [], 'targets the parent did not ask for')


def test_runs():
    check(state.get('built'), 'not built')
    runner = os.path.join(tests_dir, 'python', 'run-example.py')
    process = subprocess.run(['/usr/bin/python3', runner, os.path.join(build, 'query-status')],
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    for line in process.stdout.splitlines():
        print('#   ' + line)
    check_equal(process.returncode, 0, 'exit status of the example runner')


def test_asked_for():
    check(state.get('built'), 'not built')
    run_checked(['meson', 'configure', build, '-Dqmp-glib:introspection=enabled',
                 '-Dqmp-glib:vapi=enabled'], 'meson configure')
    run_checked(['ninja', '-C', build], 'ninja')
    targets = subproject_targets()
    print('# qmp-glib targets: ' + ', '.join(targets))
    for wanted in ('Qmp-1.0.gir', 'Qmp-1.0.typelib', 'qmp-glib-1.0.vapi'):
        check(any(t.startswith(wanted) for t in targets), '%s is not built' % wanted)
    listed = run_checked(['meson', 'test', '-C', build, '--list', '--no-rebuild'],
                         'meson test --list').split()
    check_equal(listed, ['parent-test'], 'the tests of the parent')


try:
    run_tap([
        ('a parent project builds with qmp-glib as a subproject', test_build),
        ('the parent\'s meson test has none of qmp-glib\'s tests', test_no_tests),
        ('only the library is built (no qmpctl, docs, examples, bench, GIR)', test_library_only),
        ('the parent\'s program works against QEMU', test_runs),
        ('introspection and the VAPI are built when the parent asks', test_asked_for),
    ])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
