#!/usr/bin/python3
# check-doc-examples.py: checks that the page of every public function,
# method, constructor, class, record, enumeration and bitfield of the GIR
# shows an example, that is a fenced code block (```) in its documentation,
# and that the fences are closed.  The symbols that the gi-docgen
# configuration hides are skipped (as check-since.py does, whose logic this
# reuses), and so are the class structures, which have no page of their own.
# The functions that are not introspectable are checked too: gi-docgen gives
# them a page, and C programs call them.
#
#   check-doc-examples.py QMP-1.0.GIR QMP-GLIB.TOML
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import collections
import fnmatch
import importlib.util
import os
import sys
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
GLIB = '{http://www.gtk.org/introspection/glib/1.0}'

# Elements whose page must have an example
PAGES = {'class', 'record', 'enumeration', 'bitfield',
         'function', 'method', 'constructor'}

# Elements that may hold such pages
CONTAINERS = {'namespace', 'class', 'interface', 'record', 'union',
              'enumeration', 'bitfield'}


def load_check_since():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'check-since.py')
    spec = importlib.util.spec_from_file_location('check_since', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    if len(argv) != 3:
        print('Usage: %s GIR TOML' % argv[0], file=sys.stderr)
        return 2
    hidden = load_check_since().hidden_patterns(argv[2])
    namespace = ET.parse(argv[1]).getroot().find(CORE + 'namespace')
    missing = collections.defaultdict(list)
    unclosed = []
    count = 0

    def walk(element, path):
        nonlocal count
        tag = element.tag[len(CORE):] if element.tag.startswith(CORE) else None
        if tag not in CONTAINERS and tag not in PAGES:
            return
        if tag != 'namespace':
            name = element.get('name')
            if path == '' and any(fnmatch.fnmatchcase(name, p) for p in hidden):
                return
            if tag == 'record' and element.get(GLIB + 'is-gtype-struct-for'):
                return
            full = (path + '.' if path else '') + name
            if tag in PAGES:
                count += 1
                doc = element.find(CORE + 'doc')
                text = (doc.text or '') if doc is not None else ''
                position = element.find(CORE + 'source-position')
                where = (position.get('filename') if position is not None
                         else 'no source position in the GIR')
                if '```' not in text:
                    missing[where].append('%s %s' % (tag, full))
                elif sum(1 for line in text.splitlines()
                         if line.lstrip().startswith('```')) % 2:
                    unclosed.append('%s %s' % (tag, full))
            path = full
        for child in element:
            walk(child, path)

    walk(namespace, '')
    print('1..2')
    total = 0
    for where, symbols in sorted(missing.items()):
        total += len(symbols)
        print('# %s: %d without an example: %s'
              % (where, len(symbols), ', '.join(symbols)))
    print('%s 1 - %d of %d function and type pages have an example'
          % ('not ok' if total or count == 0 else 'ok', count - total, count))
    for symbol in unclosed:
        print('# %s: a ``` block is not closed' % symbol)
    print('%s 2 - the code blocks are closed'
          % ('not ok' if unclosed else 'ok'))
    return 1 if total or unclosed or count == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
