/* vala-api.vala: what a Vala program writes against the installed VAPI:
 * _async calls without a cancellable, and RunState.to_string () giving
 * QEMU's name of the state.  Prints the state after stop and after cont.
 *
 *   vala-api unix:PATH
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

async int run (string address) {
    try {
        var connection = yield new Qmp.Connection.for_address_async (address, Qmp.ConnectionFlags.NONE);
        bool running;

        yield connection.stop_async ();
        Qmp.RunState state = yield connection.query_status_async (null, out running);
        print ("%s %s\n", state.to_string (), running ? "running" : "not-running");

        yield connection.execute_async ("cont", null, Qmp.ExecuteFlags.NONE);
        state = connection.query_status_sync (out running);
        print ("%s %s\n", state.to_string (), running ? "running" : "not-running");

        yield connection.close_async ();
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}

int main (string[] args) {
    var loop = new MainLoop ();
    int status = 1;

    if (args.length != 2) {
        printerr ("Usage: %s unix:PATH\n", args[0]);
        return 2;
    }
    run.begin (args[1], (source, result) => {
        status = run.end (result);
        loop.quit ();
    });
    loop.run ();
    return status;
}
