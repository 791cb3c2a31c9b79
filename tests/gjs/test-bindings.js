// test-bindings.js: qmp-glib from GJS, through introspection, against a
// real qemu-system-x86_64 that Qmp.Process launches
//
// Copyright 2026 The qmp-glib authors
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Json from 'gi://Json?version=1.0';
import Qmp from 'gi://Qmp?version=1.0';
import System from 'system';

Gio._promisify(Qmp.Process, 'new_async', 'new_finish');
Gio._promisify(Qmp.Process.prototype, 'shutdown_async', 'shutdown_finish');
Gio._promisify(Qmp.Connection.prototype, 'execute_async', 'execute_finish');
Gio._promisify(Qmp.Connection.prototype, 'execute_until_event_async',
    'execute_until_event_finish');
Gio._promisify(Qmp.Connection.prototype, 'wait_event_async', 'wait_event_finish');
Gio._promisify(Qmp.Connection.prototype, 'execute_with_fds_async', 'execute_with_fds_finish');

// QMP_TEST_QEMU, as in the C suites (meson test --setup=qemu10 sets it)
const QEMU_ARGV = [GLib.getenv('QMP_TEST_QEMU') || 'qemu-system-x86_64',
    '-M', 'none', '-nodefaults', '-display', 'none'];

// TAP, with the plan at the end
let nTests = 0;
let nFailed = 0;

function ok(condition, name) {
    nTests++;
    if (!condition)
        nFailed++;
    print(`${condition ? 'ok' : 'not ok'} ${nTests} - ${name}`);
}

function diag(text) {
    for (const line of String(text).split('\n'))
        print(`# ${line}`);
}

// Names the QEMU the test runs against, from its greeting; with
// QMP_TEST_EXPECT_VERSION set, one of another version bails out.
function reportPeer(conn) {
    const version = `${conn.get_version_major()}.${conn.get_version_minor()}.${conn.get_version_micro()}`;
    const expected = GLib.getenv('QMP_TEST_EXPECT_VERSION');

    diag(`peer ${QEMU_ARGV[0]} ${version} (package ${conn.get_package()})`);
    if (expected && !`${version}.`.startsWith(`${expected}.`)) {
        print(`Bail out! QEMU is ${version}, but QMP_TEST_EXPECT_VERSION is ${expected}`);
        System.exit(1);
    }
}

function object(json) {
    return Json.from_string(json).get_object();
}

// Resolves with the first event of that name that the signal delivers.
function nextEvent(conn, name) {
    return new Promise(resolve => {
        const id = conn.connect(`event::${name}`, (_conn, event) => {
            conn.disconnect(id);
            resolve(event);
        });
    });
}

