#!/usr/bin/python3
# make-tls-der-corpus.py: writes the seeds of fuzz-tls-der
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: make-tls-der-corpus.py DIR (tests/fuzz/corpus/tls-der)
#
# Each seed is what fuzz-tls-der.c reads: the certificate's length (two
# bytes, big-endian), the certificate (DER), the private key (PKCS #8 DER).
# The pairs are made with openssl, and the key is taken as GLib gives it
# (the "private-key" property of a GTlsCertificate loaded from the files,
# PKCS #8 whatever the file held),
# which is what _qmp_tls_check_certificate() reads.  The name says what the
# library must answer: -match (1), -mismatch (0), -unknown (-1).  A few
# hand-made inputs follow (lengths, tags); the fuzzer added the rest.

import os
import struct
import subprocess
import sys
import tempfile

from gi.repository import Gio

KEYS = {
    'rsa': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
    'rsa-pss': ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024'],
    'p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    'ed25519': ['-algorithm', 'ED25519'],
    'ed448': ['-algorithm', 'ED448'],
}


def run(*args):
    return subprocess.run(args, check=True, capture_output=True).stdout


def der_length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_length(len(content)) + content


def der_read(data):
    """The contents of the element at the start of data, and what follows."""
    length, header = data[1], 2
    if length & 0x80:
        header += length & 0x7f
        length = int.from_bytes(data[2:header], 'big')
    return data[header:header + length], data[header + length:]


def without_public_key(p8, pem):
    """The PKCS #8 key p8, its ECPrivateKey without its point, [1]."""
    no_public = run('openssl', 'ec', '-in', pem, '-no_public', '-outform', 'DER')
    info, _ = der_read(p8)
    _, after_version = der_read(info)
    algorithm = after_version[:len(after_version) - len(der_read(after_version)[1])]
    return der(0x30, b'\x02\x01\x00' + algorithm + der(0x04, no_public))


