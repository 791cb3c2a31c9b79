#!/usr/bin/python3
# test-qmpctl-proxy.py: `qmpctl --socket QEMU proxy LISTEN-ADDRESS` against a
# real qemu-system-x86_64, with qmpctl clients, a library client (through
# GObject introspection) and a raw socket client at once; prints TAP.
#
#   GI_TYPELIB_PATH=_build/qmp-glib LD_LIBRARY_PATH=_build/qmp-glib \
#     PYTHONPATH=bindings/python /usr/bin/python3 tests/test-qmpctl-proxy.py _build/tools/qmpctl
#
# Each test starts its own QEMU and proxy in its own temporary directory and
# kills them in a finally block (they also die with this script:
# PR_SET_PDEATHSIG).  Every wait has a deadline: nothing here can hang.
# The TLS tests make their certificates with certtool (gnutls-bin), and
# need glib-networking.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import gi
gi.require_version('Qmp', '1.0')
from gi.repository import Gio, GLib, Qmp  # noqa: E402

from qmpctltest import is_listening  # noqa: E402

QMPCTL = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ['QMP_TEST_QMPCTL'])
QEMU = os.environ.get('QMP_TEST_QEMU') or 'qemu-system-x86_64'
TIMEOUT = 30          # seconds: a bound for what should be quick, never a measure
FEW_SECONDS = 10      # "exits within a few seconds", the words of the contract
# The messages the tests read are qmpctl's English ones.
CHILD_ENV = dict(os.environ, LC_ALL='C.UTF-8', LANGUAGE='')
CHILD_ENV.pop('G_MESSAGES_DEBUG', None)

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG



def wait_until(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.01)


def json_documents(text):
    decoder = json.JSONDecoder()
    documents, text = [], text.strip()
    while text:
        document, end = decoder.raw_decode(text)
        documents.append(document)
        text = text[end:].strip()
    return documents


