#!/usr/bin/python3
# check-examples.py: checks that every example in docs/examples.md is a
# byte-identical copy of its file in examples/, so that the page shows
# programs that the test suite runs.
#
#   check-examples.py [--update] EXAMPLES.MD [FILE...]
#
# With FILEs (paths from the top of the source tree), those are the files
# the page must show instead of the examples of examples/.
#
# In the page, each copy is a fenced block right after a marker line
#   <!-- example: examples/query-status.c -->
# --update rewrites the blocks from the files instead of checking them.
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import sys

MARKER = re.compile(r'^<!-- example: (\S+) -->\n```[\w+-]*\n', re.M)

# Every example that the test suite runs must be on the page.
# In the order of the page, which is the order of the TAP lines.
REQUIRED = ['examples/query-status.c', 'examples/qom-get.c', 'examples/query-status.py',
            'examples/query-status.vala', 'examples/query-status.js',
            'examples/vm-panel.py']


def main(argv):
    update = '--update' in argv
    args = [a for a in argv[1:] if a != '--update']
    if len(args) < 1:
        print('Usage: %s [--update] EXAMPLES.MD [FILE...]' % argv[0], file=sys.stderr)
        return 2
    page_path = args[0]
    if len(args) > 1:
        global REQUIRED
        REQUIRED = args[1:]
    top = os.path.dirname(os.path.dirname(os.path.abspath(page_path)))
    with open(page_path, encoding='utf-8', newline='') as f:
        page = f.read()

    print('1..%d' % (len(REQUIRED) + 1))
    failures = 0
    found = []
    out = []
    pos = 0
    for match in MARKER.finditer(page):
        name = match.group(1)
        start = match.end()
        end = page.find('\n```\n', start - 1)
        if end < 0:
            print('# %s: the fenced block does not end' % name)
            failures += 1
            break
        end += 1                        # the file's last newline is in the block
        with open(os.path.join(top, name), encoding='utf-8', newline='') as f:
            text = f.read()
        out.append(page[pos:start])
        out.append(text)
        pos = end
        copy = page[start:end]
        found.append(name)
        if name not in REQUIRED:
            continue
        if copy == text:
            print('ok %d - %s is identical to its file' % (REQUIRED.index(name) + 1, name))
        elif update:
            print('ok %d - %s updated' % (REQUIRED.index(name) + 1, name))
        else:
            failures += 1
            a, b = copy.splitlines(), text.splitlines()
            line = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            print('# %s differs from its file from line %d on' % (name, line + 1))
            print('not ok %d - %s is identical to its file' % (REQUIRED.index(name) + 1, name))
    out.append(page[pos:])

    missing = [n for n in REQUIRED if n not in found]
    for name in missing:
        failures += 1
        print('not ok %d - %s is identical to its file # missing from the page'
              % (REQUIRED.index(name) + 1, name))
    twice = sorted(set(n for n in found if found.count(n) > 1))
    if twice:
        failures += 1
        print('# on the page twice: %s' % ', '.join(twice))
    print('%s %d - every example once' % ('not ok' if twice else 'ok', len(REQUIRED) + 1))

    if update:
        with open(page_path, 'w', encoding='utf-8', newline='') as f:
            f.write(''.join(out))
        return 0
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