def seed(cert, key):
    return struct.pack('>H', len(cert)) + cert + key


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    certs, pems = {}, {}

    def path(name):
        return os.path.join(tmp, name)

    def make_pair(name):
        run('openssl', 'genpkey', *KEYS[name.removesuffix('-b')], '-out', path(name + '.key'))
        run('openssl', 'req', '-x509', '-new', '-key', path(name + '.key'), '-subj',
            '/CN=' + name, '-days', '365', '-out', path(name + '.crt'))
        certs[name] = run('openssl', 'x509', '-in', path(name + '.crt'), '-outform', 'DER')
        pems[name] = (path(name + '.crt'), path(name + '.key'))

    def glib_key(cert_pem, key_pem):
        certificate = Gio.TlsCertificate.new_from_files(cert_pem, key_pem)
        return bytes(certificate.get_property('private-key'))

    def write(name, data):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)

    for name in ['rsa', 'rsa-b', 'rsa-pss', 'p256', 'p256-b', 'p384', 'ed25519', 'ed25519-b', 'ed448']:
        make_pair(name)
    key = {name: glib_key(*pems[name]) for name in certs}

    for name in ['rsa', 'rsa-pss', 'p256', 'p384']:
        write(name + '-match', seed(certs[name], key[name]))
    write('rsa-mismatch', seed(certs['rsa'], key['rsa-b']))
    write('p256-mismatch', seed(certs['p256'], key['p256-b']))
    write('p256-cert-p384-key-mismatch', seed(certs['p256'], key['p384']))
    write('rsa-cert-p256-key-mismatch', seed(certs['rsa'], key['p256']))
    write('rsa-pss-cert-rsa-key-mismatch', seed(certs['rsa-pss'], key['rsa']))
    # EdDSA keys come without their public half: nothing to compare.
    write('ed25519-unknown', seed(certs['ed25519'], key['ed25519']))
    write('ed448-unknown', seed(certs['ed448'], key['ed448']))
    write('ed25519-cert-ed448-key-mismatch', seed(certs['ed25519'], key['ed448']))

    # A PKCS #8 v2 key (RFC 5958) with its public key, [1].
    def with_public_key(name):
        public = run('openssl', 'pkey', '-in', pems[name][1], '-pubout', '-outform', 'DER')
        info = key[name]
        assert info[0] == 0x30 and info[1] < 0x80 and info[2:5] == b'\x02\x01\x00'
        inner = b'\x02\x01\x01' + info[5:] + der(0x81, b'\x00' + public[-32:])
        return der(0x30, inner)
    write('ed25519-v2-match', seed(certs['ed25519'], with_public_key('ed25519')))
    write('ed25519-v2-mismatch', seed(certs['ed25519'], with_public_key('ed25519-b')))

    # A v2 RSA key whose [1] writes n with a needless zero byte: the key's
    # own n and e are the certificate's, and they are what signs.
    info, _ = der_read(key['rsa'])
    _, after_version = der_read(info)
    rsa_public, _ = der_read(run('openssl', 'rsa', '-in', pems['rsa'][1], '-RSAPublicKey_out',
                                 '-outform', 'DER'))
    n, rest = der_read(rsa_public)
    e, _ = der_read(rest)
    public = der(0x30, der(0x02, b'\x00' + n) + der(0x02, e))
    write('rsa-v2-nonminimal-public-key-match',
          seed(certs['rsa'], der(0x30, b'\x02\x01\x01' + after_version + der(0x81, b'\x00' + public))))

    # Keys in other formats than PKCS #8 (PKCS #1, SEC 1): not read.
    write('rsa-pkcs1-unknown', seed(certs['rsa'], run(
        'openssl', 'rsa', '-in', pems['rsa'][1], '-traditional', '-outform', 'DER')))
    write('p256-sec1-unknown', seed(certs['p256'], run(
        'openssl', 'ec', '-in', pems['p256'][1], '-outform', 'DER')))
    # An EC key without its public key, [1]: nothing to compare.
    write('p256-no-public-key-unknown',
          seed(certs['p256'], without_public_key(key['p256'], pems['p256'][1])))
    # Of another curve, with no point to compare: the curves differ.
    write('p256-cert-p384-key-no-public-key-mismatch',
          seed(certs['p256'], without_public_key(key['p384'], pems['p384'][1])))
    # A certificate with the point compressed (GLib loads it; the key holds
    # the point uncompressed): the same key.
    run('openssl', 'ec', '-in', pems['p256'][1], '-conv_form', 'compressed',
        '-out', path('p256c.key'))
    run('openssl', 'req', '-x509', '-new', '-key', path('p256c.key'), '-subj', '/CN=c',
        '-days', '365', '-out', path('p256c.crt'))
    compressed = run('openssl', 'x509', '-in', path('p256c.crt'), '-outform', 'DER')
    write('p256-compressed-cert-match', seed(compressed, key['p256']))
    write('p256-compressed-cert-mismatch', seed(compressed, key['p256-b']))

    # Hand-made: the lengths and tags a DER reader trips on.
    cert = certs['p256']
    write('cert-only', seed(cert, b''))
    write('truncated', seed(cert[:len(cert) // 2], key['p256'][:40]))
    write('length-4-bytes-huge', seed(b'\x30\x84\xff\xff\xff\xf0\x30\x00', b'\x30\x84\x7f\xff\xff\xff'))
    write('length-5-bytes', seed(b'\x30\x85\x00\x00\x00\x00\x02\x30\x00', b''))
    write('length-indefinite', seed(b'\x30\x80\x30\x80\x00\x00\x00\x00', b'\x30\x80\x02\x01\x00\x00\x00'))
    write('length-zero', seed(b'\x30\x00', b'\x30\x00'))
    # A high tag number (0x1f, then the number): its next byte is no length.
    write('high-tag-number', seed(b'\x30\x0a\x30\x08\x1f\x81\x00\x01\x00\x02\x01\x00', key['p256']))


if __name__ == '__main__':
    main()
