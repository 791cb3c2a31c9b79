#!/usr/bin/python3
# test-qmpctl.py: drives the real qmpctl binary against real QMP peers
# (qemu-system-x86_64, qemu-storage-daemon) and prints TAP.
#
#   /usr/bin/python3 tests/test-qmpctl.py _build/tools/qmpctl
#
# (or QMPCTL=_build/tools/qmpctl).  Each test starts its own peers on
# sockets in its own temporary directory and kills them when it ends, also
# when it fails; the peers also die with this script (PR_SET_PDEATHSIG).
# Only Debian's python3 standard library is used: the shell is driven
# through a pseudo-terminal made with pty.fork.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback

from qmpctltest import is_listening

QMPCTL = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ['QMPCTL'])
# The peers the tests start, as in tests/qmp-test-utils.c: each may be
# another QEMU version (meson test --setup=qemu10 sets all three).
QEMU = os.environ.get('QMP_TEST_QEMU') or 'qemu-system-x86_64'
QSD = os.environ.get('QMP_TEST_QSD') or 'qemu-storage-daemon'
QGA = (os.environ.get('QMP_TEST_QGA')
       or shutil.which('qemu-ga', path=os.environ['PATH'] + ':/usr/sbin:/sbin') or 'qemu-ga')
# What qmpctl launches without --qemu: its default, found in PATH.
LAUNCHED_QEMU = 'qemu-system-x86_64'
TIMEOUT = 20                       # seconds, for anything that should be quick
PROMPT = 'qmp> '

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Skip(Exception):
    pass



# ------------------------------------------------------------------ peers

class Peers:
    """A temporary directory with the peers of one test; kills them all."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='test-qmpctl-')
        self.processes = []
        self.servers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for server in self.servers:
            try:
                server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            server.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, argv, **kwargs):
        if shutil.which(argv[0]) is None:
            raise Skip(argv[0] + ' is not installed')
        process = subprocess.Popen(argv, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL,
                                   **kwargs)
        self.processes.append(process)
        return process

    def wait_for_socket(self, path, process):
        """Waits until process listens on path: QEMU binds the socket,
        which makes the file, before it listens on it."""
        deadline = time.monotonic() + TIMEOUT
        while not is_listening(path):
            if process.poll() is not None:
                raise AssertionError(f'{process.args[0]} exited with {process.returncode}')
            if time.monotonic() > deadline:
                raise AssertionError(f'{path} did not appear')
            time.sleep(0.01)
        return path

    def qemu(self, n_sockets=1):
        """A qemu-system with nothing in it and n monitors; their paths."""
        paths = [self.path(f'qmp{i}.sock') for i in range(n_sockets)]
        argv = [QEMU, '-M', 'none', '-nodefaults', '-display', 'none']
        for path in paths:
            argv += ['-qmp', f'unix:{path},server=on,wait=off']
        process = self.spawn(argv, stdout=subprocess.DEVNULL)
        for path in paths:
            self.wait_for_socket(path, process)
        return paths

    def qsd(self):
        path = self.path('qsd.sock')
        # wait=on, as in tests/qmp-test-utils.c: with wait=off, a client
        # waiting when its main loop starts can get the greeting twice
        process = self.spawn([QSD, '--chardev', f'socket,path={path},server=on,wait=on,id=c0',
                              '--monitor', 'chardev=c0'], stdout=subprocess.DEVNULL)
        return self.wait_for_socket(path, process)

    def qga(self):
        path, state = self.path('qga.sock'), self.path('qga-state')
        os.mkdir(state)
        process = self.spawn([QGA, '-m', 'unix-listen', '-p', path, '-t', state],
                             stdout=subprocess.DEVNULL)
        return self.wait_for_socket(path, process)

    def not_qmp_server(self):
        """A unix server that says "hello" to whoever connects."""
        path = self.path('hello.sock')
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(4)

        def serve():
            with server:
                while True:
                    try:
                        client, _ = server.accept()
                    except OSError:
                        return
                    with client:
                        client.sendall(b'hello\n')
                        client.settimeout(TIMEOUT)
                        try:
                            client.recv(4096)
                        except OSError:
                            pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        return path

    def mock_qmp(self, replies, event=None):
        """A scripted QMP server, for what no real peer sends on demand:
        replies maps a command name to the raw JSON text of its return,
        sent byte for byte; event, a raw event line, is sent every 50 ms
        once the client negotiated.  Its address; the commands it received
        go to self.received."""
        path = self.path('mock.sock')
        self.received = []
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(4)
        greeting = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},'
                    b' "package": "mock"}, "capabilities": []}}\r\n')

        def send_events(client, lock, stop):
            while not stop.wait(0.05):
                try:
                    with lock:
                        client.sendall(event + b'\r\n')
                except OSError:
                    return

        def serve_client(client):
            lock, stop = threading.Lock(), threading.Event()
            with client, client.makefile('rb') as lines:
                try:
                    client.sendall(greeting)
                    for line in lines:
                        command = json.loads(line)
                        name, id = command['execute'], json.dumps(command.get('id')).encode()
                        self.received.append(command)
                        if name == 'qmp_capabilities':
                            ret = b'{}'
                            if event is not None:
                                threading.Thread(target=send_events, args=(client, lock, stop),
                                                 daemon=True).start()
                        elif name in replies:
                            ret = replies[name].encode()
                        else:
                            with lock:
                                client.sendall(b'{"error": {"class": "CommandNotFound", "desc": "no"}, "id": '
                                               + id + b'}\r\n')
                            continue
                        with lock:
                            client.sendall(b'{"return": ' + ret + b', "id": ' + id + b'}\r\n')
                except OSError:
                    pass
                finally:
                    stop.set()

        def serve():
            with server:
                while True:
                    try:
                        client, _ = server.accept()
                    except OSError:
                        return
                    threading.Thread(target=serve_client, args=(client,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        self.servers.append(server)
        return path

    def env(self, **extra):
        # A critical or a warning of qmpctl's, whatever the peer sends,
        # fails the test.
        env = dict(os.environ, LC_ALL='C.UTF-8', XDG_STATE_HOME=self.path('state'),
                   G_DEBUG='fatal-criticals,fatal-warnings')
        for name in ('NO_COLOR', 'QMPCTL_QEMU', 'G_MESSAGES_DEBUG'):
            env.pop(name, None)
        env.update(extra)
        return env


class Qmp:
    """A minimal QMP client, to make events happen on another monitor."""

    def __init__(self, path):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.settimeout(TIMEOUT)
        self.socket.connect(path)
        self.file = self.socket.makefile('rw', encoding='utf-8', newline='\n')
        assert 'QMP' in json.loads(self.file.readline())
        self.execute('qmp_capabilities')

    def execute(self, command, **arguments):
        self.file.write(json.dumps({'execute': command, 'arguments': arguments}) + '\n')
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if 'return' in reply:
                return reply['return']
            if 'error' in reply:
                raise AssertionError(f'{command}: {reply["error"]}')

    def close(self):
        self.file.close()
        self.socket.close()


# An event made before qmpctl listens is lost: the tests make events again
# and again until qmpctl shows that it got one.

def repeat_until_exit(process, action):
    """Runs action until process exits."""
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        action()
        time.sleep(0.05)


def first_line(process, action):
    """Runs action until process prints a line; the line."""
    deadline = time.monotonic() + TIMEOUT
    while not select.select([process.stdout], [], [], 0.05)[0]:
        assert process.poll() is None and time.monotonic() < deadline, 'qmpctl printed nothing'
        action()
    return process.stdout.readline()


def communicate(process):
    """What process prints until it exits (it is killed after TIMEOUT).
    Unlike Popen.communicate, reads what readline() left in the buffers."""
    timer = threading.Timer(TIMEOUT, process.kill)
    timer.start()
    try:
        out, err = process.stdout.read(), process.stderr.read()
        process.wait()
    finally:
        timer.cancel()
    return out, err


# ------------------------------------------------------------------ qmpctl

def qmpctl(peers, *args, env=None, timeout=TIMEOUT):
    return subprocess.run([QMPCTL, *args], env=env or peers.env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def start_qmpctl(peers, *args):
    return peers.spawn([QMPCTL, *args], env=peers.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)


def check(result, status=0, stderr=''):
    assert result.returncode == status, \
        f'status {result.returncode}, expected {status}\nstdout: {result.stdout}\nstderr: {result.stderr}'
    if stderr is not None:
        assert re.search(stderr, result.stderr) if stderr else result.stderr == '', \
            f'stderr {result.stderr!r} does not match {stderr!r}'
    return result.stdout


def json_documents(text):
    """The JSON documents of text, one after the other."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    text = text.strip()
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def peer_version(binary):
    """What `binary --version` says: (its first line, {'major', 'minor',
    'micro'})."""
    output = subprocess.run([binary, '--version'], capture_output=True, text=True).stdout
    line = output.split('\n')[0]
    major, minor, micro = re.search(r'(\d+)\.(\d+)\.(\d+)', line).groups()
    return line, {'major': int(major), 'minor': int(minor), 'micro': int(micro)}