class Lines:
    """The lines a child writes on one pipe, read by a thread."""

    def __init__(self, pipe):
        self.lines = []
        self.cond = threading.Condition()
        self.ended = False
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        try:
            for line in pipe:
                with self.cond:
                    self.lines.append(line.rstrip('\n'))
                    self.cond.notify_all()
        except (ValueError, OSError):
            pass   # closed by Test.__exit__ while a killed child's last bytes came
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def wait_for(self, predicate, what, timeout=TIMEOUT):
        """The first line that predicate accepts, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    raise AssertionError('no line with %s in %r' % (what, self.lines[-20:]))
                self.cond.wait(left)

    def wait_end(self, timeout=TIMEOUT):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'the pipe did not close'
        return list(self.lines)

    def text(self):
        with self.cond:
            return '\n'.join(self.lines)


class Child:
    """A qmpctl process whose output is read as it comes."""

    def __init__(self, test, *args, debug=False):
        env = dict(CHILD_ENV)
        if debug:
            # Qmp's debug messages, on standard output: every line sent
            env['G_MESSAGES_DEBUG'] = 'Qmp'
        self.process = subprocess.Popen([QMPCTL, *args], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, preexec_fn=die_with_parent)
        test.processes.append(self.process)
        self.stdout = Lines(self.process.stdout)
        self.stderr = Lines(self.process.stderr)

    def wait(self, timeout=TIMEOUT):
        """The exit status, within timeout seconds."""
        return self.process.wait(timeout)

    def events(self):
        """The JSON lines of its standard output (qmpctl events)."""
        return [json.loads(line) for line in self.stdout.text().split('\n') if line.startswith('{')]


class Test:
    """A temporary directory with one test's processes; kills them all."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='test-qmpctl-proxy-')
        self.processes = []
        self.sockets = []
        self.qemu_process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for s in self.sockets:
            s.close()
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                process.kill()
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def qemu(self):
        """A qemu-system with nothing in it; the path of its monitor."""
        path = self.path('qmp.sock')
        self.qemu_process = subprocess.Popen(
            [QEMU, '-M', 'none', '-nodefaults', '-display', 'none',
             '-qmp', 'unix:%s,server=on,wait=off' % path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.processes.append(self.qemu_process)
        wait_until(lambda: is_listening(path) or self.qemu_process.poll() is not None,
                   'QEMU to listen')
        assert self.qemu_process.poll() is None, 'QEMU exited with %d' % self.qemu_process.returncode
        return path

    def proxy(self, listen, *options, debug=False):
        """qmpctl proxy to this test's QEMU, once it said it listens."""
        proxy = Child(self, '--socket', self.qemu(), 'proxy', *options, listen, debug=debug)
        line = proxy.stderr.wait_for(lambda line: 'Listening on' in line, '“Listening on”')
        # meson test --setup=qemu10 wants every peer of that version
        expected = os.environ.get('QMP_TEST_EXPECT_VERSION')
        assert not expected or (' of QEMU %s.' % expected) in line, (expected, line)
        path = listen[len('unix:'):] if listen.startswith('unix:') else listen
        # (not is_listening: /proc/net/unix names the private path where
        # the library bound it before linking it here)
        assert stat.S_ISSOCK(os.lstat(path).st_mode), path + ' is not a socket'
        return proxy

    def qmpctl(self, *args, **kwargs):
        """qmpctl run to its end."""
        return subprocess.run([QMPCTL, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=TIMEOUT, env=CHILD_ENV,
                              preexec_fn=die_with_parent, **kwargs)

    def raw_client(self, path):
        """A QMP client on a bare socket, negotiated: (socket, lines)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sockets.append(s)
        s.settimeout(TIMEOUT)
        s.connect(path)
        lines = s.makefile('r', encoding='utf-8')
        greeting = json.loads(lines.readline())
        assert 'QMP' in greeting, greeting
        s.sendall(b'{"execute": "qmp_capabilities", "id": "neg"}\n')
        assert json.loads(lines.readline()) == {'return': {}, 'id': 'neg'}
        return s, lines


def library_client(path):
    """A Qmp.Connection through the proxy, its calls bounded by TIMEOUT."""
    connection = Qmp.Connection(address='unix:' + path, timeout=TIMEOUT * 1000)
    connection.init(None)
    return connection


def hmp_print(n):
    """What human-monitor-command "print N" returns: N in hex, QEMU's own
    computation, so a reply says which command it answers."""
    return '%#x\r\n' % n


def hmp_args(n):
    return ['human-monitor-command', 'command-line=print %d' % n]


def batch(numbers):
    """A qmpctl command line of one human-monitor-command per number."""
    args = []
    for n in numbers:
        args += ([','] if args else []) + hmp_args(n)
    return args


def forwarded(command):
    """A debug line of the proxy that sent command to QEMU."""
    return lambda line: '→ {"execute":"%s"' % command in line


def check_proxy_exits(proxy, status, path, timeout=FEW_SECONDS):
    """The proxy ends by itself within a few seconds, with status, and
    removes its socket."""
    try:
        returncode = proxy.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError('the proxy still runs after %d s' % timeout)
    stderr = '\n'.join(proxy.stderr.wait_end())
    assert returncode == status, (returncode, stderr)
    assert not os.path.lexists(path), path + ' is still there'
    assert 'CRITICAL' not in stderr and 'WARNING' not in stderr, stderr
    return stderr


def certtool(directory, *args):
    subprocess.run(['certtool', *args], cwd=directory, check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(directory, name, template, ca=None):
    """NAME-key.pem and NAME-cert.pem: self-signed without ca (a CA),
    else signed by ca."""
    with open(os.path.join(directory, name + '.info'), 'w') as f:
        f.write(template + 'expiration_days = 2\n')
    certtool(directory, '--generate-privkey', '--key-type', 'ecdsa', '--outfile', name + '-key.pem')
    if ca is None:
        certtool(directory, '--generate-self-signed', '--load-privkey', name + '-key.pem',
                 '--template', name + '.info', '--outfile', name + '-cert.pem')
    else:
        certtool(directory, '--generate-certificate', '--load-privkey', name + '-key.pem',
                 '--load-ca-certificate', ca + '-cert.pem', '--load-ca-privkey', ca + '-key.pem',
                 '--template', name + '.info', '--outfile', name + '-cert.pem')


class Certificates:
    """A CA, the proxy's certificate for 127.0.0.1 and a client's from it;
    a client's from another CA."""

    def __init__(self, directory):
        self.dir = os.path.join(directory, 'certs')
        os.mkdir(self.dir)
        make_cert(self.dir, 'ca', 'cn = qmpctl proxy test CA\nca\ncert_signing_key\n')
        make_cert(self.dir, 'other-ca', 'cn = qmpctl proxy test other CA\nca\ncert_signing_key\n')
        make_cert(self.dir, 'server', 'cn = 127.0.0.1\nip_address = 127.0.0.1\n'
                  'tls_www_server\nencryption_key\nsigning_key\n', 'ca')
        make_cert(self.dir, 'client', 'cn = qmpctl proxy test client\ntls_www_client\n'
                  'encryption_key\nsigning_key\n', 'ca')
        make_cert(self.dir, 'stranger', 'cn = qmpctl proxy test stranger\ntls_www_client\n'
                  'encryption_key\nsigning_key\n', 'other-ca')

    def path(self, name):
        return os.path.join(self.dir, name)

    def proxy_options(self):
        """qmpctl proxy's options for a tls: LISTEN-ADDRESS."""
        return ['--proxy-cert', self.path('server-cert.pem'), '--proxy-key',
                self.path('server-key.pem'), '--proxy-client-ca', self.path('ca-cert.pem')]

    def client_options(self, name='client'):
        """A qmpctl client's, with name's certificate (None: none)."""
        options = ['--tls-ca', self.path('ca-cert.pem')]
        if name is not None:
            options += ['--tls-cert', self.path(name + '-cert.pem'),
                        '--tls-key', self.path(name + '-key.pem')]
        return options


def inet_proxy(t, listen, *options):
    """qmpctl proxy on tcp: or tls:, once it said where it listens: the
    proxy and that address (with the port it got)."""
    proxy = Child(t, '--socket', t.qemu(), 'proxy', *options, listen)
    line = proxy.stderr.wait_for(lambda line: 'Listening on' in line, '“Listening on”')
    expected = os.environ.get('QMP_TEST_EXPECT_VERSION')
    assert not expected or (' of QEMU %s.' % expected) in line, (expected, line)
    match = re.search(r'Listening on ((tcp|tls):(\[[0-9a-f:]+\]|[0-9.]+):([0-9]+)) for ', line)
    assert match, line
    assert match.group(2) == listen[:3], (listen, line)
    assert int(match.group(4)) != 0, line
    return proxy, match.group(1)


def inet_port(address):
    """(family, host, port) of tcp:HOST:PORT or tls:HOST:PORT."""
    host, port = address[4:].rsplit(':', 1)
    if host.startswith('['):
        return socket.AF_INET6, host[1:-1], int(port)
    return socket.AF_INET, host, int(port)


def connects(address):
    """Whether anything accepts a TCP connection at address."""
    family, host, port = inet_port(address)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        try:
            s.connect((host, port))
            return True
        except ConnectionRefusedError:
            return False


def check_inet_proxy_exits(proxy, status, address, timeout=FEW_SECONDS):
    """The proxy ends by itself within a few seconds, with status, and
    its port is closed."""
    try:
        returncode = proxy.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError('the proxy still runs after %d s' % timeout)
    stderr = '\n'.join(proxy.stderr.wait_end())
    assert returncode == status, (returncode, stderr)
    assert not connects(address), address + ' still accepts connections'
    assert 'CRITICAL' not in stderr and 'WARNING' not in stderr, stderr
    return stderr


# ------------------------------------------------------------------ tests

def test_interleaved():
    """two qmpctl clients, a library client and a raw one at once: each
    gets its own replies, in order"""
    with Test() as t:
        path = t.path('proxy.sock')
        proxy = t.proxy(path, debug=True)
        n = 60
        library = library_client(path)
        raw, raw_lines = t.raw_client(path)

        # QEMU stopped, so that every client has a command waiting in it
        # when it goes on: the replies interleave for sure.
        os.kill(t.qemu_process.pid, signal.SIGSTOP)
        clients = [Child(t, '--socket', path, *batch(range(base, base + n)))
                   for base in (1000, 2000)]
        library_replies, library_errors = [], []

        def run_library():
            try:
                for i in range(n):
                    library_replies.append(library.execute_sync(
                        'human-monitor-command', {'command-line': 'print %d' % (3000 + i)}))
            except Exception as e:  # noqa: BLE001
                library_errors.append(e)

        library_thread = threading.Thread(target=run_library, daemon=True)
        library_thread.start()
        # The raw client's ids are of its own kinds, and it does not wait
        for i in range(n):
            raw.sendall(json.dumps({'execute': 'human-monitor-command',
                                    'arguments': {'command-line': 'print %d' % (4000 + i)},
                                    'id': {'raw': [i]} if i % 2 else 'r%d' % i}).encode() + b'\n')
        for base in (1000, 2000, 3000, 4000):
            proxy.stdout.wait_for(lambda line: 'print %d' % base in line,
                                  'the first command of client %d forwarded' % base)
        os.kill(t.qemu_process.pid, signal.SIGCONT)

        for i in range(n):
            reply = json.loads(raw_lines.readline())
            assert reply == {'return': hmp_print(4000 + i),
                             'id': {'raw': [i]} if i % 2 else 'r%d' % i}, (i, reply)
        library_thread.join(TIMEOUT)
        assert not library_thread.is_alive(), 'the library client hangs'
        assert not library_errors, library_errors
        assert library_replies == [hmp_print(3000 + i) for i in range(n)], library_replies
        for client, base in zip(clients, (1000, 2000)):
            assert client.wait() == 0, client.stderr.text()
            documents = json_documents('\n'.join(client.stdout.wait_end()))
            assert documents == [hmp_print(base + i) for i in range(n)], documents
        assert proxy.process.poll() is None


def test_events():
    """events (STOP, RESUME) reach every client: two qmpctl events, a
    library client and a raw client, the same events"""
    with Test() as t:
        path = t.path('proxy.sock')
        t.proxy('unix:' + path)
        library = library_client(path)
        queue = Qmp.EventQueue.new(library, ['STOP', 'RESUME'])
        raw, raw_lines = t.raw_client(path)
        watchers = [Child(t, '--socket', path, 'events', 'STOP', 'RESUME') for _ in range(2)]

        # A watcher listens once it printed an event: stop and cont until
        # both did.  The events are then drained from the library's queue.
        deadline = time.monotonic() + TIMEOUT
        while not all(w.events() for w in watchers):
            assert time.monotonic() < deadline, 'the watchers see no event'
            library.execute_sync('stop')
            library.execute_sync('cont')
            time.sleep(0.05)
        while queue.get_length() > 0:
            queue.pop_sync(timeout=TIMEOUT)

        # The events of these two commands, from two other clients
        result = t.qmpctl('--socket', path, 'stop')
        assert result.returncode == 0, result.stderr
        raw.sendall(b'{"execute": "cont", "id": 7}\n')
        expected = []
        for name in ('STOP', 'RESUME'):
            event = queue.pop_sync(timeout=TIMEOUT)
            assert event.get_name() == name, event.get_name()
            stamp = event.get_timestamp()
            expected.append({'event': name, 'timestamp': {'seconds': stamp.to_unix(),
                                                          'microseconds': stamp.get_microsecond()}})

        # The raw client: the events of its own cont, then its reply
        seen = []
        while True:
            message = json.loads(raw_lines.readline())
            if 'return' in message:
                assert message == {'return': {}, 'id': 7}, message
                break
            seen.append(message)
        assert seen[-2:] == expected, (seen, expected)

        for watcher in watchers:
            wait_until(lambda: watcher.events()[-2:] == expected,
                       'the watcher to print %r: %r' % (expected, watcher.events()))
            watcher.process.send_signal(signal.SIGINT)
            assert watcher.wait() == 0, watcher.stderr.text()


def test_client_killed():
    """a client killed (SIGKILL) while its command is pending in QEMU: its
    reply is dropped, the other clients and the proxy go on"""
    with Test() as t:
        path = t.path('proxy.sock')
        proxy = t.proxy(path, debug=True)
        library = library_client(path)
        queue = Qmp.EventQueue.new(library, ['STOP'])

        os.kill(t.qemu_process.pid, signal.SIGSTOP)
        victim = Child(t, '--socket', path, 'stop')
        proxy.stdout.wait_for(forwarded('stop'), 'the victim’s stop forwarded')
        # The library's command after it, pending too
        statuses, errors = [], []

        def query():
            try:
                statuses.append(library.execute_sync('query-status'))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        thread = threading.Thread(target=query, daemon=True)
        thread.start()
        proxy.stdout.wait_for(forwarded('query-status'), 'query-status forwarded')
        victim.process.kill()
        assert victim.wait() == -signal.SIGKILL
        os.kill(t.qemu_process.pid, signal.SIGCONT)

        # The stop reached QEMU, and its reply did not go to the library
        thread.join(TIMEOUT)
        assert not thread.is_alive() and not errors, errors
        assert statuses[0]['status'] == 'paused' and statuses[0]['running'] is False, statuses
        assert queue.pop_sync(timeout=TIMEOUT).get_name() == 'STOP'

        result = t.qmpctl('--socket', path, 'query-status', ',', 'cont', ',', 'query-status')
        assert result.returncode == 0, result.stderr
        first, cont, last = json_documents(result.stdout)
        assert (first['status'], cont, last['status']) == ('paused', {}, 'running'), result.stdout
        assert library.execute_sync('query-name') == {}
        assert proxy.process.poll() is None
        assert 'CRITICAL' not in proxy.stderr.text() and 'WARNING' not in proxy.stderr.text()


def test_qemu_quits():
    """a client's quit: QEMU goes, the proxy closes its clients, removes
    its socket and exits 0 within a few seconds"""
    with Test() as t:
        path = t.path('proxy.sock')
        proxy = t.proxy(path)
        library = library_client(path)
        raw, raw_lines = t.raw_client(path)
        watcher = Child(t, '--socket', path, 'events', debug=True)
        watcher.stdout.wait_for(lambda line: '← {"return":{},"id":1}' in line,
                                'the watcher’s negotiation')
        result = t.qmpctl('--socket', path, 'quit')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout) == [{}]

        stderr = check_proxy_exits(proxy, 0, path)
        assert 'QEMU shut down (host-qmp-quit)' in stderr, stderr
        assert t.qemu_process.wait(TIMEOUT) == 0
        # Every client was closed: the watcher's stream ended with the
        # server, the raw client got QEMU's last words, then the end
        assert watcher.wait() == 0, watcher.stderr.text()
        shutdown = json.loads(raw_lines.readline())
        assert shutdown['event'] == 'SHUTDOWN', shutdown
        assert shutdown['data'] == {'guest': False, 'reason': 'host-qmp-quit'}, shutdown
        assert raw_lines.readline() == ''
        wait_until(library.is_closed, 'the library client to be closed')


def test_qemu_killed():
    """QEMU killed: the proxy exits 1 within a few seconds, says why, and
    removes its socket"""
    with Test() as t:
        path = t.path('proxy.sock')
        proxy = t.proxy(path)
        library = library_client(path)
        t.qemu_process.kill()
        stderr = check_proxy_exits(proxy, 1, path)
        assert 'QEMU went away without a SHUTDOWN event' in stderr, stderr
        wait_until(library.is_closed, 'the library client to be closed')


def interrupted(signum):
    with Test() as t:
        path = t.path('proxy.sock')
        proxy = t.proxy(path, debug=True)
        library = library_client(path)
        raw, raw_lines = t.raw_client(path)
        # A command pending in a stopped QEMU does not hold the proxy back
        os.kill(t.qemu_process.pid, signal.SIGSTOP)
        pending = Child(t, '--socket', path, 'query-status')
        proxy.stdout.wait_for(forwarded('query-status'), 'query-status forwarded')
        proxy.process.send_signal(signum)
        stderr = check_proxy_exits(proxy, 0, path)
        assert 'Interrupted' in stderr, stderr
        assert raw_lines.readline() == '', 'the raw client is still connected'
        wait_until(library.is_closed, 'the library client to be closed')
        assert pending.wait() == 1
        stderr = '\n'.join(pending.stderr.wait_end())
        assert 'The server closed the connection' in stderr, stderr
        # QEMU runs on, and its monitor is free for the next client
        os.kill(t.qemu_process.pid, signal.SIGCONT)
        assert t.qemu_process.poll() is None
        result = t.qmpctl('--socket', t.path('qmp.sock'), '--timeout', str(TIMEOUT), 'query-status')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout)[0]['status'] == 'running'


def test_sigint():
    """SIGINT, with a command pending in a stopped QEMU: the proxy closes
    its clients, removes its socket and exits 0 within a few seconds; QEMU
    runs on"""
    interrupted(signal.SIGINT)


def test_sigterm():
    """SIGTERM: likewise"""
    interrupted(signal.SIGTERM)


def connect_as_nobody(path):
    """Whether user nobody may connect to path: its errno, 0 if it could
    (and then read QEMU's greeting through it)."""
    code = ('import socket, sys\n'
            's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n'
            's.settimeout(%d)\n'
            'try:\n'
            '    s.connect(sys.argv[1])\n'
            'except OSError as e:\n'
            '    print(e.errno); sys.exit(0)\n'
            'print(0 if b"QMP" in s.makefile("rb").readline() else -1)\n' % TIMEOUT)
    result = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                             '/usr/bin/python3', '-c', code, path],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_socket_mode():
    """the socket is 0600 by default: another user gets EACCES; --mode
    gives other permissions"""
    if os.geteuid() != 0:
        raise AssertionError('needs root, to run a client as another user with setpriv')
    import errno
    with Test() as t:
        # Only the socket's own mode may refuse: its directory lets anyone in
        os.chmod(t.dir, 0o755)
        path = t.path('proxy.sock')
        proxy = t.proxy(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert connect_as_nobody(path) == errno.EACCES
        # The owner gets in
        result = t.qmpctl('--socket', path, 'query-name')
        assert result.returncode == 0, result.stderr
        proxy.process.send_signal(signal.SIGINT)
        check_proxy_exits(proxy, 0, path)

    with Test() as t:
        os.chmod(t.dir, 0o755)
        path = t.path('proxy.sock')
        t.proxy(path, '--mode', '0666')
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666, oct(os.stat(path).st_mode)
        # so that the refusal above was the mode's
        assert connect_as_nobody(path) == 0


def test_read_only():
    """--read-only: quit and stop are refused and never reach QEMU,
    query-* pass"""
    with Test() as t:
        path = t.path('ro.sock')
        proxy = t.proxy(path, '--read-only', '--mode', '0640')
        assert 'read-only clients' in proxy.stderr.text()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        for command in ('quit', 'stop'):
            result = t.qmpctl('--socket', path, command)
            assert result.returncode == 1, (result.returncode, result.stderr)
            assert result.stderr.strip() == ('GenericError: The command %s is not allowed '
                                              'on a read-only connection' % command), result.stderr
        library = library_client(path)
        try:
            library.execute_sync('quit')
            raise AssertionError('quit passed')
        except GLib.Error as e:
            assert e.qmp_class == 'GenericError', e
        assert t.qemu_process.poll() is None, 'QEMU quit'
        result = t.qmpctl('--socket', path, 'query-status')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout)[0]['running'] is True
        assert proxy.process.poll() is None


