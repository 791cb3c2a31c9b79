#!/usr/bin/python3
# check-since.py: checks that every public symbol in the GIR has a
# documentation and a "Since:" version (gi-docgen's own check does not
# look at versions), and that the versions are coherent: none is newer than
# the project's own version (valac refuses a symbol "Since: 1.2" of an
# installed qmp-glib-1.0 1.0.x, and gi-docgen calls it unstable), and each
# has its QMP_AVAILABLE_IN_X_Y macro.  Symbols that the gi-docgen
# configuration hides are skipped, and so are the class structures of
# final types.
#
#   check-since.py QMP-1.0.GIR QMP-GLIB.TOML PROJECT-VERSION QMP-VERSION-MACROS.H
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import fnmatch
import re
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


def major_minor(version):
    """(major, minor) of 1.0, 1.0.3 or a pre-release 1.2.alpha"""
    parts = version.split('.')
    return (int(parts[0]), int(parts[1]))


def main(argv):
    if len(argv) != 5:
        print('Usage: %s GIR TOML PROJECT-VERSION VERSION-MACROS-H' % argv[0],
              file=sys.stderr)
        return 2
    hidden = hidden_patterns(argv[2])
    project = major_minor(argv[3])
    with open(argv[4]) as f:
        macros = set(re.findall(r'#\s*define\s+QMP_AVAILABLE_IN_(\d+)_(\d+)\b',
                                f.read()))
    versions = {}
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
            version = element.get('version')
            if version is None:
                problems.append('%s %s has no "Since:"' % (tag, full))
            elif not re.fullmatch(r'\d+\.\d+', version):
                problems.append('%s %s: "Since: %s" is not MAJOR.MINOR'
                                % (tag, full, version))
            else:
                versions.setdefault(version, full)
            path = full
        for child in element:
            walk(child, path)

    walk(namespace, '')
    print('1..2')
    for problem in problems:
        print('# ' + problem)
    print('%s 1 - %d symbols, each documented with a "Since:"'
          % ('not ok' if problems or count == 0 else 'ok', count))

    incoherent = []
    for version, example in sorted(versions.items()):
        if major_minor(version) > project:
            incoherent.append('%s is "Since: %s", newer than the project, %s'
                              % (example, version, argv[3]))
        if tuple(version.split('.')) not in macros:
            incoherent.append('%s is "Since: %s", but qmp-version-macros.h has '
                              'no QMP_AVAILABLE_IN_%s' % (example, version,
                                                          version.replace('.', '_')))
    for problem in incoherent:
        print('# ' + problem)
    print('%s 2 - the "Since:" versions (%s) are reached by %s and have their macros'
          % ('not ok' if incoherent or not versions else 'ok',
             ', '.join(sorted(versions)), argv[3]))
    return 1 if problems or incoherent or count == 0 or not versions else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
