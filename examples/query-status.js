// query-status.js: connect to a QEMU, print its run state, watch for STOP
//
//   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
//   gjs -m query-status.js unix:/tmp/qmp.sock
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Json from 'gi://Json?version=1.0';
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

    let status;
    try {
        status = connection.execute_sync('query-status', null, Qmp.ExecuteFlags.NONE, null);
    } catch (e) {
        printerr(`query-status: ${e.message}`);
        return 1;
    }
    // The reply is the server's to choose: check its types before reading
    // it (json-glib's getters emit a critical on a member of another type).
    const object = status.get_node_type() === Json.NodeType.OBJECT ? status.get_object() : null;
    const member = object?.get_member('status');
    if (!member || member.get_value_type() !== GObject.TYPE_STRING) {
        printerr('query-status: the reply has no status');
        return 1;
    }
    print(`Status: ${member.get_string()}`);

    // Events arrive as the detailed "event" signal, in this thread's main
    // context; "stop" makes QEMU send STOP.
    connection.connect('event::STOP', (_connection, event) => {
        // The server may send no timestamp.
        const when = event.get_timestamp()?.format_iso8601() ?? 'an unknown time';
        print(`${event.get_name()} at ${when}`);
        loop.quit();
    });
    connection.execute_async('stop', null, Qmp.ExecuteFlags.NONE, null, null);
    loop.run();

    return 0;
}

System.exit(main(System.programArgs));