def test_existing():
    """an existing file or a live socket at LISTEN-ADDRESS is never
    replaced; a stale socket is"""
    with Test() as t:
        qemu = t.qemu()
        path = t.path('file')
        with open(path, 'w') as f:
            f.write('precious')
        result = t.qmpctl('--socket', qemu, 'proxy', path)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert '“%s” exists and is not a socket' % path in result.stderr, result.stderr
        with open(path) as f:
            assert f.read() == 'precious'

        # A socket something listens on
        live = t.path('live.sock')
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        t.sockets.append(server)
        server.bind(live)
        server.listen(1)
        result = t.qmpctl('--socket', qemu, 'proxy', live)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert 'Something listens on' in result.stderr, result.stderr
        # Still the server's: it accepts this client
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        t.sockets.append(client)
        client.connect(live)
        server.settimeout(TIMEOUT)
        server.accept()[0].close()

        # A stale one: nothing listens any more
        server.close()
        proxy = Child(t, '--socket', qemu, 'proxy', live)
        proxy.stderr.wait_for(lambda line: 'Listening on' in line, '“Listening on”')
        # (not by its inode: the stale one's number is free for the new one)
        assert stat.S_IMODE(os.stat(live).st_mode) == 0o600
        t.raw_client(live)
        proxy.process.send_signal(signal.SIGTERM)
        check_proxy_exits(proxy, 0, live)