def qemu_version(binary=LAUNCHED_QEMU):
    return peer_version(binary)[1]


def has_members(data, expected):
    """data has expected's members and values, and maybe more: a later
    QEMU may add members to an event."""
    return isinstance(data, dict) and all(k in data and data[k] == v for k, v in expected.items())


def check_event_line(line, name):
    event = json.loads(line)
    assert event['event'] == name, line
    assert set(event['timestamp']) == {'seconds', 'microseconds'}, line
    assert 0 <= event['timestamp']['microseconds'] < 1000000, line
    assert ' ' not in line, f'not compact: {line}'
    return event


# ------------------------------------------------------------------ a terminal

ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\x07')


class Terminal:
    """qmpctl on a pseudo-terminal of 200 columns."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                die_with_parent()
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 200, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.raw = ''        # everything read so far
        self.text = ''       # what is not yet matched, without escapes
        self.status = None

    def _read(self, timeout):
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            return False
        try:
            data = os.read(self.fd, 65536).decode('utf-8', 'replace')
        except OSError:        # EIO: the other end is closed
            return None
        if not data:
            return None
        self.raw += data
        self.text += ANSI.sub('', data).replace('\r', '')
        return True

    def _drain(self):
        """What qmpctl wrote before it exited and is still in the
        terminal: a child that exits between two reads leaves its last
        output unread (seen when the output is printed at once)."""
        while self._read(1):
            pass

    def expect(self, pattern, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text)
            if match:
                self.text = self.text[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0 or self._read(left) is None:
                raise AssertionError(f'{pattern!r} not seen in {self.text!r}')

    def send(self, text):
        os.write(self.fd, text.encode())

    def send_eof(self, timeout=TIMEOUT):
        """Ctrl-D at an empty prompt, until the shell exits: readline
        loses a Ctrl-D that comes while it restores the terminal after a
        line (seen after Tab then Enter, mostly under ASan), so it is typed
        again each second the shell is still there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.send('\x04')
            except OSError:
                pass
            retry = time.monotonic() + 1
            while time.monotonic() < retry:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid != 0:
                    self.status = os.waitstatus_to_exitcode(status)
                    self._drain()
                    return self.status
                self._read(0.05)
        raise AssertionError(f'qmpctl did not exit; it printed {self.text!r}')

    def wait(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                self.status = os.waitstatus_to_exitcode(status)
                self._drain()
                return self.status
            self._read(0.05)
        raise AssertionError(f'qmpctl did not exit; it printed {self.text!r}')

    def close(self):
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -signal.SIGKILL
        os.close(self.fd)


class Shell(Terminal):
    def __init__(self, peers, address):
        super().__init__([QMPCTL, '--socket', address, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
        self.expect('Tab completes')
        self.expect(PROMPT)

    def run(self, line, pattern):
        """Types line and Enter; the match of pattern in what follows."""
        self.send(line + '\r')
        match = self.expect(pattern)
        self.expect(PROMPT)
        return match


def shell_test(function):
    """Runs function(peers, shell, monitor) on a QEMU with two monitors."""
    def test():
        with Peers() as peers:
            address, other = peers.qemu(2)
            shell = Shell(peers, address)
            monitor = Qmp(other)
            try:
                function(peers, shell, monitor)
            finally:
                monitor.close()
                shell.close()
    test.__name__ = function.__name__
    test.__doc__ = function.__doc__
    return test


# ------------------------------------------------------------------ the tests

def test_help():
    """--help explains the modes and gives examples"""
    with Peers() as peers:
        out = check(qmpctl(peers, '--help'))
        for text in ('--socket', '--launch', 'events', 'wait', 'shell', 'Examples:',
                     'query-version , query-status', 'Exit status', 'help [COMMAND]',
                     'help blockdev-add', '--check', 'typed by its KEY'):
            assert text in out, text


def test_usage_errors():
    """bad arguments and options exit with 2 before anything is launched"""
    with Peers() as peers:
        cases = [
            ([], 'No command given'),
            (['--bogus', 'query-status'], 'Unknown option'),
            (['query-status', 'foo'], 'Malformed argument “foo”'),
            (['qom-get', '=x'], 'Malformed argument “=x”'),
            (['qom-get', 'a..b=1'], 'Malformed key “a..b”'),
            (['qom-get', 'a=1', 'a.b=2'], '“a.b” conflicts'),
            (['qom-get', 'a=1', 'a=2'], '“a” conflicts'),
            (['qom-get', '{"path": '], 'is not valid JSON'),
            (['qom-get', '[1]'], 'Malformed argument'),
            (['qom-get', 'a=1', '{"b": 1}'], 'must be the only argument'),
            (['query-status', ',', ','], 'A command is missing'),
            (['path=/machine'], 'is not a command name'),
            (['--count', '1', 'query-status'], '--count applies to “events” only'),
            (['--socket', 'x.sock', 'query-status', '--', '-S'], 'excludes'),
            (['--guest-agent', 'query-status'], '--guest-agent needs'),
            (['wait'], 'needs the name of an event'),
            (['help', 'qom-get', 'qom-set'], '“help” takes one command name at most'),
            (['--timeout', 'soon', 'query-status'], '--timeout must be a number of seconds'),
        ]
        for args, message in cases:
            check(qmpctl(peers, *args), 2, message)


def test_bad_address():
    """an address that is malformed or where nobody listens exits with 2"""
    with Peers() as peers:
        check(qmpctl(peers, '--socket', 'bogus:thing', 'query-status'), 2,
              r'^qmpctl: Invalid address “bogus:thing”')
        check(qmpctl(peers, '--socket', 'tcp:localhost', 'query-status'), 2,
              r'^qmpctl: Invalid address')
        check(qmpctl(peers, '--socket', peers.path('nobody.sock'), 'query-status'), 2,
              r'^qmpctl: Could not connect')


def test_not_qmp():
    """a peer that does not speak QMP exits with 2"""
    with Peers() as peers:
        path = peers.not_qmp_server()
        check(qmpctl(peers, '--socket', path, 'query-status'), 2, r'^qmpctl: .+')
        check(qmpctl(peers, '--socket', 'unix:' + path, 'events'), 2, r'^qmpctl: .+')


def test_guest_agent():
    """--guest-agent talks to qemu-ga"""
    with Peers() as peers:
        address = peers.qga()
        ping, info = json_documents(check(qmpctl(peers, '--guest-agent', '-s', address,
                                                 'guest-ping', ',', 'guest-info')))
        # the agent's own version, which need not be qemu-system's
        assert ping == {} and info['version'] == '%(major)d.%(minor)d.%(micro)d' % qemu_version(QGA), info
        check(qmpctl(peers, '-g', '-s', address, 'nope'), 1,
              r'^CommandNotFound: The command nope has not been found\n$')
        # the shell completes the agent's commands, from guest-info
        shell = Terminal([QMPCTL, '-g', '-s', address, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
        try:
            shell.expect('Connected to the QEMU guest agent')
            shell.send('guest-pin\t')
            shell.expect(r'guest-ping $')
            shell.send('\r')
            shell.expect(r'\{\}')
            # help lists guest-info's commands, with no schema to describe them
            shell.send('help\r')
            shell.expect(r'\nguest-ping\n')
            shell.send('help guest-ping\r')
            shell.expect(r'qmpctl: The server has no schema that describes “guest-ping”')
            assert shell.send_eof() == 0
        finally:
            shell.close()
        # a QMP server is no guest agent
        qmp, = peers.qemu()
        check(qmpctl(peers, '-g', '-s', qmp, '--timeout', '1', 'guest-ping'), 2, r'^qmpctl: ')


def test_help_commands():
    """help lists the server's commands; help COMMAND shows its arguments"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        names = check(qmpctl(peers, '-s', address, 'help')).splitlines()
        assert names == sorted(names) and {'qom-get', 'query-status', 'blockdev-add'} <= set(names), names
        assert check(qmpctl(peers, '-s', address, 'help', 'qom-get')) == \
            'qom-get\n  path=str\n  property=str\nReturns: any\n'
        # the members this QEMU's schema gives (7.2 has "singlestep", 10.0
        # not), read on another monitor
        monitor = Qmp(other)
        schema = {entity['name']: entity for entity in monitor.execute('query-qmp-schema')}
        monitor.close()
        members = sorted(m['name'] for m in schema[schema['query-status']['ret-type']]['members'])
        assert {'running', 'status'} <= set(members), members
        assert check(qmpctl(peers, '-s', address, 'help', 'query-status')) == \
            'query-status\nReturns: {%s}\n' % ', '.join(members)
        # a union: the members of each variant under its tag's value
        out = check(qmpctl(peers, '-s', address, 'help', 'blockdev-add'))
        assert re.search(r'^  driver="blkdebug"\|.*\|"null-co"\|', out, re.M), out
        assert '\n  [node-name=str]\n' in out, out
        assert re.search(r'^  driver="null-co":\n(    \[.*\]\n)*    \[read-zeroes=bool\]\n', out, re.M), out
        check(qmpctl(peers, '-s', address, 'help', 'nope'), 1,
              r'^qmpctl: “nope” is not a command of this server\n$')
        # the guest agent: its commands, from guest-info
        agent = peers.qga()
        assert 'guest-ping' in check(qmpctl(peers, '-g', '-s', agent, 'help')).splitlines()
        check(qmpctl(peers, '-g', '-s', agent, 'help', 'guest-ping'), 1,
              r'^qmpctl: The server has no schema that describes “guest-ping”\n$')


def test_help_tree():
    """help COMMAND: a tree of dotted keys, recursion named, deprecation (QmpSchema)"""
    with Peers() as peers:
        address, = peers.qemu()
        out = check(qmpctl(peers, '-s', address, 'help', 'blockdev-add'))
        assert '\n  [cache={…}]\n    [cache.direct=bool]\n    [cache.no-flush=bool]\n' in out, out
        # an array of objects: KEY[].MEMBER
        assert re.search(r'^      \[inject-error\[\]\.state=int\]$', out, re.M), out
        # a blockdev-add's file is a blockdev-add again: named, not walked
        assert re.search(r'^  driver="raw":\n    file=\{…\} or str \(recursive\)$', out, re.M), out
        # deprecation, as the schema says it
        schema = json.loads(check(qmpctl(peers, '-s', address, 'query-qmp-schema')))
        entities = {entity['name']: entity for entity in schema}
        commands = [entity for entity in schema if entity['meta-type'] == 'command']
        deprecated = [c['name'] for c in commands if 'deprecated' in c.get('features', [])]
        members = [(c['name'], m['name']) for c in commands
                   for m in entities[c['arg-type']].get('members', [])
                   if 'deprecated' in m.get('features', [])]
        assert deprecated and members, (deprecated, members)
        for name in deprecated[:2]:
            assert check(qmpctl(peers, '-s', address, 'help', name)).startswith(name + ' (deprecated)\n')
        for command, member in members[:2]:
            out = check(qmpctl(peers, '-s', address, 'help', command))
            assert re.search(r'^  \[?%s=.* \(deprecated\)$' % re.escape(member), out, re.M), out


def test_check():
    """--check: QmpSchema's message and nothing sent; KEY=VALUE typed by the schema"""
    size_message = r'^qmpctl: blockdev-add: size: expected an integer, got a string\n$'
    with Peers() as peers:
        address, = peers.qemu()
        # a str member given 123: "123" with --check, an integer without
        check(qmpctl(peers, '-s', address, 'qom-get', 'path=/machine', 'property=123'), 1,
              r"^GenericError: Invalid parameter type for 'property', expected: string\n$")
        check(qmpctl(peers, '--check', '-s', address, 'qom-get', 'path=/machine', 'property=123'), 1,
              r"^GenericError: Property 'none-machine\.123' not found\n$")
        # refused: the library's messages, status 1
        check(qmpctl(peers, '--check', '-s', address, 'blockdev-add', 'driver=null-co',
                     'node-name=n0', 'size=abc'), 1, size_message)
        check(qmpctl(peers, '--check', '-s', address, 'blockdev-add', 'drvier=null-co',
                     'node-name=n0'), 1, r'^qmpctl: blockdev-add: unknown member "drvier"\n$')
        # what fits goes: an enum value, JSON that fits its member
        assert check(qmpctl(peers, '--check', '-s', address, 'blockdev-add', 'driver=null-co',
                            'node-name=n0', 'size=4096', 'read-zeroes=true', 'discard=unmap')) == '{}\n'
        nodes = json.loads(check(qmpctl(peers, '-s', address, 'query-named-block-nodes')))
        assert [(n['node-name'], n['image']['virtual-size']) for n in nodes] == [('n0', 4096)], nodes
        # the library's warning for what is deprecated, as a line of
        # qmpctl's (a warning is fatal in the other tests)
        check(qmpctl(peers, '--check', '-s', address, 'drive-backup', 'device=nope', 'target=/nonexistent',
                     'sync=full', env=peers.env(G_DEBUG='')), 1,
              r"^qmpctl: warning: The command drive-backup is deprecated\n"
              r"GenericError: Cannot find device='nope' nor node-name='nope'\n$")
        check(qmpctl(peers, '--check', '-s', address, 'shell'), 2,
              r'^qmpctl: --check applies to commands only')
        # the guest agent has no schema to check against
        agent = peers.qga()
        check(qmpctl(peers, '--check', '-g', '-s', agent, 'guest-ping'), 1, r'^CommandNotFound: ')
        assert check(qmpctl(peers, '-g', '-s', agent, 'guest-ping')) == '{}\n'

    # nothing is sent: a mock that serves the real QEMU's schema and keeps
    # what it receives
    with Peers() as peers:
        address, = peers.qemu()
        schema = json.dumps(json.loads(check(qmpctl(peers, '-s', address, 'query-qmp-schema'))))
        mock = peers.mock_qmp({'query-qmp-schema': schema, 'blockdev-add': '{}', 'qom-get': '"x"'})
        check(qmpctl(peers, '--check', '-s', mock, 'blockdev-add', 'driver=null-co', 'node-name=n1',
                     'size=abc'), 1, size_message)
        assert [c['execute'] for c in peers.received] == ['qmp_capabilities', 'query-qmp-schema'], \
            peers.received
        del peers.received[:]
        check(qmpctl(peers, '--check', '-s', mock, 'qom-get', 'path=/machine', 'property=123',
                     ',', 'blockdev-add', 'driver=null-co', 'node-name=n1', 'size=1024'))
        assert peers.received[2:] == [
            {'execute': 'qom-get', 'arguments': {'path': '/machine', 'property': '123'}, 'id': peers.received[2]['id']},
            {'execute': 'blockdev-add', 'arguments': {'driver': 'null-co', 'node-name': 'n1', 'size': 1024},
             'id': peers.received[3]['id']}], peers.received


def test_hmp_text():
    """human-monitor-command: text on a terminal, the JSON string in a pipe"""
    with Peers() as peers:
        address, = peers.qemu()
        out = check(qmpctl(peers, '-s', address, 'human-monitor-command', 'command-line=info status'))
        assert out == '"VM status: running\\r\\n"\n', out
        for line, text in (('info status', 'VM status: running\r\n'), ('stop', '')):
            terminal = Terminal([QMPCTL, '-s', address, 'human-monitor-command', 'command-line=' + line],
                                peers.env(TERM='xterm'))
            try:
                assert terminal.wait() == 0
                terminal._read(0.1)
                assert terminal.raw == text, terminal.raw
            finally:
                terminal.close()


def test_terminal_controls():
    """what the peer quotes cannot drive the terminal: the control
    characters of an error, of human-monitor-command's text and of a JSON
    string come out as \\u00XX"""
    peer_text = '\x1b[31mX\x9b1m\x7f'
    escaped = '\\u001B[31mX\\u009B1m\\u007F'
    with Peers() as peers:
        address, = peers.qemu()
        # QEMU quotes the driver in its error, in QMP and in HMP
        for args, expected in ((['device_add', 'driver=' + peer_text],
                                f"GenericError: '{escaped}' is not a valid device model name"),
                               (['human-monitor-command', 'command-line=device_add ' + peer_text],
                                f"Error: '{escaped}' is not a valid device model name")):
            out = qmpctl(peers, '-s', address, *args)
            assert expected in out.stdout + out.stderr, out
            terminal = Terminal([QMPCTL, '-s', address, *args], peers.env(TERM='xterm'))
            try:
                terminal.wait()
                terminal._drain()
                assert expected in terminal.raw, terminal.raw
                assert '\x1b[31m' not in terminal.raw and '\x9b' not in terminal.raw, terminal.raw
            finally:
                terminal.close()

        # QEMU escapes every control character of its JSON; a server that
        # does not (raw DEL and C1 are valid JSON) gets them escaped: the
        # same string
        mock = peers.mock_qmp({'raw': '"a\x9bb\x7fc"'})
        out = check(qmpctl(peers, '-s', mock, 'raw'))
        assert out == '"a\\u009Bb\\u007Fc"\n', out
        assert json.loads(out) == 'a\x9bb\x7fc'


def test_query_status_pretty():
    """query-status prints its return as JSON indented by two spaces"""
    with Peers() as peers:
        address, = peers.qemu()
        out = check(qmpctl(peers, '--socket', address, 'query-status'))
        status = json.loads(out)
        assert status['status'] == 'running' and status['running'] is True, out
        assert out == json.dumps(status, indent=2) + '\n', out
        assert '\x1b' not in out


def test_key_value_arguments():
    """KEY=VALUE: JSON values, strings otherwise, dotted keys nest"""
    with Peers() as peers:
        address, = peers.qemu()
        out = check(qmpctl(peers, '-s', address, 'qom-get', 'path=/machine', 'property=type'))
        assert json.loads(out) == 'none-machine', out

        out = check(qmpctl(peers, '-s', address, 'blockdev-add', 'driver=raw', 'node-name=r0',
                           'file.driver=null-co', 'file.size=1048576', 'read-only=true',
                           ',', 'query-named-block-nodes', 'flat=true'))
        added, nodes = json_documents(out)
        assert added == {}, out
        node, = [n for n in nodes if n['node-name'] == 'r0']
        assert node['ro'] is True and node['image']['virtual-size'] == 1048576, node

        # JSON when it parses as JSON (12 is a number, and a secret's data
        # is a string), a string otherwise (0x10 is no JSON number).
        check(qmpctl(peers, '-s', address, 'object-add', 'qom-type=secret', 'id=s0', 'data=12'),
              1, r'^GenericError: Invalid parameter type.*expected: string')
        check(qmpctl(peers, '-s', address, 'object-add', 'qom-type=secret', 'id=s1', 'data="12"'))
        check(qmpctl(peers, '-s', address, 'object-add', 'qom-type=secret', 'id=s2', 'data=0x10'))


def test_json_object_argument():
    """one argument that starts with { is the whole arguments object"""
    with Peers() as peers:
        address, = peers.qemu()
        out = check(qmpctl(peers, '-s', 'unix:' + address, 'qom-get',
                           '{"path": "/machine", "property": "type"}'))
        assert json.loads(out) == 'none-machine', out


def test_command_not_found():
    """an error is “CLASS: desc” on stderr, status 1, and stops the list"""
    with Peers() as peers:
        address, = peers.qemu()
        result = qmpctl(peers, '-s', address, 'nope')
        check(result, 1, None)
        assert result.stderr == 'CommandNotFound: The command nope has not been found\n', result.stderr
        assert result.stdout == ''

        result = qmpctl(peers, '-s', address, 'query-status', ',', 'nope', ',', 'query-version')
        check(result, 1, r'^CommandNotFound: The command nope has not been found\n$')
        assert [d['status'] for d in json_documents(result.stdout)] == ['running'], result.stdout


def test_launch_default():
    """without --socket, a launched QEMU answers query-version"""
    with Peers() as peers:
        if shutil.which(QEMU) is None:
            raise Skip(QEMU + ' is not installed')
        out = check(qmpctl(peers, 'query-version'))
        assert json.loads(out)['qemu'] == qemu_version(), out
        out = check(qmpctl(peers, '--launch', 'query-status'))
        assert json.loads(out)['status'] == 'running', out


def test_launch_several_commands():
    """the README's demo: query-version and query-status from one QEMU"""
    with Peers() as peers:
        if shutil.which(QEMU) is None:
            raise Skip(QEMU + ' is not installed')
        version, status = json_documents(check(qmpctl(peers, 'query-version', ',', 'query-status')))
        assert version['qemu'] == qemu_version(), version
        assert status['status'] == 'running', status


def test_launch_arguments():
    """arguments after -- replace the defaults; --qemu and $QMPCTL_QEMU"""
    with Peers() as peers:
        if shutil.which(QEMU) is None or shutil.which(QSD) is None:
            raise Skip('QEMU or qemu-storage-daemon is not installed')
        out = check(qmpctl(peers, 'query-status', '--', '-M', 'none', '-nodefaults',
                           '-display', 'none', '-S'))
        assert json.loads(out)['status'] == 'prelaunch', out

        out = check(qmpctl(peers, 'query-named-block-nodes', env=peers.env(QMPCTL_QEMU=QSD)))
        assert json.loads(out) == [], out
        out = check(qmpctl(peers, '--qemu', QSD, 'blockdev-add', 'driver=null-co', 'node-name=n0',
                           ',', 'query-named-block-nodes'))
        assert json_documents(out)[1][0]['node-name'] == 'n0', out

        check(qmpctl(peers, '--qemu', peers.path('no-such-qemu'), 'query-status'), 2, r'^qmpctl: ')
        check(qmpctl(peers, 'query-status', '--', '-no-such-option'), 2, r'^qmpctl: ')


def test_storage_daemon():
    """qemu-storage-daemon through --socket, one invocation after the other"""
    with Peers() as peers:
        address = peers.qsd()
        check(qmpctl(peers, '-s', address, 'blockdev-add', 'driver=null-co', 'node-name=n0'))
        nodes = json.loads(check(qmpctl(peers, '-s', address, 'query-named-block-nodes')))
        assert [n['node-name'] for n in nodes] == ['n0'], nodes
        check(qmpctl(peers, '-s', address, 'blockdev-del', 'node-name=n0'))
        assert json.loads(check(qmpctl(peers, '-s', address, 'query-named-block-nodes'))) == []


def test_events_count():
    """events --count 1 STOP prints the STOP that another monitor caused"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        process = start_qmpctl(peers, '-s', address, 'events', '--count', '1', 'STOP')
        monitor = Qmp(other)
        repeat_until_exit(process, lambda: (monitor.execute('stop'), monitor.execute('cont')))
        out, err = communicate(process)
        assert process.returncode == 0 and err == '', (process.returncode, err)
        line, = out.splitlines()
        assert 'data' not in check_event_line(line, 'STOP'), line
        monitor.close()


def test_events_interrupted():
    """events streams until SIGINT or SIGTERM, then exits with 0"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        monitor = Qmp(other)
        for signum in (signal.SIGINT, signal.SIGTERM):
            process = start_qmpctl(peers, '-s', address, 'events')
            # Once an event came, the signal handlers are in place.
            check_event_line(first_line(process, lambda: monitor.execute('system_reset')), 'RESET')
            process.send_signal(signum)
            out, err = communicate(process)
            assert process.returncode == 0 and err == '', (signum, process.returncode, err)
            for line in out.splitlines():
                check_event_line(line, 'RESET')
        monitor.close()


def test_events_timeout():
    """events --timeout: 0 when it passes, 1 when fewer than --count came"""
    with Peers() as peers:
        address, = peers.qemu()
        # The timeout bounds the connection and the negotiation too: 2 s,
        # for ASan on a loaded machine.
        assert check(qmpctl(peers, '-s', address, 'events', '--timeout', '2')) == ''
        check(qmpctl(peers, '-s', address, 'events', '--count', '2', '--timeout', '2'), 1,
              r'^qmpctl: Only 0 of 2 events came')


def test_events_closed():
    """events ends when the server goes away"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        process = start_qmpctl(peers, '-s', address, 'events')
        monitor = Qmp(other)
        check_event_line(first_line(process, lambda: monitor.execute('system_reset')), 'RESET')
        monitor.execute('quit')
        out, err = communicate(process)
        assert process.returncode == 0 and err == '', (process.returncode, err)
        assert has_members(check_event_line(out.splitlines()[-1], 'SHUTDOWN')['data'],
                           {'guest': False, 'reason': 'host-qmp-quit'}), out


def test_wait():
    """wait EVENT KEY=VALUE prints the first matching event; --timeout"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        monitor = Qmp(other)

        process = start_qmpctl(peers, '-s', address, 'wait', 'RESET', 'guest=false',
                               'reason=host-qmp-system-reset')
        repeat_until_exit(process, lambda: monitor.execute('system_reset'))
        out, err = communicate(process)
        assert process.returncode == 0 and err == '', (process.returncode, err)
        line, = out.splitlines()
        assert has_members(check_event_line(line, 'RESET')['data'],
                           {'guest': False, 'reason': 'host-qmp-system-reset'}), line

        # RESET events come, but none matches
        process = start_qmpctl(peers, '-s', address, '--timeout', '3', 'wait', 'RESET', 'guest=true')
        repeat_until_exit(process, lambda: monitor.execute('system_reset'))
        out, err = communicate(process)
        assert process.returncode == 1 and out == '', (process.returncode, out)
        assert re.match(r'^qmpctl: No RESET event came within 3 s$', err), err
        monitor.close()


def test_colour():
    """pretty JSON is coloured on a terminal, unless NO_COLOR is set"""
    with Peers() as peers:
        address, = peers.qemu()
        for env, coloured in ((peers.env(TERM='xterm'), True),
                              (peers.env(TERM='xterm', NO_COLOR='1'), False)):
            terminal = Terminal([QMPCTL, '-s', address, 'query-status'], env)
            try:
                assert terminal.wait() == 0
                terminal.expect(r'"status": "running"')
                assert ('\x1b[' in terminal.raw) == coloured, terminal.raw
            finally:
                terminal.close()


@shell_test
def test_shell_complete_command(peers, shell, monitor):
    """shell: Tab completes a command name, Enter runs it"""
    shell.send('query-statu\t')
    shell.expect(r'query-status $')
    shell.run('', r'"status": "running"')
    # an ambiguous prefix (QEMU 7.2 has query-stats too): Tab completes
    # what the candidates share; as in bash, the next Tab that changes
    # nothing rings the bell, and one more lists the candidates
    shell.send('query-sta\t')
    shell.expect(r'query-stat$')
    shell.send('\t\t')
    shell.expect(r'query-stats\s+query-stats-schemas\s+query-status')
    shell.send('\x15')   # Ctrl-U: kill the line


@shell_test
def test_shell_complete_arguments(peers, shell, monitor):
    """shell: Tab completes argument names, also a union's, from the schema"""
    shell.send('qom-get pa\t')
    shell.expect(r'qom-get path=$')
    shell.send('/machine prop\t')
    shell.expect(r'property=$')
    shell.run('type', r'"none-machine"')
    # the members of the variant that driver= selects
    shell.send('blockdev-add driver=null-co node-name=n0 read-z\t')
    shell.expect(r'read-zeroes=$')
    shell.run('true', r'\{\}')
    match = shell.run('query-named-block-nodes', r'"node-name": "(\w+)"')
    assert match.group(1) == 'n0'


@shell_test
def test_shell_event(peers, shell, monitor):
    """shell: an event prints between prompts and keeps the line typed"""
    shell.send('query-')
    shell.expect(r'query-$')
    monitor.execute('stop')
    line = shell.expect(r'(\{"event":"STOP".*\})\n').group(1)
    check_event_line(line, 'STOP')
    shell.expect(PROMPT + 'query-$')
    shell.run('status', r'"status": "paused"')


@shell_test
def test_shell_errors_and_history(peers, shell, monitor):
    """shell: errors, Ctrl-C, history with Up, JSON arguments, exit"""
    # the shell checks against the schema: the library's message, not QEMU's
    shell.run('nope', r'CommandNotFound: nope: the server has no such command')
    shell.run('qom-get path', r'Malformed argument “path”')
    shell.run('qom-get {"path": "/machine", "property": "type"}', r'"none-machine"')
    shell.send('garbage')
    shell.expect('garbage')
    shell.send('\x03')               # Ctrl-C discards the line
    shell.expect(PROMPT)
    shell.send('\x1b[A')             # Up: the last line run
    shell.expect(r'qom-get \{"path": "/machine", "property": "type"\}$')
    shell.run('', r'"none-machine"')
    shell.send('exit\r')
    assert shell.wait() == 0
    with open(peers.path('state/qmpctl_history')) as history:
        assert history.read().splitlines()[-2:] == \
            ['qom-get {"path": "/machine", "property": "type"}', 'exit']


@shell_test
def test_shell_help(peers, shell, monitor):
    """shell: help lists commands, help COMMAND (completed) shows arguments"""
    shell.run('help', r'\nqom-get\n')
    shell.send('help qom-g\t')
    shell.expect(r'help qom-get $')
    shell.run('', r'qom-get\n  path=str\n  property=str\nReturns: any\n')
    shell.run('help nope', r'qmpctl: “nope” is not a command of this server')


@shell_test
def test_shell_qmp_line(peers, shell, monitor):
    """shell: a raw QMP line, with "arguments" or without, as qmp-shell takes it"""
    shell.run('{"execute": "query-name"}', r'\{\}')
    shell.run('{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}}',
              r'"none-machine"')
    shell.run('{"execute": "qom-get", "id": 1}',
              r'qmpctl: A QMP command is an object with “execute” and, optionally, “arguments”')
    shell.run('{"execute": ', r'is not valid JSON')
    # checked as any line: nothing goes
    shell.run('{"execute": "blockdev-add", "arguments": {"driver": "null-co", "node-name": "n0", "size": "x"}}',
              r'qmpctl: blockdev-add: size: expected an integer, got a string')
    assert monitor.execute('query-named-block-nodes') == []


@shell_test
def test_shell_check(peers, shell, monitor):
    """shell: KEY=VALUE typed and checked by the schema; dotted keys complete; HMP as text"""
    shell.run('blockdev-add driver=null-co node-name=n0 size=abc',
              r'qmpctl: blockdev-add: size: expected an integer, got a string')
    shell.run('qom-get path=/machine property=123', r"GenericError: Property 'none-machine\.123' not found")
    # values complete too: an enum's, a bool's
    shell.send('blockdev-add driver=null-\t')
    shell.expect(r'driver=null-$')
    shell.send('c\t')
    shell.expect(r'co $')
    shell.send('node-name=n0 cache.d\t')
    shell.expect(r'cache\.direct=$')
    shell.send('t\t')
    shell.expect(r'true $')
    shell.run('', r'\{\}')
    assert [n['node-name'] for n in monitor.execute('query-named-block-nodes')] == ['n0']
    # a dotted key, through the variant that file.driver selects
    shell.send('blockdev-add driver=raw node-name=r0 file.driver=null-co file.read-z\t')
    shell.expect(r'file\.read-zeroes=$')
    shell.send('\x15')
    shell.run('human-monitor-command command-line="info status"', r'[^"]VM status: running\n')


@shell_test
def test_shell_eof(peers, shell, monitor):
    """shell: Ctrl-D leaves with status 0"""
    shell.run('query-status', r'"running": true')
    shell.send('\x04')
    assert shell.wait() == 0


def test_shell_launch():
    """shell: on a launched QEMU, events show; it leaves after “quit”"""
    with Peers() as peers:
        if shutil.which(QEMU) is None:
            raise Skip(QEMU + ' is not installed')
        shell = Terminal([QMPCTL, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
        try:
            shell.expect(PROMPT)
            shell.send('stop\r')
            check_event_line(shell.expect(r'\{"event":"STOP".*\}').group(0), 'STOP')
            shell.send('quit\r')
            shell.expect(r'"event":"SHUTDOWN"')
            shell.expect(r'The server closed the connection')
            assert shell.wait() == 0
        finally:
            shell.close()


# ------------------------------------------------------------------ exactness

NUMBERS = ('{"u64": 18446744073709551615, "i64": -9223372036854775808, "huge": 1e400,'
           ' "tiny": -1.5e-400, "long": 0.1000000000000000055511151231257827, "zero": -0,'
           ' "exp": 1E+2, "digits": 123456789012345678901234567890,'
           '"list":[-0.0,5e-324,1e+2,{}, [], "\\u00e9\\n"]}')
NUMBERS_PRETTY = """{
  "u64": 18446744073709551615,
  "i64": -9223372036854775808,
  "huge": 1e400,
  "tiny": -1.5e-400,
  "long": 0.1000000000000000055511151231257827,
  "zero": -0,
  "exp": 1E+2,
  "digits": 123456789012345678901234567890,
  "list": [
    -0.0,
    5e-324,
    1e+2,
    {},
    [],
    "\\u00e9\\n"
  ]
}
"""


def test_numbers_exact():
    """every number prints as the server wrote it (mock: 1e400, 2^64-1, -0…)"""
    with Peers() as peers:
        address = peers.mock_qmp({'numbers': NUMBERS, 'big': ' 18446744073709551615',
                                  'float': '-0.0', 'nothing': '{ }'})
        out = check(qmpctl(peers, '-s', address, 'numbers', ',', 'big', ',', 'float', ',', 'nothing'))
        assert out == NUMBERS_PRETTY + '18446744073709551615\n-0.0\n{}\n', out
        assert json.loads(NUMBERS_PRETTY) == json.loads(NUMBERS)
        # the same with colours: the lexemes stay, only numbers go uncoloured
        terminal = Terminal([QMPCTL, '-s', address, 'numbers'], peers.env(TERM='xterm'))
        try:
            assert terminal.wait() == 0
            assert '\x1b[32m"\\u00e9\\n"\x1b[0m' in terminal.raw, terminal.raw
            text = ANSI.sub('', terminal.raw).replace('\r', '')
            assert text == NUMBERS_PRETTY, text
        finally:
            terminal.close()


def max_rss_kib(argv, env):
    """Runs argv with its output to /dev/null; its status and peak RSS."""
    script = ('import resource, subprocess, sys\n'
              'status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,'
              ' stdin=subprocess.DEVNULL).returncode\n'
              'print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n')
    out = subprocess.run([sys.executable, '-c', script, *argv], env=env, capture_output=True,
                         text=True, timeout=TIMEOUT, check=True).stdout
    return tuple(int(n) for n in out.split())


def test_deep_output_memory():
    """pretty output far larger than the reply is written as it is made"""
    # 1000 levels deep, 100,000 empty arrays: 300 KB of JSON, 200 MB pretty
    deep = '[' * 1000 + '[],' * 99999 + '[]' + ']' * 1000
    # 100 levels, 3,000 arrays: 600 KB in pieces of 64 KiB
    small = '[' * 100 + '[],' * 2999 + '[]' + ']' * 100
    with Peers() as peers:
        address = peers.mock_qmp({'deep': deep, 'small': small})
        status, rss = max_rss_kib([QMPCTL, '-s', address, 'deep'], peers.env())
        assert status == 0 and rss < 64 * 1024, (status, rss)
        out = check(qmpctl(peers, '-s', address, 'small'))
        assert len(out) > 600 * 1000 and ''.join(out.split()) == small, len(out)
        assert out.startswith('[\n  [\n    [\n') and '\n' + ' ' * 200 + '[],\n' in out


def test_numbers_exact_qemu():
    """a uint64 above 2^63-1 from a real QEMU prints exactly, not as -1"""
    with Peers() as peers:
        address, other = peers.qemu(2)
        monitor = Qmp(other)
        monitor.execute('migrate-set-parameters', **{'max-bandwidth': 2**64 - 1})
        out = check(qmpctl(peers, '-s', address, 'query-migrate-parameters'))
        assert '\n  "max-bandwidth": 18446744073709551615,\n' in out, out
        assert json.loads(out)['max-bandwidth'] == 2**64 - 1
        monitor.close()


def test_event_numbers():
    """events print every number exactly as the server wrote it"""
    with Peers() as peers:
        address = peers.mock_qmp({}, event=b'{"event": "NUMBERS", "data": {"huge": 1e400, "small": -1e400,'
                                           b' "long": 0.1000000000000000055511151231257827, "n": -42,'
                                           b' "e": 2.5E-3, "l": [1.0, {}], "u": 18446744073709551615}, "timestamp":'
                                           b' {"seconds": 1, "microseconds": 2}}')
        out = check(qmpctl(peers, '-s', address, 'events', '--count', '1'))
        assert out == ('{"event":"NUMBERS","data":{"huge":1e400,"small":-1e400,'
                       '"long":0.1000000000000000055511151231257827,"n":-42,'
                       '"e":2.5E-3,"l":[1.0,{}],"u":18446744073709551615},'
                       '"timestamp":{"seconds":1,"microseconds":2}}\n'), out
        assert json.loads(out)['data']['u'] == 2**64 - 1


# ------------------------------------------------------------------ output errors

def run_to(peers, stdout, *args, preexec_fn=None):
    return subprocess.run([QMPCTL, *args], env=peers.env(), stdin=subprocess.DEVNULL,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT,
                          preexec_fn=preexec_fn)


def test_output_full():
    """standard output on /dev/full: a message and status 1"""
    with Peers() as peers:
        address = peers.mock_qmp({'numbers': NUMBERS}, event=b'{"event": "X", "timestamp":'
                                                             b' {"seconds": 1, "microseconds": 2}}')
        message = r'^qmpctl: Could not write to standard output: No space left on device\n$'
        with open('/dev/full', 'w') as full:
            for args in (['-s', address, 'numbers'], ['-s', address, 'events'],
                         ['-s', address, 'wait', 'X'], ['--help'], ['--version']):
                check(run_to(peers, full, *args), 1, message)


def test_output_closed():
    """standard output closed (>&-): a message and status 1"""
    with Peers() as peers:
        address, = peers.qemu()
        for args in (['-s', address, 'query-status'], ['--help']):
            result = run_to(peers, None, *args, preexec_fn=lambda: os.close(1))
            check(result, 1, r'^qmpctl: Could not write to standard output: Bad file descriptor\n$')
        # the socket did not take the place of standard output: QEMU is fine
        check(qmpctl(peers, '-s', address, 'query-status'))


def test_output_broken_pipe():
    """a reader that went away (| head -c1): quiet, but not status 0"""
    with Peers() as peers:
        address, = peers.qemu()
        mock = peers.mock_qmp({}, event=b'{"event": "X", "timestamp": {"seconds": 1, "microseconds": 2}}')
        # query-qmp-schema is larger than a pipe's buffer; events never end
        for args in ([address, 'query-qmp-schema'], [mock, 'events']):
            process = subprocess.Popen([QMPCTL, '-s', *args], env=peers.env(), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            head = subprocess.run(['head', '-c1'], stdin=process.stdout, capture_output=True,
                                  timeout=TIMEOUT)
            process.stdout.close()
            assert head.stdout in (b'{', b'['), head.stdout
            process.wait(timeout=TIMEOUT)
            err = process.stderr.read()
            process.stderr.close()
            assert process.returncode == 1 and err == b'', (args, process.returncode, err)


# ------------------------------------------------------------------ a busy monitor

def test_busy_monitor():
    """a QEMU monitor with a client already: no greeting, a hint, status 2"""
    with Peers() as peers:
        address, = peers.qemu()
        monitor = Qmp(address)
        check(qmpctl(peers, '-s', address, '--timeout', '0.5', 'query-status'), 2,
              r'^qmpctl: No QMP greeting from ' + re.escape(address) +
              r' after 0\.5 s: is another client connected\?\n$')
        monitor.close()
        # once that client left, qmpctl gets its turn
        assert json.loads(check(qmpctl(peers, '-s', address, 'query-status')))['running']


# ------------------------------------------------------------------ hostile peers

BAD_COMMANDS = '[{"name": {"x": 1}}, {"name": ["a"]}, 5, null, "s", {"name": 7}, {"name": "good-cmd"}]'
BAD_SCHEMA = ('[5, "s", null, {"name": {"a": 1}}, {"name": "bad-meta", "meta-type": {"a": 1}},'
              ' {"name": "good-cmd", "meta-type": "command", "arg-type": "args"},'
              ' {"name": "other", "meta-type": "command", "arg-type": [1]},'
              ' {"name": "args", "meta-type": "object", "tag": {"x": 1}, "variants": 5,'
              '  "members": [{"name": {}}, 3, null, {"name": "good-arg"}, {"name": ["x"]}]},'
              ' {"name": "u", "meta-type": "object", "tag": "kind", "members": {"x": 1},'
              '  "variants": [7, {"case": {}, "type": []}, {"case": "a", "type": {"t": 1}},'
              '               {"case": "a", "type": "args"}]},'
              ' {"name": "union-cmd", "meta-type": ["command"], "arg-type": "u"},'
              ' {"name": "union-cmd2", "meta-type": "command", "arg-type": "u"}]')


def test_schema_loops():
    """help, completion: a schema that loops or is huge ends, and is cut"""
    variants = ', '.join('{"case": "a", "type": "t"}' for _ in range(50))
    alternates = ', '.join('{"type": "alt"}' for _ in range(50))
    schema = ('[{"name": "c", "meta-type": "command", "arg-type": "t", "ret-type": "alt"},'
              ' {"name": "t", "meta-type": "object", "tag": "kind",'
              '  "members": [{"name": "kind", "type": "alt"}], "variants": [%s]},'
              ' {"name": "alt", "meta-type": "alternate", "members": [%s]},'
              ' {"name": "arr", "meta-type": "array", "element-type": "arr"}]' % (variants, alternates))
    with Peers() as peers:
        address = peers.mock_qmp({'query-qmp-schema': schema, 'query-commands': '[{"name": "c"}]'})
        # the walk stops where a type comes back
        # the walk stops where a type comes back: the variant "a" is the
        # arguments again, an alternate is not looked into for alternates
        assert check(qmpctl(peers, '-s', address, 'help', 'c')) == \
            'c\n  kind=alternate\nReturns: alternate\n'

        shell = Terminal([QMPCTL, '-s', address, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
        try:
            shell.expect(PROMPT)
            shell.send('c kind=a ki\t')
            shell.expect(r'kind=$')
            shell.send('\x15\x04')
            assert shell.wait() == 0, shell.text
        finally:
            shell.close()
    # 20 levels of objects whose three members are the next: 3^20 lines
    # without a cut
    levels = ', '.join('{"name": "o%d", "meta-type": "object", "members": [{"name": "a", "type": "o%d"},'
                       ' {"name": "b", "type": "o%d"}, {"name": "c", "type": "o%d"}]}'
                       % (i, i + 1, i + 1, i + 1) for i in range(20))
    schema = ('[{"name": "c", "meta-type": "command", "arg-type": "o0", "ret-type": "int"}, %s,'
              ' {"name": "o20", "meta-type": "object", "members": [{"name": "x", "type": "int"}]},'
              ' {"name": "int", "meta-type": "builtin", "json-type": "int"}]' % levels)
    with Peers() as peers:
        address = peers.mock_qmp({'query-qmp-schema': schema, 'query-commands': '[{"name": "c"}]'})
        out = check(qmpctl(peers, '-s', address, 'help', 'c'))
        assert 256 * 1024 <= len(out.encode()) < 1024 * 1024 and out.endswith('\n…\nReturns: int\n'), len(out)
        assert out.startswith('c\n  a={…}\n    a.a={…}\n      a.a.a={…}\n'), out[:100]
    # 200,000 members: completion does not compare each with all others
    members = ', '.join('{"name": "m%d", "type": "str"}' % i for i in range(200000))
    schema = ('[{"name": "c", "meta-type": "command", "arg-type": "t", "ret-type": "str"},'
              ' {"name": "t", "meta-type": "object", "members": [%s]},'
              ' {"name": "str", "meta-type": "builtin", "json-type": "string"}]' % members)
    with Peers() as peers:
        address = peers.mock_qmp({'query-qmp-schema': schema, 'query-commands': '[{"name": "c"}]'})
        shell = Terminal([QMPCTL, '-s', address, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
        try:
            shell.expect(PROMPT)
            shell.send('c m19999\t')
            shell.expect(r'm19999$')
            shell.send('9\t')
            shell.expect(r'^9=$')   # the line is now "c m199999="
            shell.send('\x15\x04')
            assert shell.wait() == 0, shell.text
        finally:
            shell.close()


def test_hostile_schema():
    """help, shell: a malformed schema fails help with QmpSchema's error; the shell still runs"""
    malformed = r'qmpctl: The server’s schema is malformed: '
    for commands, schema in ((BAD_COMMANDS, BAD_SCHEMA), ('{"name": 1}', '{"a": [1]}'),
                             ('"x"', '7')):
        with Peers() as peers:
            address = peers.mock_qmp({'query-commands': commands, 'query-qmp-schema': schema})
            shell = Terminal([QMPCTL, '-s', address, 'shell'], peers.env(TERM='xterm', NO_COLOR='1'))
            try:
                shell.expect(malformed)
                shell.expect(PROMPT)
                # nothing to complete, no argument check: the command goes
                shell.send('good\t\t')
                shell.send('\x15help x\r')
                shell.expect(r'qmpctl: “x” is not a command of this server')
                shell.expect(PROMPT)
                shell.send('good-cmd good-arg=1\r')
                shell.expect(r'CommandNotFound: no')
                shell.expect(PROMPT)
                shell.send('\x15\x04')
                assert shell.wait() == 0, shell.text
            finally:
                shell.close()
            check(qmpctl(peers, '-s', address, 'help', 'union-cmd2'), 1, '^' + malformed)
            check(qmpctl(peers, '-s', address, 'help'), 1, '^' + malformed)


TESTS = [value for name, value in list(globals().items()) if name.startswith('test_')]


def report_peers():
    """Names each binary the tests run against, in TAP comments; with
    QMP_TEST_EXPECT_VERSION set, one of another version bails out."""
    expected = os.environ.get('QMP_TEST_EXPECT_VERSION', '')
    paths = {binary: shutil.which(binary) for binary in (QEMU, LAUNCHED_QEMU, QSD, QGA)}
    for binary in [b for b, p in paths.items() if p is None]:
        print(f'# peer {binary}: not found')
    for path in dict.fromkeys(p for p in paths.values() if p is not None):
        line, version = peer_version(path)
        version = '%(major)d.%(minor)d.%(micro)d' % version
        print(f'# peer {os.path.basename(path)} {version} ({path}: {line})')
        if expected and not (version + '.').startswith(expected + '.'):
            print(f'Bail out! {path} is {version}, but QMP_TEST_EXPECT_VERSION is {expected}')
            sys.exit(1)


def main():
    report_peers()
    print(f'1..{len(TESTS)}', flush=True)
    failed = 0
    for number, test in enumerate(TESTS, 1):
        name = f'{test.__name__[5:]}: {test.__doc__}'
        try:
            test()
        except Skip as skip:
            print(f'ok {number} - {name} # SKIP {skip}', flush=True)
        except Exception:
            failed += 1
            print(f'not ok {number} - {name}')
            for line in traceback.format_exc().splitlines():
                print(f'# {line}')
            sys.stdout.flush()
        else:
            print(f'ok {number} - {name}', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
