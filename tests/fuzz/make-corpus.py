#!/usr/bin/python3
# make-corpus.py: writes the seed corpus of the fuzzing harnesses.
#
# The lines are what QEMU 7.2, qemu-storage-daemon and qemu-ga really sent
# (../../../shared/qmp-peers.md has the transcripts), and edge cases.  Run
# it from this directory to rewrite the seeds; the files the fuzzers added
# (merged, minimised) are left alone.

import os

RS = b'\x1e'   # fuzz-receive.c's segment separator
# g_random_int_range (1, G_MAXINT32) after g_random_set_seed (0x51D)
SYNC_ID = b'1178795825'

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, '
            b'"package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}')
GREETING_NO_OOB = GREETING.replace(b'["oob"]', b'[]')
TS = b'"timestamp": {"seconds": 1795573265, "microseconds": 659943}'


def event(name, data=None, ts=TS):
    line = b'{' + ts + b', "event": "' + name + b'"'
    if data is not None:
        line += b', "data": ' + data
    return line + b'}'


def ret(value, id_):
    return b'{"return": ' + value + b', "id": ' + str(id_).encode() + b'}'


def err(klass, desc, id_):
    return (b'{"id": ' + str(id_).encode() + b', "error": {"class": "' + klass +
            b'", "desc": "' + desc + b'"}}')


def lines(*items, end=b'\r\n'):
    return b''.join(item + end for item in items)


STATUS = b'{"status": "running", "singlestep": false, "running": true}'
KBD_DELETED = event(b'DEVICE_DELETED', b'{"device": "kbd0", "path": "/machine/peripheral/kbd0"}')
CHILD_DELETED = event(b'DEVICE_DELETED', b'{"path": "/machine/peripheral/kbd0/kbd0.0/legacy[0]"}')
GUEST_INFO = (b'{"return": {"version": "7.2.22", "supported_commands": ['
              b'{"enabled": true, "name": "guest-ping", "success-response": true}, '
              b'{"enabled": true, "name": "guest-shutdown", "success-response": false}]}, "id": 1}')

receive = {
    # QEMU: greeting; qmp_capabilities (1); query-status (2), device_del
    # until DEVICE_DELETED for kbd0 (3), a wait for STOP.
    'qemu-session': b'0' + GREETING_NO_OOB + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(ret(STATUS, 2)) + RS +
        lines(ret(b'{}', 3), CHILD_DELETED, KBD_DELETED, event(b'STOP')),
    # The event before the return, as QEMU sends STOP before "stop"'s.
    'qemu-event-first': b'0' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(event(b'STOP'), ret(STATUS, 2)) + RS + lines(KBD_DELETED, ret(b'{}', 3)),
    'qemu-errors': b'0' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(err(b'GenericError', b'No file descriptor supplied via SCM_RIGHTS', 2)) + RS +
        lines(err(b'CommandNotFound', b'The command device_del has not been found', 3)),
    # OOB negotiated: migrate-pause (4) out of band.
    'qemu-oob': b'2' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS + RS + RS +
        lines(err(b'GenericError', b'migrate-pause is currently only supported during '
                  b'postcopy-active state', 4), ret(STATUS, 2), ret(b'{}', 3), KBD_DELETED),
    # The typed query_status, and debug logging with a secret to redact.
    'qemu-typed-debug': bytes([ord('0') | 8 | 16]) + GREETING + b'\r\n' + RS +
        lines(ret(b'{}', 1)) + RS +
        lines(ret(b'{"status": "paused", "running": false, "password": "x"}', 2)),
    # RESUME before the greeting (QEMU 7.2 does it), \n line ends, a blank line.
    'qemu-resume-first': b'0' + lines(event(b'RESUME'), GREETING, end=b'\n') + RS +
        b'\n' + lines(ret(b'{}', 1), end=b'\n'),
    # quit: SHUTDOWN, the return, then the server goes away mid-line.
    'qemu-quit': b'0' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(event(b'SHUTDOWN', b'{"guest": false, "reason": "host-qmp-quit"}'), ret(b'{}', 2)) +
        b'{"timestamp": {"seconds": 17',
    # A clock QEMU could not read, a reply to no one, an unknown class.
    'qemu-odd': b'0' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(event(b'STOP', None, b'"timestamp": {"seconds": -1, "microseconds": -1}'),
              ret(b'{}', 99), err(b'NewClass', b'something', 2)),
    # Over the 128-byte limit.
    'qemu-too-large': bytes([ord('0') | 4]) + GREETING + b'\r\n',
    # Members of the wrong type (issue 8, §2): a class that is no string,
    # a status that is no string (typed query_status), a guest agent
    # whose version is no string.
    'qemu-error-class-number': b'0' + GREETING + b'\r\n' + RS + lines(ret(b'{}', 1)) + RS +
        lines(b'{"id": 2, "error": {"class": 5, "desc": "x"}}'),
    'qemu-status-number': bytes([ord('0') | 8]) + GREETING + b'\r\n' + RS +
        lines(ret(b'{}', 1)) + RS + lines(ret(b'{"status": 5, "running": "yes"}', 2)),
    'ga-version-number': b'1' + RS + b'\xff' + ret(SYNC_ID, 1) + b'\n' + RS +
        GUEST_INFO.replace(b'"7.2.22"', b'7') + b'\n',
    'qemu-not-json': b'0' + GREETING + b'\r\n' + RS + b'{"return": {}, "id": 1,}\r\n',
    'qemu-not-object': b'0' + b'[1, 2]\r\n',
    'qemu-no-greeting': b'0' + ret(b'{}', 1) + b'\r\n',
    'qemu-caps-error': b'0' + GREETING + b'\r\n' + RS +
        lines(err(b'CommandNotFound', b'The command qmp_capabilities has not been found', 1)),
    # The guest agent: remains of an earlier client, 0xFF, the token;
    # guest-info (2), guest-ping (3), guest-shutdown (4, no reply).
    'ga-session': b'1' + b'{"return": {}, "i' + RS + b'\xff' + ret(SYNC_ID, 1) + b'\n' + RS +
        GUEST_INFO + b'\n' + RS + ret(b'{}', 1) + b'\n',
    'ga-wrong-token': b'1' + RS + b'\xff' + ret(b'77', 1) + b'\n',
    'ga-no-delimiter': b'1' + RS + ret(SYNC_ID, 1) + b'\n',
    'ga-info-error': b'1' + RS + b'\xff' + ret(SYNC_ID, 1) + b'\n' + RS +
        b'{"id": 1, "error": {"class": "CommandNotFound", "desc": "The command guest-info has not been found"}}\n',
}