def test_refused_addresses():
    """wrong LISTEN-ADDRESSes and options are refused before anything is
    connected (status 2)"""
    with Test() as t:
        for args, message in [
                (['proxy'], '“proxy” takes one LISTEN-ADDRESS'),
                (['proxy', 'a', 'b'], '“proxy” takes one LISTEN-ADDRESS'),
                (['proxy', 'vsock:2:1'], 'Invalid address “vsock:2:1” to listen on'),
                (['proxy', 'unix:'], 'Invalid address “unix:” to listen on'),
                (['--mode', '0660', 'query-status'], '--mode and --read-only apply to “proxy” only'),
                (['--read-only', 'events'], '--mode and --read-only apply to “proxy” only'),
                (['--mode', '0999', 'proxy', 'p'], '--mode must be permissions in octal'),
                (['--mode', '0', 'proxy', 'p'], '--mode must be permissions in octal'),
                (['--guest-agent', 'proxy', 'p'], '“proxy” serves a QEMU monitor'),
                (['proxy', 'vsock:2:1'], 'expected unix:PATH, a path, tls:HOST:PORT or tcp:HOST:PORT'),
                # HOST:PORT as the client side reads it, and a port that is there
                (['proxy', 'tls:::1:4444'], 'Invalid address “tls:::1:4444” to listen on'),
                (['proxy', 'tls:[::1]'], 'Invalid address “tls:[::1]” to listen on'),
                (['proxy', 'tls:127.0.0.1'], 'Invalid address “tls:127.0.0.1” to listen on'),
                (['proxy', 'tls::4444'], 'Invalid address “tls::4444” to listen on'),
                (['proxy', 'tcp:127.0.0.1:65536'], 'Invalid address “tcp:127.0.0.1:65536”'),
                (['proxy', 'tcp:127.0.0.1:-1'], 'Invalid address “tcp:127.0.0.1:-1”'),
                (['proxy', 'tcp:[::1:4444'], 'Invalid address “tcp:[::1:4444”'),
                # TLS: the three files, each needed
                (['proxy', 'tls:127.0.0.1:0'], '“proxy tls:HOST:PORT” needs --proxy-cert'),
                (['proxy', '--proxy-cert', 'c', '--proxy-client-ca', 'a', 'tls:127.0.0.1:0'],
                 '“proxy tls:HOST:PORT” needs --proxy-key'),
                (['proxy', '--proxy-cert', 'c', '--proxy-key', 'k', 'tls:127.0.0.1:0'],
                 '“proxy tls:HOST:PORT” needs --proxy-client-ca'),
                (['proxy', '--proxy-cert', 'c', 'p'], 'apply to “proxy tls:HOST:PORT” only'),
                (['--proxy-client-ca', 'a', 'query-status'], 'apply to “proxy tls:HOST:PORT” only'),
                (['proxy', '--proxy-key', 'k', '--insecure-tcp', 'tcp:127.0.0.1:0'],
                 'apply to “proxy tls:HOST:PORT” only'),
                # plain TCP: only when asked for by name
                (['proxy', 'tcp:127.0.0.1:0'], '“proxy tcp:HOST:PORT” would hand full control'),
                (['proxy', '--insecure-tcp', 'p'], '--insecure-tcp applies to “proxy tcp:HOST:PORT” only'),
                (['--insecure-tcp', 'query-status'], '--insecure-tcp applies to “proxy tcp:'),
                (['proxy', '--mode', '0600', '--insecure-tcp', 'tcp:127.0.0.1:0'],
                 '--mode applies to a Unix socket only'),
        ]:
            result = t.qmpctl('--socket', t.path('nothing.sock'), *args)
            assert result.returncode == 2, (args, result.returncode, result.stderr)
            assert message in result.stderr, (args, result.stderr)
        assert os.listdir(t.dir) == [], os.listdir(t.dir)


