# qmpctltest.py: what the qmpctl test scripts (tests/test-qmpctl*.py) share.
#
# SPDX-License-Identifier: LGPL-2.1-or-later


def is_listening(path):
    """Whether a Unix socket listens on path (__SO_ACCEPTCON in its flags).

    /proc/net/unix names a socket by the path it was bound to: a socket
    bound elsewhere and linked to path (QmpListener's, QmpProxy's) is not
    found under path."""
    with open('/proc/net/unix') as sockets:
        for line in sockets:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                return True
    return False
