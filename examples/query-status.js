// query-status.js: connect to a QEMU, print its run state, watch for STOP
//
//   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
//   gjs -m query-status.js unix:/tmp/qmp.sock
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Qmp from 'gi://Qmp?version=1.0';
import System from 'system';

function main(args) {
    const loop = new GLib.MainLoop(null, false);
    let connection;

    if (args.length !== 1) {
        printerr('Usage: query-status.js unix:PATH|tcp:HOST:PORT');
        return 2;
    }

    try {
        connection = Qmp.Connection.new_for_address_sync(args[0], Qmp.ConnectionFlags.NONE, null);
    } catch (e) {
        printerr(e.message);
        return 1;
    }

    print(`Connected to QEMU ${connection.version_major}.${connection.version_minor}.${connection.version_micro}`);

    try {
        const status = connection.execute_sync('query-status', null, Qmp.ExecuteFlags.NONE, null);
        print(`Status: ${status.get_object().get_string_member('status')}`);
    } catch (e) {
        printerr(`query-status: ${e.message}`);
        return 1;
    }

    // Events arrive as the detailed "event" signal, in this thread's main
    // context; "stop" makes QEMU send STOP.
    connection.connect('event::STOP', (_connection, event) => {
        print(`${event.get_name()} at ${event.get_timestamp().format_iso8601()}`);
        loop.quit();
    });
    connection.execute_async('stop', null, Qmp.ExecuteFlags.NONE, null, null);
    loop.run();

    return 0;
}

System.exit(main(System.programArgs));