def test_tls():
    """tls:127.0.0.1:0: the Listening line gives the port it got; a client
    with a certificate from --proxy-client-ca runs query-status, one without
    a certificate and one from another CA are refused; a client's quit ends
    the proxy (status 0) and closes its port"""
    with Test() as t:
        certs = Certificates(t.dir)
        proxy, address = inet_proxy(t, 'tls:127.0.0.1:0', *certs.proxy_options())
        assert address.startswith('tls:127.0.0.1:'), address

        result = t.qmpctl('--socket', address, *certs.client_options(), 'query-status')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout)[0]['status'] == 'running', result.stdout

        # No greeting without the right certificate: connecting fails (2)
        for name in (None, 'stranger'):
            result = t.qmpctl('--socket', address, '--timeout', str(FEW_SECONDS),
                              *certs.client_options(name), 'query-status')
            assert result.returncode == 2, (name, result.returncode, result.stderr)
            assert result.stdout == '', (name, result.stdout)
            # Refused in the handshake ("Server required TLS certificate"),
            # or, as TLS 1.3 lets a client finish its handshake before the
            # proxy has checked its certificate, closed right after it
            assert re.search(r'certificate|closed the (TLS )?connection', result.stderr), \
                (name, result.stderr)
        # nor for a client that does not speak TLS at all
        family, host, port = inet_port(address)
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            s.sendall(b'{"execute": "qmp_capabilities"}\n' * 100)
            data = b''
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            assert b'QMP' not in data and b'return' not in data, data

        # The proxy and QEMU serve on
        assert proxy.process.poll() is None, proxy.stderr.text()
        assert t.qemu_process.poll() is None
        result = t.qmpctl('--socket', address, *certs.client_options(), 'query-name', ',', 'quit')
        assert result.returncode == 0, result.stderr
        stderr = check_inet_proxy_exits(proxy, 0, address)
        assert ('QEMU shut down (host-qmp-quit): the proxy on %s is closed' % address
                in stderr), stderr
        assert t.qemu_process.wait(TIMEOUT) == 0


