/* test-bindings.vala: qmp-glib from Vala, through the VAPI, against a
 * real qemu-system-x86_64 that Qmp.Process launches
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* QMP_TEST_QEMU, as in the C suites (meson test --setup=qemu10 sets it) */
string qemu_binary () {
    var qemu = Environment.get_variable ("QMP_TEST_QEMU");
    return qemu != null && qemu != "" ? qemu : "qemu-system-x86_64";
}

/* Names the QEMU the test runs against, from its greeting; with
 * QMP_TEST_EXPECT_VERSION set, one of another version bails out. */
void report_peer (Qmp.Connection conn) {
    var version = "%u.%u.%u".printf (conn.version_major, conn.version_minor, conn.version_micro);
    var expected = Environment.get_variable ("QMP_TEST_EXPECT_VERSION");

    print ("# peer %s %s (package %s)\n", qemu_binary (), version, conn.package);
    if (expected != null && expected != "" && !(version + ".").has_prefix (expected + ".")) {
        print ("Bail out! QEMU is %s, but QMP_TEST_EXPECT_VERSION is %s\n", version, expected);
        Process.exit (1);
    }
}

/* TAP, with the plan at the end */
int n_tests = 0;
int n_failed = 0;

void ok (bool condition, string name) {
    n_tests++;
    if (!condition)
        n_failed++;
    print ("%s %d - %s\n", condition ? "ok" : "not ok", n_tests, name);
}

void fail (string name, GLib.Error e) {
    print ("# %s: %s (%s, %d)\n", name, e.message, e.domain.to_string (), e.code);
    ok (false, name);
}

Json.Object parse_object (string json) {
    try {
        return Json.from_string (json).get_object ();
    } catch (GLib.Error e) {
        error ("%s", e.message);
    }
}

string status_of (Json.Node node) {
    return node.get_object ().get_string_member ("status");
}

async void sleep_ms (uint msec) {
    Timeout.add (msec, sleep_ms.callback);
    yield;
}

