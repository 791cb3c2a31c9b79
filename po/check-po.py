#!/usr/bin/python3
# check-po.py: checks the translations, in TAP:
#  - po/POTFILES lists every source file of the library (qmp-glib/) and of
#    qmpctl (tools/) that has a translatable string, and only files that
#    exist;
#  - xgettext reads every message without a warning (a format that
#    xgettext cannot follow, such as "%" G_GUINT64_FORMAT, is a message
#    that no translation can ever match);
#  - each language of po/LINGUAS has a .po file that msgfmt -c compiles,
#    with no fuzzy and no untranslated message, and that translates every
#    message that the sources have today.
#
#   check-po.py SOURCE-ROOT
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import glob
import os
import re
import subprocess
import sys
import tempfile

# The arguments of meson's i18n.gettext (preset: 'glib')
XGETTEXT_ARGS = [
    '--from-code=UTF-8', '--add-comments',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
    '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format',
    '--flag=NC_:2:pass-c-format', '--flag=g_dngettext:2:pass-c-format',
    '--flag=g_strdup_printf:1:c-format', '--flag=g_string_printf:2:c-format',
    '--flag=g_string_append_printf:2:c-format', '--flag=g_error_new:3:c-format',
    '--flag=g_set_error:4:c-format', '--flag=g_markup_printf_escaped:1:c-format',
    '--flag=g_log:3:c-format', '--flag=g_print:1:c-format',
    '--flag=g_printerr:1:c-format', '--flag=g_printf:1:c-format',
    '--flag=g_fprintf:2:c-format', '--flag=g_sprintf:2:c-format',
    '--flag=g_snprintf:3:c-format',
]

# Where user-visible messages live
SOURCE_GLOBS = ['qmp-glib/*.c', 'qmp-glib/*.h', 'tools/*.c', 'tools/*.h']

REQUIRED_LANGUAGES = ['de', 'fr']

top = None
results = []


def report(ok, name, diagnostics=()):
    for line in diagnostics:
        print('# ' + line)
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), name), flush=True)


def run(args, **kwargs):
    return subprocess.run(args, cwd=top, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kwargs)


def read_list(path):
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f
                if line.strip() and not line.lstrip().startswith('#')]


def has_messages(path):
    proc = run(['xgettext'] + XGETTEXT_ARGS + ['-o', '-', path])
    return re.search(r'^msgid "(?!")|^msgid ""\n"', proc.stdout, re.M) is not None


def statistics(po_path):
    """(translated, fuzzy, untranslated, errors) of msgfmt -c --statistics"""
    proc = run(['msgfmt', '-c', '--statistics', '-o', os.devnull, po_path])
    text = proc.stderr
    counts = {}
    for kind in ('translated', 'fuzzy', 'untranslated'):
        m = re.search(r'(\d+) %s message' % kind, text)
        counts[kind] = int(m.group(1)) if m else 0
    errors = [] if proc.returncode == 0 else text.strip().splitlines()
    return counts['translated'], counts['fuzzy'], counts['untranslated'], errors


def describe(pot_path, line):
    """msgcmp's "FILE:LINE: this message is used but not defined…", with
    the message itself."""
    m = re.match(r'.*:(\d+): ', line)
    if not m:
        return line
    with open(pot_path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    n = int(m.group(1)) - 1
    # msgcmp points at the msgstr line (or near it): the msgid is above.
    while n > 0 and not lines[n].startswith('msgid '):
        n -= 1
    text = lines[n][len('msgid '):] if n < len(lines) else ''
    for extra in lines[n + 1:]:
        if not extra.startswith('"'):
            break
        text += extra
    text = ''.join(re.findall(r'"(.*?)"(?=\s*"|$)', text))
    return 'not translated: "%s"' % text


def count_messages(pot_path):
    return sum(statistics(pot_path)[:3])


def main(argv):
    global top
    if len(argv) != 2:
        print('Usage: %s SOURCE-ROOT' % argv[0], file=sys.stderr)
        return 2
    top = os.path.abspath(argv[1])
    potfiles = read_list(os.path.join(top, 'po', 'POTFILES'))
    linguas = ' '.join(read_list(os.path.join(top, 'po', 'LINGUAS'))).split()

    # POTFILES
    missing_files = [p for p in potfiles if not os.path.isfile(os.path.join(top, p))]
    report(not missing_files and len(set(potfiles)) == len(potfiles),
           'every file in POTFILES exists, once',
           ['%s does not exist' % p for p in missing_files])

    sources = sorted(p for g in SOURCE_GLOBS for p in
                     (os.path.relpath(f, top) for f in glob.glob(os.path.join(top, g))))
    with_messages = [p for p in sources if has_messages(p)]
    unlisted = [p for p in with_messages if p not in potfiles]
    report(not unlisted and with_messages != [],
           'POTFILES lists every source file with a translatable string (%d files)'
           % len(with_messages),
           ['%s has translatable strings but is not in po/POTFILES' % p for p in unlisted])
    for p in potfiles:
        if p in sources and p not in with_messages:
            print('# note: %s is in POTFILES but has no translatable string' % p)

    # The template, as meson's <package>-pot target makes it
    tmpdir = tempfile.mkdtemp(prefix='qmp-po-')
    pot = os.path.join(tmpdir, 'qmp-glib.pot')
    existing = [p for p in potfiles if p not in missing_files]
    proc = run(['xgettext'] + XGETTEXT_ARGS + ['--package-name=qmp-glib', '-o', pot] + existing)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    report(proc.returncode == 0 and os.path.isfile(pot) and not warnings,
           'xgettext extracts every message without a warning', warnings)
    n_messages = count_messages(pot) if os.path.isfile(pot) else 0

    absent = [lang for lang in REQUIRED_LANGUAGES if lang not in linguas]
    report(not absent, 'LINGUAS has %s' % ', '.join(REQUIRED_LANGUAGES),
           ['%s is not in po/LINGUAS' % lang for lang in absent])

    for lang in linguas:
        po = os.path.join(top, 'po', lang + '.po')
        if not os.path.isfile(po):
            report(False, '%s.po compiles with msgfmt -c, complete' % lang, ['%s is missing' % po])
            report(False, '%s.po translates every message of the sources' % lang)
            continue
        translated, fuzzy, untranslated, errors = statistics(po)
        report(not errors and fuzzy == 0 and untranslated == 0 and translated > 0,
               '%s.po compiles with msgfmt -c, complete (%d translated, %d fuzzy, %d untranslated)'
               % (lang, translated, fuzzy, untranslated), errors)

        merged = os.path.join(tmpdir, lang + '.po')
        proc = run(['msgmerge', '--quiet', '--no-fuzzy-matching', '-o', merged, po, pot])
        translated, fuzzy, untranslated, errors = statistics(merged) if proc.returncode == 0 \
            else (0, 0, 0, proc.stderr.splitlines())
        # msgcmp names each message of the sources that the .po lacks.
        lacking = run(['msgcmp', po, pot]).stderr.strip().splitlines()
        lacking = [describe(pot, line) for line in lacking if 'not defined' in line]
        stale = run(['msgattrib', '--only-obsolete', merged]).stdout.count('#~ msgid')
        if stale:
            print('# note: %s.po has %d messages that the sources dropped '
                  '(ninja %s-update-po cleans them)' % (lang, stale, 'qmp-glib-1.0'))
        report(not errors and fuzzy == 0 and untranslated == 0 and translated == n_messages,
               '%s.po translates every message of the sources (%d of %d)'
               % (lang, translated, n_messages),
               errors + lacking)

    print('1..%d' % len(results))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