def test_tls_read_only():
    """--read-only on tls:: quit is refused and never reaches QEMU, query-*
    passes; SIGINT ends the proxy with status 0 and closes its port"""
    with Test() as t:
        certs = Certificates(t.dir)
        proxy, address = inet_proxy(t, 'tls:127.0.0.1:0', '--read-only', *certs.proxy_options())
        assert 'for read-only clients' in proxy.stderr.text(), proxy.stderr.text()
        for command in ('quit', 'stop'):
            result = t.qmpctl('--socket', address, *certs.client_options(), command)
            assert result.returncode == 1, (result.returncode, result.stderr)
            assert result.stderr.strip() == ('GenericError: The command %s is not allowed '
                                              'on a read-only connection' % command), result.stderr
        assert t.qemu_process.poll() is None, 'QEMU quit'
        result = t.qmpctl('--socket', address, *certs.client_options(), 'query-status')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout)[0]['running'] is True, result.stdout

        proxy.process.send_signal(signal.SIGINT)
        stderr = check_inet_proxy_exits(proxy, 0, address)
        assert 'Interrupted: the proxy on %s is closed' % address in stderr, stderr
        # QEMU runs on, its monitor free again
        result = t.qmpctl('--socket', t.path('qmp.sock'), 'query-status')
        assert result.returncode == 0, result.stderr


