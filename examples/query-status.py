#!/usr/bin/python3
# query-status.py: connect to a QEMU, print its run state, watch for STOP
#
#   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
#   ./query-status.py unix:/tmp/qmp.sock
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import GLib, Qmp


def on_stop(connection, event, loop):
    # The server may send no timestamp.
    when = event.timestamp.format_iso8601() if event.timestamp else 'an unknown time'
    print('%s at %s' % (event.name, when))
    loop.quit()


def main(argv):
    if len(argv) != 2:
        print('Usage: %s unix:PATH|tcp:HOST:PORT' % argv[0], file=sys.stderr)
        return 2

    try:
        connection = Qmp.Connection.new_for_address_sync(argv[1])
    except GLib.Error as e:
        print(e.message, file=sys.stderr)
        return 1

    print('Connected to QEMU %u.%u.%u' % (connection.get_version_major(),
                                          connection.get_version_minor(),
                                          connection.get_version_micro()))

    # With the override, arguments and results are plain Python values.
    try:
        status = connection.execute_sync('query-status')
    except GLib.Error as e:
        print('query-status: %s' % e.message, file=sys.stderr)
        return 1
    # The reply is the server's to choose: check its types before using it.
    state = status.get('status') if isinstance(status, dict) else None
    if not isinstance(state, str):
        print('query-status: the reply has no status', file=sys.stderr)
        return 1
    print('Status: %s' % state)

    # Events arrive as the detailed "event" signal, in this thread's main
    # context; "stop" makes QEMU send STOP.
    loop = GLib.MainLoop()
    connection.connect('event::STOP', on_stop, loop)
    connection.execute_async('stop')
    loop.run()

    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