async function runTests(process) {
    const conn = process.get_connection();

    // one asynchronous command
    const status = await conn.execute_async('query-status', null, Qmp.ExecuteFlags.NONE, null);
    ok(status.get_object().get_string_member('status') === 'running',
        'execute_async query-status');

    const type = await conn.execute_async('qom-get',
        object('{"path": "/machine", "property": "type"}'), Qmp.ExecuteFlags.NONE, null);
    ok(type.get_string() === 'none-machine', 'execute_async with arguments');

    // an error in the Qmp.Error domain
    try {
        await conn.execute_async('no-such-command', null, Qmp.ExecuteFlags.NONE, null);
        ok(false, 'CommandNotFound is Qmp.Error.COMMAND_NOT_FOUND');
    } catch (e) {
        if (!(e instanceof GLib.Error))
            diag(e);
        ok(e instanceof GLib.Error &&
           e.matches(Qmp.Error, Qmp.Error.COMMAND_NOT_FOUND) &&
           e.matches(Qmp.error_quark(), Qmp.Error.COMMAND_NOT_FOUND),
        'CommandNotFound is Qmp.Error.COMMAND_NOT_FOUND');
    }

    // one event, through the detailed signal
    let resumeCalls = 0;
    const resumeId = conn.connect('event::RESUME', () => resumeCalls++);
    const stopped = nextEvent(conn, 'STOP');
    await conn.execute_async('stop', null, Qmp.ExecuteFlags.NONE, null);
    const stop = await stopped;
    conn.disconnect(resumeId);
    ok(stop.get_name() === 'STOP' && stop.get_data() === null, 'event::STOP handler');
    ok(stop.get_timestamp() !== null, 'STOP has a timestamp');
    ok(resumeCalls === 0, 'event::RESUME handler not called for STOP');

    // a command that finishes on its event; the out argument comes second
    const [resume, ret] = await conn.execute_until_event_async('cont', null, 'RESUME',
        null, null);
    ok(resume.get_name() === 'RESUME' && ret.get_object().get_size() === 0,
        'execute_until_event_async cont -> RESUME');

    // a wait armed before the command, with a filter on the data
    const tmpdir = GLib.dir_make_tmp('qmp-test-gjs-XXXXXX');
    const image = GLib.build_filenamev([tmpdir, 'job0.img']);
    const waited = conn.wait_event_async('JOB_STATUS_CHANGE',
        object('{"id": "job0", "status": "concluded"}'), null);
    const args = object(JSON.stringify({
        'job-id': 'job0',
        options: {driver: 'file', filename: image, size: 1048576},
    }));
    await conn.execute_async('blockdev-create', args, Qmp.ExecuteFlags.NONE, null);
    const concluded = await waited;
    ok(concluded.get_data().get_string_member('status') === 'concluded',
        'wait_event_async with an event_match');
    await conn.execute_async('job-dismiss', object('{"id": "job0"}'), Qmp.ExecuteFlags.NONE, null);
    GLib.unlink(image);
    GLib.rmdir(tmpdir);

    // a descriptor in a Gio.UnixFDList, through introspection
    const [fd, tmpName] = GLib.file_open_tmp('qmp-gjs-XXXXXX');
    const fds = Gio.UnixFDList.new_from_array([fd]);
    const added = await conn.execute_with_fds_async('add-fd', object('{"opaque": "gjs"}'), fds,
        Qmp.ExecuteFlags.NONE, null);
    const qemuFd = added.get_object().get_int_member('fd');
    const pid = process.get_subprocess().get_identifier();
    ok(GLib.file_read_link(`/proc/${pid}/fd/${qemuFd}`) === tmpName,
        'execute_with_fds_async hands QEMU the descriptor');
    const sets = conn.query_fdsets_sync(null);
    ok(sets.get_length() === 1 &&
       sets.get_object_element(0).get_array_member('fds').get_object_element(0)
           .get_string_member('opaque') === 'gjs', 'query_fdsets_sync');
    GLib.unlink(tmpName);

    ok(await process.shutdown_async(null), 'shutdown_async');
}

async function main() {
    let process = null;
    try {
        process = await Qmp.Process.new_async(QEMU_ARGV, Qmp.ConnectionFlags.NONE, null);
        ok(process instanceof Qmp.Process, 'Qmp.Process launched QEMU');
        reportPeer(process.get_connection());
        await runTests(process);
    } catch (e) {
        diag(e instanceof GLib.Error ? `${e.message} (${e.domain}, ${e.code})` : `${e}\n${e.stack}`);
        ok(false, 'an unexpected error');
    } finally {
        // No QEMU outlives the test, whatever happened.
        const subprocess = process?.get_subprocess();
        if (subprocess && subprocess.get_identifier() !== null)
            subprocess.force_exit();
    }
}

const loop = new GLib.MainLoop(null, false);
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 120, () => {
    print('Bail out! timed out');
    System.exit(1);
});
main().finally(() => loop.quit());
loop.run();

print(`1..${nTests}`);
System.exit(nFailed === 0 && nTests > 0 ? 0 : 1);
