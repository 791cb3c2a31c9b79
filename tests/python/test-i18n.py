#!/usr/bin/python3
# test-i18n.py: the library's messages reach the user translated, through
# the catalogs built from po/ (French and German), in TAP
#
# meson test sets QMP_TEST_LOCALEDIR to the build tree's po/ (which holds
# LANG/LC_MESSAGES/qmp-glib-1.0.mo) and GI_TYPELIB_PATH/LD_LIBRARY_PATH to
# the build tree's library.  Each language runs in a child process, since
# the locale is per process.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gettext
import json
import os
import subprocess
import sys

DOMAIN = 'qmp-glib-1.0'
LOCALEDIR = os.environ.get('QMP_TEST_LOCALEDIR', '')

# What the child does: provokes each message, prints them as JSON.
CHILD = r'''
import json, locale, socket, sys
locale.setlocale(locale.LC_ALL, '')
import gi
gi.require_version('Qmp', '1.0')
from gi.repository import Gio, GLib, Qmp

def message(function):
    try:
        function()
    except GLib.Error as e:
        return e.message
    return None

def connection_over(lines):
    server, client = socket.socketpair()
    server.sendall(lines)
    stream = Gio.Socket.new_from_fd(client.detach()).connection_factory_create_connection()
    try:
        return message(lambda: Qmp.Connection.new_sync(stream, Qmp.ConnectionFlags.NONE, None))
    finally:
        server.close()

# The library binds its domain to its install directory when its first
# connection class is made; bind it to the build tree after that.
message(lambda: Qmp.Connection.new_for_address_sync('tcp:nohost', Qmp.ConnectionFlags.NONE, None))
if sys.argv[1]:
    locale.bindtextdomain('qmp-glib-1.0', sys.argv[1])

greeting = (b'{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, '
            b'"package": ""}, "capabilities": []}}\r\n')
print(json.dumps({
    'address': message(lambda: Qmp.Connection.new_for_address_sync(
        'tcp:nohost', Qmp.ConnectionFlags.NONE, None)),
    'connect': message(lambda: Qmp.Connection.new_for_address_sync(
        'unix:/nonexistent/qmp.sock', Qmp.ConnectionFlags.NONE, None)),
    'greeting': connection_over(b'{"hello": 1}\r\n'),
    'no-id': connection_over(greeting + b'{"return": {}}\r\n'),
}))
'''

# key: (msgid, arguments, whole message or prefix)
CASES = {
    'address': ('Invalid address “%s”: expected tcp:HOST:PORT', ('tcp:nohost',), True),
    'connect': ('Could not connect to “%s”: ', ('unix:/nonexistent/qmp.sock',), False),
    'greeting': ('The server did not start with a QMP greeting', (), True),
    'no-id': ('The server sent a reply without an id', (), True),
}


def messages(language):
    env = dict(os.environ)
    env['LC_ALL'] = 'C.UTF-8'
    if language:
        env['LANGUAGE'] = language
    else:
        env.pop('LANGUAGE', None)
    out = subprocess.run([sys.executable, '-c', CHILD, LOCALEDIR], env=env, timeout=60,
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def main():
    languages = [None, 'fr', 'de']
    print('1..%d' % (len(languages) * len(CASES)))
    number = 0
    failed = 0
    for language in languages:
        got = messages(language)
        catalog = (gettext.translation(DOMAIN, LOCALEDIR, languages=[language])
                   if language else gettext.NullTranslations())
        for key, (msgid, args, whole) in CASES.items():
            number += 1
            expected = catalog.gettext(msgid)
            if args:
                expected = expected % args
            message = got[key] or ''
            ok = message == expected if whole else message.startswith(expected)
            # A translation must differ from the English text.
            if language and catalog.gettext(msgid) == msgid:
                ok = False
                print('# %s has no %s translation' % (msgid, language))
            if not ok:
                failed += 1
                print('# expected %r' % expected)
                print('# got      %r' % message)
            print('%s %d - %s: %s' % ('ok' if ok else 'not ok', number,
                                      language or 'English', key))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
