#!/usr/bin/python3
# python-install-dir.py: where the Python running this script imports
# packages from under a prefix, relative to that prefix
#
#   python-install-dir.py PREFIX
#
# Debian's python3 imports from /usr/lib/python3/dist-packages and
# /usr/local/lib/python3.X/dist-packages, but not from the
# /usr/local/lib/python3/dist-packages of meson's Debian scheme; any other
# prefix gets Python's own layout, PREFIX/lib/python3.X/site-packages,
# which the user adds to PYTHONPATH (see README.md).
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys
import sysconfig


def main(argv):
    if len(argv) != 2 or not os.path.isabs(argv[1]):
        print('Usage: %s ABSOLUTE-PREFIX' % argv[0], file=sys.stderr)
        return 2
    prefix = os.path.normpath(argv[1])
    for entry in sys.path:
        if not entry or os.path.basename(entry) not in ('site-packages', 'dist-packages'):
            continue
        relative = os.path.relpath(os.path.normpath(entry), prefix)
        # lib/…, not ../… nor local/lib/… (/usr/local under the prefix /usr)
        if relative.split(os.sep)[0] in ('lib', 'lib64'):
            print(relative)
            return 0
    path = sysconfig.get_path('purelib', 'posix_prefix',
                              vars={'base': prefix, 'platbase': prefix})
    print(os.path.relpath(path, prefix))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
