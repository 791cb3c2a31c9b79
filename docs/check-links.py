#!/usr/bin/python3
# check-links.py: checks that the links of the built reference lead
# somewhere: every relative link of every page names a page of the
# reference, and an anchor of that page if it has one.  The index's
# "Website" and "Source" links are relative (there is no public host), so
# this is what keeps them working.  Links to other hosts are not followed.
#
#   check-links.py DOCS-DIR
#
# Copyright 2026 The qmp-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import html.parser
import os
import sys
import urllib.parse


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get('id'):
            self.ids.add(attrs['id'])
        if tag == 'a' and attrs.get('name'):
            self.ids.add(attrs['name'])
        if tag == 'a' and attrs.get('href') is not None:
            self.links.append(attrs['href'])


def main(argv):
    if len(argv) != 2:
        print('Usage: %s DOCS-DIR' % argv[0], file=sys.stderr)
        return 2
    root = argv[1]
    pages = {}
    for name in sorted(os.listdir(root)):
        if name.endswith('.html'):
            page = Page()
            with open(os.path.join(root, name), encoding='utf-8') as f:
                page.feed(f.read())
            pages[name] = page

    print('1..2')
    problems = []
    count = 0
    for name, page in pages.items():
        for href in page.links:
            url = urllib.parse.urlsplit(href)
            if url.scheme or url.netloc or href.startswith('javascript:'):
                continue
            count += 1
            target = urllib.parse.unquote(url.path) or name
            if target not in pages:
                if not os.path.exists(os.path.join(root, target)):
                    problems.append('%s: "%s" leads nowhere' % (name, href))
                continue
            if url.fragment and url.fragment not in pages[target].ids:
                problems.append('%s: "%s" has no such anchor' % (name, href))
    for problem in problems:
        print('# ' + problem)
    print('%s 1 - %d relative links between %d pages lead somewhere'
          % ('not ok' if problems or count == 0 else 'ok', count, len(pages)))

    index = pages.get('index.html')
    project = [href for href in (index.links if index else [])
               if urllib.parse.urlsplit(href).path == 'project.html']
    print('%s 2 - the index links to the project\'s page'
          % ('ok' if project else 'not ok'))
    return 1 if problems or count == 0 or not project else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
