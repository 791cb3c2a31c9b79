#!/usr/bin/python3
# test-install.py: installs qmp-glib into a temporary prefix and builds and
# runs the examples of examples/ in C, Vala, Python and JavaScript against
# the installed files only, with what README.md says to set for a prefix
# of one's own, and a real QEMU, in TAP
#
#   test-install.py [--readme README.md] [--tests-dir TESTS]
#                   [--this-build BUILD-ROOT] SOURCE-ROOT
#
# With --this-build, BUILD-ROOT (configured for /usr/local or /usr) is
# also installed with --destdir, and its override must land where
# /usr/bin/python3 imports from.  SOURCE-ROOT is configured in a build directory of the test's own with
# --prefix=TMP/prefix and installed there; README.md and the example
# runner (TESTS/python/run-example.py) default to SOURCE-ROOT's.  Nothing
# of the environment that meson test gives (GI_TYPELIB_PATH,
# LD_LIBRARY_PATH, PYTHONPATH…) reaches the programs, and each checks that
# it loaded the library, typelib and override of the prefix.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# What a program could find the build tree or another qmp-glib through
CLEARED = ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'PYTHONPATH',
           'PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR', 'XDG_DATA_DIRS', 'GJS_PATH',
           'MESON_DEVENV', 'MESON_PROJECT_NAME')

# The README's block for a prefix of one's own follows this marker.
README_MARKER = '<!-- tests/install/test-install.py runs this block'

parser = argparse.ArgumentParser()
parser.add_argument('--readme')
parser.add_argument('--tests-dir')
parser.add_argument('--this-build')
parser.add_argument('source_root')
options = parser.parse_args()

source_root = os.path.abspath(options.source_root)
readme = options.readme or os.path.join(source_root, 'README.md')
tests_dir = options.tests_dir or os.path.join(source_root, 'tests')
sys.path.insert(0, os.path.join(tests_dir, 'python'))

from qmptest import Qemu, check, check_equal, run_tap  # noqa: E402

options_build = options.this_build
tmp = tempfile.mkdtemp(prefix='qmp-install-')
prefix = os.path.join(tmp, 'prefix')
build = os.path.join(tmp, 'build')
work = os.path.join(tmp, 'work')
os.mkdir(work)

clean_env = {k: v for k, v in os.environ.items() if k not in CLEARED}
clean_env['LC_ALL'] = 'C.UTF-8'
clean_env['PYTHONDONTWRITEBYTECODE'] = '1'
state = {}


def run(args, env=None, cwd=None, timeout=120):
    process = subprocess.run(args, env=env or clean_env, cwd=cwd or work,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True,
                             timeout=timeout)
    return process


def run_checked(args, what, env=None, quiet=False):
    process = run(args, env=env)
    if process.returncode != 0 or not quiet:
        for line in process.stdout.splitlines()[-40:]:
            print('# ' + line)
    check_equal(process.returncode, 0, 'exit status of %s' % what)
    return process.stdout


def readme_environment():
    """The environment after the README's block for a prefix of one's
    own, run by bash with our prefix."""
    with open(readme) as f:
        text = f.read()
    start = text.find(README_MARKER)
    check(start >= 0, 'README.md has no block for a prefix of one\'s own')
    block = re.search(r'```sh\n(.*?)```', text[start:], re.S)
    check(block, 'no ```sh block after the marker in README.md')
    lines = block.group(1).splitlines()
    check(lines and lines[0].startswith('prefix='),
          'the block does not start with prefix=: %r' % lines[:1])
    script = 'prefix=%s\n%s\nenv -0\n' % (prefix, '\n'.join(lines[1:]))
    for line in lines[1:]:
        print('# README: ' + line)
    output = subprocess.run(['bash', '-e', '-c', script], env=clean_env,
                            stdout=subprocess.PIPE, check=True).stdout
    env = dict(item.split(b'=', 1) for item in output.split(b'\0') if b'=' in item)
    return {k.decode(): v.decode() for k, v in env.items()}


def test_install():
    # The parts the examples need are required, so that a missing tool
    # fails here instead of leaving a part out.
    run_checked(['meson', 'setup', build, source_root, '--prefix=' + prefix,
                 '--buildtype=debug', '-Dtests=false', '-Ddocs=disabled',
                 '-Dintrospection=enabled', '-Dvapi=enabled'],
                'meson setup', quiet=True)
    run_checked(['meson', 'install', '-C', build, '--quiet'], 'meson install',
                quiet=True)
    options = json.loads(run_checked(['meson', 'introspect', '--buildoptions', build],
                                     'meson introspect', quiet=True))
    state['libdir'] = next(o['value'] for o in options if o['name'] == 'libdir')
    for root, dirs, files in os.walk(prefix):
        for name in sorted(files):
            print('# installed: ' + os.path.relpath(os.path.join(root, name), prefix))
    state['env'] = readme_environment()