async void run_tests (Qmp.Process process) throws GLib.Error {
    Qmp.Connection conn = process.get_connection ();
    /* Whether run_tests waits at a bare yield for a handler to resume it;
     * a handler must never resume it while it waits for anything else. */
    bool waiting = false;
    SourceFunc resume_later = () => {
        if (waiting) {
            waiting = false;
            Idle.add (run_tests.callback);
        }
        return Source.REMOVE;
    };

    /* the greeting */
    ok (conn.version_major >= 2 && conn.get_package () != null, "greeting parsed");
    ok ("oob" in conn.get_capabilities (), "QEMU offers oob");

    /* a command: yield execute_async */
    Json.Node status = yield conn.execute_async ("query-status", null, Qmp.ExecuteFlags.NONE, null);
    ok (status_of (status) == "running", "execute_async query-status");

    /* arguments as a Json.Object; a string return */
    var args = parse_object ("""{"path": "/machine", "property": "type"}""");
    Json.Node type = yield conn.execute_async ("qom-get", args, Qmp.ExecuteFlags.NONE, null);
    ok (type.get_string () == "none-machine", "execute_async with arguments");

    /* the same without a main loop iteration in between */
    Json.Node sync_status = conn.execute_sync ("query-status", null, Qmp.ExecuteFlags.NONE);
    ok (status_of (sync_status) == "running", "execute_sync");

    /* an error, caught by its code in the Qmp.Error domain */
    try {
        yield conn.execute_async ("no-such-command", null, Qmp.ExecuteFlags.NONE, null);
        ok (false, "CommandNotFound caught as Qmp.Error.COMMAND_NOT_FOUND");
    } catch (Qmp.Error.COMMAND_NOT_FOUND e) {
        ok ("no-such-command" in e.message,
            "CommandNotFound caught as Qmp.Error.COMMAND_NOT_FOUND");
    } catch (GLib.Error e) {
        fail ("CommandNotFound caught as Qmp.Error.COMMAND_NOT_FOUND", e);
    }

    try {
        conn.execute_sync ("qom-get", parse_object ("""{"path": "/nope", "property": "x"}"""),
                           Qmp.ExecuteFlags.NONE);
        ok (false, "DeviceNotFound caught as Qmp.Error.DEVICE_NOT_FOUND");
    } catch (Qmp.Error.DEVICE_NOT_FOUND e) {
        ok (e.domain == Qmp.Error.quark (), "DeviceNotFound caught as Qmp.Error.DEVICE_NOT_FOUND");
    } catch (GLib.Error e) {
        fail ("DeviceNotFound caught as Qmp.Error.DEVICE_NOT_FOUND", e);
    }

    /* an event handler on the detailed signal */
    Qmp.Event? stop_event = null;
    int resume_calls = 0;
    ulong stop_id = conn.event["STOP"].connect ((event) => {
        stop_event = event;
        resume_later ();
    });
    ulong resume_id = conn.event["RESUME"].connect ((event) => { resume_calls++; });
    yield conn.execute_async ("stop", null, Qmp.ExecuteFlags.NONE, null);
    if (stop_event == null) {
        waiting = true;
        yield;                  /* resumed by the handler */
    }
    conn.disconnect (stop_id);
    conn.disconnect (resume_id);
    ok (stop_event != null && stop_event.get_name () == "STOP", "event::STOP handler");
    ok (stop_event.get_data () == null, "STOP has no data");
    ok (stop_event.get_timestamp () != null, "STOP has a timestamp");
    ok (resume_calls == 0, "event::RESUME handler not called for STOP");

    /* typed commands */
    bool running;
    Qmp.RunState state = yield conn.query_status_async (null, out running);
    ok (state == Qmp.RunState.PAUSED && !running, "query_status_async: paused");

    /* a command that finishes on its event, with an out return value */
    Json.Node ret;
    Qmp.Event resume = yield conn.execute_until_event_async ("cont", null, "RESUME", null, null, out ret);
    ok (resume.get_name () == "RESUME" && ret.get_object ().get_size () == 0,
        "execute_until_event_async cont -> RESUME");

    /* an event filter on the event's data */
    string tmpdir = DirUtils.make_tmp ("qmp-test-vala-XXXXXX");
    string image = Path.build_filename (tmpdir, "job0.img");
    var job = parse_object ("""{"job-id": "job0", "options": {"driver": "file",
                               "filename": "%s", "size": 1048576}}""".printf (image));
    var match = parse_object ("""{"id": "job0", "status": "concluded"}""");
    Qmp.Event concluded = yield conn.execute_until_event_async ("blockdev-create", job,
                                                               "JOB_STATUS_CHANGE", match,
                                                               null, out ret);
    ok (concluded.get_data ().get_string_member ("status") == "concluded"
        && concluded.matches ("JOB_STATUS_CHANGE", match),
        "execute_until_event_async with an event_match");
    conn.execute_sync ("job-dismiss", parse_object ("""{"id": "job0"}"""), Qmp.ExecuteFlags.NONE);
    FileUtils.unlink (image);
    DirUtils.remove (tmpdir);

    /* wait_event_async is armed when called: a stop sent after it counts */
    Qmp.Event? waited = null;
    conn.wait_event_async.begin ("STOP", null, null, (obj, res) => {
        try {
            waited = conn.wait_event_async.end (res);
        } catch (GLib.Error e) {
            fail ("wait_event_async", e);
        }
        resume_later ();
    });
    yield conn.stop_async (null);
    if (waited == null) {
        waiting = true;
        yield;
    }
    ok (waited != null && waited.get_name () == "STOP", "wait_event_async STOP");
    yield conn.cont_async (null);

    /* cancellation */
    var cancellable = new Cancellable ();
    Timeout.add (100, () => { cancellable.cancel (); return Source.REMOVE; });
    try {
        yield conn.wait_event_async ("NEVER", null, cancellable);
        ok (false, "cancelled wait_event_async");
    } catch (IOError.CANCELLED e) {
        ok (true, "cancelled wait_event_async");
    }
    Json.Node after = yield conn.execute_async ("query-status", null, Qmp.ExecuteFlags.NONE, null);
    ok (status_of (after) == "running", "the connection goes on after a cancellation");

    /* the end: QEMU quits, the connection closes */
    bool closed_remote = false;
    conn.closed.connect ((remote_peer_vanished, error) => { closed_remote = remote_peer_vanished; });
    ok (yield process.shutdown_async (null), "shutdown_async");
    for (int i = 0; i < 100 && !conn.is_closed; i++)
        yield sleep_ms (50);
    ok (conn.is_closed, "the connection is closed after shutdown");
}

async void run_all () {
    Qmp.Process process;

    try {
        /* an asynchronous constructor */
        string[] argv = { qemu_binary (), "-M", "none", "-nodefaults", "-display", "none", null };

        process = yield new Qmp.Process (argv, Qmp.ConnectionFlags.NONE, null);
        ok (true, "Qmp.Process launched QEMU");
        report_peer (process.connection);
    } catch (GLib.Error e) {
        fail ("Qmp.Process launched QEMU", e);
        return;
    }

    try {
        yield run_tests (process);
    } catch (GLib.Error e) {
        fail ("an unexpected error", e);
    }
    /* Unreffing the process kills a QEMU that is still running. */
}

int main (string[] args) {
    var loop = new MainLoop ();

    /* No test may hang: a watchdog ends the run. */
    Timeout.add_seconds (120, () => {
        print ("Bail out! timed out\n");
        Process.exit (1);
    });

    run_all.begin ((obj, res) => {
        run_all.end (res);
        loop.quit ();
    });
    loop.run ();

    print ("1..%d\n", n_tests);
    return n_failed == 0 && n_tests > 0 ? 0 : 1;
}
