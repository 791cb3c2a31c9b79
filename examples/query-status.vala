/* query-status.vala: connect to a QEMU, print its run state, watch for STOP
 *
 *   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
 *   valac --pkg qmp-glib-1.0 --pkg json-glib-1.0 query-status.vala
 *   ./query-status unix:/tmp/qmp.sock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int main (string[] args) {
    var loop = new MainLoop ();
    Qmp.Connection connection;

    if (args.length != 2) {
        printerr ("Usage: %s unix:PATH|tcp:HOST:PORT\n", args[0]);
        return 2;
    }

    try {
        connection = new Qmp.Connection.for_address_sync (args[1], Qmp.ConnectionFlags.NONE);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }

    print ("Connected to QEMU %u.%u.%u\n",
           connection.version_major, connection.version_minor, connection.version_micro);

    Json.Node status;
    try {
        status = connection.execute_sync ("query-status", null, Qmp.ExecuteFlags.NONE);
    } catch (Error e) {
        printerr ("query-status: %s\n", e.message);
        return 1;
    }
    /* The reply is the server's to choose: check its types before reading
     * it (json-glib's getters emit a critical on a member of another type). */
    unowned Json.Node? member = null;
    if (status.get_node_type () == Json.NodeType.OBJECT)
        member = status.get_object ().get_member ("status");
    if (member == null || member.get_value_type () != typeof (string)) {
        printerr ("query-status: the reply has no status\n");
        return 1;
    }
    print ("Status: %s\n", member.get_string ());

    /* Events arrive as the detailed "event" signal, in this thread's main
     * context; "stop" makes QEMU send STOP. */
    connection.event["STOP"].connect ((event) => {
        /* The server may send no timestamp. */
        unowned DateTime? timestamp = event.get_timestamp ();
        print ("%s at %s\n", event.get_name (),
               timestamp != null ? timestamp.format_iso8601 () : "an unknown time");
        loop.quit ();
    });
    connection.execute_async.begin ("stop", null, Qmp.ExecuteFlags.NONE, null);
    loop.run ();

    return 0;
}