def installed(*parts):
    return os.path.join(prefix, *parts)


def test_layout():
    libdir = state['libdir']
    for path in [(libdir, 'pkgconfig', 'qmp-glib-1.0.pc'),
                 (libdir, 'libqmp-glib-1.0.so.0'),
                 (libdir, 'girepository-1.0', 'Qmp-1.0.typelib'),
                 ('share', 'vala', 'vapi', 'qmp-glib-1.0.vapi')]:
        check(os.path.exists(installed(*path)), '%s is not installed' % os.path.join(*path))
    overrides = [os.path.relpath(root, prefix) for root, dirs, files in os.walk(prefix)
                 if 'Qmp.py' in files]
    check_equal(len(overrides), 1, 'number of installed overrides (%r)' % overrides)
    # Where the README's PYTHONPATH points, python imports it from.
    site = os.path.dirname(os.path.dirname(installed(overrides[0])))
    pythonpath = [os.path.normpath(p) for p in state['env'].get('PYTHONPATH', '').split(':') if p]
    check(site in pythonpath, 'the override is in %s, not under the README\'s PYTHONPATH %r'
          % (overrides[0], pythonpath))


def run_example(command, what):
    """The example against a QEMU of its own, by the runner of the
    examples suite, in the README's environment."""
    runner = os.path.join(tests_dir, 'python', 'run-example.py')
    process = run(['/usr/bin/python3', runner] + command, env=state['env'])
    for line in process.stdout.splitlines():
        print('#   ' + line)
    check_equal(process.returncode, 0, 'exit status of the %s example\'s runner' % what)
    check('not ok' not in process.stdout, 'the %s example failed' % what)


def copy_example(name):
    path = os.path.join(work, name)
    shutil.copy(os.path.join(source_root, 'examples', name), path)
    return path


def check_loaded_from_prefix(paths, what):
    for path in paths:
        check(os.path.realpath(path).startswith(os.path.realpath(prefix) + os.sep),
              '%s loaded %s, not the one of the prefix' % (what, path))


def test_c():
    source = copy_example('query-status.c')
    program = os.path.join(work, 'query-status-c')
    run_checked(['bash', '-e', '-c',
                 'cc -o %s %s $(pkg-config --cflags --libs qmp-glib-1.0)' % (program, source)],
                'cc', env=state['env'])
    ldd = run_checked(['ldd', program], 'ldd', env=state['env'], quiet=True)
    libraries = re.findall(r'libqmp-glib\S* => (\S+)', ldd)
    check(libraries, 'the C example is not linked with qmp-glib: %s' % ldd)
    check_loaded_from_prefix(libraries, 'the C example')
    run_example([program], 'C')


def test_vala():
    source = copy_example('query-status.vala')
    program = os.path.join(work, 'query-status-vala')
    # The valac command of README.md
    run_checked(['valac', '-o', program,
                 '--vapidir', installed('share', 'vala', 'vapi'),
                 '--pkg', 'qmp-glib-1.0', '--pkg', 'json-glib-1.0', source],
                'valac', env=state['env'])
    ldd = run_checked(['ldd', program], 'ldd', env=state['env'], quiet=True)
    check_loaded_from_prefix(re.findall(r'libqmp-glib\S* => (\S+)', ldd), 'the Vala example')
    run_example([program], 'Vala')


def test_vala_api():
    # Built with the README's valac command; the test's directory holds it.
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'vala-api.vala')
    program = os.path.join(work, 'vala-api')
    run_checked(['valac', '-o', program,
                 '--vapidir', installed('share', 'vala', 'vapi'),
                 '--pkg', 'qmp-glib-1.0', '--pkg', 'json-glib-1.0', source],
                'valac', env=state['env'])
    with Qemu() as qemu:
        process = run([program, qemu.address], env=state['env'], timeout=60)
    for line in process.stdout.splitlines():
        print('#   ' + line)
    check_equal(process.returncode, 0, 'exit status')
    check_equal(process.stdout.splitlines(), ['paused not-running', 'running running'],
                'the states it printed')


PYTHON_ORIGIN = '''
import gi
gi.require_version('Qmp', '1.0')
from gi.repository import Qmp
import gi.overrides.Qmp
print(gi.Repository.get_default().get_typelib_path('Qmp'))
print(gi.overrides.Qmp.__file__)
print([l.split()[-1] for l in open('/proc/self/maps') if 'libqmp-glib' in l][0])
'''


def test_python():
    origin = run_checked(['/usr/bin/python3', '-c', PYTHON_ORIGIN], 'python3',
                         env=state['env'], quiet=True).split()
    check_equal(len(origin), 3, 'lines printed by python3 (%r)' % origin)
    check_loaded_from_prefix(origin, 'python3')
    run_example(['/usr/bin/python3', copy_example('query-status.py')], 'Python')


