#!/usr/bin/python3
# test-schema.py: Qmp.Schema from Python, against a real qemu-system-x86_64
#
# Run by meson test, which sets GI_TYPELIB_PATH and LD_LIBRARY_PATH to the
# build tree.  By hand:
#   GI_TYPELIB_PATH=_build/qmp-glib LD_LIBRARY_PATH=_build/qmp-glib \
#     /usr/bin/python3 tests/python/test-schema.py
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OVERRIDES = os.path.normpath(os.path.join(HERE, '..', '..', 'bindings', 'python'))
sys.path.insert(0, OVERRIDES)
sys.path.insert(0, HERE)

import gi  # noqa: E402
gi.require_version('Qmp', '1.0')
gi.require_version('Json', '1.0')
from gi.repository import GLib, Json, Qmp  # noqa: E402

from qmptest import Qemu, check, check_equal, run_tap  # noqa: E402

conn = None
schema = None


def json_object(text):
    return Json.from_string(text).get_object()


def test_get_schema():
    global conn, schema
    conn = Qmp.Connection.new_for_address_sync(qemu.address)
    conn.set_timeout(30000)
    schema = conn.get_schema_sync()
    check(isinstance(schema, Qmp.Schema), 'no schema: %r' % (schema,))
    check(conn.get_schema_sync() is schema, 'a second schema object')


def test_has_command():
    check(conn.get_schema_sync().has_command('blockdev-add'), 'no blockdev-add')
    check(not schema.has_command('x-no-such-command'), 'x-no-such-command')
    check(schema.has_event('SHUTDOWN'), 'no SHUTDOWN')
    commands = schema.list_commands()
    check('query-status' in commands, 'list_commands lacks query-status')
    check_equal(commands, sorted(commands), 'list_commands order')


def test_has_path():
    check(schema.has_path('blockdev-add/arg-type/+file/aio'), 'blockdev-add/arg-type/+file/aio')
    check(schema.has_path('query-status/ret-type/status/^running'), '^running')
    check(not schema.has_path('blockdev-add/arg-type/+file/x-no-such-member'), 'a member that is not')
    aio = schema.get_path_type('blockdev-add/arg-type/+file/aio')
    check_equal(aio.get_kind(), Qmp.SchemaTypeKind.ENUM, 'kind of aio')
    check('threads' in aio.get_enum_values(), 'aio values %r' % (aio.get_enum_values(),))


def test_types():
    arguments = schema.get_command_arguments('blockdev-add')
    check_equal(arguments.get_discriminator(), 'driver', 'discriminator')
    check('file' in arguments.get_variant_names(), 'no file variant')
    file = arguments.get_variant_type('file')
    index = file.find_member('filename')
    check(index >= 0, 'no filename')
    check_equal(file.get_member_type(index).get_name(), 'str', 'type of filename')
    check(not file.get_member_optional(index), 'filename is optional')
    check_equal(file.get_member_type(index).to_string(), 'str', 'to_string')
    check(schema.get_command_arguments('x-no-such-command') is None, 'arguments of nothing')


def test_accepts():
    def accepts(path, text):
        return schema.get_path_type(path).accepts(Json.from_string(text))

    check(accepts('qom-list/arg-type/path', '"/machine"'), 'str refused a string')
    check(not accepts('qom-list/arg-type/path', '123'), 'str took an integer')
    check(accepts('blockdev-add/arg-type/+file/aio', '"x-no-such-mode"'), 'the top level only')
    check(not accepts('blockdev-add/arg-type/+file/aio', 'null'), 'an enum took null')
    check(accepts('migrate-set-parameters/arg-type/tls-creds', 'null'), 'StrOrNull refused null')
    check(not accepts('migrate-set-parameters/arg-type/tls-creds', '5'), 'StrOrNull took 5')
    check(accepts('blockdev-add/arg-type/+raw/file', '{}'), 'BlockdevRef refused an object')
    check(not accepts('blockdev-add/arg-type/+raw/file', '[]'), 'BlockdevRef took an array')
    check(accepts('qom-set/arg-type/value', '[1, "a"]'), 'any refused an array')


def test_validate():
    try:
        schema.validate_arguments('blockdev-add', json_object('{"drvier": "null-co"}'))
    except GLib.Error as e:
        check(e.matches(Qmp.error_quark(), Qmp.Error.INVALID_ARGUMENTS), 'error %r' % (e,))
        check_equal(e.message, 'blockdev-add: unknown member "drvier"', 'message')
    else:
        raise AssertionError('drvier was accepted')
    check(schema.validate_arguments('blockdev-add',
                                    json_object('{"driver": "null-co", "node-name": "p0"}')),
          'valid arguments refused')


def test_execute_validate_flag():
    try:
        conn.execute_sync('blockdev-add', {'driver': 'null-co', 'node-name': 5},
                          Qmp.ExecuteFlags.VALIDATE)
    except GLib.Error as e:
        check(e.matches(Qmp.error_quark(), Qmp.Error.INVALID_ARGUMENTS), 'error %r' % (e,))
        check_equal(e.message, 'blockdev-add: node-name: expected a string, got an integer', 'message')
    else:
        raise AssertionError('node-name 5 was sent')
    conn.props.validate_arguments = True
    check(conn.get_validate_arguments(), 'the property did not stick')
    conn.execute_sync('blockdev-add', {'driver': 'null-co', 'node-name': 'p1'})
    nodes = conn.execute_sync('query-named-block-nodes')
    check_equal([n['node-name'] for n in nodes], ['p1'], 'nodes')


TESTS = [
    ('get_schema_sync, once', test_get_schema),
    ('has_command', test_has_command),
    ('has_path and get_path_type', test_has_path),
    ('types of blockdev-add', test_types),
    ('accepts', test_accepts),
    ('validate_arguments', test_validate),
    ('the validate flag and property', test_execute_validate_flag),
]

if __name__ == '__main__':
    with Qemu() as qemu:
        run_tap(TESTS)
