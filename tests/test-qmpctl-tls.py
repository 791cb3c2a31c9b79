#!/usr/bin/python3
# test-qmpctl-tls.py: qmpctl's --tls-ca, --tls-cert/--tls-key and --listen
# against real QEMU, in TAP.
#
#   /usr/bin/python3 tests/test-qmpctl-tls.py _build/tools/qmpctl
#
# --listen: QEMU 7.2 (QMP_TEST_QEMU or the one in PATH) connects out.
# TLS: QEMU 10.0 in QMP_TEST_QEMU10 (7.2 does not answer over TLS); with
# it unset these fail, or skip when QMP_TEST_ALLOW_SKIP is set.  The
# certificates are made with certtool (gnutls-bin).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

QMPCTL = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ['QMPCTL'])
QEMU = os.environ.get('QMP_TEST_QEMU') or 'qemu-system-x86_64'
QEMU10 = os.environ.get('QMP_TEST_QEMU10') or None
TIMEOUT = 20

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    _libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


class Skip(Exception):
    pass


def certtool(directory, *args):
    subprocess.run(['certtool'] + list(args), cwd=directory, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(directory, name, template, ca):
    with open(os.path.join(directory, name + '.info'), 'w') as f:
        f.write(template + 'expiration_days = 2\n')
    certtool(directory, '--generate-privkey', '--key-type', 'rsa', '--bits', '2048',
             '--outfile', name + '-key.pem')
    if ca is None:
        certtool(directory, '--generate-self-signed', '--load-privkey', name + '-key.pem',
                 '--template', name + '.info', '--outfile', name + '-cert.pem')
    else:
        certtool(directory, '--generate-certificate', '--load-privkey', name + '-key.pem',
                 '--load-ca-certificate', ca + '-cert.pem', '--load-ca-privkey', ca + '-key.pem',
                 '--template', name + '.info', '--outfile', name + '-cert.pem')


def make_certificates(directory):
    make_cert(directory, 'ca', 'cn = test CA\nca\ncert_signing_key\n', None)
    make_cert(directory, 'wrong-ca', 'cn = other CA\nca\ncert_signing_key\n', None)
    make_cert(directory, 'server', 'cn = 127.0.0.1\nip_address = 127.0.0.1\ntls_www_server\n'
              'encryption_key\nsigning_key\n', 'ca')
    make_cert(directory, 'client', 'cn = client\ntls_www_client\nencryption_key\nsigning_key\n', 'ca')
    creds = os.path.join(directory, 'creds')
    os.mkdir(creds)
    for source, target in (('ca-cert.pem', 'ca-cert.pem'), ('server-cert.pem', 'server-cert.pem'),
                           ('server-key.pem', 'server-key.pem')):
        shutil.copy(os.path.join(directory, source), os.path.join(creds, target))
    return creds


class TlsQemu:
    """QEMU 10.0 serving its monitor over TLS on a socket listening here."""

    def __init__(self, directory, verify_peer):
        if QEMU10 is None:
            if os.environ.get('QMP_TEST_ALLOW_SKIP'):
                raise Skip('QMP_TEST_QEMU10 is unset')
            raise AssertionError('QMP_TEST_QEMU10 is unset: set it to a QEMU 10.0 binary '
                                 '(or QMP_TEST_ALLOW_SKIP=1 to skip)')
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        self.address = 'tls:127.0.0.1:%d' % listener.getsockname()[1]
        creds = os.path.join(directory, 'creds')
        self.process = subprocess.Popen(
            [QEMU10, '-M', 'none', '-nodefaults', '-display', 'none',
             '-object', 'tls-creds-x509,id=tls0,dir=%s,endpoint=server,verify-peer=%s'
             % (creds, 'on' if verify_peer else 'off'),
             '-chardev', 'socket,id=mon,fd=%d,server=on,wait=off,tls-creds=tls0' % listener.fileno(),
             '-mon', 'chardev=mon,mode=control'],
            pass_fds=[listener.fileno()], stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        listener.close()

    def kill(self):
        self.process.kill()
        self.process.wait()


def qmpctl(*args):
    return subprocess.run([QMPCTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=TIMEOUT)


def test_tls_good_ca(directory):
    qemu = TlsQemu(directory, False)
    try:
        result = qmpctl('--socket', qemu.address, '--tls-ca',
                        os.path.join(directory, 'ca-cert.pem'), 'query-status')
        assert result.returncode == 0, result.stderr
        assert '"running"' in result.stdout, result.stdout
    finally:
        qemu.kill()


def test_tls_wrong_ca(directory):
    qemu = TlsQemu(directory, False)
    try:
        result = qmpctl('--socket', qemu.address, '--tls-ca',
                        os.path.join(directory, 'wrong-ca-cert.pem'), 'query-status')
        assert result.returncode != 0
        assert 'TLS' in result.stderr and 'certificate' in result.stderr, result.stderr
        assert result.stdout == '', result.stdout
    finally:
        qemu.kill()


def test_tls_client_certificate(directory):
    qemu = TlsQemu(directory, True)
    try:
        result = qmpctl('--socket', qemu.address,
                        '--tls-ca', os.path.join(directory, 'ca-cert.pem'),
                        '--tls-cert', os.path.join(directory, 'client-cert.pem'),
                        '--tls-key', os.path.join(directory, 'client-key.pem'), 'query-status')
        assert result.returncode == 0, result.stderr
        assert '"running"' in result.stdout, result.stdout
    finally:
        qemu.kill()


def test_tls_usage(directory):
    result = qmpctl('--socket', os.path.join(directory, 'nothing.sock'),
                    '--tls-ca', os.path.join(directory, 'ca-cert.pem'), 'query-status')
    assert result.returncode != 0 and 'tls:' in result.stderr, result.stderr
    result = qmpctl('--socket', 'tls:127.0.0.1:1', '--tls-cert',
                    os.path.join(directory, 'client-cert.pem'), 'query-status')
    assert result.returncode != 0 and '--tls-key' in result.stderr, result.stderr


def test_tls_mismatched_key(directory):
    # Found before connecting: nothing listens on port 1, and the error is
    # about the key, not a refused connection.
    result = qmpctl('--socket', 'tls:127.0.0.1:1',
                    '--tls-cert', os.path.join(directory, 'client-cert.pem'),
                    '--tls-key', os.path.join(directory, 'server-key.pem'), 'query-status')
    assert result.returncode != 0, result.stderr
    assert 'The private key does not match the certificate' in result.stderr, result.stderr
    assert 'refused' not in result.stderr, result.stderr
    assert result.stdout == '', result.stdout


def test_listen(directory):
    path = os.path.join(directory, 'listen.sock')
    client = subprocess.Popen([QMPCTL, '--listen', path, 'query-status'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    qemu = None
    try:
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(path):
            assert time.monotonic() < deadline, 'qmpctl --listen made no socket'
            assert client.poll() is None, client.communicate()
            time.sleep(0.01)
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        qemu = subprocess.Popen([QEMU, '-M', 'none', '-nodefaults', '-display', 'none',
                                 '-chardev', 'socket,id=mon,path=%s,server=off,reconnect=1' % path,
                                 '-mon', 'chardev=mon,mode=control'],
                                stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        out, err = client.communicate(timeout=TIMEOUT)
        assert client.returncode == 0, err
        assert '"running"' in out, out
        assert not os.path.exists(path), 'the socket file stays'
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        if qemu is not None:
            qemu.kill()
            qemu.wait()


TESTS = [test_listen, test_tls_usage, test_tls_good_ca, test_tls_wrong_ca,
         test_tls_client_certificate, test_tls_mismatched_key]


def main():
    directory = tempfile.mkdtemp(prefix='qmp-test-qmpctl-tls-')
    failed = 0
    try:
        make_certificates(directory)
        print('1..%d' % len(TESTS), flush=True)
        for n, test in enumerate(TESTS, 1):
            try:
                test(directory)
                print('ok %d %s' % (n, test.__name__), flush=True)
            except Skip as e:
                print('ok %d %s # SKIP %s' % (n, test.__name__, e), flush=True)
            except Exception:
                failed += 1
                for line in traceback.format_exc().splitlines():
                    print('# ' + line)
                print('not ok %d %s' % (n, test.__name__), flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