# The same sessions with _sync calls, each in a thread (bit 6)
for name in ('qemu-session', 'qemu-event-first', 'qemu-oob', 'qemu-errors', 'qemu-typed-debug',
             'qemu-quit', 'ga-session', 'ga-wrong-token'):
    receive[name + '-sync'] = bytes([receive[name][0] | 0x40]) + receive[name][1:]

json_lines = {
    'greeting': GREETING,
    'return': ret(STATUS, 2),
    'error': err(b'GenericError', b'No file descriptor supplied via SCM_RIGHTS', 3),
    'event': KBD_DELETED,
    'event-no-clock': event(b'STOP', None, b'"timestamp": {"seconds": -1, "microseconds": -1}'),
    'schema-part': b'{"return": [{"name": "query-status", "ret-type": "1", "meta-type": "command", '
                   b'"arg-type": "0"}, {"members": [], "meta-type": "object", "name": "0"}, '
                   b'{"name": "int", "json-type": "int", "meta-type": "builtin"}], "id": 7}',
    'numbers': b'[0, -0, 1, -1, 9223372036854775807, -9223372036854775808, 18446744073709551615, '
               b'18446744073709551616, -9223372036854775809, 1.5, -2.5e-3, 1E400, 0.1e1]',
    'strings': b'["caf\\u00e9", "\\ud83d\\ude00", "\\"\\\\\\/\\b\\f\\n\\r\\t", "\xc3\xa9", ""]',
    'nul-escape': b'{"desc": "a\\u0000b"}',
    'lone-surrogate': b'["\\ud800"]',
    'bad-utf8': b'["\xff\xfe"]',
    'duplicates': b'{"event": "A", "event": 5, "id": 1, "id": "x", "error": {"class": "C", "desc": "d"}, '
                  b'"error": 1, "timestamp": {"seconds": 5}, "timestamp": 3}',
    'trailing-comma': b'{"return": {}, }',
    'deep-1024': b'[' * 1024 + b']' * 1024,
    'deep-1025': b'[' * 1025 + b']' * 1025,
    'deep-data': b'{"event": "X", "data": ' + b'[' * 1023 + b']' * 1023 + b'}',
    'deep-data-1024': b'{"event": "X", "data": ' + b'[' * 1024 + b']' * 1024 + b'}',
    'literals': b' [true, false, null] \r\n',
    'empty': b'',
    'space': b' \t',
}