def test_tls_bad_files():
    """a certificate, key or CA that does not load: status 2, before
    anything is connected, naming the option"""
    with Test() as t:
        certs = Certificates(t.dir)
        qemu = t.qemu()
        missing = t.path('missing.pem')
        for cert, key, ca, message in [
                (missing, certs.path('server-key.pem'), certs.path('ca-cert.pem'), '--proxy-cert'),
                (certs.path('server-cert.pem'), missing, certs.path('ca-cert.pem'), '--proxy-key'),
                (certs.path('server-cert.pem'), certs.path('server-key.pem'), missing,
                 '--proxy-client-ca'),
                # not a certificate
                (certs.path('server.info'), certs.path('server-key.pem'), certs.path('ca-cert.pem'),
                 '--proxy-cert')]:
            result = t.qmpctl('--socket', qemu, 'proxy', '--proxy-cert', cert, '--proxy-key', key,
                              '--proxy-client-ca', ca, 'tls:127.0.0.1:0')
            assert result.returncode == 2, (message, result.returncode, result.stderr)
            assert result.stderr.startswith('qmpctl: --proxy-'), (message, result.stderr)
            assert message + ' ' + (missing if missing in (cert, key, ca) else cert) in result.stderr, \
                (message, result.stderr)
            assert 'Listening' not in result.stderr, result.stderr
        # QEMU's monitor was never taken: the next client gets it at once
        result = t.qmpctl('--socket', qemu, '--timeout', str(FEW_SECONDS), 'query-status')
        assert result.returncode == 0, result.stderr


def test_tls_mismatched_key():
    """a key that is not the certificate's: refused before anything
    listens, and QEMU's monitor is free again"""
    with Test() as t:
        certs = Certificates(t.dir)
        qemu = t.qemu()
        result = t.qmpctl('--socket', qemu, 'proxy', '--proxy-cert', certs.path('server-cert.pem'),
                          '--proxy-key', certs.path('client-key.pem'),
                          '--proxy-client-ca', certs.path('ca-cert.pem'), 'tls:127.0.0.1:0')
        assert result.returncode != 0, (result.returncode, result.stderr)
        assert 'The private key does not match the certificate' in result.stderr, result.stderr
        assert 'Listening' not in result.stderr, result.stderr
        result = t.qmpctl('--socket', qemu, '--timeout', str(FEW_SECONDS), 'query-status')
        assert result.returncode == 0, result.stderr


