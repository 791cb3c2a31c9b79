#!/usr/bin/python3
# check-copied.py: checks, in TAP, that each C block of a docs page marked
#   <!-- copied from tests/FILE.c -->
# is a byte-identical copy of the function of that name in that file, so
# that the page shows code that the test suite runs.
#
#   check-copied.py PAGE.MD
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import sys

MARKER = re.compile(r'^<!-- copied from (\S+) -->\n```c\n(.*?)```\n', re.M | re.S)
FUNCTION = re.compile(r'^\w[\w ]*\*?\n(\w+) \(', re.M)


def main(argv):
    page_path = argv[1]
    top = os.path.dirname(os.path.dirname(os.path.abspath(page_path)))
    with open(page_path, encoding='utf-8') as f:
        page = f.read()
    blocks = MARKER.findall(page)
    print('1..%d' % max(len(blocks), 1))
    if not blocks:
        print('not ok 1 - %s has no copied block' % page_path)
        return 1
    failed = 0
    for n, (source, block) in enumerate(blocks, 1):
        match = FUNCTION.search(block)
        name = match.group(1) if match else '?'
        with open(os.path.join(top, source), encoding='utf-8') as f:
            text = f.read()
        ok = block in text and match is not None
        failed += not ok
        print('%s %d - %s() is a copy of %s' % ('ok' if ok else 'not ok', n, name, source))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
