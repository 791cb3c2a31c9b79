#!/usr/bin/python3
# test-devenv.py: the Python and GJS examples run through `meson devenv`
# of this build tree, with nothing else set, find the build tree's typelib
# and library and the source tree's override, in TAP
#
#   test-devenv.py SOURCE-ROOT BUILD-ROOT
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys

source_root, build_root = (os.path.realpath(p) for p in sys.argv[1:3])
sys.path.insert(0, os.path.join(source_root, 'tests', 'python'))

from qmptest import check, check_equal, run_tap  # noqa: E402

CLEARED = ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'PYTHONPATH',
           'PKG_CONFIG_PATH', 'XDG_DATA_DIRS', 'MESON_DEVENV', 'MESON_PROJECT_NAME')
env = {k: v for k, v in os.environ.items() if k not in CLEARED}
env['LC_ALL'] = 'C.UTF-8'
env['PYTHONDONTWRITEBYTECODE'] = '1'

PYTHON_ORIGIN = '''
import gi
gi.require_version('Qmp', '1.0')
from gi.repository import Qmp
import gi.overrides.Qmp
print(gi.Repository.get_default().get_typelib_path('Qmp'))
print(gi.overrides.Qmp.__file__)
print([l.split()[-1] for l in open('/proc/self/maps') if 'libqmp-glib' in l][0])
'''


def devenv(command):
    process = subprocess.run(['meson', 'devenv', '-C', build_root] + command, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    for line in process.stdout.splitlines():
        print('#   ' + line)
    return process


def test_python_origin():
    process = devenv(['/usr/bin/python3', '-c', PYTHON_ORIGIN])
    check_equal(process.returncode, 0, 'exit status of python3')
    typelib, override, library = process.stdout.split()
    check(os.path.realpath(typelib).startswith(build_root + os.sep), 'typelib %s' % typelib)
    check_equal(os.path.realpath(override),
                os.path.join(source_root, 'bindings', 'python', 'gi', 'overrides', 'Qmp.py'),
                'the override')
    check(os.path.realpath(library).startswith(build_root + os.sep), 'library %s' % library)


def run_example(command):
    runner = os.path.join(source_root, 'tests', 'python', 'run-example.py')
    process = devenv(['/usr/bin/python3', runner] + command)
    check_equal(process.returncode, 0, 'exit status of the example runner')


run_tap([
    ('python3 in meson devenv loads the build tree\'s files', test_python_origin),
    ('the Python example in meson devenv',
     lambda: run_example(['/usr/bin/python3',
                          os.path.join(source_root, 'examples', 'query-status.py')])),
    ('the JavaScript example in meson devenv',
     lambda: run_example(['gjs', '-m', os.path.join(source_root, 'examples', 'query-status.js')])),
])