qmpctl_args = {
    'device-add': b'\x00' + b'\x00'.join([b'driver=usb-kbd', b'id=kbd0', b'bus=xhci.0']),
    'dotted': b'\x00' + b'\x00'.join([b'driver=null-co', b'node-name=disk0', b'cache.direct=true',
                                      b'cache.no-flush=false', b'size=1024']),
    'json-object': b'\x00{"driver": "null-co", "node-name": "n0", "read-only": true}',
    'json-values': b'\x00' + b'\x00'.join([b'a=[1, 2, {"b": null}]', b'c="quoted"', b'd=0x3',
                                           b'e=1e400', b'f=18446744073709551615', b"g='single'"]),
    'conflict': b'\x00' + b'\x00'.join([b'a=1', b'a.b=2']),
    'bad-keys': b'\x00' + b'\x00'.join([b'=1', b'a..b=2', b'noequals']),
    'commands': b'\x01' + b'\x00'.join([b'device_add', b'driver=usb-kbd', b'id=kbd0', b',',
                                        b'query-status', b',', b'qom-list', b'path=/']),
    'commands-empty': b'\x01' + b'\x00'.join([b'query-status', b',', b',']),
    'not-utf8': b'\x00' + b'id=\xff\xfe',
}

# fuzz-serve.c: the first byte picks the server (bit 0 the proxy, 1 a
# guest agent, 2 no oob, 3 a handler that answers later, 4 canned answers
# and events, 5 a read-only proxy client, 6 a descriptor with each
# segment, 7 debug logging); the rest is what the client sends.
PROXY, GA, NO_OOB, HANDLER, CANNED, READ_ONLY, FDS, DEBUG = (1 << i for i in range(8))
CAPS = b'{"execute": "qmp_capabilities"}\r\n'
CAPS_OOB = b'{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}\n'
serve = {
    'test-server': bytes([0]) + CAPS + RS +
        b'{"execute": "query-status", "id": 1}\n{"execute": "stop", "id": "s"}\n' + RS +
        b'not json\n[1]\n{"id": 5}\n{"execute": 5, "id": [1, {"a": null}]}\n   \t\n'
        b'{"execute": "a", "exec-oob": "b", "id": 2.5}\n{"execute": "a", "arguments": [], "id": 6}\n',
    'before-negotiation': bytes([NO_OOB]) + b'{"execute": "query-status", "id": 1}\n' + CAPS_OOB +
        b'{"execute": "qmp_capabilities", "arguments": {"x": 1}, "id": 2}\n' + CAPS + CAPS,
    'partial-lines': bytes([0]) + CAPS + b'{"execute": "query-' + RS + b'status", "id": 7}\n' + RS +
        b'{"execute": "a", "id": "never answered: no line end"}',
    'proxy-oob': bytes([PROXY | CANNED]) + CAPS_OOB + RS +
        b'{"exec-oob": "migrate-pause", "id": "o"}\n{"execute": "query-status", "id": 2}\n'
        b'{"execute": "stop", "id": 3}\n{"execute": "cont", "id": 4}\n',
    'proxy-read-only': bytes([PROXY | READ_ONLY | FDS]) + CAPS + RS +
        b'{"execute": "query-status", "id": 1}\n{"execute": "quit", "id": 2}\n'
        b'{"execute": "query-\\u0073tatus"}\n{"execute": "query-x", "execute": "stop"}\n'
        b'{"execute": "stop", "execute": "query-x"}\n{"execute": "query-x\\u0000"}\n',
    'proxy-debug': bytes([PROXY | DEBUG | FDS]) + CAPS + RS +
        b'{"execute": "object-add", "arguments": {"qom-type": "secret", "id": "s0", "data": "hunter2"}}\n'
        b'{"execute": "getfd", "arguments": {"fdname": "f"}, "id": {"n": [1]}}\n',
    'handler': bytes([HANDLER | CANNED]) + CAPS + RS +
        b'{"execute": "a", "id": 1}\n{"execute": "query-status", "id": 2}\n{"execute": "x-fail", "id": 3}\n'
        b'{"execute": "stop", "id": 4}\n',
    'guest-agent': bytes([GA | FDS]) + b'{"execute": "guest-sync-delimited", "arguments": {"id": 1234}}\n' + RS +
        b'\xff{"execute": "guest-ping"}\n' + RS + b'{"execute": "guest-info", "id": 1}\n'
        b'{"execute": "guest-sync", "arguments": {"id": "x"}}\n{"execute": "qmp_capabilities"}\n',
}

for directory, seeds in (('receive', receive), ('json', json_lines), ('json-diff', json_lines),
                         ('qmpctl-args', qmpctl_args), ('serve', serve)):
    os.makedirs(os.path.join('corpus', directory), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join('corpus', directory, name), 'wb') as f:
            f.write(data)