GJS_ORIGIN = '''
imports.gi.versions.Qmp = '1.0';
const Qmp = imports.gi.Qmp;
print(imports.gi.GIRepository.Repository.get_default().get_typelib_path('Qmp'));
'''


def test_gjs():
    origin = run_checked(['gjs', '-c', GJS_ORIGIN], 'gjs', env=state['env'], quiet=True).split()
    check_equal(len(origin), 1, 'lines printed by gjs (%r)' % origin)
    check_loaded_from_prefix(origin, 'gjs')
    run_example(['gjs', '-m', copy_example('query-status.js')], 'JavaScript')


def test_test_server_c():
    # A downstream g_test suite on QmpTestServer, built as README.md says
    source = os.path.join(work, 'test-pause.c')
    shutil.copy(os.path.join(tests_dir, 'downstream', 'test-pause.c'), source)
    program = os.path.join(work, 'test-pause')
    run_checked(['bash', '-e', '-c',
                 'cc -o %s %s $(pkg-config --cflags --libs qmp-glib-1.0)' % (program, source)],
                'cc', env=state['env'])
    ldd = run_checked(['ldd', program], 'ldd', env=state['env'], quiet=True)
    check_loaded_from_prefix(re.findall(r'libqmp-glib\S* => (\S+)', ldd), 'the test program')
    process = run([program], env=state['env'], timeout=60)
    for line in process.stdout.splitlines():
        print('#   ' + line)
    check_equal(process.returncode, 0, 'exit status of the downstream C test')
    check('not ok' not in process.stdout and 'ok 4 ' in process.stdout,
          'the downstream C test did not pass its 4 tests')


def test_test_server_python():
    # The unittest of Qmp.TestServer, with the prefix's typelib and override
    source = os.path.join(work, 'test-test-server.py')
    shutil.copy(os.path.join(tests_dir, 'python', 'test-test-server.py'), source)
    process = run(['/usr/bin/python3', source], env=state['env'], timeout=60)
    for line in process.stdout.splitlines():
        print('#   ' + line)
    check_equal(process.returncode, 0, 'exit status of the Python unittest')


PYTHON_PATH = 'import sys; print("\\n".join(p for p in sys.path if p))'


def test_system_prefix():
    if not options_build:
        return 'SKIP no --this-build'
    options = json.loads(run_checked(['meson', 'introspect', '--buildoptions', options_build],
                                     'meson introspect', quiet=True))
    build_prefix = next(o['value'] for o in options if o['name'] == 'prefix')
    if build_prefix not in ('/usr', '/usr/local'):
        return 'SKIP this build\'s prefix is %s, not /usr or /usr/local' % build_prefix
    destdir = os.path.join(tmp, 'destdir')
    # Without --no-rebuild: `meson test` builds only what the tests need,
    # so a target such as the documentation may not be built yet.
    run_checked(['meson', 'install', '-C', options_build, '--destdir', destdir,
                 '--quiet'], 'meson install --destdir', quiet=True)
    found = [os.path.join(root, 'Qmp.py') for root, dirs, files in os.walk(destdir)
             if 'Qmp.py' in files]
    check_equal(len(found), 1, 'number of installed overrides (%r)' % found)
    site = os.path.dirname(os.path.dirname(os.path.dirname(found[0])))
    site = '/' + os.path.relpath(site, destdir)
    print('# %s installs the override in %s' % (build_prefix, site))
    sys_path = run_checked(['/usr/bin/python3', '-c', PYTHON_PATH], 'python3',
                           quiet=True).split()
    check(site in sys_path, '%s is not on the sys.path of /usr/bin/python3: %r'
          % (site, sys_path))


def needs_install(function):
    def wrapper():
        check('env' in state, 'not installed')
        return function()
    return wrapper


try:
    run_tap([
        ('configure, build and install into a temporary prefix', test_install),
        ('the prefix holds what README.md says', needs_install(test_layout)),
        ('C example: cc and pkg-config', needs_install(test_c)),
        ('Vala example: valac --pkg qmp-glib-1.0', needs_install(test_vala)),
        ('Vala: _async calls without a cancellable, RunState.to_string ()',
         needs_install(test_vala_api)),
        ('Python example: /usr/bin/python3 with the override', needs_install(test_python)),
        ('JavaScript example: gjs', needs_install(test_gjs)),
        ('QmpTestServer from a downstream C test: cc and pkg-config',
         needs_install(test_test_server_c)),
        ('Qmp.TestServer from a Python unittest', needs_install(test_test_server_python)),
        ('this build installs the override where /usr/bin/python3 imports it',
         test_system_prefix),
    ])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