def test_tcp_refused():
    """tcp: without --insecure-tcp: status 2, QEMU's monitor never taken,
    nothing listens"""
    with Test() as t:
        qemu = t.qemu()
        # a free port, then closed, that the refused proxy would have taken
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        result = t.qmpctl('--socket', qemu, 'proxy', 'tcp:127.0.0.1:%d' % port)
        assert result.returncode == 2, (result.returncode, result.stderr)
        assert '“proxy tcp:HOST:PORT” would hand full control of the VM' in result.stderr, result.stderr
        assert '--insecure-tcp' in result.stderr, result.stderr
        assert not connects('tcp:127.0.0.1:%d' % port)
        result = t.qmpctl('--socket', qemu, '--timeout', str(FEW_SECONDS), 'query-status')
        assert result.returncode == 0, result.stderr


def test_tcp_insecure():
    """--insecure-tcp tcp:127.0.0.1:0: a qmpctl client and a raw one over
    plain TCP; QEMU killed: status 1, port closed"""
    with Test() as t:
        proxy, address = inet_proxy(t, 'tcp:127.0.0.1:0', '--insecure-tcp')
        assert address.startswith('tcp:127.0.0.1:'), address
        result = t.qmpctl('--socket', address, 'query-status')
        assert result.returncode == 0, result.stderr
        assert json_documents(result.stdout)[0]['status'] == 'running', result.stdout

        family, host, port = inet_port(address)
        raw = socket.create_connection((host, port), timeout=TIMEOUT)
        t.sockets.append(raw)
        lines = raw.makefile('r', encoding='utf-8')
        assert 'QMP' in json.loads(lines.readline())
        raw.sendall(b'{"execute": "qmp_capabilities", "id": 1}\n{"execute": "query-name", "id": 2}\n')
        assert json.loads(lines.readline()) == {'return': {}, 'id': 1}
        assert json.loads(lines.readline()) == {'return': {}, 'id': 2}

        t.qemu_process.kill()
        stderr = check_inet_proxy_exits(proxy, 1, address)
        assert ('QEMU went away without a SHUTDOWN event (The server closed the connection): '
                'the proxy on %s is closed' % address in stderr), stderr
        assert lines.readline() == ''


def test_tcp_ipv6_and_names():
    """tcp:[::1]:0 listens on IPv6 and says tcp:[::1]:PORT; tcp:localhost:0
    resolves the name; a port in use: status 1, as a live Unix socket"""
    with Test() as t:
        proxy, address = inet_proxy(t, 'tcp:[::1]:0', '--insecure-tcp')
        assert address.startswith('tcp:[::1]:'), address
        result = t.qmpctl('--socket', address, 'query-name')
        assert result.returncode == 0, result.stderr
        proxy.process.send_signal(signal.SIGTERM)
        stderr = check_inet_proxy_exits(proxy, 0, address)
        assert 'Interrupted: the proxy on %s is closed' % address in stderr, stderr

    with Test() as t:
        taken = socket.socket()
        t.sockets.append(taken)
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        address = 'tcp:127.0.0.1:%d' % taken.getsockname()[1]
        result = t.qmpctl('--socket', t.qemu(), 'proxy', '--insecure-tcp', address)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert 'Listening' not in result.stderr, result.stderr
        assert 'Address already in use' in result.stderr, result.stderr

    with Test() as t:
        # GLib answers for localhost itself (RFC 6761), whatever /etc/hosts says
        resolved = {a.to_string() for a in Gio.Resolver.get_default().lookup_by_name('localhost')}
        proxy, address = inet_proxy(t, 'tcp:localhost:0', '--insecure-tcp')
        family, host, port = inet_port(address)
        assert host in resolved, (address, resolved)
        result = t.qmpctl('--socket', address, 'query-name')
        assert result.returncode == 0, result.stderr


TESTS = [test_interleaved, test_events, test_client_killed, test_qemu_quits, test_qemu_killed,
         test_sigint, test_sigterm, test_socket_mode, test_read_only, test_existing,
         test_refused_addresses, test_tls, test_tls_read_only, test_tls_bad_files,
         test_tls_mismatched_key,
         test_tcp_refused, test_tcp_insecure, test_tcp_ipv6_and_names]

if __name__ == '__main__':
    print('# QEMU: %s' % subprocess.run([QEMU, '--version'], capture_output=True, text=True,
                                         timeout=TIMEOUT).stdout.split('\n')[0], flush=True)
    print('1..%d' % len(TESTS), flush=True)
    failed = 0
    for number, test in enumerate(TESTS, 1):
        started = time.monotonic()
        try:
            test()
            print('ok %d - %s' % (number, test.__doc__.split('\n')[0]), flush=True)
        except Exception:  # noqa: BLE001
            failed += 1
            print('not ok %d - %s' % (number, test.__name__), flush=True)
            for line in traceback.format_exc().splitlines():
                print('# ' + line, flush=True)
        print('# %s: %.1f s' % (test.__name__, time.monotonic() - started), flush=True)
    sys.exit(1 if failed else 0)
