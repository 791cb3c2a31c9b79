#!/usr/bin/python3
# check-since.py: checks that every public symbol in the GIR has a
# documentation and a "Since:" version (gi-docgen's own check does not
# look at versions).  Symbols that the gi-docgen configuration hides are
# skipped, and so are the class structures of final types.
#
#   check-since.py QMP-1.0.GIR QMP-GLIB.TOML
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import fnmatch
import sys
import tomllib
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
GLIB = '{http://www.gtk.org/introspection/glib/1.0}'

# Elements that are symbols of their own, with a "Since:"
SYMBOLS = {'class', 'interface', 'record', 'union', 'enumeration', 'bitfield',
           'alias', 'callback', 'constant', 'function', 'function-macro',
           'method', 'constructor', 'virtual-method', 'property', 'signal'}


def hidden_patterns(toml_path):
    with open(toml_path, 'rb') as f:
        config = tomllib.load(f)
    patterns = []
    for obj in config.get('object', []):
        if obj.get('hidden'):
            patterns.append(obj.get('name') or obj.get('pattern'))
    return patterns


def main(argv):
    if len(argv) != 3:
        print('Usage: %s GIR TOML' % argv[0], file=sys.stderr)
        return 2
    hidden = hidden_patterns(argv[2])
    namespace = ET.parse(argv[1]).getroot().find(CORE + 'namespace')
    problems = []
    count = 0

    def walk(element, path):
        nonlocal count
        tag = element.tag[len(CORE):] if element.tag.startswith(CORE) else None
        if tag in SYMBOLS:
            name = element.get('name')
            if path == '' and any(fnmatch.fnmatchcase(name, p) for p in hidden):
                return
            if tag == 'record' and element.get(GLIB + 'is-gtype-struct-for'):
                return
            if element.get('introspectable') == '0' and tag != 'function-macro':
                return
            full = (path + '.' if path else '') + name
            if tag == 'signal':
                full = path + '::' + name
            elif tag == 'property':
                full = path + ':' + name
            count += 1
            if element.find(CORE + 'doc') is None:
                problems.append('%s %s has no documentation' % (tag, full))
            if element.get('version') is None:
                problems.append('%s %s has no "Since:"' % (tag, full))
            path = full
        for child in element:
            walk(child, path)

    walk(namespace, '')
    print('1..1')
    for problem in problems:
        print('# ' + problem)
    print('%s 1 - %d symbols, each documented with a "Since:"'
          % ('not ok' if problems or count == 0 else 'ok', count))
    return 1 if problems or count == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
